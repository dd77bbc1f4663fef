package tfgraph

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	attrpb "github.com/wamuir/graft/tensorflow/core/framework/attr_value_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	tensorpb "github.com/wamuir/graft/tensorflow/core/framework/tensor_go_proto"
	shapepb "github.com/wamuir/graft/tensorflow/core/framework/tensor_shape_go_proto"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
)

// graphOf parses "name = Op(in, in)" lines (a trailing "keep" sets
// keep_dims; "axes = Const(-1)" an int32 constant) into a Flat with only
// nodes and order, enough for findComposites.
func graphOf(t *testing.T, src string) *Flat {
	t.Helper()
	var defs []*nodepb.NodeDef
	for _, line := range strings.Split(strings.TrimSpace(src), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		name, rest, ok := strings.Cut(strings.TrimSpace(line), " = ")
		op, args, ok2 := strings.Cut(rest, "(")
		if !ok || !ok2 {
			t.Fatalf("bad line %q", line)
		}
		args, flags, _ := strings.Cut(args, ")")
		n := &nodepb.NodeDef{Name: name, Op: op, Attr: map[string]*attrpb.AttrValue{}}
		if op == "Const" {
			var v int32
			fmt.Sscan(args, &v)
			n.Attr["value"] = &attrpb.AttrValue{Value: &attrpb.AttrValue_Tensor{Tensor: &tensorpb.TensorProto{
				Dtype: typespb.DataType_DT_INT32, IntVal: []int32{v}, TensorShape: &shapepb.TensorShapeProto{Dim: []*shapepb.TensorShapeProto_Dim{{Size: 1}}}}}}
		} else if args != "" {
			for _, a := range strings.Split(args, ",") {
				n.Input = append(n.Input, strings.TrimSpace(a))
			}
		}
		if strings.Contains(flags, "keep") {
			n.Attr["keep_dims"] = &attrpb.AttrValue{Value: &attrpb.AttrValue_B{B: true}}
		}
		defs = append(defs, n)
	}
	fl := &Flat{nodes: map[string]*nodepb.NodeDef{}}
	for _, n := range defs {
		fl.nodes[n.GetName()] = n
	}
	fl.order = topoSort(defs)
	return fl
}

// composites lists "op@output(inputs)" of fl's composites, sorted.
func compositesOf(fl *Flat) []string {
	var out []string
	for name, c := range fl.composites {
		out = append(out, fmt.Sprintf("%s@%s(%s)", c.op, name, strings.Join(c.inputs, ",")))
	}
	sort.Strings(out)
	return out
}

