package experiments

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/saliencykit/saliency/savedmodels"
	"github.com/saliencykit/saliency/tfgraph"
)

// CheckCard checks a model card against the model's signature, so that a
// card written for another model gives an error instead of wrong labels:
//
//   - the card's signature keys, when given, name the signature's input and
//     an output;
//   - input.shape equals the signature's input where both are known;
//   - the number of classes equals the size of the signature's output.
//
// OpenModel calls it; ApplyCardKind checks output.kind once the flat graph
// is built. The error names the card file.
func CheckCard(card *savedmodels.Card, m *tfgraph.Model) error {
	if card == nil {
		return nil
	}
	path := filepath.Join(m.Dir, savedmodels.CardFile)
	in, out := m.Input(), m.Output()
	if k := card.Input.SignatureKey; k != "" && k != in.Key {
		return fmt.Errorf("%s: input.signature_key %q, but signature %q's input is %q", path, k, m.Signature.Name, in.Key)
	}
	if k := card.Output.SignatureKey; k != "" {
		i := slices.IndexFunc(m.Signature.Outputs, func(o tfgraph.TensorInfo) bool { return o.Key == k })
		if i < 0 {
			return fmt.Errorf("%s: output.signature_key %q, but signature %q has outputs %s", path, k, m.Signature.Name, keysOf(m.Signature.Outputs))
		}
		// The model explains the output LoadModel selected (the card's, or
		// the -output flag's, which wins); its classes are checked.
	}
	if len(in.Shape) == 4 {
		for i := 1; i < 4; i++ {
			if in.Shape[i] > 0 && int64(card.Input.Shape[i]) != in.Shape[i] {
				return fmt.Errorf("%s: input.shape %v, but the model's input is %s", path, card.Input.Shape, in)
			}
		}
	} else if in.Shape != nil {
		return fmt.Errorf("%s: input.shape %v, but the model's input is %s", path, card.Input.Shape, in)
	}
	if len(out.Shape) == 2 && out.Shape[1] == 1 && len(card.Classes) != 2 {
		// A binary classifier's one column: class 0 is the negative class
		// (score −z), class 1 the positive one (z), as Keras' labels.
		return fmt.Errorf("%s: %d classes, but the model's output %s has one column, a binary classifier's: list its two classes, the negative one (0, whose probability is one minus the output's) first", path, len(card.Classes), out)
	}
	if len(out.Shape) == 2 && out.Shape[1] > 1 && int64(len(card.Classes)) != out.Shape[1] {
		return fmt.Errorf("%s: %d classes, but the model's output %s has %d", path, len(card.Classes), out, out.Shape[1])
	}
	return nil
}

