package tfgraph

import (
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
