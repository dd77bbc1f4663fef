package methods

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/saliencykit/saliency/savedmodels"
	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// TargetSpec is a target as users write it (ParseTarget): a class, a class
// probability, or a unit.
type TargetSpec struct {
	// Class is the class explained for every image (-1: the predicted one).
	Class int
	// Probability explains the model's probability of the class (its softmax
	// or sigmoid output) instead of the logit.
	Probability bool
	// Unit, when set, is the target instead of a class.
	Unit *Unit
}

// String is the spec in the syntax of ParseTarget ("" for the predicted
// class's logit).
func (s TargetSpec) String() string {
	switch {
	case s.Unit != nil:
		return s.Unit.String()
	case s.Probability && s.Class >= 0:
		return fmt.Sprintf("probability:%d", s.Class)
	case s.Probability:
		return "probability"
	case s.Class >= 0:
		return fmt.Sprintf("class:%d", s.Class)
	}
	return ""
}

// Target is the target of a batch of n images (Layer and Grid, the CAM
// layer, are the caller's).
func (s TargetSpec) Target(n int) Target {
	t := Target{Probability: s.Probability, Unit: s.Unit}
	if s.Class >= 0 && s.Unit == nil {
		t.Classes = make([]int, n)
		for i := range t.Classes {
			t.Classes[i] = s.Class
		}
	}
	return t
}

// TargetSyntax describes the syntax of ParseTarget, for help texts and
// errors.
const TargetSyntax = "class:C (the logit of class C), probability:C or probability (its softmax/sigmoid probability; without C the predicted class), " +
	"LAYER:K (channel K of a layer: its strongest activation), LAYER:K/mean (its spatial mean), LAYER:K@Y,X (its activation at row Y, column X; a token: @T), " +
	"LAYER:K on a dense layer (neuron K), LAYER:FILE.npy (the direction of a vector over the layer's channels: mean of ⟨A, v⟩; @Y,X at one position)"

// ParseTarget reads a target: "class:3", "probability:3", "block3_conv2:17"
// (a channel's strongest activation), "block3_conv2:17/mean",
// "block3_conv2:17@5,9", "fc1:17" (a neuron of a dense layer),
// "block3_conv2:v.npy" (a direction; relative paths are read from dir).
// "" is the predicted class's logit. Layer names, channels and positions
// are checked against the model when a method runs.
func ParseTarget(spec, dir string) (TargetSpec, error) {
	out := TargetSpec{Class: -1}
	s := strings.TrimSpace(spec)
	if s == "" {
		return out, nil
	}
	bad := func(why string) (TargetSpec, error) {
		return TargetSpec{}, fmt.Errorf("target %q: %s; a target is %s", spec, why, TargetSyntax)
	}
	if s == "probability" || s == "prob" {
		out.Probability = true
		return out, nil
	}
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return bad("no ':'")
	}
	// A direction file's path may hold ':' too: split before it.
	if j := strings.Index(s, ".npy"); j >= 0 {
		if k := strings.LastIndexByte(s[:j], ':'); k >= 0 {
			i = k
		}
	}
	head, rest := strings.TrimSpace(s[:i]), strings.TrimSpace(s[i+1:])
	if head == "" || rest == "" {
		return bad("empty layer or value")
	}
	switch head {
	case "class", "probability", "prob":
		c, err := strconv.Atoi(rest)
		if err != nil || c < 0 {
			return bad(fmt.Sprintf("class %q is not a non-negative integer", rest))
		}
		out.Class, out.Probability = c, head != "class"
		return out, nil
	}
	u := &Unit{Layer: head}
	if k := strings.LastIndexByte(rest, '@'); k >= 0 {
		pos := rest[k+1:]
		rest = rest[:k]
		u.Reduce = "at"
		for _, f := range strings.Split(pos, ",") {
			v, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || v < 0 {
				return bad(fmt.Sprintf("position %q is not non-negative integers separated by ','", pos))
			}
			u.At = append(u.At, v)
		}
	}
	if strings.HasSuffix(rest, ".npy") {
		path := rest
		if dir != "" && !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		v, err := savedmodels.ReadNpyVector(path)
		if err != nil {
			return TargetSpec{}, fmt.Errorf("target %q: direction: %w", spec, err)
		}
		if len(v) == 0 {
			return bad("the direction " + path + " is empty")
		}
		for k, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return bad(fmt.Sprintf("the direction %s has %v at index %d", path, x, k))
			}
		}
		u.Direction, u.DirectionFile = v, rest
		out.Unit = u
		return out, nil
	}
	ch, red, hasRed := strings.Cut(rest, "/")
	if hasRed {
		if u.Reduce == "at" {
			return bad("a position (@) and a reduction (/" + red + ") together")
		}
		if red != "max" && red != "mean" {
			return bad(fmt.Sprintf("reduction %q; want /max or /mean", red))
		}
		u.Reduce = red
	}
	c, err := strconv.Atoi(strings.TrimSpace(ch))
	if err != nil || c < 0 {
		return bad(fmt.Sprintf("channel %q is not a non-negative integer (or a .npy direction)", ch))
	}
	u.Channel = c
	out.Unit = u
	return out, nil
}

