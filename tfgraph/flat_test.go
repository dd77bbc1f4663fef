package tfgraph_test

import (
	"testing"

	"github.com/saliencykit/saliency/tfgraph"
)

// The flat graph computes what the SavedModel signature computes.
func TestFlatMatchesSignature(t *testing.T) {
	for _, name := range zooModels {
		t.Run(name, func(t *testing.T) {
			m, g := loadZoo(t, name)
			fl, err := m.Flat()
			if err != nil {
				t.Fatal(err)
			}
			want, err := m.Forward(g.Inputs)
			if err != nil {
				t.Fatal(err)
			}
			got, err := fl.Forward(g.Inputs)
			if err != nil {
				t.Fatal(err)
			}
			d, err := tfgraph.MaxAbsDiff(got, want)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d nodes, %d weights; max |flat - signature| = %.3g", fl.Nodes, len(fl.Weights), d)
			if d > 1e-4 {
				t.Errorf("flat graph differs from the signature by %g", d)
			}
		})
	}
}
