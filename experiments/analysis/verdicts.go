package analysis

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
	"complexity rises (passes)":               Passes,
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
