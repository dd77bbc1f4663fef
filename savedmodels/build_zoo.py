#!/usr/bin/env python3
"""Build the saliency model zoo: small Fashion-MNIST models trained with fixed seeds.

Each model is exported with Keras 3 ``model.export()`` as a SavedModel into
``savedmodels/<name>/``, next to a ``card.yaml`` (classes, input, preprocessing,
accuracy measured at export, seed, training time, layers) and golden vectors under
``golden/`` computed with ``tf.GradientTape``:

    inputs.npy      [8,H,W,1] float32, the preprocessed inputs
    labels.npy      [8] int32, the true classes
    logits.npy      [8,10] float32, pre-softmax scores
    outputs.npy     [8,10] float32, the signature's output (logits, or probabilities)
    layer_<name>.npy  outputs of two named inner layers
    grad_input.npy  [8,H,W,1] d(top logit)/d(input), one image at a time
    guided_input.npy, deconvnet_input.npy   the same with the ReLU overrides of
                    Guided Backprop and DeconvNet (golden_rules.py)
    methods/        the maps of every saliency method and their parameters (golden_methods.py)
    attack/         fmnist_vgg and fmnist_resnet: second-order gradients of maps on the
                    softplus copy, for the targeted attack (golden_attack.py)

Usage: build_zoo.py [--force] [--out DIR] [MODEL ...]   (default: every model)
"""
import argparse
import gzip
import json
import os
import shutil
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402
from keras import layers  # noqa: E402
import yaml  # noqa: E402

DATA = os.environ.get("FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
HERE = os.path.dirname(os.path.abspath(__file__))


def read_idx(name):
    path = os.path.join(DATA, name)
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_fmnist():
    xtr = read_idx("train-images-idx3-ubyte.gz")
    ytr = read_idx("train-labels-idx1-ubyte.gz").astype(np.int32)
    xte = read_idx("t10k-images-idx3-ubyte.gz")
    yte = read_idx("t10k-labels-idx1-ubyte.gz").astype(np.int32)
    return xtr, ytr, xte, yte


def to_input(x_uint8):
    """The card's preprocessing: uint8 gray [0,255] -> float32 [0,1], trailing channel."""
    return (x_uint8.astype(np.float32) / 255.0)[..., None]


# ---------------------------------------------------------------- scatter data

CANVAS = 64


def scatter(x_uint8, y, seed, n_clutter=4, patch=8):
    """Place each 28x28 item at a random position on a 64x64 canvas with clutter.

    Clutter: n_clutter patch x patch crops of other random items, dimmed, pasted at
    random positions (max-combined). Returns canvases (uint8), labels, and the object
    masks (uint8 0/1: the item's pixels brighter than 10% of full scale).
    """
    rng = np.random.default_rng(seed)
    n = len(x_uint8)
    out = np.zeros((n, CANVAS, CANVAS), np.uint8)
    masks = np.zeros((n, CANVAS, CANVAS), np.uint8)
    pos = rng.integers(0, CANVAS - 28 + 1, size=(n, 2))
    for i in range(n):
        canvas = np.zeros((CANVAS, CANVAS), np.uint8)
        for _ in range(n_clutter):
            j = rng.integers(0, n)
            cy, cx = rng.integers(6, 28 - patch - 6 + 1, size=2)
            crop = x_uint8[j, cy:cy + patch, cx:cx + patch].astype(np.float32)
            crop = (crop * rng.uniform(0.4, 0.9)).astype(np.uint8)
            py, px = rng.integers(0, CANVAS - patch + 1, size=2)
            region = canvas[py:py + patch, px:px + patch]
            np.maximum(region, crop, out=region)
        r, c = pos[i]
        item = x_uint8[i]
        region = canvas[r:r + 28, c:c + 28]
        np.maximum(region, item, out=region)
        masks[i, r:r + 28, c:c + 28] = item > 25
        out[i] = canvas
    return out, y.copy(), masks


# ---------------------------------------------------------------- architectures

def conv(filters, name):
    return layers.Conv2D(filters, 3, padding="same", activation="relu", name=name)


def conv_bn(x, filters, name):
    """Conv2D (no bias) -> BatchNormalization -> ReLU, layers named <name>, bn<…>, relu<…>."""
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name="conv" + name)(x)
    x = layers.BatchNormalization(name="bn" + name)(x)
    return layers.ReLU(name="relu" + name)(x)


