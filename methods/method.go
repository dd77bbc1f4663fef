package methods

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
	"gopkg.in/yaml.v3"
)

// Method computes saliency maps.
type Method interface {
	// Name is the name the method is registered under.
	Name() string
	// Explain computes the maps of batch b for target t on model m.
	Explain(ctx context.Context, m Model, b Batch, t Target) (*Maps, error)
}

// Model is what a method needs of a classifier: *tfgraph.Flat implements it
// (and so does a view of it with fed weights).
type Model interface {
	// Run performs one query (forward fetches and backward signals) in one
	// session run.
	Run(ctx context.Context, x *tensor.Tensor, q tfgraph.Query) (*tfgraph.Result, error)
	// Logits is the default score tensor, and whether it is the input of
	// a final activation in the graph (Head).
	Logits() (string, bool)
	// Head is how the logits become probabilities, the model's final
	// activation: "softmax", "log_softmax", "sigmoid" (a multi-label or
	// binary head; with Logits' second value false, logits of independent
	// labels that the graph leaves without the sigmoid) or "".
	Head() string
	// Output is the signature's output tensor (the probabilities, behind a
	// head).
	Output() string
	// HeadOutput is the tensor of the head's own values (the probabilities
	// of a softmax or sigmoid head): Output, unless the model maps them
	// further (a softmax in percent, a clipped probability).
	HeadOutput() string
	// Layer finds a layer by its Keras name; CAMLayer is the default layer of
	// CAM methods.
	Layer(name string) (tfgraph.Layer, error)
	CAMLayer() (tfgraph.Layer, error)
	// TokenGrid is the patch grid of a token layer [N,T,D] (spec "HxW" or
	// "HxW+P", or "" to infer it).
	TokenGrid(l tfgraph.Layer, spec string) (tfgraph.Grid, error)
	// Attentions lists the attention matrices of a transformer.
	Attentions() []tfgraph.Attention
	// GAPHead finds the global-average-pooling head CAM needs.
	GAPHead() (tfgraph.GAPHead, error)
	// Shape is the static shape of a flat tensor.
	Shape(tensor string) []int64
	// BytesPerImage estimates the memory of one example in a run.
	BytesPerImage() int64
}

// Batch is what a method explains.
type Batch struct {
	// X holds the preprocessed images [N,H,W,C].
	X *tensor.Tensor
	// Black and White are the model-input values of a black and a white
	// pixel, one per channel (nil: 0 and 1, inputs in [0,1]). Baselines,
	// fills and clipping use them.
	Black, White []float32
	// BGR says the model's colour channels are blue, green, red (a card's
	// input.color bgr): segmentations, which read colour, take them back to
	// RGB.
	BGR bool
}

// Target says what to explain.
type Target struct {
	// Classes is the class of each image (nil: the predicted class).
	Classes []int
	// Layer is the Keras layer of layer methods (CAM, Grad-CAM, …; "": the
	// model's CAM layer).
	Layer string
	// Grid is the patch grid of a token layer [N,T,D] of a vision
	// transformer, "HxW" or "HxW+P" with P leading tokens (class token,
	// registers) that are dropped; "": inferred from T and the input size.
	// CAM methods reshape the patch tokens to [N,H,W,D].
	Grid string
	// Score is the flat tensor [batch, classes] whose entries are explained
	// ("": the logits, the input of a final softmax if there is one).
	Score string
	// Probability explains the model's output probabilities (its softmax or
	// sigmoid) instead of the logits.
	Probability bool
	// Unit, when set, is what is explained instead of a class: a channel,
	// neuron or direction of a layer (Classes, Score and Probability must
	// be unset). UnitMethods lists the methods that take it.
	Unit *Unit
}

