//go:build cgo

package methods_test

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"testing"

	"github.com/saliencykit/saliency/methods"
	"github.com/saliencykit/saliency/savedmodels"
	"github.com/saliencykit/saliency/tensor"
)

func maxAbs(t *tensor.Tensor) float64 {
	m := 0.0
	for _, v := range t.Data {
		m = math.Max(m, math.Abs(float64(v)))
	}
	return m
}

// The maps of the differentiable methods on the softplus copy of a model,
// and their derivatives along a cotangent (MapGrad), agree with
// TensorFlow's second-order gradients of the same maps
// (savedmodels/golden_attack.py: tf.gradients through tf.gradients).
func TestMapGradGolden(t *testing.T) {
	for _, name := range []string{"fmnist_vgg", "fmnist_resnet"} {
		t.Run(name, func(t *testing.T) {
			fl, g := loadZoo(t, name)
			read := func(f string) *tensor.Tensor {
				v, err := savedmodels.ReadNpy(filepath.Join(zooDir(name), "golden", "attack", f))
				if err != nil {
					t.Fatal(err)
				}
				return v
			}
			sp, err := fl.Softplus(10)
			if err != nil {
				t.Fatal(err)
			}
			noise := 0.15
			for _, d := range []methods.Differentiable{
				&methods.Gradient{},
				&methods.GradientXInput{},
				&methods.IntegratedGradients{Steps: 8},
				&methods.SmoothGrad{Samples: 8, Noise: &noise, NoiseImages: read("smoothgrad_noise.npy")},
			} {
				b := methods.Batch{X: g.Inputs.Slice(0, 4)}
				tg := methods.Target{Classes: g.Top[:4]}
				ctx := context.Background()
				maps, err := d.Explain(ctx, sp, b, tg)
				if err != nil {
					t.Fatal(err)
				}
				got, err := methods.MapGrad(ctx, d, sp, b, tg, maps, read("cotangent.npy"))
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range []struct {
					what      string
					got, want *tensor.Tensor
					tol       float64
				}{
					{"map", maps.Map, read("map_" + d.Name() + ".npy"), 1e-4},
					{"map gradient", got, read("mapgrad_" + d.Name() + ".npy"), 1e-4},
				} {
					diff, err := tensor.MaxAbsDiff(&tensor.Tensor{Shape: c.want.Shape, Data: c.got.Data}, c.want)
					if err != nil {
						t.Fatal(err)
					}
					t.Logf("%s: %s: max |Go − TensorFlow| %.3g, %.2g of max |TensorFlow| %.3g", d.Name(), c.what, diff, diff/maxAbs(c.want), maxAbs(c.want))
					if diff > c.tol*maxAbs(c.want) {
						t.Errorf("%s: %s differs from TensorFlow's by %g (tolerance %g of its largest value)", d.Name(), c.what, diff, c.tol)
					}
				}
			}
		})
	}
}

// On the ReLU network itself the map gradient is zero almost everywhere
// (for gradient), and options without a derivative say so with a
// *NotApplicableError.
func TestMapGradNotApplicable(t *testing.T) {
	fl, g := loadZoo(t, "fmnist_vgg")
	ctx := context.Background()
	b := methods.Batch{X: g.Inputs.Slice(0, 2)}
	tg := methods.Target{Classes: g.Top[:2]}
	w := tensor.New(b.X.Shape...)
	for i := range w.Data {
		w.Data[i] = float32(i%7) - 3
	}
	hv, err := (&methods.Gradient{}).RawGrad(ctx, fl, b, tg, w)
	if err != nil || maxAbs(hv) != 0 {
		t.Errorf("gradient on the ReLU network: largest |∂⟨w, raw⟩/∂x| %g, %v; want 0", maxAbs(hv), err)
	}
	for _, d := range []methods.Differentiable{
		&methods.IntegratedGradients{Baseline: "blurred"},
		must(methods.New("vargrad", nil)).(methods.Differentiable),
		&methods.SmoothGrad{Method: "guided-backprop"},
	} {
		_, err := d.RawGrad(ctx, fl, b, tg, w)
		var na *methods.NotApplicableError
		if !errors.As(err, &na) {
			t.Errorf("%s: %v, want a *NotApplicableError", d.Name(), err)
		}
	}
	if _, err := (&methods.Gradient{}).RawGrad(ctx, fl, b, tg, tensor.New(2, 28, 28)); err == nil {
		t.Error("a cotangent of the wrong shape accepted")
	}
}

func must(m methods.Method, err error) methods.Method {
	if err != nil {
		panic(err)
	}
	return m
}
