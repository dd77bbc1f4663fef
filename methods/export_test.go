package methods

import "github.com/saliencykit/saliency/tensor"

// GuidedIGWalk walks Guided IG's path rule (the one Explain follows) from
// base to in in steps steps, asking grad for the gradient at each point
// (float32, as the model sees it). sums are the float64 (Σx, Σx²) of every
// point asked at, summed as numpy sums; attr is the attribution.
func GuidedIGWalk(in, base []float32, steps int, frac, maxDist float64, grad func(step int, x []float32) ([]float32, error)) (attr []float64, sums [][2]float64, err error) {
	p := newGuidedPath(in, base, frac, maxDist)
	x := make([]float32, len(in))
	sq := make([]float64, len(in))
	for s := range steps {
		for q, v := range p.x {
			x[q], sq[q] = float32(v), v*v
		}
		sums = append(sums, [2]float64{tensor.PairwiseSum(p.x), tensor.PairwiseSum(sq)})
		g, err := grad(s, x)
		if err != nil {
			return nil, nil, err
		}
		if err := p.step(s, steps, g); err != nil {
			return nil, nil, err
		}
	}
	return p.attr, sums, nil
}

// SetScoreCAMKeepBytes sets the bound on the upsampled maps Score-CAM keeps
// between its two passes and returns the old one.
func SetScoreCAMKeepBytes(b int64) int64 {
	old := scoreCAMKeepBytes
	scoreCAMKeepBytes = b
	return old
}
