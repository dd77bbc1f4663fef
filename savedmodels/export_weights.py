#!/usr/bin/env python3
"""Export the weights and layer graph of zoo models for their PyTorch copies (bench/torch/models.py).

Run in the main venv (TensorFlow 2.18 + Keras 3):

    .venv/bin/python savedmodels/export_weights.py [--out DIR] [MODEL ...]

(default: fmnist_vgg fmnist_resnet fmnist_gap into bench/torch/weights/, git-ignored).

For each model it rebuilds the Keras model exactly as build_zoo.py does (same builder, same
layer names), then fills every Keras weight from the SavedModel's variable of the same path
("<layer>/<weight>", e.g. "block2_bn1/moving_mean"). The mapping must be a bijection: every
Keras weight finds exactly one variable of its path and shape, and every SavedModel variable is
used except the dropout seed generator's state. The rebuilt model must then reproduce the
SavedModel's serving signature and golden/logits.npy on golden/inputs.npy (max |diff| printed).

Writes per model, into DIR/<model>/:
    graph.json   {"model", "input": {"layout": "NHWC", "shape"}, "output": "logits",
                  "layers": [{"name", "kind", "config", "inputs": [layer names]}, ...]} in the
                  Keras model's (topological) layer order; kinds: input, conv2d, batchnorm, relu,
                  maxpool2d, avgpool2d, global_avgpool2d, flatten, dense, dropout, add
    weights.npz  "<layer>/<weight>" -> float32 array in Keras layout (conv kernel HWIO, dense
                  kernel [in, out], batch norm gamma/beta/moving_mean/moving_variance)
    check.json   the measured differences
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

BUILDERS = {
    "fmnist_vgg": build_zoo.build_vgg,
    "fmnist_resnet": build_zoo.build_resnet,
    "fmnist_gap": build_zoo.build_gap,
}
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
        if a not in ("linear", "relu"):
            raise SystemExit("unsupported activation %r in %s" % (a, cfg["name"]))
        return a
    if cls == "InputLayer":
        return "input", {"batch_shape": cfg["batch_shape"]}
    if cls == "Conv2D":
        assert cfg["data_format"] == "channels_last" and cfg["groups"] == 1, cfg
        assert list(cfg["dilation_rate"]) == [1, 1], cfg
        return "conv2d", {k: cfg[k] for k in ("filters", "kernel_size", "strides", "padding", "use_bias")} | {
            "activation": act(cfg["activation"])}
    if cls == "BatchNormalization":
        assert cfg["axis"] in (-1, 3) and cfg["center"] and cfg["scale"] and not cfg["renorm"], cfg
        return "batchnorm", {"epsilon": cfg["epsilon"], "axis": cfg["axis"]}
    if cls == "ReLU":
        assert cfg["max_value"] is None and cfg["negative_slope"] == 0 and cfg["threshold"] == 0, cfg
        return "relu", {}
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

    # The rebuilt model against the SavedModel and the goldens.
    gdir = os.path.join(savedmodel_dir, "golden")
    x = np.load(os.path.join(gdir, "inputs.npy"))
    golden = np.load(os.path.join(gdir, "logits.npy"))
    keras_logits = model(x, training=False).numpy()
    sig = loaded.signatures["serving_default"]
    key = list(sig.structured_input_signature[1].keys())[0]
    sm_logits = list(sig(**{key: tf.constant(x)}).values())[0].numpy()
    check = {
        "keras_vs_golden_logits": float(np.max(np.abs(keras_logits - golden))),
        "keras_vs_savedmodel_signature": float(np.max(np.abs(keras_logits - sm_logits))),
        "savedmodel_signature_vs_golden_logits": float(np.max(np.abs(sm_logits - golden))),
        "variables_mapped": len(used),
        "variables_ignored": sorted(set(sm_vars) & IGNORED_VARIABLES),
    }
    h5 = os.path.join(savedmodel_dir, "keras.weights.h5")
    if os.path.exists(h5):  # fmnist_gap also keeps its Keras weights file: must be the same values
        keras.backend.clear_session()
        other = BUILDERS[name]()
        other.load_weights(h5)
        check["keras_weights_h5_vs_savedmodel"] = max(
            float(np.max(np.abs(w.numpy() - weights[w.path]))) for w in other.weights)
    if check["keras_vs_golden_logits"] > 1e-5:
        raise SystemExit("%s: rebuilt Keras model differs from golden/logits.npy by %g" % (name, check["keras_vs_golden_logits"]))

    layers = []
    for entry in model.get_config()["layers"]:
        kind, cfg = describe_layer(entry["class_name"], entry["config"])
        ins = inbound_names(entry["inbound_nodes"][0]["args"]) if entry["inbound_nodes"] else []
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
        "output": {"layer": out_layer, "kind": "logits"},
        "layers": layers,
    }
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "graph.json"), "w") as f:
        json.dump(graph, f, indent=1)
    np.savez(os.path.join(out_dir, "weights.npz"), **weights)
    with open(os.path.join(out_dir, "check.json"), "w") as f:
        json.dump(check, f, indent=1)
    print("%s: %d layers, %d weights -> %s; rebuilt Keras vs golden logits max|diff| %.3g, vs SavedModel %.3g%s" % (
        name, len(layers), len(weights), out_dir, check["keras_vs_golden_logits"],
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
        export(m, os.path.join(HERE, m), os.path.join(args.out, m))


if __name__ == "__main__":
    main()
