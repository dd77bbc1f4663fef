package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"io"
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
	"gopkg.in/yaml.v3"
)

var explainCmd = &command{
	name:  "explain",
	args:  "-model DIR -out DIR [flags] IMAGE...",
	short: "compute saliency maps of images: overlays, a grid figure, .npy maps",
	long: `Explain computes saliency maps of the images with each method given to
-method (default: every method but class-model and feature-visualization,
which make images rather than maps: see visualize; and deepshap,
expected-gradients and gradient-shap unless -set METHOD.baselines=FILE gives
their reference images). It writes into -out:

<image>_<method>.png      the map over the image
<image>_<method>.npy      the map [H,W] (numpy.load reads it)
<image>_<method>_raw.npy  the per-channel attribution [H,W,C], when the method has one
grid.png                  rows images, columns methods, colour bars
index.json                what was written, with each map's class, score and options

The class explained is the predicted one unless -class is given; layer methods
(cam, gradcam, …) use the model's CAM layer unless -layer names another.
-target explains something else than a class logit: a class probability
(probability:3), or a unit inside the model, as Zeiler & Fergus project one:
channel 17 of layer block3_conv2 at its strongest activation
(block3_conv2:17), its spatial mean (block3_conv2:17/mean), its activation at
row 5, column 9 (block3_conv2:17@5,9), a neuron of a dense layer (fc1:17), or
a direction over the layer's channels read from a .npy vector
(block3_conv2:v.npy). Unit targets work with the gradient methods, DeconvNet,
guided backprop, the SmoothGrad family, IG, Grad-CAM, Guided Grad-CAM,
LayerCAM, HiResCAM, XGrad-CAM (at a layer before the unit's) and occlusion;
they are the default methods then.
Options of a method are set with -set method.option=value, repeated, e.g.
-set smoothgrad.samples=20 -set occlusion.patch=6. A method that does not apply
to the model (cam without global average pooling, an op without a backward
rule) is reported and skipped; when none applies, explain fails. Flags may
come before or after the images; after -- everything is an image.`,
	flags: func(fs *flag.FlagSet) func(*ctx, []string) error {
		var mf modelFlags
		mf.register(fs)
		mf.registerConv(fs)
		fs.BoolFunc("exact-conv", "the same as -conv-backward exact", func(s string) error {
			b, err := strconv.ParseBool(s)
			if err != nil {
				return err
			}
			if b {
				mf.conv = tfgraph.ConvBackwardExact
			}
			return nil
		})
		var o explainOptions
		fs.StringVar(&o.model, "model", "", "SavedModel folder (required)")
		fs.StringVar(&o.out, "out", "", "output folder (required; created)")
		fs.StringVar(&o.methods, "method", "", "comma-separated methods (default: all but class-model and feature-visualization); see 'saliency help methods'")
		fs.IntVar(&o.class, "class", -1, "class to explain for every image (default: the predicted class)")
		fs.StringVar(&o.target, "target", "", "what to explain instead of the predicted class's logit: class:C, probability:C, LAYER:K, LAYER:K/mean, LAYER:K@Y,X, LAYER:FILE.npy (see above)")
		fs.StringVar(&o.layer, "layer", "", "Keras layer of layer methods (default: the CAM layer inspect shows)")
		fs.StringVar(&o.grid, "grid", "", "patch grid of a transformer's token layer, HxW or HxW+P with P leading tokens (default: inferred)")
		fs.Var(&o.set, "set", "method option, method.option=value (repeatable)")
		fs.Float64Var(&o.percentile, "percentile", 99.5, "maps are clipped at this percentile of |map| for display")
		fs.StringVar(&o.figure, "figure", "png", "format of the grid figure: png, svg or pdf")
		return func(c *ctx, args []string) error {
			if o.model == "" || o.out == "" {
				return usagef("-model and -out are required")
			}
			fs.Visit(func(f *flag.Flag) {
				if f.Name == "method" {
					o.methodSet = true
				}
			})
			if len(args) == 0 {
				return usagef("want at least one image")
			}
			if o.class < -1 {
				return usagef("-class must be a class index ≥ 0, got %d", o.class)
			}
			if !(o.percentile > 0 && o.percentile <= 100) {
				return usagef("-percentile must be in (0, 100], got %g", o.percentile)
			}
			if !slices.Contains([]string{"png", "svg", "pdf"}, o.figure) {
				return usagef("-figure is png, svg or pdf, not %q", o.figure)
			}
			return explain(c, &mf, &o, args)
		}
	},
}

