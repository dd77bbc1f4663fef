package tfgraph_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/saliencykit/saliency/savedmodels"
	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
	tf "github.com/wamuir/graft/tensorflow"
	"gopkg.in/yaml.v3"
)

// The models a user brings that the zoo never had (savedmodels/build_edge.py,
// built on demand into savedmodels/edge by `make edge-models`; case.yaml in
// each folder says what the case is and which of its ops were verified in the
// SavedModel). Each row either equals tf.GradientTape within its dtype's
// tolerance or is refused with an error that names the op, the layer and the
// reason. A result that differs from the golden without an error is a
// failure: zero silent differences.

// edgeTolerance is how close a result must be to its golden.
type edgeTolerance struct {
	name string
	// maxRel: max|got - want| ≤ maxRel·max|want| (0: not checked).
	maxRel float64
	// l2Rel: ||got - want|| ≤ l2Rel·||want|| (0: not checked).
	l2Rel float64
	// pearson: Pearson's r of got and want ≥ pearson (0: not checked).
	pearson float64
}

var (
	// edgeF32 is for float32 and float64 paths: float32 rounding of a few
	// hundred products in another order.
	edgeF32 = edgeTolerance{name: "float32", maxRel: 1e-5}
	// edgeF16 is for paths through float16. float16 keeps 11 significant
	// bits (unit roundoff 2^-11 ≈ 4.9e-4): TensorFlow's own float16 gradient
	// of these models is 3e-4 to 6e-4 of its maximum away from the float32
	// gradient of the same weights (case.yaml, dtype_noise), so 1e-2 leaves
	// about 20 roundoffs for another order of summation or another kernel,
	// and the Pearson bound catches a missing branch, which max|Δ| alone
	// might not.
	edgeF16 = edgeTolerance{name: "float16", maxRel: 1e-2, pearson: 0.999}
	// edgeBF16 is for paths through bfloat16, which keeps 8 significant bits
	// (unit roundoff 2^-8 ≈ 3.9e-3, 8 times float16's). TensorFlow's own
	// bfloat16 backward pass on CPU lands 10-16% (L2) and up to 47% (worst
	// pixel) from the float32 gradient of the same weights on mixed_bf16
	// (case.yaml, dtype_noise): two faithful bfloat16 computations may differ
	// by twice that, so only the L2 distance and the correlation are bounded.
	edgeBF16 = edgeTolerance{name: "bfloat16", l2Rel: 0.3, pearson: 0.95}
)

// edgeRefusal is what a refusal must say. Each non-empty list must have one
// entry in the error's text: ops and layers as written, reasons in any case,
// looked for after the op and layer found are taken out of the text.
type edgeRefusal struct {
	// stage, when set, is where the refusal must come; the stages before it
	// must work and agree with the signature ("gradient": the forward pass
	// of the flat graph runs and equals the signature's).
	stage   string
	ops     []string
	layers  []string
	reasons []string
}

type edgeRow struct {
	name  string
	model string // folder in savedmodels/edge
	opts  tfgraph.Options
	// output selects the signature output by key (tfgraph.Options.Output;
	// "": the first).
	output string
	// golden is the suffix of the golden files of this output ("" or
	// "_output_1").
	golden string
	tol    edgeTolerance
	// guided compares tfgraph.Guided with golden/guided_input.npy.
	guided bool
	// random: the signature is random at inference; two calls on one image
	// must differ (the golden's finding), Flat.RandomOps must name the random
	// ops and their layers, and the flat graph (one fixed draw: its seeds are
	// frozen) must be deterministic, its forward pass equal to the first call
	// of a freshly loaded signature (outputs_call1.npy) and its plain gradient
	// of the output probability to that call's tf.GradientTape
	// (grad_probability_first_call.npy).
	random bool
	// refuse, when set, is the expected refusal; otherwise the row must equal.
	refuse *edgeRefusal
}

