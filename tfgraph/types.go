package tfgraph

// The values of the package that build without cgo (see the package
// documentation; tokens.go and nocgo.go hold the others).

import (
	"fmt"
	"strings"

	"github.com/saliencykit/saliency/tensor"
)

// Query is one session run on a flat graph: forward tensors to fetch and
// backward signals to compute, together, on one batch. Grad-CAM, for example,
// fetches the logits and a layer's activations and asks for the gradient of
// the top logit on that layer, in one run.
type Query struct {
	// Fetch names flat tensors to return ("node:index", e.g. Layer.Output or
	// the result of Logits).
	Fetch []string
	// Grads are the backward signals to compute.
	Grads []Grad
	// Feed gives flat tensors of the forward pass values for this run, by
	// name: the run reads them instead of computing the tensors
	// (Ablation-CAM feeds a layer's activations with one channel set to
	// zero). A value has its tensor's shape, the batch as its first
	// dimension. What only the replaced tensor needed is not computed; what
	// the rest of the graph needs (a skip connection around it) is computed
	// from x as usual. The input is x, not a feed. A query with Feed asks
	// for no Grads: a backward pass would go through the computation the
	// feed replaced.
	Feed map[string]*tensor.Tensor
}

// Grad asks for one backward signal.
type Grad struct {
	// Start and End are flat tensors; "" means the logits (Logits) and the
	// signature's input.
	Start, End string
	// Rules is the rule set (nil: Plain).
	Rules *RuleSet
	// Seed is the signal on Start (its shape). nil seeds each row with the
	// one-hot of its largest value: for logits, the predicted class, picked
	// inside the graph in the same run (OneHot and MultiHot make others).
	Seed *tensor.Tensor
	// Pick, when set, makes the seed the one-hot of the largest Start value
	// of each row among the entries where Pick is non-zero, found inside the
	// graph in the same run: the strongest activation of one channel of a
	// layer (Zeiler & Fergus), wherever it is in each image. Pick has Start's
	// shape, with 1 or the batch size as its first dimension; ties go to the
	// first entry in row-major order. Seed and Pick are exclusive.
	Pick *tensor.Tensor
	// Along, when set, asks for the derivative of the signal instead: the
	// gradient with respect to End of ⟨Along, signal⟩, the signal being
	// what this Grad gives without Along (its Seed held fixed). Along has
	// End's shape, with the batch as its first dimension. Under Plain
	// rules from a logit this is the Hessian-vector product H·Along of the
	// logit; under other rule sets, the exact derivative of their backward
	// graph. It is zero almost everywhere on a piecewise-linear network
	// (ReLU, max pooling): take a smooth copy (Softplus) to follow it. Pick
	// is not allowed with Along. A Grad without Along in the same query may
	// give the first-order signal of the same Start, End and Rules when its
	// Seed has the same values (or both are nil); the run computes it once.
	Along *tensor.Tensor
	// At names flat tensors on the way from Start to End whose signals the
	// same backward pass returns too (Result.At), with no backward graph of
	// their own: under Plain rules, the gradient of the score at each of
	// them (FullGrad's signals at every bias of a network, with the input's,
	// in one pass). A tensor that no signal from Start reaches on its way
	// to End is an error. Not with Along.
	At []string
}

// Result holds what a Query asked for, in order.
type Result struct {
	Fetched []*tensor.Tensor
	Grads   []*tensor.Tensor
	// At holds, for each Grad of the query, the signals on its At tensors
	// in their order (nil for a Grad without At; nil when no Grad has At).
	At [][]*tensor.Tensor
}

// Layer is a Keras layer found in a flat graph.
type Layer struct {
	// Name as model.summary() shows it.
	Name string
	// Output is the flat tensor that is the layer's output ("node:index").
	Output string
	// Ops are the op types inside the layer, in graph order, without repeats.
	Ops []string
	// Weights are the layer's variables (e.g. "conv1_1/kernel").
	Weights []string
	// Alias names the layer whose output this one passes on unchanged, for a
	// layer without ops at inference (Dropout, a linear Activation, an
	// Identity); "" for a layer with ops.
	Alias string
	// Shared is the Keras name of a layer called more than once (the same
	// weights on two inputs: test-time augmentation, a multi-scale or
	// Siamese network). Each call is a layer of its own, named Shared#k for
	// the k-th call, since each has its own output; "" for a layer called
	// once.
	Shared string
	// Outputs, for one output of a layer that has several (a custom layer
	// returning features and an attention map), is how many: Name is then
	// "<layer>#out<k>", k from 0 in the order the graph computes them, and
	// Shared the layer's name; for the outputs of a call of a shared layer,
	// "<layer>#<call>#out<k>". 0 for a layer with one output.
	Outputs int
}

