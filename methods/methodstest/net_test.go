package methodstest

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// The ops on examples small enough to compute by hand.
func TestOpsByHand(t *testing.T) {
	// A 3×3 convolution of a centred delta is the kernel turned by 180°,
	// plus the bias.
	k := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9}
	delta := []float64{0, 0, 0, 0, 1, 0, 0, 0, 0}
	c := conv(3, 3, 1, 1, k, []float64{0.5})
	want := []float64{9.5, 8.5, 7.5, 6.5, 5.5, 4.5, 3.5, 2.5, 1.5}
	equal(t, "conv of a delta", c.forward(delta), want)
	// Its backward pass of a delta is the kernel itself (correlation).
	equal(t, "conv backward of a delta", c.backward(delta, nil, delta, "plain"), k)
	// Max pooling routes the signal to the first of tied maxima.
	in := []float64{1, 3, 3, 2}
	mp := maxPool(2, 2, 1)
	equal(t, "max pool", mp.forward(in), []float64{3})
	equal(t, "max pool backward", mp.backward(in, nil, []float64{2}, "plain"), []float64{0, 2, 0, 0})
	equal(t, "average pool", avgPool(2, 2, 1).forward(in), []float64{2.25})
	equal(t, "average pool backward", avgPool(2, 2, 1).backward(in, nil, []float64{2}, "plain"), []float64{0.5, 0.5, 0.5, 0.5})
	// The ReLU's rules on inputs and signals of both signs.
	z, dy := []float64{1, 1, -1, -1}, []float64{2, -2, 2, -2}
	for rules, want := range map[string][]float64{"plain": {2, -2, 0, 0}, "guided": {2, 0, 0, 0}, "deconvnet": {2, 0, 2, 0}} {
		equal(t, "relu under "+rules, relu().backward(z, nil, dy, rules), want)
	}
	// Dense: x·k + b, k [2,3].
	d := dense(2, 3, []float64{1, 2, 3, 4, 5, 6}, []float64{1, 0, -1})
	equal(t, "dense", d.forward([]float64{1, -1}), []float64{-2, -3, -4})
	equal(t, "dense backward", d.backward([]float64{1, -1}, nil, []float64{1, 0, 1}, "plain"), []float64{4, 10})
	s := softmax().forward([]float64{0, math.Log(3)})
	equal(t, "softmax", s, []float64{0.25, 0.75})
}

func equal(t *testing.T, what string, got, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %v, want %v", what, got, want)
	}
	for i := range got {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Fatalf("%s: %v, want %v", what, got, want)
		}
	}
}

// forwardFrom runs the ops after tensor i on one example's value v of it.
func (n *Net) forwardFrom(i int, v []float64) [][]float64 {
	out := make([][]float64, len(n.ops)+1)
	out[i] = v
	for j := i; j < len(n.ops); j++ {
		out[j+1] = n.ops[j].forward(out[j])
	}
	return out
}

