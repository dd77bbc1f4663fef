package tfgraph

// SimulateOOM makes every run of more than n examples fail as if TensorFlow
// had run out of memory (-1: off), for the tests of Run's backoff.
func SimulateOOM(n int) { testOOMAbove = n }

// FilterTFLogs runs f with TensorFlow's INFO lines filtered from stderr, for
// the tests of the filter itself.
var FilterTFLogs = filterTFLogs
