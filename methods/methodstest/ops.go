package methodstest

import "math"

// The ops on one example [H,W,C] (row-major, channels last), with their
// exact backward passes.

// conv is a 3×3 convolution with SAME padding and a bias; k is
// [3,3,cin,cout] (TensorFlow's HWIO).
func conv(h, w, cin, cout int, k, b []float64) passes {
	each := func(f func(in, out, ki int)) {
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				for dy := 0; dy < 3; dy++ {
					for dx := 0; dx < 3; dx++ {
						yy, xx := y+dy-1, x+dx-1
						if yy < 0 || yy >= h || xx < 0 || xx >= w {
							continue
						}
						for ci := 0; ci < cin; ci++ {
							for co := 0; co < cout; co++ {
								f((yy*w+xx)*cin+ci, (y*w+x)*cout+co, ((dy*3+dx)*cin+ci)*cout+co)
							}
						}
					}
				}
			}
		}
	}
	return passes{
		forward: func(in []float64) []float64 {
			out := make([]float64, h*w*cout)
			for p := 0; p < h*w; p++ {
				copy(out[p*cout:], b)
			}
			each(func(i, o, ki int) { out[o] += in[i] * k[ki] })
			return out
		},
		backward: func(in, _, dy []float64, _ string) []float64 {
			dx := make([]float64, len(in))
			each(func(i, o, ki int) { dx[i] += dy[o] * k[ki] })
			return dx
		},
	}
}

// relu is max(x, 0). Its backward pass is the rule set's: plain, the
// derivative 1[x>0]; guided, 1[x>0]·relu(dy); deconvnet, relu(dy).
func relu() passes {
	return passes{
		forward: func(in []float64) []float64 {
			out := make([]float64, len(in))
			for i, v := range in {
				out[i] = math.Max(v, 0)
			}
			return out
		},
		backward: func(in, _, dy []float64, rules string) []float64 {
			dx := make([]float64, len(in))
			for i, d := range dy {
				if rules != "plain" {
					d = math.Max(d, 0)
				}
				if rules == "deconvnet" || in[i] > 0 {
					dx[i] = d
				}
			}
			return dx
		},
	}
}

// window2 calls f for each 2×2 window of stride 2 (output index o) and its
// four inputs in row-major order.
func window2(h, w, c int, f func(o int, in [4]int)) {
	for y := 0; y < h/2; y++ {
		for x := 0; x < w/2; x++ {
			for ch := 0; ch < c; ch++ {
				at := func(dy, dx int) int { return ((2*y+dy)*w+2*x+dx)*c + ch }
				f((y*(w/2)+x)*c+ch, [4]int{at(0, 0), at(0, 1), at(1, 0), at(1, 1)})
			}
		}
	}
}

// maxPool is 2×2 max pooling of stride 2; the backward pass routes the
// signal to the first maximum of each window (TensorFlow's MaxPoolGrad).
func maxPool(h, w, c int) passes {
	first := func(in []float64, win [4]int) int {
		best := win[0]
		for _, i := range win[1:] {
			if in[i] > in[best] {
				best = i
			}
		}
		return best
	}
	return passes{
		forward: func(in []float64) []float64 {
			out := make([]float64, h/2*(w/2)*c)
			window2(h, w, c, func(o int, win [4]int) { out[o] = in[first(in, win)] })
			return out
		},
		backward: func(in, _, dy []float64, _ string) []float64 {
			dx := make([]float64, len(in))
			window2(h, w, c, func(o int, win [4]int) { dx[first(in, win)] += dy[o] })
			return dx
		},
	}
}

// avgPool is 2×2 average pooling of stride 2.
func avgPool(h, w, c int) passes {
	return passes{
		forward: func(in []float64) []float64 {
			out := make([]float64, h/2*(w/2)*c)
			window2(h, w, c, func(o int, win [4]int) {
				for _, i := range win {
					out[o] += in[i] / 4
				}
			})
			return out
		},
		backward: func(in, _, dy []float64, _ string) []float64 {
			dx := make([]float64, len(in))
			window2(h, w, c, func(o int, win [4]int) {
				for _, i := range win {
					dx[i] += dy[o] / 4
				}
			})
			return dx
		},
	}
}

// mean is global average pooling [H,W,C] → [C].
func mean(h, w, c int) passes {
	return passes{
		forward: func(in []float64) []float64 {
			out := make([]float64, c)
			for i, v := range in {
				out[i%c] += v / float64(h*w)
			}
			return out
		},
		backward: func(in, _, dy []float64, _ string) []float64 {
			dx := make([]float64, len(in))
			for i := range dx {
				dx[i] = dy[i%c] / float64(h*w)
			}
			return dx
		},
	}
}

// reshape flattens (the values are already in row-major order).
func reshape() passes {
	return passes{
		forward:  func(in []float64) []float64 { return append([]float64(nil), in...) },
		backward: func(_, _, dy []float64, _ string) []float64 { return append([]float64(nil), dy...) },
	}
}

// dense is x·k + b with k [in, out].
func dense(nin, nout int, k, b []float64) passes {
	return passes{
		forward: func(in []float64) []float64 {
			out := append([]float64(nil), b...)
			for i, v := range in {
				for o := range out {
					out[o] += v * k[i*nout+o]
				}
			}
			return out
		},
		backward: func(in, _, dy []float64, _ string) []float64 {
			dx := make([]float64, nin)
			for i := range dx {
				for o, d := range dy {
					dx[i] += k[i*nout+o] * d
				}
			}
			return dx
		},
	}
}

// softmax is exp(z)/Σexp(z); its backward pass s ⊙ (dy − ⟨dy, s⟩).
func softmax() passes {
	return passes{
		forward: func(in []float64) []float64 {
			m := in[0]
			for _, v := range in {
				m = math.Max(m, v)
			}
			out := make([]float64, len(in))
			var sum float64
			for i, v := range in {
				out[i] = math.Exp(v - m)
				sum += out[i]
			}
			for i := range out {
				out[i] /= sum
			}
			return out
		},
		backward: func(in, out, dy []float64, _ string) []float64 {
			var dot float64
			for i, d := range dy {
				dot += d * out[i]
			}
			dx := make([]float64, len(in))
			for i, s := range out {
				dx[i] = s * (dy[i] - dot)
			}
			return dx
		},
	}
}