// Maps is what a method returns for a batch of N images.
type Maps struct {
	// Method is the registered name of the method.
	Method string
	// Map is the saliency map [N,H,W] at input resolution.
	Map *tensor.Tensor
	// Signed says whether Map keeps a sign (shown with a diverging colour
	// map) or is non-negative.
	Signed bool
	// Raw is the per-channel attribution [N,H,W,C] of input-space methods
	// (nil for CAM methods and occlusion).
	Raw *tensor.Tensor
	// LowRes is the map [N,h,w] at the layer's resolution, before
	// upsampling, for CAM methods (nil otherwise).
	LowRes *tensor.Tensor
	// Layer is the Keras layer of CAM methods.
	Layer string
	// Classes and Scores are the class explained for each image and its
	// score S_c(I).
	Classes []int
	Scores  []float32
	// Info holds per-image diagnostics by name (e.g.
	// "completeness-error" of Integrated Gradients).
	Info map[string][]float64
}

// NonFinite returns the first image whose score or map holds a NaN or an
// infinity, and what holds it ("score NaN", "map +Inf"); -1 when every
// value is finite. A model that cannot take an input (the log of a black
// pixel) gives such scores, and every map of them is meaningless.
func (m *Maps) NonFinite() (int, string) {
	if i := tensor.FirstNonFinite(m.Scores); i >= 0 {
		return i, fmt.Sprintf("score %v", m.Scores[i])
	}
	for _, t := range []*tensor.Tensor{m.Map, m.Raw, m.LowRes} {
		if t == nil || len(t.Shape) == 0 || t.Shape[0] == 0 {
			continue
		}
		if j := tensor.FirstNonFinite(t.Data); j >= 0 {
			return j / (t.Len() / t.Shape[0]), fmt.Sprintf("map value %v", t.Data[j])
		}
	}
	return -1, ""
}

// RuleUser is implemented by the methods whose backward pass uses a rule set
// other than the plain gradient (Guided Backprop, DeconvNet, Guided
// Grad-CAM, and SmoothGrad around one of them), so that a caller can report
// where the rule set changes nothing (tfgraph.Flat.RuleCoverage).
type RuleUser interface {
	RuleSet() *tfgraph.RuleSet
}

// NotApplicableError is returned when a method cannot run on a model: an op
// on its backward path has no rule, or the model lacks a structure the method
// needs (the GAP head of CAM). Err, the cause, is a *tfgraph.NoRuleError, a
// *tfgraph.NotApplicableError, or an error of this package.
type NotApplicableError struct {
	Method string
	Err    error
}

func (e *NotApplicableError) Error() string {
	return fmt.Sprintf("methods: %s does not apply: %v", e.Method, e.Err)
}

func (e *NotApplicableError) Unwrap() error { return e.Err }

// notApplicable wraps err in a *NotApplicableError when it says the model
// lacks something.
func notApplicable(method string, err error) error {
	var nr *tfgraph.NoRuleError
	var na *tfgraph.NotApplicableError
	if errors.As(err, &nr) || errors.As(err, &na) {
		return &NotApplicableError{Method: method, Err: err}
	}
	return err
}

// factories holds the registered methods.
var factories = map[string]func() Method{}

// Register makes a method available by name; f returns it with its default
// options. It panics on a duplicate name (a programming error).
func Register(name string, f func() Method) {
	if _, dup := factories[name]; dup {
		panic("methods: Register called twice for " + name)
	}
	factories[name] = f
}

// order is the order of the lecture and its peers: gradients, their
// smoothed and path-integrated forms, the modified backward passes, the CAM
// family (FullGrad, its multi-layer relative, last), the forward-only
// methods, class model and feature visualisation.
var order = []string{
	"gradient", "smoothgrad", "squaregrad", "vargrad", "gradient-x-input", "integrated-gradients",
	"guided-ig", "blur-ig", "expected-gradients", "gradient-shap", "xrai", "deconvnet", "guided-backprop", "lrp", "deeplift", "deepshap", "cam", "gradcam", "guided-gradcam", "gradcam++", "layercam",
	"hirescam", "xgradcam", "scorecam", "ablationcam", "eigencam", "fullgrad", "attention-rollout", "occlusion",
	"rise", "sobol", "hsic", "lime", "kernel-shap", "class-model", "feature-visualization",
}

// Names lists the registered methods: the built-in ones in the lecture's
// order (gradient first, feature-visualization last), then any others by
// name.
func Names() []string {
	names := make([]string, 0, len(factories))
	for n := range factories {
		names = append(names, n)
	}
	rank := func(n string) int {
		if i := slices.Index(order, n); i >= 0 {
			return i
		}
		return len(order)
	}
	sort.Slice(names, func(i, j int) bool {
		if ri, rj := rank(names[i]), rank(names[j]); ri != rj {
			return ri < rj
		}
		return names[i] < names[j]
	})
	return names
}