var edgeRows = []edgeRow{
	{name: "mixed_f16_branches", model: "mixed_f16_branches", tol: edgeF16},
	{name: "mixed_f16", model: "mixed_f16", tol: edgeF16},
	{name: "mixed_f16_softmax16", model: "mixed_f16_softmax16", tol: edgeF16},
	{name: "mixed_bf16", model: "mixed_bf16", tol: edgeBF16},
	{name: "float64", model: "float64", tol: edgeF32},
	{name: "float64_input", model: "float64_input", tol: edgeF32},
	{name: "float16_input", model: "float16_input", tol: edgeF16},
	{name: "two_outputs/output_0", model: "two_outputs", tol: edgeF32},
	{name: "two_outputs/output_1", model: "two_outputs", output: "output_1", golden: "_output_1", tol: edgeF32},
	{name: "rescaling_input", model: "rescaling_input", tol: edgeF32},
	{name: "resize_rescaling_input", model: "resize_rescaling_input", tol: edgeF32},
	{name: "normalization_input", model: "normalization_input", tol: edgeF32},
	{name: "caffe_input", model: "caffe_input", tol: edgeF32},
	{name: "sigmoid_head", model: "sigmoid_head", tol: edgeF32},
	// A log_softmax head (PyTorch's habit): the logits are its input, as
	// behind a Softmax.
	{name: "log_softmax_head", model: "log_softmax_head", tol: edgeF32},
	{name: "log_of_softmax_head", model: "log_of_softmax_head", tol: edgeF32},
	{name: "log_of_softmax_cast_head", model: "log_of_softmax_cast_head", tol: edgeF32},
	// Live augmentation: the random ops are named with their layers
	// (Flat.RandomOps, which the commands print as a warning), and the flat
	// graph, whose seed is frozen with the other variables, explains one
	// fixed draw: that of the seed state saved in the SavedModel.
	{name: "live_augmentation", model: "live_augmentation", tol: edgeF32, random: true},
	{name: "prelu", model: "prelu", tol: edgeF32, guided: true},
	{name: "tf_module_relu", model: "tf_module_relu", tol: edgeF32, guided: true},
	{name: "lstm_unroll", model: "lstm_unroll", tol: edgeF32},
	{name: "gru_loop", model: "gru_loop", refuse: &edgeRefusal{
		stage:   "gradient",
		ops:     []string{"While", "StatelessWhile"},
		layers:  []string{"gru"},
		reasons: []string{"unroll=True"},
	}},
	// TensorFlow's gradient is None through a StopGradient or an integer
	// tensor: refused by name, where the error named neither.
	{name: "stop_gradient_input", model: "stop_gradient_input", refuse: &edgeRefusal{
		stage: "gradient", ops: []string{"StopGradient"}, layers: []string{"pre"}, reasons: []string{"gradient is None"},
	}},
	{name: "quantized_input", model: "quantized_input", refuse: &edgeRefusal{
		stage: "gradient", ops: []string{"Cast"}, layers: []string{"pre"}, reasons: []string{"from uint8", "gradient is None"},
	}},
	// A softmax that the model reshapes afterwards (over [N,1,1,K], then
	// Flatten; over the channels of [N,K,1,1] by Transpose): the logits
	// behind it (TestReshapedHead).
	{name: "softmax_1x1_flatten", model: "softmax_1x1_flatten", tol: edgeF32},
	{name: "softmax_channels", model: "softmax_channels", tol: edgeF32},
	// Bicubic, lanczos and antialiased resizing inside the model: refused
	// ('no plain rule for op ResizeBicubic') before their rules.
	{name: "resize_kernels", model: "resize_kernels", tol: edgeF32},
	// tf.math.top_k and tf.sort (TopKV2): refused before its rule.
	{name: "top_k_pooling", model: "top_k_pooling", tol: edgeF32},
	// An average of two softmaxes: no logits behind it, the output is
	// explained (Flat.ActivationBehind names the softmax for the note).
	{name: "softmax_ensemble", model: "softmax_ensemble", tol: edgeF32},
	// A softmax written as exp(z − max z) / Σ: rewritten as a Softmax op,
	// its logits found behind it (TestExpSumSoftmax).
	{name: "exp_sum_softmax", model: "exp_sum_softmax", tol: edgeF32},
	// Scores normalised without a softmax: explained as they are.
	{name: "normalized_scores", model: "normalized_scores", tol: edgeF32},
	// tf.image.extract_patches and a space-to-depth stem: refused before
	// their rules (ExtractImagePatches as the transposed convolution by an
	// identity kernel; SpaceToDepth and DepthToSpace as each other).
	{name: "patches_and_shuffle", model: "patches_and_shuffle", tol: edgeF32},
	// log, trigonometric and other element-wise functions, a rounded copy
	// (no signal, as the tape), mirror pads, clip, gather, log_softmax in
	// the body, a min pooling: refused before their rules.
	{name: "math_ops", model: "math_ops", tol: edgeF32},
	// A log of the input: equal on images without black pixels (a black
	// one's scores are NaN, refused by the commands).
	{name: "log_input", model: "log_input", tol: edgeF32},
	// Five of a softmax's ten probabilities: explained as they are.
	{name: "softmax_subset", model: "softmax_subset", tol: edgeF32},
	// Logits through a ReLU, one class always 0 (its maps zero: explain
	// warns).
	{name: "relu_logits", model: "relu_logits", tol: edgeF32},
	// ReLUs written as max(x, 0) and as a thresholded select
	// (TestRuleCoverage).
	{name: "written_relu", model: "written_relu", tol: edgeF32},
	// tf.image.crop_and_resize, bilinear and nearest, its boxes tiled by
	// the batch size: refused before its rule.
	{name: "crop_and_resize", model: "crop_and_resize", tol: edgeF32},
	// Keras 3 models saved with tf.saved_model.save, alone and held by a
	// tf.Module: their functions read handles that the restore op leaves
	// uninitialized, restored at load from the checkpoint by the object
	// graph (TensorFlow's session loader fails on them).
	{name: "keras3_tf_saved_model", model: "keras3_tf_saved_model", tol: edgeF32},
	{name: "module_held_keras", model: "module_held_keras", output: "logits", tol: edgeF32},
	// An input that takes exactly one image: runs of three in chunks of one.
	{name: "fixed_batch", model: "fixed_batch", tol: edgeF32},
	{name: "fixed_batch_twin", model: "fixed_batch_twin", tol: edgeF32},
	// A transposed convolution (methods' TestDeepLIFTEdgeOps runs DeepLIFT).
	{name: "conv_transpose", model: "conv_transpose", tol: edgeF32},
	// A custom layer and a nested model with two outputs
	// (TestSharedLayerCalls).
	{name: "backbone_two_outputs", model: "backbone_two_outputs", tol: edgeF32},
	{name: "two_output_layer", model: "two_output_layer", tol: edgeF32},
	// Encoded images in serving_default, pixels in the signature "image".
	{name: "jpeg_bytes_input/image", model: "jpeg_bytes_input", opts: tfgraph.Options{Signature: "image"}, tol: edgeF32},
	// Layers called twice (TestSharedLayerCalls checks each call).
	{name: "shared_layer_tta", model: "shared_layer_tta", tol: edgeF32},
	{name: "shared_backbone_scales", model: "shared_backbone_scales", tol: edgeF32},
	{name: "gelu_tanh", model: "gelu_tanh", tol: edgeF32},
	{name: "lrn", model: "lrn", tol: edgeF32},
	{name: "dilated_conv", model: "dilated_conv", tol: edgeF32},
	{name: "vit_grid", model: "vit_grid", tol: edgeF32},
	{name: "uint8_input", model: "uint8_input", tol: edgeF32},
	// An input without a channel axis, [N,H,W]: fed and differentiated as
	// [N,H,W,1], through a Rescaling and a Reshape, or a Flatten (the
	// model of TensorFlow's Fashion-MNIST tutorial).
	{name: "no_channel_axis", model: "no_channel_axis", tol: edgeF32},
	{name: "no_channel_axis_mlp", model: "no_channel_axis_mlp", tol: edgeF32},
	// Heads the model maps further by scalar constants: a softmax in
	// percent, the log of a clipped softmax. The logits are behind them.
	{name: "percent_softmax_head", model: "percent_softmax_head", tol: edgeF32},
	{name: "clipped_log_softmax_head", model: "clipped_log_softmax_head", tol: edgeF32},
	// One logit, without a sigmoid: explained as any logit (Head says
	// sigmoid: TestLabelLogits).
	{name: "binary_logit", model: "binary_logit", tol: edgeF32},
	// Dense(1) then a sigmoid: the logit z behind it, as the two classes
	// (−z, z), as for binary_logit (methods' TestBinaryClasses checks the
	// probabilities' gradients).
	{name: "binary_sigmoid", model: "binary_sigmoid", tol: edgeF32},
}

// randomOpsNamed is what Flat.RandomOps must name on live_augmentation.
var randomOpsNamed = &edgeRefusal{ops: []string{"StatelessRandomUniformV2"},
	layers: []string{"augment/random_flip", "augment/random_rotation"}, reasons: []string{"random"}}

func edgeDir(name string) string { return filepath.Join("..", "savedmodels", "edge", name) }

// edgeFlat loads an edge model's flat graph, closed when the test ends.
func edgeFlat(t *testing.T, name string) *tfgraph.Flat {
	t.Helper()
	return flatAt(t, edgeDir(name), nil)
}

// edgeResult is what happened to one row: the first error and the stage that
// gave it, and every comparison that failed its tolerance.
type edgeResult struct {
	stage string
	err   error
	diffs []string
	notes []string
}

func (r *edgeResult) fail(stage string, err error) *edgeResult {
	r.stage, r.err = stage, err
	return r
}

