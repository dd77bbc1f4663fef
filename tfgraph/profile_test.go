package tfgraph_test

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/saliencykit/saliency/savedmodels"
	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// The input signal of a stride-1 convolution is a forward Conv2D of the
// flipped, transposed kernel, for every padding (VALID, SAME with odd, even
// and mixed kernel sizes, EXPLICIT, 1×1); a strided convolution
// keeps Conv2DBackpropInput. The plain gradient equals tf.GradientTape's, and
// TensorFlow's step statistics (Profiled) show which kernels ran.
func TestConvBackwardAsForwardConv(t *testing.T) {
	m := testdataModel(t, "conv_paddings")
	// The oracle is tf.GradientTape's: TF_AddGradients cannot differentiate
	// an EXPLICIT-padded Conv2D.
	x, classes, oracle := testdataGolden(t, "conv_paddings")
	fl := checkedFlat(t, m, x, 1e-5)
	p := &tfgraph.Profile{}
	grad, err := fl.Profiled(p).Gradient(x, classes, "", tfgraph.Plain)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := tensor.MaxAbsDiff(grad, oracle)
	t.Logf("max |plain − GradientTape| = %.3g (max %.3g)", d, maxAbs(oracle))
	if d > 1e-5*maxAbs(oracle) || maxAbs(oracle) == 0 {
		t.Errorf("plain differs from tf.GradientTape by %g (max %g)", d, maxAbs(oracle))
	}
	count := map[string]int{}
	for _, o := range p.Ops() {
		if o.Backward {
			count[o.Type] += o.Nodes
		}
		if o.Kernel < 0 || o.Nodes <= 0 {
			t.Errorf("op time %+v", o)
		}
	}
	if runs, wall := p.Runs(); runs != 1 || wall <= 0 {
		t.Errorf("profile: %d runs in %v, want 1", runs, wall)
	}
	if count["Transpose"] != 0 || count["ReverseV2"] != 0 {
		t.Errorf("the backward pass transposes kernels at every run (%d Transpose, %d ReverseV2); they are derived weights", count["Transpose"], count["ReverseV2"])
	}
	if count["Conv2D"] != 5 || count["Conv2DBackpropInput"] != 1 {
		t.Errorf("backward convolutions: %d Conv2D, %d Conv2DBackpropInput; want 5 and 1\n%s", count["Conv2D"], count["Conv2DBackpropInput"], p)
	}
	if !strings.Contains(p.String(), "Conv2DBackpropInput") {
		t.Errorf("profile table lacks the backward convolution:\n%s", p)
	}
	// A profiled view runs like the model: the same gradient, bit for bit.
	plain, err := fl.Gradient(x, classes, "", tfgraph.Plain)
	if err != nil {
		t.Fatal(err)
	}
	if !tensor.Equal(plain, grad) {
		t.Error("the profiled run gives another gradient")
	}
	if _, err := fl.Profiled(p).Run(context.Background(), x, tfgraph.Query{Fetch: []string{"no_such_node:0"}}); err == nil {
		t.Error("profiled run of an unknown tensor: no error")
	}
}

// ConvBackwardExact differentiates convolutions with TensorFlow's own
// Conv2DBackpropInput: the plain gradient is then the same bits as
// TF_AddGradients' on fmnist_vgg, where the default (forward convolutions of
// the flipped kernels) agrees to within float rounding.
func TestExactConvBackward(t *testing.T) {
	g, err := savedmodels.ReadGolden(zooDir("fmnist_vgg"))
	if err != nil {
		t.Fatal(err)
	}
	grads := map[bool]*tensor.Tensor{}
	var oracle *tensor.Tensor
	for _, exact := range []bool{false, true} {
		fl := vggFlat(t, exact)
		p := &tfgraph.Profile{}
		if grads[exact], err = fl.Profiled(p).Gradient(g.Inputs, g.Top, "", tfgraph.Plain); err != nil {
			t.Fatal(err)
		}
		if oracle, err = fl.OracleGradient(g.Inputs, g.Top); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, o := range p.Ops() {
			if o.Backward && o.Type == "Conv2DBackpropInput" {
				n += o.Nodes
			}
		}
		if want := map[bool]int{false: 0, true: 4}[exact]; n != want {
			t.Errorf("exact %v: %d Conv2DBackpropInput nodes ran, want %d", exact, n, want)
		}
	}
	if !tensor.Equal(grads[true], oracle) {
		d, _ := tensor.MaxAbsDiff(grads[true], oracle)
		t.Errorf("exact: differs from AddGradients by %g", d)
	}
	d, _ := tensor.MaxAbsDiff(grads[false], oracle)
	t.Logf("default: max |plain − AddGradients| = %.3g (%.3g relative)", d, d/maxAbs(oracle))
	if d > 1e-6*maxAbs(oracle) {
		t.Errorf("default: differs from AddGradients by %g", d)
	}
}

