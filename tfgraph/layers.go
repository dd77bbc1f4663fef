//go:build cgo

package tfgraph

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/saliencykit/saliency/internal/suggest"
	graphpb "github.com/wamuir/graft/tensorflow/core/framework/graph_go_proto"
)

// KerasLayer is a layer as Keras lists it (model.summary(), a model card).
type KerasLayer struct {
	Name        string
	Class       string
	OutputShape []int // -1 for the batch
	// OutputOf, when set, names the layer listed before this one whose
	// output this one's is (a card's output_of: a torch container that ends
	// in its last child, as scripts/import_model.py writes it).
	OutputOf string
}

// noOpClasses are the Keras layer classes that have no ops at inference and
// pass their input on unchanged: the only entries of Keras' list that
// SetKerasLayers may place by shape alone.
var noOpClasses = map[string]bool{
	"Dropout": true, "SpatialDropout1D": true, "SpatialDropout2D": true, "SpatialDropout3D": true,
	"GaussianDropout": true, "GaussianNoise": true, "AlphaDropout": true, "ActivityRegularization": true,
	"Activation": true, "Identity": true, "StochasticDepth": true,
	"RandomFlip": true, "RandomRotation": true, "RandomZoom": true, "RandomTranslation": true,
	"RandomContrast": true, "RandomBrightness": true,
}

// SetKerasLayers completes the layer list with Keras' own, and puts the list
// in Keras' order. An entry of keras that the graph does not show becomes an
// alias: of the layer its OutputOf names, or, for a class that has no ops at
// inference (Dropout, a linear Activation, ConvNeXt's StochasticDepth), of
// the entry just before it in Keras' list, when that is a layer of its
// shape (the nearest earlier layer of the same shape may be another
// branch). Any other entry
// has ops that no layer scope holds: a Keras operation applied outside any
// layer ("inputs + x" in a functional model, as ConvNeXt and MobileNetV3
// write their residual sums and hard sigmoids) runs in the model's own name
// scope. Such an entry is not placed by shape, which would name another
// tensor (the branch before the sum), and Flat.Layer gives the reason for
// its name. SetKerasLayers returns the entries it did not place.
func (fl *Flat) SetKerasLayers(keras []KerasLayer) []string {
	have := map[string]Layer{}
	for _, l := range fl.layers {
		have[l.Name] = l
	}
	var out []Layer
	var unplaced []string
	fl.notLayers = map[string]string{}
	start := -1 // len(out) when the entry before k was reached
	for i, k := range keras {
		// prev is the layer of the entry before k in Keras' list (nil: that
		// entry was placed nowhere, or is several layers).
		var prev *Layer
		if start >= 0 && len(out) == start+1 {
			prev = &out[start]
		}
		start = len(out)
		after := "first"
		if i > 0 {
			after = "after " + keras[i-1].Name
		}
		if l, ok := have[k.Name]; ok {
			out = append(out, l)
			delete(have, k.Name)
			fl.declare(l.Output, k.OutputShape)
			continue
		}
		if calls := fl.calls(k.Name); len(calls) > 0 {
			// A shared layer: Keras lists it once (its output shape is its
			// first call's); its calls keep their places.
			for _, c := range calls {
				if l, ok := have[c]; ok {
					out = append(out, l)
					delete(have, c)
				}
			}
			continue
		}
		if k.Class == "InputLayer" {
			continue
		}
		alias := func(src Layer) {
			if src.Alias != "" {
				src.Name = src.Alias
			}
			out = append(out, Layer{Name: k.Name, Output: src.Output, Alias: src.Name})
		}
		placed := false
		switch {
		case k.OutputOf != "":
			for i := len(out) - 1; i >= 0 && !placed; i-- {
				if out[i].Name == k.OutputOf && (len(k.OutputShape) == 0 || sameDims(fl.Shape(out[i].Output), k.OutputShape)) {
					alias(out[i])
					placed = true
				}
			}
			if !placed {
				fl.notLayers[k.Name] = fmt.Sprintf("its card entry says output_of: %s, and no layer of that name with its output shape is listed before it", k.OutputOf)
			}
		case noOpClasses[k.Class]:
			// Its input is the entry just before it in Keras' order (a
			// chain: conv, then its Dropout): the nearest earlier layer of
			// the same shape may be another branch, or the branch before
			// a Keras operation that could not be placed.
			if prev != nil && sameDims(fl.Shape(prev.Output), k.OutputShape) {
				alias(*prev)
				placed = true
			} else {
				fl.notLayers[k.Name] = fmt.Sprintf("Keras lists it (%s, no ops at inference) %s, which is no layer of its output shape here, so which tensor it passes on is not known", k.Class, after)
			}
		default:
			fl.notLayers[k.Name] = fmt.Sprintf("the card lists it (%s), but no layer's name scope in the graph holds its ops: a Keras operation applied outside any layer (such as inputs + x in a functional model) runs in the model's own scope, where its output cannot be told from other tensors; name the layer before or after it (a torch module in a card that scripts/import_model.py wrote before it gave output_of: convert the model again)", k.Class)
		}
		if !placed {
			unplaced = append(unplaced, k.Name)
		}
	}
	for _, l := range fl.layers { // layers Keras does not list keep their place at the end
		if _, ok := have[l.Name]; ok {
			out = append(out, l)
		}
	}
	fl.layers = out
	return unplaced
}

