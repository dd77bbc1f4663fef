package metrics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// orderCases are maps whose order is hard to get right: many ties (a few
// levels, zeros of both signs), infinities, subnormals, one value, and
// real-sized maps (28×28, 224×224).
func orderCases() [][]float32 {
	r := rand.New(rand.NewPCG(7, 8))
	var out [][]float32
	for _, n := range []int{1, 2, 3, 17, 784, 50176} {
		for kind := range 5 {
			x := make([]float32, n)
			for i := range x {
				switch kind {
				case 0: // continuous, both signs
					x[i] = float32(r.NormFloat64())
				case 1: // a few levels, many ties
					x[i] = float32(r.IntN(5) - 2)
				case 2: // zeros of both signs among values
					x[i] = []float32{0, float32(math.Copysign(0, -1)), 1, -1, 0.5}[r.IntN(5)]
				case 3: // infinities and subnormals
					x[i] = []float32{float32(math.Inf(1)), float32(math.Inf(-1)), math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32, float32(r.NormFloat64())}[r.IntN(5)]
				case 4: // non-negative with a large tie at 0, as ReLU-like maps
					x[i] = float32(max(0, r.NormFloat64()))
				}
			}
			out = append(out, x)
		}
	}
	return out
}

// The ranks from sorted keys are those of a stable sort of the values, bit
// for bit, and so are Spearman's correlations; a map with NaN takes the
// stable sort itself.
func TestRanksAsStableSort(t *testing.T) {
	cases := orderCases()
	for c, x := range cases {
		got, want := ranks(x), ranksStable(to64(x))
		if !slices.Equal(got, want) {
			t.Errorf("case %d (%d values): ranks differ from a stable sort's", c, len(x))
		}
	}
	for c := 1; c < len(cases); c++ {
		a, b := cases[c-1], cases[c]
		if len(a) != len(b) {
			continue
		}
		got := Spearman(a, b)
		want := pearson64(ranksStable(to64(a)), ranksStable(to64(b)))
		if math.Float64bits(got) != math.Float64bits(want) && !(math.IsNaN(got) && math.IsNaN(want)) {
			t.Errorf("cases %d, %d: Spearman %v, by a stable sort %v", c-1, c, got, want)
		}
	}
	nan := []float32{3, float32(math.NaN()), 1, 1, 2}
	if got, want := ranks(nan), ranksStable(to64(nan)); !slices.Equal(got, want) {
		t.Errorf("with NaN: ranks %v, a stable sort's %v", got, want)
	}
}

// The top-k intersection from sorted keys is that of a stable sort by
// |value| (ties by position), at every k; maps with NaN take the stable sort.
func TestTopKAsStableSort(t *testing.T) {
	cases := orderCases()
	nan := func(x []float32) []float32 {
		y := slices.Clone(x)
		y[len(y)/2] = float32(math.NaN())
		return y
	}
	for c := 1; c < len(cases); c++ {
		a, b := cases[c-1], cases[c]
		if len(a) != len(b) {
			continue
		}
		n := len(a)
		ks := []int{1, min(2, n), max(1, n/10), max(1, n/2), n}
		if n > 1000 {
			ks = []int{n / 10} // the stable sort is slow at this size
		}
		for _, k := range ks {
			for _, pair := range [][2][]float32{{a, b}, {b, a}, {nan(a), b}, {a, nan(b)}} {
				got, err := TopKIntersection(pair[0], pair[1], k)
				if err != nil {
					t.Fatal(err)
				}
				if want := topKStableIntersection(pair[0], pair[1], k); got != want {
					t.Errorf("cases %d, %d, k %d: top-k intersection %v, by a stable sort %v", c-1, c, k, got, want)
				}
			}
		}
	}
}

