package tfgraph_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
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

// BenchmarkLRP times each LRP composite against a plain gradient of the same
// batch, interleaved (one of each per iteration), on fmnist_resnet and on
// ResNet50 of `make zoo-imagenet` when built (batch 1 and 8), and reports the
// ratio of their medians.
func BenchmarkLRP(b *testing.B) {
	dirs := []string{zooDir("fmnist_resnet")}
	if _, err := os.Stat(filepath.Join(zooDir("imagenet"), "resnet50", "saved_model.pb")); err == nil {
		dirs = append(dirs, filepath.Join(zooDir("imagenet"), "resnet50"))
	}
	eps := tfgraph.LRPRule{Kind: "epsilon", Epsilon: 1e-6}
	composites := []tfgraph.LRP{
		{Name: "epsilon-plus", Conv: tfgraph.LRPRule{Kind: "zplus"}, Dense: eps, Stabilizer: 1e-6},
		{Name: "epsilon-gamma-box", Conv: tfgraph.LRPRule{Kind: "gamma", Gamma: 0.25}, Dense: eps, Stabilizer: 1e-6,
			First: &tfgraph.LRPRule{Kind: "zbox", Low: []float32{0}, High: []float32{1}}},
		{Name: "epsilon-alpha2-beta1", Conv: tfgraph.LRPRule{Kind: "alpha-beta", Alpha: 2, Beta: 1}, Dense: eps, Stabilizer: 1e-6},
		{Name: "epsilon-plus-flat", Conv: tfgraph.LRPRule{Kind: "zplus"}, Dense: eps, Stabilizer: 1e-6,
			First: &tfgraph.LRPRule{Kind: "flat"}, FirstDense: true},
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
		for _, n := range []int{1, 8} {
			x := tensor.New(n, int(in.Shape[1]), int(in.Shape[2]), int(in.Shape[3]))
			r := rand.New(rand.NewPCG(1, 2))
			for i := range x.Data {
				x.Data[i] = r.Float32()
			}
			classes := make([]int, n)
			for _, c := range composites {
				rs := c.RuleSet()
				b.Run(fmt.Sprintf("%s/batch=%d/%s", filepath.Base(dir), n, c.Name), func(b *testing.B) {
					for _, r := range []*tfgraph.RuleSet{tfgraph.Plain, rs} { // warm-up: build and plan
						if _, err := fl.Gradient(x, classes, "", r); err != nil {
							b.Fatal(err)
						}
					}
					var plain, lrp []float64
					for i := 0; i < b.N; i++ {
						t0 := time.Now()
						if _, err := fl.Gradient(x, classes, "", tfgraph.Plain); err != nil {
							b.Fatal(err)
						}
						t1 := time.Now()
						if _, err := fl.Gradient(x, classes, "", rs); err != nil {
							b.Fatal(err)
						}
						plain = append(plain, float64(t1.Sub(t0))/1e6)
						lrp = append(lrp, float64(time.Since(t1))/1e6)
					}
					mp, ml := median(plain), median(lrp)
					b.ReportMetric(mp, "ms/gradient")
					b.ReportMetric(ml, "ms/lrp")
					b.ReportMetric(ml/mp, "lrp/gradient")
				})
			}
		}
		m.Close()
	}
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
