#!/usr/bin/env python3
"""The models a user brings that the zoo never had, built on demand (random
weights, fixed seeds) into savedmodels/edge/<name>/ (git-ignored; `make
edge-models`), each exported the way users export it (Keras 3
`model.export(path)`, `tf.saved_model.save` for the tf.Module), with

    golden/      inputs.npy [N,H,W,C] float32, top.npy (the class of each image:
                 the i-th largest logit of image i, so image 0 takes its predicted
                 class and the rows take different classes), labels.npy (the
                 predicted classes), logits.npy, outputs.npy (the exported
                 signature's output on inputs.npy), grad_input.npy (d logit[top] / d input,
                 tf.GradientTape on the Keras model in inference mode, where the
                 logit is the pre-softmax / pre-sigmoid score) and, where the
                 case is about a ReLU-family activation, guided_input.npy
    case.yaml    what the case is: the dtypes on the path, the expected outcome
                 in tfgraph, and the ops that matter, each verified to be in the
                 SavedModel's graph or its function library (with the dtypes
                 it runs in), plus every op type the SavedModel holds

tfgraph/edge_test.go holds one table row per model.

    mixed_f16_branches  one Conv2D branch in float32 and one in mixed_float16 of the
                        same float32 image, merged in float32
    mixed_f16           the whole model under the mixed_float16 global policy
                        (Conv, BatchNorm, ReLU, pooling, Dense), softmax in float32
    mixed_bf16          the same under mixed_bfloat16
    float64             float64 layers behind a float32 input (Keras casts it)
    float64_input       float64 layers and a float64 signature input
    float16_input       a float16 signature input into float32 layers
    two_outputs         output_0 an auxiliary 3-class head, output_1 the main 10-class
                        head; a golden for each, and a card naming output_1
    rescaling_input     Rescaling(1/255) first: pixels in 0..255
    normalization_input Rescaling(1/255) then Normalization (ImageNet mean and
                        variance), as EfficientNet
    sigmoid_head        a 5-label multi-label head: Dense, then sigmoid
    log_softmax_head    Dense, then log_softmax (log-probabilities, as PyTorch models return)
    log_of_softmax_head Dense, softmax, then log: the same in two ops
    log_of_softmax_cast_head  the same with a cast to float64 between the softmax and the log
    live_augmentation   RandomFlip and RandomRotation in a nested Sequential: Keras 3
                        exports them live (two calls on one image differ)
    prelu               Conv2D, PReLU (per-channel alpha 0.1..0.4), Conv2D, ReLU, Dense
    tf_module_relu      a plain tf.Module with two ReLUs and no name scopes
    lstm_unroll         LSTM(unroll=True) over the 28 rows of a 28x28 image
    gru_loop            GRU (unroll=False): a While loop
    gelu_tanh           keras.ops.gelu(approximate=True): the op Pow
    lrn                 tf.nn.local_response_normalization: the op LRN
    dilated_conv        Conv2D and DepthwiseConv2D with dilation_rate=2: Keras emits
                        SpaceToBatchND / BatchToSpaceND around them
    uint8_input         a uint8 signature input, cast to float32 in the model and
                        divided by 255; the gradient is d logit / d float32(x)

Usage: build_edge.py [--out DIR] [names...]   (all cases: well under 2 minutes on 2 cores)
"""
import argparse
import os
import shutil
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402
import yaml  # noqa: E402
from keras import layers as L  # noqa: E402
from tensorflow.core.protobuf import saved_model_pb2  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
N = 3  # golden images per case

F32 = {"outcome": "equal", "tolerance": "float32: max|got - golden| <= 1e-5 * max|golden|"}
F16 = {"outcome": "equal", "tolerance": "float16: max|got - golden| <= 1e-2 * max|golden| and Pearson >= 0.999 "
                                        "(20 float16 unit roundoffs 2^-11; the golden is 3e-4..6e-4 of its max from "
                                        "the float32 gradient, see dtype_noise)"}
BF16 = {"outcome": "equal", "tolerance": "bfloat16: ||got - golden|| <= 0.3 * ||golden|| and Pearson >= 0.95 "
                                         "(bfloat16 keeps 8 significant bits; TensorFlow's own bfloat16 backward "
                                         "lands 10-16% (L2) from the float32 gradient here, see dtype_noise, so two "
                                         "faithful bfloat16 computations may differ by twice that)"}

# ---------------------------------------------------------------- helpers

def seed(n):
    keras.utils.set_random_seed(n)
    return np.random.default_rng(n)


def graph_ops(path):
    """{op type: set of dtypes} over the SavedModel's graph and every function
    of its library. The dtype of a node is its T (or dtype, or Tparams) attr;
    a Cast's is "SrcT->DstT"."""
    sm = saved_model_pb2.SavedModel()
    with open(os.path.join(path, "saved_model.pb"), "rb") as f:
        sm.ParseFromString(f.read())
    nodes = []
    for mg in sm.meta_graphs:
        nodes += list(mg.graph_def.node)
        for fn in mg.graph_def.library.function:
            nodes += list(fn.node_def)
    name = lambda t: tf.dtypes.as_dtype(t).name
    ops = {}
    for n in nodes:
        a = n.attr
        if n.op == "Cast":
            dt = "%s->%s" % (name(a["SrcT"].type), name(a["DstT"].type))
        elif "T" in a and a["T"].type:
            dt = name(a["T"].type)
        elif "dtype" in a and a["dtype"].type:
            dt = name(a["dtype"].type)
        else:
            dt = ""
        ops.setdefault(n.op, set())
        if dt:
            ops[n.op].add(dt)
    return ops


def verify_ops(path, required):
    """Checks that every required op ("Op" or "Op:dtype") is in the SavedModel
    and returns {op: [dtypes]} for the ops that matter, and the sorted list of
    every op type."""
    ops = graph_ops(path)
    missing = []
    for r in required:
        op, _, dt = r.partition(":")
        if op not in ops or (dt and dt not in ops[op]):
            missing.append(r)
    if missing:
        raise SystemExit("build_edge: %s: ops %s are not in the SavedModel (it has %s)" % (
            path, missing, {k: sorted(v) for k, v in sorted(ops.items())}))
    matter = {}
    for r in required:
        op = r.partition(":")[0]
        matter[op] = sorted(ops[op])
    return matter, sorted(ops)


def randomize_biases(model):
    """Gives every bias random values, the same on every call (Keras
    initialises them to zero, which leaves the pre-activations of dark image
    areas at zero, where a ReLU's mask is decided by rounding)."""
    rng = np.random.default_rng(len(model.name))
    for l in model._flatten_layers(include_self=False):
        b = getattr(l, "bias", None)
        if b is not None:
            b.assign(rng.normal(0, 0.1, tuple(b.shape)).astype(b.dtype))


def export_keras(model, path):
    """model.export(path), after randomize_biases."""
    randomize_biases(model)
    shutil.rmtree(path, ignore_errors=True)
    model.export(path, format="tf_saved_model", verbose=False)


def signature(path, key="serving_default"):
    return tf.saved_model.load(path).signatures[key]


def tape(fn, x, dtype=tf.float32, top=None):
    """(logits, top, d logit[top] / d x) by tf.GradientTape, x fed as dtype."""
    xt = tf.cast(tf.constant(x), dtype)
    with tf.GradientTape() as t:
        t.watch(xt)
        logits = fn(xt)
        if top is None:
            top = classes(tf.cast(logits, tf.float32).numpy())
        score = tf.reduce_sum(tf.gather(logits, top, axis=1, batch_dims=1))
    g = t.gradient(score, xt)
    return tf.cast(logits, tf.float32).numpy(), top, tf.cast(g, tf.float32).numpy()


def classes(logits):
    """The class of each golden image: the i-th largest logit of image i, so
    that image 0 takes its predicted class and the rows take different classes
    (a random network tends to predict one class for every image)."""
    ranks = np.argsort(-logits, axis=1, kind="stable")
    return ranks[np.arange(len(logits)), np.arange(len(logits)) % logits.shape[1]].astype(np.int32)


def relative(a, b):
    """How far a is from b: max|a - b| / max|b|, ||a - b|| / ||b|| and Pearson's r."""
    a, b = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
    return {"max_abs_diff_over_max": float(np.abs(a - b).max() / np.abs(b).max()),
            "l2_diff_over_l2": float(np.linalg.norm(a - b) / np.linalg.norm(b)),
            "pearson": float(np.corrcoef(a, b)[0, 1])}


def write_golden(path, x, logits, top, grad, outputs, suffix="", **extra):
    g = os.path.join(path, "golden")
    os.makedirs(g, exist_ok=True)
    save = lambda name, v, dt=np.float32: np.save(os.path.join(g, name + suffix + ".npy"), np.asarray(v).astype(dt))
    if not suffix:
        save("inputs", x)
    save("top", top, np.int32)
    save("labels", np.argmax(logits, axis=1), np.int32)
    save("logits", logits)
    save("outputs", outputs)
    if grad is not None:
        save("grad_input", grad)
    for k, v in extra.items():
        save(k, v)


def write_case(path, case):
    case = dict(case)
    case["built_with"] = "tensorflow %s, keras %s" % (tf.__version__, keras.__version__)
    with open(os.path.join(path, "case.yaml"), "w") as f:
        yaml.safe_dump(case, f, sort_keys=False, width=110, default_flow_style=None)


def trunk(x, k=10, conv=(8, 16)):
    """conv1, relu1, pool, conv2, relu2, gap, Dense 'logits' (pre-softmax)."""
    x = L.Conv2D(conv[0], 3, padding="same", name="conv1")(x)
    x = L.ReLU(name="relu1")(x)
    x = L.MaxPooling2D(name="pool")(x)
    x = L.Conv2D(conv[1], 3, padding="same", name="conv2")(x)
    x = L.ReLU(name="relu2")(x)
    x = L.GlobalAveragePooling2D(name="gap")(x)
    return L.Dense(k, name="logits")(x)


def keras_case(path, model, x, required, case, logit_layer="logits", in_dtype=tf.float32, probe=None,
               signature_tol=1e-5, extra=None, export=None):
    """Exports model (export_keras, or export(model, path)), verifies the ops, writes the goldens (tape on the logit
    layer's output, inference mode) and case.yaml; returns the golden arrays."""
    (export or export_keras)(model, path)
    matter, every = verify_ops(path, required)
    if probe is None:
        probe = keras.Model(model.inputs, model.get_layer(logit_layer).output)
    logits, top, grad = tape(lambda t: probe(t, training=False), x, in_dtype)
    sig = signature(path)
    outs = sig(tf.cast(tf.constant(x), in_dtype))
    key = sorted(outs)[0]
    out = tf.cast(outs[key], tf.float32).numpy()
    keras_out = tf.cast(model(tf.cast(tf.constant(x), in_dtype), training=False), tf.float32).numpy()
    d = float(np.abs(out - keras_out).max())
    if d > signature_tol * max(1.0, float(np.abs(keras_out).max())):
        raise SystemExit("build_edge: %s: the exported signature differs from the Keras model by %g" % (path, d))
    write_golden(path, x, logits, top, grad, out, **(extra or {}))
    case = dict(case)
    case.setdefault("signature", {})
    case["signature"] = {"input": describe(sig.structured_input_signature[1]),
                         "outputs": describe(sig.structured_outputs), **case["signature"]}
    case["ops"] = matter
    case["signature_vs_keras_max_abs"] = d
    case["golden"] = {"images": N, "top": top.tolist(),
                      "gradient": "d logit[top] / d input, tf.GradientTape on the Keras model, training=False; top[i] "
                                  "is the i-th largest logit of image i",
                      **case.get("golden", {})}
    case["graph_ops"] = every
    write_case(path, case)
    return x, logits, top, grad


def describe(specs):
    return {k: "%s%s" % (v.dtype.name, [-1 if d is None else int(d) for d in v.shape]) for k, v in sorted(specs.items())}


def images(rng, shape, lo=0.0, hi=1.0):
    """N random images in [lo, hi), each with its own gamma and channel gains."""
    u = rng.uniform(0, 1, (N,) + tuple(shape))
    gamma = rng.uniform(0.5, 2, (N, 1, 1, 1))
    gain = rng.uniform(0.5, 1, (N, 1, 1, shape[-1]))
    return (lo + (hi - lo) * gain * u ** gamma).astype(np.float32)


def randomize_bn(model, rng):
    """Non-trivial moving statistics and affine parameters for every BatchNormalization."""
    for l in model.layers:
        if isinstance(l, L.BatchNormalization):
            gamma, beta, mean, var = l.get_weights()
            l.set_weights([rng.uniform(0.5, 1.5, gamma.shape), rng.normal(0, 0.1, beta.shape),
                           rng.normal(0, 0.2, mean.shape), rng.uniform(0.5, 2, var.shape)])


def dtype_noise(path, twin, weights, x, top, grad):
    """The tape gradient of twin (the same architecture in float32) under the
    model's weights (golden/grad_input_float32.npy), against the low-precision
    golden: what the dtype alone changes. Recorded in case.yaml to justify the
    test's tolerance."""
    twin.set_weights([np.asarray(w, np.float32) for w in weights])
    probe = keras.Model(twin.inputs, twin.get_layer("logits").output)
    _, _, g32 = tape(lambda t: probe(t, training=False), x, top=top)
    np.save(os.path.join(path, "golden", "grad_input_float32.npy"), g32.astype(np.float32))
    return dict(relative(grad, g32), note="grad_input.npy against grad_input_float32.npy, the tape gradient of the "
                                          "same weights in float32")


# ---------------------------------------------------------------- cases

