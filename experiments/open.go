package experiments

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/saliencykit/saliency/images"
	"github.com/saliencykit/saliency/savedmodels"
	"github.com/saliencykit/saliency/tfgraph"
)

// OpenModel loads a SavedModel with its card (savedmodels.CardFile), when it
// has one, and the preprocessing its images want: the card's, or for a model
// without a card the signature's input size with pixels scaled to [0,1]. The
// card's layers complete the flat graph's (tfgraph.Options.KerasLayers). A
// card whose input shape or class count disagrees with the signature is an
// error (CheckCard; CheckCardKind checks output.kind once the flat graph is
// built). On error nothing is left open; the caller closes the model.
func OpenModel(dir string, o tfgraph.Options) (*tfgraph.Model, *savedmodels.Card, images.Spec, error) {
	m, card, err := LoadModel(dir, o)
	if err != nil {
		return nil, nil, images.Spec{}, err
	}
	if ins := m.Signature.Inputs; len(ins) != 1 {
		m.Close()
		return nil, nil, images.Spec{}, fmt.Errorf("%s: signature %q has %d inputs (%s); saliency explains models with one image input (another signature: -signature, or the YAML key signature)",
			dir, m.Signature.Name, len(ins), keysOf(ins))
	}
	spec, err := imageSpec(m, card)
	if err == nil {
		err = CheckCard(card, m)
	}
	if err != nil {
		m.Close()
		return nil, nil, images.Spec{}, err
	}
	return m, card, spec, nil
}

// LoadModel is OpenModel without the image preprocessing, for models whose
// input is not an image.
func LoadModel(dir string, o tfgraph.Options) (*tfgraph.Model, *savedmodels.Card, error) {
	card, err := savedmodels.ReadCard(dir)
	if errors.Is(err, savedmodels.ErrNoCard) {
		card, err = nil, nil
	}
	if err != nil {
		if st, statErr := os.Stat(dir); statErr != nil || !st.IsDir() {
			card, err = nil, nil // Load says what is wrong with the folder
		} else {
			return nil, nil, err
		}
	}
	if card != nil {
		o.KerasLayers = nil
		for _, l := range card.Layers {
			o.KerasLayers = append(o.KerasLayers, tfgraph.KerasLayer{Name: l.Name, Class: l.Class, OutputShape: l.OutputShape})
		}
	}
	m, err := tfgraph.Load(dir, &o)
	if err != nil {
		return nil, nil, err
	}
	return m, card, nil
}

// imageSpec is the card's preprocessing, or for a model without a card the
// signature's input size with pixels scaled to [0,1].
func imageSpec(m *tfgraph.Model, card *savedmodels.Card) (images.Spec, error) {
	if card != nil {
		return card.ImageSpec(), nil
	}
	in := m.Input()
	if len(in.Shape) != 4 || in.Shape[1] <= 0 || in.Shape[2] <= 0 || in.Shape[3] <= 0 {
		return images.Spec{}, fmt.Errorf("%s: input %s is not an image batch [N,H,W,C] of known size, and there is no %s to say what it wants",
			m.Dir, in, filepath.Join(m.Dir, savedmodels.CardFile))
	}
	return images.Spec{Height: int(in.Shape[1]), Width: int(in.Shape[2]), Channels: int(in.Shape[3])}, nil
}
