package segment

import (
	"math"
	"math/bits"
	"sync"
)

// numpyNormal draws n values of numpy.random.default_rng(seed).normal(
// scale=scale, size=n): numpy's SeedSequence of the seed, its PCG64 (XSL-RR
// 128/64) generator and its 256-strip ziggurat for the standard normal. The
// ziggurat's tables are built here by Marsaglia and Tsang's recurrence; they
// agree with numpy's to rounding, so the draws agree with numpy's to a few
// units in the last place (checked against numpy's own draws in the tests),
// which cannot change quick shift's tie-breaking.
func numpyNormal(seed uint64, n int, scale float64) []float64 {
	g := newNumpyPCG64(seed)
	out := make([]float64, n)
	for i := range out {
		out[i] = scale * g.standardNormal()
	}
	return out
}

// numpyPCG64 is numpy's PCG64 bit generator (128-bit LCG state, XSL-RR
// output).
type numpyPCG64 struct{ hi, lo, incHi, incLo uint64 }

// PCG's default 128-bit multiplier.
const pcgMulHi, pcgMulLo = 0x2360ED051FC65DA4, 0x4385DF649FCCF645

// newNumpyPCG64 seeds as numpy.random.PCG64(seed) does: four 64-bit words
// of SeedSequence(seed).generate_state(4, uint64), the first two the
// state's seed (high, low), the last two the stream.
func newNumpyPCG64(seed uint64) *numpyPCG64 {
	s := seedSequenceState(seed, 4)
	g := &numpyPCG64{}
	// pcg_setseq_128_srandom_r: inc = seq<<1 | 1; step; state += seed; step.
	g.incHi = s[2]<<1 | s[3]>>63
	g.incLo = s[3]<<1 | 1
	g.step()
	var c uint64
	g.lo, c = bits.Add64(g.lo, s[1], 0)
	g.hi, _ = bits.Add64(g.hi, s[0], c)
	g.step()
	return g
}

func (g *numpyPCG64) step() {
	h, l := bits.Mul64(g.lo, pcgMulLo)
	h += g.hi*pcgMulLo + g.lo*pcgMulHi
	var c uint64
	g.lo, c = bits.Add64(l, g.incLo, 0)
	g.hi, _ = bits.Add64(h, g.incHi, c)
}

func (g *numpyPCG64) next64() uint64 {
	g.step()
	return bits.RotateLeft64(g.hi^g.lo, -int(g.hi>>58))
}

func (g *numpyPCG64) nextDouble() float64 {
	return float64(g.next64()>>11) * (1.0 / 9007199254740992.0)
}

// seedSequenceState is numpy.random.SeedSequence(seed).generate_state(words,
// uint64) for a seed below 2⁶⁴ (O'Neill's seed_seq hash, pool of four
// 32-bit words).
func seedSequenceState(seed uint64, words int) []uint64 {
	const (
		initA, multA = 0x43b0d7e5, 0x931e8875
		initB, multB = 0x8b51f9dd, 0x58f38ded
		mixL, mixR   = 0xca01f9dd, 0x4973f715
	)
	entropy := []uint32{uint32(seed)}
	if seed>>32 != 0 {
		entropy = append(entropy, uint32(seed>>32))
	}
	hashConst := uint32(initA)
	hashmix := func(v uint32) uint32 {
		v ^= hashConst
		hashConst *= multA
		v *= hashConst
		return v ^ v>>16
	}
	mix := func(x, y uint32) uint32 {
		r := mixL*x - mixR*y
		return r ^ r>>16
	}
	var pool [4]uint32
	for i := range pool {
		if i < len(entropy) {
			pool[i] = hashmix(entropy[i])
		} else {
			pool[i] = hashmix(0)
		}
	}
	for src := range pool {
		for dst := range pool {
			if src != dst {
				pool[dst] = mix(pool[dst], hashmix(pool[src]))
			}
		}
	}
	h := uint32(initB)
	out := make([]uint64, words)
	for i := 0; i < 2*words; i++ {
		v := pool[i%4]
		v ^= h
		h *= multB
		v *= h
		v ^= v >> 16
		out[i/2] |= uint64(v) << (32 * (i % 2))
	}
	return out
}

// The ziggurat of numpy's random_standard_normal: 256 strips, tail at r.
const (
	zigR    = 3.6541528853610088
	zigInvR = 0.27366123732975828
)

// zigV is the area of each strip: the base strip's r·f(r) plus the tail
// ∫_r^∞ f = √(π/2)·erfc(r/√2).
var zigV = zigR*math.Exp(-0.5*zigR*zigR) + math.Sqrt(math.Pi/2)*math.Erfc(zigR/math.Sqrt2)

var (
	zigOnce        sync.Once
	zigK           [256]uint64
	zigW, zigF     [256]float64
	zigTwoPower52  = math.Ldexp(1, 52)
	zigInvTwoPow52 = math.Ldexp(1, -52)
)

// zigTables builds the strips (Marsaglia and Tsang 2000, 52-bit mantissas):
// x_255 = r, x_{i-1} = √(−2 ln(v/x_i + f(x_i))), f(x) = exp(−x²/2).
func zigTables() {
	dn := zigR
	tn := dn
	q := zigV / math.Exp(-0.5*dn*dn)
	zigK[0] = uint64(dn / q * zigTwoPower52)
	zigK[1] = 0
	zigW[0] = q * zigInvTwoPow52
	zigW[255] = dn * zigInvTwoPow52
	zigF[0] = 1
	zigF[255] = math.Exp(-0.5 * dn * dn)
	for i := 254; i >= 1; i-- {
		dn = math.Sqrt(-2 * math.Log(zigV/dn+math.Exp(-0.5*dn*dn)))
		zigK[i+1] = uint64(dn / tn * zigTwoPower52)
		tn = dn
		zigF[i] = math.Exp(-0.5 * dn * dn)
		zigW[i] = dn * zigInvTwoPow52
	}
}

// standardNormal is numpy's random_standard_normal.
func (g *numpyPCG64) standardNormal() float64 {
	zigOnce.Do(zigTables)
	for {
		r := g.next64()
		idx := r & 0xff
		r >>= 8
		sign := r & 1
		rabs := (r >> 1) & 0x000fffffffffffff
		x := float64(rabs) * zigW[idx]
		if sign == 1 {
			x = -x
		}
		if rabs < zigK[idx] {
			return x
		}
		if idx == 0 {
			for {
				xx := -zigInvR * math.Log1p(-g.nextDouble())
				yy := -math.Log1p(-g.nextDouble())
				if yy+yy > xx*xx {
					if (rabs>>8)&1 == 1 {
						return -(zigR + xx)
					}
					return zigR + xx
				}
			}
		}
		if (zigF[idx-1]-zigF[idx])*g.nextDouble()+zigF[idx] < math.Exp(-0.5*x*x) {
			return x
		}
	}
}
