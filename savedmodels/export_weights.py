#!/usr/bin/env python3
"""Export the weights and layer graph of zoo models for their PyTorch copies (bench/torch/models.py).

Run in the main venv (TensorFlow 2.18 + Keras 3):

    .venv/bin/python savedmodels/export_weights.py [--out DIR] [MODEL ...]

(default: fmnist_vgg fmnist_resnet fmnist_gap into bench/torch/weights/, git-ignored; also
resnet50, the random-weight keras.applications.ResNet50 of savedmodels/imagenet/resnet50 that
`make zoo-imagenet` builds, for bench/torch/lrp_bench.py).

For each model it rebuilds the Keras model exactly as build_zoo.py (or build_imagenet.py) does (same builder, same
layer names), then fills every Keras weight from the SavedModel's variable of the same path
("<layer>/<weight>", e.g. "block2_bn1/moving_mean"). The mapping must be a bijection: every
Keras weight finds exactly one variable of its path and shape, and every SavedModel variable is
used except the dropout seed generator's state. The rebuilt model must then reproduce the
SavedModel's serving signature and golden/logits.npy on golden/inputs.npy (max |diff| printed;
for resnet50, whose signature ends in a softmax and whose logits reach about 10, relative to the largest
logit, at most 1e-5, and the signature's probabilities), and on 4 more seeded uniform [0,1] inputs against
the SavedModel's signature.

Writes per model, into DIR/<model>/:
    graph.json   {"model", "input": {"layout": "NHWC", "shape"}, "output": "logits",
                  "layers": [{"name", "kind", "config", "inputs": [layer names]}, ...]} in the
                  Keras model's (topological) layer order; kinds: input, conv2d, batchnorm, relu
                  (ReLU and Activation('relu')), maxpool2d, avgpool2d, global_avgpool2d, flatten,
                  dense, dropout, add, zeropad2d (config padding [[top, bottom], [left, right]]); a
                  softmax is allowed only as the activation of the output Dense, which the copy
                  leaves out (output kind "logits")
    weights.npz  "<layer>/<weight>" -> float32 array in Keras layout (conv kernel HWIO, dense
                  kernel [in, out], batch norm gamma/beta/moving_mean/moving_variance)
    check.json   the measured differences
    check.npz    "inputs" (NHWC) and "logits" of the rebuilt Keras model on golden/inputs.npy and
                  the extra random inputs, for models.py to check the copy against
"""
import argparse
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import build_zoo  # noqa: E402



def build_resnet50():
    """keras.applications.ResNet50 as savedmodels/build_imagenet.py builds it (weights are filled in after)."""
    return keras.applications.ResNet50(weights=None, input_shape=(224, 224, 3), classes=1000)


BUILDERS = {
    "fmnist_vgg": build_zoo.build_vgg,
    "fmnist_resnet": build_zoo.build_resnet,
    "fmnist_gap": build_zoo.build_gap,
    "resnet50": build_resnet50,
}
# The SavedModel folder of each model, relative to savedmodels/.
DIRS = {"resnet50": os.path.join("imagenet", "resnet50")}
# Extra seeded uniform [0,1] inputs the copy is also checked on (besides golden/inputs.npy).
EXTRA_INPUTS = 4
# SavedModel variables that carry no weights of the function (Dropout's RNG state).
IGNORED_VARIABLES = {"seed_generator/seed_generator_state"}


def inbound_names(node_args):
    """Layer names of the Keras tensors in a serialized inbound node's args (nested lists)."""
    out = []

    def walk(v):
        if isinstance(v, dict):
            if v.get("class_name") == "__keras_tensor__":
                hist = v["config"]["keras_history"]
                if hist[1] != 0 or hist[2] != 0:
                    raise SystemExit("unsupported: a layer called more than once (%s)" % hist)
                out.append(hist[0])
                return
            for x in v.values():
                walk(x)
        elif isinstance(v, (list, tuple)):
            for x in v:
                walk(x)
    walk(node_args)
    return out


