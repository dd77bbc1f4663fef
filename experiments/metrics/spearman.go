package metrics

import (
	"math"
	"slices"
	"sort"
)

// Spearman is the Spearman rank correlation of a and b: the Pearson
// correlation of their ranks, tied values sharing their mean rank (as
// scipy.stats.spearmanr). NaN when either is constant.
func Spearman(a, b []float32) float64 {
	if len(a) != len(b) || len(a) == 0 {
		return math.NaN()
	}
	return pearson64(ranks(a), ranks(b))
}

// SpearmanAbs is Spearman of |a| and |b|: the sanity checks compare the
// importance of pixels whatever their sign.
func SpearmanAbs(a, b []float32) float64 {
	return Spearman(absAll(a), absAll(b))
}

func absAll(a []float32) []float32 { return absInto(nil, a) }

// absInto is absAll written into dst's array where it is long enough.
func absInto(dst, a []float32) []float32 {
	out := resize(dst, len(a))
	for i, v := range a {
		out[i] = float32(math.Abs(float64(v)))
	}
	return out
}

// ranks are the 1-based ranks of x, ties given the mean of their ranks.
func ranks(x []float32) []float64 { return ranksInto(&scratch{}, x) }

// ranksInto is ranks in s's arrays: the ranks are s.f64.
func ranksInto(s *scratch, x []float32) []float64 {
	keys, ok := orderKeysInto(s, x, false)
	if !ok {
		s.f64 = ranksStable(to64(x))
		return s.f64
	}
	s.f64 = resize(s.f64, len(x))
	r := s.f64
	for i := 0; i < len(keys); {
		j := i + 1
		for j < len(keys) && keys[j]>>32 == keys[i]>>32 {
			j++
		}
		mean := float64(i+j+1) / 2 // ranks i+1 … j
		for k := i; k < j; k++ {
			r[uint32(keys[k])] = mean
		}
		i = j
	}
	return r
}

// orderKeys returns, sorted, one key per value of x: the value's order
// (ascending, or descending by |value| when abs is set) in the high 32 bits
// and its index in the low ones, so that the keys sort as a stable sort of
// the values would order them, values that compare equal (0 and −0) sharing
// their high bits. ok is false, and no keys are made, when x holds a NaN
// (which compares equal to every value: no order) or 2³² values or more.
func orderKeys(x []float32, abs bool) (keys []uint64, ok bool) {
	return orderKeysInto(&scratch{}, x, abs)
}

// orderKeysInto is orderKeys in s's arrays: the keys are s.keys.
func orderKeysInto(s *scratch, x []float32, abs bool) (keys []uint64, ok bool) {
	if uint64(len(x)) > math.MaxUint32 {
		return nil, false
	}
	s.keys = resize(s.keys, len(x))
	keys = s.keys
	for i, v := range x {
		if v != v {
			return nil, false
		}
		if v == 0 {
			v = 0 // −0 sorts with 0
		}
		var o uint32
		if abs {
			// Descending |v|: the bits of a non-negative float32 grow with it.
			o = ^(math.Float32bits(v) &^ (1 << 31))
		} else {
			// Ascending v: flip the sign bit of non-negative values and every
			// bit of negative ones.
			o = math.Float32bits(v)
			if o>>31 == 0 {
				o |= 1 << 31
			} else {
				o = ^o
			}
		}
		keys[i] = uint64(o)<<32 | uint64(i)
	}
	s.buf = resize(s.buf, len(x))
	sortByHigh32(keys, s.buf)
	return keys, true
}

// sortByHigh32 sorts keys made in the order of their low 32 bits by their
// high 32 bits, keeping that order among equal ones: a stable least
// significant digit radix sort, a byte at a time, passing over the bytes
// that every key shares, in buf (at least as long as keys); slices.Sort for
// a few keys.
func sortByHigh32(keys, buf []uint64) {
	if len(keys) < 256 {
		slices.Sort(keys) // the low bits are distinct: the same order
		return
	}
	var count [4][256]int
	for _, k := range keys {
		count[0][byte(k>>32)]++
		count[1][byte(k>>40)]++
		count[2][byte(k>>48)]++
		count[3][byte(k>>56)]++
	}
	src, dst := keys, buf[:len(keys)]
	for d := range 4 {
		c := &count[d]
		shift := 32 + 8*d
		if c[byte(keys[0]>>shift)] == len(keys) {
			continue // every key has this byte
		}
		pos := 0
		for b, n := range c {
			c[b] = pos
			pos += n
		}
		for _, k := range src {
			b := byte(k >> shift)
			dst[c[b]] = k
			c[b]++
		}
		src, dst = dst, src
	}
	if &src[0] != &keys[0] {
		copy(keys, src)
	}
}

// ranksStable is ranks of any values by a stable sort: the order of a map
// with NaN in it (NaN compares equal to every value).
func ranksStable(x []float64) []float64 {
	idx := make([]int, len(x))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(i, j int) bool { return x[idx[i]] < x[idx[j]] })
	r := make([]float64, len(x))
	for i := 0; i < len(idx); {
		j := i + 1
		for j < len(idx) && x[idx[j]] == x[idx[i]] {
			j++
		}
		mean := float64(i+j+1) / 2 // ranks i+1 … j
		for k := i; k < j; k++ {
			r[idx[k]] = mean
		}
		i = j
	}
	return r
}