def build_gap(softmax=False, input_shape=(28, 28, 1)):
    inp = keras.Input(input_shape, name="image")
    x = conv_bn(inp, 16, "1_1")
    x = conv_bn(x, 16, "1_2")
    x = layers.MaxPooling2D(name="pool1")(x)
    x = conv_bn(x, 32, "2_1")
    x = conv_bn(x, 32, "2_2")
    x = layers.MaxPooling2D(name="pool2")(x)
    x = conv_bn(x, 64, "3_1")
    x = conv_bn(x, 128, "3_2")
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    out = layers.Dense(10, activation="softmax" if softmax else None, name="predictions")(x)
    return keras.Model(inp, out, name="fmnist_gap_softmax" if softmax else "fmnist_gap")


def build_vgg(name="fmnist_vgg"):
    inp = keras.Input((28, 28, 1), name="image")
    x = conv(16, "conv1_1")(inp)
    x = conv(16, "conv1_2")(x)
    x = layers.MaxPooling2D(name="pool1")(x)
    x = conv(32, "conv2_1")(x)
    x = conv(32, "conv2_2")(x)
    x = layers.MaxPooling2D(name="pool2")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(128, activation="relu", name="fc1")(x)
    x = layers.Dropout(0.5, name="dropout")(x)
    out = layers.Dense(10, name="predictions")(x)
    return keras.Model(inp, out, name=name)


def build_resnet():
    inp = keras.Input((28, 28, 1), name="image")
    x = layers.Conv2D(16, 3, padding="same", use_bias=False, name="stem_conv")(inp)
    x = layers.BatchNormalization(name="stem_bn")(x)
    x = layers.ReLU(name="stem_relu")(x)

    def block(x, filters, stride, name):
        shortcut = x
        y = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False, name=name + "_conv1")(x)
        y = layers.BatchNormalization(name=name + "_bn1")(y)
        y = layers.ReLU(name=name + "_relu1")(y)
        y = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=name + "_conv2")(y)
        y = layers.BatchNormalization(name=name + "_bn2")(y)
        if stride != 1 or shortcut.shape[-1] != filters:
            shortcut = layers.Conv2D(filters, 1, strides=stride, use_bias=False, name=name + "_proj")(shortcut)
            shortcut = layers.BatchNormalization(name=name + "_proj_bn")(shortcut)
        y = layers.Add(name=name + "_add")([y, shortcut])
        return layers.ReLU(name=name + "_out")(y)

    x = block(x, 16, 1, "block1")
    x = block(x, 32, 2, "block2")
    x = block(x, 64, 2, "block3")
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    out = layers.Dense(10, name="predictions")(x)
    return keras.Model(inp, out, name="fmnist_resnet")


def build_scatter():
    """Strided stem and three downsamplings: the receptive field covers a whole item."""
    inp = keras.Input((CANVAS, CANVAS, 1), name="image")
    x = layers.Conv2D(16, 3, strides=2, padding="same", use_bias=False, name="conv1")(inp)
    x = layers.BatchNormalization(name="bn1")(x)
    x = layers.ReLU(name="relu1")(x)
    x = conv_bn(x, 32, "2")
    x = layers.MaxPooling2D(name="pool2")(x)
    x = conv_bn(x, 64, "3")
    x = layers.MaxPooling2D(name="pool3")(x)
    x = conv_bn(x, 128, "4_1")
    x = conv_bn(x, 128, "4_2")
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    out = layers.Dense(10, name="predictions")(x)
    return keras.Model(inp, out, name="fmnist_scatter")


# A small vision transformer (Dosovitskiy et al. 2021): 4x4 patches of the 28x28 image
# (a 7x7 grid of 49 tokens), a class token, learned position embeddings, pre-norm blocks
# of MultiHeadAttention and a gelu MLP, the class token's final LayerNorm output -> logits.
VIT = dict(patch=4, dim=64, heads=4, depth=4, mlp=128)


class ClassToken(layers.Layer):
    """Prepends a learned class token: [N,T,D] -> [N,T+1,D]."""

    def build(self, input_shape):
        self.token = self.add_weight(shape=(1, 1, input_shape[-1]), initializer="zeros", name="token")

    def call(self, x):
        n = keras.ops.shape(x)[0]
        tok = keras.ops.broadcast_to(self.token, (n, 1, keras.ops.shape(x)[-1]))
        return keras.ops.concatenate([tok, x], axis=1)


