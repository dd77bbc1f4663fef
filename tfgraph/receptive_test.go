package tfgraph_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/saliencykit/saliency/savedmodels"
	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// The receptive-field tests compare each field with what the model does:
// the plain gradient of a unit (all channels of one position summed) on the
// input is non-zero only at pixels the unit depends on, so its support must
// lie inside the unit's box. On plain convolution stacks the box is also
// tight: the union of the supports over a few images fills it, touching its
// four borders.

// rfTarget is a tensor whose field is checked, named for the messages.
type rfTarget struct{ name, tensor string }

// rfStats sums up the checks of one model.
type rfStats struct {
	tensors, global, units int
	off                    int // units off (or reading only padding) on every image
	// units whose boxes are smaller than the image, and those of them whose
	// supports (over the images) span the box exactly
	inner, spanned int
	// the largest extent (rows, columns) of a support and of a box, and the
	// smallest ratio of a support's extent to its (clipped) box's
	maxSupport, maxBox [2]int
	minFill            float64
}

func (s *rfStats) add(o rfStats) {
	s.tensors, s.global, s.units, s.off = s.tensors+o.tensors, s.global+o.global, s.units+o.units, s.off+o.off
	s.inner, s.spanned = s.inner+o.inner, s.spanned+o.spanned
	s.maxSupport = [2]int{max(s.maxSupport[0], o.maxSupport[0]), max(s.maxSupport[1], o.maxSupport[1])}
	s.maxBox = [2]int{max(s.maxBox[0], o.maxBox[0]), max(s.maxBox[1], o.maxBox[1])}
	s.minFill = min(s.minFill, o.minFill)
}

func (s rfStats) String() string {
	return fmt.Sprintf("%d tensors (%d global), %d units (%d off on every image); %d of %d units with boxes smaller than the image have supports spanning them; largest support %d×%d in boxes up to %d×%d; smallest support/box extent %.2f",
		s.tensors, s.global, s.units, s.off, s.spanned, s.inner, s.maxSupport[0], s.maxSupport[1], s.maxBox[0], s.maxBox[1], s.minFill)
}