// In a view with replacement weights, the derived kernels of the backward
// convolutions follow the replacements: the gradient equals the one with
// TensorFlow's own convolution gradients (ConvBackwardExact) under the
// same weights, and differs from the frozen model's.
func TestDerivedKernelsFollowFedWeights(t *testing.T) {
	g, err := savedmodels.ReadGolden(zooDir("fmnist_vgg"))
	if err != nil {
		t.Fatal(err)
	}
	grads := map[bool]*tensor.Tensor{}
	var frozen *tensor.Tensor
	for _, exact := range []bool{false, true} {
		fl := vggFlat(t, exact)
		if !exact {
			// Build the backward graph (and its derived kernels) first.
			if frozen, err = fl.Gradient(g.Inputs, g.Top, "", tfgraph.Plain); err != nil {
				t.Fatal(err)
			}
		}
		vals := map[string]*tensor.Tensor{}
		for _, name := range []string{"conv1_2/kernel_1", "conv2_2/kernel_1"} {
			v, err := fl.WeightValue(name)
			if err != nil {
				t.Fatal(err)
			}
			v = v.Clone()
			for i := range v.Data {
				v.Data[i] = float32(math.Sin(float64(i))) * 0.1
			}
			vals[name] = v
		}
		view := viewWith(t, fl, vals)
		p := &tfgraph.Profile{}
		for i := 0; i < 2; i++ { // the second run reuses the feed's derived kernels
			if grads[exact], err = view.Profiled(p).Gradient(g.Inputs, g.Top, "", tfgraph.Plain); err != nil {
				t.Fatal(err)
			}
		}
		for _, o := range p.Ops() {
			if o.Backward && (o.Type == "Transpose" || o.Type == "ReverseV2") && !exact {
				t.Errorf("fed weights: %d %s ops ran", o.Nodes, o.Type)
			}
		}
	}
	d, _ := tensor.MaxAbsDiff(grads[false], grads[true])
	t.Logf("fed weights: max |derived − Conv2DBackpropInput| = %.3g (max %.3g)", d, maxAbs(grads[true]))
	if d > 1e-5*maxAbs(grads[true]) || maxAbs(grads[true]) == 0 {
		t.Errorf("fed weights: the gradients differ by %g", d)
	}
	if d, _ := tensor.MaxAbsDiff(grads[false], frozen); d < 1e-3*maxAbs(frozen) {
		t.Errorf("the fed weights changed the gradient by only %g: the derived kernels did not follow them", d)
	}
}

// A backward graph built by the first query of a view with replacement
// weights (a randomization run resumed at a randomized step) feeds the
// derived kernels of the replacements on that very run: its gradient equals
// the one with TensorFlow's own convolution gradients under the same weights.
func TestDerivedKernelsOnTheFirstRunUnderFedWeights(t *testing.T) {
	g, err := savedmodels.ReadGolden(zooDir("fmnist_vgg"))
	if err != nil {
		t.Fatal(err)
	}
	grads := map[bool]*tensor.Tensor{}
	for _, exact := range []bool{false, true} {
		fl := vggFlat(t, exact)
		vals := map[string]*tensor.Tensor{}
		for _, name := range []string{"conv1_2/kernel_1", "conv2_2/kernel_1"} {
			v, err := fl.WeightValue(name)
			if err != nil {
				t.Fatal(err)
			}
			v = v.Clone()
			for i := range v.Data {
				v.Data[i] = float32(math.Sin(float64(i))) * 0.1
			}
			vals[name] = v
		}
		view := viewWith(t, fl, vals)
		if grads[exact], err = view.Gradient(g.Inputs, g.Top, "", tfgraph.Plain); err != nil {
			t.Fatal(err)
		}
	}
	d, _ := tensor.MaxAbsDiff(grads[false], grads[true])
	if d > 1e-5*maxAbs(grads[true]) || maxAbs(grads[true]) == 0 {
		t.Errorf("first run under fed weights: the gradients differ by %g (max %g)", d, maxAbs(grads[true]))
	}
}

// vggFlat loads fmnist_vgg's flat graph with or without
// ConvBackwardExact (else ConvBackwardDerived), closed when the test ends.
func vggFlat(t *testing.T, exact bool) *tfgraph.Flat {
	t.Helper()
	cb := tfgraph.ConvBackwardDerived
	if exact {
		cb = tfgraph.ConvBackwardExact
	}
	return loadFlatWith(t, "fmnist_vgg", tfgraph.Options{ConvBackward: cb})
}
