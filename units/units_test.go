package units_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/saliencykit/saliency/experiments"
	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
	"github.com/saliencykit/saliency/units"
)

func zooDir(name string) string { return filepath.Join("..", "savedmodels", name) }

var (
	fmnistOnce sync.Once
	fmnistIms  *experiments.Images
	fmnistErr  error
)

// testSet is the 10,000 Fashion-MNIST test images, in order.
func testSet(t *testing.T) *experiments.Images {
	t.Helper()
	fmnistOnce.Do(func() { fmnistIms, fmnistErr = experiments.LoadImages(experiments.Data{Source: "fashion-mnist"}) })
	if fmnistErr != nil {
		t.Fatal(fmnistErr)
	}
	return fmnistIms
}

func openZoo(t *testing.T, name string) *experiments.Opened {
	t.Helper()
	op, err := experiments.Open(zooDir(name), tfgraph.Options{}, experiments.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { op.Model.Close() })
	return op
}

// pythonScan is savedmodels/golden_scan.py's output.
type pythonScan struct {
	Layer  string `json:"layer"`
	K      int    `json:"k"`
	Images int    `json:"images"`
	Top    [][]struct {
		Image int     `json:"image"`
		Value float64 `json:"value"`
		At    []int   `json:"at"`
	} `json:"top"`
}

// The streamed scan over the 10,000 Fashion-MNIST test images finds, for
// every channel of fmnist_vgg's conv2_2 and every neuron of fc1, the top 9
// images that a numpy argsort of all the activations computed in Python
// finds (savedmodels/golden_scan.py): the same images in the same order and
// positions, values within 1e-5; where two images' values are within
// float rounding of each other, either order is right.
func TestScanEqualsNumpy(t *testing.T) {
	op := openZoo(t, "fmnist_vgg")
	src := testSet(t).Source(op.Spec)
	for _, layer := range []string{"conv2_2", "fc1"} {
		raw, err := os.ReadFile(filepath.Join(zooDir("edge"), "units", "scan", "fmnist_vgg_"+layer+".json"))
		if err != nil {
			t.Fatalf("no Python scan: run make edge-models (%v)", err)
		}
		var py pythonScan
		if err := json.Unmarshal(raw, &py); err != nil {
			t.Fatal(err)
		}
		s, err := units.ScanLayer(context.Background(), op.Flat, src, units.Options{Layer: layer, K: py.K})
		if err != nil {
			t.Fatal(err)
		}
		if s.Images != 10000 || len(s.Top) != len(py.Top) {
			t.Fatalf("%s: %d images, %d channels; Python %d, %d", layer, s.Images, len(s.Top), py.Images, len(py.Top))
		}
		swaps := 0
		for c := range s.Top {
			for r, a := range s.Top[c] {
				p := py.Top[c][r]
				if d := math.Abs(float64(a.Value) - p.Value); d > 1e-5*math.Max(1, math.Abs(p.Value)) {
					t.Errorf("%s channel %d rank %d: value %v, Python %v", layer, c, r, a.Value, p.Value)
				}
				if a.Image != p.Image {
					// only between near-equal values
					near := false
					for _, q := range py.Top[c] {
						if q.Image == a.Image && math.Abs(q.Value-p.Value) <= 1e-5*math.Max(1, math.Abs(p.Value)) {
							near = true
						}
					}
					if !near {
						t.Errorf("%s channel %d rank %d: image %d (%v), Python image %d (%v)", layer, c, r, a.Image, a.Value, p.Image, p.Value)
					}
					swaps++
					continue
				}
				if len(p.At) != len(a.At) || (len(p.At) == 2 && (p.At[0] != a.At[0] || p.At[1] != a.At[1])) {
					t.Errorf("%s channel %d rank %d: position %v, Python %v", layer, c, r, a.At, p.At)
				}
			}
		}
		t.Logf("%s: %d channels × top %d of %d images equal numpy's argsort (%d near-tie swaps)", layer, len(s.Top), s.K, s.Images, swaps)
	}
}

