package experiments

import "github.com/saliencykit/saliency/experiments/runfolder"

// The run folder's format is package runfolder's (it builds without
// TensorFlow, so a report reads a run anywhere); these names keep the plan's
// types where a plan is made.
type (
	// PlanFile is what plan.json holds (runfolder.PlanFile).
	PlanFile = runfolder.PlanFile
	// PlanLayer is an entry of units: resolved (runfolder.PlanLayer).
	PlanLayer = runfolder.PlanLayer
	// PlanData is the data source of the images (runfolder.PlanData).
	PlanData = runfolder.PlanData
	// PlanImage is one image of the run (runfolder.PlanImage).
	PlanImage = runfolder.PlanImage
	// PlanMethod is one method with its options (runfolder.PlanMethod).
	PlanMethod = runfolder.PlanMethod
	// PlanTest is a test with every option resolved (runfolder.PlanTest).
	PlanTest = runfolder.PlanTest
	// PlanModel is one model and its steps (runfolder.PlanModel).
	PlanModel = runfolder.PlanModel
	// PlanStep is one set of weights or inputs (runfolder.PlanStep).
	PlanStep = runfolder.PlanStep
	// Unit is one piece of work (runfolder.Unit).
	Unit = runfolder.Unit
	// UnitResult is the .json file of a finished unit (runfolder.UnitResult).
	UnitResult = runfolder.UnitResult
	// Shard is one slice of a run's units (runfolder.Shard).
	Shard = runfolder.Shard
)

// PlanFileName is the plan in a run folder.
const PlanFileName = runfolder.PlanFileName
