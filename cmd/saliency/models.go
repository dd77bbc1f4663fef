package main

import (
	"flag"
	"fmt"
	"strconv"
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
	fs.Var((*countFlag)(&f.threads), "threads", "TensorFlow intra-op threads, `n` ≥ 0 (0: one per core)")
}

// countFlag is an int flag that must be ≥ 0; a negative value is a usage
// error when the flags are parsed.
type countFlag int

func (c *countFlag) String() string { return strconv.Itoa(int(*c)) }
func (c *countFlag) Set(s string) error {
	v, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("want a whole number")
	}
	if v < 0 {
		return fmt.Errorf("must be ≥ 0")
	}
	*c = countFlag(v)
	return nil
}

func (f *modelFlags) options() tfgraph.Options {
	return tfgraph.Options{Tags: strings.Split(f.tags, ","), Signature: f.signature, IntraOpThreads: f.threads, ExactConvBackward: f.exact}
}

// load loads a model with its card, if it has one.
func (f *modelFlags) load(dir string) (*tfgraph.Model, *savedmodels.Card, error) {
	return experiments.LoadModel(dir, f.options())
}

// loadImages loads a model with its card and the preprocessing its images
// want; on error nothing is left open. For a model without a card it says on
// c.stderr what it assumes instead.
func (f *modelFlags) loadImages(c *ctx, cmd, dir string) (*tfgraph.Model, *savedmodels.Card, images.Spec, error) {
	m, card, spec, err := experiments.OpenModel(dir, f.options())
	if err == nil && card == nil {
		out := m.Output()
		classes := "the output's columns"
		if len(out.Shape) == 2 && out.Shape[1] > 0 {
			classes = fmt.Sprintf("%d, named \"class 0\" to \"class %d\"", out.Shape[1], out.Shape[1]-1)
		}
		fmt.Fprintf(c.stderr, "saliency %s: note: %s has no %s; assuming input %d×%d×%d from x = pixel/255 (RGB order), classes %s, output %s (docs/own-model.md says how to write a card)\n",
			cmd, dir, savedmodels.CardFile, spec.Height, spec.Width, spec.Channels, classes, out)
	}
	return m, card, spec, err
}
