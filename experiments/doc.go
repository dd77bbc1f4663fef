// Package experiments runs experiment files: YAML that selects models,
// images, saliency methods and reliability tests, and gives back maps,
// tables with bootstrap intervals, verdicts and figures, the same bytes on
// every run (docs/experiments.md).
//
// The pipeline:
//
//   - Load validates a file on yaml.v3 nodes; every problem is reported at
//     its file:line:column before any work (*InvalidError).
//   - NewPlan loads the images and models, checks the layers and classes a
//     file names (again at their line), predicts, and lays out the units:
//     model × step × method × batch, then the evaluation units (faithfulness,
//     ROAD), then one unit per entry of units: (what the channels of a
//     layer respond to, units.WriteDir into layers/<model>-<layer>/; an
//     experiment of models and units alone has no images or maps). A step is a set of weights fed to the flat graph (a
//     randomization step, a shifted model), an input transform (random sign
//     perturbation, a targeted attack, a shift) or other classes (random
//     logit).
//   - Plan.Run computes the units of one shard, each written atomically as
//     soon as it is done, so that a killed run resumes and shards on one
//     folder make up one run.
//   - analysis.WriteReport (package experiments/analysis) reads a complete
//     run folder and writes figures, tables, verdicts, index.md, index.html
//     and manifest.json; analysis.WriteCollectionReport does so for a
//     collection (paper.yaml). The folder's format is package
//     experiments/runfolder; neither links TensorFlow.
//
// The tests: model-parameter randomization (cascading, bottom-up,
// independent; smooth and efficient MPRT), data randomization, input
// invariance, fragility, faithfulness (deletion, insertion, ROAD, random
// logit) and localization. Each is a type behind the Test interface, in a
// file of its own (randomization.go, fragility.go, …), listed once in
// testKinds: it parses its options, records them (PlanTest) and lays out its
// steps or evaluates its units through small optional interfaces (test.go). Similarity and localization measures are in
// experiments/metrics and the bootstrap summaries in experiments/stats (pure
// Go, no TensorFlow).
package experiments
