//go:build cgo

package tfgraph

import (
	"strings"
)

// RandomOp is an op of the flat graph that draws random numbers on the way
// to the model's scores.
type RandomOp struct {
	Op, Node, Layer string
}

// randomOpPrefixes and randomOpTypes are TensorFlow's random ops (stateful,
// stateless and the seed-handling ops of Keras' SeedGenerator).
var (
	randomOpPrefixes = []string{"Random", "StatelessRandom", "Stateful", "Rng", "StatelessTruncatedNormal"}
	randomOpTypes    = map[string]bool{
		"Multinomial": true, "StatelessMultinomial": true, "TruncatedNormal": true,
		"ParameterizedTruncatedNormal": true, "StatelessParameterizedTruncatedNormal": true,
		"SampleDistortedBoundingBox": true, "SampleDistortedBoundingBoxV2": true, "StatelessSampleDistortedBoundingBox": true,
		"StatelessRandomGetKeyCounter": true, "StatelessRandomGetKeyCounterAlg": true, "StatelessRandomGetAlg": true,
	}
)

func isRandomOp(op string) bool {
	if randomOpTypes[op] {
		return true
	}
	for _, p := range randomOpPrefixes {
		if strings.HasPrefix(op, p) {
			return true
		}
	}
	return false
}

// RandomOps lists the random ops that the model's scores (Logits) depend
// on, in graph order: random augmentation layers left live at inference
// (Keras 3's RandomFlip, RandomRotation, … run whenever the model is called
// without training=False, as model.export() does), dropout called with
// training=True, noise layers. The signature of such a model gives another
// output at every call. In the flat graph a stateful seed is frozen with
// the other variables, so every run makes the same draw: the maps explain
// one fixed random transformation of the input, which callers must say.
func (fl *Flat) RandomOps() []RandomOp {
	logits, _ := fl.Logits()
	anc := map[string]bool{nodeOf(logits): true}
	var out []RandomOp
	for i := len(fl.order) - 1; i >= 0; i-- {
		n := fl.order[i]
		if !anc[n.GetName()] {
			continue
		}
		for _, in := range n.GetInput() {
			anc[nodeOf(in)] = true
		}
		if isRandomOp(n.GetOp()) {
			out = append(out, RandomOp{Op: n.GetOp(), Node: n.GetName(), Layer: fl.layerOf(n.GetName())})
		}
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}
