// Package experiments holds the YAML experiment schema and its validation
// (Load: every problem reported at its file:line:column before any work),
// and, as roadmap step [5/8] proceeds, the resumable runner, the sanity
// checks and the reports. Similarity measures are in experiments/metrics and
// the bootstrap summaries in experiments/stats (pure Go, no TensorFlow).
package experiments
