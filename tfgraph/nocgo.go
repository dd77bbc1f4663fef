//go:build !cgo

package tfgraph

// Without cgo, tfgraph has no TensorFlow: no Load, Model or Flat (a program
// that loads models builds with CGO_ENABLED=1 and libtensorflow). What
// remains are its values (types.go, tokens.go) and, here, the built-in rule
// sets by name, without their rules, and the types a rule is written with,
// so that a package naming them (methods, a rule set of its own) builds and
// tests on models of its own without TensorFlow.

// Plain, DeconvNet and Guided are the built-in rule sets (their rules need
// TensorFlow).
var (
	Plain     = &RuleSet{Name: "plain"}
	DeconvNet = &RuleSet{Name: "deconvnet"}
	Guided    = &RuleSet{Name: "guided"}
	DeepLIFT  = &RuleSet{Name: "deeplift-rescale", Strict: true}
)

// RuleSets lists the built-in rule sets.
var RuleSets = []*RuleSet{Plain, DeconvNet, Guided}

// RuleSet is l's rule set by name (its rules need TensorFlow).
func (l LRP) RuleSet() *RuleSet { return &RuleSet{Name: l.ruleSetName(), Strict: true} }

// Sym is a tensor of a backward graph under construction (with cgo,
// TensorFlow's tf.Output).
type Sym struct{}

// Node is what a rule sees of one forward node.
type Node struct {
	In, Out []Sym
	Dy      []Sym
	Need    []bool
}

// Op is the node's op type.
func (n *Node) Op() string { return "" }

// Name is the node's name in the flat graph.
func (n *Node) Name() string { return "" }

// Attr returns a node attribute.
func (n *Node) Attr(name string) (any, bool) { return nil, false }

// Builder adds the ops of one backward graph; without cgo there is none.
type Builder struct{}

// Op adds an op.
func (b *Builder) Op(typ string, attrs map[string]any, in ...Sym) Sym { return Sym{} }

// Const adds a float32 scalar constant.
func (b *Builder) Const(v float32) Sym { return Sym{} }

// Plain returns the exact derivative of n.
func (b *Builder) Plain(n *Node) []Sym { return make([]Sym, len(n.In)) }

// Fail records an error.
func (b *Builder) Fail(format string, a ...any) {}
