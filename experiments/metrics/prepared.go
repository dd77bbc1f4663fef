package metrics

import (
	"math"
)

// Prepared is a map a made ready to be compared by one measure with many
// maps b of its size, as the randomization report compares each original
// map with its maps at every step: Compare(b) is m.Compare(a, b, h, w, nil)
// bit for bit, but the work on a is done once (its ranks for Spearman, its
// top k for top-k, its HOG features for HOG Pearson, its local sums for
// SSIM; Pearson compares as it does).
type Prepared struct {
	compare func(b []float32) (Result, error)
}

// Compare scores b against the prepared map, on every pixel.
func (p *Prepared) Compare(b []float32) (Result, error) { return p.compare(b) }

// Prepare makes a ready for m's comparisons on every pixel. Sizes are
// checked by Compare, with m.Compare's errors.
func Prepare(m Measure, a []float32, h, w int) *Prepared {
	generic := &Prepared{compare: func(b []float32) (Result, error) { return m.Compare(a, b, h, w, nil) }}
	if h < 0 || w < 0 || len(a) != h*w || len(a) == 0 {
		return generic
	}
	var p func() func(b []float32) Result
	switch m := m.(type) {
	case SpearmanMeasure:
		p = func() func(b []float32) Result {
			abs := func(x []float32) []float32 { return x }
			if m.Abs {
				abs = absAll
			}
			ra := ranks(abs(a))
			return func(b []float32) Result {
				s := scratches.Get().(*scratch)
				defer scratches.Put(s)
				if m.Abs {
					s.f32 = absInto(s.f32, b)
					b = s.f32
				}
				return Result{Value: pearson64(ra, ranksInto(s, b))}
			}
		}
	case TopKMeasure:
		f := m.Fraction
		if f == 0 {
			f = 0.1
		}
		if !(f > 0 && f <= 1) {
			return generic
		}
		k := max(1, int(math.Ceil(f*float64(len(a)))))
		p = func() func(b []float32) Result {
			ka, _ := orderKeys(a, true) // a is OK: no NaN
			inA := make([]bool, len(a))
			for _, key := range ka[:k] {
				inA[uint32(key)] = true
			}
			return func(b []float32) Result {
				s := scratches.Get().(*scratch)
				defer scratches.Put(s)
				kb, _ := orderKeysInto(s, b, true)
				n := 0
				for _, key := range kb[:k] {
					if inA[uint32(key)] {
						n++
					}
				}
				return Result{Value: float64(n) / float64(k)}
			}
		}
	case HOGMeasure:
		if checkHOG(h, w, m.HOGOptions.withDefaults()) != nil {
			return generic
		}
		p = func() func(b []float32) Result {
			fa, err := HOG(minMax(a), h, w, m.HOGOptions)
			if err != nil {
				panic(err) // sizes and options are checked
			}
			return func(b []float32) Result {
				s := scratches.Get().(*scratch)
				defer scratches.Put(s)
				s.f32 = minMaxInto(s.f32, b)
				fb, err := HOG(s.f32, h, w, m.HOGOptions)
				if err != nil {
					panic(err)
				}
				return Result{Value: pearson64(fa, fb)}
			}
		}
	case SSIMMeasure:
		// The report's SSIM: maps normalised to [0, 1], data range 1.
		if m.DataRange != 0 || checkSSIM(a, a, h, w, 1) != nil {
			return generic
		}
		p = func() func(b []float32) Result {
			x := to64(minMax(a))
			xs := ssimSumsOf(x, h, w)
			return func(b []float32) Result {
				s := scratches.Get().(*scratch)
				defer scratches.Put(s)
				s.f32 = minMaxInto(s.f32, b)
				s.f64 = to64Into(s.f64, s.f32)
				var sum float64
				n := 0
				ssimLocalWith(xs, x, s.f64, h, w, 1, func(_ int, v float64) {
					sum += v
					n++
				})
				return Result{Value: sum / float64(n)}
			}
		}
	default:
		return generic
	}
	// classify's policy, with a classified once: a pair with a degenerate
	// map is not scored; else the measure's value (Undefined if NaN).
	ka := Degenerate(a)
	var score func(b []float32) Result
	if ka == OK {
		score = p()
	}
	return &Prepared{compare: func(b []float32) (Result, error) {
		if len(b) != len(a) {
			return m.Compare(a, b, h, w, nil) // its error
		}
		r := Result{A: ka, B: Degenerate(b)}
		if r.Kind() != OK {
			r.Status, r.Value = DegenerateMaps, math.NaN()
			return r, nil
		}
		return r.with(score(b).Value), nil
	}}
}
