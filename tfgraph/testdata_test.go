package tfgraph_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/saliencykit/saliency/savedmodels"
	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// checkedFlat builds m's flat graph and checks that it computes what the
// signature computes on x, within tol.
func checkedFlat(t *testing.T, m *tfgraph.Model, x *tensor.Tensor, tol float64) *tfgraph.Flat {
	t.Helper()
	want, err := m.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	fl, err := m.Flat()
	if err != nil {
		t.Fatal(err)
	}
	got, err := fl.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	d, err := tensor.MaxAbsDiff(got, want)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d nodes, %d weights; max |flat - signature| = %.3g", fl.Nodes, len(fl.Weights), d)
	if d > tol {
		t.Errorf("flat graph differs from the signature by %g (> %g)", d, tol)
	}
	return fl
}

// testdataGolden reads a test model's golden inputs, classes and
// tf.GradientTape input gradient (savedmodels/testdata/<name>/golden).
func testdataGolden(t *testing.T, name string) (x *tensor.Tensor, classes []int, grad *tensor.Tensor) {
	t.Helper()
	dir := filepath.Join("..", "savedmodels", "testdata", name, "golden")
	var err error
	if x, err = savedmodels.ReadNpy(filepath.Join(dir, "inputs.npy")); err != nil {
		t.Fatal(err)
	}
	if classes, err = savedmodels.ReadNpyInts(filepath.Join(dir, "top.npy")); err != nil {
		t.Fatal(err)
	}
	if grad, err = savedmodels.ReadNpy(filepath.Join(dir, "grad_input.npy")); err != nil {
		t.Fatal(err)
	}
	return x, classes, grad
}

