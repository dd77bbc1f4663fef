package tfgraph_test

import (
	"context"
	"testing"

	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// Fed with their values from a run on the input, the boundary tensors of
// replaced weights give the logits of that run bit for bit, with an input
// of zeros: nothing below them is computed. For each layer of a network
// with skip connections (fmnist_resnet), its weights replaced alone and
// with every layer above it (cascading randomization).
func TestChangedBoundary(t *testing.T) {
	for _, name := range []string{"fmnist_resnet", "fmnist_vgg"} {
		t.Run(name, func(t *testing.T) {
			fl, g := loadFlat(t, name)
			logits, _ := fl.Logits()
			zeros := tensor.New(g.Inputs.Shape...)
			var above []string
			ls := fl.Layers()
			skipped := 0
			for i := len(ls) - 1; i >= 0; i-- {
				l := ls[i]
				if l.Alias != "" || len(l.Weights) == 0 {
					continue
				}
				above = append(above, l.Weights...)
				for _, ws := range [][]string{l.Weights, above} {
					vals := map[string]*tensor.Tensor{}
					for _, w := range ws {
						v, err := fl.WeightValue(w)
						if err != nil {
							t.Fatal(err)
						}
						v = v.Clone()
						for k := range v.Data {
							v.Data[k] = -v.Data[k] + 0.01
						}
						vals[w] = v
					}
					view := viewWith(t, fl, vals)
					ch, err := fl.Changed(ws)
					if err != nil {
						t.Fatal(err)
					}
					if !ch.Changes(logits) {
						t.Fatalf("%s: the logits do not change", l.Name)
					}
					bd, err := ch.Boundary([]string{logits})
					if err != nil {
						t.Fatal(err)
					}
					if len(bd) == 0 {
						continue // the layer reads the input
					}
					skipped++
					res, err := view.Run(context.Background(), g.Inputs, tfgraph.Query{Fetch: append([]string{logits}, bd...)})
					if err != nil {
						t.Fatal(err)
					}
					feeds := map[string]*tensor.Tensor{}
					for k, b := range bd {
						if ch.Changes(b) {
							t.Errorf("%s: boundary tensor %s is changed", l.Name, b)
						}
						feeds[b] = res.Fetched[k+1]
					}
					fed, err := view.Run(context.Background(), zeros, tfgraph.Query{Fetch: []string{logits}, Feed: feeds})
					if err != nil {
						t.Fatal(err)
					}
					if !tensor.Equal(fed.Fetched[0], res.Fetched[0]) {
						d, _ := tensor.MaxAbsDiff(fed.Fetched[0], res.Fetched[0])
						t.Errorf("%s (%d weights replaced): logits with the boundary %v fed differ by %g", l.Name, len(ws), bd, d)
					}
				}
			}
			if skipped == 0 {
				t.Error("no layer has a boundary")
			}
		})
	}
}
