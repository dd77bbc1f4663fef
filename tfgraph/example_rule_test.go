package tfgraph_test

import (
	"errors"
	"fmt"
	"log"
	"math/rand/v2"

	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// cumsumRule is the exact derivative of Cumsum(x, axis): the signal summed
// the other way along the axis (with the same exclusive flag). The axis
// input gets no signal.
func cumsumRule(b *tfgraph.Builder, n *tfgraph.Node) []tfgraph.Sym {
	exclusive, _ := n.Attr("exclusive") // an attribute at its default may be absent
	reverse, _ := n.Attr("reverse")
	ex, _ := exclusive.(bool)
	rev, _ := reverse.(bool)
	dx := b.Op("Cumsum", map[string]any{"exclusive": ex, "reverse": !rev}, n.Dy[0], n.In[1])
	return []tfgraph.Sym{dx, {}}
}

// A model with an op that has no backward rule (Cumsum, in
// savedmodels/testdata/no_rule) fails with a *NoRuleError that names it;
// RegisterPlainRule gives the op its derivative, checked here against
// TensorFlow's own gradient (TF_AddGradients). A program registers its rules
// in an init function.
func ExampleRegisterPlainRule() {
	m, err := tfgraph.Load("../savedmodels/testdata/no_rule", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	fl, err := m.Flat()
	if err != nil {
		log.Fatal(err)
	}
	x := tensor.New(2, 28, 28, 1)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range x.Data {
		x.Data[i] = r.Float32()
	}
	classes := []int{3, 7}
	_, err = fl.Gradient(x, classes, "", tfgraph.Plain)
	var nr *tfgraph.NoRuleError
	fmt.Println("before:", errors.As(err, &nr), nr.Op)

	if err := tfgraph.RegisterPlainRule("Cumsum", cumsumRule); err != nil {
		log.Fatal(err)
	}
	got, err := fl.Gradient(x, classes, "", tfgraph.Plain)
	if err != nil {
		log.Fatal(err)
	}
	want, err := fl.OracleGradient(x, classes)
	if err != nil {
		log.Fatal(err)
	}
	d, _ := tensor.MaxAbsDiff(got, want)
	fmt.Printf("after: equal to TF_AddGradients within 1e-6 of %.2g: %v\n", want.MaxAbs(), d <= 1e-6*want.MaxAbs())
	// Output:
	// before: true Cumsum
	// after: equal to TF_AddGradients within 1e-6 of 0.022: true
}
