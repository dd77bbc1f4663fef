// Package methodstest is a small convolutional network in pure Go that
// implements methods.Model, for tests of methods without TensorFlow (it
// builds with CGO_ENABLED=0). Its forward and backward passes are exact
// (float64 inside, float32 in and out), its weights are fixed, and it answers
// any tfgraph.Query of its tensors: fetches of its layers' outputs, weights,
// logits and probabilities, and backward signals from the logits, the
// probabilities or a layer (seeded, picked, or the predicted class) to the
// input or to a layer, under the rule sets Plain, Guided and DeconvNet.
// Oracle computes the same signals another way, from finite differences.
package methodstest

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// Sizes of the net: input [N,8,8,2], five classes.
const (
	Height  = 8
	Width   = 8
	Chans   = 2
	Classes = 5
)

// Net is the network
//
//	conv1    3×3 convolution, 2→4 channels, SAME, bias          [N,8,8,4]
//	pool1    2×2 max pooling                                    [N,4,4,4]
//	relu1    ReLU                                               [N,4,4,4]
//	conv2    3×3 convolution, 4→6 channels, SAME, bias, ReLU    [N,4,4,6]  (the CAM layer)
//	pool2    2×2 average pooling                                [N,2,2,6]
//	flatten                                                     [N,24]
//	dense    the logits                                         [N,5]
//	softmax                                                     [N,5]
//
// or, made by NewGAP, with global average pooling (layer gap, [N,6]) in
// place of pool2 and flatten: the head CAM needs. The ReLU follows the max
// pooling (the same function as before it) so that no window holds tied
// zeros, where a backward pass takes a convention (the first maximum) that
// finite differences cannot check. Flat tensors are named as in a
// TensorFlow graph: "conv2/Relu:0" is conv2's output, "dense/BiasAdd:0" the
// logits, "dense/kernel:0" a weight.
type Net struct {
	// PerImage, when set, is what BytesPerImage reports (to test chunking
	// under a memory budget).
	PerImage int64

	gap     bool
	ops     []op
	index   map[string]int // flat tensor → 0 (the input) or 1 + its op
	layers  []tfgraph.Layer
	weights map[string]*tensor.Tensor
	runs    atomic.Int64
}

// Input is the name of the input tensor.
const Input = "input:0"

// op is one node: its output tensor, its layer, the per-example shape of its
// output, and its forward and backward passes on one example.
type op struct {
	name, layer string
	kind        string // Conv2D, Relu, MaxPool, AvgPool, Mean, Reshape, Dense, Softmax
	shape       []int
	forward     func(in []float64) []float64
	// backward is the signal on the input from the signal dy on the output,
	// under the rule set rules (which only the ReLU reads).
	backward func(in, out, dy []float64, rules string) []float64
}

// New returns the net with average pooling and a dense layer.
func New() *Net { return build(false) }

// NewGAP returns the net with global average pooling before the dense
// layer (a GAP head).
func NewGAP() *Net { return build(true) }

func build(gap bool) *Net {
	n := &Net{gap: gap, index: map[string]int{Input: 0}, weights: map[string]*tensor.Tensor{}}
	r := splitmix(1)
	if gap {
		r = splitmix(2)
	}
	k1, b1 := n.param("conv1", []int{3, 3, Chans, 4}, &r, 0.05)
	k2, b2 := n.param("conv2", []int{3, 3, 4, 6}, &r, 0.05)
	feat := 24
	if gap {
		feat = 6
	}
	kd, bd := n.param("dense", []int{feat, Classes}, &r, 0)
	n.add("conv1", "conv1/BiasAdd", "Conv2D", []int{8, 8, 4}, conv(8, 8, Chans, 4, k1, b1))
	n.add("pool1", "pool1/MaxPool", "MaxPool", []int{4, 4, 4}, maxPool(8, 8, 4))
	n.add("relu1", "relu1/Relu", "Relu", []int{4, 4, 4}, relu())
	n.add("conv2", "conv2/BiasAdd", "Conv2D", []int{4, 4, 6}, conv(4, 4, 4, 6, k2, b2))
	n.add("conv2", "conv2/Relu", "Relu", []int{4, 4, 6}, relu())
	if gap {
		n.add("gap", "gap/Mean", "Mean", []int{6}, mean(4, 4, 6))
	} else {
		n.add("pool2", "pool2/AvgPool", "AvgPool", []int{2, 2, 6}, avgPool(4, 4, 6))
		n.add("flatten", "flatten/Reshape", "Reshape", []int{24}, reshape())
	}
	n.add("dense", "dense/BiasAdd", "Dense", []int{Classes}, dense(feat, Classes, kd, bd))
	n.add("softmax", "softmax/Softmax", "Softmax", []int{Classes}, softmax())
	return n
}