// checkFields checks the fields of targets on images x (a few rows). With
// fill, the union of the supports of each unit over the images must equal
// its box (clipped to the image).
func checkFields(t *testing.T, fl *tfgraph.Flat, x *tensor.Tensor, targets []rfTarget, fill bool, seed uint64) rfStats {
	t.Helper()
	st := rfStats{minFill: 1}
	h, w := x.Shape[1], x.Shape[2]
	nimg := x.Shape[0]
	rng := rand.New(rand.NewPCG(seed, 7))
	for _, tg := range targets {
		f, err := fl.ReceptiveField(tg.tensor)
		if err != nil {
			t.Errorf("%s: %v", tg.name, err)
			continue
		}
		st.tensors++
		if f.Global {
			st.global++
			if b := f.Box(1, 1, h, w); b != (tfgraph.Box{Y1: h, X1: w}) {
				t.Errorf("%s: global field, box %+v", tg.name, b)
			}
			continue
		}
		out, err := fetch(fl, x.Slice(0, 1), tg.tensor)
		if err != nil {
			t.Errorf("%s: %v", tg.name, err)
			continue
		}
		shape := out[0].Shape
		if f.H.Axis >= len(shape) || f.W.Axis >= len(shape) {
			t.Errorf("%s: field axes %d, %d for shape %v", tg.name, f.H.Axis, f.W.Axis, shape)
			continue
		}
		units := [][2]int{{0, 0}, {0, f.W.Units - 1}, {f.H.Units - 1, 0}, {f.H.Units - 1, f.W.Units - 1}, {f.H.Units / 2, f.W.Units / 2}}
		for i := 0; i < 2; i++ {
			units = append(units, [2]int{rng.IntN(f.H.Units), rng.IntN(f.W.Units)})
		}
		slices.SortFunc(units, func(a, b [2]int) int { return (a[0]-b[0])*1_000_000 + a[1] - b[1] })
		units = slices.Compact(units)
		xb, seedT := rfBatch(x, shape, f, units)
		res, err := fl.Run(context.Background(), xb, tfgraph.Query{Grads: []tfgraph.Grad{{Start: tg.tensor, Seed: seedT}}})
		if err != nil {
			t.Errorf("%s: %v", tg.name, err)
			continue
		}
		g := res.Grads[0]
		act, err := fetch(fl, x, tg.tensor)
		if err != nil {
			t.Errorf("%s: %v", tg.name, err)
			continue
		}
		nominal := tfgraph.ReceptiveField{
			H: tfgraph.FieldAxis{Size: f.H.Size, Stride: f.H.Stride, Start: f.H.Start},
			W: tfgraph.FieldAxis{Size: f.W.Size, Stride: f.W.Stride, Start: f.W.Start},
		}
		var line []string
		for ui, u := range units {
			box := f.Box(u[0], u[1], h, w)
			if nb := nominal.Box(u[0], u[1], h, w); !box.Empty() && (box.Y0 < nb.Y0 || box.X0 < nb.X0 || box.Y1 > nb.Y1 || box.X1 > nb.X1) {
				t.Errorf("%s: unit (%d,%d): box %+v outside the nominal box %+v", tg.name, u[0], u[1], box, nb)
			}
			union := tfgraph.Box{Y0: h, X0: w}
			on := 0
			for i := 0; i < nimg; i++ {
				sup, outside := support(g.Item(ui*nimg+i), box)
				if outside != nil {
					t.Errorf("%s (field %v, start %g,%g): unit (%d,%d) of image %d depends on pixel %v outside its box %+v (support %+v)",
						tg.name, f, f.H.Start, f.W.Start, u[0], u[1], i, *outside, box, sup)
				}
				// A unit whose every channel is 0 on an image (a ReLU's
				// off state) passes no gradient there.
				if sup.Empty() || !active(act[0].Item(i), f, u) {
					continue
				}
				on++
				union = tfgraph.Box{Y0: min(union.Y0, sup.Y0), X0: min(union.X0, sup.X0), Y1: max(union.Y1, sup.Y1), X1: max(union.X1, sup.X1)}
			}
			st.units++
			if box.Empty() || on == 0 {
				line = append(line, fmt.Sprintf("(%d,%d) -", u[0], u[1]))
				st.off++
				continue
			}
			ey, ex := union.Y1-union.Y0, union.X1-union.X0
			by, bx := box.Y1-box.Y0, box.X1-box.X0
			st.maxSupport = [2]int{max(st.maxSupport[0], ey), max(st.maxSupport[1], ex)}
			st.maxBox = [2]int{max(st.maxBox[0], by), max(st.maxBox[1], bx)}
			st.minFill = min(st.minFill, float64(ey)/float64(by), float64(ex)/float64(bx))
			line = append(line, fmt.Sprintf("(%d,%d) %d×%d/%d×%d", u[0], u[1], ey, ex, by, bx))
			if by < h || bx < w {
				st.inner++
				if union == box {
					st.spanned++
				}
			}
			if fill && union != box {
				t.Errorf("%s (field %v): unit (%d,%d): the supports over %d images span %+v, not the box %+v", tg.name, f, u[0], u[1], on, union, box)
			}
		}
		t.Logf("%-28s %-14v support/box %s", tg.name, f, strings.Join(line, " "))
	}
	return st
}

// rfBatch repeats the images once per unit and seeds each row at its unit's
// position, over every channel, with weights 1 to 2 that differ between
// channels (equal weights would sum a LayerNorm's outputs, a constant).
func rfBatch(x *tensor.Tensor, shape []int, f tfgraph.ReceptiveField, units [][2]int) (*tensor.Tensor, *tensor.Tensor) {
	nimg := x.Shape[0]
	var rows []*tensor.Tensor
	for range units {
		for i := 0; i < nimg; i++ {
			rows = append(rows, x.Item(i))
		}
	}
	xb, _ := tensor.Stack(rows)
	seed := tensor.New(append([]int{len(rows)}, shape[1:]...)...)
	per := tensor.Size(shape[1:])
	idx := make([]int, len(shape)-1)
	for ui, u := range units {
		for j := 0; j < per; j++ {
			r := j
			for a := len(idx) - 1; a >= 0; a-- {
				idx[a] = r % shape[a+1]
				r /= shape[a+1]
			}
			hi, wi := idx[f.H.Axis-1], idx[f.W.Axis-1]
			ok := hi == u[0] && wi == u[1]
			if f.H.Axis == f.W.Axis {
				ok = hi == u[0]*f.W.Units+u[1]
			}
			if ok {
				for i := 0; i < nimg; i++ {
					seed.Data[(ui*nimg+i)*per+j] = 1 + float32(j%7)/7
				}
			}
		}
	}
	return xb, seed
}