def describe_layer(cls, cfg):
    """kind and the config fields the PyTorch copy needs; anything unexpected is an error."""
    def act(a):
        if a not in ("linear", "relu", "softmax"):
            raise SystemExit("unsupported activation %r in %s" % (a, cfg["name"]))
        return a
    if cls == "InputLayer":
        return "input", {"batch_shape": cfg["batch_shape"]}
    if cls == "Conv2D":
        assert cfg["data_format"] == "channels_last" and cfg["groups"] == 1, cfg
        assert list(cfg["dilation_rate"]) == [1, 1], cfg
        if cfg["activation"] == "softmax":
            raise SystemExit("unsupported activation softmax in %s" % cfg["name"])
        return "conv2d", {k: cfg[k] for k in ("filters", "kernel_size", "strides", "padding", "use_bias")} | {
            "activation": act(cfg["activation"])}
    if cls == "BatchNormalization":
        assert cfg["axis"] in (-1, 3) and cfg["center"] and cfg["scale"] and not cfg["renorm"], cfg
        return "batchnorm", {"epsilon": cfg["epsilon"], "axis": cfg["axis"]}
    if cls == "ReLU":
        assert cfg["max_value"] is None and cfg["negative_slope"] == 0 and cfg["threshold"] == 0, cfg
        return "relu", {}
    if cls == "Activation":
        if cfg["activation"] != "relu":
            raise SystemExit("unsupported activation %r in %s" % (cfg["activation"], cfg["name"]))
        return "relu", {}
    if cls == "ZeroPadding2D":
        assert cfg["data_format"] == "channels_last", cfg
        return "zeropad2d", {"padding": cfg["padding"]}
    if cls == "MaxPooling2D":
        assert cfg["data_format"] == "channels_last", cfg
        strides = cfg["strides"] if cfg["strides"] is not None else cfg["pool_size"]
        return "maxpool2d", {"pool_size": cfg["pool_size"], "strides": strides, "padding": cfg["padding"]}
    if cls == "AveragePooling2D":
        strides = cfg["strides"] if cfg["strides"] is not None else cfg["pool_size"]
        return "avgpool2d", {"pool_size": cfg["pool_size"], "strides": strides, "padding": cfg["padding"]}
    if cls == "GlobalAveragePooling2D":
        assert cfg["data_format"] == "channels_last" and not cfg["keepdims"], cfg
        return "global_avgpool2d", {}
    if cls == "Flatten":
        return "flatten", {"data_format": "channels_last"}
    if cls == "Dense":
        return "dense", {"units": cfg["units"], "use_bias": cfg["use_bias"], "activation": act(cfg["activation"])}
    if cls == "Dropout":
        return "dropout", {"rate": cfg["rate"], "note": "identity at inference"}
    if cls == "Add":
        return "add", {}
    raise SystemExit("unsupported layer class %s (%s)" % (cls, cfg.get("name")))


