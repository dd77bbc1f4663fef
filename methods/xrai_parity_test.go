//go:build cgo

package methods_test

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"codeberg.org/sbinet/npyio"
	"github.com/saliencykit/saliency/methods"
	"github.com/saliencykit/saliency/savedmodels"
	"github.com/saliencykit/saliency/segment"
	"github.com/saliencykit/saliency/tensor"
)

// pairXRAI are the PAIR saliency 0.2.1 XRAI goldens of a zoo model
// (bench/xrai_goldens.py, make xrai-goldens).
type pairXRAI struct {
	classes  []int
	want     *tensor.Tensor // attribution_mask [8,H,W]
	fast     *tensor.Tensor // algorithm fast
	attr     *tensor.Tensor // the mean IG merged [8,H,W,1]
	segments [][]segment.Labels
}

func readPairXRAI(t *testing.T, model string) pairXRAI {
	t.Helper()
	dir := filepath.Join(zooDir(model), "golden", "peers")
	raw, err := os.ReadFile(filepath.Join(dir, "pair_xrai.json"))
	if err != nil {
		t.Fatalf("%v: run make xrai-goldens", err)
	}
	var man struct {
		Version string `json:"version"`
		Classes []int  `json:"classes"`
	}
	if err := json.Unmarshal(raw, &man); err != nil {
		t.Fatal(err)
	}
	if man.Version != "0.2.1" {
		t.Fatalf("PAIR saliency %s, want 0.2.1", man.Version)
	}
	var p pairXRAI
	p.classes = man.Classes
	for _, f := range []struct {
		name string
		dst  **tensor.Tensor
	}{{"pair_xrai", &p.want}, {"pair_xrai_fast", &p.fast}, {"pair_xrai_attr", &p.attr}} {
		if *f.dst, err = savedmodels.ReadNpy(filepath.Join(dir, f.name+".npy")); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(filepath.Join(dir, "pair_xrai_segments.npy"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := npyio.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var segs []int16
	if err := r.Read(&segs); err != nil {
		t.Fatal(err)
	}
	sh := r.Header.Descr.Shape // [8, scales, H, W]
	n, k, h, w := sh[0], sh[1], sh[2], sh[3]
	for i := 0; i < n; i++ {
		var one []segment.Labels
		for j := 0; j < k; j++ {
			l := segment.Labels{H: h, W: w, Label: make([]int32, h*w)}
			for p, v := range segs[(i*k+j)*h*w : (i*k+j+1)*h*w] {
				l.Label[p] = int32(v)
				l.N = max(l.N, int(v)+1)
			}
			one = append(one, l)
		}
		p.segments = append(p.segments, one)
	}
	return p
}

// compareXRAI asserts Pearson ≥ 0.999 per image and reports the smallest and
// the fraction of pixels exactly equal.
func compareXRAI(t *testing.T, what string, got, want *tensor.Tensor) {
	t.Helper()
	worst, equal := 1.0, 0
	for i := 0; i < want.Shape[0]; i++ {
		a, b := got.Item(i), want.Item(i)
		r := tensor.Pearson(a.Data, b.Data)
		worst = min(worst, r)
		if !(r >= 0.999) {
			t.Errorf("%s: image %d: Pearson %.6f against PAIR", what, i, r)
		}
		for q := range a.Data {
			if a.Data[q] == b.Data[q] {
				equal++
			}
		}
	}
	t.Logf("%s: min Pearson %.7f, %.4f of the pixels equal", what, worst, float64(equal)/float64(want.Len()))
}

// XRAI against PAIR saliency 0.2.1 on the zoo's Fashion-MNIST models, 8
// images: the merging alone (PAIR's attribution and segmentations fed, the
// dilation done here), full and fast, and end to end (IG on both baselines,
// the segmentation and the merging computed here, PAIR's on its tf_keras
// copy of the model) with the default options, PAIR's.
func TestXRAIPeerParity(t *testing.T) {
	ctx := context.Background()
	for _, model := range peerModels {
		t.Run(model, func(t *testing.T) {
			fl, g := loadZoo(t, model)
			p := readPairXRAI(t, model)
			target := methods.Target{Classes: p.classes}
			b := methods.Batch{X: g.Inputs}
			for _, algo := range []string{"full", "fast"} {
				x := &methods.XRAI{Attribution: p.attr, Segments: p.segments, Algorithm: algo}
				got, err := x.Explain(ctx, fl, b, target)
				if err != nil {
					t.Fatal(err)
				}
				want := p.want
				if algo == "fast" {
					want = p.fast
				}
				compareXRAI(t, "merging alone, "+algo, got.Map, want)
			}
			// The segmentations equal PAIR's label for label.
			same := 0
			for i, want := range p.segments {
				h, w, c := g.Inputs.Shape[1], g.Inputs.Shape[2], g.Inputs.Shape[3]
				got, err := (&methods.XRAI{}).Segmentations(g.Inputs.Item(i).Data, h, w, c)
				if err != nil {
					t.Fatal(err)
				}
				for j := range want {
					if slices.Equal(got[j].Label, want[j].Label) {
						same++
						continue
					}
					ari, _ := segment.AdjustedRand(got[j], want[j])
					t.Errorf("image %d, scale %d: segmentation differs from PAIR's (adjusted Rand index %.5f)", i, j, ari)
				}
			}
			t.Logf("segmentations: %d of %d equal to PAIR's", same, len(p.segments)*len(p.segments[0]))
			x := &methods.XRAI{} // PAIR's defaults
			got, err := x.Explain(ctx, fl, b, target)
			if err != nil {
				t.Fatal(err)
			}
			for i := range got.Classes {
				if got.Classes[i] != p.classes[i] {
					t.Fatalf("image %d: class %d, want %d", i, got.Classes[i], p.classes[i])
				}
			}
			worst := 1.0
			for i := 0; i < p.attr.Shape[0]; i++ {
				worst = min(worst, tensor.Pearson(got.Raw.Item(i).Data, p.attr.Item(i).Data))
			}
			t.Logf("end to end: IG attribution min Pearson %.7f", worst)
			if worst < 0.999 {
				t.Errorf("IG attribution: Pearson %.6f against PAIR's", worst)
			}
			compareXRAI(t, "end to end", got.Map, p.want)
			for _, k := range []string{"forward-passes", "backward-passes"} {
				want := map[string]float64{"forward-passes": 204, "backward-passes": 200}[k]
				for i, v := range got.Info[k] {
					if v != want {
						t.Errorf("image %d: %s %v, want %v (2 baselines × 100 steps)", i, k, v, want)
					}
				}
			}
			if math.IsNaN(got.Info["segments"][0]) || got.Info["segments"][0] < 1 {
				t.Errorf("segments %v", got.Info["segments"])
			}
		})
	}
}
