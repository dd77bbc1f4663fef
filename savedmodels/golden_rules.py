#!/usr/bin/env python3
"""Golden Guided Backprop and DeconvNet signals for the zoo, computed in Python.

For each SavedModel folder given (default: every zoo model), the serving signature
is frozen with TensorFlow's own convert_variables_to_constants_v2 (Grappler
inlines the nested functions), imported into a TF1-style graph under
gradient_override_map with the standard ReLU overrides

    guided:    dR_in = 1[y > 0] * relu(dR_out)      (Springenberg et al. 2014)
    deconvnet: dR_in = relu(dR_out)                  (Zeiler & Fergus 2013)

and differentiated with tf.gradients from the top logit (the input of a final
Softmax when the model ends in one) to the input, on golden/inputs.npy. Writes
golden/guided_input.npy and golden/deconvnet_input.npy.

Usage: golden_rules.py [SAVEDMODEL_DIR ...]
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ZOO = ["fmnist_gap", "fmnist_gap_softmax", "fmnist_vgg", "fmnist_resnet", "fmnist_vgg_randlabels", "fmnist_scatter"]


@tf.RegisterGradient("SaliencyGuidedRelu")
def _guided_relu(op, grad):
    return tf.where(op.outputs[0] > 0, tf.nn.relu(grad), tf.zeros_like(grad))


@tf.RegisterGradient("SaliencyDeconvRelu")
def _deconv_relu(op, grad):
    return tf.nn.relu(grad)


def logits_of(t):
    """Follow Identity ops back from the output; a Softmax yields its input."""
    while t.op.type == "Identity":
        t = t.op.inputs[0]
    if t.op.type == "Softmax":
        return t.op.inputs[0]
    return t


def signal(path, override, x, top):
    loaded = tf.saved_model.load(path)
    frozen = convert_variables_to_constants_v2(loaded.signatures["serving_default"])
    gd = frozen.graph.as_graph_def()
    in_name, out_name = frozen.inputs[0].name, frozen.outputs[0].name
    g = tf.Graph()
    with g.as_default():
        with g.gradient_override_map({"Relu": override}):
            tf.graph_util.import_graph_def(gd, name="")
        xin = g.get_tensor_by_name(in_name)
        logits = logits_of(g.get_tensor_by_name(out_name))
        seed = tf.compat.v1.placeholder(tf.float32, logits.shape)
        (grad,) = tf.compat.v1.gradients(logits, xin, grad_ys=seed)
        onehot = np.zeros((len(top), logits.shape[-1]), np.float32)
        onehot[np.arange(len(top)), top] = 1
        with tf.compat.v1.Session(graph=g) as sess:
            return sess.run(grad, {xin: x, seed: onehot})


def write(path):
    gdir = os.path.join(path, "golden")
    x = np.load(os.path.join(gdir, "inputs.npy"))
    top = np.load(os.path.join(gdir, "top.npy"))
    for name, override in [("guided", "SaliencyGuidedRelu"), ("deconvnet", "SaliencyDeconvRelu")]:
        r = signal(path, override, x, top).astype(np.float32)
        np.save(os.path.join(gdir, "%s_input.npy" % name), r)
        print("%s: %s max |signal| %.3g" % (os.path.basename(path), name, np.abs(r).max()), flush=True)


def main():
    paths = sys.argv[1:] or [os.path.join(HERE, m) for m in ZOO]
    for p in paths:
        write(p)


if __name__ == "__main__":
    main()
