package experiments

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/saliencykit/saliency/experiments/runfolder"
	"github.com/saliencykit/saliency/images"
	"github.com/saliencykit/saliency/methods"
	"github.com/saliencykit/saliency/savedmodels"
	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// Plan is an experiment resolved against its models and images: the units
// of work and everything a report needs to read their results. Its JSON
// form (PlanFile) is written into the run folder as plan.json.
type Plan struct {
	PlanFile
	Exp  *Experiment
	Data *Images

	models  []*openModel
	methods []methods.Method
	// images are the data sets of the layers' units loaded so far, by
	// their Data (the experiment's images among them).
	images map[Data]*Images
}

// openModel is a model of the plan, loaded.
type openModel struct {
	m       *tfgraph.Model
	fl      *tfgraph.Flat
	card    *savedmodels.Card
	spec    images.Spec
	x, disp *tensor.Tensor
	masks   *tensor.Tensor // [N,H,W] at the input's size, when every image has one
	steps   []step         // the original weights, then each test's steps
	draws   *draws         // the randomized weights of the steps running now
	// lower holds the activations of unchanged layers that later
	// randomized steps feed; bounds the boundary of each step's logits.
	lower  *lowerCache
	bounds map[int]*boundary
}

// PlanOptions are what a plan needs besides the experiment.
type PlanOptions struct {
	// Version is the toolkit's version, for the manifest.
	Version string
	// Threads overrides the experiment's TensorFlow intra-op threads when
	// positive. The threads in effect must be at most MaxThreads.
	Threads int
}

