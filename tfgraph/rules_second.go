//go:build cgo

package tfgraph

// The plain rules of the ops that backward graphs are made of (ReluGrad,
// SoftplusGrad, MaxPoolGrad, …), so that the engine can differentiate a
// backward graph again (Grad.Along). Each is the exact derivative, as
// TensorFlow's Python gradient registry gives it.
func init() {
	zeros := func(b *Builder, x Sym) Sym { return b.op1("ZerosLike", nil, x) }
	// An op whose output does not depend on its inputs' values.
	constant := func(b *Builder, n *Node) []Sym {
		out := make([]Sym, len(n.In))
		for k := range out {
			if n.Need[k] {
				out[k] = zeros(b, n.In[k])
			}
		}
		return out
	}
	for op, r := range map[string]Rule{
		"ZerosLike": constant,
		"OnesLike":  constant,
		// A seed left at its default is its input; a fed one is a constant
		// whose derivative the engine never needs (its default, the
		// one-hot of the predicted class, is locally constant).
		"PlaceholderWithDefault": func(b *Builder, n *Node) []Sym { return one(n, n.Dy[0]) },
		// ReluGrad(g, f) = g·1[f > 0]: piecewise linear in g, locally
		// constant in f.
		"ReluGrad": func(b *Builder, n *Node) []Sym {
			out := make([]Sym, 2)
			if n.Need[0] {
				out[0] = b.op1("ReluGrad", nil, n.Dy[0], n.In[1])
			}
			if n.Need[1] {
				out[1] = zeros(b, n.In[1])
			}
			return out
		},
		// SoftplusGrad(g, f) = g·σ(f), σ' = σ(1 − σ) = 1/(e^{−f} + 2 + e^{f}).
		"SoftplusGrad": func(b *Builder, n *Node) []Sym {
			out := make([]Sym, 2)
			g, f, dy := n.In[0], n.In[1], n.Dy[0]
			if n.Need[0] {
				out[0] = b.op1("SoftplusGrad", nil, dy, f)
			}
			if n.Need[1] {
				den := b.op1("AddV2", nil, b.op1("AddV2", nil, b.op1("Exp", nil, b.op1("Neg", nil, f)), b.constLike(2, f)), b.op1("Exp", nil, f))
				out[1] = b.op1("RealDiv", nil, b.op1("Mul", nil, dy, g), den)
			}
			return out
		},
		// MaxPoolGrad(x, y, g) routes g to the maxima of x: linear in g
		// (MaxPoolGradGrad gathers the signal back from them), locally
		// constant in x and y.
		"MaxPoolGrad": func(b *Builder, n *Node) []Sym {
			out := make([]Sym, 3)
			if n.Need[2] {
				if p, _ := n.Attr("padding"); p == "EXPLICIT" {
					b.Fail("MaxPoolGrad %s: explicit padding", n.Name())
					return out
				}
				a := attrs(n.def, "ksize", "strides", "padding", "data_format")
				out[2] = b.op1("MaxPoolGradGrad", a, n.In[0], n.In[1], n.Dy[0])
			}
			for k := 0; k < 2; k++ {
				if n.Need[k] {
					out[k] = zeros(b, n.In[k])
				}
			}
			return out
		},
	} {
		plainRules[op] = r
	}
}
