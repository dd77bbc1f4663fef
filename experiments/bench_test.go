package experiments

import (
	"context"
	"path/filepath"
	"testing"
)

// BenchmarkExperiments runs the committed lecture and sanity-check
// experiments into a fresh folder (plan excluded: models loaded and images
// predicted once) and reports their throughput in maps per second.
//
//	go test -run '^$' -bench Experiments -benchtime 1x ./experiments
func BenchmarkExperiments(b *testing.B) {
	for _, name := range []string{"lecture", "sanity-checks"} {
		b.Run(name, func(b *testing.B) {
			e, err := Load(filepath.Join(name + ".yaml"))
			if err != nil {
				b.Fatal(err)
			}
			p, err := NewPlan(context.Background(), e, PlanOptions{Version: "bench"})
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close()
			maps := 0
			for _, u := range p.Units() {
				if u.Kind == "" {
					lo, hi := p.BatchRange(u.Batch)
					maps += hi - lo
				}
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := p.Run(context.Background(), RunOptions{Out: b.TempDir()}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(maps*b.N)/b.Elapsed().Seconds(), "maps/s")
			b.ReportMetric(float64(maps), "maps")
		})
	}
}