// A scan cut short and resumed from its checkpoint gives the scan of one
// pass; the projection of each top activation is the backward signal of
// that activation alone (the seed one-hot at its position), which lies in
// its receptive field's box, and the patches are the image in that box.
func TestResumeAndProject(t *testing.T) {
	op := openZoo(t, "fmnist_vgg")
	d, err := experiments.LoadImages(experiments.Data{Source: "fashion-mnist", Count: 300, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	src := d.Source(op.Spec)
	ctx := context.Background()
	o := units.Options{Layer: "conv2_1", Channels: []int{0, 3, 7}, K: 5, Batch: 32}
	whole, err := units.ScanLayer(ctx, op.Flat, src, o)
	if err != nil {
		t.Fatal(err)
	}
	var first *units.Scan
	cut := o
	cut.CheckpointEvery = 64
	cut.Checkpoint = func(s *units.Scan) error {
		if first == nil {
			first = s
		}
		return nil
	}
	if _, err := units.ScanLayer(ctx, op.Flat, src, cut); err != nil {
		t.Fatal(err)
	}
	if first == nil || first.Images != 64 {
		t.Fatalf("checkpoint %+v", first)
	}
	o.Resume = first
	resumed, err := units.ScanLayer(ctx, op.Flat, src, o)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(whole)
	b, _ := json.Marshal(resumed)
	if string(a) != string(b) {
		t.Fatal("the resumed scan differs from one pass")
	}
	for i := range whole.Channels {
		p, err := units.Project(ctx, op.Flat, src, whole, i, "deconvnet")
		if err != nil {
			t.Fatal(err)
		}
		for j, act := range p.Top {
			x, disp, err := src.Batch(act.Image, act.Image+1)
			if err != nil {
				t.Fatal(err)
			}
			// the full projection, from the engine directly
			l, _ := op.Flat.Layer("conv2_1")
			seed := tensor.New(append([]int{1}, whole.Shape...)...)
			c := whole.Shape[2]
			seed.Data[(act.At[0]*whole.Shape[1]+act.At[1])*c+p.Channel] = 1
			res, err := op.Flat.Run(ctx, x, tfgraph.Query{Grads: []tfgraph.Grad{{Start: l.Output, Rules: tfgraph.DeconvNet, Seed: seed}}})
			if err != nil {
				t.Fatal(err)
			}
			full := res.Grads[0]
			h, w := full.Shape[1], full.Shape[2]
			var inside, outside float64
			for y := 0; y < h; y++ {
				for xx := 0; xx < w; xx++ {
					v := math.Abs(float64(full.Data[y*w+xx]))
					if y >= act.Box.Y0 && y < act.Box.Y1 && xx >= act.Box.X0 && xx < act.Box.X1 {
						inside += v
					} else {
						outside += v
					}
				}
			}
			if outside != 0 || inside == 0 {
				t.Errorf("channel %d image %s: |projection| %g inside box %+v, %g outside", p.Channel, act.ID, inside, act.Box, outside)
			}
			// the cropped projection and patch are the box's pixels
			var sumCrop, sumBox, sumPatch, sumImg float64
			for _, v := range p.Maps.Item(j).Data {
				sumCrop += float64(v)
			}
			for _, v := range p.Patches.Item(j).Data {
				sumPatch += float64(v)
			}
			for y := act.Box.Y0; y < act.Box.Y1; y++ {
				for xx := act.Box.X0; xx < act.Box.X1; xx++ {
					sumBox += float64(full.Data[y*w+xx])
					sumImg += float64(disp.Data[y*w+xx])
				}
			}
			if math.Abs(sumCrop-sumBox) > 1e-4*math.Max(1, math.Abs(sumBox)) || math.Abs(sumPatch-sumImg) > 1e-4*math.Max(1, sumImg) {
				t.Errorf("channel %d image %s: crop sums %g/%g, box %g/%g", p.Channel, act.ID, sumCrop, sumPatch, sumBox, sumImg)
			}
		}
		if _, err := units.Figure(whole, p, "deconvnet"); err != nil {
			t.Fatal(err)
		}
	}
}

// randomSource is n seeded uniform images of h×w×c, as model inputs and as
// display images.
type randomSource struct{ n, h, w, c int }

func (r randomSource) Len() int        { return r.n }
func (r randomSource) ID(i int) string { return fmt.Sprintf("random-%d", i) }
func (r randomSource) Batch(lo, hi int) (x, d *tensor.Tensor, err error) {
	x = tensor.New(hi-lo, r.h, r.w, r.c)
	per := r.h * r.w * r.c
	for i := lo; i < hi; i++ {
		rng := rand.New(rand.NewPCG(uint64(i), 7))
		for j := range per {
			x.Data[(i-lo)*per+j] = rng.Float32()
		}
	}
	return x, x, nil
}

// A scan resumed from its checkpoint read back from JSON (a folder's
// scan.json, which keeps the receptive field's nominal intervals only)
// gives the boxes of one pass: on dilated convolutions the exact box of a
// unit near the border is smaller than its nominal interval.
func TestResumeFromJSONKeepsExactBoxes(t *testing.T) {
	op := openZoo(t, "edge/dilated_conv")
	src := randomSource{n: 96, h: 16, w: 16, c: 3}
	ctx := context.Background()
	o := units.Options{Layer: "conv_dilated", K: 6, Batch: 16}
	whole, err := units.ScanLayer(ctx, op.Flat, src, o)
	if err != nil {
		t.Fatal(err)
	}
	var raw []byte
	cut := o
	cut.CheckpointEvery = 16
	cut.Checkpoint = func(s *units.Scan) error {
		if raw == nil {
			raw, err = json.Marshal(s)
		}
		return err
	}
	if _, err := units.ScanLayer(ctx, op.Flat, src, cut); err != nil {
		t.Fatal(err)
	}
	var read units.Scan
	if err := json.Unmarshal(raw, &read); err != nil || read.Images != 16 {
		t.Fatalf("checkpoint of %d images: %v", read.Images, err)
	}
	o.Resume = &read
	resumed, err := units.ScanLayer(ctx, op.Flat, src, o)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(whole)
	b, _ := json.Marshal(resumed)
	if string(a) != string(b) {
		t.Error("the scan resumed from JSON differs from one pass")
	}
	// The case arises: some top activation lies where the boxes differ.
	var nominal tfgraph.ReceptiveField
	fj, _ := json.Marshal(whole.Field)
	json.Unmarshal(fj, &nominal)
	differ := 0
	for _, top := range whole.Top {
		for _, act := range top {
			if act.Image >= 16 && nominal.Box(act.At[0], act.At[1], 16, 16) != act.Box {
				differ++
			}
		}
	}
	if differ == 0 {
		t.Error("no top activation after the checkpoint has a box other than its nominal interval; the test checks nothing")
	}
	// A scan of another layer is not resumed.
	o.Layer = "dw_dilated"
	var re *units.ResumeError
	if _, err := units.ScanLayer(ctx, op.Flat, src, o); !errors.As(err, &re) || !strings.Contains(err.Error(), "the scan to resume is of layer conv_dilated") {
		t.Errorf("resume of another layer: %v", err)
	}
}
