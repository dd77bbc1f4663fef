package experiments

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/saliencykit/saliency/experiments/runfolder"
	"github.com/saliencykit/saliency/methods"
	"github.com/saliencykit/saliency/reports"
	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// The kinds of units (runfolder.Unit.Kind) besides the evaluation units of
// the tests, whose kind is their test's.
const (
	mapUnit   = ""      // the maps of one batch by one method at one step
	layerUnit = "units" // an entry of units: (runLayer)
)

// RunOptions say where a run writes and which units it computes.
type RunOptions struct {
	// Out is the run folder ("": the experiment's output).
	Out string
	// Shard selects the units of this process (zero value: all).
	Shard Shard
	// Progress, when set, is called before each unit computed (with the
	// unit's name) and once at the end (with ""), with the number of units
	// of this process already finished and their total.
	Progress func(done, total int, unit string)
}

// RunStats count the units of one process.
type RunStats struct {
	// Units is the run's total; Owned this shard's share.
	Units, Owned int
	// Found were finished before (a resumed run), Computed now; NotApplicable
	// of the computed ones record that the method does not apply to the
	// model.
	Found, Computed, NotApplicable int
	Elapsed                        time.Duration
	// LockNote, when set, says that the folder could not be locked (a
	// file system without flock) and why (Lock.Note).
	LockNote string
}

// Run computes the units of this shard that are not finished yet, writing
// each atomically as soon as it is done, so a run that is killed resumes
// where it stopped. The files of a unit depend only on the experiment, not
// on the order, the shard or the process that computes it. The folder's
// plan.json must be this plan's (a folder of another experiment or of a
// changed file is an error, not a mix). The process holds the folder's lock
// of its shard while it runs (LockRun): a folder in use by another process
// of the same shard, or by a run without shards or a report, is a
// *LockedError naming it.
func (p *Plan) Run(ctx context.Context, o RunOptions) (RunStats, error) {
	start := time.Now()
	if o.Out == "" {
		o.Out = p.Exp.Output
	}
	if o.Shard.N == 0 {
		o.Shard = runfolder.All
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return RunStats{}, fmt.Errorf("experiments: %w", err)
	}
	lk, err := runfolder.LockRun(o.Out, o.Shard)
	if err != nil {
		return RunStats{}, err
	}
	defer lk.Unlock()
	if err := p.writeHeader(o.Out); err != nil {
		return RunStats{}, err
	}
	if o.Shard.N == 1 {
		removeTemps(filepath.Join(o.Out, "units"))
		removeTemps(filepath.Join(o.Out, "layers"))
	}
	units := p.Units()
	st := RunStats{Units: len(units), LockNote: lk.Note}
	var todo []Unit
	for _, u := range units {
		if !o.Shard.Owns(u.Index) {
			continue
		}
		st.Owned++
		if fileExists(filepath.Join(o.Out, p.UnitPath(u)+".json")) {
			st.Found++
			continue
		}
		todo = append(todo, u)
	}
	progress := func(unit string) {
		if o.Progress != nil {
			o.Progress(st.Found+st.Computed, st.Owned, unit)
		}
	}
	var view *tfgraph.Flat
	lastModel, lastStep := -1, -1
	// shared holds, per batch of the current model and step, the context
	// under which its single-pass methods share session runs
	// (methods.Share); sc what the units of the step share besides.
	var shared map[int]context.Context
	var sc *stepShare
	all := p.Units()
	for _, u := range todo {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		if u.Model != lastModel || u.Step != lastStep {
			if lastModel >= 0 && u.Model != lastModel {
				// Its randomized weights and unchanged activations are
				// done with.
				p.models[lastModel].draws = nil
				p.models[lastModel].lower, p.models[lastModel].bounds = nil, nil
			}
			shared = map[int]context.Context{}
			sc = &stepShare{predicted: map[int][]int{}, inputs: map[int]methods.Batch{}, todo: map[int][]int{},
				smooth: map[int]*smoothBatch{}, methods: map[int][]methods.Method{}}
			for _, v := range todo {
				if v.Kind == mapUnit && v.Model == u.Model && v.Step == u.Step {
					sc.todo[v.Batch] = append(sc.todo[v.Batch], v.Method)
				}
			}
			for _, v := range all {
				// Every method of the batch and step in the plan, done or
				// not, owned by this shard or not: a unit's bytes must not
				// depend on which units share its run.
				if v.Kind == mapUnit && v.Model == u.Model && v.Step == u.Step {
					sc.methods[v.Batch] = append(sc.methods[v.Batch], p.methods[v.Method])
				}
			}
			om := p.models[u.Model]
			om.lower.dropBefore(u.Step)
			view = om.fl
			vals, err := om.stepValues(u.Step)
			if err != nil {
				return st, fmt.Errorf("experiments: %s: %w", p.Models[u.Model].Steps[u.Step].Name, err)
			}
			if vals != nil {
				feed, err := om.fl.PrepareWeights(vals)
				if err != nil {
					return st, fmt.Errorf("experiments: %s: %w", p.Models[u.Model].Steps[u.Step].Name, err)
				}
				if view, err = om.fl.WithWeights(feed); err != nil {
					return st, err
				}
			}
			lastModel, lastStep = u.Model, u.Step
		}
		progress(p.UnitName(u))
		var na bool
		var err error
		switch u.Kind {
		case mapUnit:
			uctx := ctx
			if p.shares(u) {
				if uctx = shared[u.Batch]; uctx == nil {
					b, t := p.unitInputs(u)
					b = p.stepInputs(sc, u, b)
					uctx = methods.Share(ctx, view, b, t, sc.methods[u.Batch])
					shared[u.Batch] = uctx
				}
			}
			na, err = p.runUnit(uctx, view, u, o.Out, sc)
		case layerUnit:
			err = p.runLayer(ctx, u, o.Out, progress)
		default:
			// An evaluation unit of the test of its kind.
			ev, ok := p.test(u.Kind).(evaluator)
			if !ok {
				return st, fmt.Errorf("experiments: %s: no test of the plan evaluates units of kind %q", p.UnitName(u), u.Kind)
			}
			na, err = ev.evaluate(ctx, p, u, o.Out)
		}
		if err != nil {
			return st, fmt.Errorf("experiments: %s: %w", p.UnitName(u), err)
		}
		st.Computed++
		if na {
			st.NotApplicable++
		}
	}
	progress("")
	st.Elapsed = time.Since(start)
	return st, nil
}

