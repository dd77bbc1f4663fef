package tensor

// PairwiseSum sums a as numpy's pairwise summation does (its add.reduce on a
// contiguous float array): below 8 values one by one; up to 128, eight
// running sums over blocks of eight, combined ((r0+r1)+(r2+r3))+((r4+r5)+
// (r6+r7)), then the rest one by one; above, the two halves (the first a
// multiple of 8 long) summed so and added. The sum is kept in F, as numpy
// keeps a float32 sum in float32. Ported tools use it where the last bits
// must be numpy's (scipy's Gaussian weights, PAIR's region means).
func PairwiseSum[F ~float32 | ~float64](a []F) F {
	n := len(a)
	switch {
	case n < 8:
		var s F
		for _, v := range a {
			s += v
		}
		return s
	case n <= 128:
		var r [8]F
		copy(r[:], a[:8])
		i := 8
		for ; i < n-n%8; i += 8 {
			for j := range r {
				r[j] += a[i+j]
			}
		}
		s := ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
		for ; i < n; i++ {
			s += a[i]
		}
		return s
	}
	n2 := n / 2
	n2 -= n2 % 8
	return PairwiseSum(a[:n2]) + PairwiseSum(a[n2:])
}
