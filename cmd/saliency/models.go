package main

import (
	"flag"
	"strings"

	"github.com/saliencykit/saliency/experiments"
	"github.com/saliencykit/saliency/images"
	"github.com/saliencykit/saliency/savedmodels"
	"github.com/saliencykit/saliency/tfgraph"
)

// modelFlags are the flags every command that loads a SavedModel takes.
type modelFlags struct {
	tags      string
	signature string
	threads   int
	exact     bool // registered by the commands that take gradients
}

func (f *modelFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.tags, "tags", tfgraph.DefaultTag, "comma-separated MetaGraph tags")
	fs.StringVar(&f.signature, "signature", tfgraph.DefaultSignature, "signature to run")
	fs.IntVar(&f.threads, "threads", 0, "TensorFlow intra-op threads (0: one per core)")
}

func (f *modelFlags) options() tfgraph.Options {
	return tfgraph.Options{Tags: strings.Split(f.tags, ","), Signature: f.signature, IntraOpThreads: f.threads, ExactConvBackward: f.exact}
}

// load loads a model with its card, if it has one.
func (f *modelFlags) load(dir string) (*tfgraph.Model, *savedmodels.Card, error) {
	return experiments.LoadModel(dir, f.options())
}

// loadImages loads a model with its card and the preprocessing its images
// want; on error nothing is left open.
func (f *modelFlags) loadImages(dir string) (*tfgraph.Model, *savedmodels.Card, images.Spec, error) {
	return experiments.OpenModel(dir, f.options())
}
