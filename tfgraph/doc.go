// Package tfgraph is everything in saliency that touches TensorFlow.
//
// It loads a SavedModel through graft (the TensorFlow 2.18 C API), reads its
// signatures, and runs forward batches with one reused session. Later steps add the
// flat frozen graph, layers by Keras name and the backward engine with rule sets.
//
// Tensors cross the package boundary as plain [tensor.Tensor] values (a shape and a
// float32 slice), so callers never hold TensorFlow handles.
//
// TensorFlow reads TF_CPP_MIN_LOG_LEVEL when the library is loaded, before any
// Go code runs: set it in the environment (2 keeps INFO and WARNING lines off
// stderr). The saliency command does this for its users.
package tfgraph
