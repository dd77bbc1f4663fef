package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/saliencykit/saliency/experiments"
	"github.com/saliencykit/saliency/images"
	"github.com/saliencykit/saliency/savedmodels"
	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// edge is a model of savedmodels/build_edge.py (make edge-models).
func edge(name string) string { return zoo + "/edge/" + name }

// edgeModelCases are the models users bring that the zoo never had, as the
// commands meet them: each wrong answer the issue found is now said (a
// warning naming the layer and the flag or card key), followed (the output
// a card names, a sigmoid head's probabilities) or refused by name.
func edgeModelCases() []badCase {
	run := func(args ...string) func(t *testing.T, d string) []string {
		return func(t *testing.T, d string) []string {
			out := make([]string, len(args))
			for i, a := range args {
				out[i] = strings.ReplaceAll(a, "$D", d)
			}
			return out
		}
	}
	explainEdge := func(name string, extra ...string) func(t *testing.T, d string) []string {
		return run(append(append([]string{"explain", "-model", edge(name), "-out", "$D/out"}, extra...), sample)...)
	}
	return []badCase{
		// A Rescaling layer at the input: pixels 0..255, said with the layer
		// and the flag that sets another mapping.
		{name: "edge/rescaling-input", args: explainEdge("rescaling_input", "-method", "gradient"), code: 0,
			want: []string{"scales its input itself (layer rescaling: y = 0.003922·x)", "feeding pixel values 0..255 (x = p)", "-input-range"}},
		{name: "edge/resize-rescaling-input", args: explainEdge("resize_rescaling_input", "-method", "gradient"), code: 0,
			want: []string{"scales its input itself (layers resizing, rescaling: y = 0.003922·x)", "feeding pixel values 0..255 (x = p)"}},
		{name: "edge/normalization-input", args: explainEdge("normalization_input", "-method", "gradient"), code: 0,
			want: []string{"layers rescaling, normalization", "feeding pixel values 0..255"}},
		// Keras' caffe-mode preprocess_input inside the model (channels
		// reversed one by one, means subtracted): pixels 0..255, said.
		{name: "edge/caffe-input", args: explainEdge("caffe_input", "-method", "gradient"), code: 0,
			want: []string{"subtracts a mean from its input without scaling it (ops StridedSlice, Pack, BiasAdd: y = [1·x -103.9, 1·x -116.8, 1·x -123.7] per channel)",
				"feeding pixel values 0..255 (x = p)"}},
		{name: "edge/input-range-contradicts", args: run("predict", "-input-range", "0,1", edge("rescaling_input"), sample), code: 0,
			want: []string{"-input-range gives x = p/255", "the model looks made for x = p (pixels 0..255"}},
		{name: "edge/input-range-bad", args: run("predict", "-input-range", "1,1", edge("rescaling_input"), sample), code: 2,
			want: []string{"-input-range", "two different finite numbers"}},
		// A sigmoid head: each label's own probability, not a softmax.
		{name: "edge/sigmoid-head", args: run("predict", edge("sigmoid_head"), sample), code: 0,
			stdout: "(multi-label: each probability is its label's own sigmoid)"},
		{name: "edge/sigmoid-inspect", args: run("inspect", edge("sigmoid_head")), code: 0,
			stdout: "input of the final Sigmoid: a multi-label or binary head, output.kind sigmoid"},
		// A binary classifier's one logit z is two classes, 0 (−z, probability
		// 1 − σ(z)) and 1 (z, σ(z)) (TestBinaryLogit); the note says so, a
		// card must say sigmoid and list both; random-logit compares the
		// two; a softmax over one column (1 for every image) is refused by
		// name.
		{name: "edge/binary-logit-explain", args: explainEdge("binary_logit", "-method", "gradient"), code: 0,
			want: []string{"classes 2, named \"class 0\" (the negative class) and \"class 1\" (the positive one)", "the logit z of a binary classifier (one column: class 1's score is z, its probability σ(z); class 0's is −z, 1 − σ(z))"}},
		{name: "edge/binary-logit-probability", args: explainEdge("binary_logit", "-method", "gradient", "-target", "probability:0"), code: 1,
			want: []string{"the logits of independent labels (a binary classifier's one logit", "no sigmoid", "explain the class, its logit"}},
		{name: "edge/binary-logit-inspect", args: run("inspect", edge("binary_logit")), code: 0,
			stdout: "the signature's output z, as the scores −z and z of class 0 and class 1: the logit of a binary classifier"},
		{name: "card/logits-one-column", args: func(t *testing.T, d string) []string {
			m := filepath.Join(d, "m")
			copyModel(t, edge("binary_logit"), m)
			writeBinaryCard(t, m, "logits")
			return []string{"predict", m, sample}
		}, code: 1, want: []string{"card.yaml: output.kind logits, but the model's output has one column", "output.kind sigmoid"}},
		{name: "card/sigmoid-one-column", args: func(t *testing.T, d string) []string {
			m := filepath.Join(d, "m")
			copyModel(t, edge("binary_logit"), m)
			writeBinaryCard(t, m, "sigmoid")
			return []string{"predict", m, sample}
		}, code: 0, stdout: "(binary: the probability of pullover is the sigmoid of the model's logit, that of other one minus it)"},
		{name: "edge/binary-logit-random-logit", args: func(t *testing.T, d string) []string {
			return []string{"run", "-out", filepath.Join(d, "run"), edgeExperiment(t, d, "binary_logit", "metrics: [spearman-abs]\ntests:\n  - random-logit:\n")}
		}, code: 0, stdout: "Random logit, binary_logit, gradient: Spearman (absolute) between the maps of the explained class and of a random other class is 1.00"},
		// A model whose output for one image depends on the others of its
		// batch (a batch norm in training mode) is refused by name.
		{name: "edge/bn-training", args: explainEdge("bn_training", "-method", "gradient"), code: 1,
			want: []string{"combines the images of a batch: Mean over axis 0 (the batch) of [-1 16 16 8] (layer bn)", "training=False"}},
		{name: "edge/softmax-over-batch", args: run("predict", edge("softmax_over_batch"), sample), code: 1,
			want: []string{"combines the images of a batch: Softmax over axis 1 of [10 -1], the batch's, which a Transpose moved there (a softmax over axis 0) (layer softmax)"}},
		{name: "edge/fused-bn-training", args: run("predict", edge("fused_bn_training"), sample), code: 1,
			want: []string{"combines the images of a batch: FusedBatchNormV3 with is_training"}},
		{name: "edge/bn-training-inspect", args: run("inspect", edge("bn_training")), code: 0,
			stdout: "batch     refused: 2 ops combine the images of a batch: Mean over axis 0 (the batch) of [-1 16 16 8] (layer bn)"},
		{name: "edge/softmax-one-column", args: explainEdge("softmax_one_column", "-method", "gradient"), code: 1,
			want: []string{"softmax is over one column: its output is 1 for every image", "sigmoid"}},
		{name: "edge/softmax-one-column-inspect", args: run("inspect", edge("softmax_one_column")), code: 0,
			stdout: "refused   "},
		{name: "card/sigmoid-on-softmax", args: func(t *testing.T, d string) []string {
			m := filepath.Join(d, "m")
			copyModel(t, zoo+"/fmnist_gap_softmax", m)
			editCard("kind: probabilities", "kind: sigmoid")(t, m)
			return []string{"predict", m, sample}
		}, code: 1, want: []string{"card.yaml: output.kind sigmoid, but the model ends in a softmax"}},
		// A card of kind sigmoid on a model that outputs logits: independent
		// sigmoids over them, not a softmax.
		{name: "card/sigmoid-on-logits", args: func(t *testing.T, d string) []string {
			m := filepath.Join(d, "m")
			copyModel(t, vgg, m)
			editCard("kind: logits", "kind: sigmoid")(t, m)
			return []string{"predict", m, sample}
		}, code: 0, stdout: "(multi-label: each probability is its label's own sigmoid)"},
		// A log_softmax head: the logits behind it are explained; predict
		// shows each class's probability and log-probability; a card must
		// say log-probabilities.
		{name: "edge/log-softmax-explain", args: explainEdge("log_softmax_head", "-method", "gradient"), code: 0,
			want: []string{"log-probabilities (a log_softmax; the logits before it are explained)"}},
		{name: "edge/log-softmax-predict", args: run("predict", edge("log_softmax_head"), sample), code: 0,
			stdout: "log p"},
		{name: "edge/log-softmax-inspect", args: run("inspect", edge("log_softmax_head")), code: 0,
			stdout: "input of the final LogSoftmax"},
		{name: "card/log-probabilities-on-logits", args: modelWith(editCard("kind: logits", "kind: log-probabilities")),
			code: 1, want: []string{"card.yaml: output.kind log-probabilities, but the model does not end in a log_softmax: its outputs are logits (say output.kind: logits)"}},
		// Live augmentation: the random ops and their layers, in every
		// command.
		{name: "edge/live-augmentation-explain", args: explainEdge("live_augmentation", "-method", "gradient"), code: 0,
			want: []string{"draws random numbers at inference", "StatelessRandomUniformV2 (layer augment/random_flip)", "one fixed draw"}},
		{name: "edge/live-augmentation-predict", args: run("predict", edge("live_augmentation"), sample), code: 0,
			want: []string{"draws random numbers at inference", "augment/random_rotation"}},
		{name: "edge/live-augmentation-inspect", args: run("inspect", edge("live_augmentation")), code: 0,
			stdout: "random    warning: 4 ops draw random numbers at inference"},
		{name: "edge/live-augmentation-run", args: func(t *testing.T, d string) []string {
			return []string{"run", "-dry-run", "-out", filepath.Join(d, "run"), edgeExperiment(t, d, "live_augmentation")}
		}, code: 0, want: []string{"saliency run: warning: model live_augmentation:", "draws random numbers at inference"}},
		// PReLU gets the LeakyReLU family's rule; the ReLUs of a tf.Module
		// without layers are found from its ops.
		{name: "edge/prelu-inspect", args: run("inspect", edge("prelu")), code: 0, stdout: "its rule at 2 layers (PReLU, Relu)"},
		{name: "edge/tf-module-inspect", args: run("inspect", edge("tf_module_relu")), code: 0,
			stdout: "its rule at 2 layers or nodes outside layers (Relu)"},
		{name: "edge/mixed-float16-inspect", args: run("inspect", edge("mixed_f16")), code: 0, stdout: "float16 11 tensors"},
		// A GRU's While loop: forward-only methods run, gradients are refused
		// naming the loop and what to do.
		{name: "edge/gru-gradient", args: explainEdge("gru_loop", "-method", "gradient"), code: 1,
			want: []string{"no plain rule for op While", "layer gru", "unroll=True"}},
		{name: "edge/gru-occlusion", args: explainEdge("gru_loop", "-method", "occlusion"), code: 0},
		{name: "edge/gru-inspect", args: run("inspect", edge("gru_loop")), code: 0, stdout: "plain     no rule for While (a loop"},
		// A StopGradient or a quantisation at the input: the gradient methods
		// do not apply, named with the op and the layer; occlusion runs.
		{name: "edge/stop-gradient", args: explainEdge("stop_gradient_input", "-method", "gradient,occlusion"), code: 0,
			want: []string{"gradient does not apply", "every path back stops at StopGradient", "layer pre"}, stdout: "1 maps of 1 images by 1 methods"},
		// Grad-CAM's gradient goes back to its layer only, after the cast.
		{name: "edge/quantized-input", args: explainEdge("quantized_input", "-method", "gradient,gradcam"), code: 0,
			want: []string{"gradient does not apply", "stops at Cast from uint8", "layer pre"}, stdout: "1 maps of 1 images by 1 methods"},
		// An unrolled LSTM, tanh gelu, LRN and dilated convolutions explain.
		{name: "edge/lstm-unroll", args: explainEdge("lstm_unroll", "-method", "gradient,guided-backprop"), code: 0},
		{name: "edge/gelu-lrn-dilated", args: explainEdge("dilated_conv", "-method", "gradient"), code: 0},
		{name: "edge/uint8-input", args: run("predict", edge("uint8_input"), sample), code: 0, want: []string{"(the input is uint8)"}},
		// An input without a channel axis ([N,H,W], TensorFlow's Fashion-MNIST
		// tutorial): fed with one, its Rescaling found behind the Squeeze
		// that takes it away, Grad-CAM at its convolution.
		{name: "edge/no-channel-axis", args: explainEdge("no_channel_axis", "-method", "gradient,gradcam"), code: 0,
			want: []string{"assuming input 16×16×1 (the signature's input has no channel axis: it is fed and explained with one)",
				"scales its input itself (layer rescaling: y = 0.003922·x)", "feeding pixel values 0..255 (x = p)"}},
		// A channels-first input is refused by name before any image is read.
		{name: "edge/channels-first", args: explainEdge("channels_first", "-method", "gradient"), code: 1,
			want: []string{"float32[-1,1,16,16]", "has 16 channels", "looks channels-first, NCHW with C=1, H=16, W=16", "channels_last"}},
		{name: "edge/no-channel-axis-inspect", args: run("inspect", edge("no_channel_axis_mlp")), code: 0,
			stdout: "fed as   image: float32[-1,16,16,1] (serving_default_image:0): a grayscale image batch without a channel axis"},
		// An average of softmaxes: the note says its scores are made of
		// probabilities, where it called them logits.
		{name: "edge/softmax-ensemble", args: explainEdge("softmax_ensemble", "-method", "gradient"), code: 0,
			want: []string{"scores computed from a Softmax (layer probs_", "there are no logits behind them"}},
		// Scores that are probabilities the graph shows no softmax for: the
		// outputs for constant images say so, the note too, and predict
		// shows them as they are.
		{name: "edge/normalized-scores-predict", args: run("predict", edge("normalized_scores"), sample), code: 0,
			want: []string{"probabilities (each row of the outputs for constant images is non-negative and sums to 1, though the graph shows no softmax)"}},
		// Some of a softmax's probabilities: shown as they are (predict
		// refused them: not summing to 1).
		{name: "edge/softmax-subset-predict", args: run("predict", edge("softmax_subset"), sample), code: 0,
			stdout: "(the model's outputs, probabilities it computes from a softmax; they need not sum to 1)"},
		{name: "card/softmax-subset-probabilities", args: func(t *testing.T, d string) []string {
			m := filepath.Join(d, "m")
			copyModel(t, edge("softmax_subset"), m)
			c := "name: subset\nclasses: [a, b, c, d, e]\ninput:\n  shape: [-1, 16, 16, 3]\n  dtype: float32\n  range: [0.0, 1.0]\noutput:\n  kind: probabilities\n"
			if err := os.WriteFile(filepath.Join(m, "card.yaml"), []byte(c), 0o644); err != nil {
				t.Fatal(err)
			}
			return []string{"predict", m, sample}
		}, code: 0, stdout: "they need not sum to 1)"},
		// ReLUs written as max(x, 0) and as a thresholded select keep their
		// exact derivative under guided backprop: said by layer.
		{name: "edge/written-relu", args: explainEdge("written_relu", "-method", "guided-backprop"), code: 0,
			want: []string{"warning: guided-backprop: ReLUs written out of other ops (max(x, 0), a thresholded select) keep their exact derivative under the guided rule set", "layers max_relu, thresholded"}},
		// A layer called twice (test-time augmentation): each call is a
		// layer; the shared name and a shared default CAM layer are
		// refused naming the calls; randomization draws its weights once.
		{name: "edge/shared-layer-default-cam", args: explainEdge("shared_layer_tta", "-method", "gradcam"), code: 1,
			want: []string{"the last convolution-like layer: layer \"conv2\" is called 2 times (the same weights on 2 inputs), and each call has its own output: name one for CAM methods with -layer, or layer: in an experiment (conv2#1, conv2#2)"}},
		{name: "edge/shared-layer-name", args: explainEdge("shared_layer_tta", "-method", "gradcam", "-layer", "conv2"), code: 1,
			want: []string{"layer \"conv2\" is called 2 times (the same weights on 2 inputs), and each call has its own output: name one of conv2#1, conv2#2"}},
		{name: "edge/shared-layer-call", args: explainEdge("shared_layer_tta", "-method", "gradcam", "-layer", "conv2#1"), code: 0},
		{name: "edge/shared-layer-inspect", args: run("inspect", edge("shared_layer_tta")), code: 0,
			stdout: "conv2 is called 2 times, each call a layer of its own: conv2#1 on pool#1; conv2#2 on pool#2"},
		{name: "edge/shared-layer-randomization", args: func(t *testing.T, d string) []string {
			return []string{"run", "-out", filepath.Join(d, "run"), edgeExperiment(t, d, "shared_layer_tta", "metrics: [spearman-abs]\ntests:\n  - randomization: {modes: [cascading]}\n")}
		}, code: 0, stdout: "after all 3 layers are randomized"},
		// A layer with two outputs: each is a layer; the name alone is
		// refused naming them.
		{name: "edge/two-output-layer", args: explainEdge("two_output_layer", "-method", "gradcam", "-layer", "attend"), code: 1,
			want: []string{"layer \"attend\" has 2 outputs, and each is a layer of its own: name one of attend#out0, attend#out1"}},
		{name: "edge/two-output-layer-inspect", args: run("inspect", edge("two_output_layer")), code: 0,
			stdout: "attend has 2 outputs, each a layer of its own: attend#out0 [N,8,8,16]; attend#out1 [N,8,8,1]"},
		{name: "edge/backbone-two-outputs", args: explainEdge("backbone_two_outputs", "-method", "gradcam", "-layer", "backbone"), code: 1,
			want: []string{"layer \"backbone\" has 2 outputs, and each is a layer of its own: name one of backbone#out0, backbone#out1"}},
		{name: "edge/backbone-two-outputs-randomization", args: func(t *testing.T, d string) []string {
			return []string{"run", "-out", filepath.Join(d, "run"), edgeExperiment(t, d, "backbone_two_outputs", "metrics: [spearman-abs]\ntests:\n  - randomization: {modes: [cascading]}\n")}
		}, code: 0, stdout: "after all 3 layers are randomized"},
		// Called twice with two outputs each: four layers; the name and
		// a call's name are refused naming them, and randomization counts
		// the backbone's own layers once.
		{name: "edge/backbone-two-outputs-twice", args: explainEdge("backbone_two_outputs_twice", "-method", "gradcam", "-layer", "backbone#1"), code: 1,
			want: []string{"layer \"backbone#1\" has 2 outputs, and each is a layer of its own: name one of backbone#1#out0, backbone#1#out1"}},
		{name: "edge/backbone-two-outputs-twice-all", args: explainEdge("backbone_two_outputs_twice", "-method", "gradcam", "-layer", "backbone"), code: 1,
			want: []string{"layer \"backbone\" is called 2 times (the same weights on 2 inputs) and each call has 2 outputs, each a layer of its own: name one of backbone#1#out0, backbone#1#out1, backbone#2#out0, backbone#2#out1"}},
		{name: "edge/backbone-two-outputs-twice-layer", args: explainEdge("backbone_two_outputs_twice", "-method", "gradcam", "-layer", "backbone#2#out1"), code: 0},
		// No layer is on every path: CAM methods are refused by default, and
		// a layer given by -layer runs with a warning that it is a branch.
		{name: "edge/no-cut-default", args: explainEdge("two_output_layer_twice", "-method", "gradcam"), code: 1,
			want: []string{"no convolution-like layer with a spatial output is on every path from the input to the scores", "weigh1 (the scores are also reached through weigh0, around it)"}},
		{name: "edge/branch-layer", args: explainEdge("two_output_layer_twice", "-method", "gradcam", "-layer", "weigh1"), code: 0,
			want: []string{"warning: layer weigh1 is not on every path from the input to the scores (they are also reached through weigh0, around it)"}},
		{name: "edge/branch-layer-run", args: func(t *testing.T, d string) []string {
			p, err := filepath.Abs(edge("two_output_layer_twice"))
			if err != nil {
				t.Fatal(err)
			}
			f := filepath.Join(d, "branch.yaml")
			y := "name: branch\nseed: 1\nmodels:\n  - path: " + p + "\n    layer: weigh1\ndata: {source: fashion-mnist, count: 2}\nmethods: [gradcam]\n"
			if err := os.WriteFile(f, []byte(y), 0o644); err != nil {
				t.Fatal(err)
			}
			return []string{"run", "-dry-run", "-out", filepath.Join(d, "run"), f}
		}, code: 0, want: []string{"saliency run: warning: model two_output_layer_twice: layer weigh1 is not on every path from the input to the scores (they are also reached through weigh0, around it)"}},
		{name: "edge/backbone-two-outputs-twice-randomization", args: func(t *testing.T, d string) []string {
			return []string{"run", "-out", filepath.Join(d, "run"), edgeExperiment(t, d, "backbone_two_outputs_twice", "metrics: [spearman-abs]\ntests:\n  - randomization: {modes: [cascading]}\n")}
		}, code: 0, stdout: "after all 3 layers are randomized"},
		// A Keras operation outside any layer (x + y in a functional
		// model) is no layer: -layer refuses it with the reason, where it
		// explained the branch before the sum, and inspect lists it.
		{name: "edge/keras-operation-layer", args: run("explain", "-model", zoo+"/testdata/keras_ops", "-out", "$D/out", "-method", "gradcam", "-layer", "add", sample), code: 1,
			want: []string{`"add" is no layer here: the card lists it (Add), but no layer's name scope in the graph holds its ops`, "name the layer before or after it"}},
		{name: "edge/keras-operation-inspect", args: run("inspect", zoo+"/testdata/keras_ops"), code: 0,
			stdout: "not layers: add, add_1, identity, multiply, multiply_1"},
		{name: "edge/two-output-layer-twice-inspect", args: run("inspect", edge("two_output_layer_twice")), code: 0,
			stdout: "attend is called 2 times with 2 outputs each, each output of each call a layer of its own: attend#1#out0 [N,8,8,16] on pool#1; attend#1#out1 [N,8,8,1] on pool#1; attend#2#out0 [N,8,8,16] on pool#2; attend#2#out1 [N,8,8,1] on pool#2"},
		// A serving signature of encoded images: refused, naming the
		// signature that takes pixels, which works.
		{name: "edge/jpeg-bytes-input", args: run("predict", edge("jpeg_bytes_input"), sample), code: 1,
			want: []string{"input image_bytes: string[-1]", "is not an image batch [N,H,W,C] of known size", "signature \"image\" takes float32[-1,16,16,3] (-signature image, or the YAML key signature)"}},
		{name: "edge/jpeg-bytes-input-image", args: run("predict", "-signature", "image", edge("jpeg_bytes_input"), sample), code: 0},
		// A class whose score a ReLU holds at 0: its maps are zero, and
		// explain says so.
		{name: "edge/zero-maps", args: explainEdge("relu_logits", "-method", "gradient,gradcam", "-class", "3"), code: 0,
			want: []string{"warning: gradient: the map is zero everywhere for 1 of 1 images", "class 3): under this method nothing in the image changes the explained score", "warning: gradcam: the map is zero everywhere"}},
		// Scores that are not finite (the log of a black pixel): predict
		// reports the image, explain and run refuse by name, where predict
		// printed NaN% with exit 0 and explain failed writing index.json.
		{name: "edge/nan-scores-predict", args: run("predict", edge("log_input"), sample), code: 1,
			want: []string{sample + ": the model's score of class 0 is NaN, not a finite number", "x = p/255", "1 of 1 images could not be read or scored"}},
		{name: "edge/nan-scores-explain", args: explainEdge("log_input", "-method", "gradient"), code: 1,
			want: []string{": gradient: score NaN for class", "not a finite number", "No map was written"}},
		{name: "edge/nan-scores-run", args: func(t *testing.T, d string) []string {
			return []string{"run", "-out", filepath.Join(d, "run"), edgeExperiment(t, d, "log_input")}
		}, code: 1, want: []string{"log_input: image", "the model's score of class 0 is NaN, not a finite number"}},
		// A softmax written as exp/sum: its logits are found and explained.
		{name: "edge/exp-sum-softmax", args: explainEdge("exp_sum_softmax", "-method", "gradient"), code: 0,
			want: []string{"probabilities (a softmax; the logits before it are explained)"}},
		// Several outputs and nothing to say which holds the class scores:
		// refused with the list (the first, an embedding, was explained as
		// 16 classes); -output or the YAML key output selects one.
		{name: "edge/several-outputs", args: run("predict", edge("embedding_and_logits"), sample), code: 1,
			want: []string{`has 2 outputs (embedding: float32[-1,16]`, "logits: float32[-1,10]", "nothing says which holds the class scores", "give its key with -output (-output logits if the output of that name holds them)"}},
		{name: "edge/several-outputs-flag", args: run("predict", "-k", "10", "-output", "logits", edge("embedding_and_logits"), sample), code: 0,
			stdout: "class 9"},
		{name: "edge/several-outputs-yaml", args: func(t *testing.T, d string) []string {
			f := edgeExperiment(t, d, "embedding_and_logits")
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			y := strings.Replace(string(b), "/embedding_and_logits\n", "/embedding_and_logits\n    output: logits\n", 1)
			if y == string(b) {
				t.Fatal("no model path line to add the output key to")
			}
			if err := os.WriteFile(f, []byte(y), 0o644); err != nil {
				t.Fatal(err)
			}
			return []string{"run", "-dry-run", "-out", filepath.Join(d, "run"), f}
		}, code: 0},
		// Scores that are not [N, K] (a binary logit squeezed to [N]) are
		// refused by every command, where predict showed 100 % and run
		// panicked.
		{name: "edge/squeezed-logit-predict", args: run("predict", edge("squeezed_logit"), sample), code: 1,
			want: []string{"output output_0: float32[-1]", "is not a batch of class scores [N, K]", "export it as [N, 1], without the squeeze"}},
		{name: "edge/squeezed-logit-explain", args: explainEdge("squeezed_logit", "-method", "occlusion"), code: 1,
			want: []string{"is not a batch of class scores [N, K]"}},
		{name: "edge/squeezed-logit-run", args: func(t *testing.T, d string) []string {
			return []string{"run", "-dry-run", "-out", filepath.Join(d, "run"), edgeExperiment(t, d, "squeezed_logit")}
		}, code: 1, want: []string{"is not a batch of class scores [N, K]"}},
		// The output a card or -output names is the one explained.
		{name: "flag/output-unknown", args: run("predict", "-output", "nope", edge("two_outputs"), sample), code: 1,
			want: []string{`has no output "nope"; outputs: output_0, output_1`}},
		{name: "card/output-key-unknown", args: modelWith(editCard("signature_key: output_0", "signature_key: nope")), code: 1,
			want: []string{"card.yaml: output.signature_key", `has no output "nope"`}},
	}
}