def mixed_f16_branches(path):
    rng = seed(1)

    def build(f16="mixed_float16"):
        inp = keras.Input((16, 16, 3), name="image")
        a = L.Conv2D(8, 3, padding="same", activation="relu", dtype="float32", name="conv_f32")(inp)
        b = L.Conv2D(8, 3, padding="same", activation="relu", dtype=f16, name="conv_f16")(inp)
        m = L.Concatenate(dtype="float32", name="merge")([a, b])
        m = L.Conv2D(8, 3, padding="same", activation="relu", name="conv_merged")(m)
        m = L.GlobalAveragePooling2D(name="gap")(m)
        out = L.Activation("softmax", name="probs")(L.Dense(10, name="logits")(m))
        return keras.Model(inp, out, name="mixed_f16_branches")
    model = build()
    x = images(rng, (16, 16, 3))
    _, _, top, grad = keras_case(path, model, x, ["Conv2D:float16", "Conv2D:float32", "Relu:float16", "Cast",
                                                  "ConcatV2:float32", "Softmax:float32"], {
        "name": "mixed_f16_branches",
        "description": "a float32 image into two Conv2D+ReLU branches, conv_f32 (dtype float32) and conv_f16 "
                       "(dtype policy mixed_float16: float16 compute, float32 variables), concatenated in float32 "
                       "(Keras casts the float16 branch), Conv2D, GAP, Dense 'logits', softmax",
        "path_dtypes": ["float32", "float16"],
        "expect": F16,
    }, signature_tol=1e-3)
    add_to_case(path, {"dtype_noise": dtype_noise(path, build("float32"), model.get_weights(), x, top, grad)})


def _mixed(path, policy, name, dt, expect, seed_n, softmax_dtype="float32"):
    rng = seed(seed_n)
    keras.mixed_precision.set_global_policy(policy)
    try:
        def build():
            inp = keras.Input((16, 16, 3), name="image")
            x = L.Conv2D(8, 3, padding="same", use_bias=False, name="conv1")(inp)
            x = L.BatchNormalization(name="bn1")(x)
            x = L.ReLU(name="relu1")(x)
            x = L.MaxPooling2D(name="pool")(x)
            x = L.Conv2D(16, 3, padding="same", use_bias=False, name="conv2")(x)
            x = L.BatchNormalization(name="bn2")(x)
            x = L.ReLU(name="relu2")(x)
            x = L.GlobalAveragePooling2D(name="gap")(x)
            x = L.Dense(10, name="logits")(x)
            out = L.Activation("softmax", dtype=softmax_dtype, name="probs")(x)
            return keras.Model(inp, out, name=name)
        model = build()
        randomize_bn(model, rng)
        x = images(rng, (16, 16, 3))
        last = ("Activation('softmax', dtype='float32') as Keras' mixed-precision guide says" if softmax_dtype
                else "Activation('softmax') left in %s, against the guide: the signature's output is %s" % (dt, dt))
        _, _, top, grad = keras_case(path, model, x, ["Conv2D:" + dt, "Relu:" + dt, "MaxPool:" + dt,
                                                      "MatMul:" + dt, "Cast:float32->" + dt,
                                                      "Softmax:" + (softmax_dtype or dt)], {
            "name": name,
            "description": "keras.mixed_precision.set_global_policy(%r): Conv2D, BatchNormalization, ReLU, "
                           "MaxPooling2D, Conv2D, BatchNormalization, ReLU, GAP, Dense 'logits' in %s; %s"
                           % (policy, dt, last),
            "path_dtypes": ["float32", dt],
            "expect": expect,
        }, signature_tol=1e-2)
        weights = model.get_weights()
    finally:
        keras.mixed_precision.set_global_policy("float32")
    add_to_case(path, {"dtype_noise": dtype_noise(path, build(), weights, x, top, grad)})


def add_to_case(path, extra):
    with open(os.path.join(path, "case.yaml")) as f:
        case = yaml.safe_load(f)
    graph = case.pop("graph_ops", None)
    built = case.pop("built_with", None)
    case.update(extra)
    if graph is not None:
        case["graph_ops"] = graph
    with open(os.path.join(path, "case.yaml"), "w") as f:
        case["built_with"] = built
        yaml.safe_dump(case, f, sort_keys=False, width=110, default_flow_style=None)


def mixed_f16(path):
    _mixed(path, "mixed_float16", "mixed_f16", "float16", F16, 2)


def mixed_f16_softmax16(path):
    # The softmax in float16 too: the logits must still be found behind it
    # (through the cast of the float16 output), never the probabilities.
    _mixed(path, "mixed_float16", "mixed_f16_softmax16", "float16", F16, 21, softmax_dtype=None)


def mixed_bf16(path):
    # TensorFlow 2.18's CPU kernels run every op of this model and its
    # tf.GradientTape in bfloat16 (checked here: the golden is computed), so
    # the expected outcome is equality within bfloat16 precision.
    _mixed(path, "mixed_bfloat16", "mixed_bf16", "bfloat16", BF16, 3)


def _float64_model(name, input_dtype):
    """Every layer float64 behind a keras.Input of input_dtype."""
    inp = keras.Input((16, 16, 3), dtype=input_dtype, name="image")
    x = L.Conv2D(8, 3, padding="same", activation="relu", dtype="float64", name="conv1")(inp)
    x = L.MaxPooling2D(dtype="float64", name="pool")(x)
    x = L.Conv2D(16, 3, padding="same", activation="relu", dtype="float64", name="conv2")(x)
    x = L.GlobalAveragePooling2D(dtype="float64", name="gap")(x)
    x = L.Dense(10, dtype="float64", name="logits")(x)
    out = L.Activation("softmax", dtype="float64", name="probs")(x)
    return keras.Model(inp, out, name=name)


def float64(path):
    rng = seed(4)
    model = _float64_model("float64", "float32")
    keras_case(path, model, images(rng, (16, 16, 3)), ["Cast:float32->float64", "Conv2D:float64", "MatMul:float64",
                                                        "Softmax:float64"], {
        "name": "float64",
        "description": "a float32 image input; every layer dtype='float64' (Keras casts the input to float64 in "
                       "conv1); the output (softmax) is float64",
        "path_dtypes": ["float32", "float64"],
        "expect": F32,
    })


def float64_input(path):
    rng = seed(5)
    model = _float64_model("float64_input", "float64")
    keras_case(path, model, images(rng, (16, 16, 3)), ["Placeholder:float64", "Conv2D:float64", "MatMul:float64",
                                                        "Softmax:float64"], {
        "name": "float64_input",
        "description": "keras.Input(dtype='float64'): the signature's input is float64, every layer float64",
        "path_dtypes": ["float64"],
        "expect": F32,
    }, in_dtype=tf.float64)


def float16_input(path):
    rng = seed(6)

    def build(dtype="float16"):
        inp = keras.Input((16, 16, 3), dtype=dtype, name="image")
        return keras.Model(inp, L.Activation("softmax", name="probs")(trunk(inp)), name="float16_input")
    model = build()
    # the golden inputs are float16 values, so feeding them as float32 loses nothing
    x = images(rng, (16, 16, 3)).astype(np.float16).astype(np.float32)
    _, _, top, grad = keras_case(path, model, x, ["Placeholder:float16", "Cast:float16->float32", "Conv2D:float32"], {
        "name": "float16_input",
        "description": "keras.Input(dtype='float16') into float32 layers (conv1 casts the input to float32): the "
                       "signature's input is float16; the gradient on it is rounded to float16 (the Cast's "
                       "gradient), hence the float16 tolerance",
        "path_dtypes": ["float16", "float32"],
        "expect": F16,
        "golden": {"inputs": "float16 values stored as float32"},
    }, in_dtype=tf.float16)
    add_to_case(path, {"dtype_noise": dtype_noise(path, build("float32"), model.get_weights(), x, top, grad)})


def two_outputs(path):
    rng = seed(7)
    inp = keras.Input((16, 16, 3), name="image")
    x = L.Conv2D(8, 3, padding="same", activation="relu", name="conv1")(inp)
    x = L.MaxPooling2D(name="pool")(x)
    a = L.GlobalAveragePooling2D(name="aux_gap")(x)
    aux = L.Activation("softmax", name="aux_probs")(L.Dense(3, name="aux_logits")(a))
    y = L.Conv2D(16, 3, padding="same", activation="relu", name="conv2")(x)
    y = L.GlobalAveragePooling2D(name="gap")(y)
    main = L.Activation("softmax", name="probs")(L.Dense(10, name="logits")(y))
    model = keras.Model(inp, [aux, main], name="two_outputs")
    x_img = images(rng, (16, 16, 3))
    export_keras(model, path)
    matter, every = verify_ops(path, ["Softmax", "MatMul", "Conv2D"])
    sig = signature(path)
    outs = {k: v.numpy() for k, v in sig(tf.constant(x_img)).items()}
    if sorted(outs) != ["output_0", "output_1"]:
        raise SystemExit("build_edge: %s: model.export gave outputs %s" % (path, sorted(outs)))
    keras_aux, keras_main = [t.numpy() for t in model(x_img, training=False)]
    d = max(float(np.abs(outs["output_0"] - keras_aux).max()), float(np.abs(outs["output_1"] - keras_main).max()))
    if d > 1e-5:
        raise SystemExit("build_edge: %s: signature differs from Keras by %g" % (path, d))
    golden = {}
    for key, layer, suffix in [("output_0", "aux_logits", ""), ("output_1", "logits", "_output_1")]:
        probe = keras.Model(model.inputs, model.get_layer(layer).output)
        logits, top, grad = tape(lambda t: probe(t, training=False), x_img)
        write_golden(path, x_img, logits, top, grad, outs[key], suffix=suffix)
        golden[key] = {"files": "golden/{top,logits,outputs,grad_input}%s.npy" % suffix, "logit_layer": layer,
                       "classes": int(logits.shape[1]), "top": top.tolist()}
    write_case(path, {
        "name": "two_outputs",
        "description": "two heads of different layers: output_0 auxiliary (conv1, GAP, Dense(3) 'aux_logits', "
                       "softmax), output_1 main (conv1, conv2, GAP, Dense(10) 'logits', softmax); card.yaml names "
                       "output_1 (output.signature_key)",
        "path_dtypes": ["float32"],
        "expect": dict(F32, note="output_0 by default; output_1 when selected by its signature key"),
        "signature": {"input": describe(sig.structured_input_signature[1]), "outputs": describe(sig.structured_outputs),
                      "output_keys": "model.export names the outputs of a list-output model output_0, output_1 "
                                     "in the order of keras.Model(outputs=[aux, main])"},
        "ops": matter,
        "signature_vs_keras_max_abs": d,
        "golden": dict(golden, images=N, gradient="d logit[top] / d input per head, tf.GradientTape, training=False"),
        "graph_ops": every,
    })
    card = {
        "name": "two_outputs", "description": "edge case: two heads; the main one is output_1",
        "framework": "keras %s, tensorflow %s" % (keras.__version__, tf.__version__),
        "classes": ["class %d" % i for i in range(10)],
        "input": {"signature_key": "image", "shape": [-1, 16, 16, 3], "dtype": "float32", "range": [0.0, 1.0],
                  "color": "rgb"},
        "output": {"signature_key": "output_1", "shape": [-1, 10], "kind": "probabilities"},
        "seed": 7,
        "golden": {"images": {"source": "uniform random in [0, 1)"},
                   "gradient": "d logit[top] / d input of output_1: golden/grad_input_output_1.npy"},
    }
    with open(os.path.join(path, "card.yaml"), "w") as f:
        yaml.safe_dump(card, f, sort_keys=False, width=110)


def rescaling_input(path):
    rng = seed(8)
    inp = keras.Input((16, 16, 3), name="image")
    x = L.Rescaling(1 / 255, name="rescaling")(inp)
    out = L.Activation("softmax", name="probs")(trunk(x))
    model = keras.Model(inp, out, name="rescaling_input")
    keras_case(path, model, np.round(images(rng, (16, 16, 3), 0, 255)), ["Mul", "Conv2D"], {
        "name": "rescaling_input",
        "description": "Rescaling(1/255) as the first layer (as MobileNetV3 and EfficientNet): the model takes "
                       "pixels in 0..255; the golden inputs are integers in 0..255 stored as float32",
        "path_dtypes": ["float32"],
        "expect": F32,
        "golden": {"inputs": "integers in [0, 255] as float32"},
    })


def resize_rescaling_input(path):
    rng = seed(22)
    inp = keras.Input((24, 24, 3), name="image")
    x = L.Resizing(16, 16, name="resizing")(inp)
    x = L.Rescaling(1 / 255, name="rescaling")(x)
    out = L.Activation("softmax", name="probs")(trunk(x))
    model = keras.Model(inp, out, name="resize_rescaling_input")
    keras_case(path, model, np.round(images(rng, (24, 24, 3), 0, 255)), ["ResizeBilinear", "Mul", "Conv2D"], {
        "name": "resize_rescaling_input",
        "description": "Resizing(16, 16) then Rescaling(1/255) at the input: preprocessing inside the model, "
                       "pixels in 0..255; the input map is found behind the resize",
        "path_dtypes": ["float32"],
        "expect": F32,
        "golden": {"inputs": "integers in [0, 255] as float32"},
    })


def normalization_input(path):
    rng = seed(9)
    inp = keras.Input((16, 16, 3), name="image")
    x = L.Rescaling(1 / 255, name="rescaling")(inp)
    x = L.Normalization(mean=[0.485, 0.456, 0.406], variance=[0.229 ** 2, 0.224 ** 2, 0.225 ** 2],
                        name="normalization")(x)
    out = L.Activation("softmax", name="probs")(trunk(x))
    model = keras.Model(inp, out, name="normalization_input")
    keras_case(path, model, np.round(images(rng, (16, 16, 3), 0, 255)), ["Mul", "Sub", "RealDiv", "Sqrt",
                                                                          "Maximum", "Conv2D"], {
        "name": "normalization_input",
        "description": "Rescaling(1/255) then Normalization(ImageNet mean and variance), as EfficientNet: "
                       "pixels in 0..255",
        "path_dtypes": ["float32"],
        "expect": F32,
        "golden": {"inputs": "integers in [0, 255] as float32"},
    })


def head_case(path, n, name, head, required, description, note, k=10):
    """A 16x16 trunk() whose Dense 'logits' goes through head (a function of the Keras tensor): the engine
    must take the score behind the head's activation. Seeded with n."""
    rng = seed(n)
    inp = keras.Input((16, 16, 3), name="image")
    model = keras.Model(inp, head(trunk(inp, k=k)), name=name)
    keras_case(path, model, images(rng, (16, 16, 3)), required, {
        "name": name, "description": description, "path_dtypes": ["float32"], "expect": dict(F32, note=note)})


