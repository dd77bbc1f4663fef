//go:build cgo

package tfgraph

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/saliencykit/saliency/tensor"
)

// Bias is a bias that the forward pass adds to a tensor: the bias of a
// linear layer, or the effective bias of a batch normalisation in
// inference. FullGrad (Srinivas & Fleuret 2019) attributes b ⊙ ∂S/∂Output to
// it; on a network that is piecewise linear in its input and its biases
// (ReLU, max pooling, batch normalisation in inference) the score is
//
//	S(x) = Σ x ⊙ ∂S/∂x + Σ_biases Σ b ⊙ ∂S/∂Output
//
// (the full-gradient decomposition).
type Bias struct {
	// Layer is the Keras layer of the node that adds the bias.
	Layer string
	// Node is that node of the flat graph and Op its type.
	Node, Op string
	// Output is the flat tensor the bias is added into: the node's output.
	Output string
	// Inputs are the flat tensors the bias is computed from (Value): the
	// added operand, or a fused batch normalisation's scale, offset, mean
	// and variance. None depends on the input; fetch them in the run that
	// computes the signals, so that a view's fed weights are the ones read.
	Inputs []string

	kind          biasKind
	epsilon       float64 // of a fused batch normalisation
	channelsFirst bool    // data format NCHW
}

type biasKind int

const (
	biasAdd biasKind = iota // x + b (BiasAdd, Add, AddV2)
	biasSub                 // x − b
	biasBN                  // FusedBatchNorm in inference: x·γ/√(σ²+ε) + (β − μγ/√(σ²+ε))
)

// Value is the bias computed from the values of its Inputs, in order, shaped
// to broadcast against Output as TensorFlow's Add does (dimensions aligned
// on the right): a per-channel bias of a channels-last layer is [K], of a
// channels-first one [K,1,1]. A fused batch normalisation's is its
// effective bias β − μ·γ/√(σ²+ε) (Srinivas & Fleuret's, computed in
// float64).
func (b Bias) Value(in []*tensor.Tensor) (*tensor.Tensor, error) {
	if len(in) != len(b.Inputs) {
		return nil, fmt.Errorf("tfgraph: bias of %s: %d values for %d inputs", b.Node, len(in), len(b.Inputs))
	}
	for i, v := range in {
		if v == nil || len(v.Data) != tensor.Size(v.Shape) {
			return nil, fmt.Errorf("tfgraph: bias of %s: value %d (%s) is missing or malformed", b.Node, i, b.Inputs[i])
		}
	}
	var out *tensor.Tensor
	switch b.kind {
	case biasAdd, biasSub:
		out = in[0].Clone()
		if b.kind == biasSub {
			for i := range out.Data {
				out.Data[i] = -out.Data[i]
			}
		}
	case biasBN:
		scale, offset, mean, variance := in[0], in[1], in[2], in[3]
		k := len(offset.Data)
		if len(scale.Data) != k || len(mean.Data) != k || len(variance.Data) != k {
			return nil, fmt.Errorf("tfgraph: bias of %s: scale, offset, mean and variance have %d, %d, %d and %d values",
				b.Node, len(scale.Data), k, len(mean.Data), len(variance.Data))
		}
		out = tensor.New(k)
		for c := range out.Data {
			s := float64(scale.Data[c]) / math.Sqrt(float64(variance.Data[c])+b.epsilon)
			out.Data[c] = float32(float64(offset.Data[c]) - float64(mean.Data[c])*s)
		}
	}
	if b.channelsFirst && len(out.Shape) == 1 {
		out = &tensor.Tensor{Shape: []int{out.Shape[0], 1, 1}, Data: out.Data}
	}
	return out, nil
}

// biasLinear are the ops after which an added tensor that does not depend on
// the input is a layer's bias: products with weights.
var biasLinear = []string{"Conv2D", "Conv3D", "DepthwiseConv2dNative", "Conv2DBackpropInput", "Conv3DBackpropInputV2",
	"MatMul", "BatchMatMul", "BatchMatMulV2", "BatchMatMulV3", "Einsum"}

