//go:build cgo

package methods_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// TestMaxPoolTies checks the toolkit where max pooling makes gradients depend
// on the CPU. Where a 2×2 window holds equal maxima (flat regions of a garment
// or of the black background give equal convolution outputs), MaxPoolGrad
// sends the signal to one of them. Whether a window ties at all, or is a
// 1-ulp win of one element, depends on the convolution's rounding: on the
// kernels oneDNN picks for the CPU (AVX2, AVX-512, AMX) and on the batch size
// (the kernels block the batch). So an image can have another gradient alone
// than in a batch, on one machine and not on another (images 5 and 7 of
// fmnist_vgg on an AMD EPYC, none on an Intel Xeon with AMX).
//
// What holds on every CPU, and is checked here: tied windows exist (found at
// run time in the golden images and in two constructed flat images), and on
// every batch the toolkit's gradient equals TensorFlow's own (TF_AddGradients
// on the same flat graph and batch) at the input of each max pool and at the
// input image, with the signal of every tied window on the same element.
func TestMaxPoolTies(t *testing.T) {
	fl, g := loadZoo(t, "fmnist_vgg")
	var pools []tfgraph.Layer // the inputs of pool1 and pool2
	for _, name := range []string{"conv1_2", "conv2_2"} {
		l, err := fl.Layer(name)
		if err != nil {
			t.Fatal(err)
		}
		pools = append(pools, l)
	}
	n := g.Inputs.Shape[0]
	grey := tensor.New(1, 28, 28, 1)
	for i := range grey.Data {
		grey.Data[i] = 0.5
	}
	batches := []struct {
		name string
		x    *tensor.Tensor
	}{
		{"the golden batch of 8", g.Inputs},
		{"a black image", tensor.New(1, 28, 28, 1)},
		{"a grey image", grey},
	}
	for i := 0; i < n; i++ {
		batches = append(batches, struct {
			name string
			x    *tensor.Tensor
		}{fmt.Sprintf("golden image %d alone", i), g.Inputs.Slice(i, i+1)})
	}
	ctx := context.Background()
	var live, tied int
	single := make([]*tensor.Tensor, n)
	var batchGrad *tensor.Tensor
	for bi, b := range batches {
		logits, _ := fl.Logits()
		res, err := fl.Run(ctx, b.x, tfgraph.Query{Fetch: append([]string{logits}, pools[0].Output, pools[1].Output)})
		if err != nil {
			t.Fatal(err)
		}
		classes := make([]int, b.x.Shape[0])
		for i := range classes {
			k := res.Fetched[0].Shape[1]
			classes[i] = tensor.Argmax(res.Fetched[0].Data[i*k : (i+1)*k])
		}
		for li, l := range pools {
			got, err := fl.Gradient(b.x, classes, l.Output, tfgraph.Plain)
			if err != nil {
				t.Fatal(err)
			}
			want, err := fl.OracleGradientAt(b.x, classes, l.Output)
			if err != nil {
				t.Fatal(err)
			}
			if d, _ := tensor.MaxAbsDiff(got, want); d > 1e-5*want.MaxAbs() {
				t.Errorf("%s: the gradient at %s (the input of pool%d) differs from TensorFlow's by %.3g (max %.3g)", b.name, l.Name, li+1, d, want.MaxAbs())
			}
			s := tieStats(res.Fetched[1+li], got, want)
			tied += s.tied
			live += s.live
			if s.moved > 0 {
				t.Errorf("%s: at %s, %d of %d tied windows with signal send it to another element than TensorFlow", b.name, l.Name, s.moved, s.live)
			}
			t.Logf("%s, %s: %d windows with tied non-zero maxima, %d of them with signal, %d routed otherwise than by TensorFlow", b.name, l.Name, s.tied, s.live, s.moved)
		}
		got, err := fl.Gradient(b.x, classes, "", tfgraph.Plain)
		if err != nil {
			t.Fatal(err)
		}
		want, err := fl.OracleGradient(b.x, classes)
		if err != nil {
			t.Fatal(err)
		}
		if d, _ := tensor.MaxAbsDiff(got, want); d > 1e-5*want.MaxAbs() {
			t.Errorf("%s: the input gradient differs from TensorFlow's by %.3g (max %.3g)", b.name, d, want.MaxAbs())
		}
		switch {
		case bi == 0:
			batchGrad = got
		case bi >= 3:
			single[bi-3] = got
		}
	}
	if tied == 0 || live == 0 {
		t.Errorf("no max-pool window with tied non-zero maxima carries signal (%d tied windows): the test checks nothing", tied)
	}
	// How many images take another gradient alone than in the batch depends
	// on the CPU; each agrees with TensorFlow on its own batch (above).
	var flips []int
	for i, one := range single {
		if d, _ := tensor.MaxAbsDiff(one, batchGrad.Slice(i, i+1)); d > 1e-5*batchGrad.MaxAbs() {
			flips = append(flips, i)
		}
	}
	t.Logf("%d tied windows (%d with signal); images whose gradient differs alone and in the batch of 8 on this CPU: %v", tied, live, flips)
}

// windowStats are the 2×2 max-pool windows of an activation [N,H,W,C] with
// two or more equal non-zero maxima (tied), those where TensorFlow's gradient
// at the pool's input is non-zero (live), and those where the toolkit's
// gradient is non-zero on other elements than TensorFlow's (moved).
type windowStats struct{ tied, live, moved int }

func tieStats(a, got, want *tensor.Tensor) windowStats {
	var s windowStats
	h, w, c := a.Shape[1], a.Shape[2], a.Shape[3]
	for i := 0; i < a.Shape[0]; i++ {
		for y := 0; y+1 < h; y += 2 {
			for x := 0; x+1 < w; x += 2 {
				for ch := 0; ch < c; ch++ {
					var at [4]int
					for k := range at {
						at[k] = ((i*h+y+k/2)*w+x+k%2)*c + ch
					}
					best, n := a.Data[at[0]], 0
					for _, j := range at {
						best = max(best, a.Data[j])
					}
					for _, j := range at {
						if a.Data[j] == best {
							n++
						}
					}
					if n < 2 || best == 0 {
						continue
					}
					s.tied++
					signal, moved := false, false
					for _, j := range at {
						signal = signal || want.Data[j] != 0
						moved = moved || (want.Data[j] != 0) != (got.Data[j] != 0)
					}
					if signal {
						s.live++
					}
					if moved {
						s.moved++
					}
				}
			}
		}
	}
	return s
}
