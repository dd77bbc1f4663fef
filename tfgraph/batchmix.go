//go:build cgo

package tfgraph

import (
	"fmt"
	"slices"
	"strings"
)

// BatchOp is an op on the way from the input to the model's scores that
// combines the images of a batch: its output for one image depends on the
// others.
type BatchOp struct {
	Op, Node, Layer string
	// Why says what the op does across the batch.
	Why string
}

// batchReductions are the ops that reduce their first input over the axes
// their second input gives (Cumsum and Cumprod accumulate along one).
var batchReductions = []string{"Mean", "Sum", "Max", "Min", "Prod", "EuclideanNorm", "All", "Any", "ArgMax", "ArgMin", "Cumsum", "Cumprod"}

// BatchOps lists the ops on the path from the input to the scores (Logits)
// that combine the images of a batch, in graph order: a reduction whose
// axes include axis 0 of a tensor whose first axis is the batch's (unknown,
// or the input's own fixed batch size), as a Keras BatchNormalization called
// with training=True computes its statistics (moments over axes 0, 1, 2), or
// as x - mean(x, axis=0) does; and a FusedBatchNorm in training mode
// (is_training true, its default).
// Such a model's output, and so its maps, for one image depend on the other
// images of the batch: TensorFlow's gradient of the batch's scores then
// mixes every image's score into each image's map. A model whose input has
// a fixed batch of one has none. The check reads the graph: a batch axis
// moved by a Transpose before the reduction is not followed.
func (fl *Flat) BatchOps() []BatchOp {
	logits, _ := fl.Logits()
	_, onPath, err := fl.path(nodeOf(logits), nodeOf(fl.inputName()))
	if err != nil {
		return nil
	}
	batch := int64(-1)
	if s := fl.Shape(fl.inputName()); len(s) > 0 {
		batch = s[0]
	}
	if batch == 1 {
		return nil
	}
	var out []BatchOp
	for _, n := range fl.order {
		if !onPath[n.GetName()] {
			continue
		}
		in := n.GetInput()
		why := ""
		switch op := n.GetOp(); {
		case slices.Contains(batchReductions, op) && len(in) >= 2 && onPath[nodeOf(in[0])]:
			s := fl.Shape(in[0])
			axes, ok := fl.constInts(in[1])
			if !ok || len(s) == 0 || s[0] != batch {
				continue
			}
			for _, a := range axes {
				if a == 0 || a == -int64(len(s)) {
					why = fmt.Sprintf("%s over axis 0 (the batch) of %v", op, s)
					break
				}
			}
		case op == "FusedBatchNorm" || op == "FusedBatchNormV2" || op == "FusedBatchNormV3":
			// A NodeDef leaves out attributes at their default, and
			// is_training's is true.
			if v, ok := attr(n, "is_training"); !ok || v == true {
				why = op + " with is_training: the batch's mean and variance"
			}
		}
		if why != "" {
			out = append(out, BatchOp{Op: n.GetOp(), Node: n.GetName(), Layer: fl.layerOf(n.GetName()), Why: why})
		}
	}
	return out
}

// DescribeBatchOps lists ops for a message: what each does and its layer,
// each distinct line once, in order.
func DescribeBatchOps(ops []BatchOp) string {
	var out []string
	for _, b := range ops {
		s := b.Why + " (layer " + b.Layer + ")"
		if b.Layer == "none" {
			s = b.Why + " (node " + b.Node + ")"
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return strings.Join(out, "; ")
}