// Biases lists the biases on the way from the input to the score tensor
// score ("" for the logits), in graph order: each add (BiasAdd, Add, AddV2,
// Sub) of a tensor that does not depend on the input to one that comes,
// through reshapes, from a product with weights (a convolution, a matrix
// product, or a per-channel scale such as the Mul of an unfused batch
// normalisation) or from another bias; and each fused batch normalisation
// in inference, whose effective bias is β − μγ/√(σ²+ε) (Bias.Value). Adds
// of constants elsewhere (the ε of a normalisation, a position embedding)
// are not biases of a layer and are not listed.
func (fl *Flat) Biases(score string) ([]Bias, error) {
	if score == "" {
		score, _ = fl.Logits()
	}
	if _, err := fl.tensor(score); err != nil {
		return nil, err
	}
	input := nodeOf(fl.inputName())
	_, onPath, err := fl.path(nodeOf(score), input)
	if err != nil {
		return nil, err
	}
	// dep: the nodes whose value depends on the input.
	dep := map[string]bool{input: true}
	for _, n := range fl.order {
		for _, in := range n.GetInput() {
			if !strings.HasPrefix(in, "^") && dep[nodeOf(in)] {
				dep[n.GetName()] = true
				break
			}
		}
	}
	data := func(name string) []string {
		var out []string
		for _, in := range fl.nodes[name].GetInput() {
			if !strings.HasPrefix(in, "^") {
				out = append(out, in)
			}
		}
		return out
	}
	isBias := map[string]bool{}
	// fromProduct says whether tensor t comes, through reshapes, from a
	// product with weights or from a bias.
	fromProduct := func(t string) bool {
		n := nodeOf(t)
		for range 8 {
			nd := fl.nodes[n]
			if nd == nil {
				return false
			}
			op := nd.GetOp()
			switch {
			case isBias[n] || slices.Contains(biasLinear, op):
				return true
			case op == "Mul":
				ins := data(n)
				return len(ins) == 2 && dep[nodeOf(ins[0])] != dep[nodeOf(ins[1])]
			case slices.Contains(passThrough, op) && len(data(n)) > 0:
				n = nodeOf(data(n)[0])
			default:
				return false
			}
		}
		return false
	}
	var out []Bias
	for _, n := range fl.order {
		name := n.GetName()
		if !onPath[name] || name == input {
			continue
		}
		ins := data(name)
		b := Bias{Layer: fl.layerOf(name), Node: name, Op: n.GetOp(), Output: name}
		switch n.GetOp() {
		case "BiasAdd", "BiasAddV1", "Add", "AddV2", "Sub":
			if len(ins) != 2 || dep[nodeOf(ins[0])] == dep[nodeOf(ins[1])] {
				continue
			}
			x, c := 0, 1
			if dep[nodeOf(ins[1])] {
				x, c = 1, 0
			}
			if n.GetOp() == "Sub" {
				if x != 0 {
					continue // c − x: a negation, not a bias
				}
				b.kind = biasSub
			}
			o, err := fl.tensor(ins[c])
			if err != nil || !isFloat(o.DataType()) || !fromProduct(ins[x]) {
				continue
			}
			b.Inputs = []string{canonical(ins[c])}
			if strings.HasPrefix(n.GetOp(), "BiasAdd") {
				f, _ := attr(n, "data_format")
				b.channelsFirst = f == "NCHW"
			}
		case "FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3":
			if tr, ok := attr(n, "is_training"); !ok || tr.(bool) || len(ins) < 5 {
				continue // batch statistics (is_training defaults to true): no fixed bias
			}
			if slices.ContainsFunc(ins[1:5], func(in string) bool { return dep[nodeOf(in)] }) {
				continue
			}
			b.kind = biasBN
			for _, in := range ins[1:5] {
				b.Inputs = append(b.Inputs, canonical(in))
			}
			b.epsilon = 1e-3 // TensorFlow's default
			if e, ok := attr(n, "epsilon"); ok {
				b.epsilon = float64(e.(float32))
			}
			f, _ := attr(n, "data_format")
			b.channelsFirst = f == "NCHW" || f == "NCDHW"
		default:
			continue
		}
		isBias[name] = true
		out = append(out, b)
	}
	return out, nil
}
