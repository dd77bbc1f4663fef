package tfgraph

import (
	"fmt"

	tf "github.com/wamuir/graft/tensorflow"
)

// Logits returns the flat tensor of the target scores and whether it was found
// behind a softmax: when the model ends in a Softmax (after Identity ops), the
// scores are its input, the logits (Simonyan et al. 2013); otherwise they are
// the signature's first output.
func (fl *Flat) Logits() (string, bool) {
	name := fl.Output()
	for {
		n := fl.nodes[nodeOf(name)]
		if n == nil || len(n.GetInput()) == 0 {
			return name, false
		}
		switch n.GetOp() {
		case "Identity":
			name = n.GetInput()[0]
		case "Softmax":
			return n.GetInput()[0], true
		default:
			return name, false
		}
	}
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
func (fl *Flat) OracleGradient(x *Tensor, classes []int) (*Tensor, error) {
	fl.oracleOnce.Do(func() { fl.oracleErr = fl.addOracle() })
	if fl.oracleErr != nil {
		return nil, fl.oracleErr
	}
	onehot, err := fl.oneHot(fl.oracleLogits, x, classes)
	if err != nil {
		return nil, err
	}
	outs, err := fl.runWith(x, nil, map[tf.Output]*Tensor{fl.oracleSeed: onehot}, []tf.Output{fl.oracleGrad})
	if err != nil {
		return nil, err
	}
	return outs[0], nil
}

func (fl *Flat) addOracle() error {
	logits, _ := fl.Logits()
	op, idx, err := parseTensorName(logits)
	if err != nil {
		return err
	}
	y := fl.graph.Operation(op).Output(idx)
	if y.Shape().NumDimensions() != 2 {
		return fmt.Errorf("tfgraph: %s: scores %s have shape %v, want [batch, classes]", fl.model.Dir, logits, y.Shape())
	}
	seed, err := fl.graph.AddOperation(tf.OpSpec{Type: "Placeholder", Name: "saliency_oracle/seed",
		Attrs: map[string]any{"dtype": tf.Float, "shape": y.Shape()}})
	if err != nil {
		return fmt.Errorf("tfgraph: %s: oracle: %w", fl.model.Dir, err)
	}
	grads, err := fl.graph.AddGradients("saliency_oracle/grad", []tf.Output{y}, []tf.Output{fl.inputs[0]}, []tf.Output{seed.Output(0)})
	if err != nil {
		return fmt.Errorf("tfgraph: %s: TensorFlow cannot differentiate the flat graph: %s", fl.model.Dir, firstLine(err.Error()))
	}
	fl.oracleLogits, fl.oracleSeed, fl.oracleGrad = y, seed.Output(0), grads[0]
	return nil
}

func shapeOf(x *Tensor) []int {
	if x == nil {
		return nil
	}
	return x.Shape
}

// OracleGradientAt is OracleGradient with respect to a flat tensor of the
// graph (e.g. a layer's output) instead of the input. Each call adds gradient
// ops to the graph: it is meant for tests.
func (fl *Flat) OracleGradientAt(x *Tensor, classes []int, tensor string) (*Tensor, error) {
	logits, _ := fl.Logits()
	y, err := fl.tensor(logits)
	if err != nil {
		return nil, err
	}
	at, err := fl.tensor(tensor)
	if err != nil {
		return nil, err
	}
	fl.bw.mu.Lock()
	fl.bw.n++
	prefix := fmt.Sprintf("saliency_oracle%d", fl.bw.n)
	fl.bw.mu.Unlock()
	seed, err := fl.graph.AddOperation(tf.OpSpec{Type: "Placeholder", Name: prefix + "/seed",
		Attrs: map[string]any{"dtype": tf.Float, "shape": y.Shape()}})
	if err != nil {
		return nil, err
	}
	grads, err := fl.graph.AddGradients(prefix+"/grad", []tf.Output{y}, []tf.Output{at}, []tf.Output{seed.Output(0)})
	if err != nil {
		return nil, fmt.Errorf("tfgraph: %s: TensorFlow cannot differentiate the flat graph: %s", fl.model.Dir, firstLine(err.Error()))
	}
	onehot, err := fl.oneHot(y, x, classes)
	if err != nil {
		return nil, err
	}
	outs, err := fl.runWith(x, nil, map[tf.Output]*Tensor{seed.Output(0): onehot}, []tf.Output{grads[0]})
	if err != nil {
		return nil, err
	}
	return outs[0], nil
}
