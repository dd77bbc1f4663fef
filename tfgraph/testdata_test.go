package tfgraph_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/saliencykit/saliency/tfgraph"
)

func testdataModel(t *testing.T, name string) *tfgraph.Model {
	t.Helper()
	m, err := tfgraph.Load(filepath.Join("..", "savedmodels", "testdata", name), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// Nested functions and list outputs (Split, Unpack) flatten to the same
// function, and the plain rules match AddGradients through them.
func TestFlattenListOutputs(t *testing.T) {
	m := testdataModel(t, "list_outputs")
	x := tfgraph.NewTensor(3, 4, 4, 2)
	for i := range x.Data {
		x.Data[i] = float32(i%7) - 2.5
	}
	want, err := m.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	fl, err := m.Flat()
	if err != nil {
		t.Fatal(err)
	}
	got, err := fl.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := tfgraph.MaxAbsDiff(got, want); d > 1e-6 {
		t.Errorf("flat differs from the signature by %g", d)
	}
	if len(fl.Weights) != 1 || fl.Weights[0].Name != "dense/kernel" {
		t.Errorf("weights %+v", fl.Weights)
	}
	grad, err := fl.Gradient(x, []int{0, 1, 3}, "", tfgraph.Plain)
	if err != nil {
		t.Fatal(err)
	}
	oracle, err := fl.OracleGradient(x, []int{0, 1, 3})
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := tfgraph.MaxAbsDiff(grad, oracle); d > 1e-5*maxAbs(oracle) || maxAbs(oracle) == 0 {
		t.Errorf("plain differs from AddGradients by %g (max %g)", d, maxAbs(oracle))
	}
}

func TestFlattenRefusesControlFlow(t *testing.T) {
	m := testdataModel(t, "control_flow")
	_, err := m.Flat()
	if err == nil || !strings.Contains(err.Error(), "control flow is not supported") || !strings.Contains(err.Error(), "If") {
		t.Errorf("control flow: %v", err)
	}
}

func TestNonFloatInput(t *testing.T) {
	m := testdataModel(t, "uint8_input")
	_, err := m.Forward(tfgraph.NewTensor(1, 4, 4, 1))
	if err == nil || !strings.Contains(err.Error(), `input "image" is uint8; tfgraph feeds float32 tensors`) {
		t.Errorf("uint8 input: %v", err)
	}
}
