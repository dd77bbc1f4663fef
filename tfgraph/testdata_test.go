package tfgraph_test

import (
	"errors"
	"path/filepath"
	"slices"
	"sort"
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

// A tf.cond stays in the flat graph as it is (an If node calling its branch
// functions): the forward pass equals the signature on both branches, the
// op is listed as missing a rule, and a gradient is refused naming it.
func TestFlattenKeepsControlFlow(t *testing.T) {
	m := testdataModel(t, "control_flow")
	x := tensor.New(2, 4, 4, 2)
	for i := range x.Data {
		x.Data[i] = float32(i%5) - 1
	}
	fl := checkedFlat(t, m, x, 0)
	for i := range x.Data {
		x.Data[i] = -x.Data[i] // the other branch
	}
	checkedFlat(t, m, x, 0)
	if missing := fl.MissingRules(tfgraph.Plain); !slices.Contains(missing, "If") && !slices.Contains(missing, "StatelessIf") {
		t.Errorf("missing rules %v, want If", missing)
	}
	_, err := fl.Gradient(x, []int{0, 1}, "", tfgraph.Plain)
	var nr *tfgraph.NoRuleError
	if !errors.As(err, &nr) || !strings.Contains(nr.Op, "If") || !strings.Contains(err.Error(), "conditional") {
		t.Errorf("gradient through tf.cond: %v", err)
	}
}

// A uint8 image input (logits = the first 10 of cast(image)/255): the
// signature takes whole numbers in [0, 255] only; the flat graph takes the
// image as float32 and its gradient is the gradient with respect to the
// image as the model's cast makes it, here 1/255 at the logit's pixel.
func TestUint8Input(t *testing.T) {
	m := testdataModel(t, "uint8_input")
	x := tensor.New(2, 4, 4, 1)
	for i := range x.Data {
		x.Data[i] = float32(i * 7 % 256)
	}
	fl := checkedFlat(t, m, x, 1e-6)
	grad, err := fl.Gradient(x, []int{3, 9}, "", tfgraph.Plain)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range grad.Data {
		want := float32(0)
		if i == 3 || i == 16+9 {
			want = float32(1) / 255
		}
		if v != want {
			t.Fatalf("gradient %d = %g, want %g", i, v, want)
		}
	}
	x.Data[5] = 2.5
	if _, err := m.Forward(x); err == nil || !strings.Contains(err.Error(), `input "image"`) || !strings.Contains(err.Error(), "whole number") || !strings.Contains(err.Error(), "uint8") {
		t.Errorf("2.5 fed to a uint8 signature: %v", err)
	}
	if _, err := fl.Forward(x); err != nil {
		t.Errorf("the flat graph refuses a non-integer float image: %v", err)
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

// Keras operations applied outside any layer (x + y and x * c in a
// functional model, as ConvNeXt and MobileNetV3 write their residual sums and
// hard sigmoids) are listed by model.summary() and the card, but their ops
// sit in the model's own scope. They were aliases of the layer listed before
// them, the branch before the sum, so -layer add explained another tensor
// with exit 0. Now they are no layers, and Flat.Layer says why; a Dropout
// after a layer is still that layer's output, and a linear Activation after
// an operation is no layer either (its input is the operation's output).
// The card's output_of places an entry at the layer it names.
func TestKerasOperationsAreNotLayers(t *testing.T) {
	dir := filepath.Join("..", "savedmodels", "testdata", "keras_ops")
	card, err := savedmodels.ReadCard(dir)
	if err != nil {
		t.Fatal(err)
	}
	keras := kerasLayers(card)
	keras = append(keras[:len(keras):len(keras)],
		tfgraph.KerasLayer{Name: "head", Class: "Sequential", OutputShape: []int{-1, 5}, OutputOf: "logits"},
		tfgraph.KerasLayer{Name: "lost", Class: "Sequential", OutputShape: []int{-1, 5}, OutputOf: "nothing"})
	fl := flatAt(t, dir, &tfgraph.Options{KerasLayers: keras})
	var not []string
	for n := range fl.NotLayers() {
		not = append(not, n)
	}
	sort.Strings(not)
	if want := []string{"add", "add_1", "identity", "lost", "multiply", "multiply_1"}; !slices.Equal(not, want) {
		t.Errorf("not layers %v, want %v", not, want)
	}
	for name, want := range map[string]string{"add": "Keras operation applied outside any layer",
		"multiply_1": "Keras operation", "identity": "after multiply_1", "lost": "output_of: nothing"} {
		if _, err := fl.Layer(name); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Layer(%s): %v, want an error saying %q", name, err, want)
		}
	}
	for name, of := range map[string]string{"drop": "branch", "head": "logits"} {
		l, err := fl.Layer(name)
		if err != nil || l.Alias != of {
			t.Errorf("Layer(%s): alias %q, %v; want the output of %s", name, l.Alias, err, of)
		}
	}
}
