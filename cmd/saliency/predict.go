package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"sort"
	"strings"

	"github.com/saliencykit/saliency/experiments"
	"github.com/saliencykit/saliency/images"
	"github.com/saliencykit/saliency/savedmodels"
	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

var predictCmd = &command{
	name:  "predict",
	args:  "[flags] SAVEDMODEL_DIR IMAGE...",
	short: "classify images with a SavedModel (top-k classes)",
	long: `Predict preprocesses each image as the model card says (size, colour, scale),
runs them through the model as one batch and prints the top-k classes with
their probabilities and, for a model that outputs logits, the logits.

An image that cannot be read is reported and the others are still classified;
the exit status is then 1.`,
	flags: func(fs *flag.FlagSet) func(*ctx, []string) error {
		var mf modelFlags
		mf.register(fs)
		k := fs.Int("k", 3, "number of classes to show per image")
		return func(c *ctx, args []string) error {
			if len(args) < 2 {
				return usagef("want a SavedModel folder and at least one image")
			}
			if *k < 1 {
				return usagef("-k must be at least 1, got %d", *k)
			}
			return predict(c, &mf, args[0], args[1:], *k)
		}
	},
}

func predict(c *ctx, mf *modelFlags, dir string, paths []string, k int) error {
	op, err := mf.loadImages(c, "predict", dir)
	if err != nil {
		return err
	}
	if err := experiments.CheckScores(dir, op); err != nil {
		op.Model.Close()
		return err
	}
	m, card, spec := op.Model, op.Card, op.Spec
	defer m.Close()
	var items []*tensor.Tensor
	var good []string
	failed := 0
	for _, p := range paths {
		img, err := loadImage(c.stderr, "predict", p)
		var x []float32
		if err == nil {
			x, err = images.ToInput(img, spec)
		}
		if err != nil {
			fmt.Fprintf(c.stderr, "saliency predict: %v\n", err)
			failed++
			continue
		}
		items = append(items, &tensor.Tensor{Shape: []int{spec.Height, spec.Width, spec.Channels}, Data: x})
		good = append(good, p)
	}
	if len(items) > 0 {
		batch, err := tensor.Stack(items)
		if err != nil {
			return err
		}
		// The scores shown: the model's outputs, or, when the model maps
		// its head's values further (a softmax in percent, a clipped
		// log-probability), its logits, whose probabilities are the
		// classes'.
		mapped := len(op.Flat.HeadOps()) > 0
		// A binary classifier's one logit z is shown as its two classes,
		// 0 (−z) and 1 (z).
		_, binary := op.Flat.BinaryLogit()
		var out *tensor.Tensor
		if mapped || binary {
			logits, _ := op.Flat.Logits()
			res, err := op.Flat.Run(context.Background(), batch, tfgraph.Query{Fetch: []string{logits}})
			if err != nil {
				return err
			}
			out = res.Fetched[0]
		} else if out, err = m.Forward(batch); err != nil {
			return err
		}
		// Scores that are not finite (a log of a black pixel inside the
		// model) are reported by image, as unreadable images are; the
		// others are shown.
		if len(out.Shape) == 2 {
			var keep []*tensor.Tensor
			var kept []string
			for i, p := range good {
				row := out.Item(i)
				if j := tensor.FirstNonFinite(row.Data); j >= 0 {
					fmt.Fprintf(c.stderr, "saliency predict: %s: the model's score of class %d is %v, not a finite number: the model cannot take this input as fed (%s); check the input range (-input-range, the card's preprocessing)\n", p, j, row.Data[j], spec.Formula())
					failed++
					continue
				}
				keep, kept = append(keep, row), append(kept, p)
			}
			if len(kept) == 0 {
				return fmt.Errorf("%d of %d images could not be read or scored", failed, len(paths))
			}
			if len(kept) < len(good) {
				if out, err = tensor.Stack(keep); err != nil {
					return err
				}
				good = kept
			}
		}
		// head: how the outputs become probabilities. A sigmoid head's
		// outputs are probabilities when the graph ends in the sigmoid,
		// logits otherwise (the logits of a mapped sigmoid, or logits of
		// independent labels that the graph leaves without the sigmoid: one
		// column, a binary classifier's; a card's output.kind sigmoid).
		_, activated := op.Flat.Logits()
		sigmoidApplied := op.Flat.Head() == "sigmoid" && activated && !mapped && !binary
		head := ""
		probs := op.Flat.Probabilities()
		switch {
		case op.Flat.Head() == "probabilities" && strings.HasPrefix(probs, "Sigmoid"):
			// An average of sigmoids: each label's own probability.
			head, sigmoidApplied = "sigmoid", true
		case op.Flat.Head() == "probabilities" && tensor.ProbabilityRows(out):
			head = "softmax"
		case op.Flat.Head() == "probabilities" && op.Flat.ProbabilitiesInGraph() && unitInterval(out.Data):
			// Probabilities of some classes of a softmax (a slice of
			// them), or of a sum over groups: each its own.
			head = "probabilities"
		case op.Flat.Head() == "probabilities" && op.Flat.ProbabilitiesInGraph():
			return fmt.Errorf("%s: the model's outputs are computed from a %s by ops that move, scale, add or average values, but they are not probabilities for these images (a value outside [0, 1]): there are no logits behind them, and no probability to show", dir, probs)
		case op.Flat.Head() == "probabilities" && probs == tfgraph.ProbabilitiesByOutputs:
			return fmt.Errorf("%s: the model's outputs for constant images are probability distributions, so they were taken for probabilities, but for these images they are not (each row non-negative and summing to 1): say what they are in a card's output.kind", dir)
		case op.Flat.Head() == "sigmoid":
			head = "sigmoid"
		case mapped:
			// logits of exclusive classes
		case op.Flat.Head() == "log_softmax":
			head = "log_softmax"
		case tensor.ProbabilityRows(out):
			head = "softmax"
		}
		if card != nil && !mapped && head != "sigmoid" && (card.Output.Kind == "probabilities") != (head == "softmax" || head == "probabilities") {
			what := "not probabilities (each row non-negative and summing to 1)"
			if head == "softmax" {
				what = "probabilities (each row non-negative and summing to 1), not logits"
			}
			return fmt.Errorf("%s: output.kind %s, but the model's outputs for these images are %s", filepath.Join(dir, savedmodels.CardFile), card.Output.Kind, what)
		}
		for i, p := range good {
			printTopK(c.stdout, p, out.Item(i).Data, head, sigmoidApplied, binary, card, k)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d images could not be read or scored", failed, len(paths))
	}
	return nil
}

// printTopK prints the k best classes of one image. head says what the
// scores are: "softmax" probabilities, "log_softmax" their logarithms,
// "sigmoid" label probabilities (logits of independent labels unless
// sigmoidApplied; with binary, the two classes' scores −z and z of a binary
// classifier's logit z), or "" logits of exclusive classes, shown with their
// softmax.
func printTopK(w io.Writer, path string, scores []float32, head string, sigmoidApplied, binary bool, card *savedmodels.Card, k int) {
	p := make([]float64, len(scores))
	logit := make([]float64, len(scores))
	switch {
	case head == "softmax" || head == "probabilities":
		for i, v := range scores {
			p[i] = float64(v)
		}
	case head == "log_softmax":
		for i, v := range scores {
			logit[i] = float64(v)
			p[i] = math.Exp(logit[i])
		}
	case head == "sigmoid" && sigmoidApplied:
		for i, v := range scores {
			p[i] = float64(v)
			logit[i] = math.Log(p[i]) - math.Log1p(-p[i])
		}
	case head == "sigmoid":
		for i, v := range scores {
			logit[i] = float64(v)
			p[i] = 1 / (1 + math.Exp(-logit[i]))
		}
	default:
		p = tensor.Softmax(scores)
		for i, v := range scores {
			logit[i] = float64(v)
		}
	}
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return scores[idx[a]] > scores[idx[b]] })
	if k > len(idx) {
		k = len(idx)
	}
	switch {
	case binary:
		fmt.Fprintf(w, "%s  (binary: the probability of %s is the sigmoid of the model's logit, that of %s one minus it)\n", path, card.ClassName(1), card.ClassName(0))
	case head == "sigmoid":
		fmt.Fprintf(w, "%s  (multi-label: each probability is its label's own sigmoid)\n", path)
	case head == "probabilities":
		fmt.Fprintf(w, "%s  (the model's outputs, probabilities it computes from a softmax; they need not sum to 1)\n", path)
	default:
		fmt.Fprintf(w, "%s\n", path)
	}
	for r, i := range idx[:k] {
		switch head {
		case "softmax", "probabilities":
			fmt.Fprintf(w, "  %d. %-14s %7.2f%%\n", r+1, card.ClassName(i), 100*p[i])
		case "log_softmax":
			fmt.Fprintf(w, "  %d. %-14s %7.2f%%  log p %8.3f\n", r+1, card.ClassName(i), 100*p[i], logit[i])
		default:
			fmt.Fprintf(w, "  %d. %-14s %7.2f%%  logit %8.3f\n", r+1, card.ClassName(i), 100*p[i], logit[i])
		}
	}
}

// unitInterval says whether every value of v lies in [0, 1].
func unitInterval(v []float32) bool {
	for _, x := range v {
		if !(x >= 0 && x <= 1) {
			return false
		}
	}
	return true
}
