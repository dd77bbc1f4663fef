package tfgraph_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// One Query returns forward tensors and backward signals of one session run,
// equal to what separate runs give; without a seed the gradient is that of
// the predicted class.
func TestQueryOneRun(t *testing.T) {
	fl, g := loadFlat(t, "fmnist_gap")
	logits, _ := fl.Logits()
	layer, err := fl.CAMLayer()
	if err != nil {
		t.Fatal(err)
	}
	q := tfgraph.Query{
		Fetch: []string{logits, layer.Output},
		Grads: []tfgraph.Grad{{End: layer.Output}, {Rules: tfgraph.Guided}},
	}
	if _, err := fl.Run(context.Background(), g.Inputs, q); err != nil { // builds the backward graphs
		t.Fatal(err)
	}
	before := fl.Runs()
	res, err := fl.Run(context.Background(), g.Inputs, q)
	if err != nil {
		t.Fatal(err)
	}
	if n := fl.Runs() - before; n != 1 {
		t.Errorf("one query took %d session runs", n)
	}
	if len(res.Fetched) != 2 || len(res.Grads) != 2 {
		t.Fatalf("result has %d fetched and %d grads", len(res.Fetched), len(res.Grads))
	}
	if d, _ := tensor.MaxAbsDiff(res.Fetched[0], g.Logits); d > 1e-4 {
		t.Errorf("logits differ from golden by %g", d)
	}
	if d, _ := tensor.MaxAbsDiff(res.Fetched[1], g.Layers[layer.Name]); d > 1e-4 {
		t.Errorf("layer %s differs from golden by %g", layer.Name, d)
	}
	wantLayer, err := fl.Gradient(g.Inputs, g.Top, layer.Output, tfgraph.Plain)
	if err != nil {
		t.Fatal(err)
	}
	if !tensor.Equal(res.Grads[0], wantLayer) {
		d, _ := tensor.MaxAbsDiff(res.Grads[0], wantLayer)
		t.Errorf("default seed (predicted class) differs from the one-hot of the golden top classes by %g", d)
	}
	if d, _ := tensor.MaxAbsDiff(res.Grads[1], g.Guided); d > 1e-4*maxAbs(g.Guided) {
		t.Errorf("guided signal differs from golden by %g", d)
	}
}

