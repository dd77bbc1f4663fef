//go:build cgo

package tfgraph

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/saliencykit/saliency/tensor"
)

// InputMap is the per-channel affine map y = Scale·x + Offset that a model
// applies to its input before anything else: a Keras Rescaling layer
// (MobileNetV3, EfficientNet and ConvNeXt take pixels in 0..255 and rescale
// them themselves), a Normalization layer, or the arithmetic of a
// preprocessing function built into the model, after a resize or crop if
// there is one (Keras' Resizing, CenterCrop). It says what input range the
// model was made for, which callers must not assume.
type InputMap struct {
	// Layers are the layers whose ops make the map (e.g. ["rescaling"],
	// ["rescaling", "normalization"]); Ops the op types, in order.
	Layers, Ops []string
	// Scale and Offset are per channel (one value for a grayscale input).
	Scale, Offset []float64
	// Output is the flat tensor the map ends at.
	Output string
}

// affineOps may make an input map: element-wise ops whose other operand
// does not depend on the input.
var affineOps = map[string]bool{"Mul": true, "RealDiv": true, "Div": true, "Sub": true, "AddV2": true, "Add": true, "BiasAdd": true}

// keepsConstants are ops that may come before the map and take a constant
// image to the same constant (resizes and crops), their other inputs not
// depending on the image.
var keepsConstants = map[string]bool{"ResizeBilinear": true, "ResizeNearestNeighbor": true, "ResizeBicubic": true,
	"ResizeArea": true, "Slice": true, "StridedSlice": true, "ReverseV2": true}

// InputMap finds the affine map at the model's input (see InputMap), or nil
// when the input goes straight into other ops. The map is measured: the
// flat graph is run on constant images and the result checked to be affine
// and the same at every pixel.
func (fl *Flat) InputMap() (*InputMap, error) {
	input := nodeOf(fl.inputName())
	consumers := consumersOf(fl.order)
	// The descendants of the input: an operand among them is not a constant.
	dep := map[string]bool{input: true}
	for _, n := range fl.order {
		for _, in := range n.GetInput() {
			if dep[nodeOf(in)] {
				dep[n.GetName()] = true
				break
			}
		}
	}
	im := &InputMap{}
	at, affine := input, false
	for {
		cs := consumers[at]
		if p, ok := fl.channelShuffle(at, cs, consumers, dep); ok {
			// The channels taken one by one and stacked again (Keras'
			// caffe-mode preprocess_input: RGB to BGR): a gray image, as
			// the map is measured with, stays the same.
			im.Ops = append(im.Ops, fl.nodes[cs[0]].GetOp(), fl.nodes[p].GetOp())
			at = p
			continue
		}
		if len(cs) != 1 {
			break
		}
		n := fl.nodes[cs[0]]
		op := n.GetOp()
		ok := op == "Identity" || (op == "Cast" && fl.floatOutput(n.GetName()))
		// The Squeeze that feeds a signature input without a channel axis
		// (channelInput): the map is looked for behind it.
		ok = ok || (op == "Squeeze" && at == input && fl.model.channelAdded)
		if keepsConstants[op] && nodeOf(n.GetInput()[0]) == at {
			// A resize or crop before the rescaling (Keras' Resizing,
			// CenterCrop): a constant image stays the same constant.
			ok = true
			for _, in := range n.GetInput()[1:] {
				ok = ok && !dep[nodeOf(in)]
			}
		}
		if affineOps[op] && len(n.GetInput()) == 2 {
			other := n.GetInput()[0]
			if nodeOf(other) == at {
				other = n.GetInput()[1]
			}
			// x − c and x / c, not c − x and c / x: those are affine or
			// not, but rare; stop there.
			first := nodeOf(n.GetInput()[0]) == at
			ok = !dep[nodeOf(other)] && (first || op == "Mul" || op == "AddV2" || op == "Add")
			affine = affine || ok
		}
		if !ok {
			break
		}
		im.Ops = append(im.Ops, op)
		if l := fl.layerOf(n.GetName()); l != "none" && (len(im.Layers) == 0 || im.Layers[len(im.Layers)-1] != l) {
			im.Layers = append(im.Layers, l)
		}
		at = n.GetName()
	}
	if !affine {
		return nil, nil
	}
	im.Output = at
	shape := fl.Shape(fl.inputName())
	if len(shape) != 4 {
		return nil, nil
	}
	dims := make([]int, 4)
	for i, d := range shape {
		dims[i] = int(max(d, 1))
	}
	dims[0] = 3
	c := dims[3]
	x := tensor.New(dims...)
	per := len(x.Data) / 3
	for i := per; i < 2*per; i++ {
		x.Data[i] = 1
	}
	for i := 2 * per; i < 3*per; i++ {
		x.Data[i] = 255
	}
	res, err := fl.Run(context.Background(), x, Query{Fetch: []string{at}})
	if err != nil {
		return nil, fmt.Errorf("tfgraph: %s: measuring the input map: %w", fl.model.Dir, err)
	}
	y := res.Fetched[0]
	if fl.model.channelAdded && len(y.Shape) == 3 {
		y = &tensor.Tensor{Shape: []int{y.Shape[0], y.Shape[1], y.Shape[2], 1}, Data: y.Data}
	}
	if len(y.Shape) != 4 || y.Shape[0] != 3 || y.Shape[3] != c {
		return nil, nil // not per channel after all
	}
	perY := len(y.Data) / 3
	im.Scale, im.Offset = make([]float64, c), make([]float64, c)
	for ch := 0; ch < c; ch++ {
		b, a := float64(y.Data[ch]), float64(y.Data[perY+ch])-float64(y.Data[ch])
		im.Scale[ch], im.Offset[ch] = a, b
		for i := ch; i < perY; i += c {
			for k, v := range []float64{0, 1, 255} {
				got, want := float64(y.Data[k*perY+i]), a*v+b
				if math.Abs(got-want) > 1e-4*max(math.Abs(want), math.Abs(a)*255, 1e-6) {
					return nil, nil // not affine, or not the same at every pixel
				}
			}
		}
	}
	return im, nil
}

