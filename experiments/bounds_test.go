package experiments

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/saliencykit/saliency/methods"
)

// A batch larger than the memory budget's chunk does not make one large
// session run: the plan's predictions go through the model in chunks, and
// give the classes of small batches.
func TestLargeBatchRunsInChunks(t *testing.T) {
	plan := func(batch int) (*Plan, int64) {
		dir := t.TempDir()
		y := fmt.Sprintf("name: big\nmodels: [{path: %s}]\ndata: {source: fashion-mnist, count: 300}\nmethods: [gradient]\nbatch: %d\n", zoo("fmnist_vgg"), batch)
		p := newTestPlan(t, writeFile(t, dir, "big.yaml", y))
		return p, p.models[0].fl.Runs()
	}
	small, r10 := plan(10)
	big, r300 := plan(300)
	size := methods.Chunking{}.Size(big.models[0].fl)
	if size >= 300 {
		t.Fatalf("the memory budget holds %d images of fmnist_vgg; the test wants fewer than 300", size)
	}
	chunks := (300 + size - 1) / size
	if r10-r300 != 30-int64(chunks) {
		t.Errorf("session runs: %d with batch 10, %d with batch 300; want %d fewer (30 batches against %d chunks of %d)", r10, r300, 30-chunks, chunks, size)
	}
	if !slices.Equal(small.Models[0].Predicted, big.Models[0].Predicted) {
		t.Error("the predictions of batch 300 differ from those of batch 10")
	}
}

// Counts that would size memory beyond what the model can use are errors
// at the line of their key.
func TestPlanBounds(t *testing.T) {
	vgg := zoo("fmnist_vgg")
	cases := []struct {
		extra string
		o     PlanOptions
		want  string
	}{
		{"tests: [{faithfulness: {steps: 1000}}]\n", PlanOptions{}, "6:9: faithfulness: steps 1000: model fmnist_vgg has 784 pixels (28×28); want at most one step per pixel"},
		{"threads: 100000\n", PlanOptions{}, "6:10: threads 100000: this process may use"},
		{"threads: 1\n", PlanOptions{Threads: 100000}, "threads 100000: this process may use"},
	}
	for i, c := range cases {
		y := "name: x\nmodels: [{path: " + vgg + "}]\ndata: {source: fashion-mnist, count: 2}\nmethods: [gradient]\nbatch: 2\n" + c.extra
		e, err := Load(writeFile(t, t.TempDir(), "x.yaml", y))
		if err != nil {
			t.Errorf("case %d: load: %v", i, err)
			continue
		}
		p, err := NewPlan(context.Background(), e, c.o)
		if err == nil {
			p.Close()
			t.Errorf("case %d: no error, want %q", i, c.want)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("case %d: %v\nwant %q", i, err, c.want)
		}
		var inv *InvalidError
		if strings.HasPrefix(c.want, "6:") != errors.As(err, &inv) {
			t.Errorf("case %d: %T; want an *InvalidError exactly when the file's line is known", i, err)
		}
	}
}