// goal is a target resolved on a model: the tensor whose value is explained
// and how its backward pass is seeded.
type goal struct {
	score string // the start tensor: class scores [N,K], or a unit's layer
	k     int    // classes of a class goal
	unit  *unitGoal
}

// unitGoal is a unit resolved on its layer.
type unitGoal struct {
	u     Unit
	layer tfgraph.Layer
	seed  *tensor.Tensor // [1, ...]: the fixed seed (mean, position, direction, neuron)
	pick  *tensor.Tensor // [1, ...]: the channel mask of "max"
}

// grad is the backward signal of the goal on end (a flat tensor, "" for the
// input) under rules, for a chunk of rows images whose given classes (nil:
// the predicted ones) are given.
func (g goal) grad(end string, rules *tfgraph.RuleSet, given []int, rows int) tfgraph.Grad {
	gr := tfgraph.Grad{Start: g.score, End: end, Rules: rules}
	switch {
	case g.unit == nil:
		if given != nil {
			gr.Seed = oneHot(given, g.k)
		}
	case g.unit.pick != nil:
		gr.Pick = g.unit.pick
	default:
		gr.Seed = repeatRow(g.unit.seed, rows)
	}
	return gr
}

// values returns, from the fetched start tensor of a chunk, the classes
// explained and their scores; for a unit, nil classes and the unit's values.
func (g goal) values(fetched *tensor.Tensor, given []int) ([]int, []float32) {
	if g.unit == nil {
		return pick(fetched, given)
	}
	n := fetched.Shape[0]
	per := tensor.Size(fetched.Shape[1:])
	vals := make([]float32, n)
	for i := 0; i < n; i++ {
		row := fetched.Data[i*per : (i+1)*per]
		if m := g.unit.pick; m != nil {
			best := float32(math.Inf(-1))
			for p, v := range row {
				if m.Data[p] != 0 && v > best {
					best = v
				}
			}
			vals[i] = best
			continue
		}
		var s float64
		for p, v := range row {
			if w := g.unit.seed.Data[p]; w != 0 {
				s += float64(w) * float64(v)
			}
		}
		vals[i] = float32(s)
	}
	return nil, vals
}

// CheckTarget checks a target against a model (its layer, channel,
// position and direction, or its classes and score tensor) without running
// a method; x is one image, which gives the shape of a layer the graph
// leaves open.
func CheckTarget(m Model, t Target, x *tensor.Tensor) error {
	_, err := resolve("target", m, t, x)
	return err
}

// classOnly refuses a unit target for a method that explains classes only.
func (g goal) classOnly(method string) error {
	if g.unit != nil {
		return fmt.Errorf("methods: %s explains a class, not the unit %s; unit targets work with %s", method, g.unit.u, strings.Join(unitMethods, ", "))
	}
	return nil
}

// unitMethods lists the methods that take unit targets.
var unitMethods = []string{"gradient", "smoothgrad", "squaregrad", "vargrad", "gradient-x-input", "integrated-gradients", "deconvnet", "guided-backprop", "gradcam", "guided-gradcam", "layercam", "hirescam", "xgradcam", "occlusion"}

// UnitMethods lists the methods that take unit targets (Target.Unit).
func UnitMethods() []string { return slices.Clone(unitMethods) }

func ints64(v []int) []int64 {
	out := make([]int64, len(v))
	for i, x := range v {
		out[i] = int64(x)
	}
	return out
}

// repeatRow repeats a [1, ...] tensor n times.
func repeatRow(t *tensor.Tensor, n int) *tensor.Tensor {
	out := tensor.New(append([]int{n}, t.Shape[1:]...)...)
	per := len(t.Data)
	for i := 0; i < n; i++ {
		copy(out.Data[i*per:], t.Data)
	}
	return out
}