type explainOptions struct {
	model, out, methods, layer, grid, figure, target string
	methodSet                                        bool // -method was given, perhaps as ""
	class                                            int
	set                                              setFlag
	percentile                                       float64
}

// setFlag collects -set method.option=value.
type setFlag []string

func (s *setFlag) String() string     { return strings.Join(*s, " ") }
func (s *setFlag) Set(v string) error { *s = append(*s, v); return nil }

// options turns the -set values into options per method.
func (s setFlag) options() (map[string]map[string]any, error) {
	out := map[string]map[string]any{}
	for _, kv := range s {
		key, val, ok := strings.Cut(kv, "=")
		method, opt, ok2 := strings.Cut(key, ".")
		if !ok || !ok2 || method == "" || opt == "" {
			return nil, usagef("-set %q: want method.option=value", kv)
		}
		var v any
		if err := yaml.Unmarshal([]byte(val), &v); err != nil {
			return nil, usagef("-set %q: %v", kv, err)
		}
		if out[method] == nil {
			out[method] = map[string]any{}
		}
		out[method][opt] = v
	}
	return out, nil
}

// setsOption says whether -set gives method's option opt.
func setsOption(s setFlag, method, opt string) bool {
	for _, kv := range s {
		key, _, _ := strings.Cut(kv, "=")
		if key == method+"."+opt {
			return true
		}
	}
	return false
}

// chosenMethods builds the methods of -method with their -set options; def
// are the methods when -method was not given (given is false). A -method
// that names no method ("", ",") is a usage error, not every method.
func chosenMethods(list string, given bool, set setFlag, def []string) ([]methods.Method, map[string]map[string]any, error) {
	names := def
	if given {
		names = nil
		for _, n := range strings.Split(list, ",") {
			n = strings.TrimSpace(n)
			if n == "" {
				return nil, nil, usagef("-method %q: want a comma-separated list of method names without empty ones (saliency help methods lists them)", list)
			}
			names = append(names, n)
		}
	}
	opts, err := set.options()
	if err != nil {
		return nil, nil, err
	}
	for m := range opts {
		if !slices.Contains(names, m) {
			return nil, nil, usagef("-set %s.…: method %s is not among -method %s", m, m, strings.Join(names, ","))
		}
	}
	var out []methods.Method
	for _, n := range names {
		m, err := methods.New(n, opts[n])
		if err != nil {
			return nil, nil, usageError{err.Error()}
		}
		out = append(out, m)
	}
	return out, opts, nil
}

// inputImage is an image file read for a model.
type inputImage struct {
	path, stem string
	x          []float32 // preprocessed [H,W,C]
	display    *tensor.Tensor
}

// readImages reads the images for spec, reporting the ones that fail on
// stderr; stems are made unique.
func readImages(w io.Writer, cmd string, paths []string, spec images.Spec) ([]inputImage, int) {
	var out []inputImage
	failed := 0
	seen := map[string]int{}
	for _, p := range paths {
		img, err := loadImage(w, cmd, p)
		var x, disp []float32
		if err == nil {
			x, err = images.ToInput(img, spec)
		}
		if err == nil {
			disp, err = images.ToInput(img, spec.Display())
		}
		if err != nil {
			fmt.Fprintf(w, "saliency %s: %v\n", cmd, err)
			failed++
			continue
		}
		stem := strings.TrimSuffix(filepath.Base(p), filepath.Ext(p))
		seen[stem]++
		if seen[stem] > 1 {
			stem += "_" + strconv.Itoa(seen[stem])
		}
		out = append(out, inputImage{path: p, stem: stem, x: x,
			display: &tensor.Tensor{Shape: []int{spec.Height, spec.Width, spec.Channels}, Data: disp}})
	}
	return out, failed
}