def sigmoid_head(path):
    head_case(path, 10, "sigmoid_head", L.Activation("sigmoid", name="probs"), ["Sigmoid", "MatMul"],
              "a multi-label head: Dense(5) 'logits' then Activation('sigmoid'); the logit is the pre-sigmoid score",
              "the engine must take the score behind the Sigmoid, as it does behind a Softmax", k=5)


def log_softmax_head(path):
    head_case(path, 24, "log_softmax_head", L.Activation("log_softmax", name="log_probs"), ["LogSoftmax", "MatMul"],
              "Dense(10) 'logits' then Activation('log_softmax'), as PyTorch classifiers often end: the outputs are "
              "log-probabilities and the logit is the score before the LogSoftmax",
              "the engine must take the score behind the LogSoftmax, as it does behind a Softmax")


def log_of_softmax_head(path):
    def head(z):
        return L.Lambda(lambda p: keras.ops.log(p), name="log")(L.Activation("softmax", name="probs")(z))
    head_case(path, 25, "log_of_softmax_head", head, ["Log", "Softmax"],
              "Dense(10) 'logits', Activation('softmax'), then the log of it (torch.log(F.softmax(z)) converted): "
              "log-probabilities in two ops; the logit is the score before the Softmax",
              "the engine must take the score behind the Log of the Softmax")


def log_of_softmax_cast_head(path):
    def head(z):
        p = L.Activation("softmax", name="probs")(z)
        return L.Lambda(lambda q: keras.ops.log(keras.ops.cast(q, "float64")), name="log")(p)
    head_case(path, 26, "log_of_softmax_cast_head", head, ["Log", "Cast", "Softmax"],
              "Dense(10) 'logits', Activation('softmax'), then the log of it cast to float64: log-probabilities in "
              "two ops with a cast between; the logit is the score before the Softmax",
              "the engine must take the score behind the Log, through the Cast, of the Softmax")


def live_augmentation(path):
    """Keras 3's random image layers default to training=True in call();
    model.export traces model.__call__ without a training argument, so the
    augmentation stays live in the serving signature (model.predict passes
    training=False and is deterministic)."""
    rng = seed(11)
    augment = keras.Sequential([L.RandomFlip("horizontal", name="random_flip"),
                                L.RandomRotation(0.1, name="random_rotation")], name="augment")
    inp = keras.Input((16, 16, 3), name="image")
    x = augment(inp)
    out = L.Activation("softmax", name="probs")(trunk(x))
    model = keras.Model(inp, out, name="live_augmentation")
    x_img = images(rng, (16, 16, 3))
    export_keras(model, path)
    random_ops = ["StatelessRandomUniformV2", "StatelessRandomGetKeyCounter", "ImageProjectiveTransformV3",
                  "ReverseV2", "AssignVariableOp"]
    matter, every = verify_ops(path, random_ops)
    loaded = tf.saved_model.load(path)  # kept: the signature uses its variables
    sig = loaded.signatures["serving_default"]
    # The first call of a freshly loaded signature reads the saved seed
    # states, as the flat graph (which freezes them) does: its gradient of
    # the probability of each image's class, by tf.GradientTape, is the
    # golden of the fixed draw.
    xt = tf.constant(x_img)
    with tf.GradientTape() as tp:
        tp.watch(xt)
        first = sig(xt)["output_0"]
        first_top = classes(first.numpy())
        p_score = tf.reduce_sum(tf.gather(first, first_top, axis=1, batch_dims=1))
    first_grad = tp.gradient(p_score, xt).numpy()
    calls = [first.numpy()] + [sig(tf.constant(x_img))["output_0"].numpy() for _ in range(3)]
    diff = max(float(np.abs(c - calls[0]).max()) for c in calls[1:])
    if diff == 0:
        raise SystemExit("build_edge: %s: four calls of the signature gave the same output" % path)
    p1, p2 = model.predict(x_img, verbose=0), model.predict(x_img, verbose=0)
    if np.abs(p1 - p2).max() != 0:
        raise SystemExit("build_edge: %s: model.predict is not deterministic" % path)
    probe = keras.Model(model.inputs, model.get_layer("logits").output)
    logits, top, grad = tape(lambda t: probe(t, training=False), x_img)
    write_golden(path, x_img, logits, top, None, p1, outputs_call1=calls[0], outputs_call2=calls[1])
    np.save(os.path.join(path, "golden", "top_first_call.npy"), np.asarray(first_top, np.int32))
    np.save(os.path.join(path, "golden", "grad_probability_first_call.npy"), first_grad.astype(np.float32))
    write_case(path, {
        "name": "live_augmentation",
        "description": "augment = Sequential([RandomFlip('horizontal'), RandomRotation(0.1)]) as the first block of "
                       "a functional model, the Keras tutorials' pattern, no training argument anywhere; "
                       "model.export(path)",
        "how": "Keras 3's image preprocessing layers declare call(data, training=True); model.export traces "
               "model.__call__ with no training argument, so the default (True) holds and the augmentation is "
               "live in serving_default. model.predict passes training=False and is deterministic. The seed is "
               "a SeedGenerator state variable that every call advances (AssignVariableOp) and feeds to "
               "StatelessRandomGetKeyCounter / StatelessRandomUniformV2",
        "path_dtypes": ["float32"],
        "expect": {"outcome": "warned",
                   "warning": "name a random op (StatelessRandomUniformV2), its layer (augment/random_flip or "
                              "augment/random_rotation) and that it is random at inference; the flat graph "
                              "freezes the seed variables (and drops their updates) and explains one fixed "
                              "draw: that of the first call of the freshly loaded signature"},
        "random_ops": matter,
        "signature_calls_differ_by": diff,
        "golden": {"files": "inputs.npy; outputs_call1.npy and outputs_call2.npy (two calls of the signature on the "
                            "same inputs); outputs.npy, logits.npy, top.npy: Keras in inference mode (no "
                            "augmentation); top_first_call.npy and grad_probability_first_call.npy: "
                            "d output_0[top] / d input through the first call of a freshly loaded signature "
                            "(the saved seed states), by tf.GradientTape",
                   "images": N},
        "graph_ops": every,
    })


@tf.custom_gradient
def guided_relu(x):
    def grad(dy):
        return tf.cast(x > 0, dy.dtype) * tf.nn.relu(dy)
    return tf.nn.relu(x), grad


def guided_prelu(alpha):
    alpha = tf.constant(alpha)

    @tf.custom_gradient
    def f(x):
        def grad(dy):
            return tf.where(x > 0, tf.ones_like(x), alpha * tf.ones_like(x)) * tf.nn.relu(dy)
        return tf.nn.relu(x) - alpha * tf.nn.relu(-x), grad
    return f


def prelu(path):
    rng = seed(12)
    inp = keras.Input((16, 16, 3), name="image")
    x = L.Conv2D(8, 3, padding="same", name="conv1")(inp)
    x = L.PReLU(shared_axes=[1, 2], name="prelu")(x)
    x = L.MaxPooling2D(name="pool")(x)
    x = L.Conv2D(16, 3, padding="same", name="conv2")(x)
    x = L.ReLU(name="relu")(x)
    x = L.GlobalAveragePooling2D(name="gap")(x)
    out = L.Activation("softmax", name="probs")(L.Dense(10, name="logits")(x))
    model = keras.Model(inp, out, name="prelu")
    pl = model.get_layer("prelu")
    alpha = np.linspace(0.1, 0.4, 8, dtype=np.float32).reshape(1, 1, 8)
    pl.set_weights([alpha])
    randomize_biases(model)
    x_img = images(rng, (16, 16, 3))
    g = model.get_layer

    def twin(t):
        """The model with every ReLU-family activation under the guided rule."""
        h = guided_prelu(alpha)(g("conv1")(t))
        h = guided_relu(g("conv2")(g("pool")(h)))
        return g("logits")(g("gap")(h))
    _, top, _ = tape(lambda t: keras.Model(model.inputs, g("logits").output)(t, training=False), x_img)
    lg_twin, _, guided = tape(twin, x_img, top=top)
    keras_case(path, model, x_img, ["Relu", "Neg", "Mul", "AddV2"], {
        "name": "prelu",
        "description": "Conv2D, PReLU(shared_axes=[1, 2]) with alpha per channel 0.1..0.4, MaxPooling2D, Conv2D, "
                       "ReLU, GAP, Dense 'logits', softmax. Keras 3 lowers PReLU to relu(x) + (-alpha) * relu(-x): "
                       "two Relu ops, Neg (of the input and of alpha), Mul and AddV2, no op of its own",
        "path_dtypes": ["float32"],
        "expect": dict(F32, guided="guided_input.npy: every ReLU-family activation back-propagates "
                                   "f'(x) * relu(dy); PReLU f'(x) = 1 (x > 0) or alpha (x < 0), ReLU 1[x > 0]"),
        "golden": {"guided": "guided_input.npy by tf.custom_gradient replacements of PReLU and ReLU in a twin of "
                             "the model (same layers and weights)"},
    }, extra={"guided_input": guided})
    lg = np.load(os.path.join(path, "golden", "logits.npy"))
    if np.abs(lg - lg_twin).max() > 1e-5:
        raise SystemExit("build_edge: %s: the guided twin's logits differ from the model's" % path)


class ModuleReLU(tf.Module):
    """A plain tf.Module: two convolutions with ReLUs, global average pooling,
    a dense layer; no name scopes, no Keras."""

    def __init__(self):
        super().__init__()
        r = np.random.default_rng(13)
        v = lambda shape, s=0.3: tf.Variable(r.normal(0, s, shape).astype(np.float32))
        self.k1, self.b1 = v((3, 3, 3, 8)), v((8,), 0.1)
        self.k2, self.b2 = v((3, 3, 8, 8)), v((8,), 0.1)
        self.w, self.b = v((8, 10)), v((10,), 0.1)

    @tf.function(input_signature=[tf.TensorSpec([None, 16, 16, 3], tf.float32, name="image")])
    def serve(self, image):
        return {"logits": self.logits(image)}

    def logits(self, x, relu=tf.nn.relu):
        x = relu(tf.nn.conv2d(x, self.k1, 1, "SAME") + self.b1)
        x = relu(tf.nn.conv2d(x, self.k2, 1, "SAME") + self.b2)
        return tf.matmul(tf.reduce_mean(x, axis=[1, 2]), self.w) + self.b


def tf_module_relu(path):
    rng = seed(13)
    m = ModuleReLU()
    shutil.rmtree(path, ignore_errors=True)
    tf.saved_model.save(m, path, signatures={"serving_default": m.serve})
    matter, every = verify_ops(path, ["Relu", "Conv2D", "MatMul"])
    x = images(rng, (16, 16, 3))
    logits, top, grad = tape(m.logits, x)
    _, _, guided = tape(lambda t: m.logits(t, relu=guided_relu), x, top=top)
    sig = signature(path)
    out = sig(tf.constant(x))["logits"].numpy()
    d = float(np.abs(out - logits).max())
    write_golden(path, x, logits, top, grad, out, guided_input=guided)
    write_case(path, {
        "name": "tf_module_relu",
        "description": "a plain tf.Module (no Keras, no name scopes): conv, ReLU, conv, ReLU, mean, matmul; "
                       "tf.saved_model.save with an explicit serving signature (output key 'logits')",
        "path_dtypes": ["float32"],
        "expect": dict(F32, guided="guided_input.npy: ReLU back-propagates 1[x > 0] * relu(dy)"),
        "signature": {"input": describe(sig.structured_input_signature[1]), "outputs": describe(sig.structured_outputs)},
        "ops": matter,
        "signature_vs_module_max_abs": d,
        "golden": {"images": N, "top": top.tolist(), "gradient": "d logits[top] / d input, tf.GradientTape",
                   "guided": "guided_input.npy: the same module with tf.custom_gradient ReLUs"},
        "graph_ops": every,
    })


def _rnn(path, name, seed_n, cell, required, case):
    rng = seed(seed_n)
    inp = keras.Input((28, 28, 1), name="image")
    x = L.Reshape((28, 28), name="rows")(inp)
    x = cell(x)
    out = L.Activation("softmax", name="probs")(L.Dense(10, name="logits")(x))
    model = keras.Model(inp, out, name=name)
    keras_case(path, model, images(rng, (28, 28, 1)), required, case)


def lstm_unroll(path):
    _rnn(path, "lstm_unroll", 14, lambda x: L.LSTM(16, unroll=True, name="lstm")(x),
         ["MatMul", "Sigmoid", "Tanh", "Unpack"], {
             "name": "lstm_unroll",
             "description": "28x28 grayscale read as 28 steps of 28 values (Reshape), LSTM(16, unroll=True), "
                            "Dense 'logits', softmax: 28 unrolled steps, no loop op",
             "path_dtypes": ["float32"],
             "expect": F32,
         })
    if "While" in graph_ops(path) or "StatelessWhile" in graph_ops(path):
        raise SystemExit("build_edge: %s: LSTM(unroll=True) left a loop in the graph" % path)


def gru_loop(path):
    _rnn(path, "gru_loop", 15, lambda x: L.GRU(16, name="gru")(x), ["While", "MatMul", "Sigmoid", "Tanh"], {
        "name": "gru_loop",
        "description": "28x28 grayscale as 28 steps of 28 values, GRU(16) (unroll=False, the default), Dense "
                       "'logits', softmax: the recurrence is a While loop whose body and condition are functions",
        "path_dtypes": ["float32"],
        "expect": {"outcome": "refused",
                   "refusal": "the forward (signature and flat graph) runs; the gradient is refused naming the op "
                              "While, the layer gru, and suggesting unroll=True",
                   "golden_gradient": "grad_input.npy is written anyway (tape differentiates the loop)"},
    })


