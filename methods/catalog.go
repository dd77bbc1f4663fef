package methods

import "github.com/saliencykit/saliency/methods/catalog"

// Unit is a target inside the model instead of a class (catalog.Unit).
type Unit = catalog.Unit

// Diagnostic is a per-image check of the maps (catalog.Diagnostic).
type Diagnostic = catalog.Diagnostic

// Flagged is a diagnostic above its threshold (catalog.Flagged).
type Flagged = catalog.Flagged

// CompletenessThreshold is Integrated Gradients' completeness error above
// which a map is flagged (catalog.CompletenessThreshold).
const CompletenessThreshold = catalog.CompletenessThreshold

// Diagnostics are the values of Maps.Info checked against a threshold
// (catalog.Diagnostics).
var Diagnostics = catalog.Diagnostics

// Check returns the diagnostics of info above their thresholds
// (catalog.Check).
func Check(info map[string][]float64) []Flagged { return catalog.Check(info) }

// Generative reports whether a method generates the image a target likes
// best rather than explaining the images of its batch (catalog.Generative).
func Generative(name string) bool { return catalog.Generative(name) }

// NeedsInput returns the option a method cannot run without (deepshap's
// baselines), or "" (catalog.NeedsInput).
func NeedsInput(name string) string { return catalog.NeedsInput(name) }

// ReadsLayer reports whether a method reads the activations of one layer
// (catalog.ReadsLayer).
func ReadsLayer(name string) bool { return catalog.ReadsLayer(name) }

// LayerMethods lists the methods that read the activations of one layer
// (catalog.LayerMethods).
func LayerMethods() []string { return catalog.LayerMethods() }
