//go:build cgo

package tfgraph

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/saliencykit/saliency/tensor"
	tf "github.com/wamuir/graft/tensorflow"
	corepb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"
)

// DefaultTag and DefaultSignature are what Keras' model.export() writes.
const (
	DefaultTag       = "serve"
	DefaultSignature = "serving_default"
)

// Options configure Load. The zero value loads tag "serve", signature
// "serving_default", with TensorFlow's default thread pools.
type Options struct {
	// Tags select the MetaGraph (default: ["serve"]).
	Tags []string
	// Signature names the SignatureDef to run (default: "serving_default").
	Signature string
	// Output names the signature output, by key, that holds the scores to
	// explain (default: the first key in sorted order, e.g. "output_0").
	// Model.Output, Model.Forward, Flat.Output and Flat.Logits follow it.
	Output string
	// IntraOpThreads and InterOpThreads size TensorFlow's thread pools; 0 keeps
	// TensorFlow's default (one thread per core). The pools are process-wide:
	// the first session created in a process sets them.
	IntraOpThreads, InterOpThreads int
	// KerasLayers, when given (from a model card), complete the flat graph's
	// layers with those that have no ops at inference, as aliases, and put
	// them in Keras' order (Flat.SetKerasLayers).
	KerasLayers []KerasLayer
	// Unnamed, when given (from a model card's unnamed_layers), are names
	// no layer has with why (a converted model's torch modules whose output
	// no layer computes): Flat.Layer gives the reason for them.
	Unnamed map[string]string
	// Grappler runs TensorFlow's graph optimizer on the session. It is off
	// by default: on ResNet50 and InceptionV3 it doubles the time to load a
	// model and to its first gradient (6.2 s and 2.6 s against 3.5 s and
	// 1.0 s on ResNet50, 2 cores) and the steady gradient is the same to
	// within the noise; on VGG16 it used to constant-fold every weight.
	Grappler bool
	// ConvBackward chooses how stride-1 convolutions are differentiated:
	// by default (ConvBackwardAuto) TensorFlow's own kernels on Intel CPUs
	// and forward convolutions of the flipped kernels elsewhere, whichever
	// was the faster there; ConvBackwardExact for gradients bit-identical
	// to tf.GradientTape's on any machine. Model.ConvBackward says which
	// one a model uses.
	ConvBackward ConvBackward
}

// ConvBackward is how the model's backward passes differentiate stride-1
// convolutions: Options.ConvBackward as resolved for this machine,
// ConvBackwardDerived or ConvBackwardExact.
func (m *Model) ConvBackward() ConvBackward { return m.convBackward }

// TensorInfo describes one input or output of a signature.
type TensorInfo struct {
	Key   string  // the signature's key, e.g. "image" or "output_0"
	Name  string  // the graph tensor, "op:index"
	DType string  // numpy-style name: "float32", "int64", …
	Shape []int64 // -1 for an unknown dimension; nil for an unknown rank
}

// String formats the tensor as `key: float32[-1,28,28,1] (op:0)`.
func (t TensorInfo) String() string {
	return fmt.Sprintf("%s: %s%s (%s)", t.Key, t.DType, shapeString(t.Shape), t.Name)
}

// SignatureInfo describes a SignatureDef; Inputs and Outputs are sorted by key.
type SignatureInfo struct {
	Name            string
	Method          string
	Inputs, Outputs []TensorInfo
}