// passes are an op's forward and backward passes.
type passes struct {
	forward  func(in []float64) []float64
	backward func(in, out, dy []float64, rules string) []float64
}

func (n *Net) add(layer, name, kind string, shape []int, p passes) {
	n.ops = append(n.ops, op{name: name + ":0", layer: layer, kind: kind, shape: shape, forward: p.forward, backward: p.backward})
	n.index[name+":0"] = len(n.ops)
	if i := len(n.layers) - 1; i >= 0 && n.layers[i].Name == layer {
		n.layers[i].Output = name + ":0"
		n.layers[i].Ops = append(n.layers[i].Ops, kind)
		return
	}
	l := tfgraph.Layer{Name: layer, Output: name + ":0", Ops: []string{kind}}
	if _, ok := n.weights[layer+"/kernel:0"]; ok {
		l.Weights = []string{layer + "/kernel", layer + "/bias"}
	}
	n.layers = append(n.layers, l)
}

// param makes a layer's kernel (uniform, Glorot's range) and bias (bias
// everywhere), fixed by r.
func (n *Net) param(layer string, shape []int, r *splitmix, bias float64) (kernel, b []float64) {
	fanOut := shape[len(shape)-1]
	fanIn := tensor.Size(shape) / fanOut
	a := math.Sqrt(6 / float64(fanIn+fanOut))
	kernel = make([]float64, tensor.Size(shape))
	kt := tensor.New(shape...)
	for i := range kernel {
		kernel[i] = float64(float32(a * (2*r.float() - 1)))
		kt.Data[i] = float32(kernel[i])
	}
	b = make([]float64, fanOut)
	bt := tensor.New(fanOut)
	for i := range b {
		b[i] = bias
		bt.Data[i] = float32(bias)
	}
	n.weights[layer+"/kernel:0"] = kt
	n.weights[layer+"/bias:0"] = bt
	return kernel, b
}

// splitmix is SplitMix64: the weights are the same on every platform and
// Go version.
type splitmix uint64

func (s *splitmix) float() float64 {
	*s += 0x9e3779b97f4a7c15
	z := uint64(*s)
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	z ^= z >> 31
	return float64(z>>11) / (1 << 53)
}

// Images returns count images [count,8,8,2] with values in [0,1], fixed by
// seed.
func Images(count int, seed uint64) *tensor.Tensor {
	r := splitmix(seed*7919 + 3)
	x := tensor.New(count, Height, Width, Chans)
	for i := range x.Data {
		x.Data[i] = float32(r.float())
	}
	return x
}

// Runs is the number of Run calls (session runs) made on the net.
func (n *Net) Runs() int64 { return n.runs.Load() }

// Logits is "dense/BiasAdd:0".
func (n *Net) Logits() (string, bool) { return "dense/BiasAdd:0", true }

// Head is "softmax".
func (n *Net) Head() string { return "softmax" }

// Output is the softmax's output.
func (n *Net) Output() string { return "softmax/Softmax:0" }

// HeadOutput is Output: the net ends in its softmax.
func (n *Net) HeadOutput() string { return n.Output() }

// Layer finds a layer by name.
func (n *Net) Layer(name string) (tfgraph.Layer, error) {
	names := make([]string, len(n.layers))
	for i, l := range n.layers {
		if l.Name == name {
			return l, nil
		}
		names[i] = l.Name
	}
	return tfgraph.Layer{}, fmt.Errorf("methodstest: layer %q not found; layers: %s", name, strings.Join(names, ", "))
}

// CAMLayer is conv2.
func (n *Net) CAMLayer() (tfgraph.Layer, error) { return n.Layer("conv2") }

// TokenGrid fails: the net has no token layers.
func (n *Net) TokenGrid(l tfgraph.Layer, spec string) (tfgraph.Grid, error) {
	return tfgraph.Grid{}, fmt.Errorf("methodstest: layer %s has output shape %v; the net has no token layers", l.Name, n.Shape(l.Output))
}

// Attentions is nil: the net has no attention.
func (n *Net) Attentions() []tfgraph.Attention { return nil }