def gelu_tanh(path):
    rng = seed(16)
    inp = keras.Input((16, 16, 3), name="image")
    gelu = lambda n: L.Lambda(lambda t: keras.ops.gelu(t, approximate=True), name=n)
    x = gelu("gelu1")(L.Conv2D(8, 3, padding="same", name="conv1")(inp))
    x = L.MaxPooling2D(name="pool")(x)
    x = gelu("gelu2")(L.Conv2D(16, 3, padding="same", name="conv2")(x))
    x = L.GlobalAveragePooling2D(name="gap")(x)
    x = gelu("gelu3")(L.Dense(16, name="dense")(x))
    out = L.Activation("softmax", name="probs")(L.Dense(10, name="logits")(x))
    model = keras.Model(inp, out, name="gelu_tanh")
    keras_case(path, model, images(rng, (16, 16, 3)), ["Pow", "Tanh", "Conv2D", "MatMul"], {
        "name": "gelu_tanh",
        "description": "Conv2D, keras.ops.gelu(approximate=True), pool, Conv2D, gelu, GAP, Dense, gelu, Dense "
                       "'logits', softmax; the tanh approximation computes x**3 with the op Pow",
        "path_dtypes": ["float32"],
        "expect": F32,
    })


def lrn(path):
    rng = seed(17)
    inp = keras.Input((16, 16, 3), name="image")
    x = L.ReLU(name="relu1")(L.Conv2D(8, 3, padding="same", name="conv1")(inp))
    x = L.Lambda(lambda t: tf.nn.local_response_normalization(t, depth_radius=2, bias=1.0, alpha=0.5, beta=0.75),
                 name="lrn")(x)
    x = L.MaxPooling2D(name="pool")(x)
    x = L.ReLU(name="relu2")(L.Conv2D(16, 3, padding="same", name="conv2")(x))
    x = L.GlobalAveragePooling2D(name="gap")(x)
    out = L.Activation("softmax", name="probs")(L.Dense(10, name="logits")(x))
    model = keras.Model(inp, out, name="lrn")
    keras_case(path, model, images(rng, (16, 16, 3)), ["LRN", "Conv2D"], {
        "name": "lrn",
        "description": "Conv2D, ReLU, Lambda(tf.nn.local_response_normalization(depth_radius=2, bias=1, "
                       "alpha=0.5, beta=0.75)) (the op LRN, as AlexNet), pool, Conv2D, ReLU, GAP, Dense, softmax",
        "path_dtypes": ["float32"],
        "expect": F32,
    })


def dilated_conv(path):
    rng = seed(18)
    inp = keras.Input((16, 16, 3), name="image")
    x = L.Conv2D(8, 3, dilation_rate=2, padding="same", activation="relu", name="conv_dilated")(inp)
    x = L.DepthwiseConv2D(3, dilation_rate=2, padding="valid", activation="relu", name="dw_dilated")(x)
    x = L.Conv2D(16, 3, dilation_rate=(2, 3), padding="valid", activation="relu", name="conv_dilated_valid")(x)
    x = L.GlobalAveragePooling2D(name="gap")(x)
    out = L.Activation("softmax", name="probs")(L.Dense(10, name="logits")(x))
    model = keras.Model(inp, out, name="dilated_conv")
    keras_case(path, model, images(rng, (16, 16, 3)), ["SpaceToBatchND", "BatchToSpaceND", "Conv2D",
                                                        "DepthwiseConv2dNative"], {
        "name": "dilated_conv",
        "description": "Keras Conv2D(dilation_rate=2, 'same'), DepthwiseConv2D(dilation_rate=2, 'valid') and "
                       "Conv2D(dilation_rate=(2, 3), 'valid'): Keras 3 calls tf.nn.convolution / "
                       "depthwise_conv2d, which in TensorFlow 2.18 wrap an undilated convolution in "
                       "SpaceToBatchND / BatchToSpaceND",
        "path_dtypes": ["float32"],
        "expect": F32,
    })


def uint8_input(path):
    rng = seed(19)
    body_in = keras.Input((16, 16, 3), name="pixels")
    body = keras.Model(body_in, trunk(L.Rescaling(1 / 255, name="rescaling")(body_in)), name="body")
    inp = keras.Input((16, 16, 3), dtype="uint8", name="image")
    x = keras.ops.cast(inp, "float32")
    out = L.Activation("softmax", name="probs")(body(x))
    model = keras.Model(inp, out, name="uint8_input")
    x = rng.integers(0, 256, (N, 16, 16, 3)).astype(np.float32)
    probe = keras.Model(body.inputs, body.get_layer("logits").output)
    export_keras(model, path)
    matter, every = verify_ops(path, ["Placeholder", "Cast:uint8->float32", "Mul", "Conv2D"])
    logits, top, grad = tape(lambda t: probe(t, training=False), x)
    sig = signature(path)
    out = sig(tf.constant(x.astype(np.uint8)))["output_0"].numpy()
    keras_out = model(tf.constant(x.astype(np.uint8)), training=False).numpy()
    d = float(np.abs(out - keras_out).max())
    write_golden(path, x, logits, top, grad, out)
    write_case(path, {
        "name": "uint8_input",
        "description": "keras.Input(dtype='uint8'), keras.ops.cast(x, 'float32'), then a nested model 'body': "
                       "Rescaling(1/255), conv1, relu1, pool, conv2, relu2, GAP, Dense 'logits'; softmax",
        "path_dtypes": ["uint8", "float32"],
        "expect": dict(F32, note="the gradient is with respect to the float image after the cast: d logit / d "
                                 "float32(x); the golden inputs are integers 0..255 stored as float32"),
        "signature": {"input": describe(sig.structured_input_signature[1]), "outputs": describe(sig.structured_outputs)},
        "ops": matter,
        "signature_vs_keras_max_abs": d,
        "golden": {"images": N, "top": top.tolist(),
                   "gradient": "d logit[top] / d float32(x), tf.GradientTape on the model after the cast"},
        "graph_ops": every,
    })


def vit_grid(path):
    from build_zoo import ClassToken, PositionEmbedding, TakeToken
    rng = seed(23)
    inp = keras.Input((64, 64, 3), name="image")
    x = L.Conv2D(24, 16, strides=16, name="patch_embed")(inp)
    x = L.Reshape((16, 24), name="patches")(x)
    x = ClassToken(name="cls_token")(x)
    x = PositionEmbedding(name="pos_embed")(x)
    y = L.LayerNormalization(epsilon=1e-6, name="block1_ln1")(x)
    y = L.MultiHeadAttention(2, 12, name="block1_attn")(y, y)
    x = L.Add(name="block1_add1")([x, y])
    y = L.LayerNormalization(epsilon=1e-6, name="block1_ln2")(x)
    y = L.Dense(48, activation="gelu", name="block1_mlp1")(y)
    y = L.Dense(24, name="block1_mlp2")(y)
    x = L.Add(name="block1_out")([x, y])
    x = L.LayerNormalization(epsilon=1e-6, name="final_ln")(x)
    x = TakeToken(name="cls")(x)
    out = L.Dense(5, name="logits")(x)
    model = keras.Model(inp, out, name="vit_grid")
    for w in model.get_layer("cls_token").weights:
        w.assign(rng.normal(0, 0.5, tuple(w.shape)).astype("float32"))
    keras_case(path, model, images(rng, (64, 64, 3)), ["Softmax", "Reshape"], {
        "name": "vit_grid",
        "description": "a one-block vision transformer on 64x64 images: 16x16 patches (a 4x4 grid), a class token: "
                       "17 tokens, a count that also fits 3x3 patches after 8 leading tokens; the patch grid is "
                       "read from the patch embedding's reshape (Flat.PatchGrid)",
        "path_dtypes": ["float32"],
        "expect": dict(F32, note="the default CAM layer is block1_ln1 on a 4x4+1 grid"),
    })


def _channel_axis_golden(path):
    """The goldens of a model whose input has no channel axis, [N,H,W], as saliency feeds and differentiates it:
    inputs and gradient [N,H,W,1] (the same values)."""
    g = os.path.join(path, "golden")
    for name in ("inputs", "grad_input"):
        f = os.path.join(g, name + ".npy")
        np.save(f, np.load(f)[..., None])


def no_channel_axis(path):
    rng = seed(23)
    inp = keras.Input((16, 16), name="image")
    x = L.Rescaling(1 / 255, name="rescaling")(inp)
    x = L.Reshape((16, 16, 1), name="channel")(x)
    out = L.Activation("softmax", name="probs")(trunk(x))
    model = keras.Model(inp, out, name="no_channel_axis")
    keras_case(path, model, np.round(images(rng, (16, 16, 1), 0, 255)[..., 0]), ["Mul", "Reshape", "Conv2D"], {
        "name": "no_channel_axis",
        "description": "keras.Input((16, 16)): a grayscale image batch without a channel axis, then Rescaling(1/255), "
                       "Reshape to (16, 16, 1) and the trunk; saliency feeds and differentiates it as [N,16,16,1] "
                       "(the goldens have that axis; the golden inputs are integers in 0..255 stored as float32)",
        "path_dtypes": ["float32"],
        "expect": F32,
        "golden": {"inputs": "integers in [0, 255] as float32, [N,16,16,1]"},
    })
    _channel_axis_golden(path)


def no_channel_axis_mlp(path):
    rng = seed(24)
    inp = keras.Input((16, 16), name="image")
    x = L.Flatten(name="flatten")(inp)
    x = L.Dense(32, activation="relu", name="hidden")(x)
    model = keras.Model(inp, L.Dense(10, name="logits")(x), name="no_channel_axis_mlp")
    keras_case(path, model, images(rng, (16, 16, 1))[..., 0], ["Reshape", "MatMul"], {
        "name": "no_channel_axis_mlp",
        "description": "TensorFlow's Fashion-MNIST tutorial model: Flatten(input_shape=(16, 16)), Dense relu, Dense "
                       "logits; the input has no channel axis and is fed and differentiated as [N,16,16,1]",
        "path_dtypes": ["float32"],
        "expect": F32,
        "golden": {"inputs": "[N,16,16,1]"},
    })
    _channel_axis_golden(path)


def channels_first(path):
    """A channels-first model (Conv2D data_format='channels_first', input (1, 16, 16)): saliency refuses it by
    name at load, so it has no goldens."""
    seed(25)
    inp = keras.Input((1, 16, 16), name="image")
    x = L.Conv2D(8, 3, activation="relu", data_format="channels_first", name="conv1")(inp)
    x = L.GlobalAveragePooling2D(data_format="channels_first", name="gap")(x)
    model = keras.Model(inp, L.Dense(10, name="logits")(x), name="channels_first")
    export_keras(model, path)
    sig = signature(path)
    write_case(path, {"name": "channels_first", "description": channels_first.__doc__,
                      "expect": {"outcome": "refused at load: input has 16 channels, looks channels-first"},
                      "signature": {"input": describe(sig.structured_input_signature[1]),
                                    "outputs": describe(sig.structured_outputs)}})


def percent_softmax_head(path):
    rng = seed(26)
    inp = keras.Input((16, 16, 3), name="image")
    p = L.Activation("softmax", name="probs")(trunk(inp))
    model = keras.Model(inp, L.Rescaling(100.0, name="percent")(p), name="percent_softmax_head")
    keras_case(path, model, images(rng, (16, 16, 3)), ["Softmax", "Mul"], {
        "name": "percent_softmax_head",
        "description": "a softmax in percent: Softmax, then Rescaling(100) (Mul, AddV2 by scalar constants); the "
                       "logits are the Softmax's input, and the probabilities its output, not the model's",
        "path_dtypes": ["float32"],
        "expect": F32,
    })


def clipped_log_softmax_head(path):
    rng = seed(27)
    inp = keras.Input((16, 16, 3), name="image")
    p = L.Activation("softmax", name="probs")(trunk(inp))
    out = L.Lambda(lambda t: tf.math.log(tf.clip_by_value(t, 1e-7, 1.0)), name="log_clip")(p)
    model = keras.Model(inp, out, name="clipped_log_softmax_head")
    keras_case(path, model, images(rng, (16, 16, 3)), ["Softmax", "Minimum", "Maximum", "Log"], {
        "name": "clipped_log_softmax_head",
        "description": "log(clip(softmax(z), 1e-7, 1)): a log_softmax guarded against log 0; the logits are the "
                       "Softmax's input",
        "path_dtypes": ["float32"],
        "expect": F32,
    })


def _binary_probe(model, z_layer="logits"):
    """The two classes saliency makes of a binary classifier's one logit z: class 0 (the negative class) scores
    −z, class 1 scores z, as tf-keras-vis' BinaryScore and pytorch-grad-cam's BinaryClassifierOutputTarget do."""
    inner = keras.Model(model.inputs, model.get_layer(z_layer).output)
    return lambda t, training=False: tf.concat([-inner(t, training=training), inner(t, training=training)], 1)


def binary_logit(path):
    """A binary classifier that leaves its sigmoid to the loss (Dense(1) 'logits', trained with
    BinaryCrossentropy(from_logits=True) as Keras' binary classification tutorials do): one logit z, whose
    probability is its sigmoid (a softmax over one column is 1 for every image). saliency gives it two classes, 0
    (score −z, probability 1 − σ(z)) and 1 (z, σ(z)), as Keras' binary labels."""
    rng = seed(28)
    inp = keras.Input((16, 16, 3), name="image")
    model = keras.Model(inp, trunk(inp, k=1), name="binary_logit")
    keras_case(path, model, images(rng, (16, 16, 3)), ["MatMul"], {
        "name": "binary_logit", "description": binary_logit.__doc__, "path_dtypes": ["float32"],
        "expect": dict(F32, note="the golden logits are (−z, z): class 0's score is −z; predict, faithfulness and ROAD "
                                 "take their sigmoids as the probabilities (Flat.Head sigmoid without a Sigmoid op)")},
        probe=_binary_probe(model))


