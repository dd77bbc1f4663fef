//go:build cgo

package methods_test

import (
	"context"
	"math"
	"testing"

	"github.com/saliencykit/saliency/methods"
	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// Score-CAM's channels option: all channels (or more) is the default
// method, byte for byte; one channel gives a low-resolution map that is
// ReLU(α_j A^j) for the channel j of largest activation variance, so either
// zero or proportional to that activation map.
func TestScoreCAMChannels(t *testing.T) {
	ctx := context.Background()
	fl, g := loadZoo(t, "fmnist_vgg")
	x := g.Inputs.Slice(0, 3)
	tg := methods.Target{Layer: "conv2_2"}
	run := func(opts map[string]any) *methods.Maps {
		t.Helper()
		m, err := methods.New("scorecam", opts)
		if err != nil {
			t.Fatal(err)
		}
		r, err := m.Explain(ctx, fl, methods.Batch{X: x}, tg)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	all := run(nil)
	for _, c := range []int{32, 100} {
		if got := run(map[string]any{"channels": c}); !tensor.Equal(got.Map, all.Map) {
			t.Errorf("channels %d: map differs from all channels", c)
		}
	}
	one := run(map[string]any{"channels": 1})
	if tensor.Equal(one.Map, all.Map) {
		t.Error("channels 1 gives the map of all 32 channels")
	}
	l, err := fl.Layer("conv2_2")
	if err != nil {
		t.Fatal(err)
	}
	res, err := fl.Run(ctx, x, tfgraph.Query{Fetch: []string{l.Output}})
	if err != nil {
		t.Fatal(err)
	}
	a := res.Fetched[0]
	hw, kc := a.Shape[1]*a.Shape[2], a.Shape[3]
	nonzero := 0
	for i := 0; i < x.Shape[0]; i++ {
		best, bestVar := -1, -1.0
		for j := 0; j < kc; j++ {
			var s, sq float64
			for p := 0; p < hw; p++ {
				v := float64(a.Data[(i*hw+p)*kc+j])
				s, sq = s+v, sq+v*v
			}
			if v := sq/float64(hw) - (s/float64(hw))*(s/float64(hw)); v > bestVar {
				best, bestVar = j, v
			}
		}
		low := one.LowRes.Data[i*hw : (i+1)*hw]
		// low = ReLU(α A^j): the ratio low/A^j is one constant wherever low > 0.
		ratio := math.NaN()
		for p := 0; p < hw; p++ {
			if low[p] == 0 {
				continue
			}
			nonzero++
			r := float64(low[p]) / float64(a.Data[(i*hw+p)*kc+best])
			if math.IsNaN(ratio) {
				ratio = r
			} else if math.Abs(r-ratio) > 1e-4*math.Abs(ratio) {
				t.Fatalf("image %d: low-resolution map is not proportional to channel %d: ratio %g and %g", i, best, ratio, r)
			}
		}
	}
	if nonzero == 0 {
		t.Error("channels 1: every low-resolution map is zero; the test checks nothing")
	}
	if _, err := methods.New("scorecam", map[string]any{"channels": -1}); err == nil {
		t.Error("channels -1 accepted")
	}
}

// Score-CAM keeps the upsampled maps of its first pass (their ranges) for
// the masks when they fit its bound, and upsamples them again otherwise:
// the maps are the same bytes either way.
func TestScoreCAMKeptMapsSameBytes(t *testing.T) {
	ctx := context.Background()
	fl, g := loadZoo(t, "fmnist_vgg")
	x := g.Inputs.Slice(0, 4)
	run := func(opts map[string]any) *methods.Maps {
		t.Helper()
		m, err := methods.New("scorecam", opts)
		if err != nil {
			t.Fatal(err)
		}
		r, err := m.Explain(ctx, fl, methods.Batch{X: x}, methods.Target{Layer: "conv2_2"})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	for _, opts := range []map[string]any{nil, {"channels": 3}} {
		kept := run(opts)
		old := methods.SetScoreCAMKeepBytes(0)
		again := run(opts)
		methods.SetScoreCAMKeepBytes(old)
		if len(kept.Map.Data) != 4*28*28 {
			t.Fatalf("%v: maps of shape %v, want 4 of 28×28", opts, kept.Map.Shape)
		}
		for i, v := range kept.Map.Data {
			if math.Float32bits(v) != math.Float32bits(again.Map.Data[i]) {
				t.Fatalf("%v: map value %d: %g with the maps kept, %g made again", opts, i, v, again.Map.Data[i])
			}
		}
	}
}
