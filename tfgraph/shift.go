//go:build cgo

package tfgraph

import (
	"fmt"
	"slices"

	"github.com/saliencykit/saliency/tensor"
)

// InputShift is a model made invariant to a constant shift of its input
// (Kindermans et al. 2017, "The (un)reliability of saliency methods"): for
// inputs x + c, the first layer's bias b becomes b − W·c, so that every
// activation, and the logits, are those of x with the original weights.
type InputShift struct {
	// Shift is c, one value per channel.
	Shift []float32
	// Layer is the first layer; Kernel and Bias its weights.
	Layer, Kernel, Bias string
	// Values replace the bias (for PrepareWeights).
	Values map[string]*tensor.Tensor
}

// passThrough are the ops allowed between the input and the first linear
// op, and between that op and its bias: they move values without changing
// them.
var passThrough = []string{"Identity", "Reshape", "ExpandDims", "Squeeze"}

// CompensateShift computes the first layer's bias for inputs shifted by c
// (one value per channel). The compensation is exact when the input reaches
// a convolution without padding (VALID, or a 1×1 kernel) or a dense layer
// (through a flatten) with nothing but reshapes on the way, and the layer has
// a bias; otherwise it is an error saying which of these fails (a SAME
// convolution pads the shifted input with zeros, not with −c, so the border
// activations would change).
func (fl *Flat) CompensateShift(c []float32) (*InputShift, error) {
	fail := func(format string, a ...any) (*InputShift, error) {
		return nil, fmt.Errorf("tfgraph: %s: input shift: "+format, append([]any{fl.model.Dir}, a...)...)
	}
	inShape := fl.Shape(fl.inputName())
	if len(inShape) != 4 || int(inShape[3]) != len(c) {
		return fail("input %v, want [N,H,W,%d] for a shift of %d channels", inShape, len(c), len(c))
	}
	consumers := consumersOf(fl.order)
	// Forward from the input through pass-through ops to one linear op.
	var linear string
	frontier := []string{nodeOf(fl.inputName())}
	for len(frontier) > 0 && linear == "" {
		var next []string
		for _, n := range frontier {
			for _, cn := range consumers[n] {
				op := fl.nodes[cn].GetOp()
				switch {
				case op == "Conv2D" || op == "MatMul":
					if linear != "" && linear != cn {
						return fail("the input reaches two linear ops, %s and %s", linear, cn)
					}
					linear = cn
				case slices.Contains(passThrough, op):
					next = append(next, cn)
				default:
					return fail("the input reaches %s (%s, layer %s) before a convolution or dense layer; only a bias right after the input can absorb the shift",
						cn, op, fl.layerOf(cn))
				}
			}
		}
		frontier = next
	}
	if linear == "" {
		return fail("no convolution or dense layer reads the input")
	}
	node := fl.nodes[linear]
	layer := fl.layerOf(linear)
	kernel, ok := fl.weightBehind(node.GetInput()[1])
	if !ok {
		return fail("the kernel of %s (layer %s) is not a weight", linear, layer)
	}
	// The bias: an add right after the linear op (through reshapes).
	var bias string
	at := []string{linear}
	for len(at) > 0 && bias == "" {
		var next []string
		for _, n := range at {
			for _, cn := range consumers[n] {
				cnode := fl.nodes[cn]
				switch op := cnode.GetOp(); {
				case op == "BiasAdd" || op == "AddV2" || op == "Add":
					for _, in := range cnode.GetInput() {
						if w, ok := fl.weightBehind(in); ok {
							bias = w.Name
						}
					}
				case slices.Contains(passThrough, op):
					next = append(next, cn)
				}
			}
		}
		at = next
	}
	if bias == "" {
		return fail("layer %s has no bias to absorb the shift", layer)
	}
	W, err := fl.WeightValue(kernel.Name)
	if err != nil {
		return nil, err
	}
	b, err := fl.WeightValue(bias)
	if err != nil {
		return nil, err
	}
	channels := len(c)
	delta := make([]float64, b.Len())
	switch node.GetOp() {
	case "Conv2D":
		attr := node.GetAttr()
		pad := string(attr["padding"].GetS())
		if f := string(attr["data_format"].GetS()); f != "" && f != "NHWC" {
			return fail("%s (layer %s) has data format %s; NHWC supported", linear, layer, f)
		}
		if len(W.Shape) != 4 || W.Shape[2] != channels || W.Shape[3] != len(delta) {
			return fail("kernel %s %v does not match %d channels and a bias of %d", kernel.Name, W.Shape, channels, len(delta))
		}
		if pad != "VALID" && !(W.Shape[0] == 1 && W.Shape[1] == 1) {
			return fail("the first convolution %s (layer %s) pads %s: the shifted input is padded with zeros, not with the shift, so no bias can absorb it at the borders; input invariance needs a VALID convolution or a dense layer first",
				linear, layer, pad)
		}
		for i, v := range W.Data {
			cin := (i / W.Shape[3]) % channels
			delta[i%W.Shape[3]] += float64(v) * float64(c[cin])
		}
	case "MatMul":
		attr := node.GetAttr()
		if attr["transpose_a"].GetB() || attr["transpose_b"].GetB() {
			return fail("%s (layer %s) is a transposed MatMul", linear, layer)
		}
		if len(W.Shape) != 2 || W.Shape[1] != len(delta) || W.Shape[0]%channels != 0 {
			return fail("kernel %s %v does not match a flattened input of %d channels and a bias of %d", kernel.Name, W.Shape, channels, len(delta))
		}
		for i, v := range W.Data {
			row := i / W.Shape[1]
			delta[i%W.Shape[1]] += float64(v) * float64(c[row%channels])
		}
	}
	nb := tensor.New(b.Shape...)
	for i := range nb.Data {
		nb.Data[i] = float32(float64(b.Data[i]) - delta[i])
	}
	return &InputShift{Shift: append([]float32(nil), c...), Layer: layer, Kernel: kernel.Name, Bias: bias,
		Values: map[string]*tensor.Tensor{bias: nb}}, nil
}

// weightBehind finds the weight whose placeholder feeds tensor t, through
// ReadVariableOp and pass-through nodes (Keras 3 reshapes and squeezes a
// convolution's bias before adding it).
func (fl *Flat) weightBehind(t string) (Weight, bool) {
	n := nodeOf(t)
	for range 8 {
		for _, w := range fl.Weights {
			if w.Node == n {
				return w, true
			}
		}
		nd := fl.nodes[n]
		if nd == nil || (nd.GetOp() != "ReadVariableOp" && !slices.Contains(passThrough, nd.GetOp())) || len(nd.GetInput()) == 0 {
			return Weight{}, false
		}
		n = nodeOf(nd.GetInput()[0])
	}
	return Weight{}, false
}