// HOG's one pass over a cell's pixels gives the features of one pass per
// orientation, bit for bit (hogRef, as HOG was), on maps of the report's
// sizes and others, with NaN and infinities, and other options.
func TestHOGAsBefore(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, sz := range [][2]int{{28, 28}, {32, 48}, {224, 224}, {24, 24}} {
		h, w := sz[0], sz[1]
		for kind := range 4 {
			m := make([]float32, h*w)
			for i := range m {
				m[i] = float32(r.Float64())
				switch kind {
				case 1:
					m[i] = float32(r.IntN(3))
				case 2:
					if r.IntN(50) == 0 {
						m[i] = float32([]float64{math.NaN(), math.Inf(1), math.Inf(-1)}[r.IntN(3)])
					}
				case 3:
					m[i] = 0.5
				}
			}
			for _, o := range []HOGOptions{{}, {Orientations: 4, Cell: 4, Block: 2}, {Orientations: 12, Cell: 6, Block: 1}} {
				got, err := HOG(m, h, w, o)
				want, err2 := hogRef(m, h, w, o)
				if (err == nil) != (err2 == nil) {
					t.Fatalf("%d×%d kind %d %+v: error %v, before %v", h, w, kind, o, err, err2)
				}
				if !slices.EqualFunc(got, want, func(a, b float64) bool {
					return math.Float64bits(a) == math.Float64bits(b) || (math.IsNaN(a) && math.IsNaN(b))
				}) {
					t.Errorf("%d×%d kind %d %+v: features differ from before", h, w, kind, o)
				}
			}
		}
	}
}

// orientationBin finds the orientation a scan of every orientation finds,
// at and beside each range's ends, for the orientation counts of HOG's
// options and others.
func TestOrientationBin(t *testing.T) {
	for n := 1; n <= 20; n++ {
		start, end := make([]float64, n), make([]float64, n)
		for b := range n {
			start[b] = float64(float32(180.0 / float64(n) * float64(b+1)))
			end[b] = float64(float32(180.0 / float64(n) * float64(b)))
		}
		angles := []float64{math.Copysign(0, -1), 180, math.Nextafter(180, 0), 1e-300}
		for _, e := range append(slices.Clone(start), end...) {
			angles = append(angles, e, math.Nextafter(e, 0), math.Nextafter(e, 200), math.Nextafter(math.Nextafter(e, 0), 0))
		}
		for i := range 1000 {
			angles = append(angles, 180*float64(i)/1000)
		}
		for _, a := range angles {
			if a < 0 && a != 0 {
				continue
			}
			want := -1
			for b := range n {
				if !(a >= start[b] || a < end[b]) {
					if want >= 0 {
						t.Fatalf("%d orientations: %v in two ranges", n, a)
					}
					want = b
				}
			}
			if got := orientationBin(a, start, end); got != want {
				t.Errorf("%d orientations: angle %v in orientation %d, the scan says %d", n, a, got, want)
			}
		}
	}
}

// hogRef is HOG as it was, one pass over the pixels per orientation.
func hogRef(m []float32, h, w int, o HOGOptions) ([]float64, error) {
	o = o.withDefaults()
	if len(m) != h*w {
		return nil, fmt.Errorf("metrics: HOG of a map of %d values as %d×%d", len(m), h, w)
	}
	if err := checkHOG(h, w, o); err != nil {
		return nil, err
	}
	nr, nc := h/o.Cell, w/o.Cell
	br, bc := nr-o.Block+1, nc-o.Block+1
	x := to64(m)
	mag := make([]float64, h*w)
	ori := make([]float64, h*w)
	deg := 180 / math.Pi // as numpy computes 180 / np.pi (not a Go constant)
	for i := 0; i < h; i++ {
		for j := 0; j < w; j++ {
			var gr, gc float64
			if i > 0 && i < h-1 {
				gr = x[(i+1)*w+j] - x[(i-1)*w+j]
			}
			if j > 0 && j < w-1 {
				gc = x[i*w+j+1] - x[i*w+j-1]
			}
			mag[i*w+j] = math.Hypot(gc, gr)
			a := math.Mod(math.Atan2(gr, gc)*deg, 180)
			if a < 0 {
				a += 180
			}
			ori[i*w+j] = a
		}
	}
	hist := make([]float64, nr*nc*o.Orientations) // [cell row, cell column, orientation]
	half := o.Cell / 2
	for b := 0; b < o.Orientations; b++ {
		start := float64(float32(180.0 / float64(o.Orientations) * float64(b+1)))
		end := float64(float32(180.0 / float64(o.Orientations) * float64(b)))
		for ci := 0; ci < nr; ci++ {
			y := half + ci*o.Cell
			for cj := 0; cj < nc; cj++ {
				xc := half + cj*o.Cell
				var total float32
				for dr := -o.Cell / 2; dr < o.Cell/2; dr++ {
					for dc := -o.Cell / 2; dc < o.Cell/2; dc++ {
						r, c := y+dr, xc+dc
						if r < 0 || r >= h || c < 0 || c >= w {
							continue
						}
						if a := ori[r*w+c]; a >= start || a < end {
							continue
						}
						total += float32(mag[r*w+c])
					}
				}
				hist[(ci*nc+cj)*o.Orientations+b] = float64(total)
			}
		}
	}
	const eps = 1e-5
	out := make([]float64, 0, br*bc*o.Block*o.Block*o.Orientations)
	block := make([]float64, o.Block*o.Block*o.Orientations)
	for r := 0; r < br; r++ {
		for c := 0; c < bc; c++ {
			k := 0
			for i := 0; i < o.Block; i++ {
				for j := 0; j < o.Block; j++ {
					cell := hist[((r+i)*nc+c+j)*o.Orientations:]
					k += copy(block[k:], cell[:o.Orientations])
				}
			}
			// L2-Hys: L2-normalise, clip at 0.2, L2-normalise again.
			norm := func() {
				var s float64
				for _, v := range block {
					s += v * v
				}
				d := math.Sqrt(s + eps*eps)
				for i := range block {
					block[i] /= d
				}
			}
			norm()
			for i, v := range block {
				block[i] = math.Min(v, 0.2)
			}
			norm()
			out = append(out, block...)
		}
	}
	return out, nil
}

