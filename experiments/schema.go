package experiments

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/saliencykit/saliency/experiments/analysis"
	"github.com/saliencykit/saliency/experiments/runfolder"
	"github.com/saliencykit/saliency/internal/suggest"
	"github.com/saliencykit/saliency/internal/yamlcheck"
	"github.com/saliencykit/saliency/methods"
	"github.com/saliencykit/saliency/units"
	"gopkg.in/yaml.v3"
)

// Experiment is a validated experiment file (docs/experiments.md). Paths are
// resolved against the file's folder.
type Experiment struct {
	// File is the experiment file, Dir its folder.
	File, Dir string
	Name      string
	// Seed drives every random choice of the run (images, noise,
	// randomized weights, bootstrap).
	Seed uint64
	// Output is the folder the run writes (default: <name>.out next to the
	// file).
	Output  string
	Models  []Model
	Data    Data
	Methods []MethodSpec
	// Tests are the reliability tests, in the file's order, each a value
	// of its kind's type (*RandomizationTest, *FragilityTest, …).
	Tests   []Test
	Metrics []string
	Outputs Outputs
	// Units are the layers whose channels the run shows (Zeiler & Fergus
	// 2014): each channel's top-k images of a data set and their
	// projections (package units). An experiment with units needs no
	// methods.
	Units []UnitsSpec
	// Batch is the number of images in one unit of work (default 10).
	Batch int
	// Include lists other experiment files (resolved paths): the experiment
	// is then a collection that runs each into a folder of its own and sums
	// their findings up in one table (paper.yaml).
	Include []string
	// Threads is TensorFlow's intra-op thread count (0: one per core). The
	// bytes of a result depend on it for some kernels: runs that must agree
	// byte for byte across machines set it. NewPlan refuses more than
	// MaxThreads.
	Threads   int
	threadsAt Problem // where threads: is, for the error NewPlan gives
}

// Model is one SavedModel of the experiment.
type Model struct {
	Name, Path string
	// Signature is the serving signature ("" : serving_default).
	Signature string
	// Output is the key of the signature output that holds the class
	// scores ("": the card's output.signature_key, or the only output).
	Output string
	// Layer is the layer of CAM methods ("": the model's CAM layer).
	Layer string
	// Target is what is explained: "predicted" (default, the original
	// model's prediction, kept for every randomization step), "label" (the
	// image's true class), a class index, or a target of
	// methods.ParseTarget: "class:3", "probability:3" (or "probability",
	// the predicted class's), a unit ("conv2_2:5", "conv2_2:5/mean",
	// "conv2_2:5@3,4", "fc1:7", "conv2_2:v.npy" read beside the
	// experiment file).
	Target string

	at map[string]Problem // where each key is, for errors found at plan time
}

// Data says which images the experiment explains.
type Data struct {
	// Source is "folder" (the image files in Path, images.Extensions), "fashion-mnist" (the
	// IDX files in Path, default /usr/share/datasets/fashion-mnist, test
	// split) or "scatter" (a test_set.npz with object masks).
	Source, Path string
	// Count images are drawn with Seed (default: the experiment's seed).
	Count int
	Seed  uint64
}

// MethodSpec is a saliency method with its options, as YAML names them.
type MethodSpec struct {
	Name string
	// Options are the options as the file gives them, by their YAML names
	// (plan.json records them, with the seed when Method took the
	// experiment's).
	Options map[string]any
	// Label names the method in files, figures and tables (default: the
	// name, numbered when the method appears again).
	Label string
	// Method is the method with these options, decoded once from their
	// YAML node (methods.Decode); a method that draws noise has the
	// experiment's seed unless its options set one.
	Method methods.Method
}

// seeded says whether the method took the experiment's seed: it has a seed
// option, and its options set none.
func (s MethodSpec) seeded() bool {
	_, set := s.Options["seed"]
	return !set && methods.HasOption(s.Name, "seed")
}

