package experiments

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/saliencykit/saliency/savedmodels"
	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// The class probability that faithfulness and ROAD measure is the sigmoid of
// the logit for logits of independent labels: a binary classifier's one
// logit (binary_logit, no card: σ(z) for class 1, 1 − σ(z) for class 0), and
// a card's output.kind sigmoid over a
// model that outputs logits (fmnist_vgg with its card edited); the softmax
// with the card's kind logits. Before, both took the softmax: 1 for every
// image of the binary classifier, whose curves were then flat ("no better
// than a random order" with exit 0).
func TestLabelProbabilities(t *testing.T) {
	vggSigmoid := t.TempDir()
	for _, f := range []string{"saved_model.pb", "variables", "fingerprint.pb"} {
		if err := os.Symlink(filepath.Join(zoo("fmnist_vgg"), f), filepath.Join(vggSigmoid, f)); err != nil {
			t.Fatal(err)
		}
	}
	card, err := os.ReadFile(filepath.Join(zoo("fmnist_vgg"), savedmodels.CardFile))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, vggSigmoid, savedmodels.CardFile, strings.Replace(string(card), "kind: logits", "kind: sigmoid", 1))
	for _, c := range []struct {
		dir     string
		sigmoid bool
	}{{zoo("edge/binary_logit"), true}, {vggSigmoid, true}, {zoo("fmnist_vgg"), false}} {
		op, err := Open(c.dir, tfgraph.Options{IntraOpThreads: 2, InterOpThreads: 1}, OpenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer op.Model.Close()
		h, w, ch := op.Spec.Height, op.Spec.Width, op.Spec.Channels
		x := &tensor.Tensor{Shape: []int{2, h, w, ch}, Data: make([]float32, 2*h*w*ch)}
		for i := range x.Data {
			x.Data[i] = float32(i%17) / 16
		}
		z, err := op.Model.Forward(x)
		if err != nil {
			t.Fatal(err)
		}
		k := z.Shape[1]
		// The last class; a binary classifier's one logit z is two
		// classes, 0 (−z) and 1 (z): both are checked.
		classes, signs := []int{k - 1}, []float64{1}
		if _, binary := op.Flat.BinaryLogit(); binary {
			classes, signs = []int{0, 1}, []float64{-1, 1}
		}
		for j, class := range classes {
			got, err := classProbabilities(context.Background(), op.Flat, x, class)
			if err != nil {
				t.Fatal(err)
			}
			col := min(class, k-1)
			for i, p := range got {
				row := z.Data[i*k : (i+1)*k]
				want := tensor.Softmax(row)[col]
				if c.sigmoid {
					want = 1 / (1 + math.Exp(-signs[j]*float64(row[col])))
				}
				if math.Abs(p-want) > 1e-6 {
					t.Errorf("%s image %d: probability of class %d %.6f, want %.6f (sigmoid %v)", c.dir, i, class, p, want, c.sigmoid)
				}
			}
		}
	}
}