func (r *edgeResult) compare(what string, got, want *tensor.Tensor, tol edgeTolerance) {
	ok, msg := withinTolerance(got, want, tol)
	r.notes = append(r.notes, what+": "+msg)
	if !ok {
		r.diffs = append(r.diffs, what+" differs: "+msg)
	}
}

// withinTolerance compares got with want under tol and describes the
// distance.
func withinTolerance(got, want *tensor.Tensor, tol edgeTolerance) (bool, string) {
	if got == nil || want == nil || !tensor.SameShape(got.Shape, want.Shape) {
		return false, fmt.Sprintf("shape %v, want %v", shapeOfT(got), shapeOfT(want))
	}
	if !got.Finite() {
		return false, "not finite"
	}
	d, _ := tensor.MaxAbsDiff(got, want)
	m := want.MaxAbs()
	var dd, ww float64
	for i := range got.Data {
		e := float64(got.Data[i]) - float64(want.Data[i])
		dd += e * e
		ww += float64(want.Data[i]) * float64(want.Data[i])
	}
	l2 := math.Sqrt(dd / ww)
	r := tensor.Pearson(got.Data, want.Data)
	msg := fmt.Sprintf("max|Δ| = %.3g (%.3g of max %.3g), ||Δ||/||want|| = %.3g, Pearson %.6f [%s tolerance]", d, d/m, m, l2, r, tol.name)
	ok := m > 0
	if tol.maxRel > 0 && !(d <= tol.maxRel*m) {
		ok = false
	}
	if tol.l2Rel > 0 && !(l2 <= tol.l2Rel) {
		ok = false
	}
	if tol.pearson > 0 && !(r >= tol.pearson) {
		ok = false
	}
	return ok, msg
}

func shapeOfT(t *tensor.Tensor) any {
	if t == nil {
		return "nil"
	}
	return t.Shape
}

func readEdgeNpy(t *testing.T, dir, name string, optional bool) *tensor.Tensor {
	t.Helper()
	p := filepath.Join(dir, "golden", name+".npy")
	if _, err := os.Stat(p); optional && errors.Is(err, os.ErrNotExist) {
		return nil
	}
	v, err := savedmodels.ReadNpy(p)
	if err != nil {
		t.Fatalf("%v (build the edge models: make edge-models)", err)
	}
	return v
}

// checkEdgeCase checks that the row expects what the model's case.yaml
// (written by build_edge.py) says.
func checkEdgeCase(t *testing.T, dir string, row edgeRow) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "case.yaml"))
	if err != nil {
		t.Fatalf("%v (build the edge models: make edge-models)", err)
	}
	var c struct {
		Expect struct {
			Outcome   string `yaml:"outcome"`
			Tolerance string `yaml:"tolerance"`
		} `yaml:"expect"`
	}
	if err := yaml.Unmarshal(raw, &c); err != nil {
		t.Fatalf("%s/case.yaml: %v", dir, err)
	}
	want := "equal"
	if row.refuse != nil {
		want = "refused"
	}
	if row.random {
		want = "warned"
	}
	if c.Expect.Outcome != want || (want == "equal" && !strings.HasPrefix(c.Expect.Tolerance, row.tol.name+":")) {
		if want == "warned" && c.Expect.Outcome == want {
			return
		}
		t.Errorf("%s/case.yaml expects %s (%s); the row expects %s (%s tolerance)", dir, c.Expect.Outcome, c.Expect.Tolerance, want, row.tol.name)
	}
}

// runEdge runs one row through every stage: load, the signature's forward,
// the flat graph and its forward, the plain gradient and, where a golden
// exists, the guided one. It stops at the first error.
func runEdge(t *testing.T, row edgeRow) *edgeResult {
	t.Helper()
	dir := edgeDir(row.model)
	x := readEdgeNpy(t, dir, "inputs", false)
	classes, err := savedmodels.ReadNpyInts(filepath.Join(dir, "golden", "top"+row.golden+".npy"))
	if err != nil {
		t.Fatalf("%v (build the edge models: make edge-models)", err)
	}
	grad := readEdgeNpy(t, dir, "grad_input"+row.golden, row.refuse != nil || row.random)
	var guided *tensor.Tensor
	if row.guided {
		guided = readEdgeNpy(t, dir, "guided_input", false)
	}
	if row.refuse == nil && !row.random && grad == nil {
		t.Fatalf("%s: no grad_input%s.npy for a row that must equal it", dir, row.golden)
	}
	checkEdgeCase(t, dir, row)
	res := &edgeResult{}
	opts := row.opts
	if opts.IntraOpThreads == 0 {
		opts.IntraOpThreads, opts.InterOpThreads = 2, 1
	}
	if row.output != "" {
		card, err := savedmodels.ReadCard(dir)
		if err != nil {
			t.Fatal(err)
		}
		if card.Output.SignatureKey != row.output {
			t.Fatalf("card.yaml names output %q, the row %q", card.Output.SignatureKey, row.output)
		}
		opts.Output = row.output
	}
	m, err := tfgraph.Load(dir, &opts)
	if err != nil {
		return res.fail("load", err)
	}
	t.Cleanup(func() { m.Close() })
	key := row.output
	if key == "" {
		key = m.Output().Key
	}
	signature := func() (*tensor.Tensor, error) {
		outs, err := m.Run(map[string]*tensor.Tensor{m.Input().Key: x}, key)
		if err != nil {
			return nil, err
		}
		return outs[0], nil
	}
	want, err := signature()
	if err != nil {
		return res.fail("signature forward", err)
	}
	if row.random {
		again, err := signature()
		if err != nil {
			return res.fail("signature forward", err)
		}
		d, _ := tensor.MaxAbsDiff(again, want)
		res.notes = append(res.notes, fmt.Sprintf("two calls of the signature on the same images differ by %.3g", d))
		if d == 0 {
			t.Errorf("the signature of %s is not random: two calls gave the same output", row.model)
		}
	}
	fl, err := m.Flat()
	if err != nil {
		return res.fail("flat", err)
	}
	logits, behind := fl.Logits()
	res.notes = append(res.notes, fmt.Sprintf("score tensor %s (behind a softmax: %v); ops with no plain rule on the path: %v", logits, behind, fl.MissingRules(tfgraph.Plain)))
	got, err := fl.Forward(x)
	if err != nil {
		return res.fail("flat forward", err)
	}
	fwdTol := row.tol
	if row.refuse != nil || fwdTol.name == "" {
		fwdTol = edgeF32
	}
	if row.random {
		// The flat graph reads the seed states of the live variables, which
		// every call of the signature advances: a fresh load, whose flat
		// graph runs before any signature call, makes the draw of the first
		// call.
		m2, err := tfgraph.Load(dir, &opts)
		if err != nil {
			return res.fail("load", err)
		}
		t.Cleanup(func() { m2.Close() })
		if fl, err = m2.Flat(); err != nil {
			return res.fail("flat", err)
		}
		if got, err = fl.Forward(x); err != nil {
			return res.fail("flat forward", err)
		}
		var ops, layers []string
		for _, r := range fl.RandomOps() {
			ops, layers = append(ops, r.Op), append(layers, r.Layer)
		}
		msg := fmt.Sprintf("random ops %v in layers %v", ops, layers)
		res.notes = append(res.notes, msg)
		if missing := refusalSays(msg, row.model, randomOpsNamed); len(missing) > 0 {
			res.diffs = append(res.diffs, "Flat.RandomOps does not name "+strings.Join(missing, ", ")+": "+msg)
		}
		again, err := fl.Forward(x)
		if err != nil {
			return res.fail("flat forward", err)
		}
		res.compare("flat forward, twice (one fixed draw)", again, got, edgeTolerance{name: "bitwise", maxRel: 1e-30})
		res.compare("flat forward vs the first call of the signature", got, readEdgeNpy(t, dir, "outputs_call1", false), edgeF32)
		top, err := savedmodels.ReadNpyInts(filepath.Join(dir, "golden", "top_first_call.npy"))
		if err != nil {
			t.Fatal(err)
		}
		seed, err := fl.OneHot(fl.Output(), top)
		if err != nil {
			return res.fail("gradient", err)
		}
		r, err := fl.Run(context.Background(), x, tfgraph.Query{Grads: []tfgraph.Grad{{Start: fl.Output(), Seed: seed}}})
		if err != nil {
			return res.fail("gradient", err)
		}
		res.compare("plain gradient of the probability vs the first call's tf.GradientTape", r.Grads[0], readEdgeNpy(t, dir, "grad_probability_first_call", false), row.tol)

	} else {
		res.compare("flat forward vs the signature", got, want, fwdTol)
	}
	g, err := fl.Gradient(x, classes, "", tfgraph.Plain)
	if err != nil {
		return res.fail("gradient", err)
	}
	if grad != nil {
		res.compare("plain gradient vs tf.GradientTape", g, grad, row.tol)
	}
	if guided != nil {
		g, err := fl.Gradient(x, classes, "", tfgraph.Guided)
		if err != nil {
			return res.fail("guided", err)
		}
		res.compare("guided vs guided_input.npy", g, guided, row.tol)
	}
	return res
}

