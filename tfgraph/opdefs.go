//go:build cgo

package tfgraph

// #include <stdlib.h>
// #include "tensorflow/c/c_api.h"
import "C"

import (
	"fmt"
	"sync"
	"unsafe"

	opdefpb "github.com/wamuir/graft/tensorflow/core/framework/op_def_go_proto"
	"google.golang.org/protobuf/proto"
)

var (
	opDefsOnce sync.Once
	opDefs     map[string]*opdefpb.OpDef
	opDefsErr  error
)

// registeredOps returns the OpDef of every op registered in the loaded
// TensorFlow library (TF_GetAllOpList), read once per process.
func registeredOps() (map[string]*opdefpb.OpDef, error) {
	opDefsOnce.Do(func() {
		buf := C.TF_GetAllOpList()
		if buf == nil {
			opDefsErr = fmt.Errorf("tfgraph: TF_GetAllOpList returned nothing")
			return
		}
		defer C.TF_DeleteBuffer(buf)
		raw := C.GoBytes(unsafe.Pointer(buf.data), C.int(buf.length))
		var list opdefpb.OpList
		if err := proto.Unmarshal(raw, &list); err != nil {
			opDefsErr = fmt.Errorf("tfgraph: op list: %w", err)
			return
		}
		opDefs = make(map[string]*opdefpb.OpDef, len(list.GetOp()))
		for _, op := range list.GetOp() {
			opDefs[op.GetName()] = op
		}
	})
	return opDefs, opDefsErr
}
