// Package catalog is what the toolkit knows about its saliency methods and
// targets without running them, and so without TensorFlow: the unit target
// type, the per-image diagnostics and their thresholds, which methods read
// the activations of one layer, and which generate an image instead of
// explaining one. Package methods computes the
// maps and re-exports these names; the run-folder and report packages
// (experiments/runfolder, experiments/analysis) read them from here, so that
// a report builds without libtensorflow.
package catalog

import "slices"

// generative are the methods that generate the image a target likes best
// instead of explaining the images they are given.
var generative = []string{"class-model", "feature-visualization"}

// Generative reports whether a method generates the image a target likes
// best (class-model, feature-visualization) rather than explaining the
// images of its batch, which give it only their shape (or its start): a
// command that explains images leaves these out by default.
func Generative(name string) bool { return slices.Contains(generative, name) }

// needsInput are the methods that cannot run on their defaults: they need a
// file the user gives (the reference images of DeepSHAP and Expected
// Gradients).
var needsInput = map[string]string{"deepshap": "baselines", "expected-gradients": "baselines", "gradient-shap": "baselines"}

// NeedsInput returns the option a method cannot run without ("baselines"
// for deepshap), or "": a command that runs every method by default leaves
// these out unless the option is set.
func NeedsInput(name string) string { return needsInput[name] }

// layer are the methods that read the activations of one layer: the CAM
// family.
var layer = []string{"cam", "gradcam", "guided-gradcam", "gradcam++", "layercam", "hirescam", "xgradcam", "scorecam", "ablationcam", "eigencam"}

// ReadsLayer reports whether a method reads the activations of one layer
// (the CAM family: a target's Layer and Grid, explain's -layer and -grid,
// an experiment's layer:).
func ReadsLayer(name string) bool { return slices.Contains(layer, name) }

// LayerMethods lists the methods that read the activations of one layer, in
// the lecture's order.
func LayerMethods() []string { return slices.Clone(layer) }
