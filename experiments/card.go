package experiments

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/saliencykit/saliency/savedmodels"
	"github.com/saliencykit/saliency/tfgraph"
)

// CheckCard checks a model card against the model it describes, so that a
// card written for another model gives an error instead of wrong labels or
// probabilities above 100%:
//
//   - input.shape equals the signature's input where both are known;
//   - the number of classes equals the size of the signature's output;
//   - output.kind agrees with the graph: "probabilities" for a model that ends
//     in a softmax, "logits" for one that does not (checked when fl is not nil).
//
// A card's signature keys, when given, must name the signature's input and
// output. The error names the card file.
func CheckCard(card *savedmodels.Card, m *tfgraph.Model, fl *tfgraph.Flat) error {
	if card == nil {
		return nil
	}
	path := filepath.Join(m.Dir, savedmodels.CardFile)
	in, out := m.Input(), m.Output()
	if k := card.Input.SignatureKey; k != "" && k != in.Key {
		return fmt.Errorf("%s: input.signature_key %q, but signature %q's input is %q", path, k, m.Signature.Name, in.Key)
	}
	if k := card.Output.SignatureKey; k != "" {
		found := false
		for _, o := range m.Signature.Outputs {
			found = found || o.Key == k
		}
		if !found {
			return fmt.Errorf("%s: output.signature_key %q, but signature %q has outputs %s", path, k, m.Signature.Name, outputKeys(m))
		}
		for _, o := range m.Signature.Outputs {
			if o.Key == k {
				out = o
			}
		}
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
	if len(out.Shape) == 2 && out.Shape[1] > 0 && int64(len(card.Classes)) != out.Shape[1] {
		return fmt.Errorf("%s: %d classes, but the model's output %s has %d", path, len(card.Classes), out, out.Shape[1])
	}
	if fl != nil {
		_, softmax := fl.Logits()
		switch {
		case card.Output.Kind == "probabilities" && !softmax:
			return fmt.Errorf("%s: output.kind probabilities, but the model does not end in a softmax: its outputs are logits (say output.kind: logits)", path)
		case card.Output.Kind == "logits" && softmax:
			return fmt.Errorf("%s: output.kind logits, but the model ends in a softmax: its outputs are probabilities (say output.kind: probabilities)", path)
		}
	}
	return nil
}

func outputKeys(m *tfgraph.Model) string {
	var k []string
	for _, o := range m.Signature.Outputs {
		k = append(k, o.Key)
	}
	return strings.Join(k, ", ")
}
