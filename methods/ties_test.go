package methods_test

import (
	"context"
	"testing"

	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// TestMaxPoolTies documents why a few images give other gradients alone than
// in a batch. Where a 2×2 max-pool window holds two equal maxima (flat
// regions of a garment give equal convolution outputs), TensorFlow's
// MaxPoolGrad sends the signal to the first of them. The convolution's float
// rounding depends on the batch size (the kernels block the batch), so a tie
// in one batch can be a 1-ulp win of the other element in another, and the
// switch flips. The toolkit computes what TensorFlow computes for the batch
// it is given (the goldens, made on the same batch of 8, agree to the bit);
// only images with such windows are affected, and only through max-pooling.
func TestMaxPoolTies(t *testing.T) {
	fl, g := loadZoo(t, "fmnist_vgg")
	ties := tieImages(t, "fmnist_vgg")
	if len(ties) == 0 {
		t.Fatal("no golden image of fmnist_vgg flips a max-pool switch between batch and single; the committed zoo has two (5 and 7)")
	}
	l, err := fl.Layer("conv2_2") // the input of pool2
	if err != nil {
		t.Fatal(err)
	}
	all, err := fl.Run(context.Background(), g.Inputs, tfgraph.Query{Fetch: []string{l.Output}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range ties {
		one, err := fl.Run(context.Background(), g.Inputs.Slice(i, i+1), tfgraph.Query{Fetch: []string{l.Output}})
		if err != nil {
			t.Fatal(err)
		}
		a, b := all.Fetched[0].Slice(i, i+1), one.Fetched[0]
		d, _ := tensor.MaxAbsDiff(a, b)
		tied, flips := windowStats(a, b)
		t.Logf("image %d: conv2_2 differs by %.3g between batch and single; %d pool windows with tied non-zero maxima, %d switches flipped", i, d, tied, flips)
		if d > 1e-6*a.MaxAbs() {
			t.Errorf("image %d: the activations differ by %g, more than rounding", i, d)
		}
		if flips == 0 || tied == 0 {
			t.Errorf("image %d: gradients differ, but no tied window flipped (tied %d, flips %d)", i, tied, flips)
		}
	}
}

// windowStats counts the 2×2 windows of a [1,H,W,C] activation a with tied
// non-zero maxima, and the windows whose argmax differs between a and b.
func windowStats(a, b *tensor.Tensor) (tied, flips int) {
	h, w, c := a.Shape[1], a.Shape[2], a.Shape[3]
	argmax := func(t *tensor.Tensor, y, x, ch int) (int, float32, int) {
		best, bv, n := -1, float32(0), 0
		for k := 0; k < 4; k++ {
			v := t.Data[((y+k/2)*w+x+k%2)*c+ch]
			if best < 0 || v > bv {
				best, bv = k, v
			}
		}
		for k := 0; k < 4; k++ {
			if t.Data[((y+k/2)*w+x+k%2)*c+ch] == bv {
				n++
			}
		}
		return best, bv, n
	}
	for y := 0; y+1 < h; y += 2 {
		for x := 0; x+1 < w; x += 2 {
			for ch := 0; ch < c; ch++ {
				ka, va, na := argmax(a, y, x, ch)
				kb, _, _ := argmax(b, y, x, ch)
				if na > 1 && va != 0 {
					tied++
				}
				if ka != kb {
					flips++
				}
			}
		}
	}
	return tied, flips
}
