package tfgraph

// SimulateOOM makes every run of more than n examples fail as if TensorFlow
// had run out of memory (-1: off), for the tests of Run's backoff.
func SimulateOOM(n int) { testOOMAbove = n }

// FilterTFLogs runs f with TensorFlow's INFO lines filtered from stderr, for
// the tests of the filter itself.
var FilterTFLogs = filterTFLogs

// FirstRunFilter filters TensorFlow's log lines on the first run of each key.
type FirstRunFilter = firstRunFilter

// Do runs f, filtered if it is the first run of key.
func (q *FirstRunFilter) Do(key string, f func()) { q.do(key, f) }

// FieldTensors lists, in graph order, the floating-point tensors of rank 3
// or more that depend on the input and that the logits depend on (the
// input and StopGradient outputs aside, which pass no gradient): the
// receptive-field tests check each on the models without Keras layers.
func (fl *Flat) FieldTensors() []string {
	logits, _ := fl.Logits()
	_, onPath, err := fl.path(nodeOf(logits), nodeOf(fl.inputName()))
	if err != nil {
		return nil
	}
	var out []string
	for _, n := range fl.order {
		if !onPath[n.GetName()] || !fl.floatOutput(n.GetName()) || n.GetOp() == "StopGradient" || n.GetOp() == "Placeholder" {
			continue
		}
		if s := fl.Shape(n.GetName()); len(s) >= 3 {
			out = append(out, n.GetName())
		}
	}
	return out
}

// SetLRPFast turns the LRP rules' shorter forms on non-negative inputs on or
// off (rule sets built after the call; give them another Name).
func SetLRPFast(v bool) { lrpFast = v }

// DataInput is the flat tensor of data input i of a node, for tests that
// feed it.
func (fl *Flat) DataInput(node string, i int) string { return canonical(fl.nodes[node].GetInput()[i]) }

// SetLRPDerived turns the LRP rules' derived weights on or off (off: the
// modified weights are computed at every run).
func SetLRPDerived(v bool) { lrpDerived = v }

// SetLRPFuse turns the fused convolutions of the LRP rules' general forms
// on or off.
func SetLRPFuse(v bool) { lrpFuse = v }

// ConvBackwardFor is ConvBackwardAuto's choice on a CPU of the vendor.
var ConvBackwardFor = convBackwardFor

// CPUVendor is /proc/cpuinfo's vendor_id.
var CPUVendor = cpuVendor