// UnitsSpec is one entry of units: what the channels of a layer of a model
// respond to in a data set (units.WriteDir).
type UnitsSpec struct {
	// Model names a model of the experiment; Layer is one of its Keras
	// layers.
	Model, Layer string
	// Data is the data set scanned: nil for the experiment's data. Its
	// Count 0 takes every image, in the source's order.
	Data *Data
	// K is the number of top activations kept per channel (default
	// units.DefaultK, at most units.MaxK).
	K int
	// Project is the projection: deconvnet (default), guided-backprop or
	// gradient (units.ProjectorNames).
	Project string
	// Channels are the channels shown (nil: every channel of the layer).
	Channels []int
	// Batch is the number of images per forward run of the scan (default
	// 64, at most MaxBatch).
	Batch int

	at map[string]Problem // where each key is, for errors found at plan time
}

// Outputs are the formats written.
type Outputs struct {
	Figures []string // png, svg, pdf
	Tables  []string // csv, json, tex
}

// Metrics are the similarity measures an experiment may name: the report's
// metric table (analysis.Metrics), in its order.
var Metrics = analysis.Metrics

// Problem is one error of an experiment file, at its line and column.
type Problem struct {
	File      string
	Line, Col int
	Msg       string
}

func (p Problem) String() string {
	if p.Line == 0 {
		return fmt.Sprintf("%s: %s", p.File, p.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Line, p.Col, p.Msg)
}

// InvalidError lists every problem found in an experiment file.
type InvalidError struct{ Problems []Problem }

func (e *InvalidError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Load reads and validates an experiment file: unknown keys, wrong types,
// missing files, unknown methods, method options, metrics and tests are
// reported together, each at its line and column, as an *InvalidError.
// Nothing is written. Layers and classes are checked when the models are
// loaded (Plan).
func Load(path string) (*Experiment, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("experiments: %w", err)
	}
	return parse(raw, path)
}

// parse validates the text of the experiment file at path (relative paths
// in it are resolved against path's folder).
func parse(raw []byte, path string) (*Experiment, error) {
	doc, err := yamlcheck.Decode(raw)
	var second *yamlcheck.SecondDocumentError
	switch {
	case errors.As(err, &second):
		// yaml.Unmarshal read the first document and dropped the rest.
		return nil, &InvalidError{[]Problem{{File: path, Line: second.Line, Col: second.Column,
			Msg: second.Error() + ": an experiment file holds one experiment; put each in a file of its own, and run them together with a collection (include: [a.yaml, b.yaml])"}}}
	case err != nil:
		return nil, &InvalidError{[]Problem{yamlProblem(raw, path, err)}}
	}
	v := &validator{file: path, dir: filepath.Dir(path), seed: 1}
	e := &Experiment{File: path, Dir: v.dir}
	if len(doc.Content) == 0 {
		return nil, &InvalidError{[]Problem{{File: path, Msg: "empty experiment file"}}}
	}
	v.seed = seedOf(doc.Content[0])
	v.experiment(doc.Content[0], e)
	if len(v.problems) > 0 {
		return nil, &InvalidError{v.problems}
	}
	return e, nil
}

// yamlProblem turns a YAML syntax error into a problem at its line. A tab in
// a line's indentation, which YAML forbids, is named as such (the parser says
// "found character that cannot start any token", often of the line before).
func yamlProblem(raw []byte, path string, err error) Problem {
	line, msg := yamlcheck.Line(err)
	if l, col, ok := yamlcheck.Tab(raw, line); ok {
		return Problem{File: path, Line: l, Col: col,
			Msg: fmt.Sprintf("a tab in the indentation of line %d (column %d): YAML indents with spaces only; replace the tab with spaces (the parser said: %s)", l, col, msg)}
	}
	return Problem{File: path, Line: line, Col: 1, Msg: "not YAML: " + msg}
}

type validator struct {
	file, dir string
	problems  []Problem
	// seed is the experiment's seed, which the methods that draw noise take
	// unless their options set one.
	seed uint64
}

// seedOf is the seed of an experiment's mapping: its seed: key, or the
// default 1 (also when the key is not a seed: that is a problem of its own).
func seedOf(n *yaml.Node) uint64 {
	for i := 0; n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
		if k, x := n.Content[i], n.Content[i+1]; k.Value == "seed" && x.Kind == yaml.ScalarNode && x.Tag == "!!int" {
			if i, err := strconv.Atoi(x.Value); err == nil && i >= 0 {
				return uint64(i)
			}
		}
	}
	return 1
}

