package methods_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/saliencykit/saliency/methods"
	"github.com/saliencykit/saliency/tensor"
)

// BenchmarkMethods times every method with its default options on fmnist_vgg
// (fmnist_gap for cam) at batch 1 and 32, and reports its cost in plain
// gradients of the same batch ("gradients" = time of the method ÷ time of
// one gradient). SmoothGrad-50 and IG-50 cost far less than 50 gradients
// because their samples and steps share session runs.
func BenchmarkMethods(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{1, 32} {
		for _, name := range methods.Names() {
			model := "fmnist_vgg"
			if name == "cam" {
				model = "fmnist_gap"
			}
			fl, g := loadZoo(b, model)
			x := tensor.New(n, g.Inputs.Shape[1], g.Inputs.Shape[2], g.Inputs.Shape[3])
			r := rand.New(rand.NewPCG(1, 2))
			for i := range x.Data {
				x.Data[i] = g.Inputs.Data[i%g.Inputs.Len()] + 0.01*float32(r.NormFloat64())
			}
			batch := methods.Batch{X: x}
			grad, _ := methods.New("gradient", nil)
			per := func(m methods.Method, reps int) time.Duration {
				if _, err := m.Explain(ctx, fl, batch, methods.Target{}); err != nil { // warm-up
					b.Fatal(err)
				}
				t0 := time.Now()
				for i := 0; i < reps; i++ {
					if _, err := m.Explain(ctx, fl, batch, methods.Target{}); err != nil {
						b.Fatal(err)
					}
				}
				return time.Since(t0) / time.Duration(reps)
			}
			gradTime := per(grad, 20)
			m, err := methods.New(name, nil)
			if err != nil {
				b.Fatal(err)
			}
			b.Run(fmt.Sprintf("%s/batch=%d", name, n), func(b *testing.B) {
				if _, err := m.Explain(ctx, fl, batch, methods.Target{}); err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, err := m.Explain(ctx, fl, batch, methods.Target{}); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed())/float64(b.N)/1e6, "ms/batch")
				b.ReportMetric(float64(b.Elapsed())/float64(b.N)/float64(gradTime), "gradients")
			})
		}
	}
}