// NewPlan loads the experiment's images and models, checks the layers and
// classes it names (an *InvalidError at the line of each problem), predicts
// the images' classes and lays out the units. The models stay open until
// Close.
func NewPlan(ctx context.Context, e *Experiment, o PlanOptions) (*Plan, error) {
	threads := e.Threads
	if o.Threads > 0 {
		threads = o.Threads
	}
	if err := CheckThreads(threads); err != nil {
		if o.Threads > 0 || e.threadsAt.File == "" {
			return nil, err
		}
		pr := e.threadsAt
		pr.Msg = strings.TrimPrefix(err.Error(), "experiments: ") + "; or override it with -threads"
		return nil, &InvalidError{[]Problem{pr}}
	}
	if e.Batch < 1 || e.Batch > MaxBatch {
		return nil, fmt.Errorf("experiments: %s: batch %d: want 1 to %d images per unit", e.File, e.Batch, MaxBatch)
	}
	// The images of the maps: an experiment without methods has none.
	imgs := &Images{}
	if len(e.Methods) > 0 {
		var err error
		if imgs, err = LoadImages(e.Data); err != nil {
			return nil, err
		}
	}
	raw, err := os.ReadFile(e.File)
	if err != nil {
		return nil, fmt.Errorf("experiments: %w", err)
	}
	sum := sha256.Sum256(raw)
	p := &Plan{Exp: e, Data: imgs, images: map[Data]*Images{}, PlanFile: PlanFile{
		Name: e.Name, File: "experiment.yaml", FileSHA256: hex.EncodeToString(sum[:]),
		Seed: e.Seed, Batch: e.Batch, Threads: threads,
		Versions: map[string]string{"saliency": o.Version, "tensorflow": tfgraph.Version(), "go": runtime.Version()},
		Metrics:  e.Metrics, Figures: e.Outputs.Figures, Tables: e.Outputs.Tables,
	}}
	if e.Data.Source != "" {
		p.PlanFile.Data = planData(e, e.Data)
	}
	if len(e.Methods) > 0 {
		p.images[e.Data] = imgs
	}
	for i, id := range imgs.IDs {
		p.Images = append(p.Images, PlanImage{ID: id, Source: relTo(e.Dir, imgs.Sources[i]), Label: imgs.Labels[i]})
	}
	if err := p.planMethods(); err != nil {
		return nil, err
	}
	var problems []Problem
	for _, t := range e.Tests {
		p.Tests = append(p.Tests, t.PlanTest())
		if _, ok := t.(maskTest); ok {
			for i, m := range imgs.Masks {
				if m == nil {
					problems = append(problems, t.where().problem("%s needs an object mask for every image; %s has none (the scatter set has masks; a folder has <stem>_mask.png files)", t.Kind(), imgs.Sources[i]))
					break
				}
			}
		}
	}
	for _, m := range e.Models {
		pm, om, probs, err := p.planModel(ctx, m, threads)
		if err != nil {
			p.Close()
			return nil, err
		}
		if len(probs) > 0 {
			problems = append(problems, probs...)
			if om != nil {
				om.m.Close()
			}
			continue
		}
		p.Models = append(p.Models, pm)
		p.models = append(p.models, om)
	}
	// What the tests complete once every model is laid out.
	for _, t := range e.Tests {
		if mp, ok := t.(modelsPlanner); ok && len(problems) == 0 {
			problems = append(problems, mp.planModels(p)...)
		}
	}
	if len(problems) == 0 {
		problems = p.planLayers()
	}
	if len(problems) > 0 {
		p.Close()
		return nil, &InvalidError{problems}
	}
	if err := checkUnits(&p.PlanFile); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// planMethods lays out the methods, decoded by Load: the experiment's
// seed seeds those that draw noise unless their options set one, and
// plan.json records it with their options.
func (p *Plan) planMethods() error {
	count := map[string]int{}
	for _, ms := range p.Exp.Methods {
		if ms.Method == nil {
			return fmt.Errorf("experiments: %s: method %s has no decoded options (an experiment comes from Load)", p.Exp.File, ms.Name)
		}
		opts := maps.Clone(ms.Options)
		if ms.seeded() {
			if opts == nil {
				opts = map[string]any{}
			}
			opts["seed"] = p.Exp.Seed
		}
		count[ms.Name]++
		dir := ms.Name
		if count[ms.Name] > 1 {
			dir += "-" + strconv.Itoa(count[ms.Name])
		}
		if ms.Label != "" {
			dir = ms.Label
		}
		if slices.ContainsFunc(p.Methods, func(pm PlanMethod) bool { return pm.Dir == dir }) {
			return fmt.Errorf("experiments: %s: two methods are labelled %s; give them distinct labels", p.Exp.File, dir)
		}
		if len(opts) == 0 {
			opts = nil
		}
		p.Methods = append(p.Methods, PlanMethod{Dir: dir, Name: ms.Name, Options: opts})
		p.methods = append(p.methods, ms.Method)
	}
	return nil
}

// planModel opens model m, predicts the images' classes with its original
// weights, resolves its target and lays out its steps: the original
// weights, then each test's (stepPlanner), in the order of the tests. The
// problems are the file's; an error is the model's.
func (p *Plan) planModel(ctx context.Context, m Model, threads int) (PlanModel, *openModel, []Problem, error) {
	op, err := Open(m.Path, tfgraph.Options{Signature: m.Signature, Output: m.Output, IntraOpThreads: threads}, OpenOptions{})
	if err != nil {
		return PlanModel{}, nil, nil, err
	}
	tm, card, spec := op.Model, op.Card, op.Spec
	om := &openModel{m: tm, card: card, spec: spec, fl: op.Flat}
	fail := func(err error) (PlanModel, *openModel, []Problem, error) {
		tm.Close()
		return PlanModel{}, nil, nil, err
	}
	if p.Data.Len() > 0 {
		if om.x, om.disp, err = p.Data.Inputs(spec); err != nil {
			return fail(err)
		}
		if om.masks, err = p.Data.masksAt(spec.Height, spec.Width); err != nil {
			return fail(err)
		}
	}
	hash, err := hashModel(m.Path)
	if err != nil {
		return fail(err)
	}
	pm := PlanModel{Name: m.Name, Path: relTo(p.Exp.Dir, m.Path), SHA256: hash, Signature: tm.Signature.Name,
		Target: m.Target, Shape: [3]int{spec.Height, spec.Width, spec.Channels}}
	for _, w := range op.Warnings {
		// Relative to the experiment, as Path is: the same on every machine.
		pm.Warnings = append(pm.Warnings, strings.ReplaceAll(w, m.Path, pm.Path))
	}
	var problems []Problem
	at := func(key, format string, a ...any) {
		pr := m.at[key]
		if pr.File == "" {
			pr = Problem{File: p.Exp.File}
		}
		pr.Msg = fmt.Sprintf("model %s: ", m.Name) + fmt.Sprintf(format, a...)
		problems = append(problems, pr)
	}
	// The layer of CAM methods.
	branch := ""
	if m.Layer != "" {
		if l, err := om.fl.Layer(m.Layer); err != nil {
			msg := strings.TrimPrefix(err.Error(), "tfgraph: ")
			msg = strings.TrimPrefix(msg, tm.Dir+": ")
			at("layer", "%s", msg)
		} else {
			// A branch, as explain warns; not said for a unit target
			// (below): the unit is the score.
			branch = om.fl.BranchWarning(l)
		}
		pm.Layer = m.Layer
	} else if l, err := om.fl.CAMLayer(); err == nil {
		pm.Layer = l.Name
	}
	// Predictions with the original weights.
	if err := CheckScores(m.Path, op); err != nil && len(p.Exp.Methods) > 0 {
		return fail(err)
	}
	logits, _ := om.fl.Logits()
	classes := 0
	if s := om.fl.Shape(logits); len(s) > 0 {
		classes = int(max(s[len(s)-1], 0))
	}
	for i := range classes {
		pm.ClassNames = append(pm.ClassNames, card.ClassName(i))
	}
	if len(p.Exp.Methods) == 0 {
		// Only the layers' units: no images to predict or explain.
		om.addStep(stepOriginal, step{})
		pm.Steps = om.records()
		return pm, om, problems, nil
	}
	n := p.Data.Len()
	for lo, size := 0, p.runSize(om.fl); lo < n; lo += size {
		hi := min(lo+size, n)
		res, err := om.fl.Run(ctx, om.x.Slice(lo, hi), tfgraph.Query{Fetch: []string{logits}})
		if err != nil {
			return fail(err)
		}
		z := res.Fetched[0]
		if len(z.Shape) != 2 {
			// Scores of a rank the graph did not know (CheckScores let
			// them pass).
			return fail(fmt.Errorf("%s: the scores %s have shape %v, not [N, K], a row of class scores per image", m.Path, logits, z.Shape))
		}
		if classes <= 0 {
			// K of run-time size: the scores' own.
			classes = z.Shape[len(z.Shape)-1]
			for i := range classes {
				pm.ClassNames = append(pm.ClassNames, card.ClassName(i))
			}
		}
		for i := range hi - lo {
			row := z.Data[i*classes : (i+1)*classes]
			if c := tensor.FirstNonFinite(row); c >= 0 {
				return fail(fmt.Errorf("%s: image %s: the model's score of class %d is %v, not a finite number: the model cannot take this input as fed (%s); check the input range (the card's preprocessing)", m.Path, p.Data.IDs[lo+i], c, row[c], op.Spec.Formula()))
			}
			pm.Predicted = append(pm.Predicted, tensor.Argmax(row))
		}
	}
	switch m.Target {
	case "predicted":
		pm.Classes = pm.Predicted
	case "label":
		for i, l := range p.Data.Labels {
			if l < 0 {
				at("target", "target label: image %s has no label (a folder needs a labels.csv with the columns file and label)", p.Data.IDs[i])
				break
			}
			if l >= classes {
				at("target", "target label: image %s has label %d, but the model has %d classes", p.Data.IDs[i], l, classes)
				break
			}
			pm.Classes = append(pm.Classes, l)
		}
	default:
		spec := methods.TargetSpec{Class: -1}
		if c, err := strconv.Atoi(m.Target); err == nil {
			spec.Class = c
		} else if spec, err = methods.ParseTarget(m.Target, p.Exp.Dir); err != nil {
			at("target", "%v", err)
			break
		}
		pm.Probability, pm.Unit = spec.Probability, spec.Unit
		if spec.Unit != nil {
			branch = ""
		}
		if spec.Unit != nil {
			// The unit's value is explained; the classes are the
			// predicted ones, for the report's labels.
			pm.Classes = pm.Predicted
			if err := methods.CheckTarget(om.fl, spec.Target(0), om.x.Slice(0, 1)); err != nil {
				at("target", "%s", strings.TrimPrefix(err.Error(), "methods: target: "))
			}
			for _, t := range p.Exp.Tests {
				if _, ok := t.(classTest); ok {
					problems = append(problems, t.where().problem("%s: model %s explains the unit %s; this test needs a class target (its measure is the class probability or the class itself)", t.Kind(), m.Name, spec.Unit))
				}
			}
			break
		}
		if spec.Probability && om.fl.Head() == "" {
			at("target", "target %s: the model has no softmax or sigmoid head; its output is already the scores", m.Target)
		}
		if _, activated := om.fl.Logits(); spec.Probability && om.fl.Head() == "sigmoid" && !activated {
			at("target", "target %s: the model's output is the logits of independent labels (a binary classifier's one logit, or the card's output.kind sigmoid), with no sigmoid in its graph to explain (explain the class, its logit)", m.Target)
		}
		if spec.Probability && om.fl.Head() == "log_softmax" {
			at("target", "target %s: the model ends in a log_softmax; its output is the log-probability, not the probability (explain the class)", m.Target)
		}
		if spec.Class < 0 {
			pm.Classes = pm.Predicted
			break
		}
		c := spec.Class
		if c >= classes {
			at("target", "target %d: the model has %d classes (0 to %d)", c, classes, classes-1)
		}
		for range n {
			pm.Classes = append(pm.Classes, c)
		}
	}
	if branch != "" {
		pm.Warnings = append(pm.Warnings, branch)
	}
	// What the tests check of the model before any step.
	for _, t := range p.Exp.Tests {
		if c, ok := t.(modelChecker); ok {
			problems = append(problems, c.checkModel(m, spec)...)
		}
	}
	if len(problems) > 0 {
		return pm, om, problems, nil
	}
	// The steps: the original weights, then each test's.
	om.addStep(stepOriginal, step{})
	for _, t := range p.Exp.Tests {
		if sp, ok := t.(stepPlanner); ok {
			probs, err := sp.planSteps(ctx, p, m, &pm, om)
			if err != nil {
				return fail(err)
			}
			problems = append(problems, probs...)
		}
	}
	pm.Steps = om.records()
	if len(problems) > 0 {
		return pm, om, problems, nil
	}
	return pm, om, nil, nil
}

// records are the steps as plan.json writes them.
func (om *openModel) records() []PlanStep {
	out := make([]PlanStep, len(om.steps))
	for i, s := range om.steps {
		out[i] = s.PlanStep
	}
	return out
}

// Close closes the models.
func (p *Plan) Close() error {
	var errs []error
	for _, m := range p.models {
		errs = append(errs, m.m.Close())
	}
	p.models = nil
	return errors.Join(errs...)
}

// relTo is how a run records path, a file or folder its experiment names
// (dir: the experiment's folder): relative to dir when the two share a
// folder below the file system's root, else absolute (Debian's
// /usr/share/datasets beside a checkout in /home). Both are made absolute
// first, so that the record does not depend on how the experiment file was
// named on the command line: experiments/x.yaml and /home/me/repo/experiments/x.yaml
// write the same plan.json, manifest and tables, and shards started either
// way share a folder. (Before, an absolute name recorded
// ../../../usr/share/... and a relative one /usr/share/...)
func relTo(dir, path string) string {
	ad, err1 := filepath.Abs(dir)
	ap, err2 := filepath.Abs(path)
	if err1 != nil || err2 != nil {
		if r, err := filepath.Rel(dir, path); err == nil {
			return filepath.ToSlash(r)
		}
		return path
	}
	top := func(p string) string {
		t, _, _ := strings.Cut(strings.TrimPrefix(filepath.ToSlash(p), "/"), "/")
		return t
	}
	if top(ad) != top(ap) {
		return filepath.ToSlash(ap)
	}
	r, err := filepath.Rel(ad, ap)
	if err != nil {
		return filepath.ToSlash(ap)
	}
	return filepath.ToSlash(r)
}

// notApplicable is the text a unit records of err, a
// *methods.NotApplicableError on model mi: the model's path as the plan
// records it (relative to the experiment file) instead of as this process
// loaded it, so that the bytes do not depend on how the experiment file was
// named (a relative and an absolute name gave other unit files and reports).
func (p *Plan) notApplicable(mi int, err error) string {
	msg := strings.TrimPrefix(err.Error(), "methods: ")
	if load := p.Exp.Models[mi].Path; load != "" && load != p.Models[mi].Path {
		msg = strings.ReplaceAll(msg, load, p.Models[mi].Path)
	}
	return msg
}

// hashModel is the SHA-256 of a SavedModel: its files (saved_model.pb and
// variables/*, not the card or golden data) in path order, each as its
// relative path, a NUL, its size and its bytes.
func hashModel(dir string) (string, error) {
	h := sha256.New()
	files := []string{"saved_model.pb"}
	err := filepath.WalkDir(filepath.Join(dir, "variables"), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			r, _ := filepath.Rel(dir, path)
			files = append(files, r)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("experiments: hash %s: %w", dir, err)
	}
	slices.Sort(files[1:])
	for _, f := range files {
		fh, err := os.Open(filepath.Join(dir, f))
		if err != nil {
			return "", fmt.Errorf("experiments: hash %s: %w", dir, err)
		}
		st, _ := fh.Stat()
		fmt.Fprintf(h, "%s\x00%d\x00", filepath.ToSlash(f), st.Size())
		_, err = io.Copy(h, fh)
		fh.Close()
		if err != nil {
			return "", fmt.Errorf("experiments: hash %s: %w", dir, err)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Calibration is the measured time of one unit per model and method.
type Calibration struct {
	Model, Method string
	// PerUnit is the time of one unit (a full batch, original weights, after
	// a first run that builds the backward graph); Units counts the shard's
	// units of this model and method.
	PerUnit time.Duration
	Units   int
	// NotApplicable says why the method does not apply to the model.
	NotApplicable string
}

// Calibrate runs the first batch of each model and method once to build its
// graphs and once more to time it, and counts the shard's units of each:
// the estimate of a dry run.
func (p *Plan) Calibrate(ctx context.Context, shard Shard) ([]Calibration, error) {
	if shard.N == 0 {
		shard = runfolder.All
	}
	if len(p.methods) == 0 {
		return nil, nil
	}
	var out []Calibration
	count := map[[2]int]int{}
	for _, u := range p.Units() {
		if shard.Owns(u.Index) && u.Kind == mapUnit {
			count[[2]int{u.Model, u.Method}]++
		}
	}
	for mi, pm := range p.Models {
		om := p.models[mi]
		lo, hi := p.BatchRange(0)
		batch := methods.Batch{X: om.x.Slice(lo, hi), Black: om.spec.PixelValue(0), White: om.spec.PixelValue(255), BGR: om.spec.BGR}
		target := p.target(mi, 0, lo, hi)
		for ki, meth := range p.methods {
			c := Calibration{Model: pm.Name, Method: p.Methods[ki].Dir, Units: count[[2]int{mi, ki}]}
			var took time.Duration
			for range 2 {
				t0 := time.Now()
				_, err := meth.Explain(ctx, om.fl, batch, target)
				took = time.Since(t0)
				var na *methods.NotApplicableError
				if errors.As(err, &na) {
					c.NotApplicable = p.notApplicable(mi, err)
					break
				}
				if err != nil {
					return nil, fmt.Errorf("experiments: %s %s: %w", pm.Name, c.Method, err)
				}
				if took > 2*time.Second {
					break
				}
			}
			c.PerUnit = took
			out = append(out, c)
		}
	}
	return out, nil
}
