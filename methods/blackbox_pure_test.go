package methods_test

// The black-box methods on methodstest's pure-Go net, without TensorFlow.

import (
	"context"
	"math"
	"testing"

	"github.com/saliencykit/saliency/methods"
	"github.com/saliencykit/saliency/methods/methodstest"
	"github.com/saliencykit/saliency/tensor"
)

// Kernel SHAP with every coalition of a 2×2 grid of segments, each repeated
// in proportion to the Shapley kernel's weight (2:1:2 for 1, 2 and 3 of 4
// segments), gives the exact Shapley values (Lundberg & Lee 2017, theorem
// 2), computed here by enumerating the 16 coalitions with the net's float64
// forward pass; they add up to S_c(I) − S_c(black).
func TestPureKernelSHAPExact(t *testing.T) {
	n, x := methodstest.New(), pureImages()
	pred, logits := predicted(t, n, x)
	const m = 4
	var rows [][]float64
	for mask := 1; mask < 1<<m-1; mask++ {
		k := 0
		z := make([]float64, m)
		for j := 0; j < m; j++ {
			if mask>>j&1 == 1 {
				z[j] = 1
				k++
			}
		}
		copies := 2
		if k == 2 {
			copies = 1
		}
		for c := 0; c < copies; c++ {
			rows = append(rows, z)
		}
	}
	draws := tensor.New(1, len(rows), m)
	for s, z := range rows {
		for j, v := range z {
			draws.Data[s*m+j] = float32(v)
		}
	}
	ks := &methods.KernelSHAP{Superpixels: methods.Superpixels{Segmentation: "grid", Grid: 2}, Samples: len(rows), Draws: draws}
	got, err := ks.Explain(context.Background(), n, methods.Batch{X: x}, methods.Target{})
	if err != nil {
		t.Fatal(err)
	}
	checkClasses(t, "kernel-shap", got, pred, logits)
	if f := got.Info["forward-passes"][0]; f != float64(len(rows)+2) {
		t.Errorf("forward passes %g, want %d", f, len(rows)+2)
	}
	segment := func(y, xx int) int { return (y*2/methodstest.Height)*2 + xx*2/methodstest.Width }
	per := methodstest.Height * methodstest.Width * methodstest.Chans
	want := tensor.New(x.Shape[0], methodstest.Height, methodstest.Width)
	for i, c := range pred {
		f := make([]float64, 1<<m) // S_c with the segments of the coalition on
		for mask := range f {
			img := x.Slice(i, i+1).Clone()
			for q := 0; q < per; q++ {
				p := q / methodstest.Chans
				if mask>>segment(p/methodstest.Width, p%methodstest.Width)&1 == 0 {
					img.Data[q] = 0
				}
			}
			l, err := n.Logits64(img)
			if err != nil {
				t.Fatal(err)
			}
			f[mask] = l[0][c]
		}
		fact := []float64{1, 1, 2, 6, 24}
		var sum float64
		for j := 0; j < m; j++ {
			var phi float64
			for s := 0; s < 1<<m; s++ {
				if s>>j&1 == 1 {
					continue // coalitions without j only
				}
				k := 0
				for b := 0; b < m; b++ {
					k += s >> b & 1
				}
				phi += fact[k] * fact[m-k-1] / fact[m] * (f[s|1<<j] - f[s])
			}
			sum += phi
			for p := 0; p < methodstest.Height*methodstest.Width; p++ {
				if segment(p/methodstest.Width, p%methodstest.Width) == j {
					want.Data[i*methodstest.Height*methodstest.Width+p] = float32(phi)
				}
			}
		}
		if d := sum - (f[1<<m-1] - f[0]); math.Abs(d) > 1e-9*math.Abs(f[1<<m-1]) {
			t.Fatalf("image %d: the enumerated Shapley values add up to %g, not S_c(I) − S_c(black) = %g", i, sum, f[1<<m-1]-f[0])
		}
	}
	closeTo(t, "kernel-shap", got.Map, want, 1e-4)
}

// RISE keeping every cell (p = 1) masks nothing: every pixel's value is the
// class score S_c(I) (the paper's 1/(N·p)), and N·S_c/(N + 10⁻⁴) under
// Xplique's normalisation by Σ M.
func TestPureRISEKeepAll(t *testing.T) {
	n, x := methodstest.New(), pureImages()
	pred, logits := predicted(t, n, x)
	one := 1.0
	for _, norm := range []string{"", "masks"} {
		r := &methods.RISE{Samples: 5, Grid: 3, Keep: &one, Normalize: norm}
		got, err := r.Explain(context.Background(), n, methods.Batch{X: x}, methods.Target{})
		if err != nil {
			t.Fatal(err)
		}
		checkClasses(t, "rise", got, pred, logits)
		want := tensor.New(got.Map.Shape...)
		hw := methodstest.Height * methodstest.Width
		for i, c := range pred {
			v := logits[i][c]
			if norm == "masks" {
				v = 5 * v / (5 + 1e-4)
			}
			for p := 0; p < hw; p++ {
				want.Data[i*hw+p] = float32(v)
			}
		}
		closeTo(t, "rise "+norm, got.Map, want, 1e-5)
	}
}

// The same seed gives the same bytes and another seed another map; the
// forward passes per image are reported.
func TestPureBlackBoxSeeds(t *testing.T) {
	n, x := methodstest.New(), pureImages()
	for _, c := range []struct {
		name   string
		opts   map[string]any
		passes float64
	}{
		{"rise", map[string]any{"nb_samples": 40, "grid_size": 3}, 41},
		{"sobol", map[string]any{"grid_size": 2, "nb_design": 16, "sampler": "lhs"}, 16*5 + 1},
		{"hsic", map[string]any{"grid_size": 2, "nb_design": 24, "sampler": "random"}, 25},
		{"lime", map[string]any{"grid_size": 4, "nb_samples": 30}, 31},
		{"kernel-shap", map[string]any{"grid_size": 4, "nb_samples": 30}, 32},
	} {
		run := func(seed int) *methods.Maps {
			opts := map[string]any{"seed": seed}
			for k, v := range c.opts {
				opts[k] = v
			}
			return pureExplain(t, c.name, opts, n, x, methods.Target{})
		}
		a, b, other := run(1), run(1), run(2)
		if !tensor.Equal(a.Map, b.Map) {
			t.Errorf("%s: the same seed gives other bytes", c.name)
		}
		if tensor.Equal(a.Map, other.Map) {
			t.Errorf("%s: seeds 1 and 2 give the same map", c.name)
		}
		if got := a.Info["forward-passes"]; len(got) != x.Shape[0] || got[0] != c.passes {
			t.Errorf("%s: forward passes %v, want %g per image", c.name, got, c.passes)
		}
	}
}