func (v *validator) errorf(n *yaml.Node, format string, a ...any) {
	v.problems = append(v.problems, Problem{File: v.file, Line: n.Line, Col: n.Column, Msg: fmt.Sprintf(format, a...)})
}

// fields walks a mapping: each key must be in handlers (else "unknown key",
// with the nearest), each at most once; required keys must be present.
func (v *validator) fields(n *yaml.Node, what string, handlers map[string]func(*yaml.Node), required ...string) {
	if n.Kind != yaml.MappingNode {
		v.errorf(n, "%s must be a mapping, not %s", what, kindName(n))
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		h, ok := handlers[k.Value]
		if !ok {
			keys := make([]string, 0, len(handlers))
			for key := range handlers {
				keys = append(keys, key)
			}
			sort.Strings(keys)
			v.errorf(k, "unknown key %q in %s%s; keys: %s", k.Value, what, nearest(k.Value, keys), strings.Join(keys, ", "))
			continue
		}
		if seen[k.Value] {
			v.errorf(k, "key %q appears twice in %s", k.Value, what)
			continue
		}
		seen[k.Value] = true
		h(val)
	}
	for _, r := range required {
		if !seen[r] {
			v.errorf(n, "%s needs the key %q", what, r)
		}
	}
}

func (v *validator) str(n *yaml.Node, what string) string {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		v.errorf(n, "%s must be a string, not %s", what, kindName(n))
		return ""
	}
	return n.Value
}

func (v *validator) oneOf(n *yaml.Node, what string, allowed ...string) string {
	s := v.str(n, what)
	if s != "" && !slices.Contains(allowed, s) {
		v.errorf(n, "%s %q: want %s", what, s, strings.Join(allowed, ", "))
	}
	return s
}

func (v *validator) integer(n *yaml.Node, what string, min int) int {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
		v.errorf(n, "%s must be an integer, not %s", what, kindName(n))
		return 0
	}
	i, err := strconv.Atoi(n.Value)
	if err != nil || i < min {
		v.errorf(n, "%s %s: want an integer ≥ %d", what, n.Value, min)
	}
	return i
}

// number is the value of an integer or float scalar (ok false for any other
// node, or a value Go does not read: .inf, .nan).
func number(n *yaml.Node) (f float64, ok bool) {
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") {
		return 0, false
	}
	f, err := strconv.ParseFloat(n.Value, 64)
	return f, err == nil
}

func (v *validator) list(n *yaml.Node, what string, each func(*yaml.Node)) {
	if n.Kind != yaml.SequenceNode {
		v.errorf(n, "%s must be a list, not %s", what, kindName(n))
		return
	}
	if len(n.Content) == 0 {
		v.errorf(n, "%s is empty", what)
	}
	for _, c := range n.Content {
		each(c)
	}
}

// path resolves a file or folder against the experiment's folder and
// checks that it exists.
func (v *validator) path(n *yaml.Node, what string) string {
	s := v.str(n, what)
	if s == "" {
		return ""
	}
	p := s
	if !filepath.IsAbs(p) {
		p = filepath.Join(v.dir, p)
	}
	if _, err := os.Stat(p); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			v.errorf(n, "%s %s: no such file or folder (%s)", what, s, p)
		} else {
			v.errorf(n, "%s %s: %v", what, s, err)
		}
	}
	return p
}