// channelShuffle says whether the consumers cs of node at are slices of it
// (StridedSlice or Slice, their other inputs constant) that one Pack or
// ConcatV2 stacks again and nothing else reads, and returns that node: the
// channels reordered, as x[..., ::-1] written channel by channel does.
func (fl *Flat) channelShuffle(at string, cs []string, consumers map[string][]string, dep map[string]bool) (string, bool) {
	if len(cs) < 2 {
		return "", false
	}
	p := ""
	for _, c := range cs {
		n := fl.nodes[c]
		if op := n.GetOp(); (op != "StridedSlice" && op != "Slice") || nodeOf(n.GetInput()[0]) != at {
			return "", false
		}
		for _, in := range n.GetInput()[1:] {
			if dep[nodeOf(in)] {
				return "", false
			}
		}
		next := consumers[c]
		if len(next) != 1 || (p != "" && next[0] != p) {
			return "", false
		}
		p = next[0]
	}
	pn := fl.nodes[p]
	ins := pn.GetInput()
	switch pn.GetOp() {
	case "Pack":
	case "ConcatV2":
		ins = ins[:len(ins)-1]
	default:
		return "", false
	}
	if len(ins) != len(cs) {
		return "", false
	}
	for _, in := range ins {
		if !slices.Contains(cs, nodeOf(in)) {
			return "", false
		}
	}
	return p, true
}

// String describes the map, e.g. "layer rescaling: x·0.00392 + 0".
func (im *InputMap) String() string {
	var parts []string
	same := true
	for ch := range im.Scale {
		same = same && im.Scale[ch] == im.Scale[0] && im.Offset[ch] == im.Offset[0]
	}
	for ch := range im.Scale {
		if same && ch > 0 {
			break
		}
		p := fmt.Sprintf("%.4g·x", im.Scale[ch])
		if im.Offset[ch] != 0 {
			p += fmt.Sprintf(" %+.4g", im.Offset[ch])
		}
		parts = append(parts, p)
	}
	if !same {
		return fmt.Sprintf("%s: y = [%s] per channel", im.where(), strings.Join(parts, ", "))
	}
	return fmt.Sprintf("%s: y = %s", im.where(), parts[0])
}

func (im *InputMap) where() string {
	switch len(im.Layers) {
	case 0:
		return "ops " + strings.Join(im.Ops, ", ")
	case 1:
		return "layer " + im.Layers[0]
	}
	return "layers " + strings.Join(im.Layers, ", ")
}
