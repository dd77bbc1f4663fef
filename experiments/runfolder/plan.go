package runfolder

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/saliencykit/saliency/methods/catalog"
)

// LayerIndexFile is the index of a layer's folder (units.IndexFile), written
// last: the unit of an entry of units: is finished when it exists.
const LayerIndexFile = "units.json"

// LayerRowsPerFigure is the most channels of one of Springenberg's figures
// of a layer (units.RowsPerFigure).
const LayerRowsPerFigure = 32

// PlanFile is what plan.json holds: the same file for every process of a
// run, so that a report reads the run without the models.
type PlanFile struct {
	Name       string            `json:"name"`
	File       string            `json:"file"`
	FileSHA256 string            `json:"file_sha256"`
	Seed       uint64            `json:"seed"`
	Batch      int               `json:"batch"`
	Threads    int               `json:"threads"`
	Versions   map[string]string `json:"versions"`
	Data       PlanData          `json:"data"`
	Images     []PlanImage       `json:"images"`
	Methods    []PlanMethod      `json:"methods"`
	Tests      []PlanTest        `json:"tests,omitempty"`
	Metrics    []string          `json:"metrics,omitempty"`
	Figures    []string          `json:"figures"`
	Tables     []string          `json:"tables"`
	Models     []PlanModel       `json:"models"`
	// Layers are the entries of units:, resolved: each is one unit of work
	// that writes the folder layers/<Dir> (units.WriteDir).
	Layers []PlanLayer `json:"layers,omitempty"`
}

// PlanLayer is an entry of units: with its defaults resolved.
type PlanLayer struct {
	// Dir names its folder: <model>-<layer>, numbered from the second
	// entry of the same model and layer on (-2, -3, …).
	Dir   string `json:"dir"`
	Model string `json:"model"`
	Layer string `json:"layer"`
	// Data is the data set scanned; Count 0 is every image.
	Data    PlanData `json:"data"`
	K       int      `json:"k"`
	Project string   `json:"projection"`
	// Channels are the channels shown (every channel of the layer when
	// the entry names none).
	Channels []int `json:"channels"`
	Batch    int   `json:"batch"`
	// Field is the receptive field of the layer's units
	// (tfgraph.ReceptiveField.String).
	Field string `json:"field"`
}

// PlanData is the data source of the images.
type PlanData struct {
	Source string `json:"source"`
	Path   string `json:"path"`
	Count  int    `json:"count"`
	Seed   uint64 `json:"seed"`
}

// PlanImage is one image of the run.
type PlanImage struct {
	ID     string `json:"id"`
	Source string `json:"source"`
	Label  int    `json:"label"`
}

// PlanMethod is one method with its options; Dir names its units' folder
// (the method's name, numbered when a method appears twice).
type PlanMethod struct {
	Dir     string         `json:"dir"`
	Name    string         `json:"name"`
	Options map[string]any `json:"options,omitempty"`
}

// PlanTest is a test with every option resolved, as the manifest states it.
type PlanTest struct {
	Kind         string   `json:"kind"`
	Modes        []string `json:"modes,omitempty"`
	Distribution string   `json:"distribution,omitempty"`
	BatchNorm    string   `json:"batchnorm,omitempty"`
	Repeats      int      `json:"repeats,omitempty"`
	// Smooth and SmoothNoise make it the smooth MPRT.
	Smooth      int     `json:"smooth,omitempty"`
	SmoothNoise float64 `json:"smooth_noise,omitempty"`
	// Weights says which weights are replaced and how.
	Weights string `json:"weights,omitempty"`
	// Model and Against are the models a data-randomization test compares.
	Model   string `json:"model,omitempty"`
	Against string `json:"against,omitempty"`
	// Tolerance is the pointing game's, in pixels (nil: 15 at 224, scaled
	// to each model's input).
	Tolerance *float64 `json:"tolerance,omitempty"`
	// Shift is the input shift of an input-invariance test, a fraction of
	// the range from a black to a white pixel.
	Shift float64 `json:"shift,omitempty"`
	// Steps and Blur are a faithfulness test's: the points of its curves
	// after the first, and the σ in pixels of the blurred start of
	// insertion.
	Steps int     `json:"steps,omitempty"`
	Blur  float64 `json:"blur,omitempty"`
	// Epsilons are a fragility test's perturbation sizes, fractions of the
	// input range.
	Epsilons []float64 `json:"epsilons,omitempty"`
	Attack   int       `json:"attack,omitempty"`
	// Fractions and Noise are ROAD's: the shares of pixels removed, and the
	// imputation noise's standard deviation as a fraction of the input range.
	Fractions []float64 `json:"fractions,omitempty"`
	Noise     float64   `json:"noise,omitempty"`
}

