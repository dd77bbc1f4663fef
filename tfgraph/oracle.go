//go:build cgo

package tfgraph

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/saliencykit/saliency/tensor"
	tf "github.com/wamuir/graft/tensorflow"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
)

// Logits returns the flat tensor of the target scores and whether it was
// found behind the model's final activation: when the model ends in a
// Softmax, a LogSoftmax (or the Log of a Softmax, with Identity ops and
// float casts between them too) or a Sigmoid (after Identity ops and casts
// between float types, and after increasing maps by scalar constants, which
// keep the order of the classes: HeadOps),
// the scores are its input, the logits (Simonyan et al. 2013); otherwise
// they are the signature's selected output (Model.Output). Head says which
// activation it was. For a binary classifier's one column (a logit z, or
// its sigmoid) they are the two classes' scores (−z, z), a node the flat
// graph adds (BinaryLogit).
func (fl *Flat) Logits() (string, bool) {
	return fl.head.logits, fl.head.head != ""
}

// Head is how the model's scores become probabilities, its final
// activation: "softmax" (probabilities over exclusive classes),
// "log_softmax" (their logarithms, as PyTorch models often return),
// "sigmoid" (one probability per label: a multi-label head, or a binary
// classifier's), "probabilities" (the scores are probabilities already,
// with no logits behind them: an ensemble's average of softmaxes, or a
// card's output.kind probabilities for a model whose graph shows no
// softmax; see Probabilities) or "" (the output is the scores themselves,
// logits of exclusive classes). For a model that outputs logits without an
// activation, Logits' second value is false and the head is "", or
// "sigmoid" when they are the logits of independent labels: one column, a
// binary classifier's logit (whose softmax would be 1 for every image), or
// after SetLabelLogits. There is then no Sigmoid op in the graph to explain.
func (fl *Flat) Head() string {
	if fl.head.head == "" && fl.head.probs != "" {
		return "probabilities"
	}
	if fl.head.head == "" && fl.head.labels {
		return "sigmoid"
	}
	return fl.head.head
}

// Probabilities says why a model without a head (Logits' second value
// false) outputs probabilities, Head "probabilities": "Softmax (layer L)"
// or "Sigmoid (layer L)" when every tensor of the output that depends on
// the input is computed, by ops that move, scale, add or average values
// (ActivationBehind's), from the outputs of Softmax ops (or of Sigmoid ops)
// and nothing else: an ensemble's mean of softmaxes, a softmax summed over
// groups of classes; why after SetProbabilities (ProbabilitiesByCard,
// ProbabilitiesByOutputs). It is "" otherwise: logits (a logit gated by a
// sigmoid is not a probability).
func (fl *Flat) Probabilities() string { return fl.head.probs }

// The reasons SetProbabilities takes.
const (
	// ProbabilitiesByCard: a model card's output.kind probabilities.
	ProbabilitiesByCard = "card"
	// ProbabilitiesByOutputs: the outputs for probe images are
	// probability distributions.
	ProbabilitiesByOutputs = "outputs"
)

// SetProbabilities says, for why (ProbabilitiesByCard or
// ProbabilitiesByOutputs), that the output's scores are probabilities
// already, for a model whose graph shows no softmax (scores normalised
// otherwise, or a softmax inside an op saliency cannot look into): each
// class's probability is its score, Head "probabilities". It changes
// nothing for a model with a head or whose probabilities the graph shows;
// call it before the flat graph is used.
func (fl *Flat) SetProbabilities(why string) {
	if fl.head.head == "" && fl.head.probs == "" {
		fl.head.probs = why
	}
}

// ProbabilitiesInGraph says whether Probabilities comes from the graph (a
// Softmax or Sigmoid behind the output), not from SetProbabilities.
func (fl *Flat) ProbabilitiesInGraph() bool {
	return fl.head.probs != "" && fl.head.probs != ProbabilitiesByCard && fl.head.probs != ProbabilitiesByOutputs
}

// SetLabelLogits says that the output's logits are those of independent
// labels (a model card's output.kind sigmoid, for a multi-label model that
// leaves the sigmoid to its loss): each class's probability is the sigmoid
// of its logit, not their softmax. It changes nothing for a model that ends
// in an activation; call it before the flat graph is used.
func (fl *Flat) SetLabelLogits() { fl.head.labels = true }

// HeadOutput is the tensor of the head's own values: the probabilities of a
// softmax or sigmoid head (of the Softmax under a final Log too; for a
// binary classifier's sigmoid, σ(−z) and σ(z) of its two classes), the
// log-probabilities of a LogSoftmax; the signature's output for a model
// without a head. It is not the output when the model maps them further
// (HeadOps), e.g. a softmax times 100.
func (fl *Flat) HeadOutput() string {
	if fl.head.out == "" {
		return fl.Output()
	}
	return fl.head.out
}