// refusalSays checks that msg names one of each list of r (see edgeRefusal),
// after taking out the model's name (the folder "gru_loop" would name the
// layer gru, "live_augmentation" the layer augment).
func refusalSays(msg, model string, r *edgeRefusal) []string {
	var missing []string
	rest := strings.ReplaceAll(msg, model, "")
	for _, want := range []struct {
		what string
		alts []string
		fold bool
	}{{"op", r.ops, false}, {"layer", r.layers, false}, {"reason", r.reasons, true}} {
		if len(want.alts) == 0 {
			continue
		}
		found := false
		for _, a := range want.alts {
			hay, needle := rest, a
			if want.fold {
				hay, needle = strings.ToLower(rest), strings.ToLower(a)
			}
			if strings.Contains(hay, needle) {
				found = true
				if !want.fold {
					rest = strings.ReplaceAll(rest, a, "")
				}
				break
			}
		}
		if !found {
			missing = append(missing, fmt.Sprintf("the %s (one of %q)", want.what, want.alts))
		}
	}
	return missing
}

// TestEdgeModels runs every row of edgeRows and logs a table of what
// happened to each.
func TestEdgeModels(t *testing.T) {
	summary := make([]string, len(edgeRows))
	for i, row := range edgeRows {
		t.Run(row.name, func(t *testing.T) {
			if cappedLowPrecision(row) {
				summary[i] = runEdgeChild(t, row)
				return
			}
			res := runEdge(t, row)
			for _, n := range res.notes {
				t.Log(n)
			}
			var typed string
			var nr *tfgraph.NoRuleError
			if errors.As(res.err, &nr) {
				typed = " (*tfgraph.NoRuleError)"
			}
			switch {
			case row.refuse == nil && res.err != nil:
				summary[i] = fmt.Sprintf("FAIL refused at %s%s: %v", res.stage, typed, res.err)
				t.Errorf("refused at %s, want equal%s: %v", res.stage, typed, res.err)
			case row.refuse != nil && res.err == nil:
				summary[i] = "FAIL not refused"
				t.Errorf("not refused; want a refusal naming %v, %v and %v", row.refuse.ops, row.refuse.layers, row.refuse.reasons)
			case row.refuse != nil:
				summary[i] = fmt.Sprintf("refused at %s%s: %v", res.stage, typed, res.err)
				var wrong []string
				if s := row.refuse.stage; s != "" && res.stage != s {
					wrong = append(wrong, "want the refusal at "+s)
					t.Errorf("refused at %s, want the refusal at %s: %v", res.stage, s, res.err)
				}
				if missing := refusalSays(res.err.Error(), row.model, row.refuse); len(missing) > 0 {
					wrong = append(wrong, "does not name "+strings.Join(missing, ", "))
					t.Errorf("the refusal %q does not name %s", res.err, strings.Join(missing, ", "))
				}
				if len(wrong) > 0 {
					summary[i] = "FAIL " + summary[i] + " (" + strings.Join(wrong, "; ") + ")"
				}
			default:
				summary[i] = "equal"
			}
			if len(res.diffs) > 0 {
				summary[i] = "FAIL silent difference: " + strings.Join(res.diffs, "; ")
				if res.err != nil {
					summary[i] += fmt.Sprintf("; then refused at %s: %v", res.stage, res.err)
				}
			}
			for _, d := range res.diffs {
				t.Errorf("silent difference: %s", d)
			}
		})
	}
	var b strings.Builder
	for i, row := range edgeRows {
		fmt.Fprintf(&b, "\n  %-22s %s", row.name, summary[i])
	}
	t.Logf("edge models:%s", b.String())
}

// The matcher of refusals accepts a message that names the op, the layer and
// the reason, and is not satisfied by the model's folder name or by a layer
// name that happens to contain the reason's word.
func TestEdgeRefusalMatcher(t *testing.T) {
	refusal := func(name string) *edgeRefusal {
		if name == "live_augmentation" {
			return randomOpsNamed
		}
		for _, r := range edgeRows {
			if r.name == name {
				return r.refuse
			}
		}
		t.Fatalf("no row %s", name)
		return nil
	}
	cases := []struct {
		model, msg string
		missing    int
	}{
		{"gru_loop", "tfgraph: ../savedmodels/edge/gru_loop: no plain rule for op While (node gru_loop_1/gru_1/while, layer gru): a loop; build the layer with unroll=True", 0},
		{"gru_loop", "tfgraph: ../savedmodels/edge/gru_loop: control flow is not supported: While", 2},
		{"live_augmentation", "tfgraph: ../savedmodels/edge/live_augmentation: op StatelessRandomUniformV2 (layer augment/random_flip) draws random numbers at inference", 0},
		{"live_augmentation", "tfgraph: ../savedmodels/edge/live_augmentation: no plain rule for op StatelessRandomUniformV2 (layer augment/random_flip)", 1},
		{"live_augmentation", "tfgraph: ../savedmodels/edge/live_augmentation: no plain rule for op EnsureShape", 3},
	}
	for _, c := range cases {
		if got := refusalSays(c.msg, c.model, refusal(c.model)); len(got) != c.missing {
			t.Errorf("%q: missing %v, want %d missing", c.msg, got, c.missing)
		}
	}
}

