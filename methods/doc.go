// Package methods will hold one file per attribution method (gradient,
// DeconvNet, Guided Backprop, CAM, Grad-CAM, …) and a registry by name for
// YAML experiments. It is filled in by roadmap step [3/6]; see DESIGN.md.
package methods