// PlanModel is one model: its hash, its classes, the class explained for
// each image and its steps (the original weights, then each randomized
// model).
type PlanModel struct {
	Name      string `json:"name"`
	Path      string `json:"path"`
	SHA256    string `json:"sha256"`
	Signature string `json:"signature"`
	// Layer is the layer of CAM methods.
	Layer  string `json:"layer"`
	Target string `json:"target"`
	// Probability and Unit are the target when it is a class probability
	// or a unit (methods.Target).
	Probability bool          `json:"probability,omitempty"`
	Unit        *catalog.Unit `json:"unit,omitempty"`
	ClassNames  []string      `json:"class_names"`
	Predicted   []int         `json:"predicted"`
	Classes     []int         `json:"classes"`
	Shape       [3]int        `json:"shape"` // H, W, C of the input
	Steps       []PlanStep    `json:"steps"`
	// Warnings say what may make this model's maps or classes wrong
	// (experiments.Opened.Warnings): random ops at inference, a pixel
	// mapping its own input rescaling contradicts. run prints them and the
	// report lists them.
	Warnings []string `json:"warnings,omitempty"`
}

// PlanStep is one set of weights: "original", or a randomization step.
type PlanStep struct {
	Name string `json:"name"`
	Dir  string `json:"dir"`
	// Mode is "" for the original weights, cascading or independent for a
	// randomization step, input-shift for the shifted model of an
	// input-invariance test.
	Mode   string   `json:"mode,omitempty"`
	Repeat int      `json:"repeat,omitempty"`
	Layers []string `json:"layers,omitempty"`
	// Shift is added to the input (per channel) of an input-shift step, whose
	// first layer's bias absorbs it; LogitError is the largest difference of
	// the logits it makes over the images (float32 rounding only).
	Shift      []float32 `json:"shift,omitempty"`
	LogitError float64   `json:"logit_error,omitempty"`
	// Epsilon is the size of a perturbation step's random sign noise, a
	// fraction of the input range (mode "perturbation"), or the L∞ budget
	// of a targeted attack of Attack rounds (mode "attack").
	Epsilon float64 `json:"epsilon,omitempty"`
	Attack  int     `json:"attack,omitempty"`
	// Smooth, SmoothNoise: each map is the mean over Smooth noisy copies
	// of the image (the smooth MPRT); Ref is the step its maps are compared
	// with (0, the original, or the smoothed original).
	Smooth      int     `json:"smooth,omitempty"`
	SmoothNoise float64 `json:"smooth_noise,omitempty"`
	Ref         int     `json:"ref,omitempty"`
	// Classes, when set, replace the model's classes in this step: the
	// random other class of each image (mode "random-logit").
	Classes []int `json:"classes,omitempty"`
}

// Unit is one piece of work: the maps of one batch of images by one method
// on one model with one set of weights.
type Unit struct {
	Index                      int
	Model, Step, Method, Batch int
	// Kind is "" for maps, or the test of an evaluation unit that scores the
	// original model's maps ("faithfulness", "road"); Method is -1 for the
	// random pixel order. Kind "units" is the entry Layer of units: (its
	// scan, projections and figures).
	Kind  string
	Layer int
}

