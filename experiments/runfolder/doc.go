// Package runfolder is the format of an experiment's run folder, the
// contract between the processes that compute a run and the report that
// reads it: plan.json (PlanFile: the images, methods, tests, models and
// their steps), the unit files (UnitResult, FaithfulnessResult,
// ROADResult: one .json per finished unit, its maps in the .npy beside
// it), collection.json for an experiment that includes others, the list
// of units and their paths, shards, and the advisory locks that keep
// processes from doing the same work twice.
//
// It does not link TensorFlow: a run folder copied off a cluster is read,
// checked (Missing) and reported (package experiments/analysis) on any
// machine.
package runfolder
