package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/saliencykit/saliency/images"
	"github.com/saliencykit/saliency/savedmodels"
	"github.com/saliencykit/saliency/tfgraph"
)

// modelFlags are the flags every command that loads a SavedModel takes.
type modelFlags struct {
	tags      string
	signature string
	threads   int
}

func (f *modelFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.tags, "tags", tfgraph.DefaultTag, "comma-separated MetaGraph tags")
	fs.StringVar(&f.signature, "signature", tfgraph.DefaultSignature, "signature to run")
	fs.IntVar(&f.threads, "threads", 0, "TensorFlow intra-op threads (0: one per core)")
}

func (f *modelFlags) load(dir string) (*tfgraph.Model, *savedmodels.Card, error) {
	card, err := savedmodels.ReadCard(dir)
	if errors.Is(err, savedmodels.ErrNoCard) {
		card, err = nil, nil
	}
	if err != nil {
		if _, statErr := os.Stat(dir); statErr != nil {
			card, err = nil, nil // Load says what is wrong with the folder
		} else {
			return nil, nil, err
		}
	}
	opts := &tfgraph.Options{
		Tags:           strings.Split(f.tags, ","),
		Signature:      f.signature,
		IntraOpThreads: f.threads,
	}
	if card != nil {
		for _, l := range card.Layers {
			opts.KerasLayers = append(opts.KerasLayers, tfgraph.KerasLayer{Name: l.Name, Class: l.Class, OutputShape: l.OutputShape})
		}
	}
	m, err := tfgraph.Load(dir, opts)
	if err != nil {
		return nil, nil, err
	}
	return m, card, nil
}

// loadImages loads a model with its card and the preprocessing its images
// want; on error nothing is left open.
func (f *modelFlags) loadImages(dir string) (*tfgraph.Model, *savedmodels.Card, images.Spec, error) {
	m, card, err := f.load(dir)
	if err != nil {
		return nil, nil, images.Spec{}, err
	}
	spec, err := imageSpec(m, card)
	if err != nil {
		m.Close()
		return nil, nil, images.Spec{}, err
	}
	return m, card, spec, nil
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
