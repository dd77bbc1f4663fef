package tfgraph_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// BenchmarkForward reports images/s for each zoo model at batch 1 and 64, and
// for the ImageNet-shaped models of `make zoo-imagenet` (batch 1 and 8) when
// they have been built.
func BenchmarkForward(b *testing.B) {
	type target struct {
		dir     string
		batches []int
	}
	var targets []target
	for _, name := range zooModels {
		targets = append(targets, target{zooDir(name), []int{1, 64}})
	}
	imagenet, _ := filepath.Glob(filepath.Join(zooDir("imagenet"), "*", "saved_model.pb"))
	for _, p := range imagenet {
		targets = append(targets, target{filepath.Dir(p), []int{1, 8}})
	}
	for _, tg := range targets {
		m, err := tfgraph.Load(tg.dir, nil)
		if err != nil {
			b.Fatal(err)
		}
		in := m.Input()
		for _, n := range tg.batches {
			x := tensor.New(n, int(in.Shape[1]), int(in.Shape[2]), int(in.Shape[3]))
			r := rand.New(rand.NewPCG(1, 2))
			for i := range x.Data {
				x.Data[i] = r.Float32()
			}
			b.Run(fmt.Sprintf("%s/batch=%d", filepath.Base(tg.dir), n), func(b *testing.B) {
				if _, err := m.Forward(x); err != nil { // warm-up: first run plans the graph
					b.Fatal(err)
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, err := m.Forward(x); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "images/s")
			})
		}
		m.Close()
	}
}

// BenchmarkGradient times one plain gradient (logit of class 0 to the input)
// through the backward engine and reports its ratio to one forward pass of the
// flat graph, for the zoo (batch 1 and 32) and ResNet50 of `make zoo-imagenet`
// when built.
func BenchmarkGradient(b *testing.B) {
	dirs := []string{}
	for _, name := range zooModels {
		dirs = append(dirs, zooDir(name))
	}
	if _, err := os.Stat(filepath.Join(zooDir("imagenet"), "resnet50", "saved_model.pb")); err == nil {
		dirs = append(dirs, filepath.Join(zooDir("imagenet"), "resnet50"))
	}
	for _, dir := range dirs {
		m, err := tfgraph.Load(dir, nil)
		if err != nil {
			b.Fatal(err)
		}
		fl, err := m.Flat()
		if err != nil {
			b.Fatal(err)
		}
		in := m.Input()
		for _, n := range []int{1, 32} {
			x := tensor.New(n, int(in.Shape[1]), int(in.Shape[2]), int(in.Shape[3]))
			r := rand.New(rand.NewPCG(1, 2))
			for i := range x.Data {
				x.Data[i] = r.Float32()
			}
			classes := make([]int, n)
			b.Run(fmt.Sprintf("%s/batch=%d", filepath.Base(dir), n), func(b *testing.B) {
				if _, err := fl.Gradient(x, classes, "", tfgraph.Plain); err != nil {
					b.Fatal(err)
				}
				if _, err := fl.Forward(x); err != nil {
					b.Fatal(err)
				}
				var fwd, grad time.Duration
				for i := 0; i < b.N; i++ {
					t0 := time.Now()
					if _, err := fl.Forward(x); err != nil {
						b.Fatal(err)
					}
					t1 := time.Now()
					if _, err := fl.Gradient(x, classes, "", tfgraph.Plain); err != nil {
						b.Fatal(err)
					}
					fwd += t1.Sub(t0)
					grad += time.Since(t1)
				}
				b.ReportMetric(float64(grad)/float64(b.N)/1e6, "ms/gradient")
				b.ReportMetric(float64(fwd)/float64(b.N)/1e6, "ms/forward")
				b.ReportMetric(float64(grad)/float64(fwd), "gradient/forward")
			})
		}
		m.Close()
	}
}