// noStepShare turns stepShare off (tests: the same files without it).
var noStepShare bool

// stepShare holds what the map units of one model and step share, by
// batch: the predictions (step.predicts) and the step's inputs (noise,
// shift), the same for every method, made once instead of once per unit;
// for a smooth step, the smoothed maps of every method this process
// computes, made together (smoothShared).
type stepShare struct {
	predicted map[int][]int
	inputs    map[int]methods.Batch
	smooth    map[int]*smoothBatch
	// todo are the methods of the step's units this process computes;
	// methods those of the plan's units (which share session runs).
	todo    map[int][]int
	methods map[int][]methods.Method
}

// stepInputs are the inputs of unit u's step (step.inputs) for batch b,
// made once per step and batch: the same tensor for every method's unit, so
// that their session runs are shared (methods.Share takes the same X).
func (p *Plan) stepInputs(sc *stepShare, u Unit, b methods.Batch) methods.Batch {
	lo, _ := p.BatchRange(u.Batch)
	st := p.models[u.Model].steps[u.Step]
	if sc == nil || noStepShare {
		return st.inputs(b, lo, p.Seed)
	}
	if in, ok := sc.inputs[u.Batch]; ok {
		return in
	}
	in := st.inputs(b, lo, p.Seed)
	sc.inputs[u.Batch] = in
	return in
}