// Weights of other float dtypes can be replaced (converted as TensorFlow's
// Cast rounds): a float64 model with its dense kernel set to zero outputs
// its bias. A weight read inside a kept loop (a GRU's) cannot, and says so.
func TestEdgeWeights(t *testing.T) {
	dir := edgeDir("float64")
	fl := edgeFlat(t, "float64")
	var kernel, bias tfgraph.Weight
	for _, w := range fl.Weights {
		if strings.HasPrefix(w.Name, "logits/kernel") {
			kernel = w
		}
		if strings.HasPrefix(w.Name, "logits/bias") {
			bias = w
		}
	}
	if kernel.Name == "" || kernel.DType != "float64" {
		t.Fatalf("no float64 logits kernel among %v", fl.Weights)
	}
	shape := make([]int, len(kernel.Shape))
	for i, d := range kernel.Shape {
		shape[i] = int(d)
	}
	view := viewWith(t, fl, map[string]*tensor.Tensor{kernel.Name: tensor.New(shape...)})
	x := readEdgeNpy(t, dir, "inputs", false)
	logits, _ := view.Logits()
	got, err := fetch(view, x, logits)
	if err != nil {
		t.Fatal(err)
	}
	b, err := fl.WeightValue(bias.Name)
	if err != nil {
		t.Fatal(err)
	}
	k := len(b.Data)
	for i, v := range got[0].Data {
		if d := math.Abs(float64(v - b.Data[i%k])); d > 1e-6 {
			t.Fatalf("logit %d = %g with a zero kernel, want the bias %g", i, v, b.Data[i%k])
		}
	}

	gl := edgeFlat(t, "gru_loop")
	loops := 0
	for _, w := range gl.Weights {
		if !w.InLoop {
			continue
		}
		loops++
		v, err := gl.WeightValue(w.Name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := gl.PrepareWeights(map[string]*tensor.Tensor{w.Name: v}); err == nil || !strings.Contains(err.Error(), "inside a loop") || !strings.Contains(err.Error(), "unroll=True") {
			t.Errorf("replacing %s, read inside the GRU's loop: %v", w.Name, err)
		}
	}
	if loops == 0 {
		t.Errorf("no weight of the GRU is marked as read inside its loop: %+v", gl.Weights)
	}
}

// A backward op that TensorFlow has no kernel for (here LRN in bfloat16,
// which a rule set of this test puts into MaxPool's rule) fails at the run,
// and the error names the forward op, node, layer and dtype whose rule added
// it, not only the backward graph's own node.
func TestBackwardKernelErrorNamesForwardOp(t *testing.T) {
	fl := vggFlat(t, false)
	broken := &tfgraph.RuleSet{Name: "test-bf16-lrn", Rules: map[string]tfgraph.Rule{
		"MaxPool": func(b *tfgraph.Builder, n *tfgraph.Node) []tfgraph.Sym {
			dy := b.Op("LRN", nil, b.Op("Cast", map[string]any{"DstT": tf.Bfloat16}, n.Dy[0]))
			m := *n
			m.Dy = []tfgraph.Sym{b.Op("Cast", map[string]any{"DstT": tf.Float}, dy)}
			return b.Plain(&m)
		},
	}}
	x := tensor.New(1, 28, 28, 1)
	_, err := fl.Gradient(x, []int{0}, "", broken)
	if err == nil {
		t.Fatal("no error from a backward op without a kernel")
	}
	for _, want := range []string{"LRN", "in the backward pass of op MaxPool", "layer pool", "dtype float32"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error lacks %q: %v", want, err)
		}
	}
}

// cappedLowPrecision says whether a float16 or bfloat16 row runs under an
// ONEDNN_MAX_CPU_ISA cap with oneDNN on. TensorFlow picks its oneDNN
// float16/bfloat16 kernels from the CPU's real features (AVX512_FP16, AMX,
// AVX-NE-CONVERT), which the cap does not change, and oneDNN, capped, then
// cannot build them: the process aborts in a float16 Conv2D ("could not
// create a primitive descriptor"), in tf.nn.conv2d from Python too. A CPU
// that really lacks those features gets TensorFlow's Eigen kernels, so such
// a row runs in a child process without oneDNN (TF_ENABLE_ONEDNN_OPTS=0,
// read when the library loads): the same checks, on the kernels a real
// AVX2 machine uses for these dtypes.
func cappedLowPrecision(row edgeRow) bool {
	return capped() && (row.tol.name == edgeF16.name || row.tol.name == edgeBF16.name) && !strings.Contains(row.name, "/")
}

// capped says whether oneDNN runs under an ONEDNN_MAX_CPU_ISA cap.
func capped() bool {
	return os.Getenv("ONEDNN_MAX_CPU_ISA") != "" && os.Getenv("TF_ENABLE_ONEDNN_OPTS") != "0"
}

// runEdgeChild runs one row of TestEdgeModels in a child process of this
// test binary without oneDNN and fails the row if the child fails.
func runEdgeChild(t *testing.T, row edgeRow) string {
	t.Helper()
	if !childWithoutOneDNN(t, "TestEdgeModels", row.name) {
		return "FAIL in a child without oneDNN"
	}
	return "equal (in a child without oneDNN: the ISA is capped)"
}

// childWithoutOneDNN runs the subtest test/sub in a child process of this
// test binary without oneDNN (TF_ENABLE_ONEDNN_OPTS=0), logs the child's
// lines from edge_test.go, and fails the test unless the subtest passes.
// SALIENCY_CHILD=1 tells the child's test that it runs one subtest only.
func childWithoutOneDNN(t *testing.T, test, sub string) bool {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$/^"+sub+"$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "TF_ENABLE_ONEDNN_OPTS=0", "SALIENCY_CHILD=1")
	out, err := cmd.CombinedOutput()
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if strings.Contains(line, "edge_test.go") {
			t.Log("child: " + strings.TrimSpace(line))
		}
	}
	if err != nil || !strings.Contains(string(out), "--- PASS: "+test+"/"+sub) {
		t.Errorf("without oneDNN (ONEDNN_MAX_CPU_ISA=%s): %v\n%s", os.Getenv("ONEDNN_MAX_CPU_ISA"), err, out)
		return false
	}
	return true
}