def binary_sigmoid(path):
    """The binary classifier of Keras' tutorials: Dense(1) 'logits' then a sigmoid 'prob' (Dense(1,
    activation='sigmoid')), its output the probability σ(z) of the positive class. saliency explains the logit z
    behind it as two classes, 0 (−z) and 1 (z); a probability target explains 1 − σ(z) for class 0 and σ(z) for
    class 1 (golden grad_prob). Before, the one column was 'class 0' and printed σ(z) as its probability."""
    rng = seed(40)
    inp = keras.Input((16, 16, 3), name="image")
    model = keras.Model(inp, L.Activation("sigmoid", name="prob")(trunk(inp, k=1)), name="binary_sigmoid")
    x = images(rng, (16, 16, 3))
    randomize_biases(model)  # as export_keras will, before the probability's gradient
    probe = _binary_probe(model)
    _, top, _ = tape(probe, x)
    inner = keras.Model(model.inputs, model.get_layer("logits").output)
    _, _, grad_prob = tape(lambda t: tf.sigmoid(tf.concat([-inner(t), inner(t)], 1)), x, top=top)
    keras_case(path, model, x, ["MatMul", "Sigmoid"], {
        "name": "binary_sigmoid", "description": binary_sigmoid.__doc__, "path_dtypes": ["float32"],
        "expect": dict(F32, note="the golden logits are (−z, z) of the Sigmoid's input z; grad_prob is d p[top] / d "
                                 "input with p = (1 − σ(z), σ(z))")},
        probe=probe, extra={"grad_prob": grad_prob})


def softmax_one_column(path):
    """Dense(1, activation='softmax'), a binary classifier's known slip: the output is 1 for every image, whatever
    the input. saliency refuses it by name at load, so it has no goldens."""
    rng = seed(29)
    inp = keras.Input((16, 16, 3), name="image")
    model = keras.Model(inp, L.Activation("softmax", name="probs")(trunk(inp, k=1)), name="softmax_one_column")
    export_keras(model, path)
    out = signature(path)(tf.constant(images(rng, (16, 16, 3))))["output_0"].numpy()
    if not np.all(out == 1):
        raise SystemExit("build_edge: %s: a softmax over one column gave %s, not 1" % (path, out.ravel()))
    write_case(path, {"name": "softmax_one_column", "description": softmax_one_column.__doc__,
                      "expect": {"outcome": "refused at load: the softmax is over one column, 1 for every image"},
                      "outputs": out.ravel().tolist()})


def _batch_case(path, name, model, required, description, refusal):
    """Exports a model whose output for one image depends on the others of its batch, checks that it does (image
    0's output alone and beside another image differ), and writes case.yaml (refused: no goldens)."""
    rng = seed(30)
    x = images(rng, (16, 16, 3))
    if isinstance(model, tf.Module) and not isinstance(model, keras.Model):
        shutil.rmtree(path, ignore_errors=True)
        tf.saved_model.save(model, path, signatures={"serving_default": model.serve})
    else:
        export_keras(model, path)
    matter, every = verify_ops(path, required)
    sig = signature(path)
    key = sorted(sig.structured_outputs)[0]
    both = sig(tf.constant(x[:2]))[key].numpy()
    other = sig(tf.constant(x[[0, 2]]))[key].numpy()
    d = float(np.abs(both[0] - other[0]).max())
    if d == 0:
        raise SystemExit("build_edge: %s: image 0's output does not depend on the image beside it" % path)
    write_case(path, {"name": name, "description": description,
                      "expect": {"outcome": "refused at load: " + refusal},
                      "image0_output_changes_with_its_neighbour_by": d, "ops": matter,
                      "signature": {"input": describe(sig.structured_input_signature[1]),
                                    "outputs": describe(sig.structured_outputs)},
                      "graph_ops": every})


def bn_training(path):
    seed(30)
    inp = keras.Input((16, 16, 3), name="image")
    x = L.Conv2D(8, 3, padding="same", name="conv1")(inp)
    x = L.BatchNormalization(name="bn")(x, training=True)
    x = L.GlobalAveragePooling2D(name="gap")(L.ReLU(name="relu1")(x))
    model = keras.Model(inp, L.Dense(10, name="logits")(x), name="bn_training")
    _batch_case(path, "bn_training", model, ["Mean", "SquaredDifference"],
                "BatchNormalization called with training=True in a functional model, then exported: it normalises "
                "with the batch's mean and variance (Mean over axes 0, 1, 2), so an image's logits depend on the "
                "images beside it", "Mean over axis 0 (the batch), layer bn")


class FusedBNTraining(tf.Module):
    """A tf.Module whose batch norm is FusedBatchNormV3 with is_training=True (a TF1-style or tf_keras graph in
    training mode)."""

    def __init__(self):
        super().__init__()
        r = np.random.default_rng(31)
        self.k = tf.Variable(r.normal(0, 0.3, (3, 3, 3, 8)).astype(np.float32))
        self.w = tf.Variable(r.normal(0, 0.3, (8, 10)).astype(np.float32))
        self.scale, self.offset = tf.Variable(tf.ones([8])), tf.Variable(tf.zeros([8]))

    @tf.function(input_signature=[tf.TensorSpec([None, 16, 16, 3], tf.float32, name="image")])
    def serve(self, x):
        y = tf.nn.conv2d(x, self.k, 1, "SAME")
        y = tf.raw_ops.FusedBatchNormV3(x=y, scale=self.scale, offset=self.offset, mean=tf.zeros([0]),
                                        variance=tf.zeros([0]), is_training=True)[0]
        return {"logits": tf.matmul(tf.reduce_mean(tf.nn.relu(y), [1, 2]), self.w)}


def fused_bn_training(path):
    _batch_case(path, "fused_bn_training", FusedBNTraining(), ["FusedBatchNormV3"],
                FusedBNTraining.__doc__, "FusedBatchNormV3 with is_training")


def softmax_over_batch(path):
    """Keras' Softmax(axis=0) after the logits, a slip for axis=-1: a softmax over the batch, which tf.nn.softmax
    computes as Transpose, Softmax, Transpose with a permutation built at run time (Range, ConcatV2). Image 0's
    output changes with its neighbour; alone, every class of every image is 100 %. saliency refuses it by name at
    load (it showed 100 % for every class, and ~51 % beside another image)."""
    inp = keras.Input((16, 16, 3), name="image")
    model = keras.Model(inp, L.Softmax(axis=0, name="softmax")(trunk(inp)), name="softmax_over_batch")
    _batch_case(path, "softmax_over_batch", model, ["Softmax", "Transpose"], softmax_over_batch.__doc__,
                "Softmax over axis 1 of [10 -1], the batch's, which a Transpose moved there (layer softmax)")


def _no_gradient_case(path, name, n, pre, required, description, refusal):
    """trunk() behind pre (a Lambda 'pre' on the input) through which tf.GradientTape's gradient is None: the
    gradient methods are refused naming the op and the layer; the forward pass equals the signature."""
    rng = seed(n)
    inp = keras.Input((16, 16, 3), name="image")
    model = keras.Model(inp, trunk(L.Lambda(pre, name="pre")(inp)), name=name)
    x = images(rng, (16, 16, 3))
    export_keras(model, path)
    matter, every = verify_ops(path, required)
    xt = tf.constant(x)
    with tf.GradientTape() as tp:
        tp.watch(xt)
        logits = model(xt, training=False)
        top = classes(logits.numpy())
        score = tf.reduce_sum(tf.gather(logits, top, axis=1, batch_dims=1))
    if tp.gradient(score, xt) is not None:
        raise SystemExit("build_edge: %s: tf.GradientTape gives a gradient" % path)
    out = signature(path)(xt)["output_0"].numpy()
    write_golden(path, x, logits.numpy(), top, None, out)
    write_case(path, {"name": name, "description": description, "path_dtypes": ["float32"],
                      "expect": {"outcome": "refused", "refusal": refusal,
                                 "golden_gradient": "none: tf.GradientTape's gradient of the logit is None"},
                      "ops": matter, "graph_ops": every})


def stop_gradient_input(path):
    _no_gradient_case(path, "stop_gradient_input", 32, lambda t: tf.stop_gradient(t), ["StopGradient"],
                      "tf.stop_gradient on the input (a preprocessing Lambda written to keep gradients out of it), "
                      "then trunk()", "the gradient is refused naming StopGradient and the layer pre; the forward "
                      "methods run")


def quantized_input(path):
    _no_gradient_case(path, "quantized_input", 33,
                      lambda t: tf.cast(tf.cast(t * 255.0, tf.uint8), tf.float32) / 255.0, ["Cast"],
                      "the input quantised to 8 bits inside the model (cast to uint8 and back), then trunk()",
                      "the gradient is refused naming the Cast from uint8 and the layer pre; the forward methods run")


def softmax_1x1_flatten(path):
    """A fully convolutional classifier: its last convolution 'logits' maps the 8x8 features to [N, 1, 1, 10], a
    softmax over them, then Flatten. The logits are the softmax's input, reshaped to [N, 10]."""
    rng = seed(34)
    inp = keras.Input((16, 16, 3), name="image")
    x = L.MaxPooling2D(name="pool")(L.ReLU(name="relu1")(L.Conv2D(8, 3, padding="same", name="conv1")(inp)))
    z = L.Conv2D(10, 8, name="logits")(x)
    model = keras.Model(inp, L.Flatten(name="flat")(L.Activation("softmax", name="probs")(z)), name="softmax_1x1_flatten")
    probe = keras.Model(inp, L.Flatten(name="flat_logits")(z))
    keras_case(path, model, images(rng, (16, 16, 3)), ["Softmax", "Reshape"], {
        "name": "softmax_1x1_flatten", "description": softmax_1x1_flatten.__doc__, "path_dtypes": ["float32"],
        "expect": dict(F32, note="Flat rewrites Reshape(Softmax(z)) as Softmax(Reshape(z)) (reshapedHeads): the "
                                 "logits are explained, where the output, probabilities, was taken for them")},
        probe=probe)


def softmax_channels(path):
    """Dense(10) 'logits', reshaped to [N, 10, 1, 1], tf.nn.softmax over axis 1 (PyTorch's softmax over the channels,
    as nobuco converts it: Transpose, Softmax, Transpose with the permutation computed at run time), then Flatten."""
    rng = seed(35)
    inp = keras.Input((16, 16, 3), name="image")
    z = L.Reshape((10, 1, 1), name="nchw")(trunk(inp))
    p = L.Lambda(lambda t: tf.nn.softmax(t, axis=1), name="softmax")(z)
    model = keras.Model(inp, L.Flatten(name="flat")(p), name="softmax_channels")
    keras_case(path, model, images(rng, (16, 16, 3)), ["Softmax", "Transpose"], {
        "name": "softmax_channels", "description": softmax_channels.__doc__, "path_dtypes": ["float32"],
        "expect": dict(F32, note="Flat rewrites the Transpose/Softmax/Transpose/Reshape chain as a softmax of the "
                                 "reshaped logits (reshapedHeads)")})


def resize_kernels(path):
    """Keras Resizing layers inside the model by bicubic (ResizeBicubic), lanczos3 and lanczos5, and bilinear with
    antialias=True (ScaleAndTranslate, whose scale comes from the input's shape), then trunk()."""
    rng = seed(36)
    inp = keras.Input((16, 16, 3), name="image")
    x = L.Resizing(24, 24, interpolation="bicubic", name="bicubic")(inp)
    x = L.Resizing(20, 20, interpolation="lanczos3", antialias=True, name="lanczos3")(x)
    x = L.Resizing(18, 18, interpolation="bilinear", antialias=True, name="bilinear_aa")(x)
    x = L.Resizing(16, 16, interpolation="lanczos5", name="lanczos5")(x)
    model = keras.Model(inp, trunk(x), name="resize_kernels")
    keras_case(path, model, images(rng, (16, 16, 3)), ["ResizeBicubic", "ScaleAndTranslate"], {
        "name": "resize_kernels", "description": resize_kernels.__doc__, "path_dtypes": ["float32"], "expect": F32})


def caffe_input(path):
    """keras.applications.resnet50.preprocess_input inside the model (caffe mode: RGB to BGR, channel by channel,
    then the ImageNet means subtracted, no scaling): the model takes pixels 0..255; the golden inputs are integers in
    0..255 stored as float32."""
    rng = seed(37)
    inp = keras.Input((16, 16, 3), name="image")
    x = keras.applications.resnet50.preprocess_input(inp)
    model = keras.Model(inp, trunk(x), name="caffe_input")
    keras_case(path, model, np.round(images(rng, (16, 16, 3), 0, 255)), ["StridedSlice", "Pack", "BiasAdd"], {
        "name": "caffe_input", "description": caffe_input.__doc__, "path_dtypes": ["float32"], "expect": F32,
        "golden": {"inputs": "integers in [0, 255] as float32"}})


def embedding_and_logits(path):
    """Two outputs and no card: an embedding (Dense(16), key 'embedding', first in key order) and the logits
    computed from it (key 'logits'). saliency refuses to pick one (the first would be explained as 16 classes);
    -output logits or the YAML key output selects the class scores."""
    rng = seed(38)
    inp = keras.Input((16, 16, 3), name="image")
    x = L.GlobalAveragePooling2D(name="gap")(L.ReLU(name="relu1")(L.Conv2D(8, 3, padding="same", name="conv1")(inp)))
    emb = L.Dense(16, name="embedding")(x)
    model = keras.Model(inp, {"embedding": emb, "logits": L.Dense(10, name="logits")(emb)}, name="embedding_and_logits")
    x_img = images(rng, (16, 16, 3))
    export_keras(model, path)
    sig = signature(path)
    outs = sig(tf.constant(x_img))
    write_case(path, {"name": "embedding_and_logits", "description": embedding_and_logits.__doc__,
                      "expect": {"outcome": "refused without -output; with -output logits, the logits"},
                      "signature": {"input": describe(sig.structured_input_signature[1]),
                                    "outputs": describe(sig.structured_outputs)},
                      "output_shapes": {k: list(v.shape) for k, v in sorted(outs.items())}})


def squeezed_logit(path):
    """A binary classifier whose one logit is squeezed to [N] (tf.squeeze(logits, -1), as training code for
    BinaryCrossentropy on labels of shape [N] often does): not a row of class scores; refused by name (run panicked,
    predict showed its softmax, 100 %)."""
    rng = seed(39)
    inp = keras.Input((16, 16, 3), name="image")
    z = L.Lambda(lambda t: tf.squeeze(t, -1), name="squeeze")(trunk(inp, k=1))
    model = keras.Model(inp, z, name="squeezed_logit")
    export_keras(model, path)
    sig = signature(path)
    out = sig(tf.constant(images(rng, (16, 16, 3))))["output_0"].numpy()
    write_case(path, {"name": "squeezed_logit", "description": squeezed_logit.__doc__,
                      "expect": {"outcome": "refused: the output is not [N, K]"},
                      "signature": {"input": describe(sig.structured_input_signature[1]),
                                    "outputs": describe(sig.structured_outputs)},
                      "output_shape": list(out.shape)})


