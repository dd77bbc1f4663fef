//go:build cgo

package tfgraph

import (
	"slices"
	"strings"

	tf "github.com/wamuir/graft/tensorflow"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
)

var dtypeNames = map[typespb.DataType]string{
	typespb.DataType_DT_FLOAT:    "float32",
	typespb.DataType_DT_DOUBLE:   "float64",
	typespb.DataType_DT_HALF:     "float16",
	typespb.DataType_DT_BFLOAT16: "bfloat16",
	typespb.DataType_DT_INT8:     "int8",
	typespb.DataType_DT_INT16:    "int16",
	typespb.DataType_DT_INT32:    "int32",
	typespb.DataType_DT_INT64:    "int64",
	typespb.DataType_DT_UINT8:    "uint8",
	typespb.DataType_DT_UINT16:   "uint16",
	typespb.DataType_DT_BOOL:     "bool",
	typespb.DataType_DT_STRING:   "string",
	typespb.DataType_DT_RESOURCE: "resource",
}

// dtypeName gives the numpy-style name of a TensorFlow dtype.
func dtypeName(dt typespb.DataType) string {
	if n, ok := dtypeNames[dt]; ok {
		return n
	}
	return strings.ToLower(strings.TrimPrefix(dt.String(), "DT_"))
}

func corepbDataType(dt tf.DataType) typespb.DataType { return typespb.DataType(dt) }

// isFloat says whether a backward signal flows through tensors of type dt:
// float32, and the float16, bfloat16 and float64 paths of mixed-precision
// and double-precision models. A signal travels in the dtype of the tensor
// it belongs to, as tf.GradientTape computes it; Cast converts it where the
// forward graph converted the values.
func isFloat(dt tf.DataType) bool {
	return dt == tf.Float || dt == tf.Half || dt == tf.Bfloat16 || dt == tf.Double
}

// dtypeBytes is the size of one element of a float dtype.
func dtypeBytes(dt tf.DataType) int64 {
	switch dt {
	case tf.Half, tf.Bfloat16:
		return 2
	case tf.Double:
		return 8
	}
	return 4
}

// tfDTypeName is dtypeName for a graft DataType.
func tfDTypeName(dt tf.DataType) string { return dtypeName(corepbDataType(dt)) }

// DType is the numpy-style dtype of a flat tensor ("float32", "float16",
// …), or "" for an unknown tensor.
func (fl *Flat) DType(name string) string {
	o, err := fl.tensor(name)
	if err != nil {
		return ""
	}
	return tfDTypeName(o.DataType())
}

// PathDTypes counts, by dtype, the floating-point tensors on the path from
// the input to the logits: the dtypes the backward signals travel in (a
// mixed-precision model's float16 layers take float16 signals, as in
// tf.GradientTape), with the layers of each dtype other than float32.
func (fl *Flat) PathDTypes() (count map[string]int, layers map[string][]string) {
	count, layers = map[string]int{}, map[string][]string{}
	logits, _ := fl.Logits()
	_, onPath, err := fl.path(nodeOf(logits), nodeOf(fl.inputName()))
	if err != nil {
		return count, layers
	}
	for _, n := range fl.order {
		if !onPath[n.GetName()] {
			continue
		}
		op := fl.op(n.GetName())
		if op == nil || op.NumOutputs() == 0 || !isFloat(op.Output(0).DataType()) {
			continue
		}
		dt := tfDTypeName(op.Output(0).DataType())
		count[dt]++
		if l := fl.layerOf(n.GetName()); dt != "float32" && l != "none" && !slices.Contains(layers[dt], l) {
			layers[dt] = append(layers[dt], l)
		}
	}
	return count, layers
}