// Model is a loaded SavedModel with one reused session. Its methods are safe
// for concurrent use (TensorFlow sessions are).
type Model struct {
	// Dir is the SavedModel folder.
	Dir string
	// Tags of the loaded MetaGraph.
	Tags []string
	// TensorFlowVersion that wrote the SavedModel.
	TensorFlowVersion string
	// Signature is the selected signature; Signatures lists every one, sorted.
	Signature  SignatureInfo
	Signatures []SignatureInfo

	saved   *tf.SavedModel
	meta    *corepb.MetaGraphDef
	inputs  []tf.Output
	outputs []tf.Output
	quiet   firstRunFilter // the first run of each set of feeds and fetches may log; later ones do not
	opts    Options
	outIdx  int // the selected output (Options.Output)
	// channelAdded says that the signature's input is a grayscale image
	// batch without a channel axis, [N,H,W] (as Keras' Flatten(input_shape=
	// (28, 28)) models take): Signature.Inputs[0] says [N,H,W,1], the shape
	// every caller feeds, and the runs feed the same values as [N,H,W].
	channelAdded bool
	// convBackward is Options.ConvBackward resolved for this machine:
	// ConvBackwardDerived or ConvBackwardExact.
	convBackward ConvBackward

	// seq numbers the graphs added to the loaded graph (backward graphs,
	// softplus copies, oracles), whose names must be unique in it.
	seq atomic.Int64

	flatOnce sync.Once
	flat     *Flat
	flatErr  error
	// life is held (read) by every session run and graph build and
	// (write) by Close, which so waits for them; saved is nil once closed.
	life sync.RWMutex
}

// Load opens the SavedModel in dir. Errors name the folder and, for a wrong tag
// or signature, list what the SavedModel holds.
func Load(dir string, opts *Options) (*Model, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if len(o.Tags) == 0 {
		o.Tags = []string{DefaultTag}
	}
	if o.Signature == "" {
		o.Signature = DefaultSignature
	}
	if o.ConvBackward < ConvBackwardAuto || o.ConvBackward > ConvBackwardExact {
		return nil, fmt.Errorf("tfgraph: load %s: Options.ConvBackward %d: want ConvBackwardAuto, ConvBackwardDerived or ConvBackwardExact", dir, int(o.ConvBackward))
	}
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("tfgraph: load %s: no such folder", dir)
	case err != nil:
		return nil, fmt.Errorf("tfgraph: load %s: %w", dir, err)
	case !st.IsDir():
		return nil, fmt.Errorf("tfgraph: load %s: not a folder (a SavedModel is a folder holding saved_model.pb)", dir)
	}
	meta, tagSets, err := readMetaGraph(dir, o.Tags)
	if err != nil {
		return nil, err
	}
	if meta == nil {
		return nil, fmt.Errorf("tfgraph: load %s: no MetaGraph has tags %s; tag sets: %s",
			dir, tagString(o.Tags), strings.Join(tagSets, ", "))
	}
	sigs := signatureInfos(meta)
	var chosen *SignatureInfo
	var names []string
	for i := range sigs {
		names = append(names, sigs[i].Name)
		if sigs[i].Name == o.Signature {
			chosen = &sigs[i]
		}
	}
	if chosen == nil {
		return nil, fmt.Errorf("tfgraph: load %s: no signature %q; signatures: %s", dir, o.Signature, strings.Join(names, ", "))
	}
	if len(chosen.Inputs) == 0 || len(chosen.Outputs) == 0 {
		return nil, fmt.Errorf("tfgraph: load %s: signature %q has %d inputs and %d outputs", dir, o.Signature, len(chosen.Inputs), len(chosen.Outputs))
	}
	outIdx := 0
	if o.Output != "" {
		i, ok := find(chosen.Outputs, o.Output)
		if !ok {
			return nil, fmt.Errorf("tfgraph: load %s: signature %q has no output %q; outputs: %s", dir, o.Signature, o.Output, keys(chosen.Outputs))
		}
		outIdx = i
	}
	if err := checkVariables(dir, meta); err != nil {
		return nil, err
	}
	sessOpts, err := sessionOptions(o)
	if err != nil {
		return nil, err
	}
	var saved *tf.SavedModel
	filterTFLogs(func() { saved, err = tf.LoadSavedModel(dir, o.Tags, sessOpts) })
	if err != nil {
		return nil, fmt.Errorf("tfgraph: load %s: %s", dir, firstLine(err.Error()))
	}
	m := &Model{
		Dir:               dir,
		Tags:              o.Tags,
		TensorFlowVersion: meta.GetMetaInfoDef().GetTensorflowVersion(),
		Signature:         *chosen,
		Signatures:        sigs,
		saved:             saved,
		meta:              meta,
		opts:              o,
		outIdx:            outIdx,
		convBackward:      o.ConvBackward.Resolve(),
	}
	if err := m.restoreCaptured(); err != nil {
		saved.Session.Close()
		return nil, err
	}
	if in := chosen.Inputs[0]; len(chosen.Inputs) == 1 && len(in.Shape) == 3 {
		in.Shape = append(slices.Clone(in.Shape), 1)
		m.Signature.Inputs = []TensorInfo{in}
		m.channelAdded = true
	}
	for _, in := range chosen.Inputs {
		out, err := m.output(in.Name)
		if err != nil {
			saved.Session.Close()
			return nil, err
		}
		m.inputs = append(m.inputs, out)
	}
	for _, fetch := range chosen.Outputs {
		out, err := m.output(fetch.Name)
		if err != nil {
			saved.Session.Close()
			return nil, err
		}
		m.outputs = append(m.outputs, out)
	}
	return m, nil
}

