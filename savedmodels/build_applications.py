#!/usr/bin/env python3
"""Every keras.applications architecture as a random-weight SavedModel.

Pretrained weights cannot be downloaded here, so each application of the
installed Keras (enumerated from ``keras.applications``: a new one is built
too, and one that is not built is an error) is built with ``weights=None``,
1000 classes, its default input size and a fixed seed, then:

* batch-norm calibration: one batch of 4 random images (uniform pixels in
  [0, 255] put through the application's own ``preprocess_input``) runs through
  the model layer by layer; before each BatchNormalization layer runs, its
  moving_mean / moving_variance are set to the batch statistics of its input,
  in forward order, so every BN sees already normalised inputs upstream and the
  logits do not vanish or explode. Models without BN (VGG16/19, the
  LayerNormalization ConvNeXts) keep their random initialisation;
* exported with ``model.export(dir, format="tf_saved_model")`` into
  ``savedmodels/applications/<snake_name>/`` (git-ignored);
* golden vectors in ``golden/`` (float32 unless said): inputs.npy (2 seeded
  random images, preprocessed), outputs.npy (the model's softmax output),
  logits.npy (the pre-softmax scores: the last Dense's pre-activation, or the
  input of a final Activation("softmax") layer), top.npy and labels.npy (int32
  argmax of the logits; random weights have no true labels), grad_input.npy
  (d logit[top] / d input, tf.GradientTape, inference mode), and for two inner
  layers at about 1/3 and 2/3 of the model layer_<name>.npy (their outputs) and
  grad_layer_<name>.npy (d logit[top] / d that output);
* card.yaml in the zoo's format (see build_zoo.py) plus ``layers:`` in
  ``model.summary()`` order with ``params`` (layers of nested models as
  ``outer/inner``), ``total_params`` and ``logits`` (what the logits tensor is);
  build/export seconds, sizes and peak RSS are under ``training:``.

Each model is built in a fresh child process (this script with --child) whose
resident memory is watched: past --max-rss-gb it is killed and the model is
recorded as skipped. Every attempt is appended to <out>/build_log.jsonl.

Usage: build_applications.py [--force] [--list] [--out DIR] [NAME ...]
NAME is the Keras name (ResNet50) or the folder name (resnet50); default: all.
"""
import argparse
import importlib
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import threading
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 0
N_CLASSES = 1000
CALIBRATION_BATCH = 4
GOLDEN_IMAGES = 2
MIN_LOGITS_STD = 1e-2  # "well above 1e-3"

# Default input sizes from the keras.applications docs. Checked against the
# model that the application builds with input_shape=None; MobileNetV3 builds
# with (None, None, 3) and the docs' 224 is used.
DEFAULT_SIZE = {
    "ConvNeXtTiny": 224, "ConvNeXtSmall": 224, "ConvNeXtBase": 224, "ConvNeXtLarge": 224, "ConvNeXtXLarge": 224,
    "DenseNet121": 224, "DenseNet169": 224, "DenseNet201": 224,
    "EfficientNetB0": 224, "EfficientNetB1": 240, "EfficientNetB2": 260, "EfficientNetB3": 300,
    "EfficientNetB4": 380, "EfficientNetB5": 456, "EfficientNetB6": 528, "EfficientNetB7": 600,
    "EfficientNetV2B0": 224, "EfficientNetV2B1": 240, "EfficientNetV2B2": 260, "EfficientNetV2B3": 300,
    "EfficientNetV2S": 384, "EfficientNetV2M": 480, "EfficientNetV2L": 480,
    "InceptionResNetV2": 299, "InceptionV3": 299, "Xception": 299,
    "MobileNet": 224, "MobileNetV2": 224, "MobileNetV3Small": 224, "MobileNetV3Large": 224,
    "NASNetMobile": 224, "NASNetLarge": 331,
    "ResNet50": 224, "ResNet101": 224, "ResNet152": 224,
    "ResNet50V2": 224, "ResNet101V2": 224, "ResNet152V2": 224,
    "VGG16": 224, "VGG19": 224,
}

