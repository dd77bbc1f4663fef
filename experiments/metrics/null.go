package metrics

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/saliencykit/saliency/tensor"
)

// Noise is the distribution of the noise of NullInputNoise.
type Noise string

const (
	// HalfNormal is |N(0, 1)|: |x|·|n| = |x·n| is the reviewer's |x·noise|
	// with Gaussian noise. The default.
	HalfNormal Noise = "half-normal"
	// Uniform is U[0, 1): math/rand/v2's Float64.
	Uniform Noise = "uniform"
)

// NullOptions are the settings of NullInputNoise; zero values take the
// defaults.
type NullOptions struct {
	// Noise is the noise's distribution; default HalfNormal.
	Noise Noise
	// Reduce is the reduction of the channels of a colour input; default
	// tensor.Sum, as Gradient × Input and Integrated Gradients (the terms
	// are ≥ 0, so Sum and AbsSum agree).
	Reduce tensor.Reduction
}

// NullInputNoise is the input-noise null map of a batch: |x| ⊙ n reduced
// over the channels, with n noise drawn per value (per pixel and channel)
// and independent of everything but the seed: Gradient × Input with the
// gradient replaced by noise. It is 0 wherever the input is 0, so it shares
// the zeros of Gradient × Input and Integrated Gradients (black baseline)
// and is the map a rank measure cannot tell from theirs at those pixels.
//
// x is the model's input (what Gradient × Input multiplies): [N,H,W,C]
// (a batch), [N,H,W] (single-channel images) or [H,W] (one image); the
// null maps are [N,H,W] ([H,W] for one image), one float32 per pixel per
// image as the methods' maps. Each value is float32(|x|·n) before the
// reduction. Image i of x (counted from 0) draws its noise from the stream
// PCG(seed, 2i) in row-major order, so its null map depends on the seed, i
// and its own values only, the same bit for bit on every run.
func NullInputNoise(x *tensor.Tensor, seed uint64, o NullOptions) (*tensor.Tensor, error) {
	if err := x.Check(); err != nil {
		return nil, fmt.Errorf("metrics: null map: %w", err)
	}
	if o.Noise == "" {
		o.Noise = HalfNormal
	}
	if o.Noise != HalfNormal && o.Noise != Uniform {
		return nil, fmt.Errorf("metrics: null map noise %q; noises: half-normal, uniform", o.Noise)
	}
	if o.Reduce == "" {
		o.Reduce = tensor.Sum
	}
	if err := o.Reduce.Validate(); err != nil {
		return nil, fmt.Errorf("metrics: null map: %w", err)
	}
	b, single, err := asBatch(x.Shape)
	if err != nil {
		return nil, err
	}
	n, size := b[0], b[1]*b[2]*b[3]
	v := tensor.New(b...)
	for i := range n {
		rng := rand.New(rand.NewPCG(seed, 2*uint64(i)))
		in, out := x.Data[i*size:(i+1)*size], v.Data[i*size:(i+1)*size]
		for j, a := range in {
			var r float64
			if o.Noise == Uniform {
				r = rng.Float64()
			} else {
				r = math.Abs(rng.NormFloat64())
			}
			out[j] = float32(math.Abs(float64(a)) * r)
		}
	}
	m, err := tensor.ReduceChannels(v, o.Reduce)
	if err != nil {
		return nil, err
	}
	if single {
		m.Shape = m.Shape[1:]
	}
	return m, nil
}

// NullRandom is the random null map: one U[0, 1) value per pixel per image
// (math/rand/v2's Float32, from the stream PCG(seed, 2i+1) for image i), a
// map with neither model nor input in it. shape is that of the maps
// ([N,H,W], or [H,W] for one) or of the input ([N,H,W,C], whose maps are
// [N,H,W]).
func NullRandom(shape []int, seed uint64) (*tensor.Tensor, error) {
	b, single, err := asBatch(shape)
	if err != nil {
		return nil, err
	}
	m := tensor.New(b[:3]...)
	size := b[1] * b[2]
	for i := range b[0] {
		rng := rand.New(rand.NewPCG(seed, 2*uint64(i)+1))
		for j := range size {
			m.Data[i*size+j] = rng.Float32()
		}
	}
	if single {
		m.Shape = m.Shape[1:]
	}
	return m, nil
}

// asBatch is shape as [N,H,W,C]; single for [H,W].
func asBatch(shape []int) (b []int, single bool, err error) {
	for _, d := range shape {
		if d < 0 {
			return nil, false, fmt.Errorf("metrics: null map of shape %v", shape)
		}
	}
	switch len(shape) {
	case 2:
		return []int{1, shape[0], shape[1], 1}, true, nil
	case 3:
		return []int{shape[0], shape[1], shape[2], 1}, false, nil
	case 4:
		return append([]int(nil), shape...), false, nil
	}
	return nil, false, fmt.Errorf("metrics: null map of shape %v, want [N,H,W,C], [N,H,W] or [H,W]", shape)
}
