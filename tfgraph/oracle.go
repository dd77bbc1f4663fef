//go:build cgo

package tfgraph

import (
	"fmt"

	"github.com/saliencykit/saliency/tensor"
	tf "github.com/wamuir/graft/tensorflow"
)

// Logits returns the flat tensor of the target scores and whether it was
// found behind the model's final activation: when the model ends in a
// Softmax, a LogSoftmax (or the Log of a Softmax, with Identity ops and
// float casts between them too) or a Sigmoid (after Identity ops and casts
// between float types),
// the scores are its input, the logits (Simonyan et al. 2013); otherwise
// they are the signature's selected output (Model.Output). Head says which
// activation it was.
func (fl *Flat) Logits() (string, bool) {
	name, head := fl.logitsHead()
	return name, head != ""
}

// Head is the model's final activation: "softmax" (probabilities over
// exclusive classes), "log_softmax" (their logarithms, as PyTorch models
// often return), "sigmoid" (one probability per label: a multi-label head)
// or "" (the output is the scores themselves, e.g. logits).
func (fl *Flat) Head() string {
	_, head := fl.logitsHead()
	return head
}

func (fl *Flat) logitsHead() (string, string) {
	name := fl.Output()
	// logOut is a final Log's output while the walk looks behind it for
	// the Softmax of log(softmax(z)), a log_softmax written in two ops (as
	// torch.log(F.softmax(z)) converts), through the same Identity ops and
	// casts; anything else there leaves the Log's output as the scores.
	logOut := ""
	stop := func(name string) (string, string) {
		if logOut != "" {
			return logOut, ""
		}
		return name, ""
	}
	for {
		n := fl.nodes[nodeOf(name)]
		if n == nil || len(n.GetInput()) == 0 {
			return stop(name)
		}
		switch n.GetOp() {
		case "Identity":
			name = n.GetInput()[0]
		case "Cast":
			// A float16 softmax cast to float32 (a mixed-precision model
			// whose last layer was left in float16).
			if src, ok := attr(n, "SrcT"); !ok || !isFloat(src.(tf.DataType)) {
				return stop(name)
			}
			name = n.GetInput()[0]
		case "Softmax":
			if logOut != "" {
				return n.GetInput()[0], "log_softmax"
			}
			return n.GetInput()[0], "softmax"
		case "Log":
			if logOut != "" {
				return stop(name)
			}
			logOut, name = name, n.GetInput()[0]
		case "LogSoftmax":
			if logOut != "" {
				return stop(name)
			}
			return n.GetInput()[0], "log_softmax"
		case "Sigmoid":
			if logOut != "" {
				return stop(name)
			}
			return n.GetInput()[0], "sigmoid"
		default:
			return stop(name)
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
func (fl *Flat) OracleGradient(x *tensor.Tensor, classes []int) (*tensor.Tensor, error) {
	return fl.OracleGradientAt(x, classes, fl.inputName())
}

// OracleGradientAt is OracleGradient with respect to a flat tensor of the
// graph (e.g. a layer's output) instead of the input. The gradient ops are
// added once per tensor.
func (fl *Flat) OracleGradientAt(x *tensor.Tensor, classes []int, at string) (*tensor.Tensor, error) {
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