# What each application's preprocess_input does to [0, 255] RGB pixels, in the
# card's terms: x = pixel * scale + offset, then (x - mean[c]) / std[c]
# (caffe mode also reverses RGB to BGR). The mode of every model is found by
# comparing with its module's preprocess_input, not assumed.
MODES = {
    "none": dict(scale=1.0, offset=0.0, mean=None, std=None, color="rgb",
                 formula="x = pixel (the model rescales and normalises inside)"),
    "tf": dict(scale=1.0 / 127.5, offset=-1.0, mean=None, std=None, color="rgb",
               formula="x = pixel / 127.5 - 1"),
    "torch": dict(scale=1.0 / 255.0, offset=0.0, mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225],
                  color="rgb", formula="x = (pixel / 255 - mean[c]) / std[c]"),
    "caffe": dict(scale=1.0, offset=0.0, mean=[103.939, 116.779, 123.68], std=None, color="bgr",
                  formula="x = pixel[BGR] - mean[c] (channels reversed to BGR, then the BGR ImageNet mean)"),
}

PREFIXES = [("ConvNeXt", "convnext"), ("DenseNet", "densenet"), ("EfficientNetV2", "efficientnet_v2"),
            ("EfficientNet", "efficientnet"), ("InceptionResNetV2", "inception_resnet_v2"),
            ("InceptionV3", "inception_v3"), ("MobileNetV3", "mobilenet_v3"), ("MobileNetV2", "mobilenet_v2"),
            ("MobileNet", "mobilenet"), ("NASNet", "nasnet"), ("ResNet", "resnet"), ("VGG", "vgg"),
            ("Xception", "xception")]


def snake(name):
    """ResNet50V2 -> resnet50_v2, EfficientNetB0 -> efficientnet_b0, ConvNeXtTiny -> convnext_tiny."""
    for camel, low in PREFIXES:
        if name.startswith(camel):
            rest = name[len(camel):]
            out = low
            for tok in re.findall(r"XLarge|\d+|V\d+|[A-Z][a-z]*|[a-z]+", rest):
                out += tok if tok.isdigit() else "_" + tok.lower()
            return out
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def applications():
    """{KerasName: constructor} for every architecture in keras.applications."""
    import keras
    apps = {}
    for n in sorted(dir(keras.applications)):
        obj = getattr(keras.applications, n)
        if n[:1].isupper() and callable(obj) and not isinstance(obj, type):
            apps[n] = obj
    if not apps:
        raise SystemExit("keras.applications has no architectures?")
    return apps


# ---------------------------------------------------------------- child: one model

def preprocess_mode(fn, rng, size):
    """The MODES key whose formula reproduces the application's preprocess_input."""
    import numpy as np
    modname = "keras.applications." + fn.__module__.rsplit(".", 1)[1]
    mod = importlib.import_module(modname)
    px = rng.uniform(0, 255, size=(2, 8, 8, 3)).astype(np.float32)
    want = np.asarray(mod.preprocess_input(px.copy()))
    errs = {}
    for k in MODES:
        got = apply_mode(k, px)
        errs[k] = float(np.max(np.abs(got - want)))
        if errs[k] < 1e-3:
            return k, modname
    raise SystemExit("%s.preprocess_input matches none of the known modes (max|diff| %s)" % (modname, errs))


def apply_mode(mode, px):
    import numpy as np
    m = MODES[mode]
    x = px * np.float32(m["scale"]) + np.float32(m["offset"])
    if m["color"] == "bgr":
        x = x[..., ::-1]
    if m["mean"] is not None:
        x = x - np.asarray(m["mean"], np.float32)
    if m["std"] is not None:
        x = x / np.asarray(m["std"], np.float32)
    return x.astype(np.float32)


def mode_range(mode):
    import numpy as np
    lo = apply_mode(mode, np.zeros((1, 1, 1, 3), np.float32)).ravel()
    hi = apply_mode(mode, np.full((1, 1, 1, 3), 255.0, np.float32)).ravel()
    return [round(float(min(lo.min(), hi.min())), 4), round(float(max(lo.max(), hi.max())), 4)]


def shape_list(shape):
    return [-1 if d is None else int(d) for d in shape]


def op_output_shape(op):
    """The output shape as model.summary() shows it (last inbound node)."""
    from keras import tree
    nodes = getattr(op, "_inbound_nodes", [])
    if not nodes:
        return None
    outs = tree.flatten(nodes[-1].output_tensors)
    shapes = [shape_list(t.shape) for t in outs]
    return shapes[0] if len(shapes) == 1 else shapes