// GAPHead is conv2's global average pooling and the dense kernel, on the net
// of NewGAP; on New's a *tfgraph.NotApplicableError.
func (n *Net) GAPHead() (tfgraph.GAPHead, error) {
	if !n.gap {
		return tfgraph.GAPHead{}, &tfgraph.NotApplicableError{Model: "methodstest", Reason: "the logits are a dense layer of a flattened 2×2 average pooling, not of a global average pooling"}
	}
	return tfgraph.GAPHead{Features: "conv2/Relu:0", Layer: "conv2", Kernel: "dense/kernel:0"}, nil
}

// Shape is the static shape of a tensor (-1 for the batch), nil for an
// unknown name.
func (n *Net) Shape(t string) []int64 {
	var s []int
	switch i, ok := n.index[t]; {
	case ok && i == 0:
		s = []int{-1, Height, Width, Chans}
	case ok:
		s = append([]int{-1}, n.ops[i-1].shape...)
	default:
		w, ok := n.weights[t]
		if !ok {
			return nil
		}
		s = w.Shape
	}
	out := make([]int64, len(s))
	for i, d := range s {
		out[i] = int64(d)
	}
	return out
}

// BytesPerImage is PerImage, or the float32 activations of one example.
func (n *Net) BytesPerImage() int64 {
	if n.PerImage > 0 {
		return n.PerImage
	}
	b := int64(Height * Width * Chans)
	for _, o := range n.ops {
		b += int64(tensor.Size(o.shape))
	}
	return 4 * b
}

// Run performs q on the batch x [N,8,8,2]. A Grad's Start is the logits when
// "", else any tensor after its End ("": the input); its Rules are Plain
// (nil), Guided or DeconvNet, by name; Along (second order) is not
// supported.
func (n *Net) Run(ctx context.Context, x *tensor.Tensor, q tfgraph.Query) (*tfgraph.Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	n.runs.Add(1)
	acts, err := n.forward(x)
	if err != nil {
		return nil, err
	}
	res := &tfgraph.Result{}
	for _, name := range q.Fetch {
		t, err := n.fetch(acts, name)
		if err != nil {
			return nil, err
		}
		res.Fetched = append(res.Fetched, t)
	}
	for i, g := range q.Grads {
		t, err := n.grad(acts, g)
		if err != nil {
			return nil, fmt.Errorf("%w (grad %d)", err, i)
		}
		res.Grads = append(res.Grads, t)
	}
	return res, nil
}

// forward returns, for each example, the input and every op's output.
func (n *Net) forward(x *tensor.Tensor) ([][][]float64, error) {
	if x == nil || x.Check() != nil || !tensor.SameShape(x.Shape[1:], []int{Height, Width, Chans}) || len(x.Shape) != 4 {
		return nil, fmt.Errorf("methodstest: input of shape %v, want [N,%d,%d,%d]", shapeOf(x), Height, Width, Chans)
	}
	acts := make([][][]float64, x.Shape[0])
	for i := range acts {
		a := make([][]float64, len(n.ops)+1)
		a[0] = make([]float64, Height*Width*Chans)
		for j, v := range x.Item(i).Data {
			a[0][j] = float64(v)
		}
		for j, o := range n.ops {
			a[j+1] = o.forward(a[j])
		}
		acts[i] = a
	}
	return acts, nil
}

func shapeOf(x *tensor.Tensor) []int {
	if x == nil {
		return nil
	}
	return x.Shape
}

// fetch is a tensor of the batch, or a weight.
func (n *Net) fetch(acts [][][]float64, name string) (*tensor.Tensor, error) {
	if w, ok := n.weights[name]; ok {
		return w.Clone(), nil
	}
	i, ok := n.index[name]
	if !ok {
		return nil, fmt.Errorf("methodstest: no tensor %q; tensors: %s", name, strings.Join(n.tensors(), ", "))
	}
	return n.batch(acts, i, func(_ int, a [][]float64) []float64 { return a[i] }), nil
}

// tensors lists the tensors of the net.
func (n *Net) tensors() []string {
	out := []string{Input}
	for _, o := range n.ops {
		out = append(out, o.name)
	}
	for w := range n.weights {
		out = append(out, w)
	}
	slices.Sort(out[len(n.ops)+1:])
	return out
}

