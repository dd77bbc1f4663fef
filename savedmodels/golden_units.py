#!/usr/bin/env python3
"""Golden unit gradients for the zoo, computed in Python (issue 18's oracle).

For each zoo model, the serving signature is frozen with TensorFlow's own
convert_variables_to_constants_v2 and imported into a TF1-style graph. A
Keras layer's output is found there by its name scope (the last op of scope
``<layer>_1`` whose output has the card's shape) and checked against the
layer activations the Keras model wrote at export (golden/layer_*.npy) where
there are some. Then, on the first four golden images, for three layers of
each model, TensorFlow's registered gradients (tf.gradients: what
tf.GradientTape runs) of these units give the signal on the input:

    LAYER:K        channel K's strongest activation: the seed is the one-hot of
                   np.argmax of the channel (the first of ties in raster order)
    LAYER:K/mean   its mean over the positions
    LAYER:K@Y,X    its activation at the centre position
    LAYER:v.npy    the mean of <A[p], v> over the positions, v ~ N(0,1) seeded
    DENSE:K        neuron K of a dense layer

under three rule sets: plain, and on the models whose activations are all
ReLU, the guided and deconvnet overrides of golden_rules.py. The channel K of
each layer is the one whose strongest activation is largest on average, among
those whose top two values differ by more than 1e-3 in every image (so that
the position of the maximum is not decided by kernel rounding).

Writes OUT/<model>/units.json and the .npy files it names (OUT defaults to
savedmodels/edge/units, git-ignored; `make edge-models` builds it).

Usage: golden_units.py [OUT]
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import yaml  # noqa: E402
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ZOO = ["fmnist_vgg", "fmnist_resnet", "fmnist_gap", "fmnist_gap_softmax", "fmnist_vgg_randlabels", "fmnist_scatter", "fmnist_vit"]
IMAGES = 4


@tf.RegisterGradient("SaliencyUnitsGuidedRelu")
def _guided_relu(op, grad):
    return tf.where(op.outputs[0] > 0, tf.nn.relu(grad), tf.zeros_like(grad))


@tf.RegisterGradient("SaliencyUnitsDeconvRelu")
def _deconv_relu(op, grad):
    return tf.nn.relu(grad)


OVERRIDES = {"plain": None, "guided": "SaliencyUnitsGuidedRelu", "deconvnet": "SaliencyUnitsDeconvRelu"}


def frozen_graph(path):
    loaded = tf.saved_model.load(path)
    frozen = convert_variables_to_constants_v2(loaded.signatures["serving_default"])
    return frozen.graph.as_graph_def(), frozen.inputs[0].name


def layer_tensor(g, gd, name, shape):
    """The last op of the layer's name scope whose output has the card's shape."""
    best = None
    for node in gd.node:
        op = g.get_operation_by_name(node.name)
        parts = op.name.split("/")
        if (name + "_1") not in parts and name not in parts[:-1]:
            continue
        for t in op.outputs[:1]:
            s = t.shape.as_list() if t.shape.rank is not None else None
            if t.dtype.is_floating and s is not None and len(s) == len(shape) and all(
                a == b or b == -1 or a is None for a, b in zip(s, shape)
            ):
                best = t
    return best


def pick_layers(card):
    spatial = [l for l in card["layers"] if len(l["output_shape"]) in (3, 4) and l["class"] not in ("InputLayer",)]
    dense = [l for l in card["layers"][:-1] if len(l["output_shape"]) == 2 and l["class"] == "Dense"]
    out = []
    if spatial:
        out.append(spatial[len(spatial) // 3])
        out.append(spatial[-1])
    if dense:
        out.append(dense[-1])
    elif len(spatial) > 2:
        out.append(spatial[(2 * len(spatial)) // 3])
    return out


def all_relu(gd):
    acts = {"Relu", "Relu6", "Elu", "Selu", "LeakyRelu", "Gelu", "Sigmoid", "Tanh", "Softplus", "Erf"}
    used = {n.op for n in gd.node} & acts
    return used == {"Relu"}


def build(path, out):
    name = os.path.basename(path)
    with open(os.path.join(path, "card.yaml")) as f:
        card = yaml.safe_load(f)
    gd, in_name = frozen_graph(path)
    x = np.load(os.path.join(path, "golden", "inputs.npy"))[:IMAGES]
    rules = ["plain", "guided", "deconvnet"] if all_relu(gd) else ["plain"]
    os.makedirs(out, exist_ok=True)
    entries = []
    rng = np.random.default_rng(0)
    for rname in rules:
        g = tf.Graph()
        with g.as_default():
            if OVERRIDES[rname]:
                with g.gradient_override_map({"Relu": OVERRIDES[rname]}):
                    tf.graph_util.import_graph_def(gd, name="")
            else:
                tf.graph_util.import_graph_def(gd, name="")
            xin = g.get_tensor_by_name(in_name)
            sess = tf.compat.v1.Session(graph=g)
            for layer in pick_layers(card):
                lname, shape = layer["name"], layer["output_shape"]
                t = layer_tensor(g, gd, lname, shape)
                if t is None:
                    raise SystemExit("%s: no tensor for layer %s %s" % (name, lname, shape))
                seed = tf.compat.v1.placeholder(tf.float32, t.shape)
                (grad,) = tf.compat.v1.gradients(t, xin, grad_ys=seed)
                a = sess.run(t, {xin: x})
                ref = os.path.join(path, "golden", "layer_%s.npy" % lname)
                if os.path.exists(ref):
                    d = np.abs(a - np.load(ref)[:IMAGES]).max()
                    if d > 1e-4 * max(1.0, np.abs(a).max()):
                        raise SystemExit("%s: layer %s: tensor %s differs from golden by %g" % (name, lname, t.name, d))
                c_axis = a.shape[-1]
                pos = a.shape[1:-1]
                flat = a.reshape(a.shape[0], -1, c_axis)  # [N, P, C]
                # the channel: largest mean top activation with a clear top
                srt = np.sort(flat, axis=1)
                top1 = srt[:, -1, :]
                top2 = srt[:, -2, :] if flat.shape[1] > 1 else np.full_like(top1, -np.inf)
                clear = np.all(top1 - top2 > 1e-3 * np.maximum(1.0, np.abs(top1)), axis=0)
                score = np.where(clear, top1.mean(axis=0), -np.inf)
                ch = int(np.argmax(score))
                kinds = []
                if pos:
                    kinds.append(("max", "%s:%d" % (lname, ch)))
                    kinds.append(("mean", "%s:%d/mean" % (lname, ch)))
                    centre = [p // 2 for p in pos]
                    kinds.append(("at", "%s:%d@%s" % (lname, ch, ",".join(map(str, centre)))))
                    kinds.append(("direction", "%s:%s" % (lname, "dir_%s.npy" % lname)))
                else:
                    kinds.append(("neuron", "%s:%d" % (lname, ch)))
                    kinds.append(("direction", "%s:%s" % (lname, "dir_%s.npy" % lname)))
                dfile = os.path.join(out, "dir_%s.npy" % lname)
                if not os.path.exists(dfile):
                    np.save(dfile, rng.standard_normal(c_axis).astype(np.float64))
                v = np.load(dfile).astype(np.float32)
                npos = int(np.prod(pos)) if pos else 1
                for kind, spec in kinds:
                    s = np.zeros(a.shape, np.float32)
                    sf = s.reshape(a.shape[0], -1, c_axis)
                    if kind == "max":
                        arg = np.argmax(flat[:, :, ch], axis=1)
                        sf[np.arange(a.shape[0]), arg, ch] = 1
                    elif kind == "mean":
                        sf[:, :, ch] = 1.0 / npos
                    elif kind == "at":
                        idx = int(np.ravel_multi_index(centre, pos))
                        sf[:, idx, ch] = 1
                    elif kind == "neuron":
                        sf[:, 0, ch] = 1
                    else:
                        sf[:, :, :] = v / npos
                    value = (s * a).reshape(a.shape[0], -1).sum(axis=1)
                    r = sess.run(grad, {xin: x, seed: s}).astype(np.float32)
                    fname = "%s_%s_%s.npy" % (rname, lname, kind)
                    np.save(os.path.join(out, fname), r)
                    entries.append({"layer": lname, "tensor": t.name, "target": spec, "kind": kind, "rules": rname,
                                    "file": fname, "values": [float(u) for u in value],
                                    "max_abs": float(np.abs(r).max())})
            sess.close()
    np.save(os.path.join(out, "inputs.npy"), x)
    with open(os.path.join(out, "units.json"), "w") as f:
        json.dump({"model": name, "images": IMAGES, "entries": entries}, f, indent=1)
    print("%s: %d unit gradients (%s)" % (name, len(entries), ", ".join(rules)), flush=True)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "edge", "units")
    for m in ZOO:
        build(os.path.join(HERE, m), os.path.join(out, m))


if __name__ == "__main__":
    main()