// ApplyCardKind checks a card's output.kind against the flat graph, so that
// a card never turns logits into probabilities above 100%, nor a multi-label
// head into a softmax: "probabilities" for a model that ends in a softmax,
// "log-probabilities" for one that ends in a log_softmax, "sigmoid" for one
// that ends in a sigmoid (or has logits of independent labels: the flat
// graph is then told so, SetLabelLogits, and its class probabilities are
// the logits' sigmoids), "logits" for one that ends in none of them;
// probabilities computed from softmaxes with no logits behind them (an
// ensemble's average, Flat.Probabilities) are "probabilities" ("sigmoid"
// from sigmoids), and a card may call the outputs of a model whose graph
// shows no softmax "probabilities" when they are for constant images (the
// flat graph is told so, SetProbabilities). A
// softmax over one column, 1 for every image, is refused with or without a
// card, and so is a card that calls one logit (a binary classifier's, whose
// probability is its sigmoid) the logits of exclusive classes.
func ApplyCardKind(card *savedmodels.Card, fl *tfgraph.Flat, dir string) error {
	logits, activated := fl.Logits()
	head := fl.Head()
	if s := fl.Shape(logits); len(s) == 2 && s[1] == 1 && (head == "softmax" || head == "log_softmax") {
		return fmt.Errorf("%s: the model's %s is over one column: its output is %s for every image, whatever the input (a binary classifier's one unit takes a sigmoid)", dir, head, map[string]string{"softmax": "1", "log_softmax": "0"}[head])
	}
	if card == nil {
		return nil
	}
	path := filepath.Join(dir, savedmodels.CardFile)
	if !activated && head != "probabilities" {
		// Logits without an activation in the graph: "sigmoid" for one
		// column, a binary classifier's logit.
		head = ""
	}
	behind := fl.Probabilities()
	switch {
	case head == "probabilities" && card.Output.Kind == "probabilities" && strings.HasPrefix(behind, "Softmax"):
	case head == "probabilities" && card.Output.Kind == "sigmoid" && strings.HasPrefix(behind, "Sigmoid"):
	case head == "probabilities":
		// Probabilities with no logits behind them (an ensemble's average
		// of softmaxes): they are not logits to take the softmax of.
		kind := "probabilities"
		if strings.HasPrefix(behind, "Sigmoid") {
			kind = "sigmoid"
		}
		return fmt.Errorf("%s: output.kind %s, but the model's outputs are probabilities computed from a %s by ops that move, scale, add or average them, with no logits behind them (say output.kind: %s)", path, card.Output.Kind, behind, kind)
	case card.Output.Kind == "probabilities" && head == "":
		// A graph that shows no softmax (scores normalised otherwise, or a
		// softmax inside an op saliency cannot look into): the card says
		// the outputs are probabilities. They must be for constant images
		// (predict checks its images too, faithfulness and ROAD every
		// batch), so that a card does not make logits probabilities.
		if !probabilityOutputs(fl, card.ImageSpec()) {
			return fmt.Errorf("%s: output.kind probabilities, but the model does not end in a softmax, and its outputs for constant images (black, grey and white, as the card's preprocessing maps them) are not probabilities (each row non-negative and summing to 1): logits? (say output.kind: logits)", path)
		}
		fl.SetProbabilities(tfgraph.ProbabilitiesByCard)
	case card.Output.Kind == "probabilities" && head != "softmax":
		return fmt.Errorf("%s: output.kind probabilities, but the model does not end in a softmax: its outputs are %s (say output.kind: %s)", path, headWhat(head), headKind(head))
	case card.Output.Kind == "log-probabilities" && head != "log_softmax":
		return fmt.Errorf("%s: output.kind log-probabilities, but the model does not end in a log_softmax: its outputs are %s (say output.kind: %s)", path, headWhat(head), headKind(head))
	case card.Output.Kind == "logits" && head == "" && fl.Head() == "sigmoid":
		return fmt.Errorf("%s: output.kind logits, but the model's output has one column: the softmax of one logit is 1 for every image; a binary classifier's logit is output.kind sigmoid (its probability is the logit's sigmoid)", path)
	case card.Output.Kind == "logits" && head != "":
		return fmt.Errorf("%s: output.kind logits, but the model ends in a %s: its outputs are %s (say output.kind: %s)", path, head, headWhat(head), headKind(head))
	case card.Output.Kind == "sigmoid" && (head == "softmax" || head == "log_softmax"):
		return fmt.Errorf("%s: output.kind sigmoid, but the model ends in a %s: its outputs are %s (say output.kind: %s)", path, head, headWhat(head), headKind(head))
	case card.Output.Kind == "sigmoid" && head == "":
		fl.SetLabelLogits()
	}
	return nil
}

func headWhat(head string) string {
	switch head {
	case "softmax":
		return "probabilities of exclusive classes"
	case "log_softmax":
		return "log-probabilities of exclusive classes"
	case "sigmoid":
		return "independent probabilities of each label"
	}
	return "logits"
}

func headKind(head string) string {
	switch head {
	case "softmax":
		return "probabilities"
	case "log_softmax":
		return "log-probabilities"
	case "sigmoid":
		return "sigmoid"
	}
	return "logits"
}

// keysOf lists the signature keys of tensors, for messages.
func keysOf(ts []tfgraph.TensorInfo) string {
	k := make([]string, len(ts))
	for i, t := range ts {
		k[i] = t.Key
	}
	return strings.Join(k, ", ")
}