// layerFlags refuses -layer or -grid when no chosen method reads a layer:
// the flag would be ignored, and the user meant something else.
func layerFlags(o *explainOptions, ms []methods.Method) error {
	if o.layer == "" && o.grid == "" {
		return nil
	}
	var names []string
	for _, m := range ms {
		if methods.ReadsLayer(m.Name()) {
			return nil
		}
		names = append(names, m.Name())
	}
	flag := "-layer " + o.layer
	if o.layer == "" {
		flag = "-grid " + o.grid
	}
	return usagef("%s is for the methods that read a layer (%s); -method %s has none", flag, strings.Join(methods.LayerMethods(), ", "), strings.Join(names, ","))
}

// loadImage decodes an image file and says on w when some of its pixels are
// transparent, because their alpha is dropped (images.Transparency).
func loadImage(w io.Writer, cmd, path string) (image.Image, error) {
	img, err := images.Load(path)
	if err != nil {
		return nil, err
	}
	transparencyNote(w, cmd, path, img)
	return img, nil
}

// transparencyNote says on w that some pixels of img (read from path) are
// transparent, and what becomes of them.
func transparencyNote(w io.Writer, cmd, path string, img image.Image) {
	f := images.Transparency(img)
	if f == 0 {
		return
	}
	pct := fmt.Sprintf("%.0f%%", 100*f)
	if pct == "0%" {
		pct = "less than 1%"
	} else if pct == "100%" && f < 1 {
		pct = "more than 99%"
	}
	fmt.Fprintf(w, "saliency %s: note: %s: %s of its pixels are transparent; alpha is dropped and each pixel keeps its stored colour, as PIL's convert(\"RGB\") does\n", cmd, path, pct)
}

// indexEntry is one map of index.json.
type indexEntry struct {
	Image     string `json:"image"`
	Method    string `json:"method"`
	Class     *int   `json:"class,omitempty"`
	ClassName string `json:"class_name,omitempty"`
	// Unit is the unit explained (a unit target), whose value is Score.
	Unit    string             `json:"unit,omitempty"`
	Score   float32            `json:"score"`
	Layer   string             `json:"layer,omitempty"`
	Signed  bool               `json:"signed"`
	PNG     string             `json:"png"`
	Map     string             `json:"map"`
	Raw     string             `json:"raw,omitempty"`
	Info    map[string]float64 `json:"info,omitempty"`
	Options map[string]any     `json:"options,omitempty"`
}

type index struct {
	Model     string `json:"model"`
	Signature string `json:"signature"`
	Scores    string `json:"scores"`
	// Target is -target as read ("" for the predicted class's logit).
	Target   string    `json:"target,omitempty"`
	Images   []string  `json:"images"`
	Methods  []string  `json:"methods"`
	Skipped  []skipped `json:"skipped,omitempty"`
	Warnings []string  `json:"warnings,omitempty"`
	// Diagnostics are the per-image diagnostics above their thresholds
	// (methods.Check), also among the warnings.
	Diagnostics []diagnosed  `json:"diagnostics,omitempty"`
	Maps        []indexEntry `json:"maps"`
	Grid        string       `json:"grid"`
	Percentile  float64      `json:"display_percentile"`
	Saliency    string       `json:"saliency_version"`
	TensorFlow  string       `json:"tensorflow_version"`
}

// diagnosed is a diagnostic of one method above its threshold on some
// images, in index.json.
type diagnosed struct {
	Method     string      `json:"method"`
	Diagnostic string      `json:"diagnostic"`
	Threshold  float64     `json:"threshold"`
	Images     []flaggedIm `json:"images"`
	Causes     []string    `json:"likely_causes"`
}

type flaggedIm struct {
	Image string `json:"image"`
	// Value is null when infinite (the score difference is 0).
	Value *float64 `json:"value"`
}