def top_k_pooling(path):
    """Top-k pooling (the mean of each channel's 5 largest activations over the positions, tf.math.top_k, as
    multiple-instance classifiers pool) beside the 4 largest of the sorted channel means (tf.sort), then Dense
    'logits'."""
    rng = seed(41)
    inp = keras.Input((16, 16, 3), name="image")
    x = L.ReLU(name="relu1")(L.Conv2D(8, 3, padding="same", name="conv1")(inp))
    x = L.Reshape((256, 8), name="positions")(x)
    top = L.Lambda(lambda t: tf.reduce_mean(tf.math.top_k(tf.transpose(t, [0, 2, 1]), k=5).values, -1),
                   output_shape=(8,), name="topk")(x)
    srt = L.Lambda(lambda t: tf.sort(tf.reduce_mean(t, 1), axis=-1)[:, -4:], output_shape=(4,), name="sort")(x)
    model = keras.Model(inp, L.Dense(10, name="logits")(L.Concatenate(name="cat")([top, srt])), name="top_k_pooling")
    keras_case(path, model, images(rng, (16, 16, 3)), ["TopKV2"], {
        "name": "top_k_pooling", "description": top_k_pooling.__doc__, "path_dtypes": ["float32"], "expect": F32})


def softmax_ensemble(path):
    """An ensemble that averages the softmaxes of two heads (Average of Activation('softmax') 'probs_a' and
    'probs_b'): its output is made of probabilities with no logits behind it; the no-card note says so, where it called
    them logits. The gradient golden is that of the output itself."""
    rng = seed(42)
    inp = keras.Input((16, 16, 3), name="image")
    x = L.GlobalAveragePooling2D(name="gap")(L.ReLU(name="relu1")(L.Conv2D(8, 3, padding="same", name="conv1")(inp)))
    a = L.Activation("softmax", name="probs_a")(L.Dense(10, name="head_a")(x))
    b = L.Activation("softmax", name="probs_b")(L.Dense(10, name="head_b")(x))
    model = keras.Model(inp, L.Average(name="mean")([a, b]), name="softmax_ensemble")
    for h in ("head_a", "head_b"):  # probabilities far from uniform, for faithfulness to measure
        k = model.get_layer(h).kernel
        k.assign(k * 30.0)
    keras_case(path, model, images(rng, (16, 16, 3)), ["Softmax"], {
        "name": "softmax_ensemble", "description": softmax_ensemble.__doc__, "path_dtypes": ["float32"],
        "expect": F32}, probe=model)


def exp_sum_softmax(path):
    """A softmax written out of its parts, e / Σe with e = exp(z − max z) over the last axis (keras.ops.exp, max and
    sum in a Lambda 'softmax', as hand-written heads and jax2tf's softmax are), behind Dense(10) 'logits': saliency
    finds the logits z behind it, as behind Keras' softmax. Before, the output was taken for logits: predict showed
    the softmax of probabilities, faithfulness measured it, and the gradient was the probability's."""
    rng = seed(43)
    inp = keras.Input((16, 16, 3), name="image")
    z = trunk(inp)

    def softmax(t):
        e = keras.ops.exp(t - keras.ops.max(t, axis=-1, keepdims=True))
        return e / keras.ops.sum(e, axis=-1, keepdims=True)
    model = keras.Model(inp, L.Lambda(softmax, name="softmax")(z), name="exp_sum_softmax")
    keras_case(path, model, images(rng, (16, 16, 3)), ["Exp", "Max", "Sum", "RealDiv"], {
        "name": "exp_sum_softmax", "description": exp_sum_softmax.__doc__, "path_dtypes": ["float32"],
        "expect": dict(F32, note="the logits z behind the written-out softmax are explained")})


def normalized_scores(path):
    """Scores normalised to sum to 1 without a softmax, (relu(z) + 0.01) / Σ(relu(z) + 0.01) over Dense(10) 'logits'
    in a Lambda 'normalize': probabilities with no softmax in the graph to find. saliency takes them for logits (the
    gradient golden is the output's); faithfulness and ROAD refuse to measure the softmax of probabilities and say to
    write a card, with whose output.kind probabilities they measure the scores themselves."""
    rng = seed(44)
    inp = keras.Input((16, 16, 3), name="image")

    def normalize(t):
        r = keras.ops.relu(t) + 0.01
        return r / keras.ops.sum(r, axis=-1, keepdims=True)
    model = keras.Model(inp, L.Lambda(normalize, name="normalize")(trunk(inp)), name="normalized_scores")
    keras_case(path, model, images(rng, (16, 16, 3)), ["Sum", "RealDiv"], {
        "name": "normalized_scores", "description": normalized_scores.__doc__, "path_dtypes": ["float32"],
        "expect": dict(F32, note="the output is explained as it is")}, probe=model)


def patches_and_shuffle(path):
    """tf.image.extract_patches (ExtractImagePatches: 4x4 patches, strides 3, rates 2, SAME padding) into a Dense per
    patch, beside a SpaceToDepth stem (tf.nn.space_to_depth, block 2, as TResNet's) whose convolution goes back
    through DepthToSpace: refused before their rules ('no plain rule for op ExtractImagePatches')."""
    rng = seed(45)
    inp = keras.Input((16, 16, 3), name="image")
    p = L.Lambda(lambda t: tf.image.extract_patches(t, [1, 4, 4, 1], [1, 3, 3, 1], [1, 2, 2, 1], "SAME"),
                 name="patches")(inp)
    p = L.GlobalAveragePooling2D(name="patch_mean")(L.Dense(8, activation="relu", name="patch_dense")(p))
    s = L.Lambda(lambda t: tf.nn.space_to_depth(t, 2), name="s2d")(inp)
    s = L.Conv2D(12, 3, padding="same", activation="relu", name="conv")(s)
    s = L.GlobalAveragePooling2D(name="gap")(L.Lambda(lambda t: tf.nn.depth_to_space(t, 2), name="d2s")(s))
    model = keras.Model(inp, L.Dense(10, name="logits")(L.Concatenate(name="cat")([p, s])), name="patches_and_shuffle")
    keras_case(path, model, images(rng, (16, 16, 3)), ["ExtractImagePatches", "SpaceToDepth", "DepthToSpace"], {
        "name": "patches_and_shuffle", "description": patches_and_shuffle.__doc__, "path_dtypes": ["float32"],
        "expect": F32})


def math_ops(path):
    """Element-wise functions and ops the zoo lacks, on the way from the input to the logits: log, log1p,
    reciprocal, abs, expm1, erfc, sin, cos, tan, sinh, cosh, asin, acos, atan, asinh, acosh, atanh and softsign of
    the input (Lambda 'funcs'), a quantised copy (round(255·x)/255, whose gradient is None) beside them, a reflect
    and a symmetric pad (MirrorPad), a ClipByValue, tf.gather of channels, a log_softmax over the channels and a
    global min pooling (Min): refused before their rules ('no plain rule for op Log')."""
    rng = seed(46)
    inp = keras.Input((16, 16, 3), name="image")

    def funcs(t):
        c = t - 0.5
        fs = [tf.math.log(t + 1.1), tf.math.log1p(t), tf.math.reciprocal(t + 1.0), tf.abs(c), tf.math.expm1(t),
              tf.math.erfc(c), tf.sin(3 * t), tf.cos(3 * t), tf.tan(t), tf.sinh(c), tf.cosh(c), tf.asin(0.9 * c),
              tf.acos(0.9 * c), tf.atan(2 * c), tf.asinh(2 * c), tf.acosh(t + 1.5), tf.atanh(0.9 * c),
              tf.nn.softsign(2 * c), tf.round(t * 255.0) / 255.0]
        return tf.concat(fs, -1)
    x = L.Lambda(funcs, name="funcs")(inp)
    x = L.Conv2D(8, 3, name="conv1")(L.Lambda(lambda t: tf.pad(t, [[0, 0], [1, 1], [1, 1], [0, 0]], "REFLECT"),
                                              name="reflect")(x))
    # tf.clip_by_value writes Minimum and Maximum; the ClipByValue op comes from older graphs and converters
    x = L.Lambda(lambda t: tf.raw_ops.ClipByValue(t=t, clip_value_min=tf.constant(-0.3), clip_value_max=tf.constant(0.4)),
                 name="clip")(x)
    x = L.Lambda(lambda t: tf.pad(t, [[0, 0], [2, 1], [1, 2], [0, 0]], "SYMMETRIC"), name="symmetric")(x)
    x = L.Conv2D(6, 3, name="conv2")(x)
    x = L.Lambda(lambda t: tf.gather(t, [2, 0, 5, 5, 1], axis=-1), name="gather")(x)
    x = L.Lambda(lambda t: tf.nn.log_softmax(t, axis=-1), name="log_softmax")(x)
    avg = L.GlobalAveragePooling2D(name="gap")(x)
    mn = L.Lambda(lambda t: tf.reduce_min(t, axis=[1, 2]), name="min_pool")(x)
    model = keras.Model(inp, L.Dense(10, name="logits")(L.Concatenate(name="cat")([avg, mn])), name="math_ops")
    keras_case(path, model, images(rng, (16, 16, 3)), ["Log", "Log1p", "Reciprocal", "Abs", "Expm1", "Erfc", "Sin",
                                                        "Cos", "Tan", "Sinh", "Cosh", "Asin", "Acos", "Atan", "Asinh",
                                                        "Acosh", "Atanh", "Softsign", "Round", "MirrorPad",
                                                        "ClipByValue", "GatherV2", "LogSoftmax", "Min"], {
        "name": "math_ops", "description": math_ops.__doc__, "path_dtypes": ["float32"], "expect": F32})


def softmax_subset(path):
    """The probabilities of 5 of a softmax's 10 classes (Lambda 'subset', t[:, :5] after Activation('softmax')
    'probs', a model cut down to the classes a study needs): probabilities with no logits behind them that need not
    sum to 1; predict shows them as they are (it refused them), faithfulness takes them as the probabilities. The
    gradient golden is the output's."""
    rng = seed(48)
    inp = keras.Input((16, 16, 3), name="image")
    z = trunk(inp)
    z = L.Rescaling(20.0, name="sharpen")(z)  # peaked probabilities
    model = keras.Model(inp, L.Lambda(lambda t: t[:, :5], name="subset")(L.Activation("softmax", name="probs")(z)),
                        name="softmax_subset")
    keras_case(path, model, images(rng, (16, 16, 3)), ["Softmax", "StridedSlice"], {
        "name": "softmax_subset", "description": softmax_subset.__doc__, "path_dtypes": ["float32"], "expect": F32},
        probe=model)


def relu_logits(path):
    """Logits through a ReLU (Lambda 'relu_gate': relu(z - 1000·[class 3]), as a Dense(10, activation='relu') head
    has): class 3's score is 0 whatever the image, and so is every map of it; explain -class 3 warns that the maps
    are zero everywhere (they were written without a word)."""
    rng = seed(49)
    inp = keras.Input((16, 16, 3), name="image")
    shift = np.zeros((1, 10), np.float32)
    shift[0, 3] = 1000.0
    out = L.Lambda(lambda t: tf.nn.relu(t - shift), name="relu_gate")(trunk(inp))
    model = keras.Model(inp, out, name="relu_logits")
    keras_case(path, model, images(rng, (16, 16, 3)), ["Relu"], {
        "name": "relu_logits", "description": relu_logits.__doc__, "path_dtypes": ["float32"], "expect": F32},
        probe=model)


def written_relu(path):
    """ReLUs written out of other ops, which guided backprop and DeconvNet leave at the exact derivative (their rules
    replace TensorFlow's ReLU ops): keras.ops.maximum(x, 0) (Lambda 'max_relu', Maximum) and Keras 3's ReLU(threshold=0.05)
    ('thresholded', Greater and SelectV2), beside a plain ReLU ('relu'). inspect names the two among the activations
    left at the exact derivative, where it named only the ReLU it changes."""
    rng = seed(50)
    inp = keras.Input((16, 16, 3), name="image")
    x = L.Lambda(lambda t: keras.ops.maximum(t, 0.0), name="max_relu")(L.Conv2D(8, 3, padding="same", name="conv1")(inp))
    x = L.ReLU(threshold=0.05, name="thresholded")(L.Conv2D(8, 3, padding="same", name="conv2")(x))
    x = L.ReLU(name="relu")(L.Conv2D(8, 3, padding="same", name="conv3")(x))
    model = keras.Model(inp, L.Dense(10, name="logits")(L.GlobalAveragePooling2D(name="gap")(x)), name="written_relu")
    keras_case(path, model, images(rng, (16, 16, 3)), ["Maximum", "SelectV2", "Relu"], {
        "name": "written_relu", "description": written_relu.__doc__, "path_dtypes": ["float32"], "expect": F32})


def crop_and_resize(path):
    """tf.image.crop_and_resize of a fixed box, tiled over the batch (its boxes depend on the input's shape, as such
    code writes them), bilinear to 12x12 and nearest to 10x10, into trunk(): refused before its rule ('no plain rule
    for op CropAndResize')."""
    rng = seed(51)
    inp = keras.Input((16, 16, 3), name="image")
    box = tf.constant([[0.1, 0.2, 0.85, 0.9]], tf.float32)

    def crop(method, size):
        def f(t):
            n = tf.shape(t)[0]
            return tf.image.crop_and_resize(t, tf.tile(box, [n, 1]), tf.range(n), size, method=method)
        return f
    a = L.Lambda(crop("bilinear", [12, 12]), name="crop_bilinear")(inp)
    b = L.Lambda(crop("nearest", [10, 10]), name="crop_nearest")(inp)
    x = L.Concatenate(name="cat")([L.GlobalAveragePooling2D(name="gap_a")(L.Conv2D(8, 3, activation="relu", name="conv_a")(a)),
                                   L.GlobalAveragePooling2D(name="gap_b")(L.Conv2D(8, 3, activation="relu", name="conv_b")(b))])
    model = keras.Model(inp, L.Dense(10, name="logits")(x), name="crop_and_resize")
    keras_case(path, model, images(rng, (16, 16, 3)), ["CropAndResize"], {
        "name": "crop_and_resize", "description": crop_and_resize.__doc__, "path_dtypes": ["float32"], "expect": F32})


