package methods

import (
	"context"
	"fmt"
	"math"

	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// Occlusion slides a Patch×Patch square of a fill value over the image with
// the given Stride (Zeiler & Fergus 2013) and records the drop of the class
// score, S_c(I) − S_c(I with the patch filled). Each pixel's value is the mean
// drop over the patches that cover it; the map is signed (a positive value:
// hiding the pixel lowers the score). Windows start at 0, Stride, 2·Stride, …
// and one more is put at the far edge when the last stops short, so every
// pixel is covered. The occluded images go through the model in chunks.
type Occlusion struct {
	// Patch is the side of the square in pixels (default a seventh of the
	// smaller image side: 4 on 28×28, 32 on 224×224).
	Patch int `yaml:"patch"`
	// Stride is the step between windows (default half the patch).
	Stride int `yaml:"stride"`
	// Fill is the value of the occluded pixels in model-input units
	// (default: a black pixel).
	Fill     *float64 `yaml:"fill"`
	Chunking `yaml:",inline"`
}

var _ Method = (*Occlusion)(nil)

func init() { Register("occlusion", func() Method { return &Occlusion{} }) }

// Name is "occlusion".
func (o *Occlusion) Name() string { return "occlusion" }

// Validate checks the options.
func (o *Occlusion) Validate() error {
	if o.Patch < 0 || o.Stride < 0 {
		return optionErr(o.Name(), atFault([]string{"patch", "stride"}, o.Patch < 0, o.Stride < 0), "patch and stride must be ≥ 1, got %d and %d", o.Patch, o.Stride)
	}
	if o.Fill != nil && (math.IsNaN(*o.Fill) || math.IsInf(*o.Fill, 0)) {
		return optionErr(o.Name(), []string{"fill"}, "fill must be finite, got %g", *o.Fill)
	}
	return o.Chunking.validate(o.Name())
}

// starts lists the window offsets along a side of n pixels.
func starts(n, patch, stride int) []int {
	var s []int
	for y := 0; y+patch <= n; y += stride {
		s = append(s, y)
	}
	if s[len(s)-1]+patch < n {
		s = append(s, n-patch)
	}
	return s
}

// Explain computes the maps.
func (o *Occlusion) Explain(ctx context.Context, m Model, b Batch, t Target) (*Maps, error) {
	name := o.Name()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	gl, err := setup(name, m, &b, t)
	if err != nil {
		return nil, err
	}
	n := b.X.Shape[0]
	h, w, c := imageShape(b.X)
	patch, stride := o.Patch, o.Stride
	if patch == 0 {
		patch = max(1, int(math.Round(float64(min(h, w))/7)))
	}
	if stride == 0 {
		stride = max(1, patch/2)
	}
	if patch > min(h, w) {
		return nil, fmt.Errorf("methods: occlusion: patch %d is larger than the image (%d×%d)", patch, h, w)
	}
	fill := b.Black
	if o.Fill != nil {
		fill = make([]float32, c)
		for i := range fill {
			fill[i] = float32(*o.Fill)
		}
	}
	classes, scores, err := predict(ctx, m, b.X, gl, t, o.Chunking)
	if err != nil {
		return nil, notApplicable(name, err)
	}
	ys, xs := starts(h, patch, stride), starts(w, patch, stride)
	nw := len(ys) * len(xs)
	per := h * w * c
	sum := tensor.New(n, h, w)
	cnt := make([]float32, h*w)
	for _, y0 := range ys {
		for _, x0 := range xs {
			for y := y0; y < y0+patch; y++ {
				for x := x0; x < x0+patch; x++ {
					cnt[y*w+x]++
				}
			}
		}
	}
	size := o.Chunking.forwardSize(m)
	total := n * nw
	buf := tensor.New(append([]int{min(size, total)}, b.X.Shape[1:]...)...)
	cs := chunks(total, size)
	for ci, ch := range cs {
		report(ctx, ci, len(cs))
		xc := buf.Slice(0, ch[1]-ch[0])
		for e := ch[0]; e < ch[1]; e++ {
			i, win := e/nw, e%nw
			y0, x0 := ys[win/len(xs)], xs[win%len(xs)]
			dst := xc.Data[(e-ch[0])*per : (e-ch[0]+1)*per]
			copy(dst, b.X.Data[i*per:(i+1)*per])
			for y := y0; y < y0+patch; y++ {
				for x := x0; x < x0+patch; x++ {
					copy(dst[(y*w+x)*c:(y*w+x+1)*c], fill)
				}
			}
		}
		res, err := m.Run(ctx, xc, tfgraph.Query{Fetch: []string{gl.score}})
		if err != nil {
			return nil, notApplicable(name, err)
		}
		var given []int // the class of each example (nil for a unit)
		if classes != nil {
			for e := ch[0]; e < ch[1]; e++ {
				given = append(given, classes[e/nw])
			}
		}
		_, occluded := gl.values(res.Fetched[0], given)
		for e := ch[0]; e < ch[1]; e++ {
			i, win := e/nw, e%nw
			y0, x0 := ys[win/len(xs)], xs[win%len(xs)]
			d := scores[i] - occluded[e-ch[0]]
			mp := sum.Data[i*h*w : (i+1)*h*w]
			for y := y0; y < y0+patch; y++ {
				for x := x0; x < x0+patch; x++ {
					mp[y*w+x] += d
				}
			}
		}
	}
	for i := range sum.Data {
		sum.Data[i] /= cnt[i%(h*w)]
	}
	return &Maps{Method: name, Map: sum, Signed: true, Classes: classes, Scores: scores}, nil
}
