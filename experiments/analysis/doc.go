// Package analysis reads a finished run folder (package
// experiments/runfolder) and writes its report: the similarity of the maps
// under each reliability test with bootstrap intervals, verdicts, figures,
// tables (CSV, JSON, LaTeX), index.md, index.html and manifest.json, and the
// summary of a collection (WriteCollectionReport). The same units give the
// same bytes, whichever processes computed them.
//
// It does not link TensorFlow: every number of a report comes from the
// unit files, so a report is built, or rebuilt after a change to the
// report code, without the models (docs/experiments.md).
//
// Each test kind writes its own section (sections.go lists them): the
// randomization test with each model, the others after the models.
package analysis