// The LayerNormalization matcher takes the forms Keras and
// tf.nn.batch_normalization write, with or without γ, β, ε and the
// StopGradient, and nothing that is not inv·(x − μ) + β with every inner
// node feeding only the layer.
func TestLayerNormPatterns(t *testing.T) {
	// The input x, its mean and variance (Keras' moments), ε, γ, β.
	const moments = `
x = Placeholder()
axes = Const(-1)
axes2 = Const(-1)
gamma = VarHandleOp()
beta = VarHandleOp()
eps = Const(0)
mean = Mean(x, axes) keep
sg = StopGradient(mean)
sqd = SquaredDifference(x, sg)
var = Mean(sqd, axes2) keep
vare = AddV2(var, eps)
r = Rsqrt(vare)
`
	for _, c := range []struct {
		name, src string
		want      bool
	}{
		{"keras", `
inv = Mul(r, gamma)
xi = Mul(x, inv)
nm = Neg(mean)
mi = Mul(nm, inv)
res = AddV2(mi, beta)
y = AddV2(xi, res)
out = Relu(y)`, true},
		{"tf.nn.batch_normalization", `
inv = Mul(gamma, r)
xi = Mul(x, inv)
mi = Mul(mean, inv)
res = Sub(beta, mi)
y = AddV2(xi, res)
out = Relu(y)`, true},
		{"no γ, no β", `
xi = Mul(x, r)
nm = Neg(mean)
mi = Mul(nm, r)
y = AddV2(xi, mi)
out = Relu(y)`, true},
		{"centred first", `
inv = Mul(r, gamma)
xc = Sub(x, mean)
y0 = Mul(xc, inv)
y = AddV2(y0, beta)
out = Relu(y)`, true},
		{"the sign of μ wrong", `
inv = Mul(r, gamma)
xi = Mul(x, inv)
mi = Mul(mean, inv)
y = AddV2(xi, mi)
out = Relu(y)`, false},
		{"1/σ used outside", `
inv = Mul(r, gamma)
xi = Mul(x, inv)
nm = Neg(mean)
mi = Mul(nm, inv)
y = AddV2(xi, mi)
out = AddV2(y, r)`, false},
		{"two outputs", `
inv = Mul(r, gamma)
xi = Mul(x, inv)
nm = Neg(mean)
mi = Mul(nm, inv)
y = AddV2(xi, mi)
out = AddV2(y, xi)`, false},
		{"γ from the input", `
inv = Mul(r, x)
xi = Mul(x, inv)
nm = Neg(mean)
mi = Mul(nm, inv)
y = AddV2(xi, mi)
out = Relu(y)`, false},
	} {
		fl := graphOf(t, moments+c.src)
		fl.findComposites([]string{"x"})
		got := compositesOf(fl)
		want := []string(nil)
		if c.want {
			want = []string{"LayerNorm@y(x)"}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: composites %v, want %v", c.name, got, want)
		}
		if c.want {
			for _, in := range []string{"mean", "sg", "sqd", "var", "vare", "r"} {
				if fl.compositeInner[in] != "y" {
					t.Errorf("%s: %s is not inside the LayerNorm", c.name, in)
				}
			}
		}
	}
	// RMS normalisation (no mean) and a variance over other axes than the
	// mean's are not LayerNormalization.
	for name, src := range map[string]string{
		"rms": `
x = Placeholder()
axes = Const(-1)
sq = Square(x)
var = Mean(sq, axes) keep
r = Rsqrt(var)
y = Mul(x, r)
out = Relu(y)`,
		"other axes": strings.Replace(moments, "axes2 = Const(-1)", "axes2 = Const(1)", 1) + `
xi = Mul(x, r)
nm = Neg(mean)
mi = Mul(nm, r)
y = AddV2(xi, mi)
out = Relu(y)`,
	} {
		fl := graphOf(t, src)
		fl.findComposites([]string{"x"})
		if got := compositesOf(fl); len(got) != 0 {
			t.Errorf("%s: composites %v, want none", name, got)
		}
	}
}

// The gelu matcher takes tf.nn.gelu's exact and tanh forms, the factors in
// either order, and not a product whose other factor reads another tensor.
func TestGeluPatterns(t *testing.T) {
	for _, c := range []struct {
		name, src string
		want      bool
	}{
		{"exact", `
x = Placeholder()
half = Const(0)
one = Const(1)
sqrt2 = Const(1)
h = Mul(half, x)
u = RealDiv(x, sqrt2)
e = Erf(u)
a = AddV2(one, e)
y = Mul(h, a)`, true},
		{"tanh", `
x = Placeholder()
half = Const(0)
one = Const(1)
three = Const(3)
c1 = Const(0)
c2 = Const(0)
h = Mul(half, x)
p = Pow(x, three)
m = Mul(c1, p)
s = AddV2(x, m)
u = Mul(c2, s)
th = Tanh(u)
a = AddV2(th, one)
y = Mul(a, h)`, true},
		{"another tensor in the erf", `
x = Placeholder()
z = Placeholder()
half = Const(0)
one = Const(1)
h = Mul(half, x)
u = Mul(x, z)
e = Erf(u)
a = AddV2(one, e)
y = Mul(h, a)`, false},
	} {
		fl := graphOf(t, c.src)
		fl.findComposites([]string{"x", "z"})
		want := []string(nil)
		if c.want {
			want = []string{"Gelu@y(x)"}
		}
		if got := compositesOf(fl); !slices.Equal(got, want) {
			t.Errorf("%s: composites %v, want %v", c.name, got, want)
		}
	}
}
