package tfgraph_test

import (
	"testing"

	"github.com/saliencykit/saliency/tfgraph"
)

// ConvBackwardAuto is TensorFlow's kernels on Intel and the derived forward
// convolutions elsewhere, fixed for the machine; the names parse back; a
// model says what it resolved to, and an unknown value is refused at load.
func TestConvBackwardChoice(t *testing.T) {
	for vendor, want := range map[string]tfgraph.ConvBackward{
		"GenuineIntel": tfgraph.ConvBackwardExact,
		"AuthenticAMD": tfgraph.ConvBackwardDerived,
		"":             tfgraph.ConvBackwardDerived,
	} {
		if got := tfgraph.ConvBackwardFor(vendor); got != want {
			t.Errorf("vendor %q: %v, want %v", vendor, got, want)
		}
	}
	for _, c := range []tfgraph.ConvBackward{tfgraph.ConvBackwardAuto, tfgraph.ConvBackwardDerived, tfgraph.ConvBackwardExact} {
		if got, err := tfgraph.ParseConvBackward(c.String()); err != nil || got != c {
			t.Errorf("ParseConvBackward(%q) = %v, %v", c, got, err)
		}
	}
	if _, err := tfgraph.ParseConvBackward("fast"); err == nil {
		t.Error(`ParseConvBackward("fast"): no error`)
	}
	auto := tfgraph.ConvBackwardFor(tfgraph.CPUVendor())
	t.Logf("CPU vendor %q: auto is %v", tfgraph.CPUVendor(), auto)
	for c, want := range map[tfgraph.ConvBackward]tfgraph.ConvBackward{
		tfgraph.ConvBackwardAuto:    auto,
		tfgraph.ConvBackwardDerived: tfgraph.ConvBackwardDerived,
		tfgraph.ConvBackwardExact:   tfgraph.ConvBackwardExact,
	} {
		m, err := tfgraph.Load(zooDir("fmnist_gap"), &tfgraph.Options{ConvBackward: c})
		if err != nil {
			t.Fatal(err)
		}
		if got := m.ConvBackward(); got != want {
			t.Errorf("Options.ConvBackward %v: the model uses %v, want %v", c, got, want)
		}
		m.Close()
	}
	if _, err := tfgraph.Load(zooDir("fmnist_gap"), &tfgraph.Options{ConvBackward: 7}); err == nil {
		t.Error("Options.ConvBackward 7: no error")
	}
}