def export(name, savedmodel_dir, out_dir):
    loaded = tf.saved_model.load(savedmodel_dir)
    sm_vars = {}
    for v in loaded.variables:
        key = v.name[:-2] if v.name.endswith(":0") else v.name
        if key in sm_vars:
            raise SystemExit("%s: two SavedModel variables named %s" % (name, key))
        sm_vars[key] = v.numpy()

    keras.backend.clear_session()
    model = BUILDERS[name]()
    used = set()
    weights = {}
    for w in model.weights:
        if w.path not in sm_vars:
            raise SystemExit("%s: Keras weight %s has no SavedModel variable" % (name, w.path))
        if w.path in used:
            raise SystemExit("%s: two Keras weights map to %s" % (name, w.path))
        val = sm_vars[w.path]
        if tuple(val.shape) != tuple(w.shape):
            raise SystemExit("%s: %s shape %s in the SavedModel, %s in Keras" % (name, w.path, val.shape, w.shape))
        w.assign(val)
        used.add(w.path)
        weights[w.path] = val.astype(np.float32)
    unused = set(sm_vars) - used - IGNORED_VARIABLES
    if unused:
        raise SystemExit("%s: SavedModel variables not used by the Keras model: %s" % (name, sorted(unused)))

    # The rebuilt model against the SavedModel and the goldens. A softmax head (resnet50) is left out of the
    # logits, as build_imagenet.py computes golden/logits.npy: the Dense layer's input times its kernel plus bias.
    last = model.layers[-1]
    softmax_head = last.__class__.__name__ == "Dense" and last.get_config()["activation"] == "softmax"
    feat = keras.Model(model.inputs[0], last.input) if softmax_head else None

    def logits_of(v):
        if not softmax_head:
            return model(v, training=False).numpy()
        return (tf.matmul(feat(v, training=False), last.kernel) + last.bias).numpy()

    gdir = os.path.join(savedmodel_dir, "golden")
    x = np.load(os.path.join(gdir, "inputs.npy"))
    golden = np.load(os.path.join(gdir, "logits.npy"))
    extra = np.random.default_rng(1).uniform(0, 1, (EXTRA_INPUTS,) + x.shape[1:]).astype(np.float32)
    sig = loaded.signatures["serving_default"]
    key = list(sig.structured_input_signature[1].keys())[0]

    def signature(v):
        return list(sig(**{key: tf.constant(v)}).values())[0].numpy()

    keras_logits = logits_of(x)
    extra_logits = logits_of(extra)
    # what the signature returns (probabilities after a softmax head), from the rebuilt model
    keras_out = np.concatenate([model(x, training=False).numpy(), model(extra, training=False).numpy()])
    sm_out = np.concatenate([signature(x), signature(extra)])
    scale = float(np.max(np.abs(golden)))
    check = {
        "keras_vs_golden_logits": float(np.max(np.abs(keras_logits - golden))),
        "keras_vs_golden_logits_relative": float(np.max(np.abs(keras_logits - golden)) / scale),
        "keras_vs_savedmodel_signature": float(np.max(np.abs(keras_out - sm_out))),
        "signature_output": "probabilities (softmax head)" if softmax_head else "logits",
        "checked_inputs": "golden/inputs.npy (%d) and %d seeded uniform [0,1] inputs (numpy seed 1)" % (
            len(x), EXTRA_INPUTS),
        "variables_mapped": len(used),
        "variables_ignored": sorted(set(sm_vars) & IGNORED_VARIABLES),
    }
    if not softmax_head:
        check["savedmodel_signature_vs_golden_logits"] = float(np.max(np.abs(signature(x) - golden)))
    h5 = os.path.join(savedmodel_dir, "keras.weights.h5")
    if os.path.exists(h5):  # fmnist_gap also keeps its Keras weights file: must be the same values
        keras.backend.clear_session()
        other = BUILDERS[name]()
        other.load_weights(h5)
        check["keras_weights_h5_vs_savedmodel"] = max(
            float(np.max(np.abs(w.numpy() - weights[w.path]))) for w in other.weights)
    # The zoo's logits within 1e-5; ResNet50's (up to about 10 with random weights) within 1e-5 of the largest.
    bad_logits = (check["keras_vs_golden_logits_relative"] if softmax_head else check["keras_vs_golden_logits"]) > 1e-5
    if bad_logits or check["keras_vs_savedmodel_signature"] > 1e-5 * max(1.0, float(np.max(np.abs(sm_out)))):
        raise SystemExit("%s: rebuilt Keras model differs from golden/logits.npy by %g (%g of the largest logit) or "
                         "from the signature by %g" % (name, check["keras_vs_golden_logits"],
                                                      check["keras_vs_golden_logits_relative"],
                                                      check["keras_vs_savedmodel_signature"]))

    layers = []
    for entry in model.get_config()["layers"]:
        kind, cfg = describe_layer(entry["class_name"], entry["config"])
        ins = inbound_names(entry["inbound_nodes"][0]["args"]) if entry["inbound_nodes"] else []
        if cfg.get("activation") == "softmax" and entry["name"] != model.layers[-1].name:
            raise SystemExit("%s: softmax in %s, which is not the output layer" % (name, entry["name"]))
        layers.append({"name": entry["name"], "kind": kind, "keras_class": entry["class_name"],
                       "config": cfg, "inputs": ins,
                       "weights": [w.path for w in model.get_layer(entry["name"]).weights]})
    outputs = model.get_config()["output_layers"]  # ["name", 0, 0] or [["name", 0, 0]]
    out_layer = outputs[0] if isinstance(outputs[0], str) else outputs[0][0]
    graph = {
        "model": name,
        "source": os.path.relpath(savedmodel_dir, os.path.dirname(HERE)),
        "keras": keras.__version__,
        "tensorflow": tf.__version__,
        "input": {"layout": "NHWC", "shape": [-1] + list(model.inputs[0].shape[1:]), "range": [0.0, 1.0]},
        "output": {"layer": out_layer, "kind": "logits",
                   "note": "the softmax of the output Dense left out" if softmax_head else "the output Dense"},
        "layers": layers,
    }
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "graph.json"), "w") as f:
        json.dump(graph, f, indent=1)
    np.savez(os.path.join(out_dir, "weights.npz"), **weights)
    with open(os.path.join(out_dir, "check.json"), "w") as f:
        json.dump(check, f, indent=1)
    np.savez(os.path.join(out_dir, "check.npz"), inputs=np.concatenate([x, extra]),
             logits=np.concatenate([keras_logits, extra_logits]).astype(np.float32))
    print("%s: %d layers, %d weights -> %s; rebuilt Keras vs golden logits max|diff| %.3g (relative %.3g), "
          "vs SavedModel %.3g%s" % (
        name, len(layers), len(weights), out_dir, check["keras_vs_golden_logits"],
        check["keras_vs_golden_logits_relative"],
        check["keras_vs_savedmodel_signature"],
        "" if "keras_weights_h5_vs_savedmodel" not in check
        else ", keras.weights.h5 vs SavedModel variables %.3g" % check["keras_weights_h5_vs_savedmodel"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="*", default=list(BUILDERS))
    ap.add_argument("--out", default=os.path.join(os.path.dirname(HERE), "bench", "torch", "weights"))
    args = ap.parse_args()
    for m in args.models:
        if m not in BUILDERS:
            ap.error("unknown model %s; known: %s" % (m, ", ".join(BUILDERS)))
        export(m, os.path.join(HERE, DIRS.get(m, m)), os.path.join(args.out, m))


if __name__ == "__main__":
    main()