// Close releases the session. The model is unusable afterwards.
//
// Close waits for the runs in progress; every later call on the model, its
// flat graph or a view of it returns an error wrapping ErrClosed. Closing
// twice is harmless.
func (m *Model) Close() error {
	m.life.Lock()
	defer m.life.Unlock()
	if m.saved == nil {
		return nil
	}
	err := m.saved.Session.Close()
	m.saved = nil
	return err
}

// session runs f with the loaded session while Close waits; after Close it
// returns ErrClosed without running f.
func (m *Model) session(f func(s *tf.Session)) error {
	m.life.RLock()
	defer m.life.RUnlock()
	if m.saved == nil {
		return fmt.Errorf("tfgraph: %s: %w", m.Dir, ErrClosed)
	}
	f(m.saved.Session)
	return nil
}

// Input describes the signature's first (for image classifiers, only) input.
// A grayscale input without a channel axis, [N,H,W], is described, fed and
// differentiated as [N,H,W,1] (ChannelAdded).
func (m *Model) Input() TensorInfo { return m.Signature.Inputs[0] }

// ChannelAdded says whether the signature's input is [N,H,W], a grayscale
// image batch without a channel axis, which Input describes as [N,H,W,1]:
// every tensor fed to the model, and every gradient with respect to its
// input, has the channel axis of size 1.
func (m *Model) ChannelAdded() bool { return m.channelAdded }

// Output describes the signature output that holds the scores: the one
// Options.Output names, or the first.
func (m *Model) Output() TensorInfo { return m.Signature.Outputs[m.outIdx] }

// Forward runs a batch through the signature and returns its selected output
// (Output). x must match the first input's shape (unknown dimensions are
// free; a fixed batch size takes any number of images, fed in chunks of
// that size: FixedBatch); an input of another dtype is fed converted (toTFAs: a uint8 input
// takes whole numbers only). A model with more inputs needs Run.
func (m *Model) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	if len(m.inputs) != 1 {
		return nil, fmt.Errorf("tfgraph: %s: signature %q has %d inputs; use Run", m.Dir, m.Signature.Name, len(m.inputs))
	}
	outs, err := m.Run(map[string]*tensor.Tensor{m.Signature.Inputs[0].Key: x}, m.Output().Key)
	if err != nil {
		return nil, err
	}
	return outs[0], nil
}