// HeadOps lists the ops between the final activation and the output that
// the walk to the logits passed besides Identity ops, casts and a Log:
// increasing maps by scalar constants (Mul, RealDiv, AddV2, Sub, Maximum,
// Minimum, ClipByValue: a softmax in percent, a clipped probability), each
// as "Op (layer L)", in the order the model computes them. The output's
// values are then neither the probabilities nor the logits: predict and
// probability targets read those from the head (HeadOutput, Logits).
func (fl *Flat) HeadOps() []string {
	var out []string
	for _, n := range slices.Backward(fl.head.post) {
		s := fl.nodes[n].GetOp()
		if l := fl.layerOf(n); l != "none" {
			s += " (layer " + l + ")"
		}
		out = append(out, s)
	}
	return out
}

// headWalk is what the walk from the output back to the final activation
// found: the logits (the scores), the head, the activation's output (out;
// "" without a head) and the nodes of the maps after it (post). The flat
// graph walks once, when it is made (Flat.head).
type headWalk struct {
	logits, head, out string
	post              []string
	// labels says the logits, without an activation in the graph, are
	// those of independent labels (Head).
	labels bool
	// binary is a binary classifier's one logit, behind the two classes
	// of logits (BinaryLogit); "" otherwise.
	binary string
	// probs says why the scores of a model without a head are
	// probabilities (Probabilities); "" for logits.
	probs string
}

func (fl *Flat) walkHead() headWalk { return fl.walkHeadFrom(fl.Output()) }

// walkHeadFrom walks back from the output tensor name; it reads only the
// flat graph's nodes (fl.nodes), so that a Flat holding nothing else can
// walk a flat graph before it is imported (binaryHeads).
func (fl *Flat) walkHeadFrom(name string) headWalk {
	// scores is where the walk left the output's own values, at a final
	// Log (whose input may be the Softmax of log(softmax(z)), a log_softmax
	// written in two ops, as torch.log(F.softmax(z)) converts) or at an
	// increasing map: when no activation is behind them, the scores are
	// there, as the model computes them.
	scores, afterLog := "", false
	var post []string
	stop := func() headWalk {
		if scores != "" {
			return headWalk{logits: scores}
		}
		return headWalk{logits: name}
	}
	found := func(in, head string) headWalk {
		return headWalk{logits: in, head: head, out: name, post: post}
	}
	for {
		n := fl.nodes[nodeOf(name)]
		if n == nil || len(n.GetInput()) == 0 {
			return stop()
		}
		switch n.GetOp() {
		case "Identity":
			name = n.GetInput()[0]
		case "Cast":
			// A float16 softmax cast to float32 (a mixed-precision model
			// whose last layer was left in float16).
			if src, ok := attr(n, "SrcT"); !ok || !isFloat(src.(tf.DataType)) {
				return stop()
			}
			name = n.GetInput()[0]
		case "Softmax":
			if afterLog {
				return found(n.GetInput()[0], "log_softmax")
			}
			return found(n.GetInput()[0], "softmax")
		case "Log":
			if afterLog {
				return stop()
			}
			if scores == "" {
				scores = name
			}
			afterLog, name = true, n.GetInput()[0]
		case "LogSoftmax":
			if afterLog {
				return stop()
			}
			return found(n.GetInput()[0], "log_softmax")
		case "Sigmoid":
			if afterLog {
				return stop()
			}
			return found(n.GetInput()[0], "sigmoid")
		default:
			x, ok := fl.increasingMap(n)
			if !ok {
				return stop()
			}
			if scores == "" {
				scores = name
			}
			post = append(post, n.GetName())
			name = x
		}
	}
}

// increasingMap returns the input of n when n is an increasing element-wise
// map of it by scalar constants (x·c and x/c with c > 0, x + c, x − c,
// max(x, c), min(x, c), clip(x, a, b)), which keeps the order of the
// classes.
func (fl *Flat) increasingMap(n *nodepb.NodeDef) (string, bool) {
	in := n.GetInput()
	scalar := func(name string) (float64, bool) {
		v, ok := fl.constFloats(name)
		if !ok || len(v) == 0 {
			return 0, false
		}
		for _, x := range v[1:] {
			if x != v[0] {
				return 0, false
			}
		}
		return v[0], !math.IsNaN(v[0])
	}
	switch op := n.GetOp(); {
	case len(in) == 2 && (op == "Mul" || op == "AddV2" || op == "Add" || op == "Maximum" || op == "Minimum"):
		for k := range 2 {
			c, ok := scalar(in[1-k])
			if ok && (op != "Mul" || c > 0) {
				return in[k], true
			}
		}
	case len(in) == 2 && (op == "RealDiv" || op == "Div" || op == "Sub" || op == "BiasAdd"):
		if c, ok := scalar(in[1]); ok && (op == "Sub" || op == "BiasAdd" || c > 0) {
			return in[0], true
		}
	case len(in) == 3 && op == "ClipByValue":
		_, ok1 := scalar(in[1])
		_, ok2 := scalar(in[2])
		if ok1 && ok2 {
			return in[0], true
		}
	}
	return "", false
}

