//go:build cgo

package tfgraph

import (
	"fmt"
	"slices"
	"strings"
)

// Changed is what replacing some weights (WithWeights) changes in the
// forward pass of a flat graph: the nodes computed from them. Every other
// node has the frozen model's value in every view that replaces only these
// weights, on the same input. A run may feed such values (Query.Feed)
// instead of computing them again: cascading randomization replaces the
// weights of the top layers, and the layers below them compute the same
// activations at every step.
type Changed struct {
	fl      *Flat
	changed map[string]bool // nodes computed from a replaced weight
	input   map[string]bool // nodes computed from the input
	x       string          // the input tensor
}

// Changed returns what replacing the named weights (by Weight.Name)
// changes in the forward pass.
func (fl *Flat) Changed(weights []string) (*Changed, error) {
	c := &Changed{fl: fl, changed: map[string]bool{}, input: map[string]bool{}}
	for _, name := range weights {
		w, ok := fl.weight(name)
		if !ok {
			return nil, fmt.Errorf("tfgraph: %s: no weight %q", fl.model.Dir, name)
		}
		c.changed[w.Node] = true
	}
	if len(fl.inputs) != 1 {
		return nil, fmt.Errorf("tfgraph: %s: the flat graph takes one image input; the signature has %d inputs", fl.model.Dir, len(fl.inputs))
	}
	c.x = fl.nameOf(fl.inputs[0])
	c.input[nodeOf(c.x)] = true
	// Data inputs only: a control input orders nodes and passes no value.
	for _, n := range fl.order {
		for _, in := range n.GetInput() {
			if strings.HasPrefix(in, "^") {
				continue
			}
			src := nodeOf(in)
			c.changed[n.GetName()] = c.changed[n.GetName()] || c.changed[src]
			c.input[n.GetName()] = c.input[n.GetName()] || c.input[src]
		}
	}
	return c, nil
}

// Changes says whether the value of the flat tensor name depends on the
// replaced weights.
func (c *Changed) Changes(name string) bool { return c.changed[nodeOf(name)] }

// Boundary lists, sorted, the flat tensors that a run computing fetch
// reads from the unchanged part of the graph: each tensor computed from the
// input but not from a replaced weight that a changed node on the way to
// fetch reads, and each fetched tensor that is unchanged (the input itself,
// given as x, is not listed). Fed with their values from a run on the same
// input (under any view replacing only these weights, or none), they make a
// run whose fetches have the same values, in which nothing below them is
// computed. A tensor that could not be fed is an error: one that is not
// floating point, or whose static shape has no batch dimension (a Shape
// op's value).
func (c *Changed) Boundary(fetch []string) ([]string, error) {
	fl := c.fl
	seen := map[string]bool{}
	var out []string
	add := func(t string) error {
		op, idx, err := parseTensorName(t)
		if err != nil {
			return fmt.Errorf("tfgraph: %s: %w", fl.model.Dir, err)
		}
		t = op + outputSuffix(idx)
		if seen[t] || t == c.x {
			return nil
		}
		seen[t] = true
		o, err := fl.tensor(t)
		if err != nil {
			return err
		}
		dims, err := o.Shape().ToSlice()
		if !isFloat(o.DataType()) || err != nil || len(dims) == 0 || dims[0] >= 0 {
			return fmt.Errorf("tfgraph: %s: tensor %s (%s, shape %v) is where the replaced weights start to act, and cannot be fed (not floating point, or no batch dimension)",
				fl.model.Dir, t, tfDTypeName(o.DataType()), o.Shape())
		}
		out = append(out, t)
		return nil
	}
	// The changed nodes that fetch needs, from fetch towards the input.
	need := map[string]bool{}
	var stack []string
	for _, f := range fetch {
		if _, err := fl.tensor(f); err != nil {
			return nil, err
		}
		n := nodeOf(f)
		if !c.changed[n] {
			if c.input[n] {
				if err := add(f); err != nil {
					return nil, err
				}
			}
			continue
		}
		if !need[n] {
			need[n] = true
			stack = append(stack, n)
		}
	}
	for len(stack) > 0 {
		n := fl.nodes[stack[len(stack)-1]]
		stack = stack[:len(stack)-1]
		if n == nil {
			continue
		}
		for _, in := range n.GetInput() {
			if strings.HasPrefix(in, "^") {
				continue
			}
			src := nodeOf(in)
			switch {
			case c.changed[src]:
				if !need[src] {
					need[src] = true
					stack = append(stack, src)
				}
			case c.input[src]:
				if err := add(in); err != nil {
					return nil, err
				}
			}
		}
	}
	slices.Sort(out)
	return out, nil
}