// resolveUnit checks a unit against its layer and builds its seed or pick.
func resolveUnit(method string, m Model, u Unit, x *tensor.Tensor) (*unitGoal, error) {
	l, err := m.Layer(u.Layer)
	if err != nil {
		return nil, fmt.Errorf("methods: %s: target %s: %w", method, u, err)
	}
	s := m.Shape(l.Output)
	if len(s) < 2 {
		return nil, fmt.Errorf("methods: %s: target %s: layer %s has output shape %v; a unit needs [N,…,C]", method, u, l.Name, s)
	}
	if slices.Contains(s[1:], -1) && x != nil && len(x.Shape) > 0 && x.Shape[0] > 0 {
		// The graph leaves an axis open (the tokens of a dense layer
		// applied to a sequence): one image's forward pass gives it.
		res, err := m.Run(context.Background(), x.Slice(0, 1), tfgraph.Query{Fetch: []string{l.Output}})
		if err != nil {
			return nil, fmt.Errorf("methods: %s: target %s: %w", method, u, err)
		}
		if got := res.Fetched[0].Shape; len(got) == len(s) {
			s = append([]int64{-1}, ints64(got[1:])...)
		}
	}
	dims := make([]int, len(s))
	dims[0] = 1
	for i, d := range s[1:] {
		if d < 1 {
			return nil, fmt.Errorf("methods: %s: target %s: layer %s has output shape %v, unknown along axis %d; a unit needs a static shape", method, u, l.Name, s, i+1)
		}
		dims[i+1] = int(d)
	}
	c := dims[len(dims)-1]
	pos := dims[1 : len(dims)-1] // the position axes
	npos := 1
	for _, d := range pos {
		npos *= d
	}
	red := u.Reduce
	if red == "" {
		red = "max"
		if u.Direction != nil {
			red = "mean"
		}
	}
	switch red {
	case "max", "mean", "at":
	default:
		return nil, fmt.Errorf("methods: %s: target %s: reduction %q; want max, mean or at", method, u, u.Reduce)
	}
	if u.Direction != nil {
		if len(u.Direction) != c {
			return nil, fmt.Errorf("methods: %s: target %s: the direction has %d values; layer %s has %d channels (shape %v)", method, u, len(u.Direction), l.Name, c, s)
		}
		if red == "max" && len(pos) > 0 {
			return nil, fmt.Errorf("methods: %s: target %s: a direction is explained by its mean over the positions or at one position (@), not its max", method, u)
		}
	} else if u.Channel < 0 || u.Channel >= c {
		return nil, fmt.Errorf("methods: %s: target %s: channel %d is out of range: layer %s has %d channels (shape %v)", method, u, u.Channel, l.Name, c, s)
	}
	at := -1 // the position index of "at"
	if red == "at" {
		if len(u.At) != len(pos) {
			if len(pos) == 0 {
				return nil, fmt.Errorf("methods: %s: target %s: layer %s (shape %v) has no positions; name the neuron without @", method, u, l.Name, s)
			}
			return nil, fmt.Errorf("methods: %s: target %s: the position has %d indices; layer %s (shape %v) has %d position axes", method, u, len(u.At), l.Name, s, len(pos))
		}
		at = 0
		for i, a := range u.At {
			if a < 0 || a >= pos[i] {
				return nil, fmt.Errorf("methods: %s: target %s: position index %d is %d, out of range [0,%d) of layer %s (shape %v)", method, u, i, a, pos[i], l.Name, s)
			}
			at = at*pos[i] + a
		}
	}
	ug := &unitGoal{u: u, layer: l}
	t := tensor.New(dims...)
	if red == "max" && len(pos) > 0 {
		for p := 0; p < npos; p++ {
			t.Data[p*c+u.Channel] = 1
		}
		ug.pick = t
		return ug, nil
	}
	w := float32(1)
	if red == "mean" {
		w = 1 / float32(npos)
	}
	for p := 0; p < npos; p++ {
		if at >= 0 && p != at {
			continue
		}
		if u.Direction != nil {
			for k, v := range u.Direction {
				t.Data[p*c+k] = w * v
			}
		} else {
			t.Data[p*c+u.Channel] = w
		}
	}
	ug.seed = t
	return ug, nil
}