// diagnose warns on w, one line per diagnostic, about the images whose
// maps res's diagnostics flag (methods.Check), and records them.
func (idx *index) diagnose(w io.Writer, method string, res *methods.Maps) {
	for _, f := range methods.Check(res.Info) {
		msg := f.Message(method, idx.Images, 5)
		fmt.Fprintf(w, "saliency explain: warning: %s\n", msg)
		idx.Warnings = append(idx.Warnings, msg)
		d := diagnosed{Method: method, Diagnostic: f.Key, Threshold: f.Threshold, Causes: f.Causes}
		for k, i := range f.Images {
			im := flaggedIm{Image: idx.Images[i]}
			if v := f.Values[k]; !math.IsInf(v, 0) {
				im.Value = &v
			}
			d.Images = append(d.Images, im)
		}
		idx.Diagnostics = append(idx.Diagnostics, d)
	}
}

type skipped struct {
	Method string `json:"method"`
	Reason string `json:"reason"`
}

func explain(c *ctx, mf *modelFlags, o *explainOptions, paths []string) error {
	want, err := methods.ParseTarget(o.target, "")
	if err != nil {
		return usagef("-target: %v", err)
	}
	if o.class >= 0 {
		switch {
		case want.Unit != nil:
			return usagef("-class %d and -target %s: a unit target has no class", o.class, o.target)
		case want.Class >= 0 && want.Class != o.class:
			return usagef("-class %d and -target %s name different classes", o.class, o.target)
		}
		want.Class = o.class
	}
	var imageMethods []string
	for _, n := range methods.Names() {
		if methods.Generative(n) || (want.Unit != nil && !slices.Contains(methods.UnitMethods(), n)) {
			continue
		}
		if opt := methods.NeedsInput(n); opt != "" && !setsOption(o.set, n, opt) {
			continue // deepshap without its reference images: give -method deepshap -set deepshap.baselines=FILE
		}
		imageMethods = append(imageMethods, n)
	}
	ms, opts, err := chosenMethods(o.methods, o.methodSet, o.set, imageMethods)
	if err != nil {
		return err
	}
	if err := layerFlags(o, ms); err != nil {
		return err
	}
	op, err := mf.loadImages(c, "explain", o.model)
	if err != nil {
		return err
	}
	if err := experiments.CheckScores(o.model, op); err != nil {
		op.Model.Close()
		return err
	}
	m, card, spec, fl := op.Model, op.Card, op.Spec, op.Flat
	defer m.Close()
	imgs, failed := readImages(c.stderr, "explain", paths, spec)
	if len(imgs) == 0 {
		return fmt.Errorf("none of the %d images could be read", len(paths))
	}
	items := make([]*tensor.Tensor, len(imgs))
	for i, im := range imgs {
		items[i] = &tensor.Tensor{Shape: []int{spec.Height, spec.Width, spec.Channels}, Data: im.x}
	}
	x, err := tensor.Stack(items)
	if err != nil {
		return err
	}
	batch := methods.Batch{X: x, Black: spec.PixelValue(0), White: spec.PixelValue(255), BGR: spec.BGR}
	target := want.Target(len(imgs))
	target.Layer, target.Grid = o.layer, o.grid
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	logits, _ := fl.Logits()
	scores := logits
	switch {
	case want.Unit != nil:
		l, err := fl.Layer(want.Unit.Layer)
		if err != nil {
			return fmt.Errorf("-target %s: %w", o.target, err)
		}
		scores = l.Output
	case want.Probability:
		scores = fl.HeadOutput()
	}
	idx := &index{Model: o.model, Signature: m.Signature.Name, Scores: scores, Target: want.String(), Grid: "grid." + o.figure,
		Percentile: o.percentile, Saliency: version, TensorFlow: tfgraph.Version()}
	if w := branchLayer(fl, o.layer, want.Unit != nil); w != "" {
		idx.Warnings = append(idx.Warnings, w)
		fmt.Fprintf(c.stderr, "saliency explain: warning: %s\n", w)
	}
	for _, im := range imgs {
		idx.Images = append(idx.Images, im.path)
	}
	results := make([]*methods.Maps, len(ms))
	bar := newProgress(c.stderr, "explain", len(ms))
	// The single-pass methods share one forward pass and their backward
	// signals (methods.Share).
	shared := methods.Share(context.Background(), fl, batch, target, ms)
	hinted := false
	for k, meth := range ms {
		bar.begin(meth.Name())
		res, err := meth.Explain(methods.WithProgress(shared, bar.part), fl, batch, target)
		bar.end()
		var na *methods.NotApplicableError
		if errors.As(err, &na) {
			idx.Skipped = append(idx.Skipped, skipped{meth.Name(), err.Error()})
			fmt.Fprintf(c.stderr, "saliency explain: %v (skipped)\n", err)
			if !hinted {
				hinted = noRuleHint(c.stderr, err) // once: every gradient method meets the same op
			}
			continue
		}
		if err != nil {
			bar.finish()
			return err
		}
		if i, what := res.NonFinite(); i >= 0 {
			bar.finish()
			return fmt.Errorf("%s: %s: %s for class %d, not a finite number: the model cannot take this input as fed (%s: a log or a division of a black pixel?); check the input range (-input-range, the card's preprocessing). No map was written", imgs[i].path, meth.Name(), what, res.Classes[i], spec.Formula())
		}
		if w := zeroMaps(meth.Name(), res, idx.Images); w != "" {
			idx.Warnings = append(idx.Warnings, w)
			fmt.Fprintf(c.stderr, "saliency explain: warning: %s\n", w)
		}
		results[k] = res
		idx.Methods = append(idx.Methods, meth.Name())
		idx.diagnose(c.stderr, meth.Name(), res)
		if ru, ok := meth.(methods.RuleUser); ok && ru.RuleSet() != nil {
			changed, plain := fl.RuleCoverage(ru.RuleSet())
			var written []string
			for l, ops := range plain {
				if slices.ContainsFunc(ops, func(op string) bool { return op == "Maximum" || op == "Select" || op == "SelectV2" }) {
					written = append(written, l)
				}
			}
			slices.Sort(written)
			var ws []string
			if len(changed) == 0 {
				ws = append(ws, fmt.Sprintf("%s: the model has no ReLU-family activation on its input→logits path, so the %s rule set changes nothing: the map is a plain-gradient map", meth.Name(), ru.RuleSet().Name))
			}
			if len(written) > 0 {
				ws = append(ws, fmt.Sprintf("%s: ReLUs written out of other ops (max(x, 0), a thresholded select) keep their exact derivative under the %s rule set, whose rules replace the ReLU ops: layers %s", meth.Name(), ru.RuleSet().Name, strings.Join(written, ", ")))
			}
			for _, w := range ws {
				idx.Warnings = append(idx.Warnings, w)
				fmt.Fprintf(c.stderr, "saliency explain: warning: %s\n", w)
			}
		}
	}
	bar.finish()
	if len(idx.Methods) == 0 {
		return fmt.Errorf("none of the %d methods applies to %s (see above)", len(ms), o.model)
	}
	grid := &reports.Grid{
		Title:   fmt.Sprintf("%s — %s", filepath.Base(filepath.Clean(o.model)), targetNote(want, logits, card)),
		Columns: []string{"input"},
	}
	for k, res := range results {
		if res != nil {
			grid.Columns = append(grid.Columns, ms[k].Name())
		}
	}
	for i, im := range imgs {
		base, err := reports.Image(im.display)
		if err != nil {
			return err
		}
		row := []reports.Cell{{Image: base}}
		label := im.stem
		for k, res := range results {
			if res == nil {
				continue
			}
			name := ms[k].Name()
			mp := res.Map.Item(i)
			norm := tensor.Normalize(mp.Data, res.Signed, o.percentile)
			over, err := reports.Overlay(im.display, norm, res.Signed, 0.85)
			if err != nil {
				return err
			}
			e := indexEntry{Image: im.path, Method: name, Score: res.Scores[i], Layer: res.Layer, Signed: res.Signed, Options: opts[name],
				PNG: im.stem + "_" + name + ".png", Map: im.stem + "_" + name + ".npy"}
			what := ""
			if res.Classes != nil {
				e.Class, e.ClassName = &res.Classes[i], card.ClassName(res.Classes[i])
				what = e.ClassName
			} else {
				e.Unit = want.Unit.String()
				what = e.Unit
			}
			if err := reports.WritePNG(filepath.Join(o.out, e.PNG), over); err != nil {
				return err
			}
			if err := reports.WriteNpy(filepath.Join(o.out, e.Map), mp); err != nil {
				return err
			}
			if res.Raw != nil {
				e.Raw = im.stem + "_" + name + "_raw.npy"
				if err := reports.WriteNpy(filepath.Join(o.out, e.Raw), res.Raw.Item(i)); err != nil {
					return err
				}
			}
			for key, v := range res.Info {
				if e.Info == nil {
					e.Info = map[string]float64{}
				}
				if !math.IsNaN(v[i]) && !math.IsInf(v[i], 0) {
					e.Info[key] = v[i]
				}
			}
			idx.Maps = append(idx.Maps, e)
			if res.Signed {
				grid.Diverging = true
			} else {
				grid.Sequential = true
			}
			row = append(row, reports.Cell{Image: over})
			label = fmt.Sprintf("%s\n%s (%.3g)", im.stem, what, res.Scores[i])
		}
		grid.Rows = append(grid.Rows, label)
		grid.Cells = append(grid.Cells, row)
	}
	gridPath := filepath.Join(o.out, idx.Grid)
	if err := grid.Save(gridPath); err != nil {
		return err
	}
	if err := reports.WriteJSON(filepath.Join(o.out, "index.json"), idx); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "%s\n", gridPath)
	fmt.Fprintf(c.stdout, "%d maps of %d images by %d methods in %s\n", len(idx.Maps), len(imgs), len(idx.Methods), o.out)
	if failed > 0 {
		return fmt.Errorf("%d of %d images could not be read", failed, len(paths))
	}
	return nil
}