def op_params(op):
    if not hasattr(op, "built"):  # a keras op (e.g. the `+` of two KerasTensors), not a Layer
        return 0
    return int(op.count_params()) if op.built else 0


def summary_ops(model):
    """The rows of model.summary(): Functional models list model._operations."""
    import keras
    if isinstance(model, keras.Sequential) or not isinstance(model, keras.src.models.Functional):
        return list(model.layers)
    return list(model._operations)


def layer_entries(model, prefix="", nested=None):
    entries = []
    for op in summary_ops(model):
        entries.append({"name": prefix + op.name, "class": op.__class__.__name__,
                        "output_shape": op_output_shape(op), "params": op_params(op)})
        sub = getattr(op, "layers", None)
        if isinstance(sub, list) and sub:  # expand_nested: a Sequential or Functional used as a layer
            if nested is not None:
                nested.append(prefix + op.name + " (%s, %d layers)" % (op.__class__.__name__, len(sub)))
            inner = []
            for l in sub:
                inner.append({"name": prefix + op.name + "/" + l.name, "class": l.__class__.__name__,
                              "output_shape": op_output_shape(l), "params": op_params(l)})
                if isinstance(getattr(l, "layers", None), list) and l.layers:
                    inner.extend(layer_entries(l, prefix + op.name + "/" + l.name + "/", nested)[0])
            entries.extend(inner)
    return entries, nested


def graph_of(model):
    import keras
    if isinstance(model, keras.Sequential):
        if model._functional is None:
            raise RuntimeError("nested Sequential %s is not built as a functional graph" % model.name)
        return model._functional
    return model


def forward(model, x, hook=None, calibrate=None):
    """Run model on x in inference mode, node by node, like Functional.call.

    hook(op, args, out) sees every operation's inputs and outputs. calibrate, a
    list, turns on the batch-norm calibration: each BatchNormalization layer gets
    the batch mean and variance of its input as moving statistics just before it
    runs, and is appended to the list. Nested models are walked recursively.
    """
    import keras
    import tensorflow as tf
    from keras.src.models.functional import operation_fn

    def opfn(op):
        def call(*args, **kwargs):
            if isinstance(op, keras.Model):
                out = forward(op, args[0], hook, calibrate)
            else:
                if calibrate is not None:
                    if isinstance(op, keras.layers.BatchNormalization):
                        xin = tf.convert_to_tensor(args[0], tf.float32)
                        axis = op.axis if isinstance(op.axis, (list, tuple)) else [op.axis]
                        axis = [a % len(xin.shape) for a in axis]
                        red = [i for i in range(len(xin.shape)) if i not in axis]
                        mean, var = tf.nn.moments(xin, axes=red)
                        op.moving_mean.assign(tf.reshape(mean, op.moving_mean.shape))
                        op.moving_variance.assign(tf.reshape(var, op.moving_variance.shape))
                        calibrate.append(op.name)
                    elif isinstance(op, keras.layers.Layer) and any(
                            isinstance(l, keras.layers.BatchNormalization) for l in op._flatten_layers(include_self=False)):
                        raise RuntimeError("layer %s (%s) hides BatchNormalization layers that the calibration "
                                           "cannot reach" % (op.name, op.__class__.__name__))
                out = operation_fn(op, training=False)(*args, **kwargs)
            if hook is not None:
                hook(op, args, out)
            return out
        return call

    out = graph_of(model)._run_through_graph(x, operation_fn=opfn)
    if isinstance(out, (list, tuple)) and len(out) == 1:
        out = out[0]
    return out


def logits_spec(model):
    """The classifier's last operation and how to get the logits from it."""
    import keras
    last = model.outputs[0]._keras_history.operation
    act = getattr(last, "activation", None)
    act_name = getattr(act, "__name__", str(act))
    if isinstance(last, keras.layers.Dense) and act_name == "softmax":
        return last, "dense", "%s (Dense, softmax activation) pre-activation: input @ kernel + bias" % last.name
    if isinstance(last, keras.layers.Activation) and act_name == "softmax":
        prev = last._inbound_nodes[0].input_tensors[0]._keras_history.operation
        return last, "activation", "input of %s (Activation softmax) = output of %s (%s)" % (
            last.name, prev.name, prev.__class__.__name__)
    raise RuntimeError("classifier %s (%s, activation %s): no rule for its logits" % (
        last.name, last.__class__.__name__, act_name))


