package tfgraph

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	graphpb "github.com/wamuir/graft/tensorflow/core/framework/graph_go_proto"
)

// Layer is a Keras layer found in a flat graph.
type Layer struct {
	// Name as model.summary() shows it.
	Name string
	// Output is the flat tensor that is the layer's output ("node:index").
	Output string
	// Ops are the op types inside the layer, in graph order, without repeats.
	Ops []string
	// Weights are the layer's variables (e.g. "conv1_1/kernel").
	Weights []string
}

// Keras 3 traces a model inside name scopes "<model>/<layer>/", and the export
// adds a suffix to each scope ("conv1_1" becomes "conv1_1_1"). The suffix is
// learned from the variables, whose names keep the true layer names.
var scopeSuffix = regexp.MustCompile(`_\d+$`)

// findLayers maps Keras layer names to flat tensors. nodes is the flat graph in
// topological order.
func findLayers(def *graphpb.GraphDef, origin map[string]string, weights []Weight, outputs []string) []Layer {
	weightLayers := map[string][]string{}
	for _, w := range weights {
		if i := strings.LastIndexByte(w.Name, '/'); i > 0 {
			weightLayers[w.Name[:i]] = append(weightLayers[w.Name[:i]], w.Name)
		}
	}
	// Scope component of each node, and the suffix that turns weighted layer
	// names into scope components.
	scopeOf := map[string]string{}
	scopes := map[string]bool{}
	for _, n := range def.GetNode() {
		parts := strings.Split(origin[n.GetName()], "/")
		if len(parts) >= 3 {
			scopeOf[n.GetName()] = parts[1]
			scopes[parts[1]] = true
		}
	}
	suffix := learnSuffix(scopes, weightLayers)
	layerName := func(scope string) string {
		if suffix != "" && strings.HasSuffix(scope, suffix) {
			return strings.TrimSuffix(scope, suffix)
		}
		return scope
	}
	// Consumers outside the layer (or being a graph output) make a tensor
	// the layer's output. tensorsOf lists the used tensors of each node.
	consumers := map[string][]string{}
	tensorsOf := map[string][]string{}
	use := func(t string) {
		if _, seen := consumers[t]; !seen {
			consumers[t] = nil
			tensorsOf[nodeOf(t)] = append(tensorsOf[nodeOf(t)], t)
		}
	}
	for _, n := range def.GetNode() {
		for _, in := range n.GetInput() {
			use(in)
			consumers[in] = append(consumers[in], n.GetName())
		}
	}
	isOutput := map[string]bool{}
	for _, o := range outputs {
		use(o)
		isOutput[o] = true
	}
	byName := map[string]*Layer{}
	var order []string
	for _, n := range def.GetNode() {
		scope, ok := scopeOf[n.GetName()]
		if !ok {
			continue
		}
		name := layerName(scope)
		l := byName[name]
		if l == nil {
			l = &Layer{Name: name, Weights: weightLayers[name]}
			byName[name] = l
			order = append(order, name)
		}
		op := n.GetOp()
		if op == "Const" || (op == "Identity" && isWeightRead(n.GetInput())) {
			continue // parameters, not computation
		}
		if !contains(l.Ops, op) {
			l.Ops = append(l.Ops, op)
		}
		ts := tensorsOf[n.GetName()]
		sort.Slice(ts, func(i, j int) bool { return tensorIndex(ts[i]) < tensorIndex(ts[j]) })
		for _, t := range ts {
			external := isOutput[t]
			for _, c := range consumers[t] {
				if scopeOf[c] != scope {
					external = true
				}
			}
			if external {
				l.Output = t
			}
		}
	}
	var out []Layer
	for _, name := range order {
		if l := byName[name]; l.Output != "" {
			out = append(out, *l)
		}
	}
	return out
}

func learnSuffix(scopes map[string]bool, weightLayers map[string][]string) string {
	var best string
	bestHits := -1
	cands := []string{""}
	for s := range scopes {
		if m := scopeSuffix.FindString(s); m != "" && !contains(cands, m) {
			cands = append(cands, m)
		}
	}
	sort.Strings(cands)
	for _, c := range cands {
		hits := 0
		for l := range weightLayers {
			if scopes[l+c] {
				hits++
			}
		}
		if hits > bestHits {
			best, bestHits = c, hits
		}
	}
	if len(weightLayers) == 0 {
		// No variables to learn from: Keras 3 exports use "_1".
		return "_1"
	}
	return best
}

func isWeightRead(inputs []string) bool {
	return len(inputs) == 1 && strings.HasPrefix(inputs[0], weightPrefix)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Layers lists the Keras layers of the flat graph in graph order.
func (fl *Flat) Layers() []Layer { return fl.layers }

// Layer returns the layer with the given Keras name; an unknown name is an
// error listing the nearest names.
func (fl *Flat) Layer(name string) (Layer, error) {
	for _, l := range fl.layers {
		if l.Name == name {
			return l, nil
		}
	}
	var names []string
	for _, l := range fl.layers {
		names = append(names, l.Name)
	}
	return Layer{}, fmt.Errorf("tfgraph: %s: layer %q not found; nearest: %s", fl.model.Dir, name, strings.Join(nearest(name, names, 3), ", "))
}

// nearest returns up to k names closest to s by edit distance.
func nearest(s string, names []string, k int) []string {
	sorted := append([]string(nil), names...)
	sort.SliceStable(sorted, func(i, j int) bool { return editDistance(s, sorted[i]) < editDistance(s, sorted[j]) })
	if len(sorted) > k {
		sorted = sorted[:k]
	}
	return sorted
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Shape is the static shape of a flat tensor (-1 for unknown dimensions; nil
// for an unknown rank or tensor).
func (fl *Flat) Shape(name string) []int64 {
	o, err := fl.tensor(name)
	if err != nil {
		return nil
	}
	s, err := o.Shape().ToSlice()
	if err != nil {
		return nil
	}
	return s
}

// Params is the number of weight values of layer l.
func (fl *Flat) Params(l Layer) int64 {
	var n int64
	for _, name := range l.Weights {
		if w, ok := fl.weight(name); ok {
			p := int64(1)
			for _, d := range w.Shape {
				p *= d
			}
			n += p
		}
	}
	return n
}

// poolingOps are the ops of layers that only move or pool values.
var poolingOps = map[string]bool{"MaxPool": true, "AvgPool": true, "Pad": true, "PadV2": true, "Identity": true}

// CAMLayer is the default layer for CAM methods: the last layer with a 4-D
// output of spatial size above 1×1 that does more than pooling or padding (a
// convolution, or the activation or sum that follows one).
func (fl *Flat) CAMLayer() (Layer, error) {
	for i := len(fl.layers) - 1; i >= 0; i-- {
		l := fl.layers[i]
		if s := fl.Shape(l.Output); len(s) != 4 || s[1] == 1 || s[2] == 1 {
			continue // not 4-D, or no spatial extent
		}
		for _, op := range l.Ops {
			if !poolingOps[op] {
				return l, nil
			}
		}
	}
	return Layer{}, &NotApplicableError{Model: fl.model.Dir, Reason: "no layer with a 4-D output of spatial size above 1×1 for CAM methods"}
}

func tensorIndex(t string) int {
	_, idx, _ := parseTensorName(t)
	return idx
}