func (v *validator) experiment(n *yaml.Node, e *Experiment) {
	seedSet := false
	v.fields(n, "the experiment", map[string]func(*yaml.Node){
		"name": func(x *yaml.Node) { e.Name = v.str(x, "name") },
		"seed": func(x *yaml.Node) { e.Seed = uint64(v.integer(x, "seed", 0)); seedSet = true },
		"output": func(x *yaml.Node) {
			if s := v.str(x, "output"); s != "" {
				e.Output = s
				if !filepath.IsAbs(s) {
					e.Output = filepath.Join(v.dir, s)
				}
			}
		},
		"models": func(x *yaml.Node) {
			v.list(x, "models", func(m *yaml.Node) { e.Models = append(e.Models, v.model(m)) })
		},
		"data": func(x *yaml.Node) { e.Data = v.data(x, "source", "count") },
		"methods": func(x *yaml.Node) {
			v.list(x, "methods", func(m *yaml.Node) { e.Methods = append(e.Methods, v.method(m)) })
		},
		"tests": func(x *yaml.Node) {
			v.list(x, "tests", func(n *yaml.Node) {
				if t := v.test(n); t != nil {
					e.Tests = append(e.Tests, t)
				}
			})
		},
		"metrics": func(x *yaml.Node) {
			v.list(x, "metrics", func(m *yaml.Node) {
				s := v.str(m, "a metric")
				if s != "" && !slices.Contains(Metrics, s) {
					v.errorf(m, "unknown metric %q%s; metrics: %s", s, nearest(s, Metrics), strings.Join(Metrics, ", "))
				}
				e.Metrics = append(e.Metrics, s)
			})
		},
		"outputs": func(x *yaml.Node) { e.Outputs = v.outputs(x) },
		"units": func(x *yaml.Node) {
			v.list(x, "units", func(u *yaml.Node) { e.Units = append(e.Units, v.units(u)) })
		},
		"include": func(x *yaml.Node) {
			v.list(x, "include", func(f *yaml.Node) {
				if p := v.path(f, "an included experiment"); p != "" {
					e.Include = append(e.Include, p)
				}
			})
		},
		"batch": func(x *yaml.Node) {
			if e.Batch = v.integer(x, "batch", 1); e.Batch > MaxBatch {
				v.errorf(x, "batch %d: at most %d images per unit of work (a unit's maps are held in memory together, and it is what a resumed run or a shard computes again)", e.Batch, MaxBatch)
			}
		},
		"threads": func(x *yaml.Node) {
			// Checked against this machine's CPUs by NewPlan: -threads may
			// override it.
			e.Threads = v.integer(x, "threads", 0)
			e.threadsAt = Problem{File: v.file, Line: x.Line, Col: x.Column}
		},
	}, "name")
	key := func(k string) *yaml.Node {
		for i := 0; n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				return n.Content[i]
			}
		}
		return nil
	}
	if len(e.Include) > 0 {
		// A collection has only a name, a seed, an output and its members.
		for i := 0; i+1 < len(n.Content); i += 2 {
			switch k := n.Content[i]; k.Value {
			case "name", "seed", "output", "include":
			default:
				v.errorf(k, "key %q in an experiment that includes others: a collection has only name, seed, output and include", k.Value)
			}
		}
	} else if n.Kind == yaml.MappingNode {
		required := []string{"models", "data", "methods"}
		if key("units") != nil && key("methods") == nil {
			// Only the layers' units: no maps, so no methods, tests or
			// metrics, and data only as the entries' default.
			required = []string{"models"}
			for _, k := range []string{"tests", "metrics"} {
				if kn := key(k); kn != nil {
					v.errorf(kn, "key %q in an experiment without methods: %s compare saliency maps, and only methods make them", k, k)
				}
			}
		}
		for _, r := range required {
			if key(r) == nil {
				v.errorf(n, "the experiment needs the key %q", r)
			}
		}
	}
	if e.Batch == 0 {
		e.Batch = 10
	}
	if len(e.Outputs.Figures) == 0 {
		e.Outputs.Figures = []string{"png", "svg", "pdf"}
	}
	if len(e.Outputs.Tables) == 0 {
		e.Outputs.Tables = []string{"csv", "json", "tex"}
	}
	if !seedSet {
		e.Seed = 1
	}
	if e.Output == "" && e.Name != "" {
		e.Output = filepath.Join(v.dir, e.Name+".out")
	}
	names := map[string]bool{}
	for i, m := range e.Models {
		if names[m.Name] {
			v.problems = append(v.problems, Problem{File: v.file, Msg: fmt.Sprintf("model %d: the name %q is used twice", i+1, m.Name)})
		}
		names[m.Name] = true
	}
	for _, t := range e.Tests {
		if c, ok := t.(experimentChecker); ok {
			c.checkExperiment(v, e)
		}
	}
	if len(e.Tests) > 0 && len(e.Metrics) == 0 {
		e.Metrics = append([]string(nil), Metrics...)
	}
	if e.Data.Seed == 0 {
		e.Data.Seed = e.Seed
	}
	var modelNames []string
	for _, m := range e.Models {
		modelNames = append(modelNames, m.Name)
	}
	for _, u := range e.Units {
		if at, ok := u.at["model"]; ok && u.Model != "" && !names[u.Model] {
			at.Msg = fmt.Sprintf("units: no model named %q%s; models: %s", u.Model, nearest(u.Model, modelNames), strings.Join(modelNames, ", "))
			v.problems = append(v.problems, at)
		}
		switch {
		case u.Data != nil && u.Data.Seed == 0:
			u.Data.Seed = e.Seed
		case u.Data == nil && key("data") == nil && len(e.Include) == 0:
			at := u.at[""]
			at.Msg = "units: this entry has no data: give it a data: section, or the experiment one"
			v.problems = append(v.problems, at)
		}
	}
}