// New returns the method registered under name with the given options (the
// fields of its type, by their YAML names; nil for the defaults). Unknown
// names, unknown options, options of the wrong type and invalid values are
// errors that name them. The options are written as YAML once and decoded
// as Decode decodes an experiment's (so a Go value reaches a field as YAML
// would give it); an experiment's options go to Decode from their node.
func New(name string, options map[string]any) (Method, error) {
	if _, ok := factories[name]; !ok {
		return nil, fmt.Errorf("methods: unknown method %q; methods: %s", name, strings.Join(Names(), ", "))
	}
	var n *yaml.Node
	if len(options) > 0 {
		raw, err := yaml.Marshal(options)
		if err != nil {
			return nil, fmt.Errorf("methods: %s: options: %w", name, err)
		}
		n = new(yaml.Node)
		if err := yaml.Unmarshal(raw, n); err != nil {
			return nil, fmt.Errorf("methods: %s: options: %w", name, err)
		}
	}
	return Decode(name, n)
}

// finiteOptions rejects a NaN or infinite value in any float option (YAML's
// .nan and .inf), which no method's own checks of ranges would catch.
func finiteOptions(method string, v reflect.Value) error {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return nil
	}
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, flags, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		fv := v.Field(i)
		if strings.Contains(flags, "inline") {
			if err := finiteOptions(method, fv); err != nil {
				return err
			}
			continue
		}
		for fv.Kind() == reflect.Pointer && !fv.IsNil() {
			fv = fv.Elem()
		}
		var vals []float64
		switch fv.Kind() {
		case reflect.Float32, reflect.Float64:
			vals = []float64{fv.Float()}
		case reflect.Slice, reflect.Array:
			if k := fv.Type().Elem().Kind(); k == reflect.Float32 || k == reflect.Float64 {
				for j := 0; j < fv.Len(); j++ {
					vals = append(vals, fv.Index(j).Float())
				}
			}
		}
		for _, x := range vals {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return &OptionError{Method: method, Options: []string{name}, Msg: fmt.Sprintf("option %s is %v; want a finite number", name, x)}
			}
		}
	}
	return nil
}

// optionError rewrites a YAML decoding error of options as one line that
// names the option, and lists the method's options for an unknown one.
func optionError(err error, m Method) string {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return "options: " + strings.TrimPrefix(err.Error(), "yaml: ")
	}
	var msgs []string
	for _, e := range te.Errors {
		e = lineNumber.ReplaceAllString(e, "")
		if f, ok := strings.CutPrefix(e, "field "); ok {
			if name, _, ok := strings.Cut(f, " not found in type"); ok {
				e = fmt.Sprintf("unknown option %q; options: %s", name, strings.Join(Options(m), ", "))
			}
		}
		msgs = append(msgs, e)
	}
	return strings.Join(msgs, "; ")
}

var lineNumber = regexp.MustCompile(`^line \d+: `)

// Options lists the option names of a method (its YAML fields), in the
// order of its type.
func Options(m Method) []string {
	var out []string
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := f.Tag.Get("yaml")
			name, flags, _ := strings.Cut(tag, ",")
			switch {
			case tag == "-" || !f.IsExported():
			case strings.Contains(flags, "inline"):
				walk(f.Type)
			case name != "":
				out = append(out, name)
			}
		}
	}
	walk(reflect.TypeOf(m))
	return out
}

// Chunking bounds the memory of one session run. Methods that put many
// examples through the model (samples, steps, masks, patches, or simply many
// images) split them into chunks of at most MemoryMB of estimated
// activations each, and at most MaxChunk examples. A run with a backward
// pass under the gradient family's rule sets is estimated at what it keeps
// for the backward pass where the model says (GradientSizer: 89 MiB per
// ResNet50 example, about 45 measured: 11 examples a run), under other rule
// sets at all its activations (Model.BytesPerImage: 222 MiB), a forward-only run
// at the most it holds at once where the model says (ForwardSizer: 9.2 MiB,
// 8.1 measured). That estimate is close, so forward-only runs take a
// quarter of the budget (ForwardShare): both kinds of run then hold about
// the same real memory, 27 ResNet50 examples a forward run in the default
// 1 GiB.
type Chunking struct {
	// MemoryMB is the budget of one session run in MiB (default 1024).
	MemoryMB int `yaml:"memory_mb"`
}