// active says whether some channel of activation a (one image) is non-zero
// at unit u.
func active(a *tensor.Tensor, f tfgraph.ReceptiveField, u [2]int) bool {
	shape := a.Shape
	idx := make([]int, len(shape))
	for j, v := range a.Data {
		r := j
		for k := len(idx) - 1; k >= 0; k-- {
			idx[k] = r % shape[k]
			r /= shape[k]
		}
		hi, wi := idx[f.H.Axis-1], idx[f.W.Axis-1]
		at := hi == u[0] && wi == u[1]
		if f.H.Axis == f.W.Axis {
			at = hi == u[0]*f.W.Units+u[1]
		}
		if at && v != 0 {
			return true
		}
	}
	return false
}

// support is the bounding box of the pixels where the gradient g [H,W,C] is
// non-zero on some channel, and the first such pixel outside box (nil if
// none).
func support(g *tensor.Tensor, box tfgraph.Box) (tfgraph.Box, *[2]int) {
	h, w, c := g.Shape[0], g.Shape[1], g.Shape[2]
	sup := tfgraph.Box{Y0: h, X0: w}
	var outside *[2]int
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			nz := false
			for k := 0; k < c; k++ {
				nz = nz || g.Data[(y*w+x)*c+k] != 0
			}
			if !nz {
				continue
			}
			sup = tfgraph.Box{Y0: min(sup.Y0, y), X0: min(sup.X0, x), Y1: max(sup.Y1, y+1), X1: max(sup.X1, x+1)}
			if outside == nil && (y < box.Y0 || y >= box.Y1 || x < box.X0 || x >= box.X1) {
				outside = &[2]int{y, x}
			}
		}
	}
	return sup, outside
}

// layerTargets are the layers of fl (each output once).
func layerTargets(fl *tfgraph.Flat) []rfTarget {
	var out []rfTarget
	seen := map[string]bool{}
	for _, l := range fl.Layers() {
		if l.Alias == "" && !seen[l.Output] {
			seen[l.Output] = true
			out = append(out, rfTarget{l.Name, l.Output})
		}
	}
	return out
}

// plainStack says whether a layer only convolves, pools and applies ReLU.
func plainStack(l tfgraph.Layer) bool {
	for _, op := range l.Ops {
		switch op {
		case "Conv2D", "BiasAdd", "Relu", "MaxPool", "Reshape", "Squeeze":
		default:
			return false
		}
	}
	return true
}

// Every layer of every zoo model has a field; the plain gradient of every
// checked unit lies inside its box; on the convolution stacks of fmnist_vgg
// and fmnist_vgg_randlabels the supports fill the boxes.
func TestReceptiveFieldZoo(t *testing.T) {
	for _, name := range zooModels {
		t.Run(name, func(t *testing.T) {
			fl, g := loadFlat(t, name)
			x := g.Inputs.Slice(0, 3)
			var stack, rest []rfTarget
			for _, tg := range layerTargets(fl) {
				l, _ := fl.Layer(tg.name)
				if strings.HasPrefix(name, "fmnist_vgg") && plainStack(l) {
					stack = append(stack, tg)
				} else {
					rest = append(rest, tg)
				}
			}
			st := checkFields(t, fl, x, rest, false, 1)
			if len(stack) > 0 {
				s := checkFields(t, fl, x, stack, true, 2)
				t.Logf("convolution stack (supports fill the boxes): %v", s)
				st.add(s)
			}
			t.Logf("%s: %v", name, st)
			if st.tensors-st.global < 2 || st.units < 10 {
				t.Errorf("only %d local fields and %d units checked", st.tensors-st.global, st.units)
			}
		})
	}
}

