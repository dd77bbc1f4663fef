// Package experiments will hold the YAML experiment schema, its validation,
// the resumable runner, the sanity checks and reliability metrics. It is filled
// in by roadmap step [4/6]; see DESIGN.md.
package experiments
