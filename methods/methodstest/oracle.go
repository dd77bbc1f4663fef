package methodstest

import (
	"fmt"

	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// Oracle is the signal that Run gives for Grad{End: end, Rules: rules, Seed:
// the one-hot of classes} (from the logits; nil classes: the predicted
// ones), computed without the ops' backward passes: each op's Jacobian at
// the example by central finite differences of its forward pass (exact up to
// rounding on this piecewise-linear net, away from ReLU kinks and max-pool
// ties), multiplied out from the logits to end ("": the input), with the rule
// set's treatment of each ReLU: plain, its Jacobian; guided, the positive
// part of the signal, then its Jacobian; deconvnet, the positive part of
// the signal, in place of its Jacobian.
func (n *Net) Oracle(x *tensor.Tensor, classes []int, end string, rules *tfgraph.RuleSet) (*tensor.Tensor, error) {
	rs, err := rulesName(rules)
	if err != nil {
		return nil, err
	}
	acts, err := n.forward(x)
	if err != nil {
		return nil, err
	}
	if classes != nil && len(classes) != len(acts) {
		return nil, fmt.Errorf("methodstest: %d classes for %d images", len(classes), len(acts))
	}
	start, stop, err := n.ends(tfgraph.Grad{End: end})
	if err != nil {
		return nil, err
	}
	return n.batch(acts, stop, func(e int, a [][]float64) []float64 {
		c := argmax(a[start])
		if classes != nil {
			c = classes[e]
		}
		dy := make([]float64, Classes)
		dy[c] = 1
		for j := start; j > stop; j-- {
			o := n.ops[j-1]
			if o.kind == "Relu" && rs != "plain" {
				for i, d := range dy {
					dy[i] = max(d, 0)
				}
				if rs == "deconvnet" {
					continue
				}
			}
			dy = jacobianT(o.forward, a[j-1], dy)
		}
		return dy
	}), nil
}

// jacobianT is Jᵀ·dy for the Jacobian J of f at in, by central differences.
func jacobianT(f func([]float64) []float64, in, dy []float64) []float64 {
	const h = 1e-6
	dx := make([]float64, len(in))
	x := append([]float64(nil), in...)
	for i := range in {
		x[i] = in[i] + h
		hi := f(x)
		x[i] = in[i] - h
		lo := f(x)
		x[i] = in[i]
		for o, d := range dy {
			dx[i] += (hi[o] - lo[o]) / (2 * h) * d
		}
	}
	return dx
}

func argmax(v []float64) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}
