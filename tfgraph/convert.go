//go:build cgo

package tfgraph

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/saliencykit/saliency/tensor"
	tf "github.com/wamuir/graft/tensorflow"
)

// toTFAs converts float32 values into a tensor of dtype dt for a signature
// input of that type: float64 exactly, float16 and bfloat16 rounded to
// nearest even (as TensorFlow's Cast rounds), integer types only from whole
// numbers within the type's range (an image fed to a uint8 input is 0..255).
func toTFAs(x *tensor.Tensor, dt tf.DataType) (*tf.Tensor, error) {
	if dt == tf.Float {
		return toTF(x)
	}
	var buf bytes.Buffer
	switch dt {
	case tf.Double:
		b := make([]byte, 8*len(x.Data))
		for i, v := range x.Data {
			binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(float64(v)))
		}
		buf.Write(b)
	case tf.Half, tf.Bfloat16:
		b := make([]byte, 2*len(x.Data))
		for i, v := range x.Data {
			h := float32ToBfloat16(v)
			if dt == tf.Half {
				h = float32ToHalf(v)
			}
			binary.LittleEndian.PutUint16(b[2*i:], h)
		}
		buf.Write(b)
	case tf.Uint8, tf.Int8, tf.Uint16, tf.Int16, tf.Int32, tf.Int64:
		lo, hi, size := intRange(dt)
		b := make([]byte, size*len(x.Data))
		for i, v := range x.Data {
			f := float64(v)
			if f != math.Trunc(f) || f < lo || f > hi {
				return nil, fmt.Errorf("value %v at %d is not a whole number in [%v, %v], which a %s input needs", v, i, lo, hi, tfDTypeName(dt))
			}
			switch size {
			case 1:
				b[i] = byte(int64(f))
			case 2:
				binary.LittleEndian.PutUint16(b[2*i:], uint16(int64(f)))
			case 4:
				binary.LittleEndian.PutUint32(b[4*i:], uint32(int64(f)))
			default:
				binary.LittleEndian.PutUint64(b[8*i:], uint64(int64(f)))
			}
		}
		buf.Write(b)
	default:
		return nil, fmt.Errorf("cannot feed %s", tfDTypeName(dt))
	}
	read := dt
	if dt == tf.Half || dt == tf.Bfloat16 {
		read = tf.Uint16 // graft cannot make these: the bits, retyped below
	}
	t, err := tf.ReadTensor(read, ints64(x.Shape), &buf)
	if err != nil {
		return nil, fmt.Errorf("tfgraph: tensor %v as %s: %w", x.Shape, tfDTypeName(dt), err)
	}
	if read != dt {
		if err := retype(t, dt); err != nil {
			release(t)
			return nil, err
		}
	}
	return t, nil
}

// intRange is the range and byte size of an integer dtype.
func intRange(dt tf.DataType) (lo, hi float64, size int) {
	switch dt {
	case tf.Uint8:
		return 0, 255, 1
	case tf.Int8:
		return -128, 127, 1
	case tf.Uint16:
		return 0, 65535, 2
	case tf.Int16:
		return -32768, 32767, 2
	case tf.Int32:
		return math.MinInt32, math.MaxInt32, 4
	}
	return -(1 << 53), 1 << 53, 8 // whole float32 values beyond 2^24 are exact anyway
}

// float32ToHalf rounds f to the nearest IEEE 754 binary16 value, ties to
// even; values beyond the largest half overflow to ±Inf, NaN stays NaN.
func float32ToHalf(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int((b >> 23) & 0xff)
	mant := b & 0x7fffff
	switch {
	case exp == 0xff: // Inf or NaN
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	case exp-127 > 15: // overflow
		return sign | 0x7c00
	case exp-127 >= -14: // normal half
		e := uint32(exp - 127 + 15)
		m := mant >> 13
		rest := mant & 0x1fff
		h := uint32(sign) | e<<10 | m
		if rest > 0x1000 || (rest == 0x1000 && m&1 == 1) {
			h++ // may carry into the exponent: still correct, up to Inf
		}
		return uint16(h)
	case exp-127 >= -25: // subnormal half
		m := mant | 0x800000 // implicit bit
		shift := uint32(-14-(exp-127)) + 13
		h := m >> shift
		rest := m & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rest > half || (rest == half && h&1 == 1) {
			h++
		}
		return sign | uint16(h)
	}
	return sign // underflow to ±0
}

// float32ToBfloat16 rounds f to the nearest bfloat16 value, ties to even.
func float32ToBfloat16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 { // NaN
		return uint16(b>>16) | 0x40
	}
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}
