package attack_test

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/saliencykit/saliency/attack"
	"github.com/saliencykit/saliency/experiments/metrics"
	"github.com/saliencykit/saliency/methods"
	"github.com/saliencykit/saliency/savedmodels"
	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

func load(t *testing.T, name string) (*tfgraph.Flat, *savedmodels.Golden) {
	t.Helper()
	m, err := tfgraph.Load("../savedmodels/"+name, &tfgraph.Options{IntraOpThreads: 2, InterOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	fl, err := m.Flat()
	if err != nil {
		t.Fatal(err)
	}
	g, err := savedmodels.ReadGolden("../savedmodels/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return fl, g
}

// The attack keeps every prediction and the ε-ball, returns the maps of
// what it keeps with their measures, gives the same bytes twice, and moves
// the gradient map of the zoo's VGG further than random sign noise of the
// same size.
func TestRun(t *testing.T) {
	fl, g := load(t, "fmnist_vgg")
	ctx := context.Background()
	b := methods.Batch{X: g.Inputs.Slice(0, 6)}
	meth := &methods.Gradient{}
	orig, err := meth.Explain(ctx, fl, b, methods.Target{})
	if err != nil {
		t.Fatal(err)
	}
	a := attack.Attack{Epsilon: 0.08, Steps: 8}
	tg := methods.Target{Classes: orig.Classes}
	r, err := a.Run(ctx, fl, meth, b, tg, orig)
	if err != nil {
		t.Fatal(err)
	}
	if r.Search != attack.Gradient || r.Beta != attack.DefaultBeta {
		t.Errorf("search %s, β %g", r.Search, r.Beta)
	}
	for q, v := range r.X.Data {
		if v < 0 || v > 1 || math.Abs(float64(v-b.X.Data[q])) > 0.08+1e-6 {
			t.Fatalf("value %d: %g from %g, outside the ball or the range", q, v, b.X.Data[q])
		}
	}
	z, err := fl.Forward(r.X)
	if err != nil {
		t.Fatal(err)
	}
	kept, err := meth.Explain(ctx, fl, methods.Batch{X: r.X}, tg)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := tensor.MaxAbsDiff(kept.Map, r.Map); d > 1e-5*float64(maxAbs(r.Map)) {
		t.Errorf("the kept maps differ from the maps of the kept images by %g", d)
	}
	var attacked, noisy float64
	k := a.K(28 * 28)
	for i := range 6 {
		if p := tensor.Argmax(z.Data[i*10 : (i+1)*10]); p != r.Predicted[i] || r.Predicted[i] != orig.Classes[i] {
			t.Errorf("image %d: predicted %d, original %d, explained %d", i, p, r.Predicted[i], orig.Classes[i])
		}
		om := orig.Map.Item(i).Data
		v, _ := metrics.TopKIntersection(om, r.Map.Item(i).Data, k)
		if v != r.TopK[i] || metrics.SpearmanAbs(om, r.Map.Item(i).Data) != r.Spearman[i] || r.Accepted[i] == 0 {
			t.Errorf("image %d: top-k %g (reported %g), %d accepted", i, v, r.TopK[i], r.Accepted[i])
		}
		attacked += r.TopK[i] / 6
	}
	// Random sign noise of the same size.
	nx := tensor.New(b.X.Shape...)
	for q, v := range b.X.Data {
		d := float32(0.08)
		if (q*2654435761)>>7&1 == 0 {
			d = -d
		}
		nx.Data[q] = min(max(v+d, 0), 1)
	}
	nm, err := meth.Explain(ctx, fl, methods.Batch{X: nx}, tg)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		v, _ := metrics.TopKIntersection(orig.Map.Item(i).Data, nm.Map.Item(i).Data, k)
		noisy += v / 6
	}
	t.Logf("top-k intersection: attack %.3f, random sign noise %.3f", attacked, noisy)
	if attacked >= noisy {
		t.Errorf("the attack's top-k intersection %.3f is not below random noise's %.3f", attacked, noisy)
	}
	again, err := a.Run(ctx, fl, meth, b, tg, orig)
	if err != nil {
		t.Fatal(err)
	}
	if !tensor.Equal(again.X, r.X) || !tensor.Equal(again.Map, r.Map) {
		t.Error("two runs differ")
	}
}

// A method without a derivative falls back to the random search and says
// why; it keeps the predictions too.
func TestRunFallback(t *testing.T) {
	fl, g := load(t, "fmnist_vgg")
	ctx := context.Background()
	b := methods.Batch{X: g.Inputs.Slice(0, 3)}
	for _, meth := range []methods.Method{&methods.GuidedBackprop{}, &methods.IntegratedGradients{Baseline: "blurred", Steps: 4}} {
		orig, err := meth.Explain(ctx, fl, b, methods.Target{})
		if err != nil {
			t.Fatal(err)
		}
		a := attack.Attack{Epsilon: 0.05, Steps: 3, Seed: 1}
		r, err := a.Run(ctx, fl, meth, b, methods.Target{Classes: orig.Classes}, orig)
		if err != nil {
			t.Fatal(err)
		}
		if r.Search != attack.RandomSearch || r.Why == "" {
			t.Errorf("%s: search %s (%q)", meth.Name(), r.Search, r.Why)
		}
		t.Logf("%s: %s", meth.Name(), r.Why)
		again, _ := a.Run(ctx, fl, meth, b, methods.Target{Classes: orig.Classes}, orig)
		if !tensor.Equal(again.X, r.X) {
			t.Errorf("%s: two runs differ", meth.Name())
		}
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []struct {
		a    attack.Attack
		want string
	}{
		{attack.Attack{}, "epsilon"},
		{attack.Attack{Epsilon: 1.5}, "epsilon"},
		{attack.Attack{Epsilon: 0.1, Steps: -1}, "steps"},
		{attack.Attack{Epsilon: 0.1, StepSize: math.Inf(1)}, "step size"},
		{attack.Attack{Epsilon: 0.1, Beta: -1}, "β"},
		{attack.Attack{Epsilon: 0.1, TopK: 2}, "top-k"},
		{attack.Attack{Epsilon: 0.1, Samples: -2}, "samples"},
		{attack.Attack{Epsilon: 0.1, Loss: "l2"}, `unknown loss "l2"`},
	} {
		if err := c.a.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want an error with %q", c.a, err, c.want)
		}
	}
	if err := (&attack.Attack{Epsilon: 0.1, Loss: attack.CenterOfMass}).Validate(); err != nil {
		t.Error(err)
	}
}

func maxAbs(t *tensor.Tensor) float32 {
	var m float32
	for _, v := range t.Data {
		m = max(m, v, -v)
	}
	return m
}

// The centre-of-mass loss moves the centre of mass of the gradient maps of
// the zoo's ResNet further than random sign noise of the same size.
func TestRunCenterOfMass(t *testing.T) {
	fl, g := load(t, "fmnist_resnet")
	ctx := context.Background()
	b := methods.Batch{X: g.Inputs.Slice(0, 6)}
	meth := &methods.Gradient{}
	orig, err := meth.Explain(ctx, fl, b, methods.Target{})
	if err != nil {
		t.Fatal(err)
	}
	tg := methods.Target{Classes: orig.Classes}
	r, err := (&attack.Attack{Epsilon: 0.08, Steps: 6, Loss: attack.CenterOfMass}).Run(ctx, fl, meth, b, tg, orig)
	if err != nil {
		t.Fatal(err)
	}
	nx := tensor.New(b.X.Shape...)
	for q, v := range b.X.Data {
		d := float32(0.08)
		if (q*2654435761)>>7&1 == 0 {
			d = -d
		}
		nx.Data[q] = min(max(v+d, 0), 1)
	}
	nm, err := meth.Explain(ctx, fl, methods.Batch{X: nx}, tg)
	if err != nil {
		t.Fatal(err)
	}
	var attacked, noisy float64
	for i := range 6 {
		attacked += r.Shift[i] / 6
		noisy += attack.CenterShift(orig.Map.Item(i).Data, nm.Map.Item(i).Data, 28, 28) / 6
	}
	t.Logf("centre-of-mass shift: attack %.2f px, random sign noise %.2f px", attacked, noisy)
	if attacked <= noisy {
		t.Errorf("the attack's shift %.2f px is not above random noise's %.2f px", attacked, noisy)
	}
}
