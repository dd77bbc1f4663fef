//go:build cgo

package tfgraph

import (
	"slices"
	"strings"
)

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
	// fromProduct says whether tensor t comes, through reshapes (and the
	// BatchToSpaceND of a dilated convolution), from a product with weights
	// or from a bias.
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
			case (slices.Contains(passThrough, op) || op == "BatchToSpaceND") && len(data(n)) > 0:
				// BatchToSpaceND: TensorFlow writes a dilated convolution
				// as SpaceToBatchND, Conv2D, BatchToSpaceND, then the bias.
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
