package tensor

import (
	"math"
	"testing"
)

// Resize agrees with tf.image.resize(x, (5, 4), "bilinear") on a 2×3 image of
// squares (values printed by TensorFlow 2.18).
func TestResizeMatchesTensorFlow(t *testing.T) {
	x := New(1, 2, 3, 1)
	for i := range x.Data {
		x.Data[i] = float32(i * i)
	}
	want := []float32{
		0, 0.625, 2.125, 4,
		0.9000002, 1.9000003, 3.8500004, 6.1000004,
		4.5, 7, 10.75, 14.5,
		8.099999, 12.099999, 17.65, 22.9,
		9, 13.375, 19.375, 25,
	}
	got, err := Resize(x, 5, 4)
	if err != nil {
		t.Fatal(err)
	}
	if !SameShape(got.Shape, []int{1, 5, 4, 1}) {
		t.Fatalf("shape %v", got.Shape)
	}
	for i := range want {
		if math.Abs(float64(got.Data[i]-want[i])) > 2e-6 {
			t.Errorf("value %d: got %g, TensorFlow %g", i, got.Data[i], want[i])
		}
	}
	// A [N,H,W] map resizes like a one-channel image.
	m := &Tensor{Shape: []int{1, 2, 3}, Data: x.Data}
	gm, _ := Resize(m, 5, 4)
	if d, _ := MaxAbsDiff(&Tensor{Shape: []int{1, 5, 4, 1}, Data: gm.Data}, got); d != 0 || len(gm.Shape) != 3 {
		t.Errorf("map resize differs by %g, shape %v", d, gm.Shape)
	}
	if _, err := Resize(New(2, 2), 4, 4); err == nil {
		t.Error("resize of a 2-D tensor accepted")
	}
}

func TestReduceChannels(t *testing.T) {
	x := &Tensor{Shape: []int{1, 1, 2, 3}, Data: []float32{1, -4, 2, 3, 0, -4}}
	for _, c := range []struct {
		r    Reduction
		want []float32
	}{
		{"", []float32{4, 4}},
		{MaxAbs, []float32{4, 4}},
		{Sum, []float32{-1, -1}},
		{AbsSum, []float32{7, 7}},
		{L2, []float32{float32(math.Sqrt(21)), 5}},
	} {
		got, err := ReduceChannels(x, c.r)
		if err != nil {
			t.Fatal(err)
		}
		if !SameShape(got.Shape, []int{1, 1, 2}) {
			t.Fatalf("%s: shape %v", c.r, got.Shape)
		}
		for i := range c.want {
			if math.Abs(float64(got.Data[i]-c.want[i])) > 1e-6 {
				t.Errorf("%s: got %v, want %v", c.r, got.Data, c.want)
			}
		}
	}
	if _, err := ReduceChannels(x, "median"); err == nil {
		t.Error("unknown reduction accepted")
	}
	if _, err := ReduceChannels(New(2, 3), Sum); err == nil {
		t.Error("2-D tensor accepted")
	}
}

// Percentile interpolates as numpy.percentile does.
func TestPercentileAndNormalize(t *testing.T) {
	v := []float32{3, 1, 4, 1, 5, 9, 2, 6}
	for _, c := range []struct{ p, want float64 }{{99, 8.79}, {50, 3.5}, {0, 1}, {100, 9}} {
		if got := Percentile(v, c.p); math.Abs(got-c.want) > 1e-6 {
			t.Errorf("percentile %g: got %g, numpy %g", c.p, got, c.want)
		}
	}
	n := Normalize([]float32{-2, 0, 1, 4}, true, 100)
	if n[0] != -0.5 || n[3] != 1 || n[1] != 0 {
		t.Errorf("signed normalize: %v", n)
	}
	u := Normalize([]float32{1, 2, 3}, false, 100)
	if u[0] != 1.0/3 || u[2] != 1 {
		t.Errorf("unsigned normalize: %v", u)
	}
	if z := Normalize([]float32{0, 0}, false, 99); z[0] != 0 || z[1] != 0 {
		t.Errorf("constant map: %v", z)
	}
}

func TestPearsonAndArgmax(t *testing.T) {
	a := []float32{1, 2, 3, 4}
	if p := Pearson(a, []float32{2, 4, 6, 8.5}); p < 0.99 || p > 1 {
		t.Errorf("pearson %g", p)
	}
	if p := Pearson(a, []float32{4, 3, 2, 1}); math.Abs(p+1) > 1e-12 {
		t.Errorf("pearson of reversed %g", p)
	}
	if !math.IsNaN(Pearson(a, []float32{1, 1, 1, 1})) {
		t.Error("pearson with a constant is not NaN")
	}
	if p := Softmax([]float32{1000, 1000, 0}); math.Abs(p[0]-0.5) > 1e-12 || p[2] != 0 {
		t.Errorf("softmax of large logits: %v", p)
	}
	if Argmax([]float32{1, 5, 5, 2}) != 1 || Argmax(nil) != -1 {
		t.Error("argmax")
	}
}

func TestStackConcatSlice(t *testing.T) {
	a := &Tensor{Shape: []int{2}, Data: []float32{1, 2}}
	b := &Tensor{Shape: []int{2}, Data: []float32{3, 4}}
	s, err := Stack([]*Tensor{a, b})
	if err != nil || !SameShape(s.Shape, []int{2, 2}) || s.Data[3] != 4 {
		t.Fatalf("stack: %v %v", s, err)
	}
	c, err := Concat(s, s.Slice(1, 2))
	if err != nil || c.Shape[0] != 3 || c.Data[5] != 4 {
		t.Fatalf("concat: %v %v", c, err)
	}
	if _, err := Stack([]*Tensor{a, New(3)}); err == nil {
		t.Error("stack of different shapes accepted")
	}
	if err := (&Tensor{Shape: []int{2, 2}, Data: make([]float32, 3)}).Check(); err == nil {
		t.Error("short data passes Check")
	}
}

// The blur keeps constants, sums to one, and spreads an impulse symmetrically.
func TestGaussianBlur(t *testing.T) {
	k := GaussianKernel(1)
	var s float32
	for _, v := range k {
		s += v
	}
	if len(k) != 7 || math.Abs(float64(s-1)) > 1e-6 || k[3] <= k[2] || k[2] != k[4] {
		t.Errorf("kernel %v", k)
	}
	c := New(1, 5, 5, 2)
	for i := range c.Data {
		c.Data[i] = 3
	}
	if d, _ := MaxAbsDiff(GaussianBlur(c, 1.5), c); d > 1e-6 {
		t.Errorf("blur of a constant changed it by %g", d)
	}
	x := New(1, 9, 9, 1)
	x.Data[4*9+4] = 1
	b := GaussianBlur(x, 1)
	if b.Data[4*9+4] <= b.Data[4*9+5] || b.Data[4*9+5] != b.Data[5*9+4] || b.Data[3*9+4] != b.Data[5*9+4] {
		t.Errorf("impulse response not symmetric: %v", b.Data[3*9:6*9])
	}
	if x.Data[4*9+4] != 1 {
		t.Error("blur changed its input")
	}
}
