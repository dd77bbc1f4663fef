package tfgraph_test

import (
	"context"
	"errors"
	"maps"
	"math"
	"strings"
	"testing"

	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// attnLRP is the attnlrp composite of methods.LRP: ε on every linear layer
// and AttnLRP's rules.
var attnLRP = tfgraph.LRP{Name: "attnlrp", Conv: tfgraph.LRPRule{Kind: "epsilon", Epsilon: 1e-6},
	Dense: tfgraph.LRPRule{Kind: "epsilon", Epsilon: 1e-6}, Stabilizer: 1e-6, Transformer: true}

// vitAt runs x through fmnist_vit once and returns the forward tensors
// fetch and the relevance R (R/S_c times the logit S_c of each image) of
// rs on each tensor of ends ("" for the input).
func vitAt(t *testing.T, fl *tfgraph.Flat, x *tensor.Tensor, classes []int, rs *tfgraph.RuleSet, fetch []string, ends []string) (fwd, rel []*tensor.Tensor, logit []float64) {
	t.Helper()
	logits, _ := fl.Logits()
	seed, err := fl.OneHot(logits, classes)
	if err != nil {
		t.Fatal(err)
	}
	q := tfgraph.Query{Fetch: append([]string{logits}, fetch...)}
	for _, e := range ends {
		q.Grads = append(q.Grads, tfgraph.Grad{End: e, Rules: rs, Seed: seed})
	}
	res, err := fl.Run(context.Background(), x, q)
	if err != nil {
		t.Fatal(err)
	}
	k := res.Fetched[0].Shape[1]
	logit = make([]float64, len(classes))
	for i, c := range classes {
		logit[i] = float64(res.Fetched[0].Data[i*k+c])
	}
	for _, r := range res.Grads {
		per := r.Len() / len(classes)
		for i := range r.Data {
			r.Data[i] *= float32(logit[i/per])
		}
	}
	return res.Fetched[1:], res.Grads, logit
}

// vitName is the flat tensor of fmnist_vit's op inside a layer scope
// ("final_ln_1/mul"), found from the layer's output.
func vitName(t *testing.T, fl *tfgraph.Flat, layer, op string) string {
	t.Helper()
	l, err := fl.Layer(layer)
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(l.Output, "/"+layer+"_1/")
	if i < 0 {
		t.Fatalf("layer %s: output %s outside its scope", layer, l.Output)
	}
	return l.Output[:i+len(layer)+4] + op
}

// checkClose compares got with want (flat float64) within tol of want's
// largest value.
func checkClose(t *testing.T, what string, got *tensor.Tensor, want []float64, tol float64) {
	t.Helper()
	var d, m float64
	for i, w := range want {
		d = max(d, math.Abs(float64(got.Data[i])-w))
		m = max(m, math.Abs(w))
	}
	if !(d <= tol*m) || m == 0 {
		t.Errorf("%s: differs from the rule's formula by %.3g (largest %.3g)", what, d, m)
	}
}

func signedEps(v, eps float64) float64 {
	if v >= 0 {
		return v + eps
	}
	return v - eps
}

// Each of AttnLRP's rules on fmnist_vit, against its formula computed in Go
// from the forward tensors and the relevance the backward graph gives at
// the rule's output (ε = 1e-6): LayerNormalization (the last one, final_ln:
// nothing else takes its input), Softmax and the uniform rule of Q·Kᵀ in
// the last block, gelu in its first MLP, and the ε rule of a dense layer on
// a sequence (the last MLP's second layer: MatMul, Reshape, BiasAdd), its
// bias merged across the Reshape.
func TestAttnLRPRules(t *testing.T) {
	fl, g := loadFlat(t, "fmnist_vit")
	rs := attnLRP.RuleSet()
	lnIn, _ := fl.Layer("block4_out")
	lnOut, _ := fl.Layer("final_ln")
	inv := vitName(t, fl, "final_ln", "mul")
	var sm string
	for _, a := range fl.Attentions() {
		sm = a.Tensor // the last block's
	}
	scope := strings.TrimSuffix(sm, "Softmax:0")
	scaled, z, q, k := scope+"Mul", scope+"einsum/Einsum", scope+"query_1/Add", scope+"key_1/Add"
	gelu, _ := fl.Layer("block1_mlp1")
	geluIn := vitName(t, fl, "block1_mlp1", "BiasAdd")
	mlpIn, _ := fl.Layer("block4_mlp1")
	mlpOut, _ := fl.Layer("block4_mlp2")
	fwd, rel, _ := vitAt(t, fl, g.Inputs, g.Top, rs,
		[]string{lnIn.Output, lnOut.Output, inv, scaled, sm, z, q, k, mlpIn.Output, mlpOut.Output},
		[]string{lnIn.Output, lnOut.Output, scaled, sm, z, q, k, gelu.Output, geluIn, mlpIn.Output, mlpOut.Output})
	const eps = 1e-6

	// LayerNormalization: R_x = x ⊙ (c ⊙ g − mean(c ⊙ g)), g = R/(y + ε),
	// c = γ/σ, over the 64 features of each token.
	x, y, c, ry := fwd[0], fwd[1], fwd[2], rel[1]
	want := make([]float64, x.Len())
	for row := 0; row < x.Len()/64; row++ {
		cg := make([]float64, 64)
		var mean float64
		for j := range cg {
			i := row*64 + j
			cg[j] = float64(c.Data[i]) * float64(ry.Data[i]) / signedEps(float64(y.Data[i]), eps)
			mean += cg[j] / 64
		}
		for j := range cg {
			want[row*64+j] = float64(x.Data[row*64+j]) * (cg[j] - mean)
		}
	}
	checkClose(t, "LayerNormalization", rel[0], want, 1e-4)

	// Softmax: R_x = x ⊙ (R − s·Σ_j R_j) over each row of 50 keys.
	xs, s, rs2 := fwd[3], fwd[4], rel[3]
	want = make([]float64, xs.Len())
	for row := 0; row < xs.Len()/50; row++ {
		var sum float64
		for j := 0; j < 50; j++ {
			sum += float64(rs2.Data[row*50+j])
		}
		for j := 0; j < 50; j++ {
			i := row*50 + j
			want[i] = float64(xs.Data[i]) * (float64(rs2.Data[i]) - float64(s.Data[i])*sum)
		}
	}
	checkClose(t, "Softmax", rel[2], want, 1e-4)

	// Q·Kᵀ ("BTNH,BSNH->BNTS"): R_q = ½ q ⊙ Σ_s g k, R_k = ½ k ⊙ Σ_t g q,
	// g = R/(z + ε·sign z).
	zv, qv, kv, rz := fwd[5], fwd[6], fwd[7], rel[4]
	const B, T, N, H = 8, 50, 4, 16
	wq, wk := make([]float64, qv.Len()), make([]float64, kv.Len())
	for b := 0; b < B; b++ {
		for n := 0; n < N; n++ {
			for tt := 0; tt < T; tt++ {
				for ss := 0; ss < T; ss++ {
					zi := ((b*N+n)*T+tt)*T + ss
					gz := float64(rz.Data[zi]) / signedEps(float64(zv.Data[zi]), eps)
					for h := 0; h < H; h++ {
						qi, ki := ((b*T+tt)*N+n)*H+h, ((b*T+ss)*N+n)*H+h
						wq[qi] += 0.5 * float64(qv.Data[qi]) * gz * float64(kv.Data[ki])
						wk[ki] += 0.5 * float64(kv.Data[ki]) * gz * float64(qv.Data[qi])
					}
				}
			}
		}
	}
	checkClose(t, "Q·Kᵀ, query", rel[5], wq, 1e-4)
	checkClose(t, "Q·Kᵀ, key", rel[6], wk, 1e-4)

	// gelu: the identity.
	if d, _ := tensor.MaxAbsDiff(rel[7], rel[8]); d > 1e-6*rel[7].MaxAbs() || rel[7].MaxAbs() == 0 {
		t.Errorf("gelu: the relevance of its input differs from its output's by %.3g", d)
	}

	// Dense on a sequence, 128 → 64: R_x = x ⊙ W·(R/(y + ε·sign y)), y =
	// x·W + b the output after the bias.
	w, err := fl.WeightValue("block4_mlp2/kernel_1")
	if err != nil {
		t.Fatal(err)
	}
	xd, yd, ryd := fwd[8], fwd[9], rel[10]
	want = make([]float64, xd.Len())
	for row := 0; row < xd.Len()/128; row++ {
		for i := 0; i < 128; i++ {
			var sum float64
			for o := 0; o < 64; o++ {
				sum += float64(w.Data[i*64+o]) * float64(ryd.Data[row*64+o]) / signedEps(float64(yd.Data[row*64+o]), eps)
			}
			want[row*128+i] = float64(xd.Data[row*128+i]) * sum
		}
	}
	checkClose(t, "dense on a sequence", rel[9], want, 1e-4)
}

// budget is where the relevance R = S_c of the logit goes under an LRP
// rule set on fmnist_vit, per image: to the input, to the class token and
// the position embedding (parameters: their share is dropped), to the
// softmax rules' bias terms (R_x = x ⊙ (R − s·ΣR) passes Σ_i R_i(x_i − x̄)
// of a row's ΣR, x̄ = Σ_i s_i x_i, computed here from the relevance at each
// Softmax's output), and the rest: the biases of the linear layers and ε.
type budget struct {
	logit, input, cls, pos, softmax []float64
}

func (b budget) rest(i int) float64 {
	return b.logit[i] - b.input[i] - b.cls[i] - b.pos[i] - b.softmax[i]
}

func vitBudget(t *testing.T, fl *tfgraph.Flat, x *tensor.Tensor, classes []int, rs *tfgraph.RuleSet) budget {
	t.Helper()
	tokens, _ := fl.Layer("cls_token")
	pos, _ := fl.Layer("pos_embed")
	fetch := []string{}
	ends := []string{"", tokens.Output, pos.Output}
	for _, a := range fl.Attentions() {
		fetch = append(fetch, strings.TrimSuffix(a.Tensor, "Softmax:0")+"Mul", a.Tensor)
		ends = append(ends, a.Tensor)
	}
	fwd, rel, logit := vitAt(t, fl, x, classes, rs, fetch, ends)
	n := len(classes)
	b := budget{logit: logit, input: make([]float64, n), cls: make([]float64, n), pos: make([]float64, n), softmax: make([]float64, n)}
	sums := func(r *tensor.Tensor, i int) (all, first float64) {
		per := r.Len() / n
		for j, v := range r.Data[i*per : (i+1)*per] {
			all += float64(v)
			if j < per/50 { // the class token, the first of 50
				first += float64(v)
			}
		}
		return all, first
	}
	for i := 0; i < n; i++ {
		b.input[i], _ = sums(rel[0], i)
		tok, cls := sums(rel[1], i)
		b.cls[i] = cls
		p, _ := sums(rel[2], i)
		b.pos[i] = p - tok
		for a := range fl.Attentions() {
			xs, s, r := fwd[2*a], fwd[2*a+1], rel[3+a]
			per := r.Len() / n
			for row := i * per / 50; row < (i+1)*per/50; row++ {
				var sum, mean, pass float64
				for j := row * 50; j < (row+1)*50; j++ {
					sum += float64(r.Data[j])
					mean += float64(s.Data[j]) * float64(xs.Data[j])
				}
				for j := row * 50; j < (row+1)*50; j++ {
					pass += float64(r.Data[j]) * (float64(xs.Data[j]) - mean)
				}
				b.softmax[i] += sum - pass
			}
		}
	}
	return b
}

func (b budget) log(t *testing.T, what string) {
	t.Helper()
	t.Logf("%s, per image: logit S_c | to the input | class token | position embedding | softmax bias terms | rest (biases, ε) | conservation error |ΣR_input − S_c|/|S_c|", what)
	for i := range b.logit {
		t.Logf("  %d: %7.3f | %7.3f | %6.3f | %6.3f | %6.3f | %7.3f | %.3f", i, b.logit[i], b.input[i], b.cls[i], b.pos[i], b.softmax[i], b.rest(i),
			math.Abs(b.input[i]-b.logit[i])/math.Abs(b.logit[i]))
	}
}

// brokenSoftmax is the attnlrp rule set with the plain gradient through
// Softmax (R_x = s ⊙ (R − Σ_j s_j R_j), whose sum is zero) instead of
// AttnLRP's rule.
func brokenSoftmax(l tfgraph.LRP) *tfgraph.RuleSet {
	rs := l.RuleSet()
	rules := maps.Clone(rs.Rules)
	rules["Softmax"] = func(b *tfgraph.Builder, n *tfgraph.Node) []tfgraph.Sym { return b.Plain(n) }
	return &tfgraph.RuleSet{Name: rs.Name + "+plain-softmax", Rules: rules, Strict: true}
}

// With every bias and LayerNormalization β of fmnist_vit set to zero,
// AttnLRP-0 (ε → 0: LRP-0 on the linear layers, no stabiliser) conserves
// relevance exactly except where its rules drop it by design: the share of
// the class token and of the position embedding (parameters, not
// input-dependent), and the bias term of the softmax rule. So Σ R_input =
// S_c − those three, within float32 rounding, on every image; and the
// attnlrp rule set with the plain gradient through Softmax breaks the
// identity by more than 1% of S_c on every image.
func TestAttnLRPConservesWithoutBiases(t *testing.T) {
	fl, g := loadFlat(t, "fmnist_vit")
	// Per block: query, key, value, output projection and the two MLP
	// biases, two β; the patch embedding's and the logits' biases and the
	// last β.
	nb := zeroWeights(t, fl, 4*8+3, "/bias", "/beta")
	l := tfgraph.LRP{Name: "attnlrp-0", Conv: tfgraph.LRPRule{Kind: "zero"}, Dense: tfgraph.LRPRule{Kind: "zero"}, Transformer: true}
	b := vitBudget(t, nb, g.Inputs, g.Top, l.RuleSet())
	b.log(t, "AttnLRP-0 without biases")
	for i := range b.logit {
		if r := b.rest(i); !(math.Abs(r) <= 1e-4*math.Abs(b.logit[i])) {
			t.Errorf("image %d: %.4g of the logit %.4g unaccounted for", i, r, b.logit[i])
		}
	}
	broken := vitBudget(t, nb, g.Inputs, g.Top, brokenSoftmax(l))
	broken.log(t, "with the plain gradient through Softmax")
	for i := range broken.logit {
		if r := broken.rest(i); !(math.Abs(r) > 1e-2*math.Abs(broken.logit[i])) {
			t.Errorf("image %d: the plain gradient through Softmax leaves only %.3g of the logit %.4g unaccounted for", i, r, broken.logit[i])
		}
	}
}

// With its biases, fmnist_vit's relevance under attnlrp (ε = 1e-6) goes to
// the same places, and the rest is the linear layers' biases' share (LRP-ε
// gives a bias b_k the share b_k/(z_k + b_k) of R_k, zero without biases as
// TestAttnLRPConservesWithoutBiases shows): fmnist_vit's biases are small
// against its pre-activations, and the rest stays within 10% of the logit
// on every image and within 5% on average (measured: at most 5.4%, 2.8% on
// average). The map is finite. The plain gradient through Softmax breaks
// the bound (measured: at most 37%, 19% on average).
func TestAttnLRPBudget(t *testing.T) {
	fl, g := loadFlat(t, "fmnist_vit")
	rel, err := fl.Gradient(g.Inputs, g.Top, "", attnLRP.RuleSet())
	if err != nil {
		t.Fatal(err)
	}
	if !rel.Finite() || rel.MaxAbs() == 0 {
		t.Fatalf("the map is not finite or all zero (largest %g)", rel.MaxAbs())
	}
	for _, c := range []struct {
		name string
		rs   *tfgraph.RuleSet
		want bool // within the bound
	}{{"attnlrp", attnLRP.RuleSet(), true}, {"attnlrp with the plain gradient through Softmax", brokenSoftmax(attnLRP), false}} {
		b := vitBudget(t, fl, g.Inputs, g.Top, c.rs)
		b.log(t, c.name)
		worst, mean := 0.0, 0.0
		for i := range b.logit {
			r := math.Abs(b.rest(i)) / math.Abs(b.logit[i])
			worst = max(worst, r)
			mean += r / float64(len(b.logit))
		}
		t.Logf("%s: the rest is at most %.3f of the logit, %.3f on average", c.name, worst, mean)
		if within := worst <= 0.1 && mean <= 0.05; within != c.want {
			t.Errorf("%s: the rest is at most %.3f of the logit, %.3f on average; within 0.1 and 0.05: %v, want %v", c.name, worst, mean, within, c.want)
		}
	}
}

// A normalisation AttnLRP does not recognise is refused by op and layer at
// its first product: here LayerNormalization itself, in a rule set without
// the LayerNorm rule; and without Transformer, LRP refuses the matrix
// products of attention (here the last attention's A·V, explained from its
// output).
func TestAttnLRPRefuses(t *testing.T) {
	fl, g := loadFlat(t, "fmnist_vit")
	rs := attnLRP.RuleSet()
	rules := maps.Clone(rs.Rules)
	delete(rules, "LayerNorm")
	_, err := fl.Gradient(g.Inputs, g.Top, "", &tfgraph.RuleSet{Name: rs.Name + "-ln", Rules: rules, Strict: true})
	var nr *tfgraph.NoRuleError
	if !errors.As(err, &nr) || nr.Op != "Mul" || nr.Layer != "final_ln" || !strings.Contains(nr.Why, "not part of a pattern AttnLRP recognises") {
		t.Errorf("without the LayerNorm rule: got %v, want a NoRuleError at op Mul of layer final_ln", err)
	}
	var sm string
	for _, a := range fl.Attentions() {
		sm = a.Tensor
	}
	plain := attnLRP
	plain.Transformer = false
	_, err = fl.Backward(strings.TrimSuffix(sm, "Softmax:0")+"einsum_1/Einsum", "", plain.RuleSet())
	if !errors.As(err, &nr) || nr.Op != "Einsum" || !strings.Contains(nr.Why, "composite attnlrp") {
		t.Errorf("without Transformer: got %v, want a NoRuleError at op Einsum", err)
	}
}
