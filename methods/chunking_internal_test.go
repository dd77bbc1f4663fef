//go:build cgo

package methods

import (
	"testing"

	"github.com/saliencykit/saliency/tfgraph"
)

// forwardSized is a model whose forward-only runs take fwd bytes an example.
type forwardSized struct {
	*smoothModel
	fwd int64
}

func (f forwardSized) ForwardBytesPerImage() int64 { return f.fwd }

// Forward-only runs take a quarter of the budget by the model's forward
// estimate where it gives one (ResNet50: 27 examples a run in 1 GiB instead
// of 4), by BytesPerImage otherwise, within [1, MaxChunk].
func TestForwardSize(t *testing.T) {
	m := newSmoothModel(4, 4, 1, 3, 2) // BytesPerImage 1024
	for _, c := range []struct {
		ch        Chunking
		fwd       int64
		want, all int
	}{
		{Chunking{}, 9_646_899, 27, MaxChunk},
		{Chunking{MemoryMB: 1}, 1 << 17, 2, MaxChunk},
		{Chunking{MemoryMB: 1}, 1 << 30, 1, MaxChunk},
		{Chunking{}, 0, MaxChunk, MaxChunk},
	} {
		f := forwardSized{m, c.fwd}
		if got := c.ch.forwardSize(f); got != c.want {
			t.Errorf("memory_mb %d, %d bytes forward: %d a run, want %d", c.ch.MemoryMB, c.fwd, got, c.want)
		}
		if got := c.ch.size(f); got != c.all {
			t.Errorf("memory_mb %d: size %d, want %d", c.ch.MemoryMB, got, c.all)
		}
	}
	if got := (Chunking{MemoryMB: 1}).forwardSize(m); got != (Chunking{MemoryMB: 1}).size(m) {
		t.Errorf("a model without a forward estimate: %d a run, want size's %d", got, (Chunking{MemoryMB: 1}).size(m))
	}
}

// gradientSized is a model whose runs under the gradient family's rules
// take grad bytes an example.
type gradientSized struct {
	*smoothModel
	grad int64
}

func (g gradientSized) GradientBytesPerImage() int64 { return g.grad }

// Runs whose backward passes take only the gradient family's rule sets are
// sized by the model's estimate for them (ResNet50: 11 examples a run in
// 1 GiB instead of 4); any other rule set, or a model without the
// estimate, by BytesPerImage.
func TestGradientSize(t *testing.T) {
	m := newSmoothModel(4, 4, 1, 3, 2) // BytesPerImage 1024
	g := gradientSized{m, 93_082_593}  // ResNet50's 88.8 MiB
	lrp := (&LRP{Composite: "epsilon-plus"}).RuleSet()
	for _, c := range []struct {
		ch    Chunking
		model Model
		rules []*tfgraph.RuleSet
		want  int
	}{
		{Chunking{}, g, nil, 11},
		{Chunking{}, g, []*tfgraph.RuleSet{nil, tfgraph.Plain, tfgraph.Guided, tfgraph.DeconvNet}, 11},
		{Chunking{MemoryMB: 4096}, g, []*tfgraph.RuleSet{tfgraph.Guided}, 46},
		{Chunking{MemoryMB: 1}, g, nil, 1},
		{Chunking{}, g, []*tfgraph.RuleSet{tfgraph.Plain, lrp}, MaxChunk},
		{Chunking{MemoryMB: 1}, gradientSized{m, 0}, nil, (Chunking{MemoryMB: 1}).size(m)},
		{Chunking{MemoryMB: 1}, m, nil, (Chunking{MemoryMB: 1}).size(m)},
	} {
		if got := c.ch.gradSize(c.model, c.rules...); got != c.want {
			t.Errorf("memory_mb %d, %T, rules %v: %d a run, want %d", c.ch.MemoryMB, c.model, c.rules, got, c.want)
		}
	}
}