// Seeds are linear: a seed with ones on two classes gives the sum of the two
// one-hot gradients.
func TestSeedIsAnyVector(t *testing.T) {
	fl, g := loadFlat(t, "fmnist_vgg")
	n := g.Inputs.Shape[0]
	a, b := make([]int, n), make([]int, n)
	for i := range a {
		a[i], b[i] = i%10, (i+3)%10
	}
	ga, err := fl.Gradient(g.Inputs, a, "", tfgraph.Plain)
	if err != nil {
		t.Fatal(err)
	}
	gb, err := fl.Gradient(g.Inputs, b, "", tfgraph.Plain)
	if err != nil {
		t.Fatal(err)
	}
	seed, err := fl.OneHot("", a)
	if err != nil {
		t.Fatal(err)
	}
	sb, _ := fl.OneHot("", b)
	for i := range seed.Data {
		seed.Data[i] += sb.Data[i]
	}
	res, err := fl.Run(context.Background(), g.Inputs, tfgraph.Query{Grads: []tfgraph.Grad{{Seed: seed}}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range ga.Data {
		ga.Data[i] += gb.Data[i]
	}
	if d, _ := tensor.MaxAbsDiff(res.Grads[0], ga); d > 1e-5*maxAbs(ga) {
		t.Errorf("seed a+b differs from grad a + grad b by %g", d)
	}
	bad := tensor.New(n, 7)
	if _, err := fl.Run(context.Background(), g.Inputs, tfgraph.Query{Grads: []tfgraph.Grad{{Seed: bad}}}); err == nil || !strings.Contains(err.Error(), "seed of grad 0") {
		t.Errorf("seed of the wrong shape: %v", err)
	}
	if _, err := fl.OneHot("", []int{10}); err == nil {
		t.Error("class 10 of 10 accepted")
	}
	twice := tfgraph.Query{Grads: []tfgraph.Grad{{Seed: seed}, {Seed: seed}}}
	if _, err := fl.Run(context.Background(), g.Inputs, twice); err == nil || !strings.Contains(err.Error(), "share a backward graph") {
		t.Errorf("two seeds for one backward graph: %v", err)
	}
}

// A rule set defined outside tfgraph with the Builder equals the built-in
// Guided rule set; a rule set that refuses an op gives a *NoRuleError.
func TestRuleSetsAreValues(t *testing.T) {
	fl, g := loadFlat(t, "fmnist_vgg")
	guided := func(b *tfgraph.Builder, n *tfgraph.Node) []tfgraph.Sym {
		out := make([]tfgraph.Sym, len(n.In))
		pos := b.Op("Relu", nil, n.Dy[0])
		// 1[y > 0]·pos, written with the plain rule of the ReLU itself.
		m := *n
		m.Dy = []tfgraph.Sym{pos}
		out[0] = b.Plain(&m)[0]
		return out
	}
	mine := &tfgraph.RuleSet{Name: "my-guided", Rules: map[string]tfgraph.Rule{"Relu": guided}}
	got, err := fl.Gradient(g.Inputs, g.Top, "", mine)
	if err != nil {
		t.Fatal(err)
	}
	want, err := fl.Gradient(g.Inputs, g.Top, "", tfgraph.Guided)
	if err != nil {
		t.Fatal(err)
	}
	if !tensor.Equal(got, want) {
		d, _ := tensor.MaxAbsDiff(got, want)
		t.Errorf("a guided rule set written outside tfgraph differs from Guided by %g", d)
	}
	noConv := &tfgraph.RuleSet{Name: "no-conv", Rules: map[string]tfgraph.Rule{"Conv2D": nil}}
	_, err = fl.Gradient(g.Inputs, g.Top, "", noConv)
	var nr *tfgraph.NoRuleError
	if !errors.As(err, &nr) || nr.Op != "Conv2D" || nr.Rules != "no-conv" || nr.Layer == "" {
		t.Errorf("refused op: %v (%#v)", err, nr)
	}
	if got := fl.MissingRules(noConv); len(got) != 1 || got[0] != "Conv2D" {
		t.Errorf("MissingRules = %v", got)
	}
}

// A cancelled context stops a run before it starts; a closed model gives
// ErrClosed.
func TestCancelAndClose(t *testing.T) {
	m, g := loadZoo(t, "fmnist_gap")
	fl, err := m.Flat()
	if err != nil {
		t.Fatal(err)
	}
	if fl.BytesPerImage() <= 28*28*4 {
		t.Errorf("BytesPerImage = %d", fl.BytesPerImage())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	before := fl.Runs()
	if _, err := fl.Run(ctx, g.Inputs, tfgraph.Query{Fetch: []string{fl.Output()}}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled run: %v", err)
	}
	if fl.Runs() != before {
		t.Error("a cancelled query ran")
	}
	m.Close()
	if _, err := fl.Forward(g.Inputs); !errors.Is(err, tfgraph.ErrClosed) {
		t.Errorf("run after Close: %v", err)
	}
}

// The GAP networks of the zoo have a CAM head at their CAM layer; fmnist_vgg
// (Flatten, Dense, Dense) has none, and says why.
func TestGAPHead(t *testing.T) {
	for _, c := range []struct{ model, layer string }{
		{"fmnist_gap", "relu3_2"}, {"fmnist_gap_softmax", "relu3_2"},
		{"fmnist_resnet", "block3_out"}, {"fmnist_scatter", "relu4_2"}, {"fmnist_vgg", ""},
	} {
		fl, _ := loadFlat(t, c.model)
		head, err := fl.GAPHead()
		if c.layer == "" {
			var na *tfgraph.NotApplicableError
			if !errors.As(err, &na) || !strings.Contains(err.Error(), "not from global average pooling") {
				t.Errorf("%s: %v", c.model, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", c.model, err)
		}
		if head.Layer != c.layer || head.KernelTransposed {
			t.Errorf("%s: head %+v, want layer %s", c.model, head, c.layer)
		}
		if s := fl.Shape(head.Kernel); len(s) != 2 || s[1] != 10 {
			t.Errorf("%s: kernel %s has shape %v", c.model, head.Kernel, s)
		}
	}
}

// When TensorFlow runs out of memory, Run halves the batch until it fits and
// joins the halves: the same fetches and signals, seeded or not, on the
// input or along the way (At), in more session runs.
func TestRunBacksOffOnOOM(t *testing.T) {
	fl, g := loadFlat(t, "fmnist_vgg")
	x, err := tensor.Concat(g.Inputs, g.Inputs.Slice(0, 2)) // 10 images
	if err != nil {
		t.Fatal(err)
	}
	logits, _ := fl.Logits()
	layer, err := fl.Layer("conv2_2")
	if err != nil {
		t.Fatal(err)
	}
	seed, err := fl.OneHot(logits, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	if err != nil {
		t.Fatal(err)
	}
	q := tfgraph.Query{Fetch: []string{logits, layer.Output}, Grads: []tfgraph.Grad{{At: []string{layer.Output}}, {End: layer.Output, Seed: seed}}}
	want, err := fl.Run(context.Background(), x, q)
	if err != nil {
		t.Fatal(err)
	}
	tfgraph.SimulateOOM(3)
	defer tfgraph.SimulateOOM(-1)
	before := fl.Runs()
	got, err := fl.Run(context.Background(), x, q)
	if err != nil {
		t.Fatal(err)
	}
	// 10 → 5 + 5 → (2 + 3) + (2 + 3): four runs that fit.
	if runs := fl.Runs() - before; runs != 4 {
		t.Errorf("%d session runs after backing off, want 4", runs)
	}
	if len(got.At) != 2 || got.At[1] != nil || len(got.At[0]) != 1 {
		t.Fatalf("after backing off, At holds %d lists", len(got.At))
	}
	for i, pair := range [][2]*tensor.Tensor{{want.Fetched[0], got.Fetched[0]}, {want.Fetched[1], got.Fetched[1]}, {want.Grads[0], got.Grads[0]}, {want.Grads[1], got.Grads[1]}, {want.At[0][0], got.At[0][0]}} {
		if !tensor.SameShape(pair[0].Shape, pair[1].Shape) {
			t.Fatalf("result %d: shape %v, want %v", i, pair[1].Shape, pair[0].Shape)
		}
		if d, _ := tensor.MaxAbsDiff(pair[0], pair[1]); d > 1e-5*maxAbs(pair[0]) {
			t.Errorf("result %d differs by %g after backing off", i, d)
		}
	}
	tfgraph.SimulateOOM(0)
	q.Grads[1].Seed = seed.Slice(0, 2)
	if _, err := fl.Run(context.Background(), x.Slice(0, 2), q); err == nil || !strings.Contains(err.Error(), "OOM") {
		t.Errorf("out of memory at one example: %v", err)
	}
}

// A query can feed a tensor of the forward pass in place of computing it:
// its own value gives the same logits; zeros after global average pooling
// give the dense layer's bias; a skip connection around a fed tensor is
// computed from the input; a run that backs off on memory splits the fed
// values too.
func TestQueryFeed(t *testing.T) {
	ctx := context.Background()
	fl, g := loadFlat(t, "fmnist_gap")
	logits, _ := fl.Logits()
	gap, err := fl.Layer("gap")
	if err != nil {
		t.Fatal(err)
	}
	dense, err := fl.Layer("predictions")
	if err != nil {
		t.Fatal(err)
	}
	var bias string
	for _, w := range dense.Weights {
		if strings.Contains(w, "/bias") {
			bias = w
		}
	}
	b, err := fl.WeightValue(bias)
	if err != nil {
		t.Fatal(err)
	}
	base, err := fl.Run(ctx, g.Inputs, tfgraph.Query{Fetch: []string{logits, gap.Output}})
	if err != nil {
		t.Fatal(err)
	}
	n := g.Inputs.Shape[0]
	feed := func(model *tfgraph.Flat, x *tensor.Tensor, name string, v *tensor.Tensor) *tensor.Tensor {
		t.Helper()
		res, err := model.Run(ctx, x, tfgraph.Query{Fetch: []string{logits}, Feed: map[string]*tensor.Tensor{name: v}})
		if err != nil {
			t.Fatal(err)
		}
		return res.Fetched[0]
	}
	if got := feed(fl, g.Inputs, gap.Output, base.Fetched[1]); !tensor.Equal(got, base.Fetched[0]) {
		d, _ := tensor.MaxAbsDiff(got, base.Fetched[0])
		t.Errorf("feeding the layer its own value changes the logits by %g", d)
	}
	zero := feed(fl, g.Inputs, gap.Output, tensor.New(n, 128))
	for i, v := range zero.Data {
		if v != b.Data[i%10] {
			t.Fatalf("zeros after global average pooling give logit %g, the bias is %g", v, b.Data[i%10])
		}
	}
	// Backing off on memory splits the feeds with the batch.
	tfgraph.SimulateOOM(3)
	split := feed(fl, g.Inputs, gap.Output, base.Fetched[1])
	tfgraph.SimulateOOM(-1)
	if d, _ := tensor.MaxAbsDiff(split, base.Fetched[0]); d > 1e-5*maxAbs(base.Fetched[0]) {
		t.Errorf("after backing off the fed run differs by %g", d)
	}

	// A residual block's inner activation: the skip connection still reads
	// the input, so zeros there change the logits, and its own value does not.
	rn, rg := loadFlat(t, "fmnist_resnet")
	inner, err := rn.Layer("block3_relu1")
	if err != nil {
		t.Fatal(err)
	}
	rl, _ := rn.Logits()
	rb, err := rn.Run(ctx, rg.Inputs, tfgraph.Query{Fetch: []string{rl, inner.Output}})
	if err != nil {
		t.Fatal(err)
	}
	logits = rl
	if d, _ := tensor.MaxAbsDiff(feed(rn, rg.Inputs, inner.Output, rb.Fetched[1]), rb.Fetched[0]); d > 1e-5*maxAbs(rb.Fetched[0]) {
		t.Errorf("resnet: its own value changes the logits by %g", d)
	}
	if d, _ := tensor.MaxAbsDiff(feed(rn, rg.Inputs, inner.Output, tensor.New(rb.Fetched[1].Shape...)), rb.Fetched[0]); d < 1e-2*maxAbs(rb.Fetched[0]) {
		t.Errorf("resnet: zeros in a residual branch change the logits by only %g", d)
	}

	// Bad feeds.
	logits, _ = fl.Logits()
	for _, c := range []struct {
		q    tfgraph.Query
		want string
	}{
		{tfgraph.Query{Fetch: []string{logits}, Feed: map[string]*tensor.Tensor{gap.Output: tensor.New(n, 64)}}, "wants shape"},
		{tfgraph.Query{Fetch: []string{logits}, Feed: map[string]*tensor.Tensor{gap.Output: tensor.New(n-1, 128)}}, "with 8 rows"},
		{tfgraph.Query{Fetch: []string{logits}, Feed: map[string]*tensor.Tensor{"serving_default_image": g.Inputs}}, "it is the input"},
		{tfgraph.Query{Fetch: []string{logits}, Feed: map[string]*tensor.Tensor{"nope": g.Inputs}}, "no tensor nope"},
		{tfgraph.Query{Grads: []tfgraph.Grad{{}}, Feed: map[string]*tensor.Tensor{gap.Output: base.Fetched[1]}}, "asks for no grads"},
	} {
		if _, err := fl.Run(ctx, g.Inputs, c.q); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v; want %q", c.q.Feed, err, c.want)
		}
	}
}

// ForwardBytesPerImage is at most BytesPerImage (a forward run holds a part
// of the activations at once) and at least the largest layer output plus
// the input (held together at some op); GradientBytesPerImage is between
// the forward peak with one signal and all activations; ResNet50's figures
// are in their docs.
func TestForwardBytesPerImage(t *testing.T) {
	for _, name := range []string{"fmnist_vgg", "fmnist_resnet", "fmnist_gap", "fmnist_vit"} {
		m, _ := loadZoo(t, name)
		fl, err := m.Flat()
		if err != nil {
			t.Fatal(err)
		}
		var largest int64
		for _, l := range fl.Layers() {
			size := int64(4)
			for _, d := range fl.Shape(l.Output)[1:] {
				size *= max(d, 1)
			}
			largest = max(largest, size)
		}
		fwd, grad, all := fl.ForwardBytesPerImage(), fl.GradientBytesPerImage(), fl.BytesPerImage()
		if !(fwd >= largest && fwd <= all) {
			t.Errorf("%s: forward %d bytes per image; want ≥ %d (the largest layer output), ≤ %d (all activations)", name, fwd, largest, all)
		}
		if !(grad >= min(fwd+largest, all) && grad <= all) {
			t.Errorf("%s: gradient %d bytes per image; want ≥ %d (the forward peak and a signal), ≤ %d (all activations)", name, grad, min(fwd+largest, all), all)
		}
		t.Logf("%s: forward %d, gradient %d, all %d, largest layer output %d bytes", name, fwd, grad, all, largest)
	}
}

// Backing off on memory keeps DeepLIFT's pairs together: each half of the
// batch takes half of the images and their references (the other half of
// the batch), so the signals equal those of one run. Cut in the middle, the
// images would have met each other as references.
func TestRunBacksOffOnOOMPaired(t *testing.T) {
	fl, g := loadFlat(t, "fmnist_vgg")
	imgs := g.Inputs.Slice(0, 4)
	refs := g.Inputs.Slice(4, 8)
	x, err := tensor.Concat(imgs, refs)
	if err != nil {
		t.Fatal(err)
	}
	logits, _ := fl.Logits()
	seed, err := fl.OneHot(logits, []int{0, 3, 5, 7, 0, 3, 5, 7})
	if err != nil {
		t.Fatal(err)
	}
	q := tfgraph.Query{Grads: []tfgraph.Grad{{Start: logits, Rules: tfgraph.DeepLIFT, Seed: seed}}}
	want, err := fl.Run(context.Background(), x, q)
	if err != nil {
		t.Fatal(err)
	}
	for _, limit := range []int{4, 2} {
		tfgraph.SimulateOOM(limit)
		got, err := fl.Run(context.Background(), x, q)
		tfgraph.SimulateOOM(-1)
		if err != nil {
			t.Fatalf("out of memory above %d examples: %v", limit, err)
		}
		if d, _ := tensor.MaxAbsDiff(want.Grads[0], got.Grads[0]); d > 1e-5*maxAbs(want.Grads[0]) {
			t.Errorf("out of memory above %d examples: DeepLIFT's signals differ by %g after backing off", limit, d)
		}
	}
	tfgraph.SimulateOOM(1)
	defer tfgraph.SimulateOOM(-1)
	if _, err := fl.Run(context.Background(), x, q); err == nil || !strings.Contains(err.Error(), "pairs of an image and its reference, which cannot be split further") {
		t.Errorf("out of memory at one pair: %v", err)
	}
}