// A token count that fits two grids (17 tokens of a 64×64 input: 4×4 after
// a class token, or 3×3 after 8) is read from the graph: the patch
// embedding reshapes a 4×4 grid. The default CAM layer is then the input of
// the last attention layer, on that grid.
func TestPatchGridFromGraph(t *testing.T) {
	if _, err := tfgraph.InferGrid(17, 64, 64); err == nil || !strings.Contains(err.Error(), "more than one patch grid") {
		t.Fatalf("InferGrid(17, 64, 64): %v; want two grids", err)
	}
	fl := edgeFlat(t, "vit_grid")
	if g, err := fl.PatchGrid(17, 64, 64); err != nil || g.String() != "4x4+1" {
		t.Fatalf("PatchGrid(17, 64, 64) = %v, %v; want 4x4+1", g, err)
	}
	l, err := fl.CAMLayer()
	if err != nil || l.Name != "block1_ln1" {
		t.Fatalf("CAMLayer() = %s, %v; want block1_ln1", l.Name, err)
	}
	if g, err := fl.TokenGrid(l, ""); err != nil || g.String() != "4x4+1" {
		t.Fatalf("TokenGrid(%s) = %v, %v; want 4x4+1", l.Name, g, err)
	}
	// A grid the graph does not show is still inferred from the count.
	if g, err := fl.PatchGrid(50, 28, 28); err != nil || g.String() != "7x7+1" {
		t.Fatalf("PatchGrid(50, 28, 28) = %v, %v; want 7x7+1", g, err)
	}
}

// A model's logits without an activation in the graph are those of exclusive
// classes (head ""), except one column, a binary classifier's logit, whose
// probability is its sigmoid: Head says sigmoid, Logits that no activation
// was found. SetLabelLogits (a card's output.kind sigmoid) says so for
// several columns, and a softplus copy keeps it. A graph's own sigmoid is
// found as before.
func TestLabelLogits(t *testing.T) {
	head := func(fl *tfgraph.Flat) string {
		_, activated := fl.Logits()
		return fmt.Sprintf("%s/%v", fl.Head(), activated)
	}
	if got := head(edgeFlat(t, "binary_logit")); got != "sigmoid/false" {
		t.Errorf("binary_logit: head/activated %s, want sigmoid/false", got)
	}
	if got := head(edgeFlat(t, "binary_sigmoid")); got != "sigmoid/true" {
		t.Errorf("binary_sigmoid: head/activated %s, want sigmoid/true", got)
	}
	for _, name := range []string{"binary_logit", "binary_sigmoid"} {
		fl := edgeFlat(t, name)
		z, ok := fl.BinaryLogit()
		logits, _ := fl.Logits()
		if s := fl.Shape(logits); !ok || fmt.Sprint(s) != "[-1 2]" || fmt.Sprint(fl.Shape(z)) != "[-1 1]" {
			t.Errorf("%s: binary logit %q (%v), logits %v of shape %v; want the model's one logit behind two classes", name, z, ok, logits, s)
		}
	}
	if got := head(edgeFlat(t, "sigmoid_head")); got != "sigmoid/true" {
		t.Errorf("sigmoid_head: head/activated %s, want sigmoid/true", got)
	}
	fl, _ := loadFlat(t, "fmnist_vgg")
	if got := head(fl); got != "/false" {
		t.Fatalf("fmnist_vgg: head/activated %s, want /false (logits of 10 classes)", got)
	}
	fl.SetLabelLogits()
	if got := head(fl); got != "sigmoid/false" {
		t.Errorf("fmnist_vgg after SetLabelLogits: head/activated %s, want sigmoid/false", got)
	}
	sp, err := fl.Softplus(2)
	if err != nil {
		t.Fatal(err)
	}
	if got := head(sp); got != "sigmoid/false" {
		t.Errorf("its softplus copy: head/activated %s, want sigmoid/false", got)
	}
}

// Models whose output for one image depends on the others of its batch
// (case.yaml: image 0's output changes with its neighbour) are found with
// the op and layer: a Keras BatchNormalization called with training=True
// (moments over axes 0, 1, 2), a FusedBatchNormV3 in training mode (its
// is_training left at the default, true), testdata's control_flow, whose
// tf.cond tests the sum of the whole batch, and a softmax over axis 0 (its
// batch axis moved last by a Transpose of a permutation computed from
// constants). The zoo's models, the ViT's attention softmaxes included,
// combine nothing.
func TestBatchOps(t *testing.T) {
	for _, c := range []struct {
		fl   *tfgraph.Flat
		name string
		want string
	}{
		{edgeFlat(t, "bn_training"), "bn_training", "Mean over axis 0 (the batch) of [-1 16 16 8] (layer bn)"},
		{edgeFlat(t, "fused_bn_training"), "fused_bn_training", "FusedBatchNormV3 with is_training: the batch's mean and variance (node StatefulPartitionedCall/StatefulPartitionedCall/FusedBatchNormV3)"},
		{flatAt(t, filepath.Join("..", "savedmodels", "testdata", "control_flow"), nil), "control_flow", "Sum over axis 0 (the batch) of [-1 4 4 2]"},
		{edgeFlat(t, "softmax_over_batch"), "softmax_over_batch", "Softmax over axis 1 of [10 -1], the batch's, which a Transpose moved there (a softmax over axis 0) (layer softmax)"},
	} {
		if got := tfgraph.DescribeBatchOps(c.fl.BatchOps()); !strings.HasPrefix(got, c.want) {
			t.Errorf("%s: BatchOps %q, want %q", c.name, got, c.want)
		}
	}
	for _, name := range []string{"fmnist_vgg", "fmnist_resnet", "fmnist_gap", "fmnist_vit"} {
		fl, _ := loadFlat(t, name)
		if b := fl.BatchOps(); len(b) > 0 {
			t.Errorf("%s: BatchOps %s, want none", name, tfgraph.DescribeBatchOps(b))
		}
	}
}

// A softmax followed by reshapes that keep the classes in order is the head:
// Flat rewrites the reshape nearest the output as the softmax of the
// reshaped logits, and the logits are [N, K]. Before, the output (the
// probabilities) was taken for the logits. The flat graph's output still
// equals the signature's (TestEdgeModels' forward stage).
func TestReshapedHead(t *testing.T) {
	for _, name := range []string{"softmax_1x1_flatten", "softmax_channels"} {
		fl := edgeFlat(t, name)
		logits, activated := fl.Logits()
		if !activated || fl.Head() != "softmax" || !strings.HasSuffix(logits, "/saliency_logits") {
			t.Errorf("%s: logits %s, head %q (activated %v), want the softmax's reshaped input", name, logits, fl.Head(), activated)
		}
		if s := fl.Shape(logits); len(s) != 2 || s[1] != 10 {
			t.Errorf("%s: logits of shape %v, want [-1 10]", name, s)
		}
	}
}