// Scores that are probabilities already are measured as they are: an
// ensemble's average of softmaxes (softmax_ensemble: Head "probabilities",
// found in the graph), scores normalised without a softmax
// (normalized_scores) whose outputs for constant images are probability
// distributions, and scores a card calls probabilities. Taken for logits,
// faithfulness and ROAD refuse to take the softmax of such probabilities;
// a card of kind probabilities over logits (fmnist_vgg) and a card of kind
// logits over the ensemble are refused at open. Before, every one of them took the softmax of the scores: the
// ensemble's deletion and insertion AUCs were all 0.10 ("no better than a
// random order"), the softmax of near-uniform probabilities.
func TestProbabilityScores(t *testing.T) {
	withCard := func(model, kind string, classes int) string {
		d := t.TempDir()
		for _, f := range []string{"saved_model.pb", "variables", "fingerprint.pb"} {
			if err := os.Symlink(filepath.Join(zoo(model), f), filepath.Join(d, f)); err != nil {
				t.Fatal(err)
			}
		}
		names := make([]string, classes)
		for i := range names {
			names[i] = fmt.Sprintf("c%d", i)
		}
		shape := "[-1, 16, 16, 3]"
		if model == "fmnist_vgg" {
			shape = "[-1, 28, 28, 1]"
		}
		writeFile(t, d, savedmodels.CardFile, "name: m\nclasses: ["+strings.Join(names, ", ")+"]\ninput:\n  shape: "+shape+
			"\n  dtype: float32\n  range: [0.0, 1.0]\noutput:\n  kind: "+kind+"\n")
		return d
	}
	open := func(dir string) (*Opened, *tensor.Tensor, error) {
		op, err := Open(dir, tfgraph.Options{IntraOpThreads: 2, InterOpThreads: 1}, OpenOptions{})
		if err != nil {
			return nil, nil, err
		}
		t.Cleanup(func() { op.Model.Close() })
		h, w, ch := op.Spec.Height, op.Spec.Width, op.Spec.Channels
		x := &tensor.Tensor{Shape: []int{3, h, w, ch}, Data: make([]float32, 3*h*w*ch)}
		for i := range x.Data {
			x.Data[i] = float32((i*7)%23) / 22
		}
		return op, x, nil
	}
	for _, c := range []struct {
		name, dir, head, behind, err string
	}{
		{"ensemble", zoo("edge/softmax_ensemble"), "probabilities", "Softmax (layer probs_a)", ""},
		{"ensemble, card probabilities", withCard("edge/softmax_ensemble", "probabilities", 10), "probabilities", "Softmax (layer probs_a)", ""},
		{"normalized", zoo("edge/normalized_scores"), "probabilities", "outputs", ""},
		{"normalized, card probabilities", withCard("edge/normalized_scores", "probabilities", 10), "probabilities", "card", ""},
	} {
		op, x, err := open(c.dir)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := op.Flat.Head(); got != c.head || op.Flat.Probabilities() != c.behind {
			t.Errorf("%s: head %q from %q, want %q from %q", c.name, got, op.Flat.Probabilities(), c.head, c.behind)
		}
		z, err := op.Model.Forward(x)
		if err != nil {
			t.Fatal(err)
		}
		k := z.Shape[1]
		for _, class := range []int{0, k - 1} {
			got, err := classProbabilities(context.Background(), op.Flat, x, class)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Errorf("%s: error %v, want one saying %q", c.name, err, c.err)
				}
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			for i, p := range got {
				if want := float64(z.Data[i*k+class]); math.Abs(p-want) > 1e-7 {
					t.Errorf("%s image %d: probability of class %d %.7f, want the output's %.7f", c.name, i, class, p, want)
				}
			}
		}
	}
	if _, _, err := open(withCard("edge/softmax_ensemble", "logits", 10)); err == nil || !strings.Contains(err.Error(), "say output.kind: probabilities") {
		t.Errorf("ensemble with a card of kind logits: %v, want a refusal saying output.kind probabilities", err)
	}
	// A card that calls logits probabilities is refused at open, from the
	// outputs for constant images; were they probabilities there and not
	// on the images measured, every batch is checked too.
	if _, _, err := open(withCard("fmnist_vgg", "probabilities", 10)); err == nil || !strings.Contains(err.Error(), "are not probabilities") {
		t.Errorf("fmnist_vgg with a card of kind probabilities: %v, want a refusal", err)
	}
	op, x, err := open(zoo("fmnist_vgg"))
	if err != nil {
		t.Fatal(err)
	}
	op.Flat.SetProbabilities(tfgraph.ProbabilitiesByCard)
	if _, err := classProbabilities(context.Background(), op.Flat, x, 0); err == nil || !strings.Contains(err.Error(), "said to be probabilities by the card's output.kind, but one is") {
		t.Errorf("fmnist_vgg's logits taken for probabilities: %v, want a refusal", err)
	}
	// Scores that are probability distributions on the images measured
	// but were taken for logits (a flat graph not opened by Open, which
	// probes constant images) are not measured through their softmax.
	fl := flatAt(t, zoo("edge/normalized_scores"), &tfgraph.Options{IntraOpThreads: 2, InterOpThreads: 1})
	nx := tensor.New(2, 16, 16, 3)
	for i := range nx.Data {
		nx.Data[i] = float32(i%13) / 12
	}
	if _, err := classProbabilities(context.Background(), fl, nx, 0); err == nil || !strings.Contains(err.Error(), "say so in the model's card: output.kind probabilities") {
		t.Errorf("normalized_scores taken for logits: %v, want a refusal", err)
	}
}