def log_input(path):
    """A model that takes the log of its input (Lambda 'log', a log-intensity preprocessing) before trunk(): a
    black pixel gives log 0 = -inf and scores that are not finite (NaN). The goldens are of images without black
    pixels; on a Fashion-MNIST image (black background) predict reports the image and explain and run refuse by name,
    where predict printed NaN% and explain failed writing index.json after writing NaN maps."""
    rng = seed(47)
    inp = keras.Input((16, 16, 3), name="image")
    model = keras.Model(inp, trunk(L.Lambda(lambda t: tf.math.log(t), name="log")(inp)), name="log_input")
    keras_case(path, model, images(rng, (16, 16, 3), lo=0.05), ["Log"], {
        "name": "log_input", "description": log_input.__doc__, "path_dtypes": ["float32"], "expect": F32})



def _shared_case(path, model, x, name, calls, forward, required, doc):
    """A model whose layers run more than once: forward(x) recomputes the model in eager mode and returns its logits
    and, by call name, the activations of the shared convolution at each call; the goldens are those activations
    and the gradients of the top class's logit (summed over the images) with respect to each, by tf.GradientTape."""
    randomize_biases(model)  # as export_keras will (the same values)
    xt = tf.constant(x)
    with tf.GradientTape() as tp:
        logits, acts = forward(xt)
        top = classes(logits.numpy())
        score = tf.reduce_sum(tf.gather(logits, top, axis=1, batch_dims=1))
    grads = tp.gradient(score, [acts[c] for c in calls])
    d = float(np.abs(logits.numpy() - model(xt, training=False).numpy()).max())
    if d > 1e-5:
        raise SystemExit("build_edge: %s: the eager recomputation differs from the model by %g" % (path, d))
    extra = {}
    for c, g in zip(calls, grads):
        extra["act_" + c], extra["grad_" + c] = acts[c].numpy(), g.numpy()
    keras_case(path, model, x, required, {
        "name": name, "description": doc, "path_dtypes": ["float32"],
        "expect": dict(F32, note="each call of a shared layer is a layer of its own (NAME#k, in the order the model "
                                 "runs them); its activation and gradient equal one call's golden"),
        "golden": {"calls": {c: "act_%s.npy, grad_%s.npy: the activation of that call, and d logit[top] / d it"
                             % (c, c) for c in calls}}}, probe=model, extra=extra)


def shared_layer_tta(path):
    """Test-time augmentation written into the model: the same layers (conv1, pool, conv2, gap, logits) run on the
    image and on its mirror image ('mirror', ReverseV2), and 'average' averages the two logits. Each shared layer
    has two outputs. saliency merged the calls under one name whose output was one call's: Grad-CAM at conv2
    explained half of the model, exit 0 (on a 28x28 copy, Pearson 0.93 with the other call's map). Now each call is a
    layer of its own (conv2#1, conv2#2), 'conv2' is refused naming them, and so is the default CAM layer."""
    rng = seed(52)
    inp = keras.Input((16, 16, 3), name="image")
    conv1 = L.Conv2D(8, 3, padding="same", activation="relu", name="conv1")
    pool = L.MaxPooling2D(name="pool")
    conv2 = L.Conv2D(16, 3, padding="same", activation="relu", name="conv2")
    gap = L.GlobalAveragePooling2D(name="gap")
    dense = L.Dense(10, name="logits")
    mirror = L.Lambda(lambda t: tf.reverse(t, [2]), name="mirror")
    model = keras.Model(inp, L.Average(name="average")([dense(gap(conv2(pool(conv1(inp))))),
                                                         dense(gap(conv2(pool(conv1(mirror(inp))))))]),
                        name="shared_layer_tta")

    def forward(t):
        a = conv2(pool(conv1(t)))
        b = conv2(pool(conv1(tf.reverse(t, [2]))))
        return (dense(gap(a)) + dense(gap(b))) / 2, {"conv2_image": a, "conv2_mirror": b}
    _shared_case(path, model, images(rng, (16, 16, 3)), "shared_layer_tta", ["conv2_image", "conv2_mirror"], forward,
                 ["ReverseV2", "Conv2D"], shared_layer_tta.__doc__)


def shared_backbone_scales(path):
    """A multi-scale network: one nested Sequential 'backbone' (conv1, conv2, gap) runs on the image and on its
    half-size copy ('half', Resizing), and 'logits' reads both features. Each of the backbone's layers has a call
    at 16x16 and one at 8x8; saliency showed one 'backbone/conv2' of 8x8, the half-size call, and Grad-CAM
    explained it alone. Now backbone#1/conv2 and backbone#2/conv2 are layers, and 'backbone/conv2' is refused
    naming them."""
    rng = seed(53)
    inp = keras.Input((16, 16, 3), name="image")
    backbone = keras.Sequential([keras.Input((None, None, 3)),
                                 L.Conv2D(8, 3, padding="same", activation="relu", name="conv1"),
                                 L.Conv2D(8, 3, padding="same", activation="relu", name="conv2"),
                                 L.GlobalAveragePooling2D(name="gap")], name="backbone")
    half = L.Resizing(8, 8, name="half")
    dense = L.Dense(10, name="logits")
    model = keras.Model(inp, dense(L.Concatenate(name="features")([backbone(inp), backbone(half(inp))])),
                        name="shared_backbone_scales")
    conv1, conv2, gap = backbone.layers

    def forward(t):
        a = conv2(conv1(t))
        b = conv2(conv1(half(t)))
        return dense(tf.concat([gap(a), gap(b)], -1)), {"conv2_full": a, "conv2_half": b}
    _shared_case(path, model, images(rng, (16, 16, 3)), "shared_backbone_scales", ["conv2_full", "conv2_half"],
                 forward, ["ResizeBilinear", "Conv2D"], shared_backbone_scales.__doc__)


def _python_saved(path, name, saver, model, x, doc):
    """Saves with saver(path), then writes goldens from the SavedModel as TensorFlow's Python loader runs it
    (tf.saved_model.load: the oracle) and checks that they equal the Keras model's; TensorFlow's session loader
    (the C API's, TF Serving's) cannot run the SavedModel, which the case verifies."""
    shutil.rmtree(path, ignore_errors=True)
    saver(path)
    matter, every = verify_ops(path, ["Conv2D", "Rsqrt"])
    loaded = tf.saved_model.load(path)  # kept: the signature refers to its variables
    sig = loaded.signatures["serving_default"]
    key = sorted(sig.structured_outputs)[0]
    logits, top, grad = tape(lambda t: sig(t)[key], x)
    d = float(np.abs(logits - model(tf.constant(x), training=False).numpy()).max())
    if d > 1e-5:
        raise SystemExit("build_edge: %s: the loaded SavedModel differs from the Keras model by %g" % (path, d))
    tf1 = "runs"
    with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
        mg = tf.compat.v1.saved_model.loader.load(sess, ["serve"], path)
        sd = mg.signature_def["serving_default"]
        try:
            sess.run(sd.outputs[key].name, {list(sd.inputs.values())[0].name: x})
        except tf.errors.FailedPreconditionError as e:
            tf1 = "fails: " + next((l for l in str(e.message).splitlines() if "variable" in l), str(e.message))[:160]
    if tf1 == "runs":
        raise SystemExit("build_edge: %s: TensorFlow's session loader runs it: not the case this tests" % path)
    write_golden(path, x, logits, top, grad, logits)
    write_case(path, {"name": name, "description": doc, "path_dtypes": ["float32"], "expect": F32,
                      "signature": {"input": describe(sig.structured_input_signature[1]),
                                    "outputs": describe(sig.structured_outputs)},
                      "ops": matter, "tensorflow_session_loader": tf1, "python_loader_vs_keras_max_abs": d,
                      "golden": {"images": N, "top": top.tolist(),
                                 "gradient": "d logit[top] / d input, tf.GradientTape on tf.saved_model.load's signature"},
                      "graph_ops": every})


def _bn_model(name, rng):
    inp = keras.Input((16, 16, 3), name="image")
    x = L.Conv2D(8, 3, padding="same", name="conv1")(inp)
    x = L.ReLU(name="relu1")(L.BatchNormalization(name="bn")(x))
    x = L.Dropout(0.3, name="drop")(L.GlobalAveragePooling2D(name="gap")(x))
    model = keras.Model(inp, L.Dense(10, name="logits")(x), name=name)
    randomize_biases(model)
    randomize_bn(model, rng)
    return model


def keras3_tf_saved_model(path):
    """A Keras 3 model (conv, batch norm, dropout) saved with tf.saved_model.save(model, path) instead of
    model.export: the functions read variable handles that the SavedModel's restore op does not fill (Keras 3 exports
    two per variable), which TensorFlow's Python loader binds through the object graph and its session loader (C API,
    TF Serving, saved_model_cli) leaves uninitialized (keras-team/keras#19274). saliency failed at the first run
    ('Could not find variable conv1/kernel'); it now restores them from the checkpoint by the object graph."""
    rng = seed(54)
    model = _bn_model("keras3_tf_saved_model", rng)
    _python_saved(path, "keras3_tf_saved_model", lambda p: tf.saved_model.save(model, p), model,
                  images(rng, (16, 16, 3)), keras3_tf_saved_model.__doc__)


class _Holder(tf.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    @tf.function(input_signature=[tf.TensorSpec([None, 16, 16, 3], tf.float32, name="image")])
    def serve(self, image):
        z = self.model(image, training=False)
        return {"logits": z, "probabilities": tf.nn.softmax(z)}


def module_held_keras(path):
    """A tf.Module that holds a Keras 3 model and serves its logits and probabilities, saved with
    tf.saved_model.save(module, path, signatures=...): the same two handles per variable as keras3_tf_saved_model,
    under the module's attribute ('model/_operations/1/...' in the checkpoint)."""
    rng = seed(55)
    model = _bn_model("module_held_keras", rng)
    holder = _Holder(model)
    _python_saved(path, "module_held_keras",
                  lambda p: tf.saved_model.save(holder, p, signatures={"serving_default": holder.serve}), model,
                  images(rng, (16, 16, 3)), module_held_keras.__doc__)
    card = {"name": "module_held_keras", "description": "edge case: a tf.Module serving a Keras 3 model's logits and "
                                                        "probabilities; the card names the logits",
            "framework": "keras %s, tensorflow %s" % (keras.__version__, tf.__version__),
            "classes": ["class %d" % i for i in range(10)],
            "input": {"signature_key": "image", "shape": [-1, 16, 16, 3], "dtype": "float32", "range": [0.0, 1.0],
                      "color": "rgb"},
            "output": {"signature_key": "logits", "shape": [-1, 10], "kind": "logits"}}
    with open(os.path.join(path, "card.yaml"), "w") as f:
        yaml.safe_dump(card, f, sort_keys=False, width=110)


def fixed_batch(path):
    """A model whose input takes exactly one image (keras.Input(batch_size=1), as TFLite-minded and jax2tf exports
    have): signature [1, 16, 16, 3]. saliency refused every run of more than one image ('input wants shape
    [1,16,16,3], got [2,16,16,3]'), so most methods failed even on one image (integrated gradients runs its steps
    as a batch). It now runs any batch in chunks of one. Its twin, fixed_batch_twin, has the same layers (the same
    weights) with a free batch: every method's maps must equal the twin's."""
    rng = seed(56)
    conv1 = L.Conv2D(8, 3, padding="same", name="conv1")
    bn = L.BatchNormalization(name="bn")
    conv2 = L.Conv2D(16, 3, padding="same", name="conv2")
    dense = L.Dense(10, name="logits")

    def net(inp, name):
        x = L.MaxPooling2D(name="pool")(L.ReLU(name="relu1")(bn(conv1(inp))))
        x = L.GlobalAveragePooling2D(name="gap")(L.ReLU(name="relu2")(conv2(x)))
        return keras.Model(inp, dense(x), name=name)
    model = net(keras.Input((16, 16, 3), batch_size=1, name="image"), "fixed_batch")
    twin = net(keras.Input((16, 16, 3), name="image"), "fixed_batch_twin")
    randomize_bn(model, rng)
    x = images(rng, (16, 16, 3))
    case = {"path_dtypes": ["float32"], "expect": F32}
    def export_fixed(m, p):  # model.export drops the batch size: an ExportArchive with a [1, ...] signature
        randomize_biases(m)
        shutil.rmtree(p, ignore_errors=True)
        archive = keras.export.ExportArchive()
        archive.track(m)
        archive.add_endpoint("serving_default", lambda t: m(t, training=False),
                             input_signature=[tf.TensorSpec([1, 16, 16, 3], tf.float32, name="image")])
        archive.write_out(p, verbose=False)
    keras_case(path, model, x, ["Conv2D"], dict(case, name="fixed_batch", description=fixed_batch.__doc__),
               probe=twin, export=export_fixed)
    if describe(signature(path).structured_input_signature[1])["image"] != "float32[1, 16, 16, 3]":
        raise SystemExit("build_edge: %s: the signature's batch is not fixed at 1" % path)
    keras_case(path + "_twin", twin, x, ["Conv2D"],
               dict(case, name="fixed_batch_twin", description="fixed_batch's layers with a free batch"), probe=twin,
               export=lambda m, p: (shutil.rmtree(p, ignore_errors=True), m.export(p, format="tf_saved_model",
                                                                                  verbose=False)))


class _BytesServer(tf.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="image_bytes")])
    def serve_bytes(self, image_bytes):
        x = tf.map_fn(lambda b: tf.cast(tf.io.decode_png(b, channels=3), tf.float32) / 255.0, image_bytes,
                      fn_output_signature=tf.float32)
        return {"logits": self.model(tf.reshape(x, [-1, 16, 16, 3]), training=False)}

    @tf.function(input_signature=[tf.TensorSpec([None, 16, 16, 3], tf.float32, name="image")])
    def serve_image(self, image):
        return {"logits": self.model(image, training=False)}


