package methods

import (
	"context"
	"sort"

	"github.com/saliencykit/saliency/internal/par"
	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// ScoreCAM is Score-CAM (Wang et al. 2020), a CAM without gradients. Each
// activation map A^k of the layer, upsampled to the input size and min-max
// normalised to H^k ∈ [0,1], masks the input; its weight is the increase of
// the class probability P_c (the softmax of the scores; for a multi-label
// model that ends in a sigmoid, the sigmoid of the class's logit) over a
// zero baseline,
//
//	α_k = P_c(S(I ⊙ H^k)) − P_c(S(0)),   M = ReLU(Σ_k α_k A^k),
//
// upsampled. A constant A^k gives H^k = 0 and weight 0. The masked inputs go
// through the model in chunks, K forward passes per image.
//
// Channels > 0 keeps only the Channels maps of each image with the largest
// variance over positions (Faster Score-CAM, tf-keras-vis' max_N); the
// others get weight 0, and each image costs Channels forward passes.
type ScoreCAM struct {
	// Logit weighs by the class logit instead of its probability.
	Logit bool `yaml:"logit"`
	// Channels is the number of activation maps kept per image (0: all).
	Channels int `yaml:"channels"`
	Chunking `yaml:",inline"`
}

var _ Method = (*ScoreCAM)(nil)

func init() { Register("scorecam", func() Method { return &ScoreCAM{} }) }

// Name is "scorecam".
func (s *ScoreCAM) Name() string { return "scorecam" }

// Validate checks the options.
func (s *ScoreCAM) Validate() error {
	if s.Channels < 0 {
		return optionErr(s.Name(), []string{"channels"}, "channels must be ≥ 0, got %d", s.Channels)
	}
	return s.Chunking.validate(s.Name())
}

// kept lists the channels of image i that Score-CAM weighs: all, or the
// s.Channels of largest variance (ties to the lower index).
func (s *ScoreCAM) kept(a *tensor.Tensor, i int) []int {
	hw, kc := a.Shape[1]*a.Shape[2], a.Shape[3]
	all := make([]int, kc)
	for j := range all {
		all[j] = j
	}
	if s.Channels == 0 || s.Channels >= kc {
		return all
	}
	v := make([]float64, kc)
	for j := 0; j < kc; j++ {
		var sum, sq float64
		for p := 0; p < hw; p++ {
			x := float64(a.Data[(i*hw+p)*kc+j])
			sum += x
			sq += x * x
		}
		mean := sum / float64(hw)
		v[j] = sq/float64(hw) - mean*mean
	}
	sort.SliceStable(all, func(x, y int) bool { return v[all[x]] > v[all[y]] })
	keep := all[:s.Channels]
	sort.Ints(keep)
	return keep
}

// scoreCAMKeepBytes bounds the upsampled activation maps Score-CAM keeps
// between finding their ranges and masking the input with them; above it
// (ResNet50 at batch 8: 3.3 GB) each map is upsampled twice.
var scoreCAMKeepBytes int64 = 64 << 20

// Explain computes the maps.
func (s *ScoreCAM) Explain(ctx context.Context, m Model, b Batch, t Target) (*Maps, error) {
	name := s.Name()
	if t.Unit != nil {
		return nil, goal{unit: &unitGoal{u: *t.Unit}}.classOnly(name)
	}
	lo, err := layerPass(ctx, name, m, &b, t, false, false, s.Chunking)
	if err != nil {
		return nil, err
	}
	score, k, err := scoreTensor(name, m, t)
	if err != nil {
		return nil, err
	}
	a := lo.a
	n, h, w, kc := a.Shape[0], a.Shape[1], a.Shape[2], a.Shape[3]
	hh, ww, c := imageShape(b.X)
	per := hh * ww * c
	head := probabilityHead(m, score)
	value := func(row []float32, cls int) float64 {
		if s.Logit {
			return float64(row[cls])
		}
		return tensor.ClassProbability(row, cls, head)
	}
	// The examples: the zero baseline, then image i masked by channel j for
	// every channel that is not constant (each with the range of its
	// upsampled H^j).
	type example struct {
		i, j   int
		lo, hi float32
		up     []float32 // H^j of image i when kept from the first pass
	}
	// upsample writes H^j of image i into up, with lowK as scratch.
	upsample := func(i, j int, lowK, up []float32) {
		for p := 0; p < h*w; p++ {
			lowK[p] = a.Data[(i*h*w+p)*kc+j]
		}
		tensor.ResizeHWC(lowK, h, w, 1, up, hh, ww)
	}
	// The upsampled maps are kept for the masks when they fit in
	// scoreCAMKeepBytes (fmnist_vgg at batch 32: 6.4 MB), else made again.
	var kept []float32
	if int64(n)*int64(kc)*int64(hh*ww)*4 <= scoreCAMKeepBytes {
		kept = make([]float32, n*kc*hh*ww)
	}
	perImage := make([][]example, n)
	par.Spans(n, func(lo, hi int) {
		lowK, up := make([]float32, h*w), make([]float32, hh*ww)
		for i := lo; i < hi; i++ {
			for _, j := range s.kept(a, i) {
				dst := up
				if kept != nil {
					dst = kept[(i*kc+j)*hh*ww : (i*kc+j+1)*hh*ww]
				}
				upsample(i, j, lowK, dst)
				if mn, mx := (&tensor.Tensor{Data: dst}).Range(); mx > mn {
					e := example{i: i, j: j, lo: mn, hi: mx}
					if kept != nil {
						e.up = dst
					}
					perImage[i] = append(perImage[i], e)
				}
			}
		}
	})
	ex := []example{{i: -1}}
	for _, e := range perImage {
		ex = append(ex, e...)
	}
	alpha := make([]float64, n*kc)
	size := s.Chunking.forwardSize(m)
	buf := tensor.New(append([]int{min(size, len(ex))}, b.X.Shape[1:]...)...)
	var baseRow []float32
	cs := chunks(len(ex), size)
	for ci, ch := range cs {
		report(ctx, ci, len(cs))
		xc := buf.Slice(0, ch[1]-ch[0])
		par.Spans(ch[1]-ch[0], func(lo, hi int) {
			lowK, up := make([]float32, h*w), make([]float32, hh*ww)
			for e := ch[0] + lo; e < ch[0]+hi; e++ {
				dst := xc.Data[(e-ch[0])*per : (e-ch[0]+1)*per]
				if ex[e].i < 0 {
					clear(dst)
					continue
				}
				x := ex[e]
				u := x.up
				if u == nil {
					upsample(x.i, x.j, lowK, up)
					u = up
				}
				img := b.X.Data[x.i*per : (x.i+1)*per]
				for q := range dst {
					dst[q] = img[q] * ((u[q/c] - x.lo) / (x.hi - x.lo))
				}
			}
		})
		res, err := m.Run(ctx, xc, tfgraph.Query{Fetch: []string{score}})
		if err != nil {
			return nil, notApplicable(name, err)
		}
		out := res.Fetched[0]
		for e := ch[0]; e < ch[1]; e++ {
			row := out.Data[(e-ch[0])*k : (e-ch[0]+1)*k]
			if ex[e].i < 0 {
				baseRow = append([]float32(nil), row...)
				continue
			}
			alpha[ex[e].i*kc+ex[e].j] = value(row, lo.classes[ex[e].i])
		}
	}
	for _, x := range ex[1:] {
		alpha[x.i*kc+x.j] -= value(baseRow, lo.classes[x.i])
	}
	return camMaps(name, b.X, weighted(a, alpha, true), lo, false)
}
