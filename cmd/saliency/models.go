package main

import (
	"flag"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/saliencykit/saliency/experiments"
	"github.com/saliencykit/saliency/savedmodels"
	"github.com/saliencykit/saliency/tfgraph"
)

// modelFlags are the flags every command that loads a SavedModel takes.
type modelFlags struct {
	tags       string
	signature  string
	output     string
	inputRange rangeFlag
	threads    int
	conv       tfgraph.ConvBackward // registerConv
}

func (f *modelFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.tags, "tags", tfgraph.DefaultTag, "comma-separated MetaGraph tags")
	fs.StringVar(&f.signature, "signature", tfgraph.DefaultSignature, "signature to run")
	fs.StringVar(&f.output, "output", "", "signature output `key` that holds the class scores (default: the card's output.signature_key, else the first)")
	fs.Var(&f.inputRange, "input-range", "model input of a black and a white pixel, `lo,hi` (e.g. 0,255 or -1,1): x = lo + p·(hi-lo)/255, replacing the card's preprocessing (default: the card's, else inferred from the model's own input rescaling, else 0,1)")
	fs.Var((*threadsFlag)(&f.threads), "threads", threadsUsage)
}

// registerConv registers -conv-backward, for the commands that take
// gradients (and inspect, which says what it does).
func (f *modelFlags) registerConv(fs *flag.FlagSet) {
	fs.Var((*convFlag)(&f.conv), "conv-backward", "how gradients go through stride-1 convolutions: `auto` (TensorFlow's kernels on Intel CPUs, forward convolutions of the flipped kernels elsewhere: the faster there), derived, or exact (TensorFlow's Conv2DBackpropInput: bit-identical to tf.GradientTape)")
}

// convFlag is -conv-backward auto|derived|exact.
type convFlag tfgraph.ConvBackward

func (c *convFlag) String() string { return tfgraph.ConvBackward(*c).String() }

func (c *convFlag) Set(s string) error {
	v, err := tfgraph.ParseConvBackward(s)
	if err != nil {
		return fmt.Errorf("want auto, derived or exact")
	}
	*c = convFlag(v)
	return nil
}

// threadsUsage is the help of every -threads flag.
const threadsUsage = "TensorFlow intra-op threads, `n` from 0 (one per CPU) to the CPUs this process may use"

// threadsFlag is the -threads flag: a whole number from 0 to
// experiments.MaxThreads(). Anything else is a usage error when the flags
// are parsed: more threads than CPUs only make TensorFlow's threads wait for
// each other (-threads 1000 took a 23 s run past 14 minutes), so a larger
// value is refused rather than clamped, which would change the run's bytes
// without a word.
type threadsFlag int

func (c *threadsFlag) String() string { return strconv.Itoa(int(*c)) }
func (c *threadsFlag) Set(s string) error {
	v, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("want a whole number")
	}
	if v < 0 {
		return fmt.Errorf("must be ≥ 0")
	}
	if limit := experiments.MaxThreads(); v > limit {
		return fmt.Errorf("more than the %d CPUs this process may use; want 0 (one per CPU) to %d", limit, limit)
	}
	*c = threadsFlag(v)
	return nil
}

// rangeFlag is -input-range lo,hi.
type rangeFlag []float64

func (r *rangeFlag) String() string {
	if len(*r) == 0 {
		return ""
	}
	return fmt.Sprintf("%g,%g", (*r)[0], (*r)[1])
}

func (r *rangeFlag) Set(s string) error {
	a, b, ok := strings.Cut(s, ",")
	lo, err1 := strconv.ParseFloat(strings.TrimSpace(a), 64)
	hi, err2 := strconv.ParseFloat(strings.TrimSpace(b), 64)
	if !ok || err1 != nil || err2 != nil || math.IsNaN(lo) || math.IsNaN(hi) || math.IsInf(lo, 0) || math.IsInf(hi, 0) || lo == hi {
		return fmt.Errorf("want two different finite numbers lo,hi, e.g. 0,255")
	}
	*r = rangeFlag{lo, hi}
	return nil
}

func (f *modelFlags) options() tfgraph.Options {
	return tfgraph.Options{Tags: strings.Split(f.tags, ","), Signature: f.signature, Output: f.output, IntraOpThreads: f.threads, ConvBackward: f.conv}
}

// load loads a model with its card, if it has one.
func (f *modelFlags) load(dir string) (*tfgraph.Model, *savedmodels.Card, error) {
	return experiments.LoadModel(dir, f.options())
}

// loadImages loads a model with its card and the preprocessing its images
// want, with its flat graph and card kind checked (experiments.Open); on
// error nothing is left open. It says on
// c.stderr what it assumes for a model without a card, and warns of what may
// make the results wrong (random ops at inference, a pixel mapping the
// model's own input rescaling contradicts).
func (f *modelFlags) loadImages(c *ctx, cmd, dir string) (*experiments.Opened, error) {
	op, err := experiments.Open(dir, f.options(), experiments.OpenOptions{InputRange: f.inputRange})
	if err != nil {
		return nil, err
	}
	for _, n := range op.Notes {
		fmt.Fprintf(c.stderr, "saliency %s: note: %s\n", cmd, n)
	}
	for _, w := range op.Warnings {
		fmt.Fprintf(c.stderr, "saliency %s: warning: %s\n", cmd, w)
	}
	return op, nil
}