// declare completes the static shape of a layer's output with the dims Keras
// declares where TensorFlow's shape inference left them unknown (a Dense
// layer on tokens reshapes through a computed shape: [N,?,128]).
func (fl *Flat) declare(t string, k []int) {
	s := fl.Shape(t)
	if len(s) != len(k) || len(s) == 0 {
		return
	}
	merged := append([]int64(nil), s...)
	changed := false
	for i := range s {
		switch {
		case s[i] < 0 && k[i] > 0:
			merged[i], changed = int64(k[i]), true
		case s[i] >= 0 && k[i] > 0 && s[i] != int64(k[i]):
			return // they disagree: keep TensorFlow's
		}
	}
	if changed {
		if fl.declared == nil {
			fl.declared = map[string][]int64{}
		}
		fl.declared[t] = merged
	}
}

// sameDims compares a static shape with Keras' (-1 or 0 for unknown).
func sameDims(s []int64, k []int) bool {
	if len(s) != len(k) || len(s) == 0 {
		return false
	}
	for i := range s {
		if (s[i] >= 0 || k[i] >= 0) && s[i] != int64(k[i]) && !(s[i] < 0 && k[i] <= 0) {
			return false
		}
	}
	return true
}

// Keras traces a model inside name scopes "<model>/<layer>/<op>", and a
// nested model (a Sequential or functional model used as a layer) inside
// "<model>/<outer>/<inner>/<op>". TensorFlow makes scope names unique as it
// goes ("add" then "add_1"), and Keras 3 enters each layer's scope twice, so
// the scopes of layers named "add" and "add_1" are "add_1" and "add_1_2". The
// Keras names are recovered by replaying TensorFlow's rule on the scopes in
// the order they were created (see decodeScopes); a layer that reads
// variables is named by its variables' paths, which keep the Keras names.
//
// A scope whose ops all sit in child scopes is a nested model: it is listed,
// and so is each child, as "outer/inner". A layer with no ops at inference
// (Dropout, a linear Activation) leaves no trace in the graph; the model's
// card, when it lists the layers, adds it as an alias of its input.

// scopeInfo is what the flat graph shows of one Keras name scope.
type scopeInfo struct {
	scope    string // as TensorFlow named it
	rank     int    // creation order of its first op
	direct   bool   // it holds ops itself (not only in child scopes)
	children map[string]*scopeInfo
	name     string // the Keras name, with "#k" for the k-th call of a shared layer
	shared   string // the Keras name of a layer called more than once, else ""
	reads    map[string]bool
	nested   bool // a nested model: its child scopes are layers
}

func (s *scopeInfo) child(name string, rank int) *scopeInfo {
	if s.children == nil {
		s.children = map[string]*scopeInfo{}
	}
	c := s.children[name]
	if c == nil {
		c = &scopeInfo{scope: name, rank: rank, reads: map[string]bool{}}
		s.children[name] = c
	}
	c.rank = min(c.rank, rank)
	return c
}

func (s *scopeInfo) container() bool { return s.nested }

// isNestedModel tells a nested model from a layer with internal name scopes
// (BatchNormalization's "batchnorm", an op's own scope): its ops all sit in
// child scopes, and those are layers. Under Keras 3 every child layer's scope
// replays as a twice-entered layer scope; under one entry (tf.keras) each
// child must also read variables of its own: "outer/inner/kernel" (every
// child), or "inner/kernel" outside the outer scope (tf.keras 2, children
// without variables allowed).
func (s *scopeInfo) isNestedModel() bool {
	if s.direct || len(s.children) == 0 {
		return false
	}
	kids := s.sortedChildren()
	if _, bad := replayNames(kids, 2); bad == 0 {
		return true
	}
	if _, bad := replayNames(kids, 1); bad > 0 {
		return false
	}
	// tf.keras 2 builds a nested model's layers outside its scope: their
	// variables are "inner/kernel", named after the child itself, where the
	// sublayers of a layer read "attn/query/kernel" and a layer's internal
	// scope ("batchnorm") reads the layer's own "bn/gamma".
	deep := true
	for _, c := range kids {
		d := false
		for v := range c.reads {
			d = d || strings.Count(v, "/") >= 2
		}
		deep = deep && d
	}
	if deep {
		return true
	}
	own := 0
	for _, c := range kids {
		if len(c.reads) == 0 {
			continue
		}
		cands := suffixStrips(c.scope)
		for v := range c.reads {
			if first, _, _ := strings.Cut(v, "/"); !slices.Contains(cands, first) {
				return false
			}
		}
		own++
	}
	return own > 0
}