// batch stacks per-example values of tensor i as float32.
func (n *Net) batch(acts [][][]float64, i int, f func(e int, a [][]float64) []float64) *tensor.Tensor {
	shape := []int{Height, Width, Chans}
	if i > 0 {
		shape = n.ops[i-1].shape
	}
	t := tensor.New(append([]int{len(acts)}, shape...)...)
	per := tensor.Size(shape)
	for e, a := range acts {
		for j, v := range f(e, a) {
			t.Data[e*per+j] = float32(v)
		}
	}
	return t
}

// rulesName checks a rule set: the net has Plain, Guided and DeconvNet.
func rulesName(rs *tfgraph.RuleSet) (string, error) {
	name := rs.String()
	switch name {
	case tfgraph.Plain.Name, tfgraph.Guided.Name, tfgraph.DeconvNet.Name:
		return name, nil
	}
	return "", fmt.Errorf("methodstest: rule set %q: the pure-Go net has the rule sets %s, %s and %s only", name, tfgraph.Plain.Name, tfgraph.Guided.Name, tfgraph.DeconvNet.Name)
}

// ends resolves a Grad's start and end tensors.
func (n *Net) ends(g tfgraph.Grad) (start, end int, err error) {
	logits, _ := n.Logits()
	s := g.Start
	if s == "" {
		s = logits
	}
	start, ok := n.index[s]
	if !ok {
		return 0, 0, fmt.Errorf("methodstest: no tensor %q to start from; tensors: %s", s, strings.Join(n.tensors(), ", "))
	}
	if g.End != "" {
		if end, ok = n.index[g.End]; !ok {
			return 0, 0, fmt.Errorf("methodstest: no tensor %q to end at; tensors: %s", g.End, strings.Join(n.tensors(), ", "))
		}
	}
	if end >= start {
		return 0, 0, fmt.Errorf("methodstest: %s is not after %s: no backward path", s, g.End)
	}
	return start, end, nil
}

// grad computes one backward signal.
func (n *Net) grad(acts [][][]float64, g tfgraph.Grad) (*tensor.Tensor, error) {
	rules, err := rulesName(g.Rules)
	if err != nil {
		return nil, err
	}
	if g.Along != nil {
		return nil, fmt.Errorf("methodstest: second-order signals (Along) are not supported")
	}
	if g.Seed != nil && g.Pick != nil {
		return nil, fmt.Errorf("methodstest: a grad with both a seed and a pick")
	}
	start, end, err := n.ends(g)
	if err != nil {
		return nil, err
	}
	N := len(acts)
	per := tensor.Size(n.ops[start-1].shape)
	want := append([]int{N}, n.ops[start-1].shape...)
	if g.Seed != nil && (g.Seed.Check() != nil || !tensor.SameShape(g.Seed.Shape, want)) {
		return nil, fmt.Errorf("methodstest: seed of shape %v for %s, want %v", g.Seed.Shape, n.ops[start-1].name, want)
	}
	if g.Pick != nil && (g.Pick.Check() != nil || len(g.Pick.Shape) != len(want) || (g.Pick.Shape[0] != 1 && g.Pick.Shape[0] != N) || !tensor.SameShape(g.Pick.Shape[1:], want[1:])) {
		return nil, fmt.Errorf("methodstest: pick of shape %v for %s, want %v with 1 or %d rows", g.Pick.Shape, n.ops[start-1].name, want[1:], N)
	}
	return n.batch(acts, end, func(e int, a [][]float64) []float64 {
		dy := make([]float64, per)
		switch {
		case g.Seed != nil:
			for j, v := range g.Seed.Data[e*per : (e+1)*per] {
				dy[j] = float64(v)
			}
		default:
			var mask []float32
			if g.Pick != nil {
				mask = g.Pick.Data
				if g.Pick.Shape[0] > 1 {
					mask = mask[e*per : (e+1)*per]
				}
			}
			best := -1
			for j, v := range a[start] {
				if (mask == nil || mask[j] != 0) && (best < 0 || v > a[start][best]) {
					best = j
				}
			}
			if best >= 0 {
				dy[best] = 1
			}
		}
		for j := start; j > end; j-- {
			dy = n.ops[j-1].backward(a[j-1], a[j], dy, rules)
		}
		return dy
	}), nil
}

// Logits64 are the logits of each image, in float64.
func (n *Net) Logits64(x *tensor.Tensor) ([][]float64, error) {
	acts, err := n.forward(x)
	if err != nil {
		return nil, err
	}
	logits, _ := n.Logits()
	out := make([][]float64, len(acts))
	for i, a := range acts {
		out[i] = a[n.index[logits]]
	}
	return out, nil
}
