package metrics

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/saliencykit/saliency/tensor"
)

// The null maps with uniform noise equal a Python port of Go's PCG and
// Float64/Float32 bit for bit (masked.json); half-normal noise has the
// half-normal's distribution (Kolmogorov–Smirnov against 2Φ(x) − 1), and
// both are 0 where the input is, deterministic under a seed, and
// independent of the other images of the batch.
func TestNullMaps(t *testing.T) {
	g := readMasked(t).Null
	x := &tensor.Tensor{Shape: g.Shape, Data: g.X}
	for _, c := range []struct {
		name string
		x    *tensor.Tensor
		o    NullOptions
		want []float32
	}{
		{"uniform, sum", x, NullOptions{Noise: Uniform}, g.UniformSum},
		{"uniform, max-abs", x, NullOptions{Noise: Uniform, Reduce: tensor.MaxAbs}, g.UniformMaxAbs},
		{"uniform, one channel", firstChannel(x), NullOptions{Noise: Uniform}, g.UniformGray},
	} {
		m, err := NullInputNoise(c.x, g.Seed, c.o)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(m.Shape, g.Shape[:3]) || !slices.Equal(m.Data, c.want) {
			t.Errorf("%s: %v %v, Python %v", c.name, m.Shape, m.Data[:6], c.want[:6])
		}
	}
	r, err := NullRandom(g.Shape, g.Seed)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.Data, g.Random) {
		t.Errorf("NullRandom %v, Python %v", r.Data[:4], g.Random[:4])
	}

	// Half-normal: on an input of ones the map is |n| itself.
	ones := tensor.New(3, 40, 50)
	for i := range ones.Data {
		ones.Data[i] = 1
	}
	m, err := NullInputNoise(ones, 3, NullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v := make([]float64, len(m.Data))
	for i, a := range m.Data {
		v[i] = float64(a)
	}
	slices.Sort(v)
	d := 0.0
	for i, a := range v {
		cdf := math.Erf(a / math.Sqrt2)
		d = max(d, math.Abs(cdf-float64(i)/float64(len(v))), math.Abs(cdf-float64(i+1)/float64(len(v))))
	}
	if crit := 1.63 / math.Sqrt(float64(len(v))); d > crit { // the 1% critical value
		t.Errorf("KS distance to the half-normal %.4f > %.4f", d, crit)
	}
	// Zeros of the input, determinism, one image alone.
	m1, _ := NullInputNoise(x, 5, NullOptions{})
	m2, _ := NullInputNoise(x, 5, NullOptions{})
	m3, _ := NullInputNoise(x, 6, NullOptions{})
	if !slices.Equal(m1.Data, m2.Data) || slices.Equal(m1.Data, m3.Data) {
		t.Error("not deterministic under the seed")
	}
	if z, _ := ZeroFraction(m1.Item(0).Data[:8]); z != 1 {
		t.Errorf("null map not 0 where the input is 0: %v", m1.Item(0).Data[:8])
	}
	single, _ := NullInputNoise(&tensor.Tensor{Shape: []int{5, 4}, Data: firstChannel(x).Item(0).Data}, 5, NullOptions{})
	batch, _ := NullInputNoise(firstChannel(x), 5, NullOptions{})
	if !slices.Equal(single.Shape, []int{5, 4}) || !slices.Equal(single.Data, batch.Item(0).Data) {
		t.Errorf("one [H,W] image: %v %v, in the batch %v", single.Shape, single.Data[:4], batch.Item(0).Data[:4])
	}
	for _, c := range []struct {
		err  error
		want string
	}{
		{second2(NullInputNoise(x, 1, NullOptions{Noise: "poisson"})), `noise "poisson"`},
		{second2(NullInputNoise(x, 1, NullOptions{Reduce: "mean"})), `unknown channel reduction "mean"`},
		{second2(NullInputNoise(tensor.New(3), 1, NullOptions{})), "want [N,H,W,C], [N,H,W] or [H,W]"},
		{second2(NullInputNoise(&tensor.Tensor{Shape: []int{2, 2}, Data: []float32{1}}, 1, NullOptions{})), "tensor:"},
		{second2(NullRandom([]int{2, -1}, 1)), "null map of shape [2 -1]"},
	} {
		if c.err == nil || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("error %v, want %q", c.err, c.want)
		}
	}
	r2, _ := NullRandom([]int{4, 6}, 1)
	r3, _ := NullRandom([]int{1, 4, 6, 3}, 1)
	if !slices.Equal(r2.Shape, []int{4, 6}) || !slices.Equal(r3.Shape, []int{1, 4, 6}) || !slices.Equal(r2.Data, r3.Data) {
		t.Errorf("NullRandom shapes %v %v", r2.Shape, r3.Shape)
	}
}

func firstChannel(x *tensor.Tensor) *tensor.Tensor {
	c := x.Shape[3]
	out := tensor.New(x.Shape[:3]...)
	for i := range out.Data {
		out.Data[i] = x.Data[i*c]
	}
	return out
}

func second2(_ *tensor.Tensor, err error) error { return err }
