//go:build cgo

package tfgraph

import (
	"fmt"
	"strings"

	tf "github.com/wamuir/graft/tensorflow"
)

// Rules for the batched linear algebra of attention layers: BatchMatMulV2
// (scaled dot-product attention), Einsum (Keras 3 MultiHeadAttention and
// EinsumDense) and BroadcastTo (class tokens).

func init() {
	plainRules["BatchMatMulV2"] = batchMatMulRule
	plainRules["BatchMatMul"] = batchMatMulRule
	plainRules["BatchMatMulV3"] = batchMatMulRule
	plainRules["Einsum"] = einsumRule
	plainRules["BroadcastTo"] = func(b *Builder, n *Node) []Sym { // inputs: x, shape
		return one(n, b.reduceTo(n.Dy[0], n.In[0], n.Out[0], true))
	}
}

// batchMatMulRule: for C = A·B (adj_x, adj_y transpose the last two axes)
// the signals are dy·Bᵀ and Aᵀ·dy with the adjoints arranged as in
// TensorFlow's _BatchMatMulV2Grad, summed over broadcast batch axes.
func batchMatMulRule(b *Builder, n *Node) []Sym {
	ax, _ := attr(n.def, "adj_x")
	ay, _ := attr(n.def, "adj_y")
	adjX, adjY := ax == true, ay == true
	x, y, dy := n.In[0], n.In[1], n.Dy[0]
	mm := func(p, q Sym, a1, a2 bool) Sym {
		return b.op1("BatchMatMulV2", map[string]any{"adj_x": a1, "adj_y": a2}, p, q)
	}
	var gx, gy Sym
	switch {
	case !adjX && !adjY:
		gx, gy = mm(dy, y, false, true), mm(x, dy, true, false)
	case !adjX && adjY:
		gx, gy = mm(dy, y, false, false), mm(dy, x, true, false)
	case adjX && !adjY:
		gx, gy = mm(y, dy, false, true), mm(x, dy, false, false)
	default:
		gx, gy = mm(y, dy, true, true), mm(dy, x, true, true)
	}
	out := make([]Sym, 2)
	if n.Need[0] {
		out[0] = b.reduceTo(gx, x, gx, true)
	}
	if n.Need[1] {
		out[1] = b.reduceTo(gy, y, gy, true)
	}
	return out
}

// einsumRule differentiates a two-operand Einsum "A,B->C": the signal of A
// is Einsum("C,B->A")(dy, B) and that of B is Einsum("A,C->B")(A, dy). This
// holds when every label of an operand appears in the output or in the other
// operand (no label summed within one operand alone) and no label repeats
// within a term (no diagonals): the forms Keras' attention and EinsumDense
// layers write. An ellipsis is replaced by letters when the ranks are known.
// One-operand equations (transpose, reduction) are not handled.
func einsumRule(b *Builder, n *Node) []Sym {
	eqAttr, _ := attr(n.def, "equation")
	eq, _ := eqAttr.(string)
	if len(n.In) != 2 {
		b.Fail("Einsum %s: %q has %d operands; only two-operand equations have a rule", n.Name(), eq, len(n.In))
		return nil
	}
	terms, err := einsumTerms(eq, n.In[0].Shape().NumDimensions(), n.In[1].Shape().NumDimensions(), n.Out[0].Shape().NumDimensions())
	if err != nil {
		b.Fail("Einsum %s: %v", n.Name(), err)
		return nil
	}
	a, c, o := terms[0], terms[1], terms[2]
	out := make([]Sym, 2)
	einsum := func(eq string, p, q Sym) Sym {
		return b.op("Einsum", []tf.Input{tf.OutputList{p, q}}, map[string]any{"equation": eq})
	}
	if n.Need[0] {
		out[0] = einsum(o+","+c+"->"+a, n.Dy[0], n.In[1])
	}
	if n.Need[1] {
		out[1] = einsum(a+","+o+"->"+c, n.In[0], n.Dy[0])
	}
	return out
}

// einsumTerms parses "A,B->C" into its three label strings, the ellipsis
// expanded with letters unused elsewhere (ranks of A, B and C given; -1 if
// unknown), and checks the conditions einsumRule needs.
func einsumTerms(eq string, ranks ...int) ([3]string, error) {
	var t [3]string
	eq = strings.ReplaceAll(eq, " ", "")
	lhs, rhs, ok := strings.Cut(eq, "->")
	if !ok {
		return t, fmt.Errorf("equation %q has no explicit output (->)", eq)
	}
	ops := strings.Split(lhs, ",")
	if len(ops) != 2 {
		return t, fmt.Errorf("equation %q does not have two operands", eq)
	}
	t = [3]string{ops[0], ops[1], rhs}
	if strings.Contains(eq, "...") {
		used := map[rune]bool{}
		for _, r := range eq {
			used[r] = true
		}
		var free []rune
		for r := 'A'; r <= 'Z' && len(free) < 8; r++ {
			if !used[r] {
				free = append(free, r)
			}
		}
		width := -1
		for i, s := range t {
			if !strings.Contains(s, "...") {
				continue
			}
			if ranks[i] < 0 {
				return t, fmt.Errorf("equation %q has an ellipsis and operand %d has an unknown rank", eq, i)
			}
			w := ranks[i] - (len(s) - 3)
			if width >= 0 && w != width && w != 0 {
				return t, fmt.Errorf("equation %q: the ellipsis stands for different ranks (broadcast); not handled", eq)
			}
			if w > width {
				width = w
			}
		}
		if width > len(free) {
			return t, fmt.Errorf("equation %q: ellipsis of rank %d too wide", eq, width)
		}
		for i, s := range t {
			if !strings.Contains(s, "...") {
				continue
			}
			w := ranks[i] - (len(s) - 3)
			t[i] = strings.Replace(s, "...", string(free[width-w:width]), 1)
		}
	}
	for _, s := range t {
		seen := map[rune]bool{}
		for _, r := range s {
			if seen[r] {
				return t, fmt.Errorf("equation %q repeats label %q within a term (a diagonal); not handled", eq, r)
			}
			seen[r] = true
		}
	}
	for i := 0; i < 2; i++ {
		for _, r := range t[i] {
			if !strings.ContainsRune(t[1-i], r) && !strings.ContainsRune(t[2], r) {
				return t, fmt.Errorf("equation %q sums label %q within operand %d alone; not handled", eq, r, i)
			}
		}
	}
	return t, nil
}