// DefaultMemoryMB is the default budget of one session run.
const DefaultMemoryMB = 1024

func (c Chunking) validate(method string) error {
	if c.MemoryMB < 0 {
		return optionErr(method, []string{"memory_mb"}, "memory_mb must be ≥ 0, got %d", c.MemoryMB)
	}
	return nil
}

// budget is the method's Chunking (promoted to the methods that embed it).
func (c Chunking) budget() Chunking { return c }

// Size is the number of examples per session run for model m: as many as
// MemoryMB of estimated activations (m.BytesPerImage) holds, at most
// MaxChunk, at least 1. Callers outside the package size their own forward
// runs with it (Chunking{}.Size(m): the default budget).
func (c Chunking) Size(m Model) int { return c.size(m) }

// ForwardSizer is a Model that estimates apart the memory an example takes
// in a run without a backward pass (tfgraph.Flat does).
type ForwardSizer interface {
	ForwardBytesPerImage() int64
}

// ForwardShare is the share of the memory budget a forward-only run takes
// when the model estimates it apart (ForwardSizer). Measured on ResNet50 at
// batch 8 against Xplique 2.0.2 (bench/PATH_BLACKBOX.md): with 111 examples
// a run (the whole budget) RISE, HSIC and LIME took 0.72–1.06× Xplique's
// time at 1.20–1.26× its peak RSS; with 32 (300 MiB) 0.89–0.98× its time at
// 0.70× its RSS; with 4 (the backward estimate) 1.08–1.16× its time.
const ForwardShare = 4

// forwardSize is the number of examples per forward-only session run for
// model m: a quarter of the budget (ForwardShare) by the model's forward
// estimate where it has one, as size otherwise.
func (c Chunking) forwardSize(m Model) int {
	fs, ok := m.(ForwardSizer)
	if !ok || fs.ForwardBytesPerImage() <= 0 {
		return c.size(m)
	}
	mb := c.MemoryMB
	if mb == 0 {
		mb = DefaultMemoryMB
	}
	return int(min(MaxChunk, max(1, int64(mb)<<20/ForwardShare/fs.ForwardBytesPerImage())))
}

// GradientSizer is a Model that estimates apart the memory an example
// takes in a run with a backward pass under the rule sets of
// tfgraph.RuleSets, the gradient family (tfgraph.Flat does).
type GradientSizer interface {
	GradientBytesPerImage() int64
}

// gradSize is the number of examples per session run for model m of a run
// whose backward passes take only the rule sets of tfgraph.RuleSets (nil is
// tfgraph.Plain): as many as the budget holds by the model's estimate for
// those (GradientSizer: on ResNet50 11 examples in the default 1 GiB, whose
// gradient at batch 8 then takes one run instead of two and 14% less
// time), as size otherwise. Other rule sets (LRP's read the input of every
// layer) are sized by all the activations (size).
func (c Chunking) gradSize(m Model, rules ...*tfgraph.RuleSet) int {
	gs, ok := m.(GradientSizer)
	if !ok || gs.GradientBytesPerImage() <= 0 {
		return c.size(m)
	}
	for _, r := range rules {
		if r != nil && !slices.Contains(tfgraph.RuleSets, r) {
			return c.size(m)
		}
	}
	mb := c.MemoryMB
	if mb == 0 {
		mb = DefaultMemoryMB
	}
	return int(min(MaxChunk, max(1, int64(mb)<<20/gs.GradientBytesPerImage())))
}

// size is the number of examples per session run for model m.
func (c Chunking) size(m Model) int {
	mb := c.MemoryMB
	if mb == 0 {
		mb = DefaultMemoryMB
	}
	per := max(m.BytesPerImage(), 1)
	return int(min(MaxChunk, max(1, int64(mb)<<20/per)))
}

