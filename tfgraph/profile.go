//go:build cgo

package tfgraph

// #include <stdlib.h>
// #include "tensorflow/c/c_api.h"
import "C"

import (
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/saliencykit/saliency/tensor"
	tf "github.com/wamuir/graft/tensorflow"
	configpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"
)

// Profile accumulates TensorFlow's own step statistics (RunOptions with
// FULL_TRACE) over the session runs of a view made by Profiled: the kernel
// time of every op, summed by op type and by direction (the forward graph,
// or the backward graphs tfgraph adds). It is safe for concurrent use;
// TensorFlow traces one run at a time, so profiled runs take turns.
type Profile struct {
	mu    sync.Mutex
	runs  int
	wall  time.Duration
	byKey map[opKey]*OpTime
}

type opKey struct {
	typ      string
	backward bool
}

// OpTime is the kernel time of one op type in one direction.
type OpTime struct {
	Type     string
	Backward bool
	// Kernel is the summed time from the start to the end of the op's
	// kernels, over all runs and all nodes of the type.
	Kernel time.Duration
	// Nodes counts executed nodes (over all runs).
	Nodes int
}

// Runs is the number of profiled session runs and Wall their summed time.
func (p *Profile) Runs() (int, time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.runs, p.wall
}

// Ops lists the op times, the largest first.
func (p *Profile) Ops() []OpTime {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]OpTime, 0, len(p.byKey))
	for _, v := range p.byKey {
		out = append(out, *v)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kernel != out[j].Kernel {
			return out[i].Kernel > out[j].Kernel
		}
		if out[i].Type != out[j].Type {
			return out[i].Type < out[j].Type
		}
		return !out[i].Backward
	})
	return out
}

