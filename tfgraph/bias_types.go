package tfgraph

import (
	"fmt"
	"math"

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
