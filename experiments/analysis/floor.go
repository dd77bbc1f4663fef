package analysis

import (
	"fmt"
	"math"

	"github.com/saliencykit/saliency/experiments/metrics"
	"github.com/saliencykit/saliency/experiments/stats"
	"github.com/saliencykit/saliency/tensor"
)

// The null floor of a similarity (docs/experiments.md, Null floors): a map
// with no model in it, |input| × half-normal noise (metrics.NullInputNoise
// of the image as shown, seeded with the plan's seed), compared with the
// original maps by the same measure. Gradient × Input and Integrated
// Gradients are 0 wherever the input is black, and so is this map: on
// Fashion-MNIST half the pixels tie at 0 in every map, and a rank measure
// scores a high similarity that the model has no part in. A method "barely
// changes" only when its similarity beats this floor by floorMargin
// (stats.CompareFloor); otherwise the verdict is AtNullFloor.

// floorMargin is the difference of means by which a similarity must beat
// the null floor (stats.CompareFloor's default).
const floorMargin = 0.05

// nullMaps are model mi's null maps [N,H,W], made once.
func (rd *runData) nullMaps(mi int) (*tensor.Tensor, error) {
	if rd.null == nil {
		rd.null = make([]*tensor.Tensor, len(rd.pf.Models))
	}
	if rd.null[mi] == nil {
		n, err := metrics.NullInputNoise(rd.display[mi], rd.pf.Seed, metrics.NullOptions{})
		if err != nil {
			return nil, fmt.Errorf("experiments: null map of %s: %w", rd.pf.Models[mi].Name, err)
		}
		rd.null[mi] = n
	}
	return rd.null[mi], nil
}

// nullScores are, per image, the metric between maps (model mi's maps of a
// method, [N,H,W]) and the null maps.
func (rd *runData) nullScores(mi int, maps *tensor.Tensor, metric string) ([]float64, error) {
	null, err := rd.nullMaps(mi)
	if err != nil {
		return nil, err
	}
	n, h, w := maps.Shape[0], maps.Shape[1], maps.Shape[2]
	if null.Shape[1] != h || null.Shape[2] != w {
		// Maps at another size than the input (none of the built-in
		// methods): no floor.
		out := make([]float64, n)
		for i := range out {
			out[i] = math.NaN()
		}
		return out, nil
	}
	out := make([]float64, n)
	for i := range n {
		v, err := metricDefs[metric].f(maps.Item(i).Data, null.Item(i).Data, h, w)
		if err != nil {
			return nil, fmt.Errorf("experiments: %s: %w", metric, err)
		}
		out[i] = v
	}
	return out, nil
}

// floor compares a similarity's per-image values against model mi's maps
// orig with the null floor's: the metric between orig and the null maps.
func (rd *runData) floor(mi int, orig *tensor.Tensor, vals []float64, metric string) (stats.Floor, error) {
	null, err := rd.nullScores(mi, orig, metric)
	if err != nil {
		return stats.Floor{}, err
	}
	return stats.CompareFloor(vals, null, stats.FloorOptions{Options: stats.Options{Resamples: bootstrapResamples, Seed: rd.pf.Seed}, Margin: floorMargin})
}

// foreground scores the metric between a and b (model mi's maps, [N,H,W])
// on the pixels where the image is not black (metrics.Foreground of the
// image as shown), image by image: the similarity without the pixels that
// tie at zero in every map of an input-times-gradient method.
func (rd *runData) foreground(mi int, a, b *tensor.Tensor, metric string) ([]float64, error) {
	d := rd.display[mi]
	n, h, w := a.Shape[0], a.Shape[1], a.Shape[2]
	c := d.Len() / d.Shape[0] / (h * w)
	out := make([]float64, n)
	if d.Shape[1] != h || d.Shape[2] != w || c < 1 {
		for i := range out {
			out[i] = math.NaN()
		}
		return out, nil
	}
	m := metrics.Measures[metric]
	for i := range n {
		mask, err := metrics.Foreground(d.Item(i).Data, make([]float32, c))
		if err != nil {
			return nil, err
		}
		r, err := m.Compare(a.Item(i).Data, b.Item(i).Data, h, w, mask)
		if err != nil {
			return nil, fmt.Errorf("experiments: %s on the foreground: %w", metric, err)
		}
		out[i] = r.Value
	}
	return out, nil
}

// zeroFraction is the mean over the images of the share of pixels that
// are exactly 0 in both maps.
func zeroFraction(a, b *tensor.Tensor) float64 {
	var s float64
	n := a.Shape[0]
	for i := range n {
		z, _ := metrics.ZeroFraction(a.Item(i).Data, b.Item(i).Data)
		s += z
	}
	return s / float64(n)
}

// independent says whether model mi's method ki gives input-independent
// maps of the original images (metrics.InputIndependence per predicted
// class), with a phrase for the report.
func (rd *runData) independent(mi, ki int) (bool, string, error) {
	maps := rd.maps[mi][0][ki]
	if maps == nil {
		return false, "", nil
	}
	n := maps.Shape[0]
	rows := make([][]float32, n)
	for i := range n {
		rows[i] = maps.Item(i).Data
	}
	res, err := metrics.InputIndependence(rows, rd.pf.Models[mi].Predicted, metrics.IndependenceOptions{})
	if err != nil {
		return false, "", err
	}
	if res.Verdict != metrics.InputIndependent && res.Verdict != metrics.PartlyIndependent {
		return false, "", nil
	}
	return true, fmt.Sprintf("%s: %d of %d pairs of images of the same class have identical maps (up to scale)", res.Verdict, res.NearIdentical, res.Pairs), nil
}
