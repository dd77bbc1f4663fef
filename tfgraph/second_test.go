package tfgraph_test

import (
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/saliencykit/saliency/savedmodels"
	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// randomLike is a tensor of x's shape with standard normal entries.
func randomLike(x *tensor.Tensor, seed uint64) *tensor.Tensor {
	r := rand.New(rand.NewPCG(seed, 1))
	u := tensor.New(x.Shape...)
	for i := range u.Data {
		u.Data[i] = float32(r.NormFloat64())
	}
	return u
}

func maxAbsOf(t *tensor.Tensor) float64 {
	m := 0.0
	for _, v := range t.Data {
		m = math.Max(m, math.Abs(float64(v)))
	}
	return m
}

// On a piecewise-linear network (ReLU, max pooling, batch normalisation,
// global average pooling) the Hessian of a logit is zero almost
// everywhere: the Hessian-vector products of the zoo's ReLU networks are
// exactly zero. Their softplus copies' are not; on the ResNet they agree
// with central differences of the gradient. (The VGG's max pooling is not
// smooth: on the black background its windows are ties, which any
// perturbation breaks, so differences of its gradients do not converge;
// TestSecondOrderGolden checks it.)
func TestSecondOrderFiniteDifferences(t *testing.T) {
	for _, name := range []string{"fmnist_vgg", "fmnist_resnet"} {
		t.Run(name, func(t *testing.T) {
			fl, g := loadFlat(t, name)
			x := g.Inputs.Slice(0, 4)
			seed, err := fl.OneHot("", g.Top[:4])
			if err != nil {
				t.Fatal(err)
			}
			u := randomLike(x, 7)
			res, err := fl.Run(context.Background(), x, tfgraph.Query{Grads: []tfgraph.Grad{{Seed: seed}, {Seed: seed, Along: u}}})
			if err != nil {
				t.Fatal(err)
			}
			if d, _ := tensor.MaxAbsDiff(res.Grads[0], g.GradInput.Slice(0, 4)); d > 1e-4*maxAbsOf(res.Grads[0]) {
				t.Errorf("first-order signal beside a second-order one differs from the golden gradient by %g", d)
			}
			if m := maxAbsOf(res.Grads[1]); m != 0 {
				t.Errorf("ReLU network: largest |H·u| = %g, want 0", m)
			}
			if name != "fmnist_resnet" {
				return
			}
			sp, err := fl.Softplus(10)
			if err != nil {
				t.Fatal(err)
			}
			res, err = sp.Run(context.Background(), x, tfgraph.Query{Grads: []tfgraph.Grad{{Seed: seed, Along: u}}})
			if err != nil {
				t.Fatal(err)
			}
			hv := res.Grads[0]
			const h = 1e-3 // measured: 18% at 1e-2, 1.9% at 3e-3, 0.22% at 1e-3
			xp, xm := tensor.New(x.Shape...), tensor.New(x.Shape...)
			for i := range x.Data {
				xp.Data[i] = x.Data[i] + h*u.Data[i]
				xm.Data[i] = x.Data[i] - h*u.Data[i]
			}
			gp, err := sp.Gradient(xp, g.Top[:4], "", nil)
			if err != nil {
				t.Fatal(err)
			}
			gm, err := sp.Gradient(xm, g.Top[:4], "", nil)
			if err != nil {
				t.Fatal(err)
			}
			var worst float64
			for i := range hv.Data {
				fd := (float64(gp.Data[i]) - float64(gm.Data[i])) / (2 * h)
				worst = math.Max(worst, math.Abs(fd-float64(hv.Data[i])))
			}
			if worst > 0.01*maxAbsOf(hv) {
				t.Errorf("max |central difference − H·u| = %g, %.2g of max |H·u|", worst, worst/maxAbsOf(hv))
			}
		})
	}
}

// Second-order queries refuse what they cannot mean, and the softplus copy
// of a view with replaced weights feeds them too.
func TestSecondOrderQueries(t *testing.T) {
	fl, g := loadFlat(t, "fmnist_vgg")
	ctx := context.Background()
	x := g.Inputs.Slice(0, 2)
	seed, _ := fl.OneHot("", g.Top[:2])
	other, _ := fl.OneHot("", []int{(g.Top[0] + 1) % 10, (g.Top[1] + 1) % 10})
	u := randomLike(x, 3)
	for _, c := range []struct {
		what  string
		grads []tfgraph.Grad
		want  string
	}{
		{"other seeds", []tfgraph.Grad{{Seed: seed}, {Seed: other, Along: u}}, "with other seeds"},
		{"two along", []tfgraph.Grad{{Seed: seed, Along: u}, {Seed: seed, Along: u}}, "both along"},
		{"pick", []tfgraph.Grad{{Pick: tensor.New(1, 10), Along: u}}, "pick and along"},
		{"shape", []tfgraph.Grad{{Seed: seed, Along: tensor.New(2, 28, 28, 3)}}, "along of grad 0"},
	} {
		if _, err := fl.Run(ctx, x, tfgraph.Query{Grads: c.grads}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", c.what, err, c.want)
		}
	}
	for _, beta := range []float64{0, -1, math.Inf(1), math.NaN()} {
		if _, err := fl.Softplus(beta); err == nil {
			t.Errorf("β = %g accepted", beta)
		}
	}
	sp, err := fl.Softplus(10)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := fl.Softplus(10); again != sp {
		t.Error("a second softplus copy of the same β")
	}
	// Every weight halved: the softplus copy of the view computes what the
	// view of the softplus copy with the same weights does.
	half := map[string]*tensor.Tensor{}
	for _, w := range fl.Weights {
		v, err := fl.WeightValue(w.Name)
		if err != nil {
			t.Fatal(err)
		}
		for i := range v.Data {
			v.Data[i] /= 2
		}
		half[w.Name] = v
	}
	feed, err := fl.PrepareWeights(half)
	if err != nil {
		t.Fatal(err)
	}
	view, _ := fl.WithWeights(feed)
	a, err := view.Softplus(10)
	if err != nil {
		t.Fatal(err)
	}
	feed2, err := sp.PrepareWeights(half)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := sp.WithWeights(feed2)
	q := tfgraph.Query{Grads: []tfgraph.Grad{{Seed: seed, Along: u}}}
	ra, err := a.Run(ctx, x, q)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := b.Run(ctx, x, q)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := sp.Run(ctx, x, q)
	if err != nil {
		t.Fatal(err)
	}
	if !tensor.Equal(ra.Grads[0], rb.Grads[0]) || tensor.Equal(ra.Grads[0], rs.Grads[0]) {
		t.Error("the softplus copy of a view with halved weights does not feed them")
	}
}

// The softplus copy's logits and gradients, and its Hessian-vector
// products (Grad.Along), agree with TensorFlow's own second-order gradients
// (tf.gradients of tf.gradients, savedmodels/golden_attack.py) on the same
// rewrite, on the zoo's VGG (max pooling) and ResNet (batch normalisation,
// residual additions, global average pooling).
func TestSecondOrderGolden(t *testing.T) {
	for _, name := range []string{"fmnist_vgg", "fmnist_resnet"} {
		t.Run(name, func(t *testing.T) {
			fl, g := loadFlat(t, name)
			read := func(f string) *tensor.Tensor {
				v, err := savedmodels.ReadNpy(filepath.Join(zooDir(name), "golden", "attack", f))
				if err != nil {
					t.Fatal(err)
				}
				return v
			}
			x := g.Inputs.Slice(0, 4)
			sp, err := fl.Softplus(10)
			if err != nil {
				t.Fatal(err)
			}
			seed, err := sp.OneHot("", g.Top[:4])
			if err != nil {
				t.Fatal(err)
			}
			logits, _ := sp.Logits()
			res, err := sp.Run(context.Background(), x, tfgraph.Query{Fetch: []string{logits},
				Grads: []tfgraph.Grad{{Seed: seed}, {Seed: seed, Along: read("along.npy")}}})
			if err != nil {
				t.Fatal(err)
			}
			for i, c := range []struct {
				what string
				got  *tensor.Tensor
				file string
			}{{"logits", res.Fetched[0], "logits.npy"}, {"gradient", res.Grads[0], "grad.npy"}, {"H·u", res.Grads[1], "hvp.npy"}} {
				want := read(c.file)
				d, err := tensor.MaxAbsDiff(c.got, want)
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("%s: max |Go − TensorFlow| = %.3g, %.2g of max |TensorFlow| %.3g", c.what, d, d/maxAbsOf(want), maxAbsOf(want))
				if tol := []float64{1e-5, 1e-4, 1e-4}[i]; d > tol*maxAbsOf(want) {
					t.Errorf("%s differs from TensorFlow's by %g (tolerance %g of its largest value)", c.what, d, tol)
				}
			}
		})
	}
}
