package analysis

import (
	"fmt"
	"math"

	"github.com/saliencykit/saliency/experiments/stats"
	"github.com/saliencykit/saliency/reports"
)

// Finding is one number of a test with its verdict: a row of the findings
// table that sums up every test of a report.
type Finding struct {
	Test    string   `json:"test"`
	Model   string   `json:"model"`
	Method  string   `json:"method"`
	Measure string   `json:"measure"`
	N       int      `json:"n"`
	Mean    *float64 `json:"mean"`
	Lo      *float64 `json:"ci_low"`
	Hi      *float64 `json:"ci_high"`
	// Reference is the value of a random or unchanged map, when the
	// measure has one.
	Reference *float64 `json:"reference,omitempty"`
	// Verdict is the vocabulary's word (Passes, Fails, …) on the test's
	// primary measure, Reading the test's own phrase.
	Verdict string `json:"verdict"`
	Reading string `json:"reading,omitempty"`
	// Floor is the null map's score (|input| × noise) where the measure
	// has one.
	Floor *float64 `json:"null_floor,omitempty"`
	sum   stats.Summary
}

// section is what a test adds to a report.
type section struct {
	blocks   []reports.Block
	verdicts []string
	findings []Finding
}

// figureSaver saves a figure in the report's formats and links the
// others; the figure must not change afterwards (it is written on another
// goroutine).
type figureSaver func(name string, fig reports.Figure) (png string, links []reports.Link, err error)

func (rd *runData) bootstrap(vals []float64) (stats.Summary, error) {
	return stats.Bootstrap(vals, stats.Options{Resamples: bootstrapResamples, Seed: rd.pf.Seed})
}

func newFinding(test, model, method, measure string, s stats.Summary, ref *float64, verdict string) Finding {
	f := Finding{Test: test, Model: model, Method: method, Measure: measure, N: s.N, Reference: ref, Verdict: verdictOf(verdict), Reading: verdict, sum: s}
	if s.N > 0 {
		f.Mean, f.Lo, f.Hi = ptr(s.Mean), ptr(s.Lo), ptr(s.Hi)
	}
	return f
}

// dotSeries turns summaries into a series of a Dots panel.
func dotSeries(name string, sums []stats.Summary) reports.DotSeries {
	s := reports.DotSeries{Name: name}
	for _, x := range sums {
		if x.N == 0 {
			s.Mean, s.Lo, s.Hi = append(s.Mean, math.NaN()), append(s.Lo, math.NaN()), append(s.Hi, math.NaN())
			continue
		}
		s.Mean, s.Lo, s.Hi = append(s.Mean, x.Mean), append(s.Lo, x.Lo), append(s.Hi, x.Hi)
	}
	return s
}

func joinComma(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += ", "
		}
		out += x
	}
	return out
}

func mean(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// pctSummary is a summary as percentages: "0.0012% [0.0010%, 0.0014%]".
func pctSummary(s stats.Summary) string {
	if s.N == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.3g%% [%.3g%%, %.3g%%]", 100*s.Mean, 100*s.Lo, 100*s.Hi)
}