// Units lists every unit of the run in a fixed order: model, step, method,
// batch.
func (pf *PlanFile) Units() []Unit {
	var out []Unit
	batches := (len(pf.Images) + pf.Batch - 1) / pf.Batch
	for mi, m := range pf.Models {
		for si := range m.Steps {
			for ki := range pf.Methods {
				for b := range batches {
					out = append(out, Unit{Index: len(out), Model: mi, Step: si, Method: ki, Batch: b})
				}
			}
		}
	}
	// Evaluation units come after every map, so that a process finds the
	// maps it scores (or recomputes them, the same bytes, when another
	// shard has not written them yet).
	for _, t := range pf.Tests {
		if t.Kind != "faithfulness" && t.Kind != "road" {
			continue
		}
		for mi := range pf.Models {
			for ki := -1; ki < len(pf.Methods); ki++ {
				for b := range batches {
					out = append(out, Unit{Index: len(out), Model: mi, Method: ki, Batch: b, Kind: t.Kind})
				}
			}
		}
	}
	// Then the layers' units, one unit each (last, so that they leave the
	// shards of the maps as they were).
	for li, l := range pf.Layers {
		out = append(out, Unit{Index: len(out), Model: pf.ModelIndex(l.Model), Kind: "units", Layer: li})
	}
	return out
}

// MethodDir names a unit's method in paths ("random-order" for -1).
func (pf *PlanFile) MethodDir(k int) string {
	if k < 0 {
		return "random-order"
	}
	return pf.Methods[k].Dir
}

// UnitPath is the path of a unit's files in the run folder, without the
// extension (.npy for the maps, .json for the rest).
func (pf *PlanFile) UnitPath(u Unit) string {
	m := pf.Models[u.Model]
	if u.Kind == "units" {
		// units.json, the folder's index, is written last.
		return filepath.Join(pf.LayerDir(u.Layer), strings.TrimSuffix(LayerIndexFile, ".json"))
	}
	if u.Kind != "" {
		return filepath.Join("units", SafeName(m.Name), u.Kind, pf.MethodDir(u.Method), fmt.Sprintf("batch-%03d", u.Batch))
	}
	return filepath.Join("units", SafeName(m.Name), m.Steps[u.Step].Dir, pf.Methods[u.Method].Dir, fmt.Sprintf("batch-%03d", u.Batch))
}

// LayerDir is the folder of the layer's units of entry li of units: in the
// run folder.
func (pf *PlanFile) LayerDir(li int) string {
	return filepath.Join("layers", pf.Layers[li].Dir)
}

// BatchRange is the range of images [lo, hi) of batch b.
func (pf *PlanFile) BatchRange(b int) (lo, hi int) {
	return b * pf.Batch, min((b+1)*pf.Batch, len(pf.Images))
}

// UnitName describes a unit for progress and errors.
func (pf *PlanFile) UnitName(u Unit) string {
	if u.Kind == "units" {
		l := pf.Layers[u.Layer]
		return fmt.Sprintf("%s %s units (%s)", l.Model, l.Layer, l.Dir)
	}
	lo, hi := pf.BatchRange(u.Batch)
	if u.Kind != "" {
		return fmt.Sprintf("%s %s %s images %d–%d", pf.Models[u.Model].Name, u.Kind, pf.MethodDir(u.Method), lo, hi-1)
	}
	return fmt.Sprintf("%s %s %s images %d–%d", pf.Models[u.Model].Name, pf.Models[u.Model].Steps[u.Step].Name, pf.Methods[u.Method].Dir, lo, hi-1)
}

// ModelIndex is the position of the model named name, or -1.
func (pf *PlanFile) ModelIndex(name string) int {
	return slices.IndexFunc(pf.Models, func(m PlanModel) bool { return m.Name == name })
}

// SafeName keeps letters, digits, '.', '_' and '-' and turns anything else
// into '-', for file names.
func SafeName(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			b[i] = '-'
		}
	}
	return string(b)
}

// Explained names what model m explains on image i: its class, or its
// unit.
func (m PlanModel) Explained(i int) string {
	switch {
	case m.Unit != nil:
		return m.Unit.String()
	case m.Probability:
		return "p(" + m.ClassNames[m.Classes[i]] + ")"
	}
	return m.ClassNames[m.Classes[i]]
}
