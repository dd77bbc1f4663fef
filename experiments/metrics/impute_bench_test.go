package metrics

import (
	"math/rand/v2"
	"testing"
)

func BenchmarkImputeLinear(b *testing.B) {
	for _, side := range []int{28, 64} {
		img := make([]float32, side*side)
		removed := make([]bool, side*side)
		r := rand.New(rand.NewPCG(1, 2))
		for i := range img {
			img[i] = r.Float32()
			removed[i] = r.Float64() < 0.9 || (i/side > side/4 && i/side < 3*side/4 && i%side > side/4 && i%side < 3*side/4)
		}
		b.Run(map[int]string{28: "28x28-90%", 64: "64x64-90%"}[side], func(b *testing.B) {
			for b.Loop() {
				ImputeLinear(img, side, side, 1, removed, 0, nil)
			}
		})
	}
}