// Run feeds the signature inputs named by key and fetches the named outputs
// (all of them, in signature order, when none are named). A one-input
// signature of a fixed batch size (FixedBatch) takes any number of images,
// run in chunks of that size.
func (m *Model) Run(inputs map[string]*tensor.Tensor, outputs ...string) ([]*tensor.Tensor, error) {
	if b := m.FixedBatch(); b > 0 && len(inputs) == 1 && len(m.Signature.Inputs) == 1 {
		if x := inputs[m.Signature.Inputs[0].Key]; inChunks(x, b) {
			return inFixedBatches(m.Dir, x, b, nil, func(chunk *tensor.Tensor, _, _ int) ([]*tensor.Tensor, error) {
				return m.Run(map[string]*tensor.Tensor{m.Signature.Inputs[0].Key: chunk}, outputs...)
			})
		}
	}
	feeds := make(map[tf.Output]*tf.Tensor, len(inputs))
	defer func() {
		for _, t := range feeds {
			release(t)
		}
	}()
	for i, in := range m.Signature.Inputs {
		x, ok := inputs[in.Key]
		if !ok {
			return nil, fmt.Errorf("tfgraph: %s: input %q not fed", m.Dir, in.Key)
		}
		if err := checkInput(in, x); err != nil {
			return nil, fmt.Errorf("tfgraph: %s: %w", m.Dir, err)
		}
		if m.channelAdded {
			x = &tensor.Tensor{Shape: x.Shape[:3], Data: x.Data}
		}
		t, err := toTFAs(x, m.inputs[i].DataType())
		if err != nil {
			return nil, fmt.Errorf("tfgraph: %s: input %q: %w", m.Dir, in.Key, err)
		}
		feeds[m.inputs[i]] = t
	}
	if len(inputs) != len(m.Signature.Inputs) {
		for k := range inputs {
			if _, ok := find(m.Signature.Inputs, k); !ok {
				return nil, fmt.Errorf("tfgraph: %s: signature %q has no input %q; inputs: %s", m.Dir, m.Signature.Name, k, keys(m.Signature.Inputs))
			}
		}
	}
	var fetches []tf.Output
	if len(outputs) == 0 {
		fetches = m.outputs
	} else {
		for _, k := range outputs {
			i, ok := find(m.Signature.Outputs, k)
			if !ok {
				return nil, fmt.Errorf("tfgraph: %s: signature %q has no output %q; outputs: %s", m.Dir, m.Signature.Name, k, keys(m.Signature.Outputs))
			}
			fetches = append(fetches, m.outputs[i])
		}
	}
	var res []*tf.Tensor
	var err error
	if e := m.session(func(s *tf.Session) {
		m.quiet.do(runKey(feeds, fetches, nil), func() { res, err = s.Run(feeds, fetches, nil) })
	}); e != nil {
		return nil, e
	}
	if err != nil {
		return nil, fmt.Errorf("tfgraph: %s: run: %s", m.Dir, firstLine(err.Error()))
	}
	defer release(res...)
	out := make([]*tensor.Tensor, len(res))
	for i, t := range res {
		if out[i], err = fromTFFloat(t); err != nil {
			return nil, fmt.Errorf("tfgraph: %s: output %s: %w", m.Dir, fetches[i].Op.Name(), err)
		}
	}
	return out, nil
}

func (m *Model) output(name string) (tf.Output, error) {
	op, idx, err := parseTensorName(name)
	if err != nil {
		return tf.Output{}, fmt.Errorf("tfgraph: %s: %w", m.Dir, err)
	}
	o := m.saved.Graph.Operation(op)
	if o == nil {
		return tf.Output{}, fmt.Errorf("tfgraph: %s: signature tensor %s: no operation %q in the graph", m.Dir, name, op)
	}
	if idx >= o.NumOutputs() {
		return tf.Output{}, fmt.Errorf("tfgraph: %s: signature tensor %s: %s has %d outputs", m.Dir, name, op, o.NumOutputs())
	}
	return o.Output(idx), nil
}

