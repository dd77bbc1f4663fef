//go:build cgo

package tfgraph

import (
	"fmt"
	"slices"
	"strings"

	tf "github.com/wamuir/graft/tensorflow"
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
// moved by Transposes right before a reduction or a softmax is followed (a
// softmax over axis 0, which tf.nn.softmax computes as Transpose, Softmax,
// Transpose), one moved further up is not.
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
			b := fl.batchAxis(in[0], 0)
			axes, ok := fl.constInts(in[1])
			if !ok || b >= len(s) || s[b] != batch {
				continue
			}
			for _, a := range axes {
				if a == int64(b) || a == int64(b-len(s)) {
					why = fmt.Sprintf("%s over axis %d (the batch) of %v", op, b, s)
					if b != 0 {
						why = fmt.Sprintf("%s over axis %d of %v, the batch's, which a Transpose moved there", op, b, s)
					}
					break
				}
			}
		case (op == "Softmax" || op == "LogSoftmax") && len(in) == 1 && onPath[nodeOf(in[0])]:
			// A softmax is over the last axis; tf.nn.softmax over another
			// axis transposes it last first.
			s := fl.Shape(in[0])
			if b := fl.batchAxis(in[0], 0); len(s) >= 2 && b == len(s)-1 && s[b] == batch {
				why = fmt.Sprintf("%s over axis %d of %v, the batch's, which a Transpose moved there (a softmax over axis 0)", op, b, s)
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

// batchAxis is the axis of tensor t that holds the batch: 0, unless
// Transposes of constant permutations (through Identity ops) moved it.
func (fl *Flat) batchAxis(t string, depth int) int {
	n := fl.nodes[nodeOf(t)]
	for n != nil && n.GetOp() == "Identity" && len(n.GetInput()) == 1 {
		n = fl.nodes[nodeOf(n.GetInput()[0])]
	}
	if n == nil || n.GetOp() != "Transpose" || len(n.GetInput()) != 2 || depth > 32 {
		return 0
	}
	perm, ok := fl.evalInts(n.GetInput()[1])
	if !ok {
		return 0
	}
	b := fl.batchAxis(n.GetInput()[0], depth+1)
	for i, p := range perm {
		if int(p) == b {
			return i
		}
	}
	return 0
}

// evalInts reads an integer tensor of the flat graph that constants alone
// determine: a Const, or one computed from constants (the permutation
// tf.nn.softmax builds with Range and ConcatV2 for another axis than the
// last), by running it alone; false when it needs the input.
func (fl *Flat) evalInts(name string) ([]int64, bool) {
	if v, ok := fl.constInts(name); ok {
		return v, true
	}
	o, err := fl.tensor(name)
	if err != nil || (o.DataType() != tf.Int32 && o.DataType() != tf.Int64) {
		return nil, false
	}
	var res []*tf.Tensor
	var rerr error
	if e := fl.model.session(func(s *tf.Session) {
		fl.quiet.do(runKey(nil, []tf.Output{o}, nil), func() { res, rerr = s.Run(nil, []tf.Output{o}, nil) })
	}); e != nil || rerr != nil || len(res) != 1 {
		return nil, false
	}
	defer release(res...)
	switch v := res[0].Value().(type) {
	case []int32:
		out := make([]int64, len(v))
		for i, x := range v {
			out[i] = int64(x)
		}
		return out, true
	case []int64:
		return v, true
	}
	return nil, false
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
