//go:build cgo

package methods

import "testing"

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