// The plain signals of Run against central finite differences of the whole
// forward pass: from the logits, the probabilities and a layer (seeded and
// picked), to the input and to layers, on both nets.
func TestGradientsFiniteDifferences(t *testing.T) {
	x := Images(3, 1)
	for _, n := range []*Net{New(), NewGAP()} {
		acts, err := n.forward(x)
		if err != nil {
			t.Fatal(err)
		}
		seed := tensor.New(3, Classes)
		for i := range seed.Data {
			seed.Data[i] = float32(math.Sin(float64(i)))
		}
		pick := tensor.New(1, 4, 4, 6)
		for p := 0; p < 16; p++ {
			pick.Data[p*6+2] = 1 // channel 2's strongest activation
		}
		for _, g := range []tfgraph.Grad{
			{Seed: seed},
			{}, // the predicted class
			{End: "conv2/Relu:0", Seed: seed},
			{End: "pool1/MaxPool:0"},
			{Start: "softmax/Softmax:0", Seed: seed},
			{Start: "conv2/Relu:0", Pick: pick},
			{Start: "conv2/Relu:0", End: "conv1/BiasAdd:0", Seed: seed4(3)},
		} {
			res, err := n.Run(context.Background(), x, tfgraph.Query{Grads: []tfgraph.Grad{g}})
			if err != nil {
				t.Fatal(err)
			}
			start, end, _ := n.ends(g)
			for e := range acts {
				// The seed as Run takes it: given, picked or predicted.
				w := make([]float64, len(acts[e][start]))
				switch {
				case g.Seed != nil:
					for j := range w {
						w[j] = float64(g.Seed.Item(e).Data[j])
					}
				case g.Pick != nil:
					best := -1
					for j, v := range acts[e][start] {
						if pick.Data[j] != 0 && (best < 0 || v > acts[e][start][best]) {
							best = j
						}
					}
					w[best] = 1
				default:
					w[argmax(acts[e][start])] = 1
				}
				// ∂⟨w, start⟩/∂end by central differences.
				const h = 1e-6
				in := append([]float64(nil), acts[e][end]...)
				got := res.Grads[0].Item(e).Data
				scale := 0.0
				for _, v := range got {
					scale = math.Max(scale, math.Abs(float64(v)))
				}
				for i := range in {
					f := func(d float64) float64 {
						in[i] = acts[e][end][i] + d
						s := n.forwardFrom(end, in)[start]
						in[i] = acts[e][end][i]
						var dot float64
						for j, v := range s {
							dot += w[j] * v
						}
						return dot
					}
					fd := (f(h) - f(-h)) / (2 * h)
					if math.Abs(fd-float64(got[i])) > 1e-5*scale+1e-7 {
						t.Fatalf("gap %v, grad %+v: image %d, entry %d: %g, finite differences %g", n.gap, g, e, i, got[i], fd)
					}
				}
			}
		}
	}
}

// Run's rule sets against Oracle, which multiplies finite-difference
// Jacobians and applies the ReLU rules itself.
func TestRuleSetsAgainstOracle(t *testing.T) {
	x := Images(4, 2)
	for _, n := range []*Net{New(), NewGAP()} {
		for _, rs := range []*tfgraph.RuleSet{tfgraph.Plain, tfgraph.Guided, tfgraph.DeconvNet} {
			for _, end := range []string{"", "conv2/Relu:0", "relu1/Relu:0", "conv1/BiasAdd:0"} {
				classes := []int{0, 3, 4, 1}
				res, err := n.Run(context.Background(), x, tfgraph.Query{Grads: []tfgraph.Grad{{End: end, Rules: rs, Seed: oneHot(classes)}}})
				if err != nil {
					t.Fatal(err)
				}
				want, err := n.Oracle(x, classes, end, rs)
				if err != nil {
					t.Fatal(err)
				}
				if d, _ := tensor.MaxAbsDiff(res.Grads[0], want); d > 1e-5*want.MaxAbs() || want.MaxAbs() == 0 {
					t.Errorf("gap %v, %s to %q: differs from the oracle by %g (max %g)", n.gap, rs.Name, end, d, want.MaxAbs())
				}
			}
		}
	}
	// The rule sets differ on this net: guided and deconvnet are not the
	// gradient.
	n := New()
	plain, _ := n.Oracle(x, nil, "", tfgraph.Plain)
	for _, rs := range []*tfgraph.RuleSet{tfgraph.Guided, tfgraph.DeconvNet} {
		o, _ := n.Oracle(x, nil, "", rs)
		if d, _ := tensor.MaxAbsDiff(o, plain); d < 1e-3*plain.MaxAbs() {
			t.Errorf("%s is the gradient on the test net (by %g)", rs.Name, d)
		}
	}
}

// seed4 is a seed on conv2 [n,4,4,6] with both signs.
func seed4(n int) *tensor.Tensor {
	s := tensor.New(n, 4, 4, 6)
	for i := range s.Data {
		s.Data[i] = float32(math.Cos(float64(3 * i)))
	}
	return s
}