def pick_inner_layers(model):
    """Two top-level layers with 4-D spatial outputs at about 1/3 and 2/3 of the model."""
    import keras
    ops = summary_ops(model)
    preferred = ("Add", "Activation", "ReLU", "Concatenate", "Multiply")
    fallback = ("Conv2D", "DepthwiseConv2D", "SeparableConv2D", "MaxPooling2D")

    def ok(i, classes):
        op = ops[i]
        if not isinstance(op, keras.layers.Layer) or isinstance(op, keras.Model):
            return False
        shp = op_output_shape(op)
        return (op.__class__.__name__ in classes and shp and not isinstance(shp[0], list)
                and len(shp) == 4 and shp[1] > 1 and shp[2] > 1)

    picked = []
    for frac in (1 / 3, 2 / 3):
        target = frac * (len(ops) - 1)
        for classes in (preferred, fallback):
            cands = [i for i in range(len(ops)) if ok(i, classes) and ops[i].name not in picked]
            if cands:
                picked.append(ops[min(cands, key=lambda i: abs(i - target))].name)
                break
        else:
            raise RuntimeError("no 4-D inner layer near %.0f%% of the model" % (100 * frac))
    return picked


def dir_mb(path, skip=()):
    total = 0
    for root, dirs, files in os.walk(path):
        dirs[:] = [d for d in dirs if os.path.join(root, d) not in skip]
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    return total / 2 ** 20


