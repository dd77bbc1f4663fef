//go:build cgo

package tfgraph

/*
#include <stdlib.h>
#include "tensorflow/c/c_api.h"
*/
import "C"

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"

	"github.com/saliencykit/saliency/tensor"
	tf "github.com/wamuir/graft/tensorflow"
)

// retype turns a graft tensor of 16-bit values into a tensor of dtype dt
// (float16 or bfloat16, which graft cannot make) holding the same bits:
// TF_TensorBitcastFrom shares the buffer with a new C tensor, which takes
// the old one's place in t (graft's finalizer then frees it).
func retype(t *tf.Tensor, dt tf.DataType) error {
	old := cTensor(t)
	if old == nil || int(C.TF_NumDims(old)) != len(t.Shape()) {
		return fmt.Errorf("tfgraph: cannot retype a tensor of this graft version")
	}
	dims := t.Shape()
	var dp *C.int64_t
	if len(dims) > 0 {
		dp = (*C.int64_t)(unsafe.Pointer(&dims[0]))
	}
	size := C.size_t(C.TF_TensorByteSize(old))
	nt := C.TF_AllocateTensor(C.TF_DataType(dt), dp, C.int(len(dims)), size)
	if nt == nil {
		return fmt.Errorf("tfgraph: cannot allocate a %s tensor", tfDTypeName(dt))
	}
	st := C.TF_NewStatus()
	defer C.TF_DeleteStatus(st)
	C.TF_TensorBitcastFrom(old, C.TF_DataType(dt), nt, dp, C.int(len(dims)), st)
	if C.TF_GetCode(st) != C.TF_OK {
		C.TF_DeleteTensor(nt)
		return fmt.Errorf("tfgraph: bitcast to %s: %s", tfDTypeName(dt), C.GoString(C.TF_Message(st)))
	}
	C.TF_DeleteTensor(old)
	*(**C.TF_Tensor)(unsafe.Pointer(t)) = nt
	return nil
}

// fromTFFloat copies a float32, float64, float16 or bfloat16 tensor into a
// float32 tensor.Tensor (a signature output of a double-precision or
// float16 model, a fetched layer of a mixed-precision one).
func fromTFFloat(t *tf.Tensor) (*tensor.Tensor, error) {
	if t.DataType() == tf.Float {
		return fromTF(t)
	}
	ct := cTensor(t)
	if ct == nil {
		return nil, fmt.Errorf("tfgraph: a freed tensor")
	}
	return fromC(ct)
}

// fromC copies a float32, float64, float16 or bfloat16 TF_Tensor into a
// float32 tensor.Tensor (float16 and bfloat16 exactly, float64 rounded).
func fromC(t *C.TF_Tensor) (*tensor.Tensor, error) {
	dt := tf.DataType(C.TF_TensorType(t))
	if !isFloat(dt) {
		return nil, fmt.Errorf("dtype %s, want a floating-point tensor", tfDTypeName(dt))
	}
	shape := make([]int, int(C.TF_NumDims(t)))
	for i := range shape {
		shape[i] = int(C.TF_Dim(t, C.int(i)))
	}
	out := tensor.New(shape...)
	n := len(out.Data)
	size := int(dtypeBytes(dt))
	if int(C.TF_TensorByteSize(t)) != size*n {
		return nil, fmt.Errorf("tfgraph: %s tensor of %d bytes for shape %v", tfDTypeName(dt), int(C.TF_TensorByteSize(t)), shape)
	}
	if n == 0 {
		return out, nil
	}
	if dt == tf.Float {
		copy(out.Data, unsafe.Slice((*float32)(C.TF_TensorData(t)), n))
		return out, nil
	}
	raw := unsafe.Slice((*byte)(C.TF_TensorData(t)), size*n)
	for i := range out.Data {
		switch dt {
		case tf.Double:
			out.Data[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:])))
		case tf.Half:
			out.Data[i] = halfToFloat32(binary.LittleEndian.Uint16(raw[2*i:]))
		default:
			out.Data[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(raw[2*i:])) << 16)
		}
	}
	return out, nil
}

// halfToFloat32 converts an IEEE 754 binary16 value (exactly).
func halfToFloat32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp == 0:
		if mant == 0 {
			return math.Float32frombits(sign)
		}
		// subnormal: mant · 2^-24
		v := float32(mant) * float32(math.Ldexp(1, -24))
		if sign != 0 {
			v = -v
		}
		return v
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}