// sortedChildren lists the child scopes in creation order.
func (s *scopeInfo) sortedChildren() []*scopeInfo {
	out := make([]*scopeInfo, 0, len(s.children))
	for _, c := range s.children {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].rank < out[j].rank })
	return out
}

// findLayers maps Keras layer names to flat tensors. A model that is not
// Keras (a tf.Module whose functions open tf.name_scope blocks) has no
// "<model>/<layer>/" scopes; its top-level name scopes become the layers.
func findLayers(def *graphpb.GraphDef, origin map[string]bodyNode, weights []Weight, outputs []string) []Layer {
	if ls := findScopes(def, origin, weights, outputs, false); len(ls) > 0 {
		return ls
	}
	return findScopes(def, origin, weights, outputs, true)
}

// findScopes is findLayers with the layers at the first level of name
// scopes (module) or at the second, under the model's own scope (Keras).
func findScopes(def *graphpb.GraphDef, origin map[string]bodyNode, weights []Weight, outputs []string, module bool) []Layer {
	weightOf := map[string]string{} // weight node → variable name
	for _, w := range weights {
		weightOf[w.Node] = w.Name
	}
	// The scopes, in creation order: functions in the order their first
	// node is met, then position in the body.
	fnRank := map[string]int{}
	root := &scopeInfo{}
	type placed struct{ top, inner *scopeInfo }
	where := map[string]placed{}
	// The body names of the nodes, by function: an op of the model's own
	// scope with its helper constants under its name ("strided_slice",
	// "strided_slice/stack" where Keras ops run before the first layer, as
	// preprocess_input's do) is not a layer scope, and taking it for one
	// spoils the replay of the layers' unique names.
	bodyNames := map[string]bool{}
	for _, n := range def.GetNode() {
		if o, ok := origin[n.GetName()]; ok {
			bodyNames[o.fn+"\x00"+o.name] = true
		}
	}
	for _, n := range def.GetNode() {
		o, ok := origin[n.GetName()]
		if !ok {
			continue
		}
		comps := strings.Split(o.name, "/")
		if module {
			comps = append([]string{""}, comps...)
		}
		if len(comps) < 3 {
			continue
		}
		if bodyNames[o.fn+"\x00"+strings.TrimPrefix(comps[0]+"/"+comps[1], "/")] {
			continue // an op's helper scope
		}
		if _, ok := fnRank[o.fn]; !ok {
			fnRank[o.fn] = len(fnRank)
		}
		rank := fnRank[o.fn]<<32 | o.index
		top := root.child(comps[1], rank)
		p := placed{top: top}
		if len(comps) == 3 {
			top.direct = true
		} else {
			p.inner = top.child(comps[2], rank)
			if len(comps) == 4 {
				p.inner.direct = true
			}
		}
		if isWeightRead(n.GetInput()) {
			if v, ok := weightOf[nodeOf(n.GetInput()[0])]; ok {
				top.reads[v] = true
				if p.inner != nil {
					p.inner.reads[v] = true
				}
			}
		}
		where[n.GetName()] = p
	}
	tops := root.sortedChildren()
	for _, t := range tops {
		t.nested = t.isNestedModel()
	}
	decodeScopes(tops, 1)
	markCalls(tops)
	for _, t := range tops {
		if t.container() {
			decodeScopes(t.sortedChildren(), 2)
			markCalls(t.sortedChildren())
		}
	}
	// key is the layer of a node: "name", or "outer/inner" in a nested model.
	key := func(node string) (string, string) {
		p, ok := where[node]
		if !ok {
			return "", ""
		}
		if p.top.container() && p.inner != nil {
			return p.top.name, p.top.name + "/" + p.inner.name
		}
		return p.top.name, p.top.name
	}
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
	rankOf := map[string]int{}
	for _, t := range tops {
		add := func(name, shared string, s *scopeInfo) {
			byName[name] = &Layer{Name: name, Shared: shared, Weights: sortedKeys(s.reads)}
			rankOf[name] = s.rank
		}
		add(t.name, t.shared, t)
		if t.container() {
			for _, c := range t.sortedChildren() {
				shared := ""
				if t.shared != "" || c.shared != "" {
					shared = cmp.Or(t.shared, t.name) + "/" + cmp.Or(c.shared, c.name)
				}
				add(t.name+"/"+c.name, shared, c)
			}
		}
	}
	outs := map[string][]string{} // a layer's outputs, in graph order
	for _, n := range def.GetNode() {
		outer, inner := key(n.GetName())
		if outer == "" {
			continue
		}
		op := n.GetOp()
		if op == "Const" || (op == "Identity" && isWeightRead(n.GetInput())) {
			continue // parameters, not computation
		}
		ts := tensorsOf[n.GetName()]
		sort.Slice(ts, func(i, j int) bool { return tensorIndex(ts[i]) < tensorIndex(ts[j]) })
		for _, name := range []string{outer, inner} {
			l := byName[name]
			if !contains(l.Ops, op) {
				l.Ops = append(l.Ops, op)
			}
			for _, t := range ts {
				external := isOutput[t]
				kept := external // read outside the layer by the model's own ops
				for _, c := range consumers[t] {
					co, ci := key(c)
					if (name == outer && co != outer) || (name == inner && ci != inner) {
						external = true
						// not by a node that saliency's rewrites added
						// (a head reshaped after its softmax)
						kept = kept || !strings.Contains(c[strings.LastIndexByte(c, '/')+1:], "saliency_")
					}
				}
				if external {
					l.Output = t
				}
				if kept && !contains(outs[name], t) {
					outs[name] = append(outs[name], t)
				}
			}
			if inner == outer {
				break
			}
		}
	}
	// The order of model.layers: Keras sorts a functional model's layers
	// by depth (the longest path to an output, deepest first) and, within a
	// depth, by the order a depth-first walk from the outputs meets them.
	topKey := func(node string) string { o, _ := key(node); return o }
	order := kerasOrder(def, topKey, outputs, rankOf)
	var names []string
	for _, top := range order {
		if l := byName[top]; l != nil && l.Output != "" {
			names = append(names, top)
		}
		var kids []string
		for name, l := range byName {
			if strings.HasPrefix(name, top+"/") && l.Output != "" {
				kids = append(kids, name)
			}
		}
		sort.Slice(kids, func(i, j int) bool { return rankOf[kids[i]] < rankOf[kids[j]] })
		names = append(names, kids...)
	}
	out := make([]Layer, 0, len(names))
	listed := map[string]bool{}
	// expand is l, or one layer per output where l has several: as one,
	// its output was the one the graph computes last, and a layer method
	// explained it alone. A nested model's layers keep their names
	// ("backbone/conv1" beside backbone#out0 and backbone#out1); the
	// outputs of a call of a shared layer are backbone#1#out0, ….
	expand := func(l *Layer) []Layer {
		many := outs[l.Name]
		if len(many) < 2 {
			return []Layer{*l}
		}
		r := make([]Layer, len(many))
		for k, o := range many {
			r[k] = Layer{Name: fmt.Sprintf("%s#out%d", l.Name, k), Output: o, Ops: l.Ops, Weights: l.Weights,
				Shared: cmp.Or(l.Shared, l.Name), Outputs: len(many)}
		}
		return r
	}
	for _, name := range names {
		l := byName[name]
		if l.Shared == "" {
			out = append(out, expand(l)...)
			continue
		}
		if listed[l.Shared] { // the calls of a shared layer, together in call order
			continue
		}
		listed[l.Shared] = true
		var calls []*Layer
		for _, c := range names {
			if byName[c].Shared == l.Shared {
				calls = append(calls, byName[c])
			}
		}
		sort.Slice(calls, func(i, j int) bool { return callIndex(calls[i].Name) < callIndex(calls[j].Name) })
		for _, c := range calls {
			out = append(out, expand(c)...)
		}
	}
	return out
}

