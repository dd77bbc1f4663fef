//go:build cgo

package tfgraph

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	tf "github.com/wamuir/graft/tensorflow"
	corepb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"
)

// restoreCaptured gives their saved values to the variables that a function
// of the SavedModel reads but its restore op does not restore.
//
// A Keras 3 model saved with tf.saved_model.save, or held by a tf.Module
// that is saved, exports two handles per variable: the ones its functions
// capture ("dense/kernel") and the ones the restore op fills ("Variable").
// TensorFlow's Python loader binds the captured ones to the restored
// objects through the object graph; the C API, like TF Serving and
// saved_model_cli, leaves them uninitialized, and the first run fails:
// "Could not find variable dense/kernel" (keras-team/keras#19274). The object
// graph says which saved object each captured handle is (the concrete
// function's bound_inputs), and the checkpoint's own object graph, matched
// to it by the children's names from the root as TensorFlow's restore
// matches them, says under which key its value is saved.
func (m *Model) restoreCaptured() error {
	og := m.meta.GetObjectGraphDef()
	sd := m.meta.GetSaverDef()
	if og == nil || len(og.GetNodes()) == 0 || sd == nil {
		return nil
	}
	byName := map[string]int{}
	nodes := m.meta.GetGraphDef().GetNode()
	for i, n := range nodes {
		byName[n.GetName()] = i
	}
	restored := map[string]bool{}
	if i, ok := byName[nodeOf(sd.GetRestoreOpName())]; ok {
		for _, in := range nodes[i].GetInput() {
			restored[nodeOf(strings.TrimPrefix(in, "^"))] = true
		}
	}
	need := map[string]int32{} // captured handle → saved object
	for _, n := range nodes {
		if n.GetOp() != "StatefulPartitionedCall" && n.GetOp() != "PartitionedCall" {
			continue
		}
		cf, ok := og.GetConcreteFunctions()[n.GetAttr()["f"].GetFunc().GetName()]
		if !ok {
			continue
		}
		var ins []string
		for _, in := range n.GetInput() {
			if !strings.HasPrefix(in, "^") {
				ins = append(ins, nodeOf(in))
			}
		}
		bound := cf.GetBoundInputs()
		off := len(ins) - len(bound)
		if off < 0 {
			continue
		}
		for j, id := range bound {
			h := ins[off+j]
			if i, ok := byName[h]; ok && nodes[i].GetOp() == "VarHandleOp" && !restored[h] {
				if int(id) < len(og.GetNodes()) && og.GetNodes()[id].GetVariable() != nil {
					need[h] = id
				}
			}
		}
	}
	if len(need) == 0 {
		return nil
	}
	handles := make([]string, 0, len(need))
	for h := range need {
		handles = append(handles, h)
	}
	slices.Sort(handles)
	g := m.saved.Graph
	prefix := filepath.Join(m.Dir, "variables", "variables")
	ckpt, err := m.checkpointGraph(g, prefix)
	if err != nil {
		return err
	}
	keys, err := checkpointKeys(og, ckpt)
	if err != nil {
		return fmt.Errorf("tfgraph: load %s: %w", m.Dir, err)
	}
	var names []string
	var dtypes []tf.DataType
	for _, h := range handles {
		key, ok := keys[need[h]]
		if !ok {
			return fmt.Errorf("tfgraph: load %s: the model reads variable %s, which neither the SavedModel's restore op nor its checkpoint's object graph restores", m.Dir, h)
		}
		names = append(names, key)
		dtypes = append(dtypes, tf.DataType(nodes[byName[h]].GetAttr()["dtype"].GetType()))
	}
	scope := fmt.Sprintf("saliency_restore%d/", m.seq.Add(1))
	restore, err := restoreOp(g, scope, prefix, names, dtypes)
	if err != nil {
		return fmt.Errorf("tfgraph: load %s: restoring the captured variables: %w", m.Dir, err)
	}
	var targets []*tf.Operation
	var shapes []tf.Output
	for i, h := range handles {
		handle := g.Operation(h)
		if handle == nil {
			return fmt.Errorf("tfgraph: load %s: variable %s is not in the loaded graph", m.Dir, h)
		}
		a, err := g.AddOperation(tf.OpSpec{Type: "AssignVariableOp", Name: fmt.Sprintf("%sassign%d", scope, i),
			Input: []tf.Input{handle.Output(0), restore.Output(i)}, Attrs: map[string]any{"dtype": dtypes[i]}})
		if err != nil {
			return fmt.Errorf("tfgraph: load %s: restoring variable %s: %w", m.Dir, h, err)
		}
		targets = append(targets, a)
		s, err := g.AddOperation(tf.OpSpec{Type: "Shape", Name: fmt.Sprintf("%sshape%d", scope, i),
			Input: []tf.Input{restore.Output(i)}, Attrs: map[string]any{"out_type": tf.Int64}})
		if err != nil {
			return fmt.Errorf("tfgraph: load %s: restoring variable %s: %w", m.Dir, h, err)
		}
		shapes = append(shapes, s.Output(0))
	}
	got, err := m.saved.Session.Run(nil, shapes, targets)
	if err != nil {
		return fmt.Errorf("tfgraph: load %s: restoring the captured variables: %s", m.Dir, firstLine(err.Error()))
	}
	for i, h := range handles {
		want := nodes[byName[h]].GetAttr()["shape"].GetShape()
		dims, _ := got[i].Value().([]int64)
		if want != nil && !want.GetUnknownRank() {
			var wd []int64
			for _, d := range want.GetDim() {
				wd = append(wd, d.GetSize())
			}
			ok := len(wd) == len(dims)
			for k := 0; ok && k < len(dims); k++ {
				ok = wd[k] < 0 || wd[k] == dims[k]
			}
			if !ok {
				return fmt.Errorf("tfgraph: load %s: variable %s of shape %s: the checkpoint's %s, which the object graph names for it, has shape %s", m.Dir, h, shapeString(wd), names[i], shapeString(dims))
			}
		}
	}
	return nil
}