func checkInput(in TensorInfo, x *tensor.Tensor) error {
	if x == nil {
		return fmt.Errorf("input %q: nil tensor", in.Key)
	}
	switch in.DType {
	case "float32", "float16", "bfloat16", "float64", "uint8", "int8", "uint16", "int16", "int32", "int64":
	default:
		return fmt.Errorf("input %q is %s; tfgraph feeds floating-point and integer tensors", in.Key, in.DType)
	}
	if len(x.Data) != tensor.Size(x.Shape) {
		return fmt.Errorf("input %q: shape %v needs %d values, got %d", in.Key, x.Shape, tensor.Size(x.Shape), len(x.Data))
	}
	if in.Shape == nil {
		return nil
	}
	ok := len(in.Shape) == len(x.Shape)
	for i := 0; ok && i < len(x.Shape); i++ {
		ok = in.Shape[i] < 0 || in.Shape[i] == int64(x.Shape[i])
	}
	if !ok {
		return fmt.Errorf("input %q wants shape %s, got %s", in.Key, shapeString(in.Shape), shapeString(ints64(x.Shape)))
	}
	return nil
}

func toTF(x *tensor.Tensor) (*tf.Tensor, error) {
	var raw []byte
	if len(x.Data) > 0 {
		raw = unsafe.Slice((*byte)(unsafe.Pointer(&x.Data[0])), 4*len(x.Data))
	}
	t, err := tf.ReadTensor(tf.Float, ints64(x.Shape), bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("tfgraph: tensor %v: %w", x.Shape, err)
	}
	return t, nil
}

