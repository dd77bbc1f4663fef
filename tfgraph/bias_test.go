package tfgraph_test

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/saliencykit/saliency/savedmodels"
	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// One backward pass returns the signals on intermediate tensors too
// (Grad.At), here the CAM layer and every bias: each equals TensorFlow's
// own gradient there (AddGradients),
// the pass's result is the same bytes as without At, and it all takes one
// session run.
func TestGradAtMatchesOracle(t *testing.T) {
	for _, name := range []string{"fmnist_vgg", "fmnist_resnet", "fmnist_vit"} {
		t.Run(name, func(t *testing.T) {
			fl, g := loadFlat(t, name)
			logits, _ := fl.Logits()
			seed, err := fl.OneHot(logits, g.Top)
			if err != nil {
				t.Fatal(err)
			}
			cam, err := fl.CAMLayer()
			if err != nil {
				t.Fatal(err)
			}
			at := []string{cam.Output}
			biases, err := fl.Biases("")
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range biases {
				at = append(at, b.Output)
			}
			at = append(at, logits) // the start: the seed itself
			q := tfgraph.Query{Grads: []tfgraph.Grad{{Seed: seed, At: at}}}
			if _, err := fl.Run(context.Background(), g.Inputs, q); err != nil { // builds the graph
				t.Fatal(err)
			}
			before := fl.Runs()
			res, err := fl.Run(context.Background(), g.Inputs, q)
			if err != nil {
				t.Fatal(err)
			}
			if n := fl.Runs() - before; n != 1 {
				t.Errorf("%d session runs", n)
			}
			if len(res.At) != 1 || len(res.At[0]) != len(at) {
				t.Fatalf("At holds %d lists, the first of %d signals; want 1 of %d", len(res.At), len(res.At[0]), len(at))
			}
			plain, err := fl.Run(context.Background(), g.Inputs, tfgraph.Query{Grads: []tfgraph.Grad{{Seed: seed}}})
			if err != nil {
				t.Fatal(err)
			}
			if !tensor.Equal(plain.Grads[0], res.Grads[0]) || plain.At != nil {
				t.Error("At changes the signal on the input, or a query without At returns At")
			}
			if !tensor.Equal(res.At[0][len(at)-1], seed) {
				t.Error("the signal at the start is not the seed")
			}
			worst := 0.0
			step := max(1, (len(at)+7)/8)
			for i, name := range at {
				if name == logits { // AddGradients' seed: checked above
					if !tensor.Equal(res.At[0][i], seed) {
						t.Errorf("the signal at the logits (%d) is not the seed", i)
					}
					continue
				}
				if i%step != 0 {
					continue // AddGradients once per tensor is slow: at most 8 of them
				}
				want, err := fl.OracleGradientAt(g.Inputs, g.Top, name)
				if err != nil {
					t.Fatal(err)
				}
				got := res.At[0][i]
				if !tensor.SameShape(got.Shape, want.Shape) {
					t.Fatalf("%s: shape %v, AddGradients %v", name, got.Shape, want.Shape)
				}
				d, _ := tensor.MaxAbsDiff(got, want)
				rel := d / math.Max(maxAbs(want), 1e-30)
				worst = math.Max(worst, rel)
				if rel > 1e-5 {
					t.Errorf("%s: differs from AddGradients by %.3g of its largest value", name, rel)
				}
			}
			t.Logf("%d signals in one pass; those checked at most %.2g (relative) from AddGradients", len(at), worst)
		})
	}
	// Tensors the pass does not reach, or that do not exist.
	fl, g := loadFlat(t, "fmnist_vgg")
	layer, err := fl.Layer("conv2_2")
	if err != nil {
		t.Fatal(err)
	}
	first, err := fl.Layer("conv1_1")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		grad tfgraph.Grad
		want string
	}{
		{tfgraph.Grad{End: layer.Output, At: []string{first.Output}}, "no plain signal"},
		{tfgraph.Grad{At: []string{"nope"}}, "no tensor nope"},
		{tfgraph.Grad{At: []string{layer.Output}, Along: g.Inputs}, "both along and at"},
	} {
		if _, err := fl.Run(context.Background(), g.Inputs, tfgraph.Query{Grads: []tfgraph.Grad{c.grad}}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("at %v: %v; want %q", c.grad.At, err, c.want)
		}
	}
}

// The biases are all there: on the zoo's piecewise-linear networks (ReLU,
// max pooling, batch normalisation in inference, global average pooling)
// the logit is its full-gradient decomposition (Srinivas & Fleuret 2019),
// S_c = Σ x ⊙ ∂S_c/∂x + Σ_biases Σ b ⊙ ∂S_c/∂(output of the bias), with the
// signals from one backward pass. A bias missed (or counted twice) leaves
// its share out (or in twice).
func TestBiasesComplete(t *testing.T) {
	counts := map[string]int{"fmnist_vgg": 6, "fmnist_gap": 7, "fmnist_resnet": 10, "fmnist_scatter": 6,
		"dilated_conv": 4, "conv_transpose": 4, "backbone_two_outputs_twice": 5}
	for _, name := range []string{"fmnist_vgg", "fmnist_gap", "fmnist_resnet", "fmnist_scatter"} {
		fl, g := loadFlat(t, name)
		checkBiasesComplete(t, name, fl, g.Inputs, g.Top, counts[name])
	}
	// Edge models (goldens of their own): dilated convolutions, which
	// TensorFlow writes as SpaceToBatchND, Conv2D, BatchToSpaceND, then the
	// bias (whose biases were missed: FullGrad's decomposition was 0.2 %
	// off), a transposed convolution, and a backbone called twice.
	for _, name := range []string{"dilated_conv", "conv_transpose", "backbone_two_outputs_twice"} {
		fl := edgeFlat(t, name)
		x := readEdgeNpy(t, edgeDir(name), "inputs", false)
		top, err := savedmodels.ReadNpyInts(filepath.Join(edgeDir(name), "golden", "top.npy"))
		if err != nil {
			t.Fatal(err)
		}
		classes := make([]int, len(top))
		for i, v := range top {
			classes[i] = int(v)
		}
		checkBiasesComplete(t, name, fl, x, classes, counts[name])
	}
}

