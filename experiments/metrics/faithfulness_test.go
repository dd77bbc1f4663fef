package metrics

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Deletion with the exact ranking of a linear model, score(x) = Σ w·x, and a
// zero fill gives the analytic curve: the total minus the k largest
// contributions w_i·x_i; insertion from zero gives its mirror. With more
// steps than CurveGroup the scorer sees groups of at most CurveGroup images
// and the curve is the same.
func TestDeletionOfALinearModel(t *testing.T) {
	for _, steps := range []int{10, 2*CurveGroup + 50} {
		deletionOfALinearModel(t, steps)
	}
}

func deletionOfALinearModel(t *testing.T, steps int) {
	r := rand.New(rand.NewPCG(3, 4))
	const h, w = 20, 15
	n := h * w
	wt, x := make([]float32, n), make([]float32, n)
	contrib := make([]float32, n)
	for i := range wt {
		wt[i] = float32(r.NormFloat64())
		x[i] = float32(r.Float64())
		contrib[i] = wt[i] * x[i]
	}
	calls := 0
	linear := func(imgs [][]float32) ([]float64, error) {
		calls++
		if len(imgs) > CurveGroup {
			t.Errorf("%d steps: the scorer got %d images at once; want at most %d", steps, len(imgs), CurveGroup)
		}
		out := make([]float64, len(imgs))
		for k, im := range imgs {
			for i, v := range im {
				out[k] += float64(wt[i]) * float64(v)
			}
		}
		return out, nil
	}
	order := PixelOrder(contrib)
	zero := make([]float32, n)
	del, err := PerturbationCurve(x, zero, 1, order, steps, linear)
	if err != nil {
		t.Fatal(err)
	}
	ins, err := PerturbationCurve(zero, x, 1, order, steps, linear)
	if err != nil {
		t.Fatal(err)
	}
	// In float64, as the scorer sums.
	exact := func(i int) float64 { return float64(wt[i]) * float64(x[i]) }
	var total float64
	for i := range contrib {
		total += exact(i)
	}
	if want := 2 * ((steps + CurveGroup) / CurveGroup); calls != want || len(del) != steps+1 {
		t.Errorf("%d steps: %d points in %d calls of the scorer, want %d in %d", steps, len(del), calls, steps+1, want)
	}
	for k := 0; k <= steps; k++ {
		m := int(math.Round(float64(k) * float64(n) / float64(steps)))
		var top float64
		for _, p := range order[:m] {
			top += exact(p)
		}
		if math.Abs(del[k]-(total-top)) > 1e-9 || math.Abs(ins[k]-top) > 1e-9 {
			t.Errorf("%d steps, step %d: deletion %g, want %g; insertion %g, want %g", steps, k, del[k], total-top, ins[k], top)
		}
	}
	// The exact ranking deletes fastest: no order has a lower deletion AUC
	// than the sorted one, e.g. not its reverse.
	rev := make([]int, n)
	for i, p := range order {
		rev[n-1-i] = p
	}
	delRev, _ := PerturbationCurve(x, zero, 1, rev, steps, linear)
	if CurveAUC(del) >= CurveAUC(delRev) {
		t.Errorf("%d steps: deletion AUC %g by the exact ranking, %g by its reverse", steps, CurveAUC(del), CurveAUC(delRev))
	}
}

func TestCurveAUC(t *testing.T) {
	if got := CurveAUC([]float64{1, 1, 1}); got != 1 {
		t.Errorf("AUC of a constant 1: %g", got)
	}
	if got := CurveAUC([]float64{1, 0}); got != 0.5 {
		t.Errorf("AUC of a line from 1 to 0: %g", got)
	}
	if got := PixelOrder([]float32{0.5, 2, 0.5, -1}); got[0] != 1 || got[1] != 0 || got[2] != 2 || got[3] != 3 {
		t.Errorf("order %v, want [1 0 2 3]", got)
	}
}

func TestHistogramEntropy(t *testing.T) {
	// Four values in four bins: log 4; one value everywhere: 0.
	if got := HistogramEntropy([]float32{0.1, 0.3, 0.6, -0.9}, 4); math.Abs(got-math.Log(4)) > 1e-12 {
		t.Errorf("entropy %g, want log 4", got)
	}
	if got := HistogramEntropy([]float32{2, 2, -2}, 10); got != 0 {
		t.Errorf("entropy of a constant |map| %g, want 0", got)
	}
	if got := HistogramEntropy([]float32{0, 0}, 10); !math.IsNaN(got) {
		t.Errorf("entropy of a zero map %g, want NaN", got)
	}
}

// The imputation reproduces a linear ramp wherever pixels are removed
// inside it, leaves kept pixels alone, and adds the noise asked for.
func TestImputeLinear(t *testing.T) {
	const h, w = 12, 10
	img := make([]float32, h*w*2)
	for y := range h {
		for x := range w {
			img[(y*w+x)*2] = float32(0.3*float64(x) - 0.2*float64(y) + 1)
			img[(y*w+x)*2+1] = float32(0.05 * float64(x+y))
		}
	}
	removed := make([]bool, h*w)
	r := rand.New(rand.NewPCG(1, 1))
	for y := 1; y < h-1; y++ {
		for x := 1; x < w-1; x++ {
			removed[y*w+x] = r.Float64() < 0.7
		}
	}
	out, err := ImputeLinear(img, h, w, 2, removed, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range img {
		if math.Abs(float64(out[i]-img[i])) > 1e-4 {
			t.Errorf("value %d (pixel removed: %v): %g, want %g", i, removed[i/2], out[i], img[i])
		}
	}
	noisy, _ := ImputeLinear(img, h, w, 2, removed, 0.5, r.NormFloat64)
	changed := 0
	for i := range img {
		if !removed[i/2] && noisy[i] != img[i] {
			t.Errorf("kept value %d changed", i)
		}
		if removed[i/2] && math.Abs(float64(noisy[i]-out[i])) > 1e-6 {
			changed++
		}
	}
	if changed == 0 {
		t.Error("no noise added")
	}
	if _, err := ImputeLinear(img, h, w, 2, make([]bool, 3), 0, nil); err == nil {
		t.Error("a mask of the wrong size is accepted")
	}
}
