//go:build cgo

package methods_test

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/saliencykit/saliency/methods"
	"github.com/saliencykit/saliency/reports"
	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// benchOptions are the options of bench/compare.py, per model: the CAM layer,
// and the sizes of the occlusion grid, Score-CAM and class model
// visualisation.
var benchOptions = map[string]map[string]map[string]any{
	"fmnist_vgg": {
		"occlusion":   {"patch": 4, "stride": 4},
		"class-model": {"steps": 100},
	},
	"imagenet/resnet50": {
		"occlusion":   {"patch": 32, "stride": 32},
		"scorecam":    {"channels": 64},
		"class-model": {"steps": 20},
	},
}

var benchLayer = map[string]string{"fmnist_vgg": "conv2_2", "fmnist_gap": "conv3_2", "imagenet/resnet50": "conv5_block3_out"}

// BenchmarkMethods times every method with the options of bench/compare.py
// on fmnist_vgg (fmnist_gap for cam) at batch 1 and 32, and reports its cost
// in plain gradients of the same batch ("gradients" = time of the method ÷
// time of one gradient) and in forward passes ("forwards").
//
//	go test -run '^$' -bench Methods/ -benchtime 3x ./methods
func BenchmarkMethods(b *testing.B) { benchMethods(b, "fmnist_vgg", []int{1, 32}) }

// BenchmarkMethodsResNet50 is BenchmarkMethods on ResNet50 with random
// weights (make zoo-imagenet builds it) at batch 1 and 8, 224×224.
//
//	go test -run '^$' -bench MethodsResNet50 -benchtime 1x -timeout 2h ./methods
func BenchmarkMethodsResNet50(b *testing.B) { benchMethods(b, "imagenet/resnet50", []int{1, 8}) }

func benchMethods(b *testing.B, model string, batches []int) {
	ctx := context.Background()
	if _, err := os.Stat(zooDir(model)); err != nil {
		b.Fatalf("%s is not built: run make zoo-imagenet (%v)", model, err)
	}
	for _, n := range batches {
		for _, name := range methods.Names() {
			if name == "attention-rollout" {
				continue // transformers only
			}
			mname := model
			if name == "cam" && model == "fmnist_vgg" {
				mname = "fmnist_gap" // CAM needs a GAP head
			}
			fl, g := loadZoo(b, mname)
			x := tensor.New(append([]int{n}, g.Inputs.Shape[1:]...)...)
			r := rand.New(rand.NewPCG(1, 2))
			for i := range x.Data {
				x.Data[i] = r.Float32()
			}
			batch := methods.Batch{X: x}
			target := methods.Target{Layer: benchLayer[mname]}
			opts := benchOptions[model][name]
			if opt := methods.NeedsInput(name); opt != "" {
				// deepshap, expected-gradients: 8 random reference images.
				opts = maps.Clone(opts)
				if opts == nil {
					opts = map[string]any{}
				}
				opts[opt] = benchReferences(b, g.Inputs.Shape[1:])
			}
			m, err := methods.New(name, opts)
			if err != nil {
				b.Fatal(err)
			}
			b.Run(fmt.Sprintf("%s/%s/batch=%d", model, name, n), func(b *testing.B) {
				if _, err := m.Explain(ctx, fl, batch, target); err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, err := m.Explain(ctx, fl, batch, target); err != nil {
						b.Fatal(err)
					}
				}
				per := float64(b.Elapsed()) / float64(b.N)
				gradTime, fwdTime := references(b, fl, batch, target)
				b.ReportMetric(per/1e6, "ms/batch")
				b.ReportMetric(per/float64(gradTime), "gradients")
				b.ReportMetric(per/float64(fwdTime), "forwards")
			})
		}
	}
}

type refKey struct {
	fl *tfgraph.Flat
	n  int
}

var refCache = map[refKey][2]time.Duration{}

// references are the times of one plain gradient and of one forward pass
// (medians of 5) of batch on fl, measured once per model and batch size.
func references(b *testing.B, fl *tfgraph.Flat, batch methods.Batch, target methods.Target) (grad, fwd time.Duration) {
	k := refKey{fl, batch.X.Shape[0]}
	if r, ok := refCache[k]; ok {
		return r[0], r[1]
	}
	g, _ := methods.New("gradient", nil)
	grad = median(b, 5, func() error { _, err := g.Explain(context.Background(), fl, batch, target); return err })
	logits, _ := fl.Logits()
	fwd = median(b, 5, func() error {
		_, err := fl.Run(context.Background(), batch.X, tfgraph.Query{Fetch: []string{logits}})
		return err
	})
	refCache[k] = [2]time.Duration{grad, fwd}
	return grad, fwd
}

// median is the median time of reps calls of f after one warm-up call.
func median(b *testing.B, reps int, f func() error) time.Duration {
	var ts []time.Duration
	for i := 0; i <= reps; i++ {
		t0 := time.Now()
		if err := f(); err != nil {
			b.Fatal(err)
		}
		if i > 0 {
			ts = append(ts, time.Since(t0))
		}
	}
	slices.Sort(ts)
	return ts[len(ts)/2]
}

// benchReferences writes 8 reference images of shape [H,W,C], uniform in
// [0,1), for the methods that need them, and returns the .npy file.
func benchReferences(b *testing.B, shape []int) string {
	refs := tensor.New(append([]int{8}, shape...)...)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range refs.Data {
		refs.Data[i] = r.Float32()
	}
	path := filepath.Join(b.TempDir(), "references.npy")
	if err := reports.WriteNpy(path, refs); err != nil {
		b.Fatal(err)
	}
	return path
}