def build_child(kname, out, seed):
    import numpy as np
    import tensorflow as tf
    import keras
    import yaml

    tf.config.threading.set_intra_op_parallelism_threads(2)
    tf.config.threading.set_inter_op_parallelism_threads(2)
    fn = applications()[kname]
    t0 = time.time()
    rng = np.random.default_rng(seed)
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    probe_shape = None
    size = DEFAULT_SIZE.get(kname)
    model = fn(weights=None, classes=N_CLASSES)
    h, w = model.input_shape[1:3]
    if h is None or w is None:
        if size is None:
            raise RuntimeError("%s has no default input size and none is known" % kname)
        probe_shape = shape_list(model.input_shape)
        keras.backend.clear_session()
        keras.utils.set_random_seed(seed)
        model = fn(weights=None, classes=N_CLASSES, input_shape=(size, size, 3))
        h, w = model.input_shape[1:3]
    elif size is not None and (h, w) != (size, size):
        raise RuntimeError("%s builds with input %dx%d, the docs say %d" % (kname, h, w, size))
    c = model.input_shape[3]
    mode, modname = preprocess_mode(fn, rng, h)

    # Batch-norm calibration on one random batch.
    xcal = tf.constant(apply_mode(mode, rng.uniform(0, 255, size=(CALIBRATION_BATCH, h, w, c)).astype(np.float32)))
    calibrated = []
    forward(model, xcal, calibrate=calibrated)
    n_bn = sum(1 for l in model._flatten_layers(include_self=False) if isinstance(l, keras.layers.BatchNormalization))
    if len(set(calibrated)) != n_bn:
        raise RuntimeError("calibrated %d of %d BatchNormalization layers" % (len(set(calibrated)), n_bn))
    build_s = time.time() - t0

    last, kind, logits_desc = logits_spec(model)
    inner = pick_inner_layers(model)

    inner_ops = {id(model.get_layer(n)): n for n in inner}

    def run_with_taps(x):
        taps = {}

        def hook(op, args, out):
            if op is last:
                taps["pre"] = args[0]
            if id(op) in inner_ops:
                taps[inner_ops[id(op)]] = out
        out = forward(model, x, hook=hook)
        pre = taps["pre"]
        logits = tf.matmul(pre, last.kernel) + last.bias if kind == "dense" else pre
        return out, logits, [taps[n] for n in inner]

    # Logits std on the calibration batch (after calibration).
    out_cal, logits_cal, _ = run_with_taps(xcal)
    std_cal = tf.math.reduce_std(logits_cal, axis=1).numpy()

    # Export.
    tmp = out + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    t1 = time.time()
    model.export(tmp, format="tf_saved_model", verbose=False)
    export_s = time.time() - t1
    size_mb = dir_mb(tmp)

    # Golden vectors, one image at a time (the tape of the big models is large).
    t2 = time.time()
    xg = apply_mode(mode, rng.uniform(0, 255, size=(GOLDEN_IMAGES, h, w, c)).astype(np.float32))
    outputs = model(tf.constant(xg), training=False).numpy()
    logits, tops, gin, acts, gacts = [], [], [], [[] for _ in inner], [[] for _ in inner]
    for i in range(GOLDEN_IMAGES):
        xi = tf.constant(xg[i:i + 1])
        with tf.GradientTape() as tape:
            tape.watch(xi)
            out_i, lg, taps = run_with_taps(xi)
            top = int(tf.argmax(lg[0]).numpy())
            score = lg[0, top]
        grads = tape.gradient(score, [xi] + taps)
        if np.max(np.abs(out_i.numpy() - outputs[i:i + 1])) > 1e-5:
            raise RuntimeError("the layer-by-layer forward differs from model(x)")
        logits.append(lg.numpy())
        tops.append(top)
        gin.append(grads[0].numpy())
        for j in range(len(inner)):
            acts[j].append(taps[j].numpy())
            gacts[j].append(grads[1 + j].numpy())
    logits = np.concatenate(logits).astype(np.float32)
    softmax = tf.nn.softmax(logits).numpy()
    if np.max(np.abs(softmax - outputs)) > 1e-5:
        raise RuntimeError("softmax(logits) differs from the output by %g" % np.max(np.abs(softmax - outputs)))
    std_g = logits.std(axis=1)
    if not np.all(np.isfinite(logits)) or not np.all(np.isfinite(outputs)):
        raise RuntimeError("NaN or Inf in the logits or outputs")
    std_min = float(min(std_g.min(), std_cal.min()))
    if std_min < MIN_LOGITS_STD:
        raise RuntimeError("logits std %.3g across classes (want > %g)" % (std_min, MIN_LOGITS_STD))

    # The reloaded signature must reproduce the Keras model.
    loaded = tf.saved_model.load(tmp)
    sig = loaded.signatures["serving_default"]
    in_key = sorted(sig.structured_input_signature[1])[0]
    out_key = sorted(sig.structured_outputs)[0]
    got = sig(**{in_key: tf.constant(xg)})[out_key].numpy()
    sig_diff = float(np.max(np.abs(got - outputs)))
    if sig_diff > 1e-4:
        raise RuntimeError("exported signature differs from the Keras model by %g" % sig_diff)
    del loaded, sig

    gdir = os.path.join(tmp, "golden")
    os.makedirs(gdir)
    np.save(os.path.join(gdir, "inputs.npy"), xg.astype(np.float32))
    np.save(os.path.join(gdir, "outputs.npy"), outputs.astype(np.float32))
    np.save(os.path.join(gdir, "logits.npy"), logits)
    np.save(os.path.join(gdir, "top.npy"), np.array(tops, np.int32))
    np.save(os.path.join(gdir, "labels.npy"), np.array(tops, np.int32))  # random weights: no true labels
    np.save(os.path.join(gdir, "grad_input.npy"), np.concatenate(gin).astype(np.float32))
    for j, n in enumerate(inner):
        np.save(os.path.join(gdir, "layer_%s.npy" % n), np.concatenate(acts[j]).astype(np.float32))
        np.save(os.path.join(gdir, "grad_layer_%s.npy" % n), np.concatenate(gacts[j]).astype(np.float32))
    golden_s = time.time() - t2
    golden_mb = dir_mb(gdir)

    nested = []
    layers, _ = layer_entries(model, nested=nested)
    total = int(model.count_params())
    top_sum = sum(e["params"] for e in layers if "/" not in e["name"])
    m = MODES[mode]
    pre = {"grayscale": False, "resize": [int(h), int(w)], "scale": m["scale"], "offset": m["offset"]}
    if m["mean"] is not None:
        pre["mean"] = m["mean"]
    if m["std"] is not None:
        pre["std"] = m["std"]
    pre["formula"] = "%s (%s.preprocess_input)" % (m["formula"], modname)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    card = {
        "name": snake(kname),
        "description": "keras.applications.%s, random weights (seed %d), BatchNormalization statistics from one "
                       "random batch, %d classes, softmax output" % (kname, seed, N_CLASSES),
        "framework": "keras %s, tensorflow %s" % (keras.__version__, tf.__version__),
        "classes": ["class %d" % i for i in range(N_CLASSES)],
        "input": {"signature_key": in_key, "shape": [-1, int(h), int(w), int(c)], "dtype": "float32",
                  "range": mode_range(mode), "color": m["color"]},
        "output": {"signature_key": out_key, "shape": [-1, N_CLASSES], "kind": "probabilities"},
        "preprocessing": pre,
        "accuracy": {},
        "seed": seed,
        "training": {
            "epochs": 0, "from": "random initialisation (weights=None, keras seed %d)" % seed,
            "bn_calibration": ("%d BatchNormalization layers: moving mean/variance = batch statistics of their "
                               "input on %d random images, in forward order" % (n_bn, CALIBRATION_BATCH)
                               if n_bn else "none (no BatchNormalization layers; random initialisation kept)"),
            "logits_std": round(std_min, 4),
            "build_seconds": round(build_s, 1), "export_seconds": round(export_s, 1),
            "golden_seconds": round(golden_s, 1),
            "size_mb": round(size_mb, 1), "golden_mb": round(golden_mb, 1),
            "peak_rss_mb": round(peak_mb),
            "signature_max_abs_diff": sig_diff,
        },
        "logits": logits_desc,
        "total_params": total,
        "layers": layers,
        "golden": {
            "images": {"split": "uniform random pixels in [0,255], preprocessed; numpy seed %d after the "
                                "calibration batch" % seed, "indices": list(range(GOLDEN_IMAGES))},
            "inner_layers": inner,
            "gradient": "d logit[top] / d input and / d inner layer outputs, tf.GradientTape, inference mode",
        },
    }
    with open(os.path.join(tmp, "card.yaml"), "w") as f:
        yaml.safe_dump(card, f, sort_keys=False, width=120)
    shutil.rmtree(out, ignore_errors=True)
    os.rename(tmp, out)
    dupl = sorted({e["name"] for e in layers if [x["name"] for x in layers].count(e["name"]) > 1})
    return {
        "name": kname, "dir": snake(kname), "status": "ok", "input": [int(h), int(w), int(c)],
        "preprocess": mode, "probe_input_shape": probe_shape,
        "build_seconds": round(build_s, 1), "export_seconds": round(export_s, 1), "golden_seconds": round(golden_s, 1),
        "size_mb": round(size_mb, 1), "golden_mb": round(golden_mb, 1), "peak_rss_mb": round(peak_mb),
        "logits_std": round(std_min, 4), "logits_std_golden": [round(float(s), 4) for s in std_g],
        "logits_std_calibration": [round(float(s), 4) for s in std_cal],
        "logits": logits_desc, "inner_layers": inner, "nested": nested, "bn_layers": n_bn,
        "summary_rows": len(layers), "total_params": total, "top_level_params_sum": top_sum,
        "non_layer_ops": [o.name + " (" + o.__class__.__module__ + "." + o.__class__.__name__ + ")"
                          for o in summary_ops(model) if not isinstance(o, keras.layers.Layer)],
        "custom_layers": sorted({type(l).__module__ + "." + type(l).__name__ for l in model._flatten_layers()
                                 if not type(l).__module__.startswith("keras.src.layers")
                                 and not isinstance(l, keras.Model)}),
        "duplicate_names": dupl, "signature_max_abs_diff": sig_diff, "top": tops,
        "output_max": [round(float(v), 4) for v in outputs.max(axis=1)],
    }