// The zoo's expected fields, by hand: 3×3 SAME convolutions, 2×2 pools, a
// residual sum whose shortcut is a 1×1 stride-2 projection, and global heads.
func TestReceptiveFieldValues(t *testing.T) {
	cases := []struct {
		model, layer string
		size, stride float64
		start        float64
		global       bool
	}{
		{"fmnist_vgg", "conv1_1", 3, 1, -1, false},
		{"fmnist_vgg", "conv1_2", 5, 1, -2, false},
		{"fmnist_vgg", "pool1", 6, 2, -2, false},
		{"fmnist_vgg", "conv2_2", 14, 2, -6, false},
		{"fmnist_vgg", "pool2", 16, 4, -6, false},
		{"fmnist_vgg", "flatten", 0, 0, 0, true},
		{"fmnist_vgg", "fc1", 0, 0, 0, true},
		{"fmnist_resnet", "block2_proj", 7, 2, -3, false},
		{"fmnist_resnet", "block2_conv2", 13, 2, -5, false},
		{"fmnist_resnet", "block2_add", 13, 2, -5, false},
		{"fmnist_resnet", "block3_out", 25, 4, -9, false},
		{"fmnist_resnet", "gap", 0, 0, 0, true},
		{"fmnist_vit", "patch_embed", 4, 4, 0, false},
		{"fmnist_vit", "patches", 4, 4, 0, false},
		{"fmnist_vit", "block1_attn", 0, 0, 0, true},
	}
	flats := map[string]*tfgraph.Flat{}
	for _, c := range cases {
		fl := flats[c.model]
		if fl == nil {
			fl, _ = loadFlat(t, c.model)
			flats[c.model] = fl
		}
		l, err := fl.Layer(c.layer)
		if err != nil {
			t.Fatal(err)
		}
		f, err := fl.ReceptiveField(l.Output)
		if err != nil {
			t.Errorf("%s %s: %v", c.model, c.layer, err)
			continue
		}
		want := [3]float64{c.size, c.stride, c.start}
		got := func(a tfgraph.FieldAxis) [3]float64 { return [3]float64{a.Size, a.Stride, a.Start} }
		if f.Global != c.global || (!c.global && (got(f.H) != want || got(f.W) != want)) {
			t.Errorf("%s %s: field %+v, want size %g stride %g start %g global %v", c.model, c.layer, f, c.size, c.stride, c.start, c.global)
		}
	}
	// The patch tokens [N,49,64] keep the 7×7 grid on one axis.
	l, _ := flats["fmnist_vit"].Layer("patches")
	f, _ := flats["fmnist_vit"].ReceptiveField(l.Output)
	if f.H.Axis != 1 || f.W.Axis != 1 || f.H.Units != 7 || f.W.Units != 7 {
		t.Errorf("patches: axes %d, %d, units %d×%d; want tokens on axis 1, 7×7", f.H.Axis, f.W.Axis, f.H.Units, f.W.Units)
	}
}