def jpeg_bytes_input(path):
    """serving_default takes encoded images (string[N], decoded inside by tf.io.decode_png, as TF Serving exports
    do) and a second signature, 'image', the decoded pixels [N,16,16,3]. Without a card saliency refused the
    string input ('not an image batch [N,H,W,C] of known size'); the refusal now names the signature that takes
    images (-signature image). The goldens are the 'image' signature's, by tf.GradientTape on tf.saved_model.load."""
    rng = seed(57)
    inp = keras.Input((16, 16, 3), name="image")
    model = keras.Model(inp, trunk(inp), name="jpeg_bytes_input")
    randomize_biases(model)
    server = _BytesServer(model)
    shutil.rmtree(path, ignore_errors=True)
    tf.saved_model.save(server, path, signatures={"serving_default": server.serve_bytes, "image": server.serve_image})
    matter, every = verify_ops(path, ["DecodePng", "Conv2D"])
    loaded = tf.saved_model.load(path)
    sig = loaded.signatures["image"]
    x = images(rng, (16, 16, 3))
    logits, top, grad = tape(lambda t: sig(image=t)["logits"], x)
    d = float(np.abs(logits - model(tf.constant(x), training=False).numpy()).max())
    write_golden(path, x, logits, top, grad, logits)
    write_case(path, {"name": "jpeg_bytes_input", "description": jpeg_bytes_input.__doc__, "path_dtypes": ["float32"],
                      "expect": dict(F32, note="the signature 'image'; serving_default is refused naming it"),
                      "signature": {"input": describe(sig.structured_input_signature[1]),
                                    "outputs": describe(sig.structured_outputs)},
                      "ops": matter, "python_loader_vs_keras_max_abs": d,
                      "golden": {"images": N, "top": top.tolist(),
                                 "gradient": "d logit[top] / d input of signature 'image', tf.GradientTape"},
                      "graph_ops": every})


def tensor_goldens(model, inp, tensors, names, x):
    """Goldens act_<name> and grad_<name>: the values of tensors (Keras tensors of model's graph) on images x and
    d logit[top] / d each (summed over the images), by tf.GradientTape, after randomize_biases (as export_keras will
    do, with the same values)."""
    randomize_biases(model)
    probe = keras.Model(inp, list(tensors) + [model.output])
    xt = tf.constant(x)
    with tf.GradientTape() as tp:
        *acts, logits = probe(xt, training=False)
        top = classes(logits.numpy())
        score = tf.reduce_sum(tf.gather(logits, top, axis=1, batch_dims=1))
    grads = tp.gradient(score, acts)
    out = {}
    for n, a, g in zip(names, acts, grads):
        out["act_" + n], out["grad_" + n] = a.numpy(), g.numpy()
    return out


class _FeaturesAndAttention(L.Layer):
    """A layer with two outputs: ReLU features [N,H,W,16] and their channel mean [N,H,W,1] (an attention map)."""

    def build(self, shape):
        self.conv = L.Conv2D(16, 3, padding="same", name="conv")
        self.conv.build(shape)

    def call(self, t):
        y = tf.nn.relu(self.conv(t))
        return y, tf.reduce_mean(y, axis=-1, keepdims=True)


def two_output_layer(path):
    """A custom layer 'attend' that returns two tensors, features [N,8,8,16] and an attention map [N,8,8,1], both
    used downstream (the features weighted by the attention, pooled, Dense). saliency took the layer's output to be
    the one the graph computes last, the attention map: Grad-CAM at 'attend' explained it, exit 0 (Pearson 0.97 with
    the features' map on a 28x28 copy). Now each output is a layer of its own (attend#out0, attend#out1, in the
    order the graph computes them); 'attend' alone is refused naming them, and so is a default CAM layer with two
    outputs. Goldens: each output's activation and d logit[top] / d it, by tf.GradientTape."""
    rng = seed(58)
    inp = keras.Input((16, 16, 3), name="image")
    x = L.MaxPooling2D(name="pool")(L.Conv2D(8, 3, padding="same", activation="relu", name="conv1")(inp))
    feats, att = _FeaturesAndAttention(name="attend")(x)
    x = L.GlobalAveragePooling2D(name="gap")(L.Multiply(name="weigh")([feats, att]))
    model = keras.Model(inp, L.Dense(10, name="logits")(x), name="two_output_layer")
    x0 = images(rng, (16, 16, 3))
    extra = tensor_goldens(model, inp, [feats, att], ["features", "attention"], x0)
    keras_case(path, model, x0, ["Conv2D", "Mean"], {
        "name": "two_output_layer", "description": two_output_layer.__doc__, "path_dtypes": ["float32"],
        "expect": dict(F32, note="each output of attend is a layer of its own; its activation and gradient equal "
                                 "that output's golden"),
        "golden": {"outputs_of_attend": "act_features.npy, grad_features.npy, act_attention.npy, grad_attention.npy"}},
        extra=extra)


def conv_transpose(path):
    """A decoder stage inside a classifier: conv, pool, Conv2DTranspose with stride 2 (Conv2DBackpropInput), ReLU,
    conv, GAP, Dense. DeepLIFT refused the transposed convolution ('no deeplift-rescale rule for op
    Conv2DBackpropInput'); as a linear op its multiplier is its gradient. LRP still refuses it by name."""
    rng = seed(59)
    inp = keras.Input((16, 16, 3), name="image")
    x = L.MaxPooling2D(name="pool")(L.Conv2D(8, 3, padding="same", activation="relu", name="conv1")(inp))
    x = L.Conv2DTranspose(8, 3, strides=2, padding="same", activation="relu", name="up")(x)
    x = L.GlobalAveragePooling2D(name="gap")(L.Conv2D(8, 3, padding="same", activation="relu", name="conv2")(x))
    model = keras.Model(inp, L.Dense(10, name="logits")(x), name="conv_transpose")
    keras_case(path, model, images(rng, (16, 16, 3)), ["Conv2DBackpropInput"], {
        "name": "conv_transpose", "description": conv_transpose.__doc__, "path_dtypes": ["float32"], "expect": F32})


def backbone_two_outputs(path):
    """A nested functional 'backbone' that returns two feature maps, [N,8,8,8] after conv1 and pooling and
    [N,4,4,16] after conv2 and pooling (as a feature-pyramid backbone returns C3 and C4), each pooled and concatenated
    before 'logits'. The nested model's output was the one the graph computes last; now each output is a layer
    (backbone#out0, backbone#out1) and 'backbone' alone is refused naming them; its own layers keep their names and
    the randomization test's steps. Goldens: each output's activation and d logit[top] / d it."""
    rng = seed(60)
    binp = keras.Input((16, 16, 3), name="image")
    c3 = L.MaxPooling2D(name="pool1")(L.Conv2D(8, 3, padding="same", activation="relu", name="conv1")(binp))
    c4 = L.MaxPooling2D(name="pool2")(L.Conv2D(16, 3, padding="same", activation="relu", name="conv2")(c3))
    backbone = keras.Model(binp, [c3, c4], name="backbone")
    inp = keras.Input((16, 16, 3), name="image")
    f3, f4 = backbone(inp)
    x = L.Concatenate(name="features")([L.GlobalAveragePooling2D(name="gap3")(f3), L.GlobalAveragePooling2D(name="gap4")(f4)])
    model = keras.Model(inp, L.Dense(10, name="logits")(x), name="backbone_two_outputs")
    x0 = images(rng, (16, 16, 3))
    extra = tensor_goldens(model, inp, [f3, f4], ["c3", "c4"], x0)
    keras_case(path, model, x0, ["Conv2D", "MaxPool"], {
        "name": "backbone_two_outputs", "description": backbone_two_outputs.__doc__, "path_dtypes": ["float32"],
        "expect": dict(F32, note="each output of backbone is a layer of its own"),
        "golden": {"outputs_of_backbone": "act_c3.npy, grad_c3.npy, act_c4.npy, grad_c4.npy"}},
        extra=extra)


def backbone_two_outputs_twice(path):
    """backbone_two_outputs' nested 'backbone' (two outputs) called twice, on the image and on its half-scale copy
    ('half', 2x2 average pooling), as a multi-scale feature-pyramid model does; the four maps are pooled and
    concatenated before 'logits'. The splitting by output left out nested models that are also called more than
    once: backbone#1 was one layer whose output was one of its two, so -layer backbone#1 explained the last of them
    with exit 0. Now the outputs of each call are layers (backbone#1#out0, backbone#1#out1, backbone#2#out0,
    backbone#2#out1); 'backbone' and 'backbone#1' are refused naming them. Goldens: each map's activation and
    d logit[top] / d it."""
    rng = seed(63)
    binp = keras.Input((None, None, 3), name="image")
    c3 = L.MaxPooling2D(name="pool1")(L.Conv2D(8, 3, padding="same", activation="relu", name="conv1")(binp))
    c4 = L.MaxPooling2D(name="pool2")(L.Conv2D(16, 3, padding="same", activation="relu", name="conv2")(c3))
    backbone = keras.Model(binp, [c3, c4], name="backbone")
    inp = keras.Input((16, 16, 3), name="image")
    a3, a4 = backbone(inp)
    b3, b4 = backbone(L.AveragePooling2D(2, name="half")(inp))
    x = L.Concatenate(name="features")([L.GlobalAveragePooling2D(name="gap%d" % i)(t) for i, t in enumerate([a3, a4, b3, b4])])
    model = keras.Model(inp, L.Dense(10, name="logits")(x), name="backbone_two_outputs_twice")
    x0 = images(rng, (16, 16, 3))
    extra = tensor_goldens(model, inp, [a3, a4, b3, b4], ["full_c3", "full_c4", "half_c3", "half_c4"], x0)
    keras_case(path, model, x0, ["Conv2D", "MaxPool", "AvgPool"], {
        "name": "backbone_two_outputs_twice", "description": backbone_two_outputs_twice.__doc__,
        "path_dtypes": ["float32"], "expect": dict(F32, note="each output of each call of backbone is a layer"),
        "golden": {"outputs_of_calls": "act_/grad_ full_c3, full_c4, half_c3, half_c4"}}, extra=extra)


def two_output_layer_twice(path):
    """two_output_layer's 'attend' (features and an attention map) called twice, after a shared 'conv1' on the image
    and on its mirror image ('mirror', ReverseV2); each call's features weighted by its attention, pooled, and the two
    concatenated before 'logits'. inspect said 'attend has 4 outputs'; it is called twice with two outputs each:
    attend#1#out0 … attend#2#out1, each named with what it reads, and 'attend#2' is refused naming its two outputs.
    Goldens: each map's activation and d logit[top] / d it."""
    rng = seed(64)
    inp = keras.Input((16, 16, 3), name="image")
    conv1, pool, attend = (L.Conv2D(8, 3, padding="same", activation="relu", name="conv1"), L.MaxPooling2D(name="pool"),
                           _FeaturesAndAttention(name="attend"))
    mirror = L.Lambda(lambda t: tf.reverse(t, [2]), name="mirror")
    f1, a1 = attend(pool(conv1(inp)))
    f2, a2 = attend(pool(conv1(mirror(inp))))
    pooled = [L.GlobalAveragePooling2D(name="gap%d" % i)(L.Multiply(name="weigh%d" % i)([f, a]))
              for i, (f, a) in enumerate([(f1, a1), (f2, a2)])]
    model = keras.Model(inp, L.Dense(10, name="logits")(L.Concatenate(name="both")(pooled)), name="two_output_layer_twice")
    x0 = images(rng, (16, 16, 3))
    extra = tensor_goldens(model, inp, [f1, a1, f2, a2], ["image_features", "image_attention", "mirror_features",
                                                          "mirror_attention"], x0)
    keras_case(path, model, x0, ["Conv2D", "ReverseV2"], {
        "name": "two_output_layer_twice", "description": two_output_layer_twice.__doc__, "path_dtypes": ["float32"],
        "expect": dict(F32, note="each output of each call of attend is a layer"),
        "golden": {"outputs_of_calls": "act_/grad_ image_features, image_attention, mirror_features, mirror_attention"}},
        extra=extra)


CASES = {f.__name__: f for f in [
    mixed_f16_branches, mixed_f16, mixed_f16_softmax16, mixed_bf16, float64, float64_input, float16_input, two_outputs,
    rescaling_input, resize_rescaling_input, normalization_input, sigmoid_head, log_softmax_head, log_of_softmax_head,
    log_of_softmax_cast_head, live_augmentation, prelu, tf_module_relu, lstm_unroll, gru_loop, gelu_tanh, lrn, dilated_conv, uint8_input,
    vit_grid, no_channel_axis, no_channel_axis_mlp, channels_first,
    percent_softmax_head, clipped_log_softmax_head, binary_logit, binary_sigmoid, softmax_one_column,
    bn_training, fused_bn_training, stop_gradient_input, quantized_input,
    softmax_1x1_flatten, softmax_channels, resize_kernels, caffe_input,
    embedding_and_logits, squeezed_logit, top_k_pooling, softmax_ensemble, exp_sum_softmax,
    normalized_scores, patches_and_shuffle, math_ops, log_input, softmax_subset, relu_logits,
    written_relu, crop_and_resize, softmax_over_batch, shared_layer_tta, shared_backbone_scales,
    keras3_tf_saved_model, module_held_keras, fixed_batch, jpeg_bytes_input, two_output_layer,
    conv_transpose, backbone_two_outputs, backbone_two_outputs_twice, two_output_layer_twice]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(HERE, "edge"))
    ap.add_argument("names", nargs="*", help="build only these cases (default: all): " + ", ".join(CASES))
    args = ap.parse_args()
    for n in args.names:
        if n not in CASES:
            ap.error("unknown case %s; cases: %s" % (n, ", ".join(CASES)))
    start = time.time()
    for n in args.names or CASES:
        t = time.time()
        CASES[n](os.path.join(args.out, n))
        print("build_edge: %-20s %5.1f s" % (n, time.time() - t), flush=True)
    print("build_edge: %d models in %.0f s" % (len(args.names or CASES), time.time() - start))


if __name__ == "__main__":
    sys.exit(main())