// constFloats reads a floating-point Const tensor of the flat graph, through
// Identity ops and casts.
func (fl *Flat) constFloats(name string) ([]float64, bool) {
	n := fl.nodes[nodeOf(name)]
	for n != nil && (n.GetOp() == "Identity" || n.GetOp() == "Cast") && len(n.GetInput()) == 1 {
		n = fl.nodes[nodeOf(n.GetInput()[0])]
	}
	if n == nil || n.GetOp() != "Const" {
		return nil, false
	}
	t := n.GetAttr()["value"].GetTensor()
	var out []float64
	switch t.GetDtype() {
	case typespb.DataType_DT_FLOAT:
		for _, v := range t.GetFloatVal() {
			out = append(out, float64(v))
		}
		c := t.GetTensorContent()
		for i := 0; i+4 <= len(c); i += 4 {
			out = append(out, float64(math.Float32frombits(binary.LittleEndian.Uint32(c[i:]))))
		}
	case typespb.DataType_DT_DOUBLE:
		out = append(out, t.GetDoubleVal()...)
		c := t.GetTensorContent()
		for i := 0; i+8 <= len(c); i += 8 {
			out = append(out, math.Float64frombits(binary.LittleEndian.Uint64(c[i:])))
		}
	default:
		return nil, false
	}
	return out, len(out) > 0
}

func nodeOf(tensor string) string {
	op, _, err := parseTensorName(tensor)
	if err != nil {
		return tensor
	}
	return op
}

// OracleGradient computes d score[class_i] / d input for each image i with
// TensorFlow's own gradients (TF_AddGradients) on the flat graph: the oracle
// the backward engine is tested against. The score is Logits().
func (fl *Flat) OracleGradient(x *tensor.Tensor, classes []int) (*tensor.Tensor, error) {
	return fl.OracleGradientAt(x, classes, fl.inputName())
}

// OracleGradientAt is OracleGradient with respect to a flat tensor of the
// graph (e.g. a layer's output) instead of the input. The gradient ops are
// added once per tensor.
func (fl *Flat) OracleGradientAt(x *tensor.Tensor, classes []int, at string) (*tensor.Tensor, error) {
	if b := fl.model.FixedBatch(); inChunks(x, b) && len(classes) == x.Shape[0] {
		outs, err := inFixedBatches(fl.model.Dir, x, b, nil, func(chunk *tensor.Tensor, lo, hi int) ([]*tensor.Tensor, error) {
			cs := append([]int(nil), classes[lo:hi]...)
			for len(cs) < b {
				cs = append(cs, cs[len(cs)-1])
			}
			g, err := fl.OracleGradientAt(chunk, cs, at)
			return []*tensor.Tensor{g}, err
		})
		if err != nil {
			return nil, err
		}
		return outs[0], nil
	}
	o, err := fl.oracleAt(at)
	if err != nil {
		return nil, err
	}
	logits, _ := fl.Logits()
	onehot, err := fl.OneHot(logits, classes)
	if err != nil {
		return nil, err
	}
	if err := checkInput(fl.model.Signature.Inputs[0], x); err != nil {
		return nil, fmt.Errorf("tfgraph: %s: %w", fl.model.Dir, err)
	}
	if err := fl.checkFeed(o.seed, onehot, x.Shape[0]); err != nil {
		return nil, err
	}
	xt, err := toTF(x)
	if err != nil {
		return nil, err
	}
	st, err := toTF(onehot)
	if err != nil {
		return nil, err
	}
	outs, err := fl.exec(map[tf.Output]*tf.Tensor{fl.inputs[0]: xt, o.seed: st}, []tf.Output{o.grad})
	if err != nil {
		return nil, err
	}
	return outs[0], nil
}

// oracle is TF_AddGradients from the logits to one tensor, seeded by a
// placeholder.
type oracle struct{ logits, seed, grad tf.Output }