// Keras ops before the first layer (caffe_input's preprocess_input: strided
// slices whose constants sit under their names) do not spoil the layers'
// names: the weight-free layers are relu1, pool, relu2, gap, as Keras names
// them, where they were relu1_1, pool_1, relu2_1, gap_1.
func TestLayerNamesAfterOps(t *testing.T) {
	fl := edgeFlat(t, "caffe_input")
	var names []string
	for _, l := range fl.Layers() {
		names = append(names, l.Name)
	}
	if got, want := strings.Join(names, " "), "conv1 relu1 pool conv2 relu2 gap logits"; got != want {
		t.Errorf("layers %q, want %q", got, want)
	}
	if l, err := fl.CAMLayer(); err != nil || l.Name != "relu2" {
		t.Errorf("CAM layer %v (%v), want relu2", l.Name, err)
	}
}

// A softmax written out of its parts (exp of z − max z over its sum, as
// keras.ops or jax2tf write it) is a Softmax op of z in the flat graph: the
// head walk finds the logits z behind it, the flat graph's output equals
// the signature's, and the ensemble of softmaxes and the scores normalised
// without a softmax are told apart (Probabilities).
func TestExpSumSoftmax(t *testing.T) {
	fl := edgeFlat(t, "exp_sum_softmax")
	logits, activated := fl.Logits()
	if fl.Head() != "softmax" || !activated || !strings.Contains(logits, "logits") {
		t.Errorf("exp_sum_softmax: head %q, logits %s (behind a head: %v); want the softmax's, the Dense logits", fl.Head(), logits, activated)
	}
	for _, c := range []struct{ model, head, behind string }{
		{"softmax_ensemble", "probabilities", "Softmax (layer probs_a)"},
		{"normalized_scores", "", ""},
		{"softmax_subset", "probabilities", "Softmax (layer probs)"},
		{"percent_softmax_head", "softmax", ""},
	} {
		fl := edgeFlat(t, c.model)
		if fl.Head() != c.head || fl.Probabilities() != c.behind {
			t.Errorf("%s: head %q, probabilities from %q; want %q, %q", c.model, fl.Head(), fl.Probabilities(), c.head, c.behind)
		}
	}
}

// A layer that runs more than once (test-time augmentation, a backbone at two
// scales) is one layer per call, and a layer with two outputs one layer per
// output: each call's output is its own activation and
// the gradient of the logit with respect to it is tf.GradientTape's for that
// call. The shared name alone, and a default CAM layer that is shared, are
// refused naming the calls. Before, the calls were one layer whose output was
// one call's, and Grad-CAM explained half of the model.
func TestSharedLayerCalls(t *testing.T) {
	for _, c := range []struct {
		model, shared string
		goldens       []string
		reads         [][]string // what each call reads (InputLayers), in call order
		cam           bool       // the default CAM layer is shared, and refused
	}{
		{"shared_layer_tta", "conv2", []string{"conv2_image", "conv2_mirror"}, [][]string{{"pool#1"}, {"pool#2"}}, true},
		{"shared_backbone_scales", "backbone/conv2", []string{"conv2_full", "conv2_half"}, [][]string{{"backbone#1/conv1"}, {"backbone#2/conv1"}}, true},
		// A layer with two outputs: each output is a layer.
		{"two_output_layer", "attend", []string{"features", "attention"}, [][]string{{"pool"}, {"pool"}}, false},
		// A nested model with two outputs; its own layers keep their names.
		{"backbone_two_outputs", "backbone", []string{"c3", "c4"}, [][]string{{"the input"}, {"the input"}}, false},
		// Called twice, with two outputs each: four layers, backbone#1#out0 …
		{"backbone_two_outputs_twice", "backbone", []string{"full_c3", "full_c4", "half_c3", "half_c4"},
			[][]string{{"half"}, {"half"}, {"the input"}, {"the input"}}, false},
		{"two_output_layer_twice", "attend", []string{"image_features", "image_attention", "mirror_features", "mirror_attention"},
			[][]string{{"pool#1"}, {"pool#1"}, {"pool#2"}, {"pool#2"}}, false},
	} {
		t.Run(c.model, func(t *testing.T) {
			fl := edgeFlat(t, c.model)
			dir := edgeDir(c.model)
			var calls []tfgraph.Layer
			for _, l := range fl.Layers() {
				if l.Shared == c.shared {
					calls = append(calls, l)
				}
			}
			first := c.shared + "#1" // the first call; of a layer called once with two outputs, its first output
			switch {
			case len(c.goldens) == 4:
				first = c.shared + "#1#out0"
			case c.model == "two_output_layer" || c.model == "backbone_two_outputs":
				first = c.shared + "#out0"
			}
			if len(calls) != len(c.goldens) || calls[0].Name != first && !strings.Contains(calls[0].Name, "#1/") {
				t.Fatalf("calls of %s: %v, want %d layers from %s", c.shared, calls, len(c.goldens), first)
			}
			if _, err := fl.Layer(c.shared); err == nil || !strings.Contains(err.Error(), calls[0].Name) || !strings.Contains(err.Error(), calls[len(calls)-1].Name) {
				t.Errorf("Layer(%q): %v, want a refusal naming %s … %s", c.shared, err, calls[0].Name, calls[len(calls)-1].Name)
			}
			if len(calls) == 4 {
				// A call with two outputs: its name is refused naming them.
				_, err := fl.Layer(c.shared + "#2")
				if err == nil || !strings.Contains(err.Error(), c.shared+"#2#out0, "+c.shared+"#2#out1") || strings.Contains(err.Error(), "#1#") {
					t.Errorf("Layer(%q): %v, want a refusal naming %s#2#out0 and %s#2#out1 only", c.shared+"#2", err, c.shared, c.shared)
				}
			}
			var na *tfgraph.NotApplicableError
			if _, err := fl.CAMLayer(); c.cam && (!errors.As(err, &na) || !strings.Contains(err.Error(), calls[1].Name)) {
				t.Errorf("CAMLayer: %v, want a NotApplicableError naming the calls", err)
			}
			x := readEdgeNpy(t, dir, "inputs", false)
			top, err := savedmodels.ReadNpyInts(filepath.Join(dir, "golden", "top.npy"))
			if err != nil {
				t.Fatal(err)
			}
			classes := make([]int, len(top))
			for i, v := range top {
				classes[i] = int(v)
			}
			matched := map[string]bool{}
			for k, l := range calls {
				if got := fl.InputLayers(l); strings.Join(got, ",") != strings.Join(c.reads[k], ",") {
					t.Errorf("%s reads %v, want %v", l.Name, got, c.reads[k])
				}
				res, err := fl.Run(context.Background(), x, tfgraph.Query{Fetch: []string{l.Output}})
				if err != nil {
					t.Fatal(err)
				}
				act := res.Fetched[0]
				// The golden call whose activation this is.
				which := ""
				var tried []string
				for _, g := range c.goldens {
					ok, msg := withinTolerance(act, readEdgeNpy(t, dir, "act_"+g, false), edgeF32)
					if ok {
						which = g
					}
					tried = append(tried, g+": "+msg)
				}
				t.Logf("%s: %s", l.Name, strings.Join(tried, "; "))
				if which == "" || matched[which] {
					t.Fatalf("%s: its activation is no call's golden, or a call matched twice (%q)", l.Name, which)
				}
				matched[which] = true
				got, err := fl.Gradient(x, classes, l.Output, tfgraph.Plain)
				if err != nil {
					t.Fatal(err)
				}
				if ok, msg := withinTolerance(got, readEdgeNpy(t, dir, "grad_"+which, false), edgeF32); !ok {
					t.Errorf("%s (%s): gradient %s", l.Name, which, msg)
				} else {
					t.Logf("%s is the call %s: gradient %s", l.Name, which, msg)
				}
			}
		})
	}
}

