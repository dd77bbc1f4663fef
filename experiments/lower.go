package experiments

import (
	"context"

	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// lowerCacheMB bounds the activations a model's lowerCache holds at once,
// in MiB: a quarter of the default memory budget of a method's session run
// (methods.DefaultMemoryMB), shared equally by the session runs of the
// model's images. Measured on ResNet50 (random weights), 8 images in runs
// of 4, cascading randomization of every layer: see docs/performance.md.
var lowerCacheMB = 256

// lowerCache keeps, for one model, activations of the layers that a
// randomized step leaves unchanged: the boundary tensors (tfgraph.Changed)
// of the logits of later steps, fetched by the predictions run of a step,
// so that the predictions runs of the later steps feed them instead of
// computing the layers below their lowest randomized layer again.
// Cascading randomization goes from the logits towards the input: the
// boundary of each step is below the previous one's.
//
// Every value is the original model's activation on the model's images
// (openModel.x) [lo, hi), as one session run of those images computes it,
// and is keyed by (lo, hi, tensor): only steps whose inputs are these
// images as they are and whose weights replace those of some layers
// (lowerStep) use the cache, and a value is fed only to a run of the same
// images in the same session-run shape, under weights that do not change
// it (it is in the step's boundary). Fragility, noise, shift and attack
// steps never do. A value is kept until the last step whose boundary holds
// it has run, at most lowerCacheMB MiB at once.
type lowerCache struct {
	vals  map[lowerKey]*tensor.Tensor
	last  map[lowerKey]int // the last step whose boundary holds it
	bytes int64
	// fed and full count the predictions runs made with and without
	// the cache's values (tests).
	fed, full int
}

type lowerKey struct {
	lo, hi int // the model's images of the session run
	name   string
}

// boundary is the boundary of a step's logits (tfgraph.Changed.Boundary),
// nil when the step cannot use the cache.
type boundary struct {
	ch    *tfgraph.Changed
	names []string
}

// lowerStep says whether step si of the model computes its predictions on
// the model's images as they are, with some layers' weights replaced: the
// steps that may feed the cache's values.
func (om *openModel) lowerStep(si int) bool {
	s := om.steps[si]
	return s.randomized() && s.Epsilon == 0 && s.Shift == nil && s.Attack == 0
}

// stepBoundary is the boundary of step si's logits (made once), or nil.
func (om *openModel) stepBoundary(si int) *boundary {
	if b, ok := om.bounds[si]; ok {
		return b
	}
	if om.bounds == nil {
		om.bounds = map[int]*boundary{}
	}
	var b *boundary
	if om.lowerStep(si) {
		w := om.steps[si].weights
		d := om.draws
		if d == nil || d.r != w.rz.withDefaults() {
			d = newDraws(w.rz, om.fl)
		}
		logits, _ := om.fl.Logits()
		ch, err := om.fl.Changed(d.names(w.layers))
		if err == nil {
			// A boundary that cannot be fed (err) leaves the step's
			// predictions to a full run.
			if names, err := ch.Boundary([]string{logits}); err == nil && len(names) > 0 {
				b = &boundary{ch: ch, names: names}
			}
		}
	}
	om.bounds[si] = b
	return b
}

// stepLogits are the logits of step si (view) on the model's images x =
// om.x[lo, hi), in session runs of size images: each run feeds the step's
// boundary from the cache when it holds it, or computes everything and
// fetches the boundary tensors of the next steps that fit.
func (p *Plan) stepLogits(ctx context.Context, view *tfgraph.Flat, mi, si int, x *tensor.Tensor, lo, size int) (*tensor.Tensor, error) {
	om := p.models[mi]
	b := om.stepBoundary(si)
	if b == nil || noStepShare {
		return logitRows(ctx, view, x, size)
	}
	if om.lower == nil {
		om.lower = &lowerCache{vals: map[lowerKey]*tensor.Tensor{}, last: map[lowerKey]int{}}
	}
	lc := om.lower
	runs := (om.x.Shape[0] + p.Batch - 1) / p.Batch * ((min(p.Batch, om.x.Shape[0]) + size - 1) / size)
	budget := int64(lowerCacheMB) << 20 / int64(max(runs, 1))
	logits, _ := view.Logits()
	n := x.Shape[0]
	var parts []*tensor.Tensor
	for c0 := 0; c0 < n; c0 += size {
		c1 := min(c0+size, n)
		xc := x.Slice(c0, c1)
		feed := map[string]*tensor.Tensor{}
		for _, name := range b.names {
			if v := lc.vals[lowerKey{lo + c0, lo + c1, name}]; v != nil {
				feed[name] = v
			}
		}
		if len(feed) == len(b.names) {
			res, err := view.Run(ctx, xc, tfgraph.Query{Fetch: []string{logits}, Feed: feed})
			if err != nil {
				return nil, err
			}
			lc.fed++
			parts = append(parts, res.Fetched[0])
			continue
		}
		fill := p.lowerFill(om, si, b, lo+c0, lo+c1, budget)
		res, err := view.Run(ctx, xc, tfgraph.Query{Fetch: append([]string{logits}, fill...)})
		if err != nil {
			return nil, err
		}
		lc.full++
		for k, name := range fill {
			key := lowerKey{lo + c0, lo + c1, name}
			lc.vals[key] = res.Fetched[k+1]
			lc.bytes += int64(4 * res.Fetched[k+1].Len())
		}
		parts = append(parts, res.Fetched[0])
	}
	if len(parts) == 1 {
		return parts[0], nil
	}
	return tensor.Concat(parts...)
}

// lowerFill chooses the tensors that the full run of step si on the images
// [lo, hi) fetches for the cache: the boundaries of the next lowerSteps in
// order, while each is unchanged at si and the run's values stay within
// budget bytes; it records the last step of each.
func (p *Plan) lowerFill(om *openModel, si int, b *boundary, lo, hi int, budget int64) []string {
	lc := om.lower
	var held int64
	for k, v := range lc.vals {
		if k.lo == lo && k.hi == hi {
			held += int64(4 * v.Len())
		}
	}
	var fill []string
	chosen := map[string]bool{}
	for t := si + 1; t < len(om.steps) && om.lowerStep(t); t++ {
		bt := om.stepBoundary(t)
		if bt == nil {
			break
		}
		var add int64
		var names []string
		ok := true
		for _, name := range bt.names {
			if b.ch.Changes(name) {
				ok = false // not the original model's value in this run
				break
			}
			if lc.vals[lowerKey{lo, hi, name}] != nil || chosen[name] {
				continue
			}
			sz := int64(4 * (hi - lo))
			for _, d := range om.fl.Shape(name)[1:] {
				if d < 0 {
					ok = false
				}
				sz *= max(d, 0)
			}
			add += sz
			names = append(names, name)
		}
		if !ok || held+add > budget {
			break
		}
		held += add
		for _, name := range names {
			chosen[name] = true
		}
		fill = append(fill, names...)
		for _, name := range bt.names {
			lc.last[lowerKey{lo, hi, name}] = t
		}
	}
	return fill
}

// dropBefore forgets the values that no step from si on feeds.
func (lc *lowerCache) dropBefore(si int) {
	if lc == nil {
		return
	}
	for k, last := range lc.last {
		if last >= si {
			continue
		}
		if v := lc.vals[k]; v != nil {
			lc.bytes -= int64(4 * v.Len())
			delete(lc.vals, k)
		}
		delete(lc.last, k)
	}
}