func oneHot(classes []int) *tensor.Tensor {
	s := tensor.New(len(classes), Classes)
	for i, c := range classes {
		s.Data[i*Classes+c] = 1
	}
	return s
}

// Fetches, shapes, layers and the errors of what the net does not have.
func TestQueries(t *testing.T) {
	n, g := New(), NewGAP()
	x := Images(2, 3)
	res, err := n.Run(context.Background(), x, tfgraph.Query{Fetch: []string{"dense/BiasAdd:0", "softmax/Softmax:0", "conv2/Relu:0", "dense/kernel:0"}})
	if err != nil {
		t.Fatal(err)
	}
	logits, _ := n.Logits64(x)
	for i := 0; i < 2; i++ {
		var sum float64
		for c := 0; c < Classes; c++ {
			if math.Abs(float64(res.Fetched[0].Data[i*Classes+c])-logits[i][c]) > 1e-6 {
				t.Errorf("logits %v, Logits64 %v", res.Fetched[0].Data, logits)
			}
			sum += float64(res.Fetched[1].Data[i*Classes+c])
		}
		if math.Abs(sum-1) > 1e-6 {
			t.Errorf("probabilities sum to %g", sum)
		}
	}
	if s := res.Fetched[2].Shape; !tensor.SameShape(s, []int{2, 4, 4, 6}) {
		t.Errorf("conv2 fetched with shape %v", s)
	}
	if s := n.Shape("dense/kernel:0"); len(s) != 2 || s[0] != 24 || s[1] != Classes {
		t.Errorf("dense kernel shape %v", s)
	}
	if s := g.Shape("gap/Mean:0"); len(s) != 2 || s[0] != -1 || s[1] != 6 {
		t.Errorf("gap shape %v", s)
	}
	if l, err := n.CAMLayer(); err != nil || l.Output != "conv2/Relu:0" || strings.Join(l.Ops, ",") != "Conv2D,Relu" || len(l.Weights) != 2 {
		t.Errorf("CAM layer %+v, %v", l, err)
	}
	var na *tfgraph.NotApplicableError
	if _, err := n.GAPHead(); !errors.As(err, &na) {
		t.Errorf("GAPHead of the pooled net: %v", err)
	}
	if h, err := g.GAPHead(); err != nil || h.Features != "conv2/Relu:0" || h.Kernel != "dense/kernel:0" {
		t.Errorf("GAPHead %+v, %v", h, err)
	}
	for _, c := range []struct {
		q    tfgraph.Query
		want string
	}{
		{tfgraph.Query{Fetch: []string{"nope:0"}}, `no tensor "nope:0"; tensors: input:0, conv1/BiasAdd:0`},
		{tfgraph.Query{Grads: []tfgraph.Grad{{Rules: &tfgraph.RuleSet{Name: "lrp-epsilon(0.01)"}}}}, `rule set "lrp-epsilon(0.01)": the pure-Go net has the rule sets plain, guided and deconvnet only`},
		{tfgraph.Query{Grads: []tfgraph.Grad{{Along: tensor.New(2, 8, 8, 2)}}}, "second-order"},
		{tfgraph.Query{Grads: []tfgraph.Grad{{Seed: tensor.New(2, 3)}}}, "seed of shape [2 3]"},
		{tfgraph.Query{Grads: []tfgraph.Grad{{Start: "relu1/Relu:0", End: "conv2/Relu:0"}}}, "no backward path"},
	} {
		if _, err := n.Run(context.Background(), x, c.q); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v; want %q", c.q, err, c.want)
		}
	}
	if _, err := n.Layer("conv3"); err == nil || !strings.Contains(err.Error(), "layers: conv1, pool1, relu1, conv2, pool2, flatten, dense, softmax") {
		t.Errorf("missing layer: %v", err)
	}
	if _, err := n.Run(context.Background(), tensor.New(1, 8, 8, 3), tfgraph.Query{}); err == nil {
		t.Error("an input of 3 channels ran")
	}
}
