package tfgraph_test

import (
	"context"
	"strings"
	"testing"

	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// A shift of the input absorbed by the first layer's bias leaves the logits
// of the vision transformer (a VALID patch convolution first) unchanged to
// float32 precision; the convolutional zoo models pad SAME or have no bias and are refused.
func TestCompensateShift(t *testing.T) {
	fl, g := loadFlat(t, "fmnist_vit")
	sh, err := fl.CompensateShift([]float32{-1})
	if err != nil {
		t.Fatal(err)
	}
	if sh.Layer != "patch_embed" || !strings.HasPrefix(sh.Bias, "patch_embed/bias") {
		t.Errorf("shift absorbed in %s by %s", sh.Layer, sh.Bias)
	}
	view := viewWith(t, fl, sh.Values)
	x := g.Inputs
	shifted := tensor.New(x.Shape...)
	for i, v := range x.Data {
		shifted.Data[i] = v - 1
	}
	logits, _ := fl.Logits()
	a, err := fl.Run(context.Background(), x, tfgraph.Query{Fetch: []string{logits}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := view.Run(context.Background(), shifted, tfgraph.Query{Fetch: []string{logits}})
	if err != nil {
		t.Fatal(err)
	}
	d, _ := tensor.MaxAbsDiff(a.Fetched[0], b.Fetched[0])
	var scale float64
	for _, v := range a.Fetched[0].Data {
		scale = max(scale, float64(v), -float64(v))
	}
	t.Logf("max |Δlogit| = %.3g (logits up to %.3g)", d, scale)
	if d > 1e-5*scale {
		t.Errorf("shifted and compensated logits differ by %g (logits up to %g)", d, scale)
	}
	// Without the compensation they differ.
	c, _ := fl.Run(context.Background(), shifted, tfgraph.Query{Fetch: []string{logits}})
	if d, _ := tensor.MaxAbsDiff(a.Fetched[0], c.Fetched[0]); d < 1e-2 {
		t.Errorf("the shift alone changes the logits by only %g", d)
	}

	for name, want := range map[string]string{"fmnist_vgg": "the first convolution", "fmnist_resnet": "layer stem_conv has no bias"} {
		fl, _ := loadFlat(t, name)
		_, err := fl.CompensateShift([]float32{-1})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v; want %q", name, err, want)
		}
	}
}