// callIndex is k of a shared layer's call "name#k", or of a layer inside
// the k-th call of a nested model, "backbone#k/conv1" (0 for another name).
func callIndex(name string) int {
	for i := strings.IndexByte(name, '#'); i >= 0; {
		j := i + 1
		for j < len(name) && name[j] >= '0' && name[j] <= '9' {
			j++
		}
		if k, err := strconv.Atoi(name[i+1 : j]); err == nil {
			return k
		}
		next := strings.IndexByte(name[i+1:], '#')
		if next < 0 {
			break
		}
		i += 1 + next
	}
	return 0
}

// kerasOrder sorts the top-level layers as Keras' map_graph does: by depth
// (the longest path from the layer to an output of the model) deepest first,
// then by the index at which a depth-first walk from the outputs, through
// each layer's inputs in order, first meets them. Layers are connected
// through the tensors their ops read from other layers (through ops outside
// any layer). rank gives the creation order, used to order a layer's inputs
// and as the last tie-break.
func kerasOrder(def *graphpb.GraphDef, layerOf func(node string) string, outputs []string, rank map[string]int) []string {
	nodes := nodesByName(def.GetNode())
	// preds[L] lists the layers L reads, in order of first reading; sources
	// walks back through nodes outside any layer.
	memo := map[string][]string{}
	var sources func(node string) []string
	sources = func(node string) []string {
		if l := layerOf(node); l != "" {
			return []string{l}
		}
		if v, ok := memo[node]; ok {
			return v
		}
		memo[node] = nil
		var out []string
		if n := nodes[node]; n != nil {
			for _, in := range n.GetInput() {
				for _, l := range sources(nodeOf(strings.TrimPrefix(in, "^"))) {
					if !contains(out, l) {
						out = append(out, l)
					}
				}
			}
		}
		memo[node] = out
		return out
	}
	preds := map[string][]string{}
	var layers []string
	for _, n := range def.GetNode() {
		l := layerOf(n.GetName())
		if l == "" {
			continue
		}
		if _, ok := preds[l]; !ok {
			preds[l] = nil
			layers = append(layers, l)
		}
		for _, in := range n.GetInput() {
			for _, p := range sources(nodeOf(strings.TrimPrefix(in, "^"))) {
				if p != l && !contains(preds[l], p) {
					preds[l] = append(preds[l], p)
				}
			}
		}
	}
	succ := map[string][]string{}
	for l, ps := range preds {
		for _, p := range ps {
			succ[p] = append(succ[p], l)
		}
	}
	depth := map[string]int{}
	var depthOf func(l string, seen map[string]bool) int
	depthOf = func(l string, seen map[string]bool) int {
		if d, ok := depth[l]; ok {
			return d
		}
		if seen[l] {
			return 0 // a cycle cannot happen in a functional model
		}
		seen[l] = true
		d := 0
		for _, s := range succ[l] {
			d = max(d, depthOf(s, seen)+1)
		}
		depth[l] = d
		return d
	}
	for _, l := range layers {
		depthOf(l, map[string]bool{})
	}
	// The walk from the outputs, in output order.
	index := map[string]int{}
	var walk func(l string)
	walk = func(l string) {
		if _, ok := index[l]; ok {
			return
		}
		index[l] = len(index)
		for _, p := range preds[l] {
			walk(p)
		}
	}
	for _, o := range outputs {
		for _, l := range sources(nodeOf(o)) {
			walk(l)
		}
	}
	for _, l := range layers { // layers that reach no output
		walk(l)
	}
	sort.SliceStable(layers, func(i, j int) bool {
		a, b := layers[i], layers[j]
		if depth[a] != depth[b] {
			return depth[a] > depth[b]
		}
		if index[a] != index[b] {
			return index[a] < index[b]
		}
		return rank[a] < rank[b]
	})
	return layers
}

