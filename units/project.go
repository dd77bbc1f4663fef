package units

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// Projectors are the rule sets a projection can use, by name: DeconvNet
// (Zeiler & Fergus), guided backprop (Springenberg et al.) and the plain
// gradient.
var Projectors = map[string]*tfgraph.RuleSet{
	"deconvnet":       tfgraph.DeconvNet,
	"guided-backprop": tfgraph.Guided,
	"gradient":        tfgraph.Plain,
}

// ProjectorNames lists Projectors' names, the default first.
func ProjectorNames() []string { return []string{"deconvnet", "guided-backprop", "gradient"} }

// Projection is what one channel's top activations look like in the input.
type Projection struct {
	// Channel is the channel; Top its top activations (Scan.Top).
	Channel int
	Top     []Activation
	// Patches [k,h,w,C] are the display images cut to the receptive field
	// of each activation ([h,w] is the field's size, at most the image's);
	// where the field leaves the image they are zero.
	Patches *tensor.Tensor
	// Maps [k,h,w,C] are the projections, cut likewise: the backward signal
	// on the input of the activation alone, every other activation of the
	// layer set to zero.
	Maps *tensor.Tensor
}

// PatchSize is the size [h,w] of the patches of a scan of images of h×w
// pixels: the receptive field's, at most the image's.
func (s *Scan) PatchSize(h, w int) (int, int) {
	if s.Field.Global {
		return h, w
	}
	return min(h, int(math.Ceil(s.Field.H.Size-1e-6))), min(w, int(math.Ceil(s.Field.W.Size-1e-6)))
}

// Project projects the top activations of channel index i of the scan (its
// channel s.Channels[i]) back to the input under the named rule set
// (ProjectorNames), in one session run: the seed on the layer is the one-hot
// of each image's own activation. The activation found again in the run
// must be the scanned one (a model with random ops at inference would not
// give it back, and is refused).
func Project(ctx context.Context, fl *tfgraph.Flat, src Source, s *Scan, i int, projector string) (*Projection, error) {
	rules, ok := Projectors[projector]
	if !ok {
		return nil, fmt.Errorf("units: unknown projection %q; want one of %v", projector, ProjectorNames())
	}
	if i < 0 || i >= len(s.Channels) {
		return nil, fmt.Errorf("units: channel index %d of a scan of %d channels", i, len(s.Channels))
	}
	top := s.Top[i]
	ch := s.Channels[i]
	p := &Projection{Channel: ch, Top: slices.Clone(top)}
	if len(top) == 0 {
		return p, nil
	}
	var xs, ds []*tensor.Tensor
	for _, a := range top {
		x, d, err := src.Batch(a.Image, a.Image+1)
		if err != nil {
			return nil, err
		}
		xs, ds = append(xs, x), append(ds, d)
	}
	x, err := tensor.Concat(xs...)
	if err != nil {
		return nil, err
	}
	disp, err := tensor.Concat(ds...)
	if err != nil {
		return nil, err
	}
	k := len(top)
	c := s.Shape[len(s.Shape)-1]
	pos := s.Shape[:len(s.Shape)-1]
	per := tensor.Size(s.Shape)
	seed := tensor.New(append([]int{k}, s.Shape...)...)
	flat := make([]int, k) // the activation's index in a row of the layer
	for j, a := range top {
		idx := 0
		for d, v := range a.At {
			idx = idx*pos[d] + v
		}
		flat[j] = idx*c + ch
		seed.Data[j*per+flat[j]] = 1
	}
	res, err := fl.Run(ctx, x, tfgraph.Query{Fetch: []string{s.Tensor}, Grads: []tfgraph.Grad{{Start: s.Tensor, Rules: rules, Seed: seed}}})
	if err != nil {
		return nil, err
	}
	for j, a := range top {
		got := res.Fetched[0].Data[j*per+flat[j]]
		if math.Abs(float64(got-a.Value)) > 1e-4*math.Max(1, math.Abs(float64(a.Value))) {
			return nil, fmt.Errorf("units: layer %s channel %d on image %s: the activation is %v now and was %v in the scan; the model is not deterministic (random ops at inference?)", s.Layer, ch, a.ID, got, a.Value)
		}
	}
	h, w, cin := x.Shape[1], x.Shape[2], x.Shape[3]
	ph, pw := s.PatchSize(h, w)
	p.Patches = tensor.New(k, ph, pw, cin)
	p.Maps = tensor.New(k, ph, pw, cin)
	for j, a := range top {
		cut(p.Patches, j, disp, a.Box, ph, pw)
		cut(p.Maps, j, res.Grads[0], a.Box, ph, pw)
	}
	return p, nil
}

// cut copies box b of image j of src [k,H,W,C] into dst[j] [k,ph,pw,C]. A box
// clipped by the image's border sits on the side the field leaves: a box
// that starts at row 0 (clipped above) ends at the patch's last row.
func cut(dst *tensor.Tensor, j int, src *tensor.Tensor, b tfgraph.Box, ph, pw int) {
	h, w, c := src.Shape[1], src.Shape[2], src.Shape[3]
	bh, bw := b.Y1-b.Y0, b.X1-b.X0
	oy, ox := 0, 0
	if b.Y0 == 0 && b.Y1 < h {
		oy = ph - bh
	}
	if b.X0 == 0 && b.X1 < w {
		ox = pw - bw
	}
	oy, ox = max(0, min(oy, ph-bh)), max(0, min(ox, pw-bw))
	for y := 0; y < min(bh, ph); y++ {
		for x := 0; x < min(bw, pw); x++ {
			s := ((j*h+b.Y0+y)*w + b.X0 + x) * c
			d := ((j*ph+oy+y)*pw + ox + x) * c
			copy(dst.Data[d:d+c], src.Data[s:s+c])
		}
	}
}