// Owner is the layer, or the call of a shared layer, that l is an output of:
// "attend" for attend#out1, "attend#2" for attend#2#out1; l's name for a
// layer with one output.
func (l Layer) Owner() string {
	if l.Outputs == 0 {
		return l.Name
	}
	if i := strings.LastIndex(l.Name, "#out"); i > 0 {
		return l.Name[:i]
	}
	return l.Name
}

// GAPHead describes a network that ends in global average pooling followed by
// a dense layer, the structure CAM needs (Zhou et al. 2016): scores =
// mean_{i,j} A_{ij} · W + b.
type GAPHead struct {
	// Features is the flat tensor A [batch, h, w, K] that is pooled.
	Features string
	// Layer is the Keras layer whose output is Features ("" if none).
	Layer string
	// Kernel is the flat tensor of the dense kernel; fetched in a run, it
	// follows fed weights. It is [K, classes], or [classes, K] when
	// KernelTransposed.
	Kernel           string
	KernelTransposed bool
	// Binary says the kernel has one column, a binary classifier's logit z
	// (Flat.BinaryLogit): class 1's weights are that column, class 0's
	// (score −z) its negation.
	Binary bool
}

// NotApplicableError is returned when the model lacks a structure that a
// computation needs (no global-average-pooling head for CAM, no 4-D layer).
type NotApplicableError struct {
	Model, Reason string
}

func (e *NotApplicableError) Error() string {
	return fmt.Sprintf("tfgraph: %s: %s", e.Model, e.Reason)
}

// A RuleSet says how the backward engine treats each op of the forward graph.
// An op listed in Rules uses that rule; every other op uses its exact
// derivative (the Plain rules). Rule sets are values: a method defines its own
// (an LRP-ε rule with its ε, say) without changing tfgraph.
//
// Name identifies the rule set in the cache of backward graphs (one graph per
// start tensor, end tensor and rule-set name): two rule sets with the same
// name must hold the same rules, so a parameterised rule set puts its
// parameters in its name ("lrp-epsilon(0.01)").
type RuleSet struct {
	Name  string
	Rules map[string]Rule
	// Strict, when set, gives the ops not listed in Rules no rule at all
	// instead of their exact derivative: the backward pass refuses them by
	// name (a *NoRuleError). Relevance propagation is strict: an op it has
	// no rule for would silently mix gradient and relevance.
	Strict bool
	// Paired says that the rules read each image beside its reference in
	// the other half of the batch (DeepLIFT: the images, then their
	// references): such a batch cannot be cut into the chunks a model with
	// a fixed batch size takes (Model.FixedBatch), and Run refuses it.
	Paired bool
}

// A Rule emits the backward signals of one forward node's inputs from the
// signals on its outputs, with the ops of b. It returns one entry per input
// of n; an invalid Sym (the zero value) means no signal flows to that input.
// It need not compute signals for inputs whose n.Need is false.
type Rule func(b *Builder, n *Node) []Sym

func (rs *RuleSet) String() string {
	if rs == nil {
		return Plain.Name
	}
	return rs.Name
}

// NoRuleError is returned when an op on the backward path has no rule in the
// rule set: the method that asked does not apply to this model.
type NoRuleError struct {
	Model, Op, Node, Layer, Rules string
	// Why, when set, says more: the dtype the signal would need to pass
	// through, or that the op is a loop and what to do about it.
	Why string
}

func (e *NoRuleError) Error() string {
	msg := fmt.Sprintf("tfgraph: %s: no %s rule for op %s (node %s, layer %s)", e.Model, e.Rules, e.Op, e.Node, e.Layer)
	if e.Why != "" {
		msg += ": " + e.Why
	}
	return msg
}