// runUnit computes one unit and writes its files; sc holds what the units of
// its step share (nil: nothing).
func (p *Plan) runUnit(ctx context.Context, view *tfgraph.Flat, u Unit, out string, sc *stepShare) (notApplicable bool, err error) {
	pm, om := p.Models[u.Model], p.models[u.Model]
	lo, hi := p.BatchRange(u.Batch)
	base := filepath.Join(out, p.UnitPath(u))
	if err := os.MkdirAll(filepath.Dir(base), 0o755); err != nil {
		return false, err
	}
	batch, target := p.unitInputs(u)
	st := om.steps[u.Step]
	if st.Attack > 0 {
		return p.runAttack(ctx, view, u, batch, st.PlanStep, lo, hi, base)
	}
	batch = p.stepInputs(sc, u, batch)
	var predicted []int
	if st.predicts() {
		// Perturbed inputs: whether the prediction holds. A randomized
		// model: the proof that the randomization changed the model (the
		// report's top-1 agreement). The inputs depend on the step and
		// the batch only (the noise on the images' positions and the
		// seed): every method's unit of the batch takes the same.
		if predicted = sc.predictions(u.Batch); predicted == nil {
			z, err := p.stepLogits(ctx, view, u.Model, u.Step, batch.X, lo, p.runSize(view))
			if err != nil {
				return false, err
			}
			for i := range hi - lo {
				predicted = append(predicted, tensor.Argmax(z.Data[i*z.Shape[1]:(i+1)*z.Shape[1]]))
			}
			sc.keep(u.Batch, predicted)
		}
	}
	r := UnitResult{Model: pm.Name, Step: st.Name, Method: p.Methods[u.Method].Dir, Predicted: predicted}
	for i := lo; i < hi; i++ {
		r.Images = append(r.Images, p.PlanFile.Images[i].ID)
	}
	var res *methods.Maps
	if st.Smooth > 0 {
		res, err = p.smoothShared(ctx, view, u, batch, target, st.PlanStep, lo, sc)
	} else {
		res, err = p.methods[u.Method].Explain(ctx, view, batch, target)
	}
	var na *methods.NotApplicableError
	switch {
	case errors.As(err, &na):
		r.NotApplicable = p.notApplicable(u.Model, err)
	case err != nil:
		return false, err
	default:
		if err := reports.WriteNpy(base+".npy", res.Map); err != nil {
			return false, err
		}
		r.Classes, r.Scores, r.Layer, r.Signed = res.Classes, res.Scores, res.Layer, res.Signed
		for k, v := range res.Info {
			if r.Info == nil {
				r.Info = map[string][]*float64{}
			}
			vals := make([]*float64, len(v))
			for i, x := range v {
				if !math.IsNaN(x) && !math.IsInf(x, 0) {
					vals[i] = &x
				}
			}
			r.Info[k] = vals
		}
	}
	return r.NotApplicable != "", reports.WriteJSON(base+".json", r)
}

// predictions are the step's predictions of batch b made by an earlier unit
// (a copy), or nil.
func (sc *stepShare) predictions(b int) []int {
	if sc == nil || noStepShare || sc.predicted[b] == nil {
		return nil
	}
	return slices.Clone(sc.predicted[b])
}

// keep records the predictions of batch b for the step's other units.
func (sc *stepShare) keep(b int, predicted []int) {
	if sc != nil {
		sc.predicted[b] = slices.Clone(predicted)
	}
}

// unitInputs are the batch and the target of a map unit, before the
// perturbations of its step (noise, shift).
func (p *Plan) unitInputs(u Unit) (methods.Batch, methods.Target) {
	om := p.models[u.Model]
	lo, hi := p.BatchRange(u.Batch)
	batch := methods.Batch{X: om.x.Slice(lo, hi), Black: om.spec.PixelValue(0), White: om.spec.PixelValue(255), BGR: om.spec.BGR}
	return batch, p.target(u.Model, u.Step, lo, hi)
}