// String is a table of the op times: type, direction, nodes, kernel time
// and share of the total kernel time.
func (p *Profile) String() string {
	ops := p.Ops()
	runs, wall := p.Runs()
	var total time.Duration
	for _, o := range ops {
		total += o.Kernel
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d runs, wall %v, kernels %v (summed over threads)\n", runs, wall.Round(time.Microsecond), total.Round(time.Microsecond))
	fmt.Fprintf(&b, "%-28s %-8s %7s %12s %6s\n", "op", "pass", "nodes", "kernel", "share")
	for _, o := range ops {
		dir := "forward"
		if o.Backward {
			dir = "backward"
		}
		fmt.Fprintf(&b, "%-28s %-8s %7d %12v %5.1f%%\n", o.Type, dir, o.Nodes, o.Kernel.Round(time.Microsecond), 100*float64(o.Kernel)/float64(max(total, 1)))
	}
	return b.String()
}

// Profiled returns a view of the flat graph whose session runs are traced
// into p (TensorFlow's step statistics; tracing adds a little time to each
// run). It shares everything else with fl, like WithWeights.
func (fl *Flat) Profiled(p *Profile) *Flat {
	v := *fl
	v.profile = p
	return &v
}

func (p *Profile) add(fl *Flat, md *configpb.RunMetadata, wall time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.byKey == nil {
		p.byKey = map[opKey]*OpTime{}
	}
	p.runs++
	p.wall += wall
	for _, dev := range md.GetStepStats().GetDevStats() {
		for _, ns := range dev.GetNodeStats() {
			name := ns.GetNodeName()
			typ := "?"
			if op := fl.graph.Operation(name); op != nil {
				typ = op.Type()
			} else if i := strings.IndexByte(name, ':'); i > 0 {
				if op := fl.graph.Operation(name[:i]); op != nil {
					typ = op.Type()
				}
			}
			k := opKey{typ, strings.HasPrefix(name, "saliency_bw")}
			o := p.byKey[k]
			if o == nil {
				o = &OpTime{Type: typ, Backward: k.backward}
				p.byKey[k] = o
			}
			o.Kernel += time.Duration(ns.GetOpEndRelNanos() - ns.GetOpStartRelNanos())
			o.Nodes++
		}
	}
}

// The C handles inside graft's Session, Operation and Tensor, whose first
// field each is (checked against TF_OperationName and TF_NumDims before use).
// release frees the C memory of tensors made for one session run (fed
// inputs, and fetched outputs once copied to Go) now, instead of at their
// finalizers, which run only when the Go collector notices the small Go
// objects: a batch of ImageNet activations is hundreds of megabytes of C
// memory that the Go heap does not count. graft has no Close for tensors;
// this is its finalizer, called early and then cleared. A tensor whose
// layout is not the one graft v0.10 has is left to its finalizer.
func release(ts ...*tf.Tensor) {
	for _, t := range ts {
		if t == nil {
			continue
		}
		ct := cTensor(t)
		if ct == nil || int(C.TF_NumDims(ct)) != len(t.Shape()) {
			continue
		}
		runtime.SetFinalizer(t, nil)
		C.TF_DeleteTensor(ct)
		*(**C.TF_Tensor)(unsafe.Pointer(t)) = nil
	}
}

// traceMu serialises the traced runs of the process.
var traceMu sync.Mutex

func cSession(s *tf.Session) *C.TF_Session       { return *(**C.TF_Session)(unsafe.Pointer(s)) }
func cOperation(o *tf.Operation) *C.TF_Operation { return *(**C.TF_Operation)(unsafe.Pointer(o)) }
func cTensor(t *tf.Tensor) *C.TF_Tensor          { return *(**C.TF_Tensor)(unsafe.Pointer(t)) }

// traced is one session run with FULL_TRACE run options; it returns the
// fetched float32 tensors and the run's metadata.
func (fl *Flat) traced(feeds map[tf.Output]*tf.Tensor, fetches []tf.Output) ([]*tensor.Tensor, *configpb.RunMetadata, error) {
	// TensorFlow traces one run at a time per process ("Another profiling
	// session active"): traced runs of any model take turns.
	traceMu.Lock()
	defer traceMu.Unlock()
	cOut := func(o tf.Output) (C.TF_Output, error) {
		op := cOperation(o.Op)
		if op == nil || C.GoString(C.TF_OperationName(op)) != o.Op.Name() {
			return C.TF_Output{}, fmt.Errorf("tfgraph: profile: graft's Operation layout is not the expected one")
		}
		return C.TF_Output{oper: op, index: C.int(o.Index)}, nil
	}
	n := len(feeds)
	inOuts := (*[1 << 20]C.TF_Output)(C.malloc(C.size_t(max(n, 1)) * C.size_t(unsafe.Sizeof(C.TF_Output{}))))[:n:max(n, 1)]
	defer C.free(unsafe.Pointer(&inOuts[:1][0]))
	inVals := (*[1 << 20]*C.TF_Tensor)(C.malloc(C.size_t(max(n, 1)) * C.size_t(unsafe.Sizeof(uintptr(0)))))[:n:max(n, 1)]
	defer C.free(unsafe.Pointer(&inVals[:1][0]))
	i := 0
	for o, t := range feeds {
		co, err := cOut(o)
		if err != nil {
			return nil, nil, err
		}
		ct := cTensor(t)
		if ct == nil || int(C.TF_NumDims(ct)) != len(t.Shape()) {
			return nil, nil, fmt.Errorf("tfgraph: profile: graft's Tensor layout is not the expected one")
		}
		inOuts[i], inVals[i] = co, ct
		i++
	}
	m := len(fetches)
	outOuts := (*[1 << 20]C.TF_Output)(C.malloc(C.size_t(max(m, 1)) * C.size_t(unsafe.Sizeof(C.TF_Output{}))))[:m:max(m, 1)]
	defer C.free(unsafe.Pointer(&outOuts[:1][0]))
	outVals := (*[1 << 20]*C.TF_Tensor)(C.malloc(C.size_t(max(m, 1)) * C.size_t(unsafe.Sizeof(uintptr(0)))))[:m:max(m, 1)]
	defer C.free(unsafe.Pointer(&outVals[:1][0]))
	for j, o := range fetches {
		co, err := cOut(o)
		if err != nil {
			return nil, nil, err
		}
		outOuts[j], outVals[j] = co, nil
	}
	opts, err := proto.Marshal(&configpb.RunOptions{TraceLevel: configpb.RunOptions_FULL_TRACE})
	if err != nil {
		return nil, nil, err
	}
	cOpts := C.CBytes(opts)
	defer C.free(cOpts)
	optBuf := C.TF_NewBufferFromString(cOpts, C.size_t(len(opts)))
	defer C.TF_DeleteBuffer(optBuf)
	mdBuf := C.TF_NewBuffer()
	defer C.TF_DeleteBuffer(mdBuf)
	status := C.TF_NewStatus()
	defer C.TF_DeleteStatus(status)
	var inP *C.TF_Output
	var inV **C.TF_Tensor
	if n > 0 {
		inP, inV = &inOuts[:1][0], &inVals[:1][0]
	}
	if err := fl.model.session(func(s *tf.Session) {
		C.TF_SessionRun(cSession(s), optBuf, inP, inV, C.int(n),
			&outOuts[:1][0], &outVals[:1][0], C.int(m), nil, 0, mdBuf, status)
	}); err != nil {
		return nil, nil, err
	}
	runtime.KeepAlive(feeds) // the fed tensors live until the run is over
	if C.TF_GetCode(status) != C.TF_OK {
		return nil, nil, fmt.Errorf("%s", C.GoString(C.TF_Message(status)))
	}
	out := make([]*tensor.Tensor, m)
	var convErr error
	for j := range out {
		ct := outVals[j]
		if convErr == nil {
			out[j], convErr = fromC(ct)
		}
		C.TF_DeleteTensor(ct)
	}
	if convErr != nil {
		return nil, nil, convErr
	}
	md := &configpb.RunMetadata{}
	if err := proto.Unmarshal(C.GoBytes(mdBuf.data, C.int(mdBuf.length)), md); err != nil {
		return nil, nil, fmt.Errorf("tfgraph: profile: run metadata: %w", err)
	}
	return out, md, nil
}
