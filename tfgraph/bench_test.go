package tfgraph_test

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

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
			x := tfgraph.NewTensor(n, int(in.Shape[1]), int(in.Shape[2]), int(in.Shape[3]))
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