// target is what model mi explains on images [lo, hi) at a step: its
// classes (the step's, for random-logit), their probability, or its unit.
func (p *Plan) target(mi, step, lo, hi int) methods.Target {
	pm := p.Models[mi]
	t := methods.Target{Layer: p.Exp.Models[mi].Layer, Probability: pm.Probability, Unit: pm.Unit}
	if pm.Unit != nil {
		return t
	}
	t.Classes = pm.Classes[lo:hi]
	if cls := p.models[mi].steps[step].Classes; cls != nil {
		t.Classes = cls[lo:hi]
	}
	return t
}

// shares says whether the map units of u's step and batch share session
// runs (methods.Share): those of a step that explains one batch of inputs
// with the step's weights, as it is or with noise or a shift made once for
// every method (stepInputs). The attack's maps are its own; a smooth step
// shares the runs of each noisy copy (smoothShared).
func (p *Plan) shares(u Unit) bool {
	st := p.models[u.Model].steps[u.Step]
	if noStepShare {
		return u.Kind == mapUnit && st.plain()
	}
	return u.Kind == mapUnit && st.Attack == 0 && st.Smooth == 0
}

// writeHeader writes the files every process of a run writes, with the
// same bytes: plan.json, the experiment file and the display images of each
// model (inputs/<model>.npy). A folder holding another plan is an error.
func (p *Plan) writeHeader(out string) error {
	b, err := json.MarshalIndent(p.PlanFile, "", "  ")
	if err != nil {
		return fmt.Errorf("experiments: %w", err)
	}
	b = append(b, '\n')
	planPath := filepath.Join(out, PlanFileName)
	if old, err := os.ReadFile(planPath); err == nil && !bytes.Equal(old, b) {
		var prev PlanFile
		if json.Unmarshal(old, &prev) == nil && prev.Threads != p.Threads {
			other := p.PlanFile
			other.Threads = prev.Threads
			if ob, err := json.MarshalIndent(other, "", "  "); err == nil && bytes.Equal(append(ob, '\n'), old) {
				return fmt.Errorf("experiments: %s is a run with %d TensorFlow threads, this process has %d: every shard of a run needs the same threads (TensorFlow's results can differ in the last bits); run with -threads %d",
					out, prev.Threads, p.Threads, prev.Threads)
			}
		}
		return fmt.Errorf("experiments: %s holds the run of another experiment, or of another version of %s (its %s differs); give another output folder or remove it",
			out, p.Exp.File, PlanFileName)
	}
	if len(p.Images) > 0 {
		if err := os.MkdirAll(filepath.Join(out, "inputs"), 0o755); err != nil {
			return fmt.Errorf("experiments: %w", err)
		}
	}
	raw, err := os.ReadFile(p.Exp.File)
	if err != nil {
		return fmt.Errorf("experiments: %w", err)
	}
	if err := runfolder.WriteIfChanged(filepath.Join(out, p.File), raw); err != nil {
		return err
	}
	masks := p.needsMasks()
	for i, m := range p.Models {
		if len(p.Images) == 0 {
			break
		}
		path := filepath.Join(out, "inputs", runfolder.SafeName(m.Name)+".npy")
		if !fileExists(path) {
			if err := reports.WriteNpy(path, p.models[i].disp); err != nil {
				return err
			}
		}
		path = filepath.Join(out, "inputs", runfolder.SafeName(m.Name)+"-masks.npy")
		if masks && !fileExists(path) {
			if err := reports.WriteNpy(path, p.models[i].masks); err != nil {
				return err
			}
		}
	}
	return runfolder.WriteIfChanged(planPath, b)
}

// removeTemps removes the temporary files that a killed process leaves
// (".<name>.*.tmp") under dir; only a run without shards does, as another
// shard may be writing its own.
func removeTemps(dir string) {
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && runfolder.IsTemp(d.Name()) {
			os.Remove(path)
		}
		return nil
	})
}

