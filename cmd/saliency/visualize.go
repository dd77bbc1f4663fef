package main

import (
	"context"
	"encoding/csv"
	"flag"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/saliencykit/saliency/experiments"
	"github.com/saliencykit/saliency/images"
	"github.com/saliencykit/saliency/methods"
	"github.com/saliencykit/saliency/reports"
	"github.com/saliencykit/saliency/savedmodels"
	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

var visualizeCmd = &command{
	name:  "visualize",
	args:  "-model DIR -out DIR [-class N|all | -target SPEC] [flags]",
	short: "the image a class or a unit likes best: class model and feature visualisation",
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
for a model that takes uncentred inputs is the training set's mean image.

With -target, visualize runs feature visualisation (activation maximisation,
Olah et al. 2017; 'go doc methods.FeatureVisualization') of any target:
a unit (conv2_2:5, its strongest activation; conv2_2:5/mean; conv2_2:5@3,4;
a neuron fc1:7; a direction conv2_2:v.npy) or a class (class:3,
probability:3). Many units at once: conv2_2:* (every channel), conv2_2:0-15,
conv2_2:1,4,9 (with /mean or @Y,X after the list), class:*. It writes:

<target>.png           the image of each target (<target>_<i>.png with -count)
<target>.npy           its images [count,H,W,C] in model-input units
grid.png               one tile per image, titled with the value reached
units.csv              target, image, value, and with -compare the data
                       set's top activation, the image holding it, the ratio
index.json             the same, with the options and the fraction of units
                       at or above their top activation, per layer

-param fourier chooses the Fourier parameterization; the other options
(steps, lr, range, l2, tv, blur, jitter, scale, rotate, diversity, restarts,
seed, …) are set with -set option=value. -compare fashion-mnist[:DIR] (or a
test set .npz) computes each unit's top activation over a data set (its
largest value as the unit defines it; the first -compare-count images) and
reports value/top: feature visualisation's defaults reach 1× or more on
nearly every channel of fmnist_vgg (docs/feature-visualization.md).`,
	flags: func(fs *flag.FlagSet) func(*ctx, []string) error {
		var mf modelFlags
		mf.register(fs)
		mf.registerConv(fs)
		var o visualizeOptions
		fs.StringVar(&o.model, "model", "", "SavedModel folder (required)")
		fs.StringVar(&o.out, "out", "", "output folder (required; created)")
		fs.StringVar(&o.class, "class", "all", "class index, or all")
		fs.StringVar(&o.target, "target", "", "unit or class to visualise with feature-visualization (conv2_2:5, conv2_2:*, conv2_2:0-15, fc1:7, class:3, …)")
		fs.StringVar(&o.method, "method", "", "class-model (default with -class) or feature-visualization (default with -target)")
		fs.StringVar(&o.param, "param", "", "feature-visualization's parameterization: pixel (default) or fourier")
		fs.IntVar(&o.count, "count", 1, "visualisations of each target (seeds seed, seed+1, …; with diversity, one batch pushed apart)")
		fs.StringVar(&o.compare, "compare", "", "data set whose top activation each unit is compared with: fashion-mnist[:DIR] or a test set .npz")
		fs.IntVar(&o.compareCount, "compare-count", 0, "compare with the first N images of the data set (default: all)")
		fs.Var(&o.set, "set", "option of the method, option=value (repeatable)")
		fs.StringVar(&o.figure, "figure", "png", "format of the grid figure: png, svg or pdf")
		fs.StringVar(&o.from, "from", "", "start from this image (e.g. the training set's mean) instead of zeros")
		return func(c *ctx, args []string) error {
			if o.model == "" || o.out == "" {
				return usagef("-model and -out are required")
			}
			if len(args) > 0 {
				return usagef("takes no arguments, got %q", args)
			}
			fs.Visit(func(f *flag.Flag) {
				if f.Name == "class" {
					o.classSet = true
				}
			})
			if o.target != "" && o.classSet {
				return usagef("-class and -target: give one (-target class:N visualises a class with feature-visualization)")
			}
			if !slices.Contains([]string{"png", "svg", "pdf"}, o.figure) {
				return usagef("-figure is png, svg or pdf, not %q", o.figure)
			}
			if o.count < 1 || o.count > maxVisualizeCount {
				return usagef("-count must be from 1 to %d, got %d", maxVisualizeCount, o.count)
			}
			if o.compareCount < 0 {
				return usagef("-compare-count must be ≥ 0, got %d", o.compareCount)
			}
			if o.compare != "" && o.target == "" {
				return usagef("-compare compares units' values with a data set's: it needs -target")
			}
			if o.method == "" {
				o.method = "class-model"
				if o.target != "" {
					o.method = "feature-visualization"
				}
			}
			if !methods.Generative(o.method) {
				return usagef("-method %q: visualize runs class-model or feature-visualization", o.method)
			}
			var qualified setFlag
			if o.from != "" {
				qualified = append(qualified, o.method+".init=input")
			}
			if o.param != "" {
				qualified = append(qualified, o.method+".param="+o.param)
			}
			for _, kv := range o.set {
				if !strings.HasPrefix(kv, o.method+".") {
					kv = o.method + "." + kv
				}
				qualified = append(qualified, kv)
			}
			ms, opts, err := chosenMethods(o.method, true, qualified, nil)
			if err != nil {
				return err
			}
			if o.target != "" {
				return visualizeTargets(c, &mf, &o, opts[o.method])
			}
			return visualize(c, &mf, o.model, o.out, o.class, o.figure, o.from, ms[0], opts[o.method])
		}
	},
}

type visualizeOptions struct {
	model, out, class, target, method, param, compare, figure, from string
	classSet                                                        bool
	count, compareCount                                             int
	set                                                             setFlag
}

// Bounds of visualize -target: the images generated (targets × count) and
// the visualisations of one target.
const (
	maxVisualizeImages = 4096
	maxVisualizeCount  = methods.MaxDiversityBatch
)

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
		Black: spec.PixelValue(0), White: spec.PixelValue(255), BGR: spec.BGR}
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
	bar.begin(cm.Name())
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
		Method     string         `json:"method,omitempty"`
		Scores     string         `json:"scores"`
		Options    map[string]any `json:"options,omitempty"`
		Images     string         `json:"images"`
		Classes    []entry        `json:"classes"`
		Grid       string         `json:"grid"`
		Saliency   string         `json:"saliency_version"`
		TensorFlow string         `json:"tensorflow_version"`
	}{Model: dir, Scores: logits, Options: opts, Images: cm.Name() + ".npy", Grid: "grid." + figure,
		Saliency: version, TensorFlow: tfgraph.Version()}
	title := "class model visualisation"
	if cm.Name() != "class-model" {
		idx.Method, title = cm.Name(), "feature visualisation of the classes"
	}
	grid := &reports.Grid{Title: fmt.Sprintf("%s — %s", filepath.Base(filepath.Clean(dir)), title), Rows: []string{""}}
	grid.Cells = [][]reports.Cell{nil}
	scale := max(1, 224/min(spec.Height, spec.Width))
	for i, cl := range classes {
		pic, err := reports.Image(stretch(res.Raw.Item(i)))
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

// stretch maps an image [H,W,C] to [0, 1] by its own range, for display.
func stretch(img *tensor.Tensor) *tensor.Tensor {
	lo, hi := img.Range()
	disp := img.Clone()
	for j := range disp.Data {
		if hi > lo {
			disp.Data[j] = (disp.Data[j] - lo) / (hi - lo)
		}
	}
	return disp
}

// inRange maps an image [H,W,C] in model-input units to [0, 1] by the input
// range (black to white, per channel), for display, when it lies inside it
// (feature visualisation keeps it there unless its range is "none"), and by
// its own range otherwise.
func inRange(img *tensor.Tensor, black, white []float32) *tensor.Tensor {
	c := len(black)
	disp := img.Clone()
	for j, v := range disp.Data {
		b, w := black[j%c], white[j%c]
		f := (v - b) / (w - b)
		if !(f >= -1e-6 && f <= 1+1e-6) {
			return stretch(img)
		}
		disp.Data[j] = min(max(f, 0), 1)
	}
	return disp
}

// expandTargets reads -target: one target as methods.ParseTarget reads it,
// or a list of channels (or classes) LAYER:*, LAYER:A-B, LAYER:A,B,… with
// the same /mean or @Y,X after it.
func expandTargets(spec, dir string, fl *tfgraph.Flat) ([]methods.TargetSpec, error) {
	s := strings.TrimSpace(spec)
	i := strings.LastIndexByte(s, ':')
	if i < 0 || strings.Contains(s, ".npy") {
		t, err := methods.ParseTarget(s, dir)
		return []methods.TargetSpec{t}, err
	}
	head, rest := strings.TrimSpace(s[:i]), s[i+1:]
	cut := len(rest)
	if j := strings.IndexAny(rest, "/@"); j >= 0 {
		cut = j
	}
	list, suffix := strings.TrimSpace(rest[:cut]), rest[cut:]
	if !strings.ContainsAny(list, "*-,") {
		t, err := methods.ParseTarget(s, dir)
		return []methods.TargetSpec{t}, err
	}
	// How many channels (or classes) there are.
	var n int
	switch head {
	case "class", "probability", "prob":
		logits, _ := fl.Logits()
		if sh := fl.Shape(logits); len(sh) == 2 {
			n = int(sh[1])
		}
	default:
		l, err := fl.Layer(head)
		if err != nil {
			return nil, usagef("-target %q: %v", spec, err)
		}
		sh := fl.Shape(l.Output)
		if len(sh) < 2 || sh[len(sh)-1] < 1 {
			return nil, usagef("-target %q: layer %s has output shape %v; a unit needs [N,…,C]", spec, l.Name, sh)
		}
		n = int(sh[len(sh)-1])
	}
	var ks []int
	for _, part := range strings.Split(list, ",") {
		part = strings.TrimSpace(part)
		lo, hi := 0, n-1
		if part != "*" {
			a, b, isRange := strings.Cut(part, "-")
			var err1, err2 error
			lo, err1 = strconv.Atoi(strings.TrimSpace(a))
			hi, err2 = lo, nil
			if isRange {
				hi, err2 = strconv.Atoi(strings.TrimSpace(b))
			}
			if err1 != nil || err2 != nil || lo < 0 || hi < lo {
				return nil, usagef("-target %q: %q is not a channel, a range A-B or *", spec, part)
			}
			if hi >= n {
				return nil, usagef("-target %q: %s has %d channels (0 to %d); %q goes past them", spec, head, n, n-1, part)
			}
		}
		for k := lo; k <= hi; k++ {
			if !slices.Contains(ks, k) {
				ks = append(ks, k)
			}
		}
		if len(ks) > maxVisualizeImages {
			break
		}
	}
	var out []methods.TargetSpec
	for _, k := range ks {
		t, err := methods.ParseTarget(head+":"+strconv.Itoa(k)+suffix, dir)
		if err != nil {
			return nil, usagef("-target %q: %v", spec, err)
		}
		out = append(out, t)
	}
	return out, nil
}

// targetStem names a target's files: conv2_2_5, conv2_2_5_mean,
// conv2_2_5_at3-4, conv2_2_v (a direction v.npy), class_3_dress,
// probability_3_dress.
func targetStem(t methods.TargetSpec, card *savedmodels.Card) string {
	if t.Unit == nil {
		head := "class"
		if t.Probability {
			head = "probability"
		}
		return fmt.Sprintf("%s_%d_%s", head, t.Class, slug(card.ClassName(t.Class)))
	}
	u := t.Unit
	var b strings.Builder
	b.WriteString(u.Layer)
	b.WriteByte('_')
	if u.Direction != nil {
		b.WriteString(strings.TrimSuffix(filepath.Base(u.DirectionFile), ".npy"))
	} else {
		b.WriteString(strconv.Itoa(u.Channel))
	}
	switch {
	case u.Reduce == "at" || u.At != nil:
		b.WriteString("_at")
		for i, a := range u.At {
			if i > 0 {
				b.WriteByte('-')
			}
			b.WriteString(strconv.Itoa(a))
		}
	case u.Reduce != "" && u.Reduce != "max":
		b.WriteString("_" + u.Reduce)
	}
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == ':' || r == ' ' {
			return '-'
		}
		return r
	}, b.String())
}

// topActivation is a unit's largest value over a data set and the image
// that holds it.
type topActivation struct {
	value float32
	image string
}

// unitTops computes the top activation of each unit over the images of a
// data set (see compareSet), in blocks of compareBlock images, reporting
// the images done to progress.
func unitTops(ctx context.Context, fl *tfgraph.Flat, spec images.Spec, source string, count int, units []methods.Unit, progress methods.ProgressFunc) ([]topActivation, int, error) {
	ids, pics, err := compareSet(source, count)
	if err != nil {
		return nil, 0, err
	}
	tops := make([]topActivation, len(units))
	for i := range tops {
		tops[i].value = float32(math.Inf(-1))
	}
	per := spec.Height * spec.Width * spec.Channels
	for lo := 0; lo < len(pics); lo += compareBlock {
		hi := min(lo+compareBlock, len(pics))
		x := tensor.New(hi-lo, spec.Height, spec.Width, spec.Channels)
		for i := lo; i < hi; i++ {
			in, err := images.ToInput(pics[i], spec)
			if err != nil {
				return nil, 0, fmt.Errorf("-compare %s: image %s: %w", source, ids[i], err)
			}
			copy(x.Data[(i-lo)*per:], in)
		}
		vals, err := methods.UnitValues(ctx, fl, x, units, methods.Chunking{})
		if err != nil {
			return nil, 0, err
		}
		for u, v := range vals {
			for i, f := range v {
				if f > tops[u].value {
					tops[u] = topActivation{value: f, image: ids[lo+i]}
				}
			}
		}
		progress(hi, len(pics))
	}
	return tops, len(pics), nil
}

// compareBlock is the number of data set images preprocessed at once for
// -compare.
const compareBlock = 512

// compareSet reads the images of -compare: "fashion-mnist" (Debian's
// dataset-fashion-mnist), "fashion-mnist:DIR", or a test set .npz
// (savedmodels.ReadTestSet); the first count (0: all).
func compareSet(source string, count int) ([]string, []image.Image, error) {
	var ids []string
	var pics []image.Image
	switch name, dir, _ := strings.Cut(source, ":"); {
	case name == "fashion-mnist":
		if dir == "" {
			dir = "/usr/share/datasets/fashion-mnist"
		}
		const testImages = 10000 // the test split
		n := testImages
		if count > 0 {
			n = min(count, n)
		}
		ims, err := experiments.LoadImages(experiments.Data{Source: "fashion-mnist", Path: dir, Count: testImages})
		if err != nil {
			return nil, nil, fmt.Errorf("-compare %s: %w", source, err)
		}
		ids, pics = ims.IDs[:n], ims.Pictures[:n]
	case strings.HasSuffix(source, ".npz"):
		ts, err := savedmodels.ReadTestSet(source)
		if err != nil {
			return nil, nil, fmt.Errorf("-compare %s: %w", source, err)
		}
		n, h, w := ts.Images.Shape[0], ts.Images.Shape[1], ts.Images.Shape[2]
		if count > 0 {
			n = min(count, n)
		}
		for i := 0; i < n; i++ {
			g := image.NewGray(image.Rect(0, 0, w, h))
			for j := range g.Pix {
				g.Pix[j] = uint8(math.Round(float64(ts.Images.Data[i*h*w+j]) * 255))
			}
			ids = append(ids, fmt.Sprintf("%s[%d]", filepath.Base(source), i))
			pics = append(pics, g)
		}
	default:
		return nil, nil, usagef("-compare %q: want fashion-mnist, fashion-mnist:DIR or a test set .npz", source)
	}
	if len(pics) == 0 {
		return nil, nil, fmt.Errorf("-compare %s: no images", source)
	}
	return ids, pics, nil
}

// visualizeTargets runs visualize -target.
func visualizeTargets(c *ctx, mf *modelFlags, o *visualizeOptions, opts map[string]any) error {
	op, err := mf.loadImages(c, "visualize", o.model)
	if err != nil {
		return err
	}
	m, card, spec, fl := op.Model, op.Card, op.Spec, op.Flat
	defer m.Close()
	specs, err := expandTargets(o.target, "", fl)
	if err != nil {
		return err
	}
	if n := len(specs) * o.count; n > maxVisualizeImages {
		return usagef("-target %q with -count %d asks for %d images; at most %d", o.target, o.count, n, maxVisualizeImages)
	}
	var units []methods.Unit
	for _, t := range specs {
		if t.Unit != nil {
			units = append(units, *t.Unit)
		} else if t.Class < 0 {
			return usagef("-target %q: visualize needs a class (class:N, probability:N) or a unit", o.target)
		}
	}
	if o.compare != "" && len(units) != len(specs) {
		return usagef("-compare compares units' values; %q holds classes", o.target)
	}
	diverse := false
	if d, ok := opts["diversity"]; ok && fmt.Sprint(d) != "0" {
		diverse = true
	}
	runs := 1
	if !diverse {
		runs = o.count
	}
	items := len(specs) * runs
	if o.compare != "" {
		items++
	}
	bar := newProgress(c.stderr, "visualize", items)
	defer bar.finish()
	ctx := context.Background()

	var tops []topActivation
	var compared int
	if o.compare != "" {
		bar.begin("top activations")
		if tops, compared, err = unitTops(ctx, fl, spec, o.compare, o.compareCount, units, bar.part); err != nil {
			return err
		}
		bar.end()
	}
	black, white := spec.PixelValue(0), spec.PixelValue(255)
	var start []float32
	if o.from != "" {
		if start, err = images.LoadInput(o.from, spec); err != nil {
			return err
		}
	}
	baseSeed := uint64(0)
	if s, ok := opts["seed"]; ok {
		if baseSeed, err = strconv.ParseUint(fmt.Sprint(s), 10, 64); err != nil {
			return usagef("-set seed=%v: want a non-negative integer", s)
		}
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}

	type entry struct {
		Target      string   `json:"target"`
		Layer       string   `json:"layer,omitempty"`
		Channel     *int     `json:"channel,omitempty"`
		Class       *int     `json:"class,omitempty"`
		ClassName   string   `json:"class_name,omitempty"`
		Image       int      `json:"image"`
		Seed        uint64   `json:"seed"`
		Value       float32  `json:"value"`
		Probability *float64 `json:"probability,omitempty"`
		Top         *float32 `json:"top,omitempty"`
		TopImage    string   `json:"top_image,omitempty"`
		Ratio       *float64 `json:"ratio,omitempty"`
		PNG         string   `json:"png"`
		NPY         string   `json:"npy"`
	}
	// reach counts a layer's units at or above their top activation,
	// among those the data set activates (Dead: the others).
	type reach struct {
		Reached int     `json:"reached"`
		Units   int     `json:"units"`
		Share   float64 `json:"share"`
		Dead    int     `json:"dead,omitempty"`
	}
	idx := struct {
		Model      string           `json:"model"`
		Method     string           `json:"method"`
		Options    map[string]any   `json:"options,omitempty"`
		Target     string           `json:"target"`
		Count      int              `json:"count"`
		Compare    string           `json:"compare,omitempty"`
		Compared   int              `json:"compared_images,omitempty"`
		Reached    map[string]reach `json:"reached,omitempty"`
		Images     []entry          `json:"images"`
		Grid       string           `json:"grid"`
		CSV        string           `json:"csv"`
		Saliency   string           `json:"saliency_version"`
		TensorFlow string           `json:"tensorflow_version"`
	}{Model: o.model, Method: o.method, Options: opts, Target: o.target, Count: o.count, Compare: o.compare, Compared: compared,
		Grid: "grid." + o.figure, CSV: "units.csv", Saliency: version, TensorFlow: tfgraph.Version()}
	var cells []reports.Cell
	scale := max(1, 224/min(spec.Height, spec.Width))
	reached := map[string]*reach{}
	var layers []string
	for ti, t := range specs {
		stem := targetStem(t, card)
		raw := tensor.New(o.count, spec.Height, spec.Width, spec.Channels)
		values := make([]float32, o.count)
		var probs []float64
		seeds := make([]uint64, o.count)
		for r := 0; r < runs; r++ {
			n := o.count / runs
			ro := map[string]any{}
			for k, v := range opts {
				ro[k] = v
			}
			if runs > 1 {
				ro["seed"] = baseSeed + uint64(r)
			}
			meth, err := methods.New(o.method, ro)
			if err != nil {
				return usageError{err.Error()}
			}
			batch := methods.Batch{X: tensor.New(n, spec.Height, spec.Width, spec.Channels), Black: black, White: white, BGR: spec.BGR}
			if start != nil {
				for i := 0; i < n; i++ {
					copy(batch.X.Item(i).Data, start)
				}
			}
			bar.begin(t.String())
			res, err := meth.Explain(methods.WithProgress(ctx, bar.part), fl, batch, t.Target(n))
			bar.end()
			if err != nil {
				return err
			}
			copy(raw.Data[r*n*spec.Height*spec.Width*spec.Channels:], res.Raw.Data)
			copy(values[r*n:], res.Scores)
			if p := res.Info["probability"]; p != nil {
				probs = append(probs, p...)
			}
			for i := 0; i < n; i++ {
				seeds[r*n+i] = baseSeed + uint64(r)
			}
		}
		npy := stem + ".npy"
		if err := reports.WriteNpy(filepath.Join(o.out, npy), raw); err != nil {
			return err
		}
		for i := 0; i < o.count; i++ {
			pic, err := reports.Image(inRange(raw.Item(i), black, white))
			if err != nil {
				return err
			}
			e := entry{Target: t.String(), Image: i, Seed: seeds[i], Value: values[i], PNG: stem + ".png", NPY: npy}
			if o.count > 1 {
				e.PNG = fmt.Sprintf("%s_%d.png", stem, i)
			}
			title := ""
			if t.Unit != nil {
				e.Layer = t.Unit.Layer
				if t.Unit.Direction == nil {
					e.Channel = &t.Unit.Channel
				}
				title = strings.TrimPrefix(t.Unit.String(), t.Unit.Layer+":")
				if tops != nil {
					top := tops[ti]
					e.Top, e.TopImage = &top.value, top.image
					ratio := float64(values[i]) / float64(top.value)
					if top.value > 0 {
						e.Ratio = &ratio
						title += fmt.Sprintf("\n%.2f× top", ratio)
					} else {
						e.TopImage = ""
						title += fmt.Sprintf("\nv = %.3g, data 0", values[i])
					}
					if i == 0 {
						if reached[e.Layer] == nil {
							reached[e.Layer] = &reach{}
							layers = append(layers, e.Layer)
						}
						switch r := reached[e.Layer]; {
						case top.value <= 0:
							r.Dead++
						case values[i] >= top.value:
							r.Reached++
							r.Units++
						default:
							r.Units++
						}
					}
				} else {
					title += fmt.Sprintf("\nv = %.3g", values[i])
				}
			} else {
				e.Class, e.ClassName = &specs[ti].Class, card.ClassName(t.Class)
				if probs != nil {
					e.Probability = &probs[i]
					title = fmt.Sprintf("%s\np = %.3f", e.ClassName, probs[i])
				}
			}
			if err := reports.WritePNG(filepath.Join(o.out, e.PNG), reports.Enlarge(pic, scale)); err != nil {
				return err
			}
			idx.Images = append(idx.Images, e)
			cells = append(cells, reports.Cell{Image: pic, Title: title})
		}
	}
	if len(reached) > 0 {
		idx.Reached = map[string]reach{}
		for l, r := range reached {
			if r.Units > 0 {
				r.Share = float64(r.Reached) / float64(r.Units)
			}
			idx.Reached[l] = *r
		}
	}

	// The grid: one tile per image, a target's images side by side.
	cols := o.count
	if cols == 1 {
		cols = len(cells) // one row up to 10 (the classes of a 10-class model)
		if cols > 10 {
			cols = 8
		}
	}
	grid := &reports.Grid{Title: fmt.Sprintf("%s — %s of %s", filepath.Base(filepath.Clean(o.model)), strings.ReplaceAll(o.method, "-", " "), o.target),
		CellSize: 0.9 * 72}
	for lo := 0; lo < len(cells); lo += cols {
		row := make([]reports.Cell, cols)
		copy(row, cells[lo:min(lo+cols, len(cells))])
		grid.Cells = append(grid.Cells, row)
	}
	gridPath := filepath.Join(o.out, idx.Grid)
	if err := grid.Save(gridPath); err != nil {
		return err
	}
	if err := writeUnitsCSV(filepath.Join(o.out, idx.CSV), func(w *csv.Writer) error {
		if err := w.Write([]string{"target", "image", "seed", "value", "probability", "top", "top_image", "ratio", "png"}); err != nil {
			return err
		}
		for _, e := range idx.Images {
			row := []string{e.Target, strconv.Itoa(e.Image), strconv.FormatUint(e.Seed, 10), fmtFloat(float64(e.Value)), "", "", e.TopImage, "", e.PNG}
			if e.Probability != nil {
				row[4] = fmtFloat(*e.Probability)
			}
			if e.Top != nil {
				row[5] = fmtFloat(float64(*e.Top))
			}
			if e.Ratio != nil {
				row[7] = fmtFloat(*e.Ratio)
			}
			if err := w.Write(row); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	if err := reports.WriteJSON(filepath.Join(o.out, "index.json"), idx); err != nil {
		return err
	}
	bar.finish()
	fmt.Fprintf(c.stdout, "%s\n", gridPath)
	for _, e := range idx.Images {
		switch {
		case e.Ratio != nil:
			fmt.Fprintf(c.stdout, "  %-16s value %9.4g  top %9.4g (%s)  %5.2f×  %s\n", e.Target, e.Value, *e.Top, e.TopImage, *e.Ratio, e.PNG)
		case e.Top != nil:
			fmt.Fprintf(c.stdout, "  %-16s value %9.4g  top 0: never active on the data set  %s\n", e.Target, e.Value, e.PNG)
		case e.Probability != nil:
			fmt.Fprintf(c.stdout, "  %-16s %-14s p = %.4f  value %9.4g  %s\n", e.Target, e.ClassName, *e.Probability, e.Value, e.PNG)
		default:
			fmt.Fprintf(c.stdout, "  %-16s value %9.4g  %s\n", e.Target, e.Value, e.PNG)
		}
	}
	for _, l := range layers {
		r := idx.Reached[l]
		fmt.Fprintf(c.stdout, "%s: %d of %d units (%.0f%%) reach their top activation over %d images of %s", l, r.Reached, r.Units, 100*r.Share, compared, o.compare)
		if r.Dead > 0 {
			fmt.Fprintf(c.stdout, "; %d more are never active there", r.Dead)
		}
		fmt.Fprintln(c.stdout)
	}
	return nil
}

// writeUnitsCSV writes a CSV file with write.
func writeUnitsCSV(path string, write func(*csv.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	if err := write(w); err != nil {
		f.Close()
		return err
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// fmtFloat formats a value for the CSV: the shortest form that reads back
// the same float64.
func fmtFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

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