// MaxChunk bounds the examples of one session run whatever the memory
// budget: on CPU, larger runs are slower per example (their activations fall
// out of the caches). Measured on fmnist_vgg at batch 32: SmoothGrad-50 takes
// 1.05 s in runs of about 1000 examples and 0.75 s in runs of about 180;
// Score-CAM 300 and 212 ms.
const MaxChunk = 128

// chunks splits [0, n) into ranges of at most size.
func chunks(n, size int) [][2]int {
	var out [][2]int
	for lo := 0; lo < n; lo += size {
		out = append(out, [2]int{lo, min(lo+size, n)})
	}
	return out
}

// checkBatch validates b and fills in Black and White.
func checkBatch(method string, b *Batch) error {
	if b.X == nil {
		return fmt.Errorf("methods: %s: no images", method)
	}
	if err := b.X.Check(); err != nil {
		return fmt.Errorf("methods: %s: %w", method, err)
	}
	if len(b.X.Shape) != 4 || b.X.Shape[0] < 1 {
		return fmt.Errorf("methods: %s: images have shape %v, want [N,H,W,C] with N ≥ 1", method, b.X.Shape)
	}
	c := b.X.Shape[3]
	fill := func(v []float32, def float32, what string) ([]float32, error) {
		if v == nil {
			v = make([]float32, c)
			for i := range v {
				v[i] = def
			}
			return v, nil
		}
		if len(v) != c {
			return nil, fmt.Errorf("methods: %s: %s has %d values for %d channels", method, what, len(v), c)
		}
		return v, nil
	}
	var err error
	if b.Black, err = fill(b.Black, 0, "black"); err != nil {
		return err
	}
	b.White, err = fill(b.White, 1, "white")
	return err
}

// setup makes the checks every method starts with: the batch (its Black and
// White filled in), one class per image if classes are given, and the
// target resolved on the model: the score tensor with its number of
// classes, or the unit.
func setup(method string, m Model, b *Batch, t Target) (goal, error) {
	if err := checkBatch(method, b); err != nil {
		return goal{}, err
	}
	if err := checkClasses(method, t, b.X.Shape[0]); err != nil {
		return goal{}, err
	}
	return resolve(method, m, t, b.X)
}

// resolve resolves the target on the model; x, a batch of the images it
// explains, gives the shape of a unit's layer where the graph leaves it
// open.
func resolve(method string, m Model, t Target, x *tensor.Tensor) (goal, error) {
	if t.Unit != nil {
		if t.Classes != nil || t.Score != "" || t.Probability {
			return goal{}, fmt.Errorf("methods: %s: target %s is a unit; it takes no classes, score tensor or probability", method, t.Unit)
		}
		u, err := resolveUnit(method, m, *t.Unit, x)
		if err != nil {
			return goal{}, err
		}
		return goal{score: u.layer.Output, unit: u}, nil
	}
	score, k, err := scoreTensor(method, m, t)
	return goal{score: score, k: k}, err
}

// scoreTensor resolves the target's score tensor and its number of classes.
func scoreTensor(method string, m Model, t Target) (string, int, error) {
	score := t.Score
	if t.Probability {
		if score != "" {
			return "", 0, fmt.Errorf("methods: %s: a target with a score tensor (%s) and probability; give one", method, score)
		}
		_, activated := m.Logits()
		switch m.Head() {
		case "":
			return "", 0, fmt.Errorf("methods: %s: the model has no softmax or sigmoid head; its output %s is already the scores (explain the class, not its probability)", method, m.Output())
		case "sigmoid":
			if !activated {
				return "", 0, fmt.Errorf("methods: %s: the model's output %s is the logits of independent labels (a binary classifier's one logit, or a card's output.kind sigmoid), and its graph has no sigmoid whose output could be explained (explain the class, its logit)", method, m.Output())
			}
		case "log_softmax":
			return "", 0, fmt.Errorf("methods: %s: the model ends in a log_softmax; its output %s is the log-probability, not the probability (explain the class, whose logit is behind it)", method, m.Output())
		}
		score = m.HeadOutput()
	}
	if score == "" {
		score, _ = m.Logits()
	}
	s := m.Shape(score)
	if len(s) != 2 || s[1] < 1 {
		return "", 0, fmt.Errorf("methods: %s: score tensor %s has shape %v, want [batch, classes]", method, score, s)
	}
	k := int(s[1])
	for i, c := range t.Classes {
		if c < 0 || c >= k {
			return "", 0, fmt.Errorf("methods: %s: class %d of image %d is out of range [0,%d)", method, c, i, k)
		}
	}
	return score, k, nil
}

