//go:build cgo

package methods

import "github.com/saliencykit/saliency/tfgraph"

// *tfgraph.Flat, which needs TensorFlow (cgo), is the Model of every
// program; without cgo, methods builds and tests on models of its own.
var _ Model = (*tfgraph.Flat)(nil)