// A prepared map compares as the measure does, bit for bit, for every
// measure of the report: maps that change, tie, turn degenerate (constant,
// all zero, non-finite) on either side, and a map of the wrong size (the
// same error).
func TestPreparedAsCompare(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	const h, w = 24, 28
	mk := func(kind int) []float32 {
		m := make([]float32, h*w)
		for i := range m {
			switch kind {
			case 0:
				m[i] = float32(r.NormFloat64())
			case 1:
				m[i] = float32(r.IntN(3))
			case 2:
				m[i] = 0
			case 3:
				m[i] = 2
			case 4:
				m[i] = float32(r.NormFloat64())
				if i == 7 {
					m[i] = float32(math.NaN())
				}
			}
		}
		return m
	}
	same := func(a, b Result) bool {
		return a.Status == b.Status && a.A == b.A && a.B == b.B &&
			(math.Float64bits(a.Value) == math.Float64bits(b.Value) || (math.IsNaN(a.Value) && math.IsNaN(b.Value)))
	}
	ms := []Measure{HOGMeasure{HOGOptions{Orientations: 6}}, TopKMeasure{Fraction: 0.3}, TopKMeasure{Fraction: 2}}
	for _, m := range Measures {
		ms = append(ms, m)
	}
	for _, m := range ms {
		for ka := range 5 {
			a := mk(ka)
			p := Prepare(m, a, h, w)
			for kb := range 5 {
				for range 3 {
					b := mk(kb)
					got, err := p.Compare(b)
					want, err2 := m.Compare(a, b, h, w, nil)
					if fmt.Sprint(err) != fmt.Sprint(err2) || !same(got, want) {
						t.Errorf("%s, maps of kinds %d and %d: prepared %+v (%v), compared %+v (%v)", m.Name(), ka, kb, got, err, want, err2)
					}
				}
			}
			got, err := p.Compare(make([]float32, 5))
			want, err2 := m.Compare(a, make([]float32, 5), h, w, nil)
			if fmt.Sprint(err) != fmt.Sprint(err2) || err == nil || !same(got, want) {
				t.Errorf("%s, a map of the wrong size: prepared %+v (%v), compared %+v (%v)", m.Name(), got, err, want, err2)
			}
		}
	}
}

// BenchmarkRanks times the ranks of a map of Fashion-MNIST's size and of
// ImageNet's, from sorted keys and by the stable sort they replace.
func BenchmarkRanks(b *testing.B) {
	r := rand.New(rand.NewPCG(19, 20))
	for _, n := range []int{784, 50176} {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(max(0, r.NormFloat64()))
		}
		b.Run(fmt.Sprintf("keys/%d", n), func(b *testing.B) {
			for b.Loop() {
				ranks(x)
			}
		})
		b.Run(fmt.Sprintf("stable/%d", n), func(b *testing.B) {
			for b.Loop() {
				ranksStable(to64(x))
			}
		})
	}
}
