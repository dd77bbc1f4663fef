package savedmodels

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseCard: any text gives a card or an error naming the file, never a
// panic; an accepted card's preprocessing can be applied (its image spec is
// valid) and it names at least one class. Seeds: every committed card and
// the malformed ones of TestCardErrors; crashers found by fuzzing are kept
// in testdata/fuzz/FuzzParseCard.
func FuzzParseCard(f *testing.F) {
	cards, _ := filepath.Glob(filepath.Join("*", CardFile))
	more, _ := filepath.Glob(filepath.Join("testdata", "*", CardFile))
	for _, p := range append(cards, more...) {
		raw, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	for _, s := range []string{
		"",
		"name: x\n",
		"classes: [a, b]\ninput: {shape: [null, 28, 28, 1]}\noutput: {kind: logits}\n",
		"classes: [a]\ninput: {shape: [1, 0, 28, 1]}\noutput: {kind: logits}\n",
		"classes: [a]\ninput: {shape: [1, 28, 28, 3], color: bgr}\noutput: {kind: probabilities}\npreprocessing: {mean: [1, 2], std: [0, 1, 1]}\n",
		"classes: [a]\ninput: {shape: [1, 28, 28, 3]}\noutput: {kind: logits}\npreprocessing: {scale: .nan}\n",
		"classes: &a [a, *a]\n",
		"input:\n  shape: [1, 2]\n  - x\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := ParseCard(raw, "fuzz/card.yaml")
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz/card.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if err := c.ImageSpec().Validate(); err != nil {
			t.Fatalf("accepted card with an invalid image spec: %v", err)
		}
		if len(c.Classes) == 0 || c.ClassName(-1) == "" || c.ClassName(len(c.Classes)) == "" {
			t.Fatalf("accepted card without classes")
		}
	})
}