// The default CAM layer is a cut of the network: its activation alone
// determines the scores. TensorFlow is the oracle: run the images x with
// the CAM layer's activation fed from other images y, and the scores are
// y's. A layer that a branch goes around (backbone_two_outputs' conv2, the
// last block's residual branch of ConvNeXt) fails this: a CAM map there
// explains only the part of the scores that flows through it. Models whose
// branches meet only after their last convolution-like layers have no such
// layer, and CAM methods are refused on them by default.
func TestCAMLayerIsACut(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join("..", "savedmodels", "edge", "*", "saved_model.pb"))
	for _, z := range []string{"fmnist_vgg", "fmnist_resnet", "fmnist_gap", "fmnist_vit"} {
		dirs = append(dirs, filepath.Join(zooDir(z), "saved_model.pb"))
	}
	refused := map[string]string{ // model: the layer a branch goes around
		"two_output_layer_twice": "weigh1", "crop_and_resize": "conv_b", "patches_and_shuffle": "d2s",
	}
	checked := 0
	for _, p := range dirs {
		dir := filepath.Dir(p)
		name := filepath.Base(dir)
		m, err := tfgraph.Load(dir, &tfgraph.Options{IntraOpThreads: 2, InterOpThreads: 1})
		if err != nil {
			t.Logf("%s: not loaded without options (its own test loads it): %v", name, firstLineOf(err))
			continue
		}
		fl, err := m.Flat()
		if err != nil {
			m.Close()
			t.Logf("%s: no flat graph: %v", name, firstLineOf(err))
			continue
		}
		t.Run(name, func(t *testing.T) {
			defer m.Close()
			l, err := fl.CAMLayer()
			if around, ok := refused[name]; ok {
				var na *tfgraph.NotApplicableError
				if !errors.As(err, &na) || !strings.Contains(err.Error(), "no convolution-like layer with a spatial output is on every path") || !strings.Contains(err.Error(), around) {
					t.Errorf("CAMLayer: %v, want a NotApplicableError: no layer on every path, the last one %s", err, around)
				}
				return
			}
			if err != nil {
				t.Logf("no CAM layer: %v", err)
				return
			}
			if name == "fmnist_vit" {
				// pytorch-grad-cam's convention for a vision transformer,
				// the first LayerNorm of the last block (blocks[-1].norm1),
				// which the residual stream goes around: after the last
				// block only the class token reaches the scores.
				if l.Name != "block4_ln1" {
					t.Errorf("CAM layer %s, want block4_ln1", l.Name)
				}
				return
			}
			if capped() {
				if dt, _ := fl.PathDTypes(); dt["float16"] > 0 || dt["bfloat16"] > 0 {
					// A capped ISA aborts in oneDNN's float16/bfloat16
					// convolutions (cappedLowPrecision): without oneDNN, as a
					// real AVX2 machine runs them.
					childWithoutOneDNN(t, "TestCAMLayerIsACut", name)
					checked++
					return
				}
			}
			x, err := savedmodels.ReadNpy(filepath.Join(dir, "golden", "inputs.npy"))
			if err != nil { // models without goldens of their own: three random images in [0,1)
				shape := []int{3}
				for _, d := range m.Signature.Inputs[0].Shape[1:] {
					shape = append(shape, int(d))
				}
				x = tensor.New(shape...)
				r := rand.New(rand.NewPCG(7, 7))
				for i := range x.Data {
					x.Data[i] = r.Float32()
				}
			}
			ok, msg, err := camLayerIsACut(fl, l, x)
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				t.Errorf("CAM layer %s: x's run with y's activation there gives scores %s from y's: a path goes around it", l.Name, msg)
			}
			checked++
			if name != "backbone_two_outputs" {
				return
			}
			// The control: the default before, backbone/conv2, which the
			// pooled first stage goes around, fails the same check.
			c, err := fl.Layer("backbone/conv2")
			if err != nil {
				t.Fatal(err)
			}
			if ok, msg, err := camLayerIsACut(fl, c, x); err != nil || ok {
				t.Errorf("backbone/conv2 determines the scores (%s, %v): the control does not tell a cut from a branch", msg, err)
			} else {
				t.Logf("control backbone/conv2: %s", msg)
			}
		})
	}
	if checked < 40 && os.Getenv("SALIENCY_CHILD") == "" {
		t.Errorf("checked %d models, want at least 40", checked)
	}
}

// camLayerIsACut runs the images x with layer l's activation fed from the
// same images in another order, y, and says whether the scores are y's
// (TestCAMLayerIsACut).
func camLayerIsACut(fl *tfgraph.Flat, l tfgraph.Layer, x *tensor.Tensor) (bool, string, error) {
	n := x.Shape[0]
	if n < 2 {
		return false, "", fmt.Errorf("%d images; two or more are needed", n)
	}
	size := x.Len() / n
	y := tensor.New(x.Shape...)
	for i := 0; i < n; i++ {
		j := (i + 1) % n
		copy(y.Data[i*size:(i+1)*size], x.Data[j*size:(j+1)*size])
	}
	scores, _ := fl.Logits()
	if scores == "" {
		scores = fl.Output()
	}
	ry, err := fl.Run(context.Background(), y, tfgraph.Query{Fetch: []string{l.Output, scores}})
	if err != nil {
		return false, "", err
	}
	fed, err := fl.Run(context.Background(), x, tfgraph.Query{Fetch: []string{scores}, Feed: map[string]*tensor.Tensor{l.Output: ry.Fetched[0]}})
	if err != nil {
		return false, "", err
	}
	ok, msg := withinTolerance(fed.Fetched[0], ry.Fetched[1], edgeF32)
	return ok, msg, nil
}

func firstLineOf(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