// writeBinaryCard writes a card for binary_logit (16×16 RGB in [0, 1], two
// classes, the negative "other" and the positive "pullover") with
// output.kind kind.
func writeBinaryCard(t *testing.T, m, kind string) {
	t.Helper()
	c := "name: binary\nclasses: [other, pullover]\ninput:\n  signature_key: image\n  shape: [-1, 16, 16, 3]\n  dtype: float32\n  range: [0.0, 1.0]\n  color: rgb\noutput:\n  signature_key: output_0\n  shape: [-1, 1]\n  kind: " + kind + "\n"
	if err := os.WriteFile(filepath.Join(m, "card.yaml"), []byte(c), 0o644); err != nil {
		t.Fatal(err)
	}
}

// edgeExperiment writes an experiment file that runs gradient on an edge
// model, with the YAML lines of extra after it (tests).
func edgeExperiment(t *testing.T, d, name string, extra ...string) string {
	t.Helper()
	p, err := filepath.Abs(edge(name))
	if err != nil {
		t.Fatal(err)
	}
	y := "name: edge\nseed: 1\nmodels:\n  - path: " + p + "\ndata: {source: fashion-mnist, count: 2}\nbatch: 2\nmethods: [gradient]\n" + strings.Join(extra, "")
	f := filepath.Join(d, "edge.yaml")
	if err := os.WriteFile(f, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// The card's output.signature_key selects the output that explain explains,
// and -output overrides it: two_outputs' card names output_1 (the main
// head, layer logits); -output output_0 is the auxiliary head (aux_logits).
func TestOutputSelection(t *testing.T) {
	d := t.TempDir()
	scores := func(extra ...string) string {
		t.Helper()
		out := filepath.Join(d, strings.Join(append([]string{"o"}, extra...), "_"))
		args := append(append([]string{"explain", "-model", edge("two_outputs"), "-out", out, "-method", "gradient"}, extra...), sample)
		if code, _, stderr := runCLI(args...); code != 0 {
			t.Fatalf("explain %v: exit %d\n%s", extra, code, stderr)
		}
		return indexScores(t, out)
	}
	if s := scores(); !strings.Contains(s, "/logits_1/") || strings.Contains(s, "aux") {
		t.Errorf("with the card (output_1): scores %s, want the main head's logits", s)
	}
	// The card has 10 classes; output_0 has 3: the card check refuses it.
	code, _, stderr := runCLI("predict", "-output", "output_0", edge("two_outputs"), sample)
	if code != 1 || !strings.Contains(stderr, "10 classes, but the model's output output_0") {
		t.Errorf("-output output_0 against a card of output_1: exit %d\n%s", code, stderr)
	}
}

// A model that maps its softmax further (percent_softmax_head: times 100)
// shows each class's own probability, its output over 100, with the logits
// behind the softmax; explain's probability target is the softmax's output.
// Before, the output was taken for logits: predict showed their softmax.
func TestMappedHead(t *testing.T) {
	dir := edge("percent_softmax_head")
	op, batch := openWithSample(t, dir)
	if got, want := strings.Join(op.Flat.HeadOps(), ", "), "Mul (layer percent), AddV2 (layer percent)"; got != want {
		t.Errorf("HeadOps %q, want %q", got, want)
	}
	percent, err := op.Model.Forward(batch)
	if err != nil {
		t.Fatal(err)
	}
	logits, _ := op.Flat.Logits()
	res, err := op.Flat.Run(context.Background(), batch, tfgraph.Query{Fetch: []string{logits, op.Flat.HeadOutput()}})
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range res.Fetched[1].Data {
		if d := math.Abs(float64(100*p - percent.Data[i])); d > 1e-4 {
			t.Errorf("class %d: HeadOutput %g, the output %g: not a hundredth of it", i, p, percent.Data[i])
		}
	}
	code, stdout, stderr := runCLI("predict", "-k", "10", dir, sample)
	if code != 0 {
		t.Fatalf("predict: exit %d\n%s", code, stderr)
	}
	line := regexp.MustCompile(`class (\d+)\s+([0-9.]+)%\s+logit\s+(-?[0-9.]+)`)
	rows := line.FindAllStringSubmatch(stdout, -1)
	if len(rows) != 10 {
		t.Fatalf("predict printed %d classes with a probability and a logit, want 10:\n%s", len(rows), stdout)
	}
	for _, r := range rows {
		c, _ := strconv.Atoi(r[1])
		pct, _ := strconv.ParseFloat(r[2], 64)
		z, _ := strconv.ParseFloat(r[3], 64)
		if math.Abs(pct-float64(percent.Data[c])) > 0.006 || math.Abs(z-float64(res.Fetched[0].Data[c])) > 6e-4 {
			t.Errorf("class %d: predict shows %.2f%% and logit %.3f; the model outputs %.4f%%, the logit is %.4f", c, pct, z, percent.Data[c], res.Fetched[0].Data[c])
		}
	}
	if !strings.Contains(stderr, "probabilities (a softmax, then Mul (layer percent), AddV2 (layer percent); the logits before it are explained)") {
		t.Errorf("the note does not say what the output is:\n%s", stderr)
	}
	out := filepath.Join(t.TempDir(), "o")
	if code, _, stderr := runCLI("explain", "-model", dir, "-out", out, "-method", "gradient", "-target", "probability:3", sample); code != 0 {
		t.Fatalf("explain -target probability:3: exit %d\n%s", code, stderr)
	}
	if s := indexScores(t, out); s != op.Flat.HeadOutput() || !strings.HasSuffix(s, "/probs_1/Softmax") {
		t.Errorf("explain -target probability:3 explains %s, want the softmax's output %s", s, op.Flat.HeadOutput())
	}
}

// openWithSample opens the model in dir as the commands do, closed when the
// test ends, and preprocesses the sample image for it: a batch of one.
func openWithSample(t *testing.T, dir string) (*experiments.Opened, *tensor.Tensor) {
	t.Helper()
	op, err := experiments.Open(dir, tfgraph.Options{IntraOpThreads: 2, InterOpThreads: 1}, experiments.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { op.Model.Close() })
	img, err := loadImage(io.Discard, "predict", sample)
	if err != nil {
		t.Fatal(err)
	}
	x, err := images.ToInput(img, op.Spec)
	if err != nil {
		t.Fatal(err)
	}
	return op, &tensor.Tensor{Shape: []int{1, op.Spec.Height, op.Spec.Width, op.Spec.Channels}, Data: x}
}

// indexScores reads the score tensor from explain's index.json in out.
func indexScores(t *testing.T, out string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(out, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var idx struct {
		Scores string `json:"scores"`
	}
	if err := json.Unmarshal(raw, &idx); err != nil {
		t.Fatal(err)
	}
	return idx.Scores
}

// A binary classifier's one logit (binary_logit): predict shows its sigmoid
// as the probability, with the logit the model outputs. Before, it showed
// the softmax of one logit: 100.00% for every image.
func TestBinaryLogit(t *testing.T) {
	dir := edge("binary_logit")
	op, batch := openWithSample(t, dir)
	z, err := op.Model.Forward(batch)
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI("predict", dir, sample)
	if code != 0 {
		t.Fatalf("predict: exit %d\n%s", code, stderr)
	}
	// Class 1 is the model's logit z with probability σ(z), class 0 its
	// complement, −z and 1 − σ(z).
	zv := float64(z.Data[0])
	for c, sign := range []float64{-1, 1} {
		r := regexp.MustCompile(fmt.Sprintf(`class %d\s+([0-9.]+)%%\s+logit\s+(-?[0-9.]+)`, c)).FindStringSubmatch(stdout)
		if r == nil {
			t.Fatalf("predict printed no probability and logit for class %d:\n%s", c, stdout)
		}
		pct, _ := strconv.ParseFloat(r[1], 64)
		logit, _ := strconv.ParseFloat(r[2], 64)
		want := 100 / (1 + math.Exp(-sign*zv))
		if math.Abs(pct-want) > 0.006 || math.Abs(logit-sign*zv) > 6e-4 {
			t.Errorf("predict shows class %d at %.2f%% and logit %.3f; the model's logit is %.4f, want %.4f%% and %.4f", c, pct, logit, zv, want, sign*zv)
		}
	}
}

// A model whose input takes exactly one image runs any batch in chunks of
// one: every method's maps equal those of its twin with the same weights and
// a free batch (float rounding: kernels for batch 1 and batch N differ).
// Before, every run of more than one image was refused, and with it most
// methods on a single image. DeepLIFT, which pairs each image with its
// reference inside one batch, is refused by name.
func TestFixedBatch(t *testing.T) {
	d := t.TempDir()
	methods := "gradient,gradcam,cam,integrated-gradients,smoothgrad,occlusion,scorecam,lrp,rise,guided-backprop,ablationcam,fullgrad,kernel-shap,guided-ig,layercam"
	two := zoo + "/samples/fmnist_0009_sneaker.png"
	index := func(model string) []map[string]any {
		out := filepath.Join(d, model)
		if code, _, stderr := runCLI("explain", "-model", edge(model), "-out", out, "-method", methods, sample, two); code != 0 {
			t.Fatalf("explain %s: exit %d\n%s", model, code, stderr)
		}
		raw, err := os.ReadFile(filepath.Join(out, "index.json"))
		if err != nil {
			t.Fatal(err)
		}
		var idx struct {
			Maps []map[string]any `json:"maps"`
		}
		if err := json.Unmarshal(raw, &idx); err != nil {
			t.Fatal(err)
		}
		for _, m := range idx.Maps {
			m["dir"] = out
		}
		return idx.Maps
	}
	fixed, free := index("fixed_batch"), index("fixed_batch_twin")
	if len(fixed) != len(free) || len(fixed) != 2*len(strings.Split(methods, ",")) {
		t.Fatalf("%d and %d maps, want %d each", len(fixed), len(free), 2*len(strings.Split(methods, ",")))
	}
	worst := map[string]float64{}
	for i := range fixed {
		a, b := fixed[i], free[i]
		if a["method"] != b["method"] || a["class"] != b["class"] {
			t.Fatalf("map %d: %v class %v, twin %v class %v", i, a["method"], a["class"], b["method"], b["class"])
		}
		for _, key := range []string{"raw", "map"} {
			fa, _ := a[key].(string)
			fb, _ := b[key].(string)
			if fa == "" {
				continue
			}
			x, err := savedmodels.ReadNpy(filepath.Join(a["dir"].(string), fa))
			if err != nil {
				t.Fatal(err)
			}
			y, err := savedmodels.ReadNpy(filepath.Join(b["dir"].(string), fb))
			if err != nil {
				t.Fatal(err)
			}
			dd, err := tensor.MaxAbsDiff(x, y)
			if err != nil {
				t.Fatal(err)
			}
			rel := dd / math.Max(y.MaxAbs(), 1e-30)
			m := a["method"].(string)
			worst[m] = math.Max(worst[m], rel)
			if rel > 1e-4 {
				t.Errorf("%s %s of image %d: %.3g of its max from the twin's", m, key, i%2, rel)
			}
		}
	}
	t.Logf("largest difference to the free-batch twin, relative to the map's max: %v", worst)
	code, _, stderr := runCLI("explain", "-model", edge("fixed_batch"), "-out", filepath.Join(d, "dl"), "-method", "deeplift", sample)
	if want := "the deeplift-rescale rules pair each image with its reference in one batch of 2"; code == 0 || !strings.Contains(stderr, want) {
		t.Errorf("deeplift on a batch fixed at 1: exit %d, want a refusal saying %q:\n%s", code, want, stderr)
	}
}
