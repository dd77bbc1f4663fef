package experiments

import (
	"context"
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
