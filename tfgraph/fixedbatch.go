//go:build cgo

package tfgraph

import (
	"context"
	"fmt"
	"strings"

	"github.com/saliencykit/saliency/tensor"
)

// FixedBatch is the number of images the signature's input is fixed at
// (keras.Input(batch_size=1), a jax2tf or TFLite-minded export with a static
// batch), or 0 when it takes any number. Forward, Flat.Run and
// OracleGradient feed such a model in chunks of that many images.
func (m *Model) FixedBatch() int {
	if s := m.Input().Shape; len(s) > 0 && s[0] > 0 {
		return int(s[0])
	}
	return 0
}

// inChunks says whether x, images for an input of fixed batch size b (0:
// none), must run in chunks of b: a batch of another number of images.
func inChunks(x *tensor.Tensor, b int) bool {
	return b > 0 && x != nil && len(x.Shape) > 0 && x.Shape[0] > 0 && x.Shape[0] != b && len(x.Data) == tensor.Size(x.Shape)
}

// padRows is rows lo..hi of t, filled up to b rows with copies of row hi-1.
func padRows(t *tensor.Tensor, lo, hi, b int) (*tensor.Tensor, error) {
	part := t.Slice(lo, hi)
	if hi-lo == b {
		return part, nil
	}
	items := []*tensor.Tensor{part}
	for k := hi - lo; k < b; k++ {
		items = append(items, t.Slice(hi-1, hi))
	}
	return tensor.Concat(items...)
}

// inFixedBatches runs f on x in chunks of the b images a fixed-batch input
// takes, the last chunk filled up with copies of its last image, and joins
// f's results image by image, without the copies'. Each result must have a
// row per image, except those that same marks: values that do not depend on
// the images (a layer's weights), kept from the first chunk.
func inFixedBatches(dir string, x *tensor.Tensor, b int, same []bool, f func(chunk *tensor.Tensor, lo, hi int) ([]*tensor.Tensor, error)) ([]*tensor.Tensor, error) {
	n := x.Shape[0]
	if n == 0 {
		return nil, fmt.Errorf("tfgraph: %s: no images to run", dir)
	}
	var parts [][]*tensor.Tensor
	for lo := 0; lo < n; lo += b {
		hi := min(lo+b, n)
		chunk, err := padRows(x, lo, hi, b)
		if err != nil {
			return nil, err
		}
		res, err := f(chunk, lo, hi)
		if err != nil {
			return nil, err
		}
		for i, r := range res {
			if i < len(same) && same[i] && r != nil {
				continue
			}
			if r == nil || len(r.Shape) == 0 || r.Shape[0] != b {
				return nil, fmt.Errorf("tfgraph: %s: the model takes batches of exactly %d images, and result %d of a batch has shape %v, not a row per image: the %d images cannot be run %d at a time", dir, b, i, shapeOrNil(r), n, b)
			}
			res[i] = r.Slice(0, hi-lo)
		}
		parts = append(parts, res)
	}
	out := make([]*tensor.Tensor, len(parts[0]))
	for i := range out {
		items := make([]*tensor.Tensor, len(parts))
		for k := range parts {
			if len(parts[k]) != len(out) {
				return nil, fmt.Errorf("tfgraph: %s: batches of %d images gave %d and %d results", dir, b, len(parts[k]), len(out))
			}
			items[k] = parts[k][i]
		}
		if i < len(same) && same[i] {
			out[i] = items[0]
			continue
		}
		var err error
		if out[i], err = tensor.Concat(items...); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func shapeOrNil(t *tensor.Tensor) any {
	if t == nil {
		return "nil"
	}
	return t.Shape
}

// runFixed is Run for a model whose input takes exactly b images, on x of
// another number: the images, and the feeds, seeds, picks and directions
// with a row per image, go in chunks of b (inFixedBatches).
func (fl *Flat) runFixed(ctx context.Context, x *tensor.Tensor, q Query, b int) (*Result, error) {
	n := x.Shape[0]
	for _, g := range q.Grads {
		if g.Rules != nil && g.Rules.Paired {
			return nil, fmt.Errorf("tfgraph: %s: the %s rules pair each image with its reference in one batch of %d (the images, then their references), and the model takes exactly %d image(s) per batch: they cannot be run %d at a time", fl.model.Dir, g.Rules.Name, n, b, b)
		}
	}
	cut := func(t *tensor.Tensor, lo, hi int, what string, one bool) (*tensor.Tensor, error) {
		switch {
		case t == nil:
			return nil, nil
		case len(t.Shape) > 0 && t.Shape[0] == n:
			return padRows(t, lo, hi, b)
		case one && len(t.Shape) > 0 && t.Shape[0] == 1:
			return t, nil // one row for every image
		}
		return nil, fmt.Errorf("tfgraph: %s: %s of shape %v for %d images: the model takes batches of exactly %d images, and it has no row per image to split", fl.model.Dir, what, t.Shape, n, b)
	}
	var nf, ng int
	var nat []int // the At signals of each Grad (-1: none)
	flat, err := inFixedBatches(fl.model.Dir, x, b, fl.inputFree(q.Fetch), func(chunk *tensor.Tensor, lo, hi int) ([]*tensor.Tensor, error) {
		h := Query{Fetch: q.Fetch, Grads: make([]Grad, len(q.Grads))}
		if q.Feed != nil {
			h.Feed = map[string]*tensor.Tensor{}
			for name, v := range q.Feed {
				c, err := cut(v, lo, hi, "the feed of "+name, false)
				if err != nil {
					return nil, err
				}
				h.Feed[name] = c
			}
		}
		for i, g := range q.Grads {
			h.Grads[i] = g
			var err error
			if h.Grads[i].Seed, err = cut(g.Seed, lo, hi, "a seed", false); err != nil {
				return nil, err
			}
			if h.Grads[i].Pick, err = cut(g.Pick, lo, hi, "a pick", true); err != nil {
				return nil, err
			}
			if h.Grads[i].Along, err = cut(g.Along, lo, hi, "a direction", false); err != nil {
				return nil, err
			}
		}
		res, err := fl.run(ctx, chunk, h)
		if err != nil {
			return nil, err
		}
		nf, ng, nat = len(res.Fetched), len(res.Grads), nil
		out := append(append([]*tensor.Tensor(nil), res.Fetched...), res.Grads...)
		for _, at := range res.At {
			if at == nil {
				nat = append(nat, -1)
				continue
			}
			nat = append(nat, len(at))
			out = append(out, at...)
		}
		return out, nil
	})
	if err != nil {
		return nil, err
	}
	res := &Result{Fetched: flat[:nf], Grads: flat[nf : nf+ng]}
	k := nf + ng
	if nat != nil {
		res.At = make([][]*tensor.Tensor, len(nat))
		for i, c := range nat {
			if c >= 0 {
				res.At[i] = flat[k : k+c]
				k += c
			}
		}
	}
	return res, nil
}

// inputFree marks the flat tensors among names that do not depend on the
// image input (weights and what is computed from them alone).
func (fl *Flat) inputFree(names []string) []bool {
	dep := map[string]bool{nodeOf(fl.inputName()): true}
	for _, n := range fl.order {
		for _, in := range n.GetInput() {
			if dep[nodeOf(strings.TrimPrefix(in, "^"))] {
				dep[n.GetName()] = true
				break
			}
		}
	}
	out := make([]bool, len(names))
	for i, name := range names {
		node := nodeOf(name)
		out[i] = fl.nodes[node] != nil && !dep[node]
	}
	return out
}