func (fl *Flat) oracleAt(name string) (*oracle, error) {
	fl.bw.mu.Lock()
	defer fl.bw.mu.Unlock()
	if o, ok := fl.bw.oracles[name]; ok {
		return o, nil
	}
	logits, _ := fl.Logits()
	y, err := fl.tensor(logits)
	if err != nil {
		return nil, err
	}
	at, err := fl.tensor(name)
	if err != nil {
		return nil, err
	}
	prefix := fmt.Sprintf("saliency_oracle%d", fl.model.seq.Add(1))
	seed, err := fl.graph.AddOperation(tf.OpSpec{Type: "Placeholder", Name: prefix + "/seed",
		Attrs: map[string]any{"dtype": tf.Float, "shape": y.Shape()}})
	if err != nil {
		return nil, fmt.Errorf("tfgraph: %s: oracle: %w", fl.model.Dir, err)
	}
	grads, err := fl.graph.AddGradients(prefix+"/grad", []tf.Output{y}, []tf.Output{at}, []tf.Output{seed.Output(0)})
	if err != nil {
		return nil, fmt.Errorf("tfgraph: %s: TensorFlow cannot differentiate the flat graph: %s", fl.model.Dir, firstLine(err.Error()))
	}
	o := &oracle{logits: y, seed: seed.Output(0), grad: grads[0]}
	if fl.bw.oracles == nil {
		fl.bw.oracles = map[string]*oracle{}
	}
	fl.bw.oracles[name] = o
	return o, nil
}

func shapeOf(x *tensor.Tensor) []int {
	if x == nil {
		return nil
	}
	return x.Shape
}

// combiningOps are the ops through which ActivationBehind looks: they move,
// scale, add or average values without weights of their own.
var combiningOps = map[string]bool{"Identity": true, "Cast": true, "Reshape": true, "Squeeze": true, "ExpandDims": true,
	"Mul": true, "RealDiv": true, "AddV2": true, "Add": true, "AddN": true, "Sub": true, "Mean": true, "Sum": true,
	"Pack": true, "ConcatV2": true, "StridedSlice": true, "Slice": true, "Maximum": true, "Minimum": true, "Transpose": true}

// ActivationBehind names, for a model without a head (Head "" and Logits'
// second value false), a Softmax or Sigmoid that its output is computed
// from by ops that only move, scale, add or average values (an ensemble's
// mean of softmaxes, a softmax summed over groups of classes): "Softmax
// (layer probs)". Its output is then made of probabilities, not logits,
// and there are no logits behind it to explain. It is "" when there is
// none, or when the model has a head.
func (fl *Flat) ActivationBehind() string {
	if fl.ProbabilitiesInGraph() {
		return fl.head.probs
	}
	if _, activated := fl.Logits(); activated {
		return ""
	}
	seen := map[string]bool{}
	todo := []string{nodeOf(fl.Output())}
	for len(todo) > 0 && len(seen) < 256 {
		name := todo[0]
		todo = todo[1:]
		if seen[name] {
			continue
		}
		seen[name] = true
		n := fl.nodes[name]
		if n == nil {
			continue
		}
		switch op := n.GetOp(); {
		case op == "Softmax" || op == "Sigmoid":
			return op + " (layer " + fl.layerOf(name) + ")"
		case combiningOps[op]:
			for _, in := range n.GetInput() {
				if !strings.HasPrefix(in, "^") {
					todo = append(todo, nodeOf(in))
				}
			}
		}
	}
	return ""
}

// probabilitiesBehind is Probabilities for the flat graph as it was made:
// the activation every input-dependent tensor of the output comes from
// through combiningOps but Sub (a difference of probabilities is none),
// when they are all Softmax ops or all Sigmoid ops, as "Softmax (layer
// L)"; "" otherwise, and for a model with a head.
func (fl *Flat) probabilitiesBehind() string {
	if fl.head.head != "" || fl.head.binary != "" {
		return ""
	}
	dep := map[string]bool{nodeOf(fl.inputName()): true}
	for _, n := range fl.order {
		for _, in := range n.GetInput() {
			if !strings.HasPrefix(in, "^") && dep[nodeOf(in)] {
				dep[n.GetName()] = true
				break
			}
		}
	}
	kind, first := "", ""
	seen := map[string]bool{}
	todo := []string{nodeOf(fl.Output())}
	for len(todo) > 0 {
		name := todo[0]
		todo = todo[1:]
		if seen[name] || !dep[name] {
			continue
		}
		seen[name] = true
		n := fl.nodes[name]
		if n == nil || len(seen) > 4096 {
			return ""
		}
		switch op := n.GetOp(); {
		case op == "Softmax" || op == "Sigmoid":
			if kind != "" && kind != op {
				return ""
			}
			if kind == "" {
				kind, first = op, name
			}
		case combiningOps[op] && op != "Sub":
			for _, in := range n.GetInput() {
				if !strings.HasPrefix(in, "^") {
					todo = append(todo, nodeOf(in))
				}
			}
		default:
			return ""
		}
	}
	if kind == "" {
		return ""
	}
	return kind + " (layer " + fl.layerOf(first) + ")"
}