def child_main(args):
    kname = args.models[0]
    out = os.path.join(args.out, snake(kname))
    try:
        res = build_child(kname, out, args.seed)
    except BaseException as e:  # noqa: BLE001 - reported to the parent, which continues
        import traceback
        traceback.print_exc()
        res = {"name": kname, "dir": snake(kname), "status": "failed", "reason": "%s: %s" % (type(e).__name__, e),
               "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
        shutil.rmtree(out + ".tmp", ignore_errors=True)
    print("RESULT " + json.dumps(res), flush=True)
    return 0 if res["status"] == "ok" else 1


# ---------------------------------------------------------------- parent

def rss_mb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def run_child(kname, args):
    cmd = [sys.executable, os.path.abspath(__file__), "--child", "--out", args.out, "--seed", str(args.seed), kname]
    t0 = time.time()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(p.stdout), daemon=True)
    reader.start()
    peak, killed = 0.0, None
    limit = args.max_rss_gb * 1024
    while p.poll() is None:
        r = rss_mb(p.pid)
        peak = max(peak, r)
        if r > limit:
            killed = "resident memory %.1f GB over the %.0f GB limit (%.0f s in)" % (r / 1024, args.max_rss_gb,
                                                                                    time.time() - t0)
            p.kill()
            p.wait()
            break
        time.sleep(0.5)
    reader.join(timeout=10)
    res = None
    for line in lines:
        if line.startswith("RESULT "):
            res = json.loads(line[len("RESULT "):])
    if killed:
        res = {"name": kname, "dir": snake(kname), "status": "skipped", "reason": killed}
        shutil.rmtree(os.path.join(args.out, snake(kname) + ".tmp"), ignore_errors=True)
    elif res is None:
        res = {"name": kname, "dir": snake(kname), "status": "failed",
               "reason": "child exited with code %s and no result (killed by the kernel?)" % p.returncode}
        shutil.rmtree(os.path.join(args.out, snake(kname) + ".tmp"), ignore_errors=True)
    res["wall_seconds"] = round(time.time() - t0, 1)
    res["watched_peak_rss_mb"] = round(peak)
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="*", help="Keras or folder names (default: every application)")
    ap.add_argument("--force", action="store_true", help="rebuild models that exist")
    ap.add_argument("--list", action="store_true", help="print the architectures and their input sizes, and exit")
    ap.add_argument("--out", default=os.path.join(HERE, "applications"))
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--max-rss-gb", type=float, default=18.0, help="kill and skip a model whose build needs more")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.out = os.path.abspath(args.out)
    if args.child:
        sys.exit(child_main(args))

    apps = applications()
    if args.list:
        for k in apps:
            s = DEFAULT_SIZE.get(k)
            print("%-20s %-22s %s" % (k, snake(k), "%dx%d" % (s, s) if s else "? (the model's default)"))
        return
    by_dir = {snake(k): k for k in apps}
    wanted = []
    for m in args.models or list(apps):
        k = m if m in apps else by_dir.get(m)
        if k is None:
            ap.error("unknown model %s; known: %s" % (m, ", ".join(apps)))
        wanted.append(k)
    os.makedirs(args.out, exist_ok=True)
    log = os.path.join(args.out, "build_log.jsonl")
    done = {}
    for k in wanted:
        out = os.path.join(args.out, snake(k))
        if os.path.exists(os.path.join(out, "card.yaml")) and not args.force:
            print("%s: exists (use --force to rebuild)" % snake(k), flush=True)
            done[k] = "exists"
            continue
        res = run_child(k, args)
        res["time"] = time.strftime("%Y-%m-%dT%H:%M:%S")
        with open(log, "a") as f:
            f.write(json.dumps(res) + "\n")
        done[k] = res["status"]
        if res["status"] == "ok":
            print("%-22s %dx%d  build %6.1f s  export %6.1f s  golden %6.1f s  %7.1f MB  logits std %.3g  "
                  "peak RSS %.1f GB" % (res["dir"], res["input"][0], res["input"][1], res["build_seconds"],
                                        res["export_seconds"], res["golden_seconds"], res["size_mb"],
                                        res["logits_std"], res["peak_rss_mb"] / 1024), flush=True)
        else:
            print("%-22s %s: %s" % (res["dir"], res["status"].upper(), res["reason"]), flush=True)
    missing = [k for k in wanted if done.get(k) not in ("ok", "exists")]
    if missing:
        raise SystemExit("not built: %s (see %s)" % (", ".join(missing), log))


if __name__ == "__main__":
    main()