// checkBiasesComplete checks that the logit of each image's class top[i] is
// its full-gradient decomposition over fl.Biases, and that there are count
// biases.
func checkBiasesComplete(t *testing.T, name string, fl *tfgraph.Flat, x *tensor.Tensor, top []int, count int) {
	t.Helper()
	logits, _ := fl.Logits()
	biases, err := fl.Biases("")
	if err != nil {
		t.Fatal(err)
	}
	if len(biases) != count {
		t.Errorf("%s: %d biases, want %d", name, len(biases), count)
	}
	seed, err := fl.OneHot(logits, top)
	if err != nil {
		t.Fatal(err)
	}
	q := tfgraph.Query{Fetch: []string{logits}}
	grad := tfgraph.Grad{Seed: seed}
	for _, b := range biases {
		q.Fetch = append(q.Fetch, b.Inputs...)
		grad.At = append(grad.At, b.Output)
	}
	q.Grads = []tfgraph.Grad{grad}
	res, err := fl.Run(context.Background(), x, q)
	if err != nil {
		t.Fatal(err)
	}
	n := x.Shape[0]
	sum := make([]float64, n)
	per := len(x.Data) / n
	for i, v := range x.Data {
		sum[i/per] += float64(v) * float64(res.Grads[0].Data[i])
	}
	k := 1
	for j, b := range biases {
		v, err := b.Value(res.Fetched[k : k+len(b.Inputs)])
		if err != nil {
			t.Fatal(err)
		}
		k += len(b.Inputs)
		sig := res.At[0][j]
		c := len(v.Data)
		if len(v.Shape) != 1 || sig.Shape[len(sig.Shape)-1] != c {
			t.Fatalf("%s: bias of %s has shape %v for an output %v", name, b.Node, v.Shape, sig.Shape)
		}
		per := len(sig.Data) / n
		for i, s := range sig.Data {
			sum[i/per] += float64(v.Data[i%c]) * float64(s)
		}
	}
	worst := 0.0
	classes := res.Fetched[0].Shape[1]
	for i, c := range top {
		s := float64(res.Fetched[0].Data[i*classes+c])
		worst = math.Max(worst, math.Abs(sum[i]-s)/math.Abs(s))
	}
	t.Logf("%s: %d biases; the decomposition is within %.2g of the logit", name, len(biases), worst)
	if worst > 1e-4 {
		t.Errorf("%s: x·∂S/∂x + Σ b·∂S/∂b differs from the logit by %.3g of it", name, worst)
	}
}

// A fused batch normalisation (tf.keras 2's FusedBatchNormV3) has the
// effective bias β − μγ/√(σ²+ε): the value it gives for an input of zeros,
// fed in place of its input.
func TestFusedBatchNormBias(t *testing.T) {
	m := testdataModel(t, "tfkeras2")
	fl, err := m.Flat()
	if err != nil {
		t.Fatal(err)
	}
	x, _, _ := testdataGolden(t, "tfkeras2")
	biases, err := fl.Biases("")
	if err != nil {
		t.Fatal(err)
	}
	var ops []string
	fused := 0
	for _, b := range biases {
		ops = append(ops, b.Op)
		if b.Op != "FusedBatchNormV3" {
			continue
		}
		fused++
		node := fl.Shape(b.Output) // [N,h,w,K]
		if len(node) != 4 {
			t.Fatalf("%s: output shape %v", b.Node, node)
		}
		// Its input is the output of the convolution before it: zeros there.
		in := fl.DataInput(b.Node, 0)
		zeros := tensor.New(x.Shape[0], int(node[1]), int(node[2]), int(node[3]))
		res, err := fl.Run(context.Background(), x, tfgraph.Query{Fetch: append([]string{b.Output}, b.Inputs...), Feed: map[string]*tensor.Tensor{in: zeros}})
		if err != nil {
			t.Fatal(err)
		}
		v, err := b.Value(res.Fetched[1:])
		if err != nil {
			t.Fatal(err)
		}
		out := res.Fetched[0]
		k := len(v.Data)
		for i, y := range out.Data {
			if d := math.Abs(float64(y - v.Data[i%k])); d > 1e-5*(1+math.Abs(float64(y))) {
				t.Fatalf("%s: BN(0) = %g at %d, effective bias %g", b.Layer, y, i, v.Data[i%k])
			}
		}
	}
	if fused != 3 || len(biases) != 5 {
		t.Errorf("biases %v; want 3 fused batch norms (bn1, bn_dw, inner_bn), inner_conv's and the logits'", ops)
	}
}
