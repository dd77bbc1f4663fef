//go:build cgo

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
// R_i = Σ_c (∂S/∂I_{i,c})², a new method written outside the package with the
// public API only. Its model work is a methods.Pass: the scores and the
// gradient of the target on the input, in chunks of the default memory
// budget, or taken from a methods.Share that already did it.
type Sensitivity struct{}

// Name is "sensitivity".
func (Sensitivity) Name() string { return "sensitivity" }

// Pass asks for the gradient (and makes Sensitivity a methods.Sharer).
func (Sensitivity) Pass() methods.Pass { return methods.Pass{Rules: []*tfgraph.RuleSet{tfgraph.Plain}} }

// Explain computes the maps.
func (s Sensitivity) Explain(ctx context.Context, m methods.Model, b methods.Batch, t methods.Target) (*methods.Maps, error) {
	p, err := s.Pass().Run(ctx, s.Name(), m, b, t)
	if err != nil {
		return nil, err
	}
	g := p.Input[0] // [N,H,W,C]
	out := &methods.Maps{Method: s.Name(), Map: tensor.New(g.Shape[:3]...), Raw: g, Classes: p.Classes, Scores: p.Scores}
	c := g.Shape[3]
	for i, v := range g.Data {
		out.Map.Data[i/c] += v * v
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