func (v *validator) model(n *yaml.Node) Model {
	m := Model{at: map[string]Problem{"": {File: v.file, Line: n.Line, Col: n.Column}}}
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i+1]
			m.at[n.Content[i].Value] = Problem{File: v.file, Line: k.Line, Col: k.Column}
		}
	}
	v.fields(n, "a model", map[string]func(*yaml.Node){
		"name": func(x *yaml.Node) { m.Name = v.str(x, "the model's name") },
		"path": func(x *yaml.Node) {
			m.Path = v.path(x, "the model's path")
			if m.Path != "" {
				if _, err := os.Stat(filepath.Join(m.Path, "saved_model.pb")); err != nil {
					if _, err2 := os.Stat(m.Path); err2 == nil {
						v.errorf(x, "%s is not a SavedModel (no saved_model.pb)", x.Value)
					}
				}
			}
		},
		"signature": func(x *yaml.Node) { m.Signature = v.str(x, "signature") },
		"output":    func(x *yaml.Node) { m.Output = v.str(x, "output") },
		"layer":     func(x *yaml.Node) { m.Layer = v.str(x, "layer") },
		"target": func(x *yaml.Node) {
			s := v.str(x, "target")
			m.Target = s
			if i, err := strconv.Atoi(s); err == nil {
				if i < 0 {
					v.errorf(x, "target %d: a class index is ≥ 0", i)
				}
				return
			}
			if s == "" || s == "predicted" || s == "label" {
				return
			}
			if !strings.Contains(s, ":") && s != "probability" && s != "prob" {
				v.errorf(x, "target %q: want predicted, label or a class index, or %s", s, methods.TargetSyntax)
			} else if _, err := methods.ParseTarget(s, v.dir); err != nil {
				v.errorf(x, "%v; or predicted, label, a class index", err)
			}
		},
	}, "path")
	if m.Name == "" && m.Path != "" {
		m.Name = filepath.Base(m.Path)
	}
	if m.Target == "" {
		m.Target = "predicted"
	}
	return m
}

// data reads a data: section; required lists its required keys (source,
// and count for the experiment's images).
func (v *validator) data(n *yaml.Node, required ...string) Data {
	var d Data
	var pathNode *yaml.Node
	v.fields(n, "data", map[string]func(*yaml.Node){
		"source": func(x *yaml.Node) { d.Source = v.oneOf(x, "data source", "folder", "fashion-mnist", "scatter") },
		"path":   func(x *yaml.Node) { pathNode = x },
		"count":  func(x *yaml.Node) { d.Count = v.integer(x, "count", 1) },
		"seed":   func(x *yaml.Node) { d.Seed = uint64(v.integer(x, "seed", 0)) },
	}, required...)
	switch {
	case pathNode != nil:
		d.Path = v.path(pathNode, "the data path")
	case d.Source == "fashion-mnist":
		d.Path = FashionMNISTDir
	case d.Source != "":
		v.errorf(n, "data source %s needs a path", d.Source)
	}
	return d
}