func fromTF(t *tf.Tensor) (*tensor.Tensor, error) {
	if t.DataType() != tf.Float {
		return nil, fmt.Errorf("dtype %s, want float32", dtypeName(corepbDataType(t.DataType())))
	}
	shape := make([]int, len(t.Shape()))
	for i, d := range t.Shape() {
		shape[i] = int(d)
	}
	out := &tensor.Tensor{Shape: shape, Data: make([]float32, tensor.Size(shape))}
	if len(out.Data) > 0 {
		raw := unsafe.Slice((*byte)(unsafe.Pointer(&out.Data[0])), 4*len(out.Data))
		var buf fixedWriter = raw
		if _, err := t.WriteContentsTo(&buf); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// fixedWriter writes into a preallocated byte slice.
type fixedWriter []byte

func (w *fixedWriter) Write(p []byte) (int, error) {
	if len(p) > len(*w) {
		return 0, fmt.Errorf("tensor larger than its shape")
	}
	n := copy(*w, p)
	*w = (*w)[n:]
	return n, nil
}

func readMetaGraph(dir string, tags []string) (*corepb.MetaGraphDef, []string, error) {
	path := filepath.Join(dir, "saved_model.pb")
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if _, err2 := os.Stat(filepath.Join(dir, "saved_model.pbtxt")); err2 == nil {
			return nil, nil, fmt.Errorf("tfgraph: load %s: saved_model.pbtxt (text format) is not supported; re-export with model.export()", dir)
		}
		return nil, nil, fmt.Errorf("tfgraph: load %s: not a SavedModel (no saved_model.pb)", dir)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("tfgraph: load %s: %w", dir, err)
	}
	var sm corepb.SavedModel
	if err := proto.Unmarshal(raw, &sm); err != nil {
		return nil, nil, fmt.Errorf("tfgraph: load %s: saved_model.pb is not a SavedModel protocol buffer: %v", dir, err)
	}
	if len(sm.GetMetaGraphs()) == 0 {
		return nil, nil, fmt.Errorf("tfgraph: load %s: saved_model.pb holds no MetaGraph", dir)
	}
	var sets []string
	for _, mg := range sm.GetMetaGraphs() {
		have := mg.GetMetaInfoDef().GetTags()
		sets = append(sets, tagString(have))
		if sameSet(have, tags) {
			return mg, sets, nil
		}
	}
	return nil, sets, nil
}

// checkVariables refuses a SavedModel whose graph restores variables from a
// checkpoint that is not there: TensorFlow would load it and fail at the first run.
func checkVariables(dir string, meta *corepb.MetaGraphDef) error {
	if meta.GetSaverDef() == nil {
		return nil
	}
	hasVars := false
	for _, n := range meta.GetGraphDef().GetNode() {
		if n.GetOp() == "VarHandleOp" || n.GetOp() == "VariableV2" {
			hasVars = true
			break
		}
	}
	if !hasVars {
		return nil
	}
	index := filepath.Join(dir, "variables", "variables.index")
	if _, err := os.Stat(index); err != nil {
		return fmt.Errorf("tfgraph: load %s: the graph has variables but variables/variables.index is missing", dir)
	}
	return checkBundle(dir)
}

func signatureInfos(meta *corepb.MetaGraphDef) []SignatureInfo {
	var out []SignatureInfo
	for name, sd := range meta.GetSignatureDef() {
		if strings.HasPrefix(name, "__") {
			continue // __saved_model_init_op and other internals
		}
		s := SignatureInfo{Name: name, Method: sd.GetMethodName()}
		s.Inputs = tensorInfos(sd.GetInputs())
		s.Outputs = tensorInfos(sd.GetOutputs())
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func tensorInfos(m map[string]*corepb.TensorInfo) []TensorInfo {
	var out []TensorInfo
	for k, ti := range m {
		info := TensorInfo{Key: k, Name: ti.GetName(), DType: dtypeName(ti.GetDtype())}
		if sh := ti.GetTensorShape(); sh != nil && !sh.GetUnknownRank() {
			info.Shape = []int64{}
			for _, d := range sh.GetDim() {
				info.Shape = append(info.Shape, d.GetSize())
			}
		}
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

func sessionOptions(o Options) (*tf.SessionOptions, error) {
	if o.IntraOpThreads < 0 || o.InterOpThreads < 0 {
		return nil, fmt.Errorf("tfgraph: thread counts must be ≥ 0, got intra %d inter %d", o.IntraOpThreads, o.InterOpThreads)
	}
	cfg := &corepb.ConfigProto{
		IntraOpParallelismThreads: int32(o.IntraOpThreads),
		InterOpParallelismThreads: int32(o.InterOpThreads),
	}
	if !o.Grappler {
		cfg.GraphOptions = &corepb.GraphOptions{RewriteOptions: &corepb.RewriterConfig{DisableMetaOptimizer: true}}
	}
	raw, err := proto.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("tfgraph: session config: %w", err)
	}
	return &tf.SessionOptions{Config: raw}, nil
}

func parseTensorName(name string) (string, int, error) {
	op, idx := name, 0
	if i := strings.LastIndexByte(name, ':'); i >= 0 {
		n, err := strconv.Atoi(name[i+1:])
		if err != nil {
			return "", 0, fmt.Errorf("tensor name %q: bad output index", name)
		}
		op, idx = name[:i], n
	}
	if op == "" {
		return "", 0, fmt.Errorf("tensor name %q: empty operation name", name)
	}
	return op, idx, nil
}

func find(infos []TensorInfo, key string) (int, bool) {
	for i, t := range infos {
		if t.Key == key {
			return i, true
		}
	}
	return 0, false
}

func keys(infos []TensorInfo) string {
	var ks []string
	for _, t := range infos {
		ks = append(ks, t.Key)
	}
	return strings.Join(ks, ", ")
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	x := append([]string(nil), a...)
	y := append([]string(nil), b...)
	sort.Strings(x)
	sort.Strings(y)
	for i := range x {
		if x[i] != y[i] {
			return false
		}
	}
	return true
}

func tagString(tags []string) string { return "[" + strings.Join(tags, ",") + "]" }

func shapeString(s []int64) string {
	if s == nil {
		return "[?]"
	}
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = strconv.FormatInt(d, 10)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func ints64(s []int) []int64 {
	out := make([]int64, len(s))
	for i, d := range s {
		out[i] = int64(d)
	}
	return out
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// Version is the version of the TensorFlow library in use.
func Version() string { return tf.Version() }