// checkpointGraph reads the checkpoint's object graph (the tensor
// _CHECKPOINTABLE_OBJECT_GRAPH of the variables bundle).
func (m *Model) checkpointGraph(g *tf.Graph, prefix string) (*corepb.TrackableObjectGraph, error) {
	scope := fmt.Sprintf("saliency_objects%d/", m.seq.Add(1))
	op, err := restoreOp(g, scope, prefix, []string{"_CHECKPOINTABLE_OBJECT_GRAPH"}, []tf.DataType{tf.String})
	if err != nil {
		return nil, fmt.Errorf("tfgraph: load %s: reading the checkpoint's object graph: %w", m.Dir, err)
	}
	out, err := m.saved.Session.Run(nil, []tf.Output{op.Output(0)}, nil)
	if err != nil {
		return nil, fmt.Errorf("tfgraph: load %s: reading the checkpoint's object graph: %s", m.Dir, firstLine(err.Error()))
	}
	s, _ := out[0].Value().(string)
	var ckpt corepb.TrackableObjectGraph
	if err := proto.Unmarshal([]byte(s), &ckpt); err != nil {
		return nil, fmt.Errorf("tfgraph: load %s: the checkpoint's object graph: %w", m.Dir, err)
	}
	return &ckpt, nil
}

// checkpointKeys maps the saved objects that are variables to the key of
// their value in the checkpoint, walking the SavedModel's object graph and
// the checkpoint's together from the root by the children's names.
func checkpointKeys(og *corepb.SavedObjectGraph, ckpt *corepb.TrackableObjectGraph) (map[int32]string, error) {
	saved, cnodes := og.GetNodes(), ckpt.GetNodes()
	if len(cnodes) == 0 {
		return nil, fmt.Errorf("the checkpoint has no object graph")
	}
	keys := map[int32]string{}
	seen := map[int32]bool{0: true}
	type pair struct{ s, c int32 }
	queue := []pair{{0, 0}}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if saved[p.s].GetVariable() != nil {
			for _, a := range cnodes[p.c].GetAttributes() {
				if a.GetName() == "VARIABLE_VALUE" {
					keys[p.s] = a.GetCheckpointKey()
				}
			}
		}
		for _, child := range saved[p.s].GetChildren() {
			id := child.GetNodeId()
			if seen[id] || int(id) >= len(saved) {
				continue
			}
			for _, cc := range cnodes[p.c].GetChildren() {
				if cc.GetLocalName() == child.GetLocalName() && int(cc.GetNodeId()) < len(cnodes) {
					seen[id] = true
					queue = append(queue, pair{id, cc.GetNodeId()})
					break
				}
			}
		}
	}
	return keys, nil
}

// restoreOp adds RestoreV2 of keys (of dtypes) from the bundle at prefix.
func restoreOp(g *tf.Graph, scope, prefix string, keys []string, dtypes []tf.DataType) (*tf.Operation, error) {
	var in []tf.Input
	for i, v := range []any{prefix, keys, make([]string, len(keys))} {
		t, err := tf.NewTensor(v)
		if err != nil {
			return nil, err
		}
		op, err := g.AddOperation(tf.OpSpec{Type: "Const", Name: fmt.Sprintf("%sarg%d", scope, i), Attrs: map[string]any{"dtype": tf.String, "value": t}})
		if err != nil {
			return nil, err
		}
		in = append(in, op.Output(0))
	}
	return g.AddOperation(tf.OpSpec{Type: "RestoreV2", Name: scope + "restore", Input: in, Attrs: map[string]any{"dtypes": dtypes}})
}