// checkClasses checks that a target names one class per image.
func checkClasses(method string, t Target, n int) error {
	if t.Classes != nil && len(t.Classes) != n {
		return fmt.Errorf("methods: %s: %d classes for %d images", method, len(t.Classes), n)
	}
	return nil
}

// oneHot is the seed [len(classes), k].
func oneHot(classes []int, k int) *tensor.Tensor {
	s := tensor.New(len(classes), k)
	for i, c := range classes {
		s.Data[i*k+c] = 1
	}
	return s
}

// pick returns scores[i, classes[i]] for each row, and the classes (the
// argmax of each row when classes is nil).
func pick(scores *tensor.Tensor, classes []int) ([]int, []float32) {
	n, k := scores.Shape[0], scores.Shape[1]
	cls := make([]int, n)
	val := make([]float32, n)
	for i := 0; i < n; i++ {
		row := scores.Data[i*k : (i+1)*k]
		if classes != nil {
			cls[i] = classes[i]
		} else {
			cls[i] = tensor.Argmax(row)
		}
		val[i] = row[cls[i]]
	}
	return cls, val
}

// scoreRows is the score tensor [N,K] of a batch, in forward runs of chunks.
func scoreRows(ctx context.Context, m Model, x *tensor.Tensor, score string, ch Chunking) (*tensor.Tensor, error) {
	var parts []*tensor.Tensor
	for _, c := range chunks(x.Shape[0], ch.forwardSize(m)) {
		res, err := m.Run(ctx, x.Slice(c[0], c[1]), tfgraph.Query{Fetch: []string{score}})
		if err != nil {
			return nil, err
		}
		parts = append(parts, res.Fetched[0])
	}
	return joinChunks(parts)
}

// predict resolves the classes of a target (the predicted ones when not
// given) and their scores, or a unit's values, with forward runs over the
// batch.
func predict(ctx context.Context, m Model, x *tensor.Tensor, g goal, t Target, ch Chunking) ([]int, []float32, error) {
	rows, err := scoreRows(ctx, m, x, g.score, ch)
	if err != nil {
		return nil, nil, err
	}
	cl, sc := g.values(rows, t.Classes)
	return cl, sc, nil
}

// reduce turns a raw attribution into a map under r, or under def when r is "".
func reduce(raw *tensor.Tensor, r, def tensor.Reduction) (*tensor.Tensor, bool, error) {
	if r == "" {
		r = def
	}
	m, err := tensor.ReduceChannels(raw, r)
	if err != nil {
		return nil, false, err
	}
	return m, r.Signed(), nil
}

func validateReduction(method string, r tensor.Reduction) error {
	if err := r.Validate(); err != nil {
		return optionErr(method, []string{"reduce"}, "%v", err)
	}
	return nil
}

// imageShape is H, W, C of a batch.
func imageShape(x *tensor.Tensor) (int, int, int) { return x.Shape[1], x.Shape[2], x.Shape[3] }

// inputSpace lists the methods whose maps have a per-channel attribution in
// input space: the ones SmoothGrad can wrap.
var inputSpace = []string{"gradient", "gradient-x-input", "guided-backprop", "deconvnet", "integrated-gradients"}

func isInputSpace(name string) bool { return slices.Contains(inputSpace, name) }

// probabilityHead is the head under which scores of tensor score become
// probabilities: the model's for its logits, softmax for any other tensor.
func probabilityHead(m Model, score string) string {
	if logits, _ := m.Logits(); score == logits {
		return m.Head()
	}
	return ""
}

// orDefault is r, or def when r is "".
func orDefault(r, def tensor.Reduction) tensor.Reduction {
	if r == "" {
		return def
	}
	return r
}