func (v *validator) method(n *yaml.Node) MethodSpec {
	var s MethodSpec
	var nameNode, optNode *yaml.Node
	if n.Kind == yaml.ScalarNode {
		nameNode = n
	} else {
		v.fields(n, "a method", map[string]func(*yaml.Node){
			"name":    func(x *yaml.Node) { nameNode = x },
			"options": func(x *yaml.Node) { optNode = x },
			"label": func(x *yaml.Node) {
				s.Label = v.str(x, "label")
				if s.Label != "" && runfolder.SafeName(s.Label) != s.Label {
					v.errorf(x, "label %q: use letters, digits, '.', '_' and '-' (it names files)", s.Label)
				}
			},
		}, "name")
	}
	if nameNode == nil {
		return s
	}
	s.Name = v.str(nameNode, "a method's name")
	if s.Name == "" {
		return s
	}
	if !slices.Contains(methods.Names(), s.Name) {
		v.errorf(nameNode, "unknown method %q%s; methods: %s", s.Name, nearest(s.Name, methods.Names()), strings.Join(methods.Names(), ", "))
		return s
	}
	if optNode != nil {
		if optNode.Kind != yaml.MappingNode {
			v.errorf(optNode, "the options of %s must be a mapping, not %s", s.Name, kindName(optNode))
			return s
		}
		if err := optNode.Decode(&s.Options); err != nil {
			v.errorf(optNode, "the options of %s: %v", s.Name, err)
			return s
		}
	}
	opts := optNode
	if optNode != nil {
		opts = v.filePaths(s.Name, optNode)
	}
	if need := methods.NeedsInput(s.Name); need != "" && !hasKey(optNode, need) {
		v.errorf(nameNode, "method %s needs option %s (methods.md); e.g. {name: %s, options: {%s: refs.npy}}", s.Name, need, s.Name, need)
		return s
	}
	if s.seeded() {
		// The experiment's seed, as if the options gave it.
		prev := opts
		opts = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		if prev != nil {
			opts.Content = slices.Clone(prev.Content)
		}
		opts.Content = append(opts.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "seed"},
			&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatUint(v.seed, 10)})
	}
	m, err := methods.Decode(s.Name, opts)
	if err == nil {
		s.Method = m
	} else {
		// Point at the option the error names (not one of a wrapped
		// method's, which smoothgrad's options hold), or at the options.
		at := nameNode
		if optNode != nil {
			at = optNode
			var oe *methods.OptionError
			if errors.As(err, &oe) && oe.Method == s.Name && len(oe.Options) > 0 {
				for i := 0; i+1 < len(optNode.Content); i += 2 {
					if optNode.Content[i].Value == oe.Options[0] {
						at = optNode.Content[i]
						break
					}
				}
			}
		}
		v.errorf(at, "%v", strings.TrimPrefix(err.Error(), "methods: "))
	}
	return s
}

// fileOptions are the method options that name a file: relative to the
// experiment file, like model paths.
var fileOptions = map[string][]string{"deepshap": {"baselines"}, "deeplift": {"baseline_file"},
	"integrated-gradients": {"baseline_file", "baselines"}, "guided-ig": {"baseline_file"},
	"expected-gradients": {"baselines"}, "gradient-shap": {"baselines"}}