// decodeScopes sets the Keras name of each scope of one parent, given in
// creation order, by replaying TensorFlow's unique naming: each layer's
// scope is entered calls times (Keras 3 enters it twice, tf.keras once), and
// the ops sit in the last. The number of entries is found by trying 2 and 1.
// A layer that reads variables takes the name their paths give.
func decodeScopes(scopes []*scopeInfo, depth int) {
	best, bestBad := map[*scopeInfo]string(nil), -1
	for _, calls := range []int{2, 1} {
		names, bad := replayNames(scopes, calls)
		if bestBad < 0 || bad < bestBad {
			best, bestBad = names, bad
		}
	}
	for _, s := range scopes {
		s.name = best[s]
		if v := readName(s.reads, depth, suffixStrips(s.scope)); v != "" {
			s.name = v
		}
	}
}

// markCalls names the calls of a shared layer: Keras gives each layer of a
// model its own name, so scopes that decode to one name are the calls of one
// layer (its scope entered again for each call). The k-th call the model
// runs is "name#k", in the order of TensorFlow's unique scope names, which
// is the order of the trace (Keras runs a functional model's calls by depth,
// not in the order the model's code wrote them). Merged, the calls would
// have one output, the last call's, and a layer method would explain a part
// of the network as if it were the whole layer.
func markCalls(scopes []*scopeInfo) {
	calls := map[string][]*scopeInfo{}
	for _, s := range scopes {
		calls[s.name] = append(calls[s.name], s)
	}
	for name, ss := range calls {
		if len(ss) < 2 {
			continue
		}
		seq := func(s *scopeInfo) int { // "c2" 0, "c2_1" 1, "c2_3" 3
			n, _ := strconv.Atoi(strings.TrimPrefix(strings.TrimPrefix(s.scope, name), "_"))
			return n
		}
		sort.SliceStable(ss, func(i, j int) bool { return seq(ss[i]) < seq(ss[j]) })
		for k, s := range ss {
			s.shared, s.name = name, name+"#"+strconv.Itoa(k+1)
		}
	}
}

