// Package tfgraph is everything in saliency that touches TensorFlow.
//
// It loads a SavedModel through graft (the TensorFlow 2.18 C API), reads its
// signatures and turns the serving signature into a flat frozen graph ([Flat]):
// every nested function inlined, every variable a feedable weight, every Keras
// layer addressable by name ([Flat.Layer]), the target scores found behind a
// final softmax ([Flat.Logits]).
//
// On the flat graph, one [Query] is one session run ([Flat.Run]): forward
// tensors to fetch and backward signals to compute, together. Backward signals
// come from the backward engine, which builds a backward graph op by op from a
// [RuleSet] ([Plain], [DeconvNet], [Guided], or a method's own), once per
// start tensor, end tensor and rule set. Weights can be replaced for every run
// of a view ([Flat.PrepareWeights], [Flat.WithWeights]); the replacement
// values are converted once and shared by all runs.
//
// A Grad with Along asks for the derivative of its signal (a Hessian-vector
// product, for the plain gradient): the engine differentiates its own
// backward graph. On a piecewise-linear network this is zero almost
// everywhere; [Flat.Softplus] makes a smooth copy (every ReLU a softplus)
// in the same session, which the targeted attack on saliency maps follows.
//
// A Grad with At also returns the signals of its backward pass on tensors
// along the way (FullGrad's at every bias, [Flat.Biases], with the input's
// in one pass). A Query with Feed gives tensors of the forward pass values
// instead of computing them (Ablation-CAM's activations with a channel set
// to zero).
//
// [Flat.ReceptiveField] gives the receptive field of a layer's units in input
// pixels, computed from the graph (kernels, strides, padding, dilation,
// pooling, resizing; global after global pooling, a Flatten or attention),
// and the exact box of each unit.
//
// Errors a caller must tell apart are typed: [*NoRuleError] (an op without a
// rule: the method does not apply to the model), [*NotApplicableError] (the
// model lacks a structure, such as the global-average-pooling head of CAM),
// and [ErrClosed].
//
// Tensors cross the package boundary as plain [github.com/saliencykit/saliency/tensor.Tensor] values (a shape and a
// float32 slice), so callers never hold TensorFlow handles.
//
// Without cgo (CGO_ENABLED=0) the package builds with its values only:
// [Query], [Grad], [Result], [Layer], [Grid], [GAPHead], [Attention], the
// typed errors, [RuleSet] and the built-in rule sets by name. A package that
// only names them (methods, with its tests on a pure-Go model) then builds
// and tests without TensorFlow; every file that needs TensorFlow is built
// with cgo.
//
// TensorFlow reads TF_CPP_MIN_LOG_LEVEL when the library is loaded, before any
// Go code runs: set it in the environment (2 keeps INFO and WARNING lines off
// stderr). The saliency command does this for its users.
package tfgraph