// branchLayer is the warning that the layer given to -layer is a branch
// (Flat.BranchWarning); "" for no -layer and for a unit target, whose
// scores are the unit.
func branchLayer(fl *tfgraph.Flat, name string, unit bool) string {
	if name == "" || unit {
		return ""
	}
	l, err := fl.Layer(name)
	if err != nil {
		return ""
	}
	return fl.BranchWarning(l)
}

// targetNote says what is explained.
func targetNote(t methods.TargetSpec, logits string, card *savedmodels.Card) string {
	switch {
	case t.Unit != nil:
		return "unit " + t.Unit.String() + ": " + t.Unit.Describe()
	case t.Probability:
		return "class probabilities"
	}
	return scoreNote(logits, card)
}

// scoreNote says what the scores are.
func scoreNote(logits string, card *savedmodels.Card) string {
	if card != nil && card.Output.Kind == "probabilities" {
		return "class logits (behind the softmax)"
	}
	if card != nil && card.Output.Kind == "log-probabilities" {
		return "class logits (behind the log_softmax)"
	}
	return "class logits"
}

// zeroMaps says which images' maps are zero everywhere, with the likely
// causes; "" when none is.
func zeroMaps(method string, res *methods.Maps, images []string) string {
	var zero []string
	for i := range res.Classes {
		if res.Map != nil && res.Map.Item(i).MaxAbs() == 0 {
			zero = append(zero, fmt.Sprintf("%s, class %d", images[i], res.Classes[i]))
		}
	}
	if len(zero) == 0 {
		return ""
	}
	return fmt.Sprintf("%s: the map is zero everywhere for %d of %d images (%s): under this method nothing in the image changes the explained score (a class whose score a ReLU or a clip after the logits holds constant, a saturated sigmoid; for a CAM method with its ReLU, no positive evidence)",
		method, len(zero), len(res.Classes), strings.Join(zero, "; "))
}
