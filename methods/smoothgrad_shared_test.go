//go:build cgo

package methods_test

import (
	"context"
	"sync"
	"testing"

	"github.com/saliencykit/saliency/methods"
	"github.com/saliencykit/saliency/tensor"
)

// One SmoothGrad shared by goroutines gives each the maps it gives alone:
// a zero value (its wrapped gradient built on each call, never stored) and
// one holding its wrapped method as a value (Wrapped). make test-race runs
// it under the race detector.
func TestSmoothGradShared(t *testing.T) {
	fl, g := loadZoo(t, "fmnist_vgg")
	x := g.Inputs.Slice(0, 2)
	gx, err := methods.New("gradient-x-input", nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, sg := range map[string]*methods.SmoothGrad{
		"zero value": {Samples: 3},
		"wrapped":    {Samples: 3, Wrapped: gx},
	} {
		alone, err := sg.Explain(context.Background(), fl, methods.Batch{X: x}, methods.Target{})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		maps := make([]*tensor.Tensor, 4)
		errs := make([]error, 4)
		for i := range maps {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := sg.Explain(context.Background(), fl, methods.Batch{X: x}, methods.Target{})
				if err == nil {
					maps[i] = r.Map
				}
				errs[i] = err
			}()
		}
		wg.Wait()
		for i, m := range maps {
			if errs[i] != nil {
				t.Fatalf("%s: goroutine %d: %v", name, i, errs[i])
			}
			if d, _ := tensor.MaxAbsDiff(m, alone.Map); d > 1e-6*mapRange(alone.Map) {
				t.Errorf("%s: goroutine %d differs from the map made alone by %g", name, i, d)
			}
		}
	}
	// A Wrapped method that is not input-space is refused by name.
	gc, _ := methods.New("gradcam", nil)
	if _, err := (&methods.SmoothGrad{Wrapped: gc}).Explain(context.Background(), fl, methods.Batch{X: x}, methods.Target{}); err == nil {
		t.Error("smoothgrad wraps gradcam")
	}
}