func testdataModel(t *testing.T, name string) *tfgraph.Model {
	t.Helper()
	m, err := tfgraph.Load(filepath.Join("..", "savedmodels", "testdata", name), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// Nested functions and list outputs (Split, Unpack) flatten to the same
// function, and the plain rules match AddGradients through them.
func TestFlattenListOutputs(t *testing.T) {
	m := testdataModel(t, "list_outputs")
	x := tensor.New(3, 4, 4, 2)
	for i := range x.Data {
		x.Data[i] = float32(i%7) - 2.5
	}
	fl := checkedFlat(t, m, x, 1e-6)
	if len(fl.Weights) != 1 || fl.Weights[0].Name != "dense/kernel" {
		t.Errorf("weights %+v", fl.Weights)
	}
	grad, err := fl.Gradient(x, []int{0, 1, 3}, "", tfgraph.Plain)
	if err != nil {
		t.Fatal(err)
	}
	oracle, err := fl.OracleGradient(x, []int{0, 1, 3})
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := tensor.MaxAbsDiff(grad, oracle); d > 1e-5*maxAbs(oracle) || maxAbs(oracle) == 0 {
		t.Errorf("plain differs from AddGradients by %g (max %g)", d, maxAbs(oracle))
	}
}

func TestFlattenRefusesControlFlow(t *testing.T) {
	m := testdataModel(t, "control_flow")
	_, err := m.Flat()
	if err == nil || !strings.Contains(err.Error(), "control flow is not supported") || !strings.Contains(err.Error(), "If") {
		t.Errorf("control flow: %v", err)
	}
}

func TestNonFloatInput(t *testing.T) {
	m := testdataModel(t, "uint8_input")
	_, err := m.Forward(tensor.New(1, 4, 4, 1))
	if err == nil || !strings.Contains(err.Error(), `input "image" is uint8; tfgraph feeds float32 tensors`) {
		t.Errorf("uint8 input: %v", err)
	}
}

// One of each op the ImageNet-shaped models use: flat equals the signature,
// the logits are found behind the softmax, and the plain rules equal the
// tf.GradientTape gradient (TF_AddGradients has no gradient for the IdentityN
// of swish's custom gradient).
func TestOpCoverage(t *testing.T) {
	m := testdataModel(t, "op_coverage")
	x, classes, tape := testdataGolden(t, "op_coverage")
	fl := checkedFlat(t, m, x, 1e-6)
	if _, behind := fl.Logits(); !behind {
		t.Error("logits not found behind the softmax")
	}
	for rs, missing := range fl.SupportedRules() {
		if len(missing) > 0 {
			t.Errorf("%s: no rule for %v", rs, missing)
		}
	}
	grad, err := fl.Gradient(x, classes, "", tfgraph.Plain)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := tensor.MaxAbsDiff(grad, tape)
	t.Logf("input: |plain - GradientTape| = %.3g, max |tape| %.3g", d, maxAbs(tape))
	if d > 1e-5*maxAbs(tape) || maxAbs(tape) == 0 {
		t.Errorf("plain differs from tf.GradientTape by %g (max %g)", d, maxAbs(tape))
	}
	for _, rs := range []*tfgraph.RuleSet{tfgraph.Guided, tfgraph.DeconvNet} {
		g, err := fl.Gradient(x, classes, "", rs)
		if err != nil {
			t.Fatal(err)
		}
		if d, _ := tensor.MaxAbsDiff(g, grad); d == 0 {
			t.Errorf("%s equals the plain gradient", rs)
		}
	}
}

// Keras layers beyond the zoo (grouped convolutions, LayerNormalization,
// gelu, Conv2DTranspose, UpSampling2D, GlobalMaxPooling2D): the flat graph
// runs (grouped convolutions rewritten) and equals the signature, and the
// plain rule set equals tf.GradientTape at the input and at two layers.
func TestKerasLayersMatchTape(t *testing.T) {
	m := testdataModel(t, "keras_layers")
	dir := filepath.Join("..", "savedmodels", "testdata", "keras_layers", "golden")
	read := func(name string) *tensor.Tensor {
		v, err := savedmodels.ReadNpy(filepath.Join(dir, name+".npy"))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	x := read("inputs")
	top, err := savedmodels.ReadNpyInts(filepath.Join(dir, "top.npy"))
	if err != nil {
		t.Fatal(err)
	}
	fl := checkedFlat(t, m, x, 1e-5)
	for rs, missing := range fl.SupportedRules() {
		if len(missing) > 0 {
			t.Errorf("%s: no rule for %v", rs, missing)
		}
	}
	for _, end := range []string{"", "ln", "deconv"} {
		want, name := read("grad_input"), "input"
		target := ""
		if end != "" {
			l, err := fl.Layer(end)
			if err != nil {
				t.Fatal(err)
			}
			want, name, target = read("grad_layer_"+end), end, l.Output
		}
		got, err := fl.Gradient(x, top, target, tfgraph.Plain)
		if err != nil {
			t.Fatal(err)
		}
		d, _ := tensor.MaxAbsDiff(got, want)
		t.Logf("%s: |plain - GradientTape| = %.3g (%.3g relative)", name, d, d/maxAbs(want))
		if d > 1e-5*maxAbs(want) || maxAbs(want) == 0 {
			t.Errorf("%s: plain differs from tf.GradientTape by %g (max %g)", name, d, maxAbs(want))
		}
	}
	// No ReLU-family activation: Guided and DeconvNet change nothing, and
	// RuleCoverage says so (and names the gelu it leaves exact).
	plain, _ := fl.Gradient(x, top, "", tfgraph.Plain)
	for _, rs := range []*tfgraph.RuleSet{tfgraph.Guided, tfgraph.DeconvNet} {
		g, err := fl.Gradient(x, top, "", rs)
		if err != nil {
			t.Errorf("%s: %v", rs.Name, err)
		}
		changed, exact := fl.RuleCoverage(rs)
		if !tensor.Equal(g, plain) || len(changed) != 0 || len(exact["gelu_dense"]) == 0 {
			t.Errorf("%s: changed %v, exact %v, equals plain %v", rs.Name, changed, exact, tensor.Equal(g, plain))
		}
	}
	for _, name := range []string{"grouped", "depthwise_as_grouped", "ln", "gelu_dense", "deconv", "up", "up_bilinear", "gmp"} {
		if _, err := fl.Layer(name); err != nil {
			t.Error(err)
		}
	}
}
