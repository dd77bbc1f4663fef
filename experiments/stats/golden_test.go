package stats

import (
	"encoding/json"
	"math"
	"os"
	"testing"
)

// golden.json, from testdata/golden_stats.py.
type statsGolden struct {
	Source    string `json:"source"`
	Bootstrap struct {
		Values     []float64 `json:"values"`
		Lo, Hi, SD float64
	} `json:"bootstrap"`
	Floor []struct {
		Name             string    `json:"name"`
		Method           []float64 `json:"method"`
		Null             []float64 `json:"null"`
		Mean, Lo, Hi, SD float64
	} `json:"floor"`
	Hierarchical struct {
		Scores       [][]*float64 `json:"scores"`
		Mean         float64      `json:"mean"`
		Crossed      interval     `json:"crossed"`
		Nested       interval     `json:"nested"`
		Ragged       [][]float64  `json:"ragged"`
		RaggedMean   float64      `json:"ragged_mean"`
		RaggedNested interval     `json:"ragged_nested"`
	} `json:"hierarchical"`
	Crossing struct {
		Curves    [][]float64 `json:"curves"`
		Threshold float64     `json:"threshold"`
		Steps     []int       `json:"steps"`
		MeanStep  int         `json:"mean_step"`
		Median    float64     `json:"median"`
	} `json:"crossing"`
}

type interval struct{ Lo, Hi, SD float64 }

func readGolden(t *testing.T) statsGolden {
	t.Helper()
	raw, err := os.ReadFile("testdata/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g statsGolden
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	return g
}

// closeInterval checks an interval against a reference from another
// random stream: the quantiles of 10⁵ resampled means against numpy's or
// scipy's of 2·10⁵ differ by Monte Carlo error, about 0.01 standard
// deviations of the resampled means; allow 0.06.
func closeInterval(t *testing.T, what string, lo, hi float64, want interval) {
	t.Helper()
	tol := 0.06 * want.SD
	if math.Abs(lo-want.Lo) > tol || math.Abs(hi-want.Hi) > tol {
		t.Errorf("%s: [%.5f, %.5f], reference [%.5f, %.5f] (tolerance %.5f)", what, lo, hi, want.Lo, want.Hi, tol)
	} else {
		t.Logf("%s: [%.5f, %.5f], reference [%.5f, %.5f]", what, lo, hi, want.Lo, want.Hi)
	}
}

func (g statsGolden) scores() [][]float64 {
	out := make([][]float64, len(g.Hierarchical.Scores))
	for s, row := range g.Hierarchical.Scores {
		for _, v := range row {
			if v == nil {
				out[s] = append(out[s], math.NaN())
			} else {
				out[s] = append(out[s], *v)
			}
		}
	}
	return out
}
