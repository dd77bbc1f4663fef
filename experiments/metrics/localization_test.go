package metrics

import (
	"math"
	"math/rand/v2"
	"testing"
)

// A 16×16 mask: a 6×5 rectangle (30 pixels, area fraction 0.1171875).
func rectMask() ([]float32, float64) {
	const h, w = 16, 16
	m := make([]float32, h*w)
	for y := 4; y < 10; y++ {
		for x := 3; x < 8; x++ {
			m[y*w+x] = 1
		}
	}
	return m, 30.0 / 256
}

func TestLocalizationKnownAnswers(t *testing.T) {
	mask, frac := rectMask()
	// The map that is the mask scores 1 in all three.
	pg, _ := PointingGame(mask, mask, 16, 16, 0)
	epg, _ := EnergyPointingGame(mask, mask, 16, 16)
	auc, _ := MaskAUC(mask, mask, 16, 16)
	if pg != 1 || epg != 1 || auc != 1 {
		t.Errorf("map = mask: pointing %g, energy %g, AUC %g; want 1, 1, 1", pg, epg, auc)
	}
	// The inverted mask scores 0.
	inv := make([]float32, len(mask))
	for i, v := range mask {
		inv[i] = 1 - v
	}
	pg, _ = PointingGame(inv, mask, 16, 16, 0)
	epg, _ = EnergyPointingGame(inv, mask, 16, 16)
	auc, _ = MaskAUC(inv, mask, 16, 16)
	if pg != 0 || epg != 0 || auc != 0 {
		t.Errorf("map = 1 − mask: %g, %g, %g; want 0, 0, 0", pg, epg, auc)
	}
	// Random maps: the pointing game and the energy score the area
	// fraction on average, the AUC one half.
	r := rand.New(rand.NewPCG(1, 2))
	const n = 20000
	var sp, se, sa float64
	m := make([]float32, len(mask))
	for range n {
		for i := range m {
			m[i] = r.Float32()
		}
		pg, _ := PointingGame(m, mask, 16, 16, 0)
		epg, _ := EnergyPointingGame(m, mask, 16, 16)
		auc, _ := MaskAUC(m, mask, 16, 16)
		sp, se, sa = sp+pg, se+epg, sa+auc
	}
	// Standard errors: √(f(1−f)/n) ≈ 0.0023 for the hits; far less for the others.
	if math.Abs(sp/n-frac) > 0.01 || math.Abs(se/n-frac) > 0.003 || math.Abs(sa/n-0.5) > 0.003 {
		t.Errorf("random maps: pointing %.4f, energy %.4f (want %.4f), AUC %.4f (want 0.5)", sp/n, se/n, frac, sa/n)
	}
}

func TestPointingGameTolerance(t *testing.T) {
	mask, _ := rectMask()
	m := make([]float32, 256)
	m[6*16+9] = 1 // two pixels right of the mask's last column (x = 7)
	for _, c := range []struct {
		tol  float64
		want float64
	}{{0, 0}, {1, 0}, {1.9, 0}, {2, 1}, {2.5, 1}} {
		if got, _ := PointingGame(m, mask, 16, 16, c.tol); got != c.want {
			t.Errorf("tolerance %g: %g, want %g", c.tol, got, c.want)
		}
	}
}

// The AUC of sklearn.metrics.roc_auc_score's documented example, with a tie.
func TestMaskAUC(t *testing.T) {
	got, _ := MaskAUC([]float32{0.1, 0.4, 0.35, 0.8}, []float32{0, 0, 1, 1}, 2, 2)
	if got != 0.75 {
		t.Errorf("AUC %g, want 0.75", got)
	}
	got, _ = MaskAUC([]float32{0.5, 0.5, 0.5, 0.9}, []float32{0, 1, 0, 1}, 2, 2)
	if got != 0.75 { // pairs (in,out): (0.5,0.5)×2 ties → 1, (0.9,·)×2 → 2; (1+2)/4
		t.Errorf("AUC with ties %g, want 0.75", got)
	}
	if _, err := MaskAUC([]float32{1, 2}, []float32{0, 2}, 1, 2); err == nil {
		t.Error("a mask value of 2 is accepted")
	}
	if _, err := PointingGame([]float32{1, 2}, []float32{0, 0}, 1, 2, 0); err == nil {
		t.Error("an empty mask is accepted")
	}
}
