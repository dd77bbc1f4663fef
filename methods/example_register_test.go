package methods_test

import (
	"context"
	"fmt"
	"log"
	"math"

	"github.com/saliencykit/saliency/methods"
	"github.com/saliencykit/saliency/savedmodels"
	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// Sensitivity is sensitivity analysis (Montavon, Samek & Müller 2018):
// R_i = Σ_c (∂S_c/∂I_i)², a new method written outside the package with the
// public API only: one tfgraph.Query fetches the logits and the gradient of
// the target logit in one session run.
type Sensitivity struct{}

// Name is "sensitivity".
func (Sensitivity) Name() string { return "sensitivity" }

// Explain computes the maps.
func (Sensitivity) Explain(ctx context.Context, m methods.Model, b methods.Batch, t methods.Target) (*methods.Maps, error) {
	logits, _ := m.Logits()
	grad := tfgraph.Grad{} // from the logits to the input; nil seed: the predicted class
	n := b.X.Shape[0]
	if t.Classes != nil {
		k := int(m.Shape(logits)[1])
		grad.Seed = tensor.New(n, k)
		for i, c := range t.Classes {
			grad.Seed.Data[i*k+c] = 1
		}
	}
	res, err := m.Run(ctx, b.X, tfgraph.Query{Fetch: []string{logits}, Grads: []tfgraph.Grad{grad}})
	if err != nil {
		return nil, err
	}
	g, scores := res.Grads[0], res.Fetched[0]
	h, w, ch := g.Shape[1], g.Shape[2], g.Shape[3]
	out := &methods.Maps{Method: "sensitivity", Map: tensor.New(n, h, w), Raw: g}
	for p := range out.Map.Data {
		for c := 0; c < ch; c++ {
			v := g.Data[p*ch+c]
			out.Map.Data[p] += v * v
		}
	}
	k := scores.Shape[1]
	for i := 0; i < n; i++ {
		row := scores.Data[i*k : (i+1)*k]
		c := 0
		if t.Classes != nil {
			c = t.Classes[i]
		} else {
			for j, v := range row {
				if v > row[c] {
					c = j
				}
			}
		}
		out.Classes = append(out.Classes, c)
		out.Scores = append(out.Scores, row[c])
	}
	return out, nil
}

// A new method is a type with Name and Explain, registered under its name:
// explain's -method and YAML experiments then find it like the built-in
// ones. (A program registers its methods in an init function.)
func ExampleRegister() {
	methods.Register("sensitivity", func() methods.Method { return Sensitivity{} })

	m, err := tfgraph.Load("../savedmodels/fmnist_vgg", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	fl, err := m.Flat()
	if err != nil {
		log.Fatal(err)
	}
	g, err := savedmodels.ReadGolden("../savedmodels/fmnist_vgg")
	if err != nil {
		log.Fatal(err)
	}
	sens, err := methods.New("sensitivity", nil)
	if err != nil {
		log.Fatal(err)
	}
	batch, target := methods.Batch{X: g.Inputs}, methods.Target{}
	got, err := sens.Explain(context.Background(), fl, batch, target)
	if err != nil {
		log.Fatal(err)
	}
	// The check: the plain gradient's L2 channel reduction, squared.
	l2, _ := methods.New("gradient", map[string]any{"reduce": "l2"})
	want, err := l2.Explain(context.Background(), fl, batch, target)
	if err != nil {
		log.Fatal(err)
	}
	worst := 0.0
	for i, v := range want.Map.Data {
		worst = max(worst, math.Abs(float64(got.Map.Data[i]-v*v))/float64(v*v+1e-12))
	}
	fmt.Println(got.Method, got.Map.Shape, got.Classes)
	fmt.Println("equals the squared L2 gradient map within 1e-5:", worst < 1e-5)
	// Output:
	// sensitivity [8 28 28] [0 1 2 3 4 5 6 7]
	// equals the squared L2 gradient map within 1e-5: true
}