// Models with the ops the zoo lacks: grouped convolutions, LayerNorm and a
// Dense layer on a map (Tensordot), a transposed convolution, UpSampling2D
// nearest and bilinear (edge: a Resizing layer in front), padding of every
// kind, dilated convolutions through SpaceToBatchND, image patches
// (ExtractImagePatches) and a pixel shuffle. Every layer (or every
// op, for tf.Modules) is checked.
func TestReceptiveFieldOps(t *testing.T) {
	type model struct {
		dir   string
		fill  bool // a plain convolution stack
		local int  // layers or tensors with a local field, at least
	}
	for _, m := range []model{
		{"testdata/keras_layers", false, 30}, {"testdata/conv_paddings", true, 12}, {"testdata/op_coverage", false, 10},
		{"edge/dilated_conv", false, 3}, {"edge/resize_rescaling_input", false, 7}, {"edge/prelu", false, 5},
		{"edge/lrn", false, 6}, {"edge/gelu_tanh", false, 5}, {"edge/patches_and_shuffle", false, 5},
		{"edge/math_ops", false, 6},
		{"edge/live_augmentation", false, 1}, // a random flip; the random rotation after it moves any pixel anywhere
		{"edge/lstm_unroll", false, 1},       // the rows reshaped; the recurrence mixes them
	} {
		t.Run(m.dir, func(t *testing.T) {
			dir := filepath.Join("..", "savedmodels", m.dir)
			mod, err := tfgraph.Load(dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer mod.Close()
			fl, err := mod.Flat()
			if err != nil {
				t.Fatal(err)
			}
			x, err := savedmodels.ReadNpy(filepath.Join(dir, "golden", "inputs.npy"))
			if err != nil {
				t.Fatal(err)
			}
			targets := layerTargets(fl)
			if strings.HasPrefix(m.dir, "testdata/") {
				targets = nil
				for _, n := range fl.FieldTensors() {
					targets = append(targets, rfTarget{n, n})
				}
			}
			st := checkFields(t, fl, x, targets, m.fill, 3)
			t.Logf("%s: %v", m.dir, st)
			if st.tensors-st.global < m.local {
				t.Errorf("%d local fields, want %d or more", st.tensors-st.global, m.local)
			}
		})
	}
}

// An op without a rule is refused by name, unless its input is already
// global; an input that is not an image is refused.
func TestReceptiveFieldRefusals(t *testing.T) {
	fl := checkedFlat(t, testdataModel(t, "no_rule"), tensor.New(1, 28, 28, 1), 1e-6)
	logits, _ := fl.Logits()
	_, err := fl.ReceptiveField(logits)
	var nr *tfgraph.NoRuleError
	if !errors.As(err, &nr) || nr.Op != "Cumsum" || nr.Rules != "receptive-field" || !strings.Contains(err.Error(), "no receptive-field rule for op Cumsum (node ") {
		t.Errorf("field through Cumsum: %v", err)
	}
	if _, err := fl.ReceptiveField("nope:0"); err == nil {
		t.Error("no error for an unknown tensor")
	}
	m := testdataModel(t, "not_image")
	fl, err = m.Flat()
	if err != nil {
		t.Fatal(err)
	}
	logits, _ = fl.Logits()
	if _, err := fl.ReceptiveField(logits); err == nil || !strings.Contains(err.Error(), "image input [N,H,W,C]") {
		t.Errorf("field on a feature-vector model: %v", err)
	}
}

// Box clips a unit's interval to the image and keeps fractional ends in.
func TestReceptiveFieldBox(t *testing.T) {
	f := tfgraph.ReceptiveField{
		H: tfgraph.FieldAxis{Size: 14, Stride: 2, Start: -6, Units: 14, Axis: 1},
		W: tfgraph.FieldAxis{Size: 2.5, Stride: 1.5, Start: -0.5, Units: 16, Axis: 2},
	}
	for _, c := range []struct {
		y, x int
		want tfgraph.Box
	}{
		{0, 0, tfgraph.Box{Y0: 0, X0: 0, Y1: 8, X1: 2}},
		{5, 1, tfgraph.Box{Y0: 4, X0: 1, Y1: 18, X1: 3}},
		{13, 15, tfgraph.Box{Y0: 20, X0: 22, Y1: 28, X1: 24}},
		{20, 30, tfgraph.Box{Y0: 28, X0: 24, Y1: 28, X1: 24}}, // past the image: empty
	} {
		if got := f.Box(c.y, c.x, 28, 24); got != c.want {
			t.Errorf("Box(%d,%d) = %+v, want %+v", c.y, c.x, got, c.want)
		}
	}
	if !f.Box(20, 30, 28, 24).Empty() || f.Box(0, 0, 28, 24).Empty() {
		t.Error("Empty")
	}
	if s := f.String(); s != "14×2.5 /2×1.5" {
		t.Errorf("String() = %q", s)
	}
	g := tfgraph.ReceptiveField{Global: true}
	if g.Box(3, 3, 28, 24) != (tfgraph.Box{Y1: 28, X1: 24}) || g.String() != "whole image" {
		t.Errorf("global: %+v %q", g.Box(3, 3, 28, 24), g)
	}
}