// readName is the layer name that the variables a scope reads agree on,
// among the names its scope can stand for (cands): the depth-th path
// component of each ("block/inner_conv/kernel" is "block" at depth 1 and
// "inner_conv" at depth 2), or a later one when a name scope that is not a
// layer comes first (NASNet's "normal_A_block_0/separable_conv_1_…/kernel");
// "" when they disagree, name no candidate, or there are none.
func readName(reads map[string]bool, depth int, cands []string) string {
	name := ""
	for v := range reads {
		comps := strings.Split(v, "/")
		if len(comps) <= depth {
			return ""
		}
		got := ""
		for _, c := range comps[depth-1 : len(comps)-1] {
			if slices.Contains(cands, c) {
				got = c
				break
			}
		}
		if got == "" || (name != "" && name != got) {
			return ""
		}
		name = got
	}
	return name
}

// replayNames finds, for each scope, the requested name that TensorFlow's
// unique naming turns into that scope on its calls-th entry, and counts the
// scopes for which none does (those keep their scope name).
func replayNames(scopes []*scopeInfo, calls int) (map[*scopeInfo]string, int) {
	used := uniqueNames{}
	names := map[*scopeInfo]string{}
	bad := 0
	for _, s := range scopes {
		found := false
		for _, cand := range suffixStrips(s.scope) {
			trial := used.clone()
			got := ""
			for i := 0; i < calls; i++ {
				got = trial.unique(cand)
			}
			if got == s.scope {
				used, names[s], found = trial, cand, true
				break
			}
		}
		if !found {
			bad++
			used.unique(s.scope)
			names[s] = s.scope
		}
	}
	return names, bad
}

// suffixStrips lists s, then s without its last "_<digits>", and so on.
func suffixStrips(s string) []string {
	out := []string{s}
	for {
		m := scopeSuffix.FindStringIndex(s)
		if m == nil || m[0] == 0 {
			return out
		}
		s = s[:m[0]]
		out = append(out, s)
	}
}

var scopeSuffix = regexp.MustCompile(`_\d+$`)

// uniqueNames replays tf.Graph.unique_name: the use count of each lower-case
// name.
type uniqueNames map[string]int

func (u uniqueNames) clone() uniqueNames {
	c := make(uniqueNames, len(u))
	for k, v := range u {
		c[k] = v
	}
	return c
}