// filePaths returns the options of method with its file options resolved
// against the experiment's folder (a copy; the options as written stay in
// the spec), and reports a file that does not exist at its option.
func (v *validator) filePaths(method string, opts *yaml.Node) *yaml.Node {
	names := fileOptions[method]
	if len(names) == 0 || opts.Kind != yaml.MappingNode {
		return opts
	}
	out := *opts
	out.Content = slices.Clone(opts.Content)
	for i := 0; i+1 < len(out.Content); i += 2 {
		k, val := out.Content[i], out.Content[i+1]
		if !slices.Contains(names, k.Value) || val.Kind != yaml.ScalarNode || val.Value == "" {
			continue
		}
		p := val.Value
		if !filepath.IsAbs(p) {
			p = filepath.Join(v.dir, p)
		}
		if _, err := os.Stat(p); err != nil {
			if pe, ok := err.(*os.PathError); ok {
				err = pe.Err
			}
			v.errorf(val, "option %s of %s: %s: %v", k.Value, method, val.Value, err)
		}
		nv := *val
		nv.Value = p
		out.Content[i+1] = &nv
	}
	return &out
}

// hasKey says whether mapping n has key k.
func hasKey(n *yaml.Node, k string) bool {
	if n == nil || n.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == k {
			return true
		}
	}
	return false
}

// units reads an entry of units.
func (v *validator) units(n *yaml.Node) UnitsSpec {
	u := UnitsSpec{K: units.DefaultK, Project: units.ProjectorNames()[0], Batch: 64,
		at: map[string]Problem{"": {File: v.file, Line: n.Line, Col: n.Column}}}
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i+1]
			u.at[n.Content[i].Value] = Problem{File: v.file, Line: k.Line, Col: k.Column}
		}
	}
	v.fields(n, "an entry of units", map[string]func(*yaml.Node){
		"model": func(x *yaml.Node) { u.Model = v.str(x, "units: model") },
		"layer": func(x *yaml.Node) { u.Layer = v.str(x, "units: layer") },
		"data": func(x *yaml.Node) {
			d := v.data(x, "source")
			u.Data = &d
		},
		"k":       func(x *yaml.Node) { u.K = v.upTo(x, "units: k", 1, units.MaxK) },
		"project": func(x *yaml.Node) { u.Project = v.oneOf(x, "units: projection", units.ProjectorNames()...) },
		"batch":   func(x *yaml.Node) { u.Batch = v.upTo(x, "units: batch", 1, MaxBatch) },
		"channels": func(x *yaml.Node) {
			switch {
			case x.Kind == yaml.ScalarNode && x.Tag == "!!int":
				u.Channels = []int{v.integer(x, "units: a channel", 0)}
			case x.Kind == yaml.ScalarNode && x.Tag == "!!str":
				chs, err := units.ParseChannels(x.Value)
				if err != nil {
					v.errorf(x, "units: channels: %v", err)
				}
				u.Channels = chs
			case x.Kind == yaml.SequenceNode:
				seen := map[int]bool{}
				v.list(x, "units: channels", func(c *yaml.Node) {
					ch := v.integer(c, "units: a channel", 0)
					if seen[ch] {
						v.errorf(c, "units: channel %d appears twice in channels", ch)
					}
					seen[ch] = true
					u.Channels = append(u.Channels, ch)
				})
			default:
				v.errorf(x, "units: channels must be channels and ranges (0-15,20) or a list of channels, not %s", kindName(x))
			}
		},
	}, "model", "layer")
	return u
}

func (v *validator) outputs(n *yaml.Node) Outputs {
	var o Outputs
	v.fields(n, "outputs", map[string]func(*yaml.Node){
		"figures": func(x *yaml.Node) {
			v.list(x, "figures", func(f *yaml.Node) { o.Figures = append(o.Figures, v.oneOf(f, "figure format", "png", "svg", "pdf")) })
		},
		"tables": func(x *yaml.Node) {
			v.list(x, "tables", func(f *yaml.Node) { o.Tables = append(o.Tables, v.oneOf(f, "table format", "csv", "json", "tex")) })
		},
	})
	return o
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return "empty"
		case "!!int":
			return "the integer " + n.Value
		case "!!float":
			return "the number " + n.Value
		case "!!bool":
			return "the boolean " + n.Value
		}
		return strconv.Quote(n.Value)
	case yaml.AliasNode:
		return "an alias"
	}
	return "nothing"
}

// nearest suggests the closest name (edit distance ≤ 2): ` (did you mean
// "x"?)`, or "".
func nearest(s string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		if d := suggest.Distance(s, n); d < bestD {
			best, bestD = n, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}
