package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/saliencykit/saliency/images"
	"github.com/saliencykit/saliency/methods"
	"github.com/saliencykit/saliency/reports"
	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

var visualizeCmd = &command{
	name:  "visualize",
	args:  "-model DIR -out DIR [-class N|all] [flags]",
	short: "class model visualisation: the image each class's logit likes best",
	long: `Visualize generates, for each class asked, the image that maximises the
class logit with an L2 penalty (Simonyan et al. 2013), by gradient ascent from
a zero image. It writes into -out:

class_<k>_<name>.png   the image of class k
class-model.npy        the images [K,H,W,C] in model-input units
grid.png               all classes, with the softmax probability of each
index.json             classes, probabilities, scores and options

Options of the ascent are set with -set option=value (repeatable): steps, lr,
l2, jitter, blur, blur_every, clip, seed; see 'go doc methods.ClassModel'.
-from IMAGE starts from an image instead of zeros, and centres the L2 penalty
on it: Simonyan et al. start from the zero image of mean-centred inputs, which
for a model that takes uncentred inputs is the training set's mean image.`,
	flags: func(fs *flag.FlagSet) func(*ctx, []string) error {
		var mf modelFlags
		mf.register(fs)
		var model, out, class, figure, from string
		var set setFlag
		fs.StringVar(&model, "model", "", "SavedModel folder (required)")
		fs.StringVar(&out, "out", "", "output folder (required; created)")
		fs.StringVar(&class, "class", "all", "class index, or all")
		fs.Var(&set, "set", "class-model option, option=value (repeatable)")
		fs.StringVar(&figure, "figure", "png", "format of the grid figure: png, svg or pdf")
		fs.StringVar(&from, "from", "", "start from this image (e.g. the training set's mean) instead of zeros")
		return func(c *ctx, args []string) error {
			if model == "" || out == "" {
				return usagef("-model and -out are required")
			}
			if len(args) > 0 {
				return usagef("takes no arguments, got %q", args)
			}
			var qualified setFlag
			if from != "" {
				qualified = append(qualified, "class-model.init=input")
			}
			for _, kv := range set {
				if !strings.HasPrefix(kv, "class-model.") {
					kv = "class-model." + kv
				}
				qualified = append(qualified, kv)
			}
			ms, opts, err := chosenMethods("class-model", true, qualified, nil)
			if err != nil {
				return err
			}
			return visualize(c, &mf, model, out, class, figure, from, ms[0], opts["class-model"])
		}
	},
}

func visualize(c *ctx, mf *modelFlags, dir, out, class, figure, from string, cm methods.Method, opts map[string]any) error {
	op, err := mf.loadImages(c, "visualize", dir)
	if err != nil {
		return err
	}
	m, card, spec, fl := op.Model, op.Card, op.Spec, op.Flat
	defer m.Close()
	logits, _ := fl.Logits()
	k := 0
	if s := fl.Shape(logits); len(s) == 2 {
		k = int(s[1])
	}
	var classes []int
	if class == "all" {
		for i := 0; i < k; i++ {
			classes = append(classes, i)
		}
	} else {
		n, err := strconv.Atoi(class)
		if err != nil || n < 0 || n >= k {
			return usagef("-class is a class index in [0,%d) or all, not %q", k, class)
		}
		classes = []int{n}
	}
	batch := methods.Batch{X: tensor.New(len(classes), spec.Height, spec.Width, spec.Channels),
		Black: spec.PixelValue(0), White: spec.PixelValue(255)}
	if from != "" {
		start, err := images.LoadInput(from, spec)
		if err != nil {
			return err
		}
		for i := range classes {
			copy(batch.X.Item(i).Data, start)
		}
	}
	bar := newProgress(c.stderr, "visualize", 1)
	bar.begin("class-model")
	res, err := cm.Explain(methods.WithProgress(context.Background(), bar.part), fl, batch, methods.Target{Classes: classes})
	bar.end()
	bar.finish()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	type entry struct {
		Class       int     `json:"class"`
		Name        string  `json:"class_name"`
		Probability float64 `json:"probability"`
		Score       float32 `json:"score"`
		PNG         string  `json:"png"`
	}
	idx := struct {
		Model      string         `json:"model"`
		Scores     string         `json:"scores"`
		Options    map[string]any `json:"options,omitempty"`
		Images     string         `json:"images"`
		Classes    []entry        `json:"classes"`
		Grid       string         `json:"grid"`
		Saliency   string         `json:"saliency_version"`
		TensorFlow string         `json:"tensorflow_version"`
	}{Model: dir, Scores: logits, Options: opts, Images: "class-model.npy", Grid: "grid." + figure,
		Saliency: version, TensorFlow: tfgraph.Version()}
	grid := &reports.Grid{Title: fmt.Sprintf("%s — class model visualisation", filepath.Base(filepath.Clean(dir))), Rows: []string{""}}
	grid.Cells = [][]reports.Cell{nil}
	scale := max(1, 224/min(spec.Height, spec.Width))
	for i, cl := range classes {
		img := res.Raw.Item(i)
		lo, hi := img.Range()
		disp := img.Clone()
		for j := range disp.Data {
			if hi > lo {
				disp.Data[j] = (disp.Data[j] - lo) / (hi - lo)
			}
		}
		pic, err := reports.Image(disp)
		if err != nil {
			return err
		}
		name := card.ClassName(cl)
		e := entry{Class: cl, Name: name, Probability: res.Info["probability"][i], Score: res.Scores[i],
			PNG: fmt.Sprintf("class_%d_%s.png", cl, slug(name))}
		if err := reports.WritePNG(filepath.Join(out, e.PNG), reports.Enlarge(pic, scale)); err != nil {
			return err
		}
		idx.Classes = append(idx.Classes, e)
		grid.Columns = append(grid.Columns, fmt.Sprintf("%s\np = %.3f", name, e.Probability))
		grid.Cells[0] = append(grid.Cells[0], reports.Cell{Image: pic})
	}
	if err := reports.WriteNpy(filepath.Join(out, idx.Images), res.Raw); err != nil {
		return err
	}
	gridPath := filepath.Join(out, idx.Grid)
	if err := grid.Save(gridPath); err != nil {
		return err
	}
	if err := reports.WriteJSON(filepath.Join(out, "index.json"), idx); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "%s\n", gridPath)
	for _, e := range idx.Classes {
		fmt.Fprintf(c.stdout, "  %2d %-14s p = %.4f  logit %8.3f  %s\n", e.Class, e.Name, e.Probability, e.Score, e.PNG)
	}
	return nil
}

// slug makes a class name safe in a file name.
func slug(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	return strings.Trim(b.String(), "-")
}