func (u uniqueNames) unique(name string) string {
	key := strings.ToLower(name)
	i := u[key]
	u[key] = i + 1
	if i == 0 {
		return name
	}
	base := key
	for u[key] > 0 {
		key = fmt.Sprintf("%s_%d", base, i)
		i++
	}
	u[key] = 1
	return fmt.Sprintf("%s_%d", name, i-1)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
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

// NotLayers maps the names of the card's layer list that name no layer of
// the graph to why (a Keras operation applied outside any layer); nil when
// every entry is a layer or the model has no card.
func (fl *Flat) NotLayers() map[string]string {
	if len(fl.notLayers) == 0 {
		return nil
	}
	return fl.notLayers
}

// Layer returns the layer with the given Keras name; an unknown name is an
// error listing the nearest names, and saying why no layer has it when the
// model's card does (Options.Unnamed).
func (fl *Flat) Layer(name string) (Layer, error) {
	for _, l := range fl.layers {
		if l.Name == name {
			return l, nil
		}
	}
	if calls := fl.calls(name); len(calls) > 0 {
		return Layer{}, fmt.Errorf("tfgraph: %s: %s: name one of %s", fl.model.Dir, fl.sharedWhy(name), strings.Join(calls, ", "))
	}
	var names []string
	for _, l := range fl.layers {
		names = append(names, l.Name)
	}
	if why, ok := fl.model.opts.Unnamed[name]; ok {
		return Layer{}, fmt.Errorf("tfgraph: %s: no layer is %q: %s (card.yaml, unnamed_layers); nearest: %s", fl.model.Dir, name, why, strings.Join(nearest(name, names, 3), ", "))
	}
	if why, ok := fl.notLayers[name]; ok {
		return Layer{}, fmt.Errorf("tfgraph: %s: %q is no layer here: %s (card.yaml, layers); nearest: %s", fl.model.Dir, name, why, strings.Join(nearest(name, names, 3), ", "))
	}
	return Layer{}, fmt.Errorf("tfgraph: %s: layer %q not found; nearest: %s", fl.model.Dir, name, strings.Join(nearest(name, names, 3), ", "))
}

// sharedWhy says why the layer name is several layers: its calls, its
// outputs, or both.
func (fl *Flat) sharedWhy(name string) string {
	var owners []string
	outputs := 0
	for _, l := range fl.parts(name) {
		if !contains(owners, l.Owner()) {
			owners = append(owners, l.Owner())
		}
		outputs = max(outputs, l.Outputs)
	}
	n := len(owners)
	switch {
	case outputs > 0 && (n == 1 || owners[0] == name):
		return fmt.Sprintf("layer %q has %d outputs, and each is a layer of its own", name, outputs)
	case outputs > 0:
		return fmt.Sprintf("layer %q is called %d times (the same weights on %d inputs) and each call has %d outputs, each a layer of its own", name, n, n, outputs)
	}
	return fmt.Sprintf("layer %q is called %d times (the same weights on %d inputs), and each call has its own output", name, n, n)
}

// calls lists the layers that are the calls (or the outputs, or the outputs
// of each call) of the shared layer name, or the outputs of its call name
// ("attend#1"), in order; none when the layer is called once with one
// output or does not exist.
func (fl *Flat) calls(name string) []string {
	var out []string
	for _, l := range fl.parts(name) {
		out = append(out, l.Name)
	}
	return out
}

// parts are the layers that calls names.
func (fl *Flat) parts(name string) []Layer {
	var out []Layer
	for _, l := range fl.layers {
		if l.Shared == name || l.Outputs > 0 && l.Owner() == name {
			out = append(out, l)
		}
	}
	return out
}

// nearest returns up to k names closest to s by edit distance.
func nearest(s string, names []string, k int) []string {
	sorted := append([]string(nil), names...)
	sort.SliceStable(sorted, func(i, j int) bool { return suggest.Distance(s, sorted[i]) < suggest.Distance(s, sorted[j]) })
	if len(sorted) > k {
		sorted = sorted[:k]
	}
	return sorted
}

// Shape is the static shape of a flat tensor (-1 for unknown dimensions; nil
// for an unknown rank or tensor), completed with the output shapes Keras
// declares for its layers when the card lists them (SetKerasLayers).
func (fl *Flat) Shape(name string) []int64 {
	if s, ok := fl.declared[name]; ok {
		return append([]int64(nil), s...)
	}
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
// convolution, or the activation or sum that follows one) and that every
// path from the input to the scores goes through. A layer that another
// branch goes around determines only part of the scores (ConvNeXt's last
// residual branch, whose sum with the stage's input is no Keras layer; an
// Inception module's branch; one of a feature pyramid's pooled stages), so
// a CAM map there would explain that part as if it were all: the search
// goes on towards the input, and when no layer is on every path (branches
// that meet only after their last convolutions) CAM methods are refused by
// default, naming the last layer and the one around it. On a vision
// transformer (attention over tokens that form a patch grid, see TokenGrid)
// it is the input of the last attention layer, a token layer [N,T,D].
//
// A model converted from PyTorch (scripts/import_model.py) names its layers by
// module path, and its card lists after a layer the modules that end in its
// output: "layer4.1.relu-2", then "layer4.1" and "layer4". The outermost of
// those that contain the layer (a dotted prefix of its name) names the CAM
// layer, so that a torchvision ResNet's is "layer4".
func (fl *Flat) CAMLayer() (Layer, error) {
	if l, ok := fl.tokenCAMLayer(); ok {
		return l, nil
	}
	var around string // the last convolution-like layer, when a path goes around it
	for i := len(fl.layers) - 1; i >= 0; i-- {
		l := fl.layers[i]
		if s := fl.Shape(l.Output); len(s) != 4 || s[1] == 1 || s[2] == 1 {
			continue // not 4-D, or no spatial extent
		}
		for _, op := range l.Ops {
			if !poolingOps[op] {
				l := fl.enclosingModule(i)
				if l.Shared != "" && around == "" {
					// Test-time augmentation, a multi-scale network, a
					// layer with two outputs: no one of them is the
					// network's last convolution.
					return Layer{}, &NotApplicableError{Model: fl.model.Dir, Reason: fmt.Sprintf("the last convolution-like layer: %s: name one for CAM methods with -layer, or layer: in an experiment (%s)", fl.sharedWhy(l.Shared), strings.Join(fl.calls(l.Shared), ", "))}
				}
				if other := fl.bypass(l.Output); other != "" {
					// A branch that meets others after its last
					// convolution (a residual block's, an Inception
					// module's, a feature pyramid's pooled stages): a
					// map at it explains only its share of the scores.
					// The CAM layer is the last one every path goes
					// through.
					if around == "" {
						around = fmt.Sprintf("%s (the scores are also reached through %s, around it)", l.Name, other)
					}
					break
				}
				return l, nil
			}
		}
	}
	if around != "" {
		return Layer{}, &NotApplicableError{Model: fl.model.Dir, Reason: "no convolution-like layer with a spatial output is on every path from the input to the scores: a CAM map at the last one, " + around + ", would explain only the part of the scores that flows through it; name a layer for CAM methods with -layer, or layer: in an experiment"}
	}
	return Layer{}, &NotApplicableError{Model: fl.model.Dir, Reason: "no layer with a 4-D output of spatial size above 1×1 for CAM methods"}
}

// BranchWarning says that layer l, given for layer methods, is a branch that
// another path from the input to the scores goes around, naming a layer on
// that path: its maps explain only the part of the scores that flows
// through it. "" for a layer every path goes through, and for a layer that
// is not 4-D (a token layer, where pytorch-grad-cam's convention, the last
// block's first LayerNorm, is such a branch by design).
func (fl *Flat) BranchWarning(l Layer) string {
	if len(fl.Shape(l.Output)) != 4 {
		return ""
	}
	around := fl.bypass(l.Output)
	if around == "" {
		return ""
	}
	return fmt.Sprintf("layer %s is not on every path from the input to the scores (they are also reached through %s, around it): the maps of layer methods explain only the part of the scores that flows through %s", l.Name, around, l.Name)
}

// bypass names a layer through which the input reaches the scores (the
// logits, else the output) on a path of floating-point tensors that does
// not go through the tensor cut: the last layer of such a path that is
// neither before cut nor after it, one with a 4-D output where there is
// one; "" when every path goes through cut.
func (fl *Flat) bypass(cut string) string {
	end, _ := fl.Logits()
	if end == "" {
		end = fl.Output()
	}
	in, block, last := nodeOf(fl.inputName()), nodeOf(cut), nodeOf(end)
	reach := map[string]bool{in: true}    // from the input, around cut
	after := map[string]bool{block: true} // cut's descendants
	for _, n := range fl.order {
		name := n.GetName()
		for _, x := range n.GetInput() {
			if strings.HasPrefix(x, "^") {
				continue
			}
			src := nodeOf(x)
			if after[src] {
				after[name] = true
			}
			if name != block && reach[src] && !reach[name] {
				if o, err := fl.tensor(x); err == nil && isFloat(o.DataType()) {
					reach[name] = true
				}
			}
		}
	}
	if !reach[last] {
		return ""
	}
	// On the way around: between the input and the scores (reach holds
	// only nodes that the input reaches), neither before cut nor after it.
	_, toScores, err := fl.path(last, in)
	if err != nil {
		return "ops outside any layer"
	}
	_, before, _ := fl.path(block, in) // none when cut does not depend on the input
	found, found4 := "", ""
	for _, l := range fl.layers {
		if node := nodeOf(l.Output); reach[node] && toScores[node] && !after[node] && !before[node] {
			found = l.Name
			if len(fl.Shape(l.Output)) == 4 {
				found4 = l.Name
			}
		}
	}
	return cmp.Or(found4, found, "ops outside any layer")
}

// enclosingModule is layer i, or the outermost of the aliases right after it
// whose name is a dotted prefix of its name (the torch modules that end in
// its output).
func (fl *Flat) enclosingModule(i int) Layer {
	l := fl.layers[i]
	best := l
	for _, a := range fl.layers[i+1:] {
		if a.Alias == "" || a.Output != l.Output {
			break
		}
		if strings.HasPrefix(l.Name, a.Name+".") {
			best = a
		}
	}
	return best
}

func tensorIndex(t string) int {
	_, idx, _ := parseTensorName(t)
	return idx
}

// InputLayers names what layer l reads: the layers whose outputs its ops (a
// nested model's: its layers') take, through ops outside any layer, or "the
// input" for the model's image input; in graph order, without repeats.
// inspect uses it to tell the calls of a shared layer apart.
func (fl *Flat) InputLayers(l Layer) []string {
	of := map[string]string{}
	for _, n := range fl.order {
		of[n.GetName()] = fl.layerOf(n.GetName())
	}
	input := nodeOf(fl.inputName())
	inside := func(node string) bool { // a nested model holds its layers' nodes
		return of[node] == l.Name || strings.HasPrefix(of[node], l.Name+"/") ||
			l.Outputs > 0 && (of[node] == l.Owner() || strings.HasPrefix(of[node], l.Owner()+"/"))
	}
	var out []string
	seen := map[string]bool{}
	var walk func(node string)
	walk = func(node string) {
		if seen[node] {
			return
		}
		seen[node] = true
		switch {
		case node == input:
			if !contains(out, "the input") {
				out = append(out, "the input")
			}
			return
		case of[node] != "none" && !inside(node):
			if !contains(out, of[node]) {
				out = append(out, of[node])
			}
			return
		}
		if n := fl.nodes[node]; n != nil && (of[node] == "none" || inside(node)) {
			for _, in := range n.GetInput() {
				if !strings.HasPrefix(in, "^") {
					walk(nodeOf(in))
				}
			}
		}
	}
	for _, n := range fl.order {
		if inside(n.GetName()) {
			walk(n.GetName())
		}
	}
	return out
}
