package analysis

import (
	"fmt"
	"math"

	"github.com/saliencykit/saliency/reports"
)

// The verdict vocabulary of every report (docs/experiments.md, Verdicts):
// a test asks whether a method has a property (its maps depend on the
// weights, on the data's labels, on the class; they are invariant to a
// shift the model absorbs; robust to noise the prediction survives; they
// rank the pixels the model uses; they point at the object), and every
// finding reads one of these words. The test's own phrase ("changes",
// "more fragile than the prediction") is the finding's Reading.
const (
	// Passes: the interval of the primary measure lies on the side of the
	// threshold that the property asks for, beyond the null floor where the
	// measure has one.
	Passes = "passes"
	// Fails: the interval lies on the other side.
	Fails = "fails"
	// Inconclusive: the interval straddles the threshold.
	Inconclusive = "inconclusive"
	// AtNullFloor: a map with no model in it (|input| × noise) scores as
	// the method does: the measure cannot tell, whatever the threshold says.
	AtNullFloor = "at the null floor"
	// Undetermined: no image gave a value (constant or non-finite maps).
	Undetermined = "undetermined"
	// Degenerate: the maps do not depend on the image (identical across
	// images of a class), so the test's premise fails; never a pass.
	Degenerate = "degenerate"
)

// readings map each test's phrase to the vocabulary.
var readings = map[string]string{
	"":                           "",
	"changes":                    Passes,
	"barely changes":             Fails,
	"inconclusive":               Inconclusive,
	"undetermined":               Undetermined,
	"at the null floor":          AtNullFloor,
	"input-independent":          Degenerate,
	"invariant":                  Passes,
	"not invariant":              Fails,
	"class-sensitive":            Passes,
	"not class-sensitive":        Fails,
	"better than a random order": Passes,
	"better than a random order on one curve": Inconclusive,
	"no better than a random order":           Fails,
	"better than random":                      Passes,
	"no better than random":                   Fails,
	"as robust as the prediction":             Passes,
	"more fragile than the prediction":        Fails,
	"as robust under attack as under noise":   Passes,
	"fragile under attack":                    Fails,
	"complexity rises":                        Passes,
	"complexity does not rise":                Fails,
}

// verdictOf is the vocabulary's word for a test's phrase; a phrase the
// table lacks is a bug that TestReadingsCovered catches.
func verdictOf(reading string) string {
	if v, ok := readings[reading]; ok {
		return v
	}
	return Undetermined
}

// verdictClass is the colour of a verdict in the HTML tables.
func verdictClass(v string) reports.Verdict {
	switch v {
	case Passes:
		return reports.VerdictPass
	case Fails, Degenerate:
		return reports.VerdictFail
	case Inconclusive, AtNullFloor:
		return reports.VerdictInconclusive
	case Undetermined:
		return reports.VerdictUndetermined
	}
	return reports.VerdictNone
}

// verdictTable is the compact table that opens a report: one row per
// finding with a verdict (each test's primary measure), the value with its
// interval, the null floor where the measure has one, and the verdict,
// colour-coded in HTML.
func verdictTable(label string, findings []Finding) *reports.Table {
	t := &reports.Table{Caption: "Verdicts: each test's primary measure per model and method, the mean over the images with its bootstrap 95% interval, the null floor (a map with no model in it) where the measure has one, and the verdict (docs/experiments.md, Verdicts); the sections below give the figures and every measure.",
		Label: label, Columns: []string{"test", "model", "method", "measure", "value", "null floor", "verdict"}, Align: "lllllrl", Class: "compact"}
	for _, f := range findings {
		if f.Verdict == "" {
			continue
		}
		val := "n/a"
		if f.sum.N > 0 {
			val = reports.FormatInterval(f.sum.Mean, f.sum.Lo, f.sum.Hi, 2)
		}
		floor := ""
		if f.Floor != nil && !math.IsNaN(*f.Floor) {
			floor = reports.FormatFixed(*f.Floor, 2)
		}
		v := f.Verdict
		if f.Reading != "" && f.Reading != f.Verdict {
			v = fmt.Sprintf("%s (%s)", f.Verdict, f.Reading)
		}
		t.Rows = append(t.Rows, []string{f.Test, f.Model, displayMethod(f.Method), f.Measure, val, floor, v})
		cls := make([]string, len(t.Columns))
		cls[len(cls)-1] = verdictClass(f.Verdict).Class()
		t.Classes = append(t.Classes, cls)
	}
	return t
}