class PositionEmbedding(layers.Layer):
    """Adds a learned embedding per token position."""

    def build(self, input_shape):
        self.embedding = self.add_weight(shape=(1,) + tuple(input_shape[1:]),
                                         initializer=keras.initializers.RandomNormal(stddev=0.02),
                                         name="embedding")

    def call(self, x):
        return x + self.embedding


class TakeToken(layers.Layer):
    """The first (class) token: [N,T,D] -> [N,D]."""

    def call(self, x):
        return x[:, 0]


def build_vit():
    p, d = VIT["patch"], VIT["dim"]
    inp = keras.Input((28, 28, 1), name="image")
    x = layers.Conv2D(d, p, strides=p, name="patch_embed")(inp)
    g = 28 // p
    x = layers.Reshape((g * g, d), name="patches")(x)
    x = ClassToken(name="cls_token")(x)
    x = PositionEmbedding(name="pos_embed")(x)
    for i in range(1, VIT["depth"] + 1):
        b = "block%d" % i
        y = layers.LayerNormalization(epsilon=1e-6, name=b + "_ln1")(x)
        y = layers.MultiHeadAttention(VIT["heads"], d // VIT["heads"], name=b + "_attn")(y, y)
        x = layers.Add(name=b + "_add1")([x, y])
        y = layers.LayerNormalization(epsilon=1e-6, name=b + "_ln2")(x)
        y = layers.Dense(VIT["mlp"], activation="gelu", name=b + "_mlp1")(y)
        y = layers.Dense(d, name=b + "_mlp2")(y)
        x = layers.Add(name=b + "_out")([x, y])
    x = layers.LayerNormalization(epsilon=1e-6, name="final_ln")(x)
    x = TakeToken(name="cls")(x)
    out = layers.Dense(10, name="predictions")(x)
    return keras.Model(inp, out, name="fmnist_vit")


# ---------------------------------------------------------------- the zoo

# name: (builder, epochs, golden inner layers, description)
SPECS = {
    "fmnist_gap": dict(
        build=build_gap, epochs=10, layers=["relu2_2", "relu3_2"], seed=1,
        description="conv-BN-ReLU blocks, global average pooling, Dense(10) logits (CAM applies)"),
    "fmnist_gap_softmax": dict(
        build=lambda: build_gap(softmax=True), epochs=0, layers=["relu3_2", "gap"], seed=1,
        description="fmnist_gap's weights with a softmax inside the last Dense layer (outputs probabilities)"),
    "fmnist_vgg": dict(
        build=build_vgg, epochs=10, layers=["conv2_2", "fc1"], seed=2,
        description="VGG-style (conv, conv, maxpool) x2, Flatten, Dense, Dropout, Dense(10) logits"),
    "fmnist_resnet": dict(
        build=build_resnet, epochs=10, layers=["block2_add", "block3_out"], seed=3,
        description="residual blocks with BatchNormalization, Add, ReLU, global average pooling, Dense(10) logits"),
    "fmnist_vgg_randlabels": dict(
        build=lambda: build_vgg("fmnist_vgg_randlabels"), epochs=150, layers=["conv2_2", "fc1"], seed=4,
        description="fmnist_vgg's architecture trained on permuted labels (data randomization test)"),
    "fmnist_vit": dict(
        build=build_vit, epochs=20, layers=["block2_out", "block4_ln1"], seed=6,
        description="a small vision transformer: 4x4 patches (7x7 grid), class token, 4 pre-norm blocks of "
                    "4-head attention and a gelu MLP, Dense(10) logits on the class token"),
    "fmnist_scatter": dict(
        build=build_scatter, epochs=10, layers=["relu3", "relu4_2"], seed=5,
        description="items at random positions on a 64x64 canvas with clutter; object masks saved"),
}
RANDLABEL_SUBSET = 3000
SCATTER_TRAIN = 30000
SCATTER_TEST = 2000


def golden_indices(y, k=8):
    """First test image of each of the classes 0..k-1: fixed, and one per class."""
    return np.array([int(np.flatnonzero(y == c)[0]) for c in range(k)])


def compile_model(model, lr=1e-3):
    model.compile(
        optimizer=keras.optimizers.Adam(lr),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"])


def accuracy(model, x, y, softmax=False):
    out = model.predict(x, batch_size=512, verbose=0)
    return float(np.mean(np.argmax(out, axis=1) == y))


def layer_model(model, names):
    return keras.Model(model.inputs, [model.get_layer(n).output for n in names])


def presoftmax(model):
    """The logits: for a Dense layer with softmax activation, its pre-activation."""
    last = model.layers[-1]
    feat = keras.Model(model.inputs, last.input)

    def f(x):
        h = feat(x, training=False)
        return tf.matmul(h, last.kernel) + last.bias
    return f


def write_golden(model, name, x, y, inner, softmax, outdir):
    gdir = os.path.join(outdir, "golden")
    os.makedirs(gdir, exist_ok=True)
    x = tf.constant(x)
    logits_fn = presoftmax(model) if softmax else (lambda v: model(v, training=False))
    outputs = model(x, training=False).numpy()
    with tf.GradientTape() as tape:
        tape.watch(x)
        logits = logits_fn(x)
        top = tf.argmax(logits, axis=1)
        score = tf.reduce_sum(tf.gather(logits, top, axis=1, batch_dims=1))
    grad = tape.gradient(score, x).numpy()
    np.save(os.path.join(gdir, "inputs.npy"), x.numpy())
    np.save(os.path.join(gdir, "labels.npy"), y.astype(np.int32))
    np.save(os.path.join(gdir, "logits.npy"), logits.numpy().astype(np.float32))
    np.save(os.path.join(gdir, "outputs.npy"), outputs.astype(np.float32))
    np.save(os.path.join(gdir, "top.npy"), top.numpy().astype(np.int32))
    np.save(os.path.join(gdir, "grad_input.npy"), grad.astype(np.float32))
    acts = layer_model(model, inner)(x, training=False)
    for n, a in zip(inner, acts):
        np.save(os.path.join(gdir, "layer_%s.npy" % n), a.numpy().astype(np.float32))


def describe_signature(path):
    loaded = tf.saved_model.load(path)
    sig = loaded.signatures["serving_default"]
    (_, kwargs) = sig.structured_input_signature
    ins = [dict(key=k, shape=[d if d is not None else -1 for d in v.shape.as_list()], dtype=v.dtype.name)
           for k, v in sorted(kwargs.items())]
    outs = [dict(key=k, shape=[d if d is not None else -1 for d in v.shape.as_list()], dtype=v.dtype.name)
            for k, v in sorted(sig.structured_outputs.items())]
    return loaded, sig, ins, outs


def export(model, name, spec, outdir, info, xg, yg):
    tmp = outdir + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    model.export(tmp, format="tf_saved_model", verbose=False)
    _, sig, ins, outs = describe_signature(tmp)
    # The reloaded signature must reproduce the Keras model.
    got = list(sig(**{ins[0]["key"]: tf.constant(xg)}).values())[0].numpy()
    want = model(xg, training=False).numpy()
    diff = float(np.max(np.abs(got - want)))
    if diff > 1e-4:
        raise SystemExit("%s: exported signature differs from the Keras model by %g" % (name, diff))
    shutil.rmtree(outdir, ignore_errors=True)
    os.rename(tmp, outdir)
    softmax = info["output_kind"] == "probabilities"
    write_golden(model, name, xg, yg, spec["layers"], softmax, outdir)
    import golden_rules  # guided and deconvnet goldens, from the exported SavedModel
    golden_rules.write(outdir)
    import golden_methods  # golden maps of every saliency method (golden/methods/), from the exported SavedModel
    golden_methods.write(outdir)
    import golden_attack  # second-order gradients of maps on the softplus copy (golden/attack/)
    if name in golden_attack.MODELS:
        golden_attack.build(outdir)
    h, w, c = model.inputs[0].shape[1:]
    card = {
        "name": name,
        "description": spec["description"],
        "framework": "keras %s, tensorflow %s" % (keras.__version__, tf.__version__),
        "classes": CLASSES,
        "input": {
            "signature_key": ins[0]["key"],
            "shape": [-1, int(h), int(w), int(c)],
            "dtype": ins[0]["dtype"],
            "range": [0.0, 1.0],
            "color": "grayscale",
        },
        "output": {
            "signature_key": outs[0]["key"],
            "shape": outs[0]["shape"],
            "kind": info["output_kind"],
        },
        "preprocessing": {
            "grayscale": True,
            "resize": [int(h), int(w)],
            "scale": 1.0 / 255.0,
            "offset": 0.0,
            "formula": "x = pixel / 255",
        },
        "accuracy": info["accuracy"],
        "seed": spec["seed"],
        "training": info["training"],
        "total_params": int(model.count_params()),
        "layers": [
            {"name": l.name, "class": l.__class__.__name__,
             "output_shape": [(-1 if d is None else int(d)) for d in l.output.shape],
             "params": int(l.count_params())}
            for l in model.layers
        ],
        "golden": {
            "images": info["golden_source"],
            "inner_layers": spec["layers"],
            "gradient": "d logit[top] / d input, tf.GradientTape, inference mode",
        },
    }
    with open(os.path.join(outdir, "card.yaml"), "w") as f:
        yaml.safe_dump(card, f, sort_keys=False, width=120)
    print("%s: exported, signature check max|diff| %.2g" % (name, diff), flush=True)


def train(name, spec, data, outdir):
    keras.backend.clear_session()  # fresh variable names ("conv1_1/kernel", not "…_1") in every model
    keras.utils.set_random_seed(spec["seed"])
    xtr, ytr, xte, yte = data
    info = {"output_kind": "logits", "training": {}}
    t0 = time.time()
    if name == "fmnist_gap_softmax":
        weights = os.path.join(os.path.dirname(outdir), "fmnist_gap", "keras.weights.h5")
        if not os.path.exists(weights):
            raise SystemExit("fmnist_gap_softmax copies fmnist_gap's weights: build fmnist_gap first (%s missing)" % weights)
        model = build_gap(softmax=True)
        model.load_weights(weights)
        info["output_kind"] = "probabilities"
        info["training"] = {"from": "fmnist_gap (weights copied)", "epochs": 0}
        xtest, ytest = to_input(xte), yte
        info["accuracy"] = {"test": accuracy(model, xtest, ytest)}
        gi = golden_indices(yte)
        xg, yg = xtest[gi], yte[gi]
        info["golden_source"] = {"split": "fashion-mnist t10k", "indices": gi.tolist()}
        return model, info, xg, yg

    model = spec["build"]()
    compile_model(model)
    xtest, ytest = to_input(xte), yte
    gi = golden_indices(yte)
    info["golden_source"] = {"split": "fashion-mnist t10k", "indices": gi.tolist()}
    if name == "fmnist_vgg_randlabels":
        rng = np.random.default_rng(spec["seed"])
        idx = rng.permutation(len(xtr))[:RANDLABEL_SUBSET]
        xtrain = to_input(xtr[idx])
        ytrain = rng.permutation(ytr[idx])  # labels shuffled among the subset
        batch = 128
        info["training"].update(subset=RANDLABEL_SUBSET, labels="permuted")
    elif name == "fmnist_scatter":
        xs, ys, _ = scatter(xtr[:SCATTER_TRAIN], ytr[:SCATTER_TRAIN], seed=100)
        xtrain, ytrain = to_input(xs), ys
        xt, yt, mt = scatter(xte, yte, seed=200)
        xtest, ytest = to_input(xt), yt
        batch = 128
        info["training"].update(train_images=SCATTER_TRAIN, canvas=CANVAS)
        info["scatter"] = (xt, yt, mt)
        gi = np.arange(8)
        info["golden_source"] = {"split": "scatter test set (test_set.npz)", "indices": gi.tolist()}
    else:
        xtrain, ytrain = to_input(xtr), ytr
        batch = 128
    epochs = spec["epochs"]
    lr = keras.optimizers.schedules.CosineDecay(1e-3, decay_steps=epochs * int(np.ceil(len(xtrain) / batch)))
    model.compile(optimizer=keras.optimizers.Adam(lr),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    verbose = 2 if sys.stdout.isatty() else 0
    model.fit(xtrain, ytrain, batch_size=batch, epochs=epochs, shuffle=True, verbose=verbose)
    secs = time.time() - t0
    info["training"].update(epochs=epochs, batch_size=batch, optimizer="adam, cosine decay from 1e-3",
                            seconds=round(secs, 1))
    info["accuracy"] = {"train": accuracy(model, xtrain, ytrain), "test": accuracy(model, xtest, ytest)}
    xg, yg = xtest[gi], ytest[gi]
    return model, info, xg, yg


def floors(name, acc):
    checks = {
        "fmnist_gap": acc["test"] >= 0.90,
        "fmnist_gap_softmax": acc["test"] >= 0.90,
        "fmnist_vgg": acc["test"] >= 0.91,
        "fmnist_resnet": acc["test"] >= 0.91,
        "fmnist_vgg_randlabels": acc.get("train", 0) >= 0.90 and acc["test"] <= 0.15,
        "fmnist_scatter": acc["test"] >= 0.85,
        "fmnist_vit": acc["test"] >= 0.87,
    }
    return checks[name]


def write_samples(outdir, data):
    """savedmodels/samples/: a few test images as PNG, with labels.csv."""
    from PIL import Image
    _, _, xte, yte = data
    os.makedirs(outdir, exist_ok=True)
    rows = ["file,label,class,model"]

    def slug(c):
        return CLASSES[c].lower().replace("/", "-").replace(" ", "-")

    for i in golden_indices(yte, 10)[[0, 1, 3, 5, 7, 9]]:
        f = "fmnist_%04d_%s.png" % (i, slug(yte[i]))
        Image.fromarray(xte[i], mode="L").save(os.path.join(outdir, f))
        rows.append("%s,%d,%s,fmnist_vgg" % (f, yte[i], CLASSES[yte[i]]))
    xs, ys, ms = scatter(xte, yte, seed=200)  # the scatter test set of fmnist_scatter
    for i in range(3):
        f = "scatter_%04d_%s.png" % (i, slug(ys[i]))
        Image.fromarray(xs[i], mode="L").save(os.path.join(outdir, f))
        Image.fromarray(ms[i] * 255, mode="L").save(os.path.join(outdir, f.replace(".png", "_mask.png")))
        rows.append("%s,%d,%s,fmnist_scatter" % (f, ys[i], CLASSES[ys[i]]))
    with open(os.path.join(outdir, "labels.csv"), "w") as fh:
        fh.write("\n".join(rows) + "\n")
    # The first 1000 Fashion-MNIST test images, for tests and experiments in Go.
    np.savez_compressed(os.path.join(outdir, "fmnist_test_1000.npz"), images=xte[:1000],
                        labels=yte[:1000].astype(np.int32))
    print("samples: %d images and fmnist_test_1000.npz in %s" % (len(rows) - 1, outdir))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="*", default=list(SPECS))
    ap.add_argument("--force", action="store_true", help="rebuild models that exist")
    ap.add_argument("--out", default=HERE)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--samples", action="store_true", help="write savedmodels/samples/ and exit")
    ap.add_argument("--quick", action="store_true",
                    help="smoke test of the pipeline: 1 epoch on 2000 images (floors not enforced)")
    args = ap.parse_args()
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    unknown = [m for m in args.models if m not in SPECS]
    if unknown:
        ap.error("unknown model(s) %s; known: %s" % (", ".join(unknown), ", ".join(SPECS)))
    os.makedirs(args.out, exist_ok=True)
    data = load_fmnist()
    if args.samples:
        write_samples(os.path.join(args.out, "samples"), data)
        return
    if args.quick:
        for s in SPECS.values():
            s["epochs"] = min(s["epochs"], 1)
        data = (data[0][:2000], data[1][:2000], data[2], data[3])
    failed = []
    for name in args.models:
        outdir = os.path.join(args.out, name)
        if os.path.exists(os.path.join(outdir, "card.yaml")) and not args.force:
            print("%s: exists (use --force to rebuild)" % name)
            continue
        print("%s: training" % name, flush=True)
        model, info, xg, yg = train(name, SPECS[name], data, outdir)
        scat = info.pop("scatter", None)
        export(model, name, SPECS[name], outdir, info, xg, yg)
        if name == "fmnist_gap":
            model.save_weights(os.path.join(outdir, "keras.weights.h5"))
        if scat is not None:
            xt, yt, mt = scat
            np.savez_compressed(os.path.join(outdir, "test_set.npz"), images=xt[:SCATTER_TEST],
                                labels=yt[:SCATTER_TEST].astype(np.int32), masks=mt[:SCATTER_TEST])
        print("%s: accuracy %s, %.0f s" % (name, json.dumps(info["accuracy"]),
                                          info["training"].get("seconds", 0)), flush=True)
        if not args.quick and not floors(name, info["accuracy"]):
            failed.append(name)
            print("%s: BELOW THE ACCURACY FLOOR" % name, flush=True)
    if failed:
        raise SystemExit("below the accuracy floor: " + ", ".join(failed))


if __name__ == "__main__":
    main()
