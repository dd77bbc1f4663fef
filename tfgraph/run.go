//go:build cgo

package tfgraph

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/saliencykit/saliency/tensor"
	tf "github.com/wamuir/graft/tensorflow"
	configpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
)

// ErrClosed is returned (wrapped) when the model has been closed.
var ErrClosed = errors.New("model is closed")

// Run performs q on batch x in one session run, with the weights of this view
// (see WithWeights). Backward graphs are built on first use and cached.
//
// ctx is checked before the run starts; a session run in progress is not
// interrupted (callers that loop over chunks stop between them).
//
// When TensorFlow runs out of memory on a batch of more than one example,
// Run splits the batch (and the seeds) in two halves, runs them one after the
// other and joins their results: the same values as one run, in less memory.
// Under rules that pair each image with its reference in the other half of
// the batch (RuleSet.Paired), each half keeps its images' references.
// A model whose input takes a fixed number of images (Model.FixedBatch) runs
// any other number in chunks of that size.
func (fl *Flat) Run(ctx context.Context, x *tensor.Tensor, q Query) (*Result, error) {
	fixed := fl.model.FixedBatch()
	if inChunks(x, fixed) {
		return fl.runFixed(ctx, x, q, fixed)
	}
	res, err := fl.run(ctx, x, q)
	if err == nil || !isOOM(err) || x == nil || len(x.Shape) == 0 || x.Shape[0] < 2 || fixed > 0 {
		return res, err
	}
	n, oom := x.Shape[0], err
	// The halves as ranges of rows. Rules that pair each image with its
	// reference in the other half of the batch (DeepLIFT: the images, then
	// their references) keep the pairs together: each half takes half of
	// the images and their references.
	halves := [2][][2]int{{{0, n / 2}}, {{n / 2, n}}}
	for _, g := range q.Grads {
		if g.Rules != nil && g.Rules.Paired {
			c := n / 2
			if n%2 != 0 || c < 2 {
				return nil, fmt.Errorf("tfgraph: %s: out of memory on %d pairs of an image and its reference, which cannot be split further: %w", fl.model.Dir, c, oom)
			}
			halves = [2][][2]int{{{0, c / 2}, {c, c + c/2}}, {{c / 2, c}, {c + c/2, n}}}
			break
		}
	}
	rows := func(t *tensor.Tensor, rs [][2]int) (*tensor.Tensor, error) {
		if len(rs) == 1 {
			return t.Slice(rs[0][0], rs[0][1]), nil
		}
		var parts []*tensor.Tensor
		for _, r := range rs {
			parts = append(parts, t.Slice(r[0], r[1]))
		}
		return tensor.Concat(parts...)
	}
	count := func(rs [][2]int) int {
		k := 0
		for _, r := range rs {
			k += r[1] - r[0]
		}
		return k
	}
	half := func(rs [][2]int) (*Result, error) {
		h := Query{Fetch: q.Fetch, Grads: make([]Grad, len(q.Grads))}
		var err error
		if q.Feed != nil {
			h.Feed = map[string]*tensor.Tensor{}
			for name, v := range q.Feed {
				if h.Feed[name], err = rows(v, rs); err != nil {
					return nil, err
				}
			}
		}
		for i, g := range q.Grads {
			h.Grads[i] = g
			if g.Seed != nil {
				if h.Grads[i].Seed, err = rows(g.Seed, rs); err != nil {
					return nil, err
				}
			}
			if g.Pick != nil && len(g.Pick.Shape) > 0 && g.Pick.Shape[0] == n {
				if h.Grads[i].Pick, err = rows(g.Pick, rs); err != nil {
					return nil, err
				}
			}
		}
		xs, err := rows(x, rs)
		if err != nil {
			return nil, err
		}
		return fl.Run(ctx, xs, h)
	}
	a, err := half(halves[0])
	if err != nil {
		return nil, err
	}
	b, err := half(halves[1])
	if err != nil {
		return nil, err
	}
	// join puts the rows of the halves' results back in the batch's order.
	join := func(u, v []*tensor.Tensor) ([]*tensor.Tensor, error) {
		out := make([]*tensor.Tensor, len(u))
		for i := range u {
			type piece struct {
				start int
				t     *tensor.Tensor
			}
			var pieces []piece
			for k, res := range []*tensor.Tensor{u[i], v[i]} {
				if len(res.Shape) == 0 || res.Shape[0] != count(halves[k]) {
					return nil, fmt.Errorf("tfgraph: %s: out of memory at batch %d, and result %d has shape %v, not split by example: %w", fl.model.Dir, n, i, res.Shape, oom)
				}
				off := 0
				for _, r := range halves[k] {
					pieces = append(pieces, piece{r[0], res.Slice(off, off+r[1]-r[0])})
					off += r[1] - r[0]
				}
			}
			sort.Slice(pieces, func(p, q int) bool { return pieces[p].start < pieces[q].start })
			ts := make([]*tensor.Tensor, len(pieces))
			for k, p := range pieces {
				ts[k] = p.t
			}
			var e error
			if out[i], e = tensor.Concat(ts...); e != nil {
				return nil, e
			}
		}
		return out, nil
	}
	out := &Result{}
	if out.Fetched, err = join(a.Fetched, b.Fetched); err != nil {
		return nil, err
	}
	if out.Grads, err = join(a.Grads, b.Grads); err != nil {
		return nil, err
	}
	if a.At != nil {
		out.At = make([][]*tensor.Tensor, len(a.At))
		for i := range a.At {
			if a.At[i] == nil {
				continue
			}
			if out.At[i], err = join(a.At[i], b.At[i]); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// isOOM says whether a run failed because TensorFlow could not allocate a
// tensor (ResourceExhausted).
func isOOM(err error) bool {
	s := err.Error()
	return strings.Contains(s, "OOM when allocating") || strings.Contains(s, "ResourceExhausted") || errors.Is(err, errTestOOM)
}

// errTestOOM is what a run above testOOMAbove examples returns (tests only).
var (
	errTestOOM   = errors.New("OOM when allocating (simulated)")
	testOOMAbove = -1 // off
)

func (fl *Flat) run(ctx context.Context, x *tensor.Tensor, q Query) (*Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if testOOMAbove >= 0 && x != nil && len(x.Shape) > 0 && x.Shape[0] > testOOMAbove {
		return nil, fmt.Errorf("tfgraph: %s: flat graph: %w", fl.model.Dir, errTestOOM)
	}
	if len(fl.inputs) != 1 {
		return nil, fmt.Errorf("tfgraph: %s: the flat graph takes one image input; the signature has %d inputs", fl.model.Dir, len(fl.inputs))
	}
	if err := checkInput(fl.model.Signature.Inputs[0], x); err != nil {
		return nil, fmt.Errorf("tfgraph: %s: %w", fl.model.Dir, err)
	}
	xt, err := toTF(x)
	if err != nil {
		return nil, err
	}
	temp := []*tf.Tensor{xt} // this run's own feeds, freed when it is over
	defer func() { release(temp...) }()
	feeds := map[tf.Output]*tf.Tensor{fl.inputs[0]: xt}
	if fl.feed != nil {
		for o, t := range fl.feed.feeds {
			feeds[o] = t
		}
	}
	if len(q.Feed) > 0 {
		if len(q.Grads) > 0 {
			return nil, fmt.Errorf("tfgraph: %s: a query with feeds asks for no grads (a backward pass would go through the computation a feed replaces)", fl.model.Dir)
		}
		for _, name := range slices.Sorted(maps.Keys(q.Feed)) {
			o, err := fl.fetchable(name)
			if err != nil {
				return nil, err
			}
			if slices.ContainsFunc(slices.Collect(maps.Keys(feeds)), func(f tf.Output) bool { return f.Op.Name() == o.Op.Name() && f.Index == o.Index }) {
				return nil, fmt.Errorf("tfgraph: %s: cannot feed %s: it is the input or a fed weight (give the input as x, weights with WithWeights)", fl.model.Dir, name)
			}
			v := q.Feed[name]
			if v == nil {
				return nil, fmt.Errorf("tfgraph: %s: no value to feed %s", fl.model.Dir, name)
			}
			if err := fl.checkFeed(o, v, x.Shape[0]); err != nil {
				return nil, err
			}
			t, err := toTFAs(v, o.DataType())
			if err != nil {
				return nil, err
			}
			temp = append(temp, t)
			feeds[o] = t
		}
	}
	fetches := make([]tf.Output, 0, len(q.Fetch)+len(q.Grads))
	for _, name := range q.Fetch {
		o, err := fl.fetchable(name)
		if err != nil {
			return nil, err
		}
		fetches = append(fetches, o)
	}
	// seeds records, per first-order seed (fed or left at its default),
	// the grad that set it and its value, so that a second-order grad can
	// share its first-order graph with a first-order grad of the query.
	type seedUse struct {
		grad   int
		second bool
		value  *tensor.Tensor
	}
	seeds := map[tf.Output]seedUse{}
	sameSeed := func(u seedUse, v *tensor.Tensor) bool {
		return (u.value == nil) == (v == nil) && (v == nil || tensor.Equal(u.value, v))
	}
	// The signals on At tensors are fetched after every grad's result.
	var atFetch []tf.Output
	atCount := make([]int, len(q.Grads))
	for i, g := range q.Grads {
		if g.Seed != nil && g.Pick != nil {
			return nil, fmt.Errorf("tfgraph: %s: grad %d has both a seed and a pick; give one", fl.model.Dir, i)
		}
		if g.Along != nil {
			if g.Pick != nil {
				return nil, fmt.Errorf("tfgraph: %s: grad %d has both a pick and along; a second-order signal takes a seed", fl.model.Dir, i)
			}
			if len(g.At) > 0 {
				return nil, fmt.Errorf("tfgraph: %s: grad %d has both along and at; a second-order signal is returned on End only", fl.model.Dir, i)
			}
			so, err := fl.secondOrderGraph(g.Start, g.End, g.Rules)
			if err != nil {
				return nil, err
			}
			b := so.first
			if u, ok := seeds[b.seed]; ok {
				if u.second || !sameSeed(u, g.Seed) {
					return nil, fmt.Errorf("tfgraph: %s: grads %d and %d of one query share a backward graph (%s → %s, %s) with other seeds or both along; ask for them in runs of their own", fl.model.Dir, u.grad, i, b.Start, b.End, b.Rules.Name)
				}
			} else {
				seeds[b.seed] = seedUse{grad: i, second: true, value: g.Seed}
				if g.Seed != nil {
					if err := fl.checkFeed(b.seed, g.Seed, x.Shape[0]); err != nil {
						return nil, fmt.Errorf("%w (seed of grad %d)", err, i)
					}
					st, err := toTF(g.Seed)
					if err != nil {
						return nil, err
					}
					temp = append(temp, st)
					feeds[b.seed] = st
				}
			}
			b2 := so.second
			if err := fl.checkFeed(b2.seed, g.Along, x.Shape[0]); err != nil {
				return nil, fmt.Errorf("%w (along of grad %d)", err, i)
			}
			at, err := toTF(g.Along)
			if err != nil {
				return nil, err
			}
			temp = append(temp, at)
			feeds[b2.seed] = at
			fetches = append(fetches, b2.result)
			continue
		}
		b, err := fl.backward(g.Start, g.End, g.Rules, g.Pick != nil)
		if err != nil {
			return nil, err
		}
		for _, name := range g.At {
			o, err := b.signalAt(name)
			if err != nil {
				return nil, fmt.Errorf("%w (at of grad %d)", err, i)
			}
			atFetch = append(atFetch, o)
		}
		atCount[i] = len(g.At)
		if u, ok := seeds[b.seed]; ok && u.second {
			if !sameSeed(u, g.Seed) {
				return nil, fmt.Errorf("tfgraph: %s: grads %d and %d of one query share a backward graph (%s → %s, %s) with other seeds; ask for them in runs of their own", fl.model.Dir, u.grad, i, b.Start, b.End, b.Rules.Name)
			}
			fetches = append(fetches, b.result)
			continue
		} else if !ok && g.Pick == nil {
			seeds[b.seed] = seedUse{grad: i, value: g.Seed}
		}
		if g.Pick != nil {
			if err := fl.checkPick(b.startOut, g.Pick, x.Shape[0]); err != nil {
				return nil, fmt.Errorf("%w (pick of grad %d)", err, i)
			}
			pt, err := toTF(g.Pick)
			if err != nil {
				return nil, err
			}
			temp = append(temp, pt)
			if _, dup := feeds[b.pick]; dup {
				return nil, fmt.Errorf("tfgraph: %s: two grads of one query share a backward graph (%s → %s, %s); ask for it once", fl.model.Dir, b.Start, b.End, b.Rules.Name)
			}
			feeds[b.pick] = pt
		}
		if g.Seed != nil {
			if err := fl.checkFeed(b.seed, g.Seed, x.Shape[0]); err != nil {
				return nil, fmt.Errorf("%w (seed of grad %d)", err, i)
			}
			st, err := toTF(g.Seed)
			if err != nil {
				return nil, err
			}
			temp = append(temp, st)
			if _, dup := feeds[b.seed]; dup {
				return nil, fmt.Errorf("tfgraph: %s: two grads of one query share a backward graph (%s → %s, %s); ask for it once", fl.model.Dir, b.Start, b.End, b.Rules.Name)
			}
			feeds[b.seed] = st
		}
		fetches = append(fetches, b.result)
	}
	if fl.feed != nil {
		// After the backward graphs: a graph built by this very query
		// brings derived weights that the replacements must feed too
		// (before, the first run of a graph built under fed weights used
		// the derived kernels of the frozen weights).
		if err := fl.derivedFeeds(fl.feed, feeds); err != nil {
			return nil, err
		}
	}
	nf := len(fetches)
	fetches = append(fetches, atFetch...)
	outs, err := fl.exec(feeds, fetches)
	if err != nil {
		return nil, fl.explainRunError(err)
	}
	res := &Result{Fetched: outs[:len(q.Fetch)], Grads: outs[len(q.Fetch):nf]}
	if len(atFetch) > 0 {
		res.At = make([][]*tensor.Tensor, len(q.Grads))
		k := nf
		for i, c := range atCount {
			if c > 0 {
				res.At[i] = outs[k : k+c]
				k += c
			}
		}
	}
	return res, nil
}

// exec is one session run; every session run of a flat graph goes through it.
func (fl *Flat) exec(feeds map[tf.Output]*tf.Tensor, fetches []tf.Output) ([]*tensor.Tensor, error) {
	fl.runs.Add(1)
	if fl.profile == nil {
		return fl.run1(feeds, fetches)
	}
	var out []*tensor.Tensor
	var md *configpb.RunMetadata
	var err error
	t0 := time.Now()
	fl.quiet.do(runKey(feeds, fetches, nil), func() { out, md, err = fl.traced(feeds, fetches) })
	if errors.Is(err, ErrClosed) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("tfgraph: %s: flat graph: %s", fl.model.Dir, firstLine(err.Error()))
	}
	fl.profile.add(fl, md, time.Since(t0))
	return out, nil
}

// run1 is one plain session run, neither counted nor traced (exec's, and
// the graph's own reads).
func (fl *Flat) run1(feeds map[tf.Output]*tf.Tensor, fetches []tf.Output) ([]*tensor.Tensor, error) {
	var res []*tf.Tensor
	var err error
	if e := fl.model.session(func(s *tf.Session) {
		fl.quiet.do(runKey(feeds, fetches, nil), func() { res, err = s.Run(feeds, fetches, nil) })
	}); e != nil {
		return nil, e
	}
	if err != nil {
		return nil, fmt.Errorf("tfgraph: %s: flat graph: %s", fl.model.Dir, firstLine(err.Error()))
	}
	defer release(res...)
	out := make([]*tensor.Tensor, len(res))
	for i, t := range res {
		if out[i], err = fromTFFloat(t); err != nil {
			return nil, fmt.Errorf("tfgraph: %s: %w", fl.model.Dir, err)
		}
	}
	return out, nil
}

// checkFeed checks a value fed to o: its rank, its known dimensions, and a
// first dimension equal to the batch.
func (fl *Flat) checkFeed(o tf.Output, v *tensor.Tensor, batch int) error {
	if err := v.Check(); err != nil {
		return fmt.Errorf("tfgraph: %s: %w", fl.model.Dir, err)
	}
	want, err := o.Shape().ToSlice()
	ok := err == nil && len(want) == len(v.Shape) && len(v.Shape) > 0 && v.Shape[0] == batch
	for i := 0; ok && i < len(want); i++ {
		ok = want[i] < 0 || want[i] == int64(v.Shape[i])
	}
	if !ok {
		return fmt.Errorf("tfgraph: %s: feed for %s wants shape %v with %d rows, got %v", fl.model.Dir, o.Op.Name(), o.Shape(), batch, v.Shape)
	}
	return nil
}

// checkPick checks the pick mask of a backward graph from start: start's
// shape, with 1 or batch rows.
func (fl *Flat) checkPick(start tf.Output, v *tensor.Tensor, batch int) error {
	if err := v.Check(); err != nil {
		return fmt.Errorf("tfgraph: %s: %w", fl.model.Dir, err)
	}
	want, err := start.Shape().ToSlice()
	ok := err == nil && len(want) == len(v.Shape) && len(v.Shape) > 0 && (v.Shape[0] == 1 || v.Shape[0] == batch)
	for i := 1; ok && i < len(want); i++ {
		ok = want[i] < 0 || want[i] == int64(v.Shape[i])
	}
	if !ok {
		return fmt.Errorf("tfgraph: %s: pick on %s wants shape %v with 1 or %d rows, got %v", fl.model.Dir, start.Op.Name(), start.Shape(), batch, v.Shape)
	}
	return nil
}

// Runs is the number of session runs made on this flat graph and its views.
func (fl *Flat) Runs() int64 { return fl.runs.Load() }

// BytesPerImage estimates the memory one example takes in a forward and
// backward run: the float activations of the flat graph, from their static
// shapes. That bounds what a run holds at once: TensorFlow frees each
// activation when its last consumer has run, and the backward graphs keep
// only some of them (measured on ResNet50: 222 MiB estimated, about 50 MiB
// of peak RSS per image in a gradient run at batch 8). Methods size the
// chunks of runs under rule sets other than the gradient family's with it
// (GradientBytesPerImage).
func (fl *Flat) BytesPerImage() int64 { return fl.perImage }

// GradientBytesPerImage estimates the memory one example takes in a run
// with a backward pass under the plain, Guided Backprop or DeconvNet rules
// (RuleSets): the forward pass's peak plus the activations those rules read
// back and the backward signal. On ResNet50 it is 89 MiB, and the peak RSS
// of a gradient run at batch 8 was about 50 MiB per example; BytesPerImage
// (all activations, 222 MiB) bounds runs under other rules (LRP reads the
// input of every layer). Methods of the gradient family size their chunks
// with it.
func (fl *Flat) GradientBytesPerImage() int64 { return fl.gradImage }

// ForwardBytesPerImage estimates the memory one example takes in a run
// without a backward pass: the most activations held at once when the ops
// run in graph order, each freed after its last consumer. On ResNet50 it
// is 9.2 MiB, and the peak RSS of a logits run grew by 8.1 MiB per example
// from 16 to 64 examples. Forward-only methods (the black-box methods,
// occlusion, Score-CAM, Ablation-CAM, the scores) size their chunks with
// it.
func (fl *Flat) ForwardBytesPerImage() int64 { return fl.fwdImage }

// WeightFeed is a set of replacement weight values, checked and converted for
// TensorFlow once, and fed in every run of a view made by WithWeights.
type WeightFeed struct {
	fl     *Flat
	names  []string
	feeds  map[tf.Output]*tf.Tensor
	values map[string]*tensor.Tensor
	// derived holds the derived weights of the replacements (derived.go),
	// made on first use.
	mu      sync.Mutex
	derived map[*derived]*tf.Tensor
	// copies are these replacements prepared for the softplus copies of
	// the graph (Flat.Softplus), made on first use.
	copies map[*Flat]*WeightFeed
}

// Names lists the replaced weights, sorted.
func (w *WeightFeed) Names() []string { return w.names }

// PrepareWeights checks and converts replacement values for the named
// weights (by Weight.Name); every other weight keeps its frozen value.
func (fl *Flat) PrepareWeights(values map[string]*tensor.Tensor) (*WeightFeed, error) {
	wf := &WeightFeed{fl: fl, feeds: map[tf.Output]*tf.Tensor{}, values: map[string]*tensor.Tensor{}}
	for name, v := range values {
		w, ok := fl.weight(name)
		if !ok {
			return nil, fmt.Errorf("tfgraph: %s: no weight %q", fl.model.Dir, name)
		}
		wt := fl.op(w.Node).Output(0).DataType()
		if !isFloat(wt) {
			return nil, fmt.Errorf("tfgraph: %s: weight %s is %s; only floating-point weights can be replaced", fl.model.Dir, name, w.DType)
		}
		if w.InLoop {
			return nil, fmt.Errorf("tfgraph: %s: weight %s is read inside a loop (a recurrent layer's While; Keras' unroll=True removes it), which a replacement cannot reach", fl.model.Dir, name)
		}
		if v == nil || !tensor.SameShape(v.Shape, int64sToInts(w.Shape)) || len(v.Data) != tensor.Size(v.Shape) {
			return nil, fmt.Errorf("tfgraph: %s: weight %s has shape %v, got %v", fl.model.Dir, name, w.Shape, shapeOf(v))
		}
		// float64, float16 and bfloat16 weights are fed converted (rounded to
		// nearest even, as TensorFlow's Cast rounds).
		t, err := toTFAs(v, wt)
		if err != nil {
			return nil, err
		}
		wf.feeds[fl.op(w.Node).Output(0)] = t
		wf.values[name] = v
		wf.names = append(wf.names, name)
	}
	sort.Strings(wf.names)
	return wf, nil
}

// WithWeights returns a view of the flat graph whose runs feed w (nil: the
// frozen weights). The view shares the graph, the session and the backward
// graphs with fl; w must have been prepared by the same flat graph.
func (fl *Flat) WithWeights(w *WeightFeed) (*Flat, error) {
	if w != nil && w.fl.graph != fl.graph {
		return nil, fmt.Errorf("tfgraph: %s: weights prepared for another model", fl.model.Dir)
	}
	v := *fl
	v.feed = w
	return &v, nil
}

// Feed returns the weights this view feeds (nil for the frozen weights).
func (fl *Flat) Feed() *WeightFeed { return fl.feed }

// fetchable is the flat tensor name, which must be floating-point: float16,
// bfloat16 and float64 tensors (the layers of a mixed-precision model) come
// back converted to float32 (fromC).
func (fl *Flat) fetchable(name string) (tf.Output, error) {
	o, err := fl.tensor(name)
	if err != nil {
		return tf.Output{}, err
	}
	if dt := o.DataType(); !isFloat(dt) {
		return tf.Output{}, fmt.Errorf("tfgraph: %s: tensor %s is %s; only floating-point tensors can be fetched", fl.model.Dir, name, tfDTypeName(dt))
	}
	return o, nil
}