// smoothExplain is the map of the smooth MPRT (Hedström et al. 2024): the
// mean of the method's maps over st.Smooth copies of each image with
// Gaussian noise of st.SmoothNoise times the image's range. The draws
// depend on the image's position in the data and the copy's number, not on
// the step, so the original and the randomized models see the same noisy
// images.
func (p *Plan) smoothExplain(ctx context.Context, view *tfgraph.Flat, u Unit, b methods.Batch, t methods.Target, st PlanStep, lo int) (*methods.Maps, error) {
	sb := p.smoothMaps(ctx, view, []int{u.Method}, nil, b, t, st, lo)
	return sb.maps[u.Method], sb.errs[u.Method]
}

// smoothBatch holds the smoothed maps of some methods for one batch, or
// the error each met.
type smoothBatch struct {
	maps map[int]*methods.Maps
	errs map[int]error
}

// smoothShared is smoothExplain's map for unit u: the first unit of its
// step and batch computes the smoothed maps of every method of the batch
// that this process computes, the methods of the plan's step and batch
// sharing the session runs of each noisy copy (methods.Share); the other
// units take theirs. The copies, and each method's sum over them, are
// those of smoothExplain.
func (p *Plan) smoothShared(ctx context.Context, view *tfgraph.Flat, u Unit, b methods.Batch, t methods.Target, st PlanStep, lo int, sc *stepShare) (*methods.Maps, error) {
	if sc == nil || noStepShare {
		return p.smoothExplain(ctx, view, u, b, t, st, lo)
	}
	sb := sc.smooth[u.Batch]
	if sb == nil {
		ks := sc.todo[u.Batch]
		if !slices.Contains(ks, u.Method) {
			ks = append(slices.Clone(ks), u.Method)
		}
		sb = p.smoothMaps(ctx, view, ks, sc.methods[u.Batch], b, t, st, lo)
		sc.smooth[u.Batch] = sb
	}
	if m, err := sb.maps[u.Method], sb.errs[u.Method]; m != nil || err != nil {
		delete(sb.maps, u.Method)
		delete(sb.errs, u.Method)
		return m, err
	}
	return p.smoothExplain(ctx, view, u, b, t, st, lo)
}

// smoothMaps are the smoothed maps of methods ks (smoothExplain); with
// share, the methods of the plan's step and batch share the session runs
// of each noisy copy.
func (p *Plan) smoothMaps(ctx context.Context, view *tfgraph.Flat, ks []int, share []methods.Method, b methods.Batch, t methods.Target, st PlanStep, lo int) *smoothBatch {
	sb := &smoothBatch{maps: map[int]*methods.Maps{}, errs: map[int]error{}}
	n := b.X.Shape[0]
	per := b.X.Len() / n
	for s := range st.Smooth {
		noisy := tensor.New(b.X.Shape...)
		for i := range n {
			img := b.X.Data[i*per : (i+1)*per]
			mn, mx := img[0], img[0]
			for _, v := range img {
				mn, mx = min(mn, v), max(mx, v)
			}
			sigma := st.SmoothNoise * float64(mx-mn)
			rng := rand.New(rand.NewPCG(p.Seed^0x736d707274, uint64(lo+i)<<20|uint64(s)))
			for j, v := range img {
				noisy.Data[i*per+j] = v + float32(sigma*rng.NormFloat64())
			}
		}
		nb := b
		nb.X = noisy
		sctx := ctx
		if share != nil {
			sctx = methods.Share(ctx, view, nb, t, share)
		}
		for _, k := range ks {
			if sb.errs[k] != nil {
				continue
			}
			res, err := p.methods[k].Explain(sctx, view, nb, t)
			if err != nil {
				sb.errs[k] = err
				delete(sb.maps, k)
				continue
			}
			sum := sb.maps[k]
			if sum == nil {
				res.Raw, res.LowRes, res.Info = nil, nil, nil
				sb.maps[k] = res
				continue
			}
			for i, v := range res.Map.Data {
				sum.Map.Data[i] += v
			}
		}
	}
	for _, sum := range sb.maps {
		for i := range sum.Map.Data {
			sum.Map.Data[i] /= float32(st.Smooth)
		}
	}
	return sb
}
