//go:build cgo

package tfgraph

import (
	"fmt"
	"math"
	"sync"

	tf "github.com/wamuir/graft/tensorflow"
	attrpb "github.com/wamuir/graft/tensorflow/core/framework/attr_value_go_proto"
	graphpb "github.com/wamuir/graft/tensorflow/core/framework/graph_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	tensorpb "github.com/wamuir/graft/tensorflow/core/framework/tensor_go_proto"
	shapepb "github.com/wamuir/graft/tensorflow/core/framework/tensor_shape_go_proto"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	"google.golang.org/protobuf/proto"
)

// softplusCache holds the softplus copies of a flat graph by β, shared by
// its views.
type softplusCache struct {
	mu sync.Mutex
	m  map[float64]*Flat
}

// Softplus returns a copy of the flat graph in which every Relu op is
// replaced by the softplus of Ghorbani et al. (2019),
//
//	relu(x) ≈ softplus(βx)/β = log(1 + e^{βx})/β,
//
// which tends to relu(x) as β grows (the largest difference, log 2/β, is
// at x = 0). The copy is smooth where the model is piecewise linear, so the
// derivatives of its gradients (Grad.Along) are not zero almost everywhere:
// the targeted attack on saliency maps follows them. Other activations
// (Relu6, LeakyRelu, Elu, …) and max pooling are kept as they are; so are
// the layers, their names and the logits.
//
// The copy lives in the same graph and session and reads the same
// variables (no weight is held twice); it is built once per β and shared by
// the views of fl. On a view with replaced weights (WithWeights), the copy
// is a view that feeds the same replacements. β must be finite and
// positive.
func (fl *Flat) Softplus(beta float64) (*Flat, error) {
	if !(beta > 0) || math.IsInf(beta, 1) {
		return nil, fmt.Errorf("tfgraph: %s: softplus β must be finite and positive, got %g", fl.model.Dir, beta)
	}
	if fl.src == nil {
		return nil, fmt.Errorf("tfgraph: %s: a softplus copy of this graph cannot be made (it is not a model's flat graph)", fl.model.Dir)
	}
	sp := &fl.bw.softplus
	sp.mu.Lock()
	c, ok := sp.m[beta]
	if !ok {
		var err error
		if c, err = fl.buildSoftplus(beta); err != nil {
			sp.mu.Unlock()
			return nil, err
		}
		if sp.m == nil {
			sp.m = map[float64]*Flat{}
		}
		sp.m[beta] = c
	}
	sp.mu.Unlock()
	if fl.feed == nil {
		return c, nil
	}
	w, err := fl.feed.softplusFeed(c)
	if err != nil {
		return nil, err
	}
	return c.WithWeights(w)
}

// softplusFeed is w prepared for the softplus copy c of its graph, once.
func (w *WeightFeed) softplusFeed(c *Flat) (*WeightFeed, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if f, ok := w.copies[c]; ok {
		return f, nil
	}
	f, err := c.PrepareWeights(w.values)
	if err != nil {
		return nil, err
	}
	if w.copies == nil {
		w.copies = map[*Flat]*WeightFeed{}
	}
	w.copies[c] = f
	return f, nil
}

func (fl *Flat) buildSoftplus(beta float64) (*Flat, error) {
	m := fl.model
	m.life.RLock()
	defer m.life.RUnlock()
	if m.saved == nil {
		return nil, fmt.Errorf("tfgraph: %s: %w", m.Dir, ErrClosed)
	}
	def, err := softplusDef(fl.src.def, beta)
	if err != nil {
		return nil, fmt.Errorf("tfgraph: %s: %w", m.Dir, err)
	}
	src := *fl.src
	src.def = def
	prefix := fmt.Sprintf("saliency_softplus%d/", m.seq.Add(1))
	c, err := m.importAsFlat(&src, prefix, fl.quiet, fl.runs)
	if err != nil {
		return nil, err
	}
	c.layers = fl.layers // Keras' list, when set (SetKerasLayers), is the same
	c.declared = fl.declared
	c.head.labels = fl.head.labels // SetLabelLogits
	c.head.probs = fl.head.probs   // SetProbabilities
	return c, nil
}

// softplusDef is def with every Relu node N(x) rewritten as
// RealDiv(Softplus(Mul(x, β)), β), keeping N's name (its consumers and its
// layer do not change); the new nodes are named under it.
func softplusDef(def *graphpb.GraphDef, beta float64) (*graphpb.GraphDef, error) {
	out := proto.Clone(def).(*graphpb.GraphDef)
	names := map[string]bool{}
	for _, n := range out.GetNode() {
		names[n.GetName()] = true
	}
	var nodes []*nodepb.NodeDef
	for _, n := range out.GetNode() {
		if n.GetOp() != "Relu" {
			nodes = append(nodes, n)
			continue
		}
		var data, control []string
		for _, in := range n.GetInput() {
			if len(in) > 0 && in[0] == '^' {
				control = append(control, in)
			} else {
				data = append(data, in)
			}
		}
		dt := n.GetAttr()["T"].GetType()
		if len(data) != 1 || !isFloat(tf.DataType(dt)) {
			return nil, fmt.Errorf("softplus copy: Relu node %s has %d inputs of type %v", n.GetName(), len(data), dt)
		}
		name := func(s string) (string, error) {
			v := n.GetName() + "/softplus_" + s
			if names[v] {
				return "", fmt.Errorf("softplus copy: node %s exists already", v)
			}
			names[v] = true
			return v, nil
		}
		var bn, sn, pn string
		var err error
		if bn, err = name("beta"); err == nil {
			if sn, err = name("scaled"); err == nil {
				pn, err = name("out")
			}
		}
		if err != nil {
			return nil, err
		}
		dev := n.GetDevice()
		nodes = append(nodes, floatConst(bn, beta, dt, dev),
			&nodepb.NodeDef{Name: sn, Op: "Mul", Input: []string{data[0], bn}, Device: dev, Attr: map[string]*attrpb.AttrValue{"T": typeAttr(dt)}},
			&nodepb.NodeDef{Name: pn, Op: "Softplus", Input: []string{sn}, Device: dev, Attr: map[string]*attrpb.AttrValue{"T": typeAttr(dt)}},
			&nodepb.NodeDef{Name: n.GetName(), Op: "RealDiv", Input: append([]string{pn, bn}, control...), Device: dev,
				Attr: map[string]*attrpb.AttrValue{"T": typeAttr(dt)}})
	}
	out.Node = nodes
	return out, nil
}

// floatConst is a scalar Const node of floating-point type dt holding v
// (rounded to dt as TensorFlow rounds float64 values: float16 and bfloat16
// through their bit patterns).
func floatConst(name string, v float64, dt typespb.DataType, device string) *nodepb.NodeDef {
	t := &tensorpb.TensorProto{Dtype: dt, TensorShape: &shapepb.TensorShapeProto{}}
	switch dt {
	case typespb.DataType_DT_DOUBLE:
		t.DoubleVal = []float64{v}
	case typespb.DataType_DT_HALF:
		t.HalfVal = []int32{int32(float32ToHalf(float32(v)))}
	case typespb.DataType_DT_BFLOAT16:
		t.HalfVal = []int32{int32(float32ToBfloat16(float32(v)))}
	default:
		t.FloatVal = []float32{float32(v)}
	}
	return &nodepb.NodeDef{Name: name, Op: "Const", Device: device, Attr: map[string]*attrpb.AttrValue{
		"dtype": typeAttr(dt),
		"value": {Value: &attrpb.AttrValue_Tensor{Tensor: t}},
	}}
}
