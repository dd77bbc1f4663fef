#!/usr/bin/env python3
"""Random-weight ImageNet-shaped SavedModels for benchmarks and op coverage.

Pretrained weights cannot be downloaded here, so each Keras application is built
with ``weights=None`` and a fixed seed, then exported with ``model.export()`` into
``savedmodels/imagenet/<name>/`` (git-ignored) with a card.yaml and golden vectors
for 2 seeded random inputs (inputs, outputs, logits, top-logit input gradient).

Usage: build_imagenet.py [--force] [--out DIR] [MODEL ...]
"""
import argparse
import os
import shutil
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402
import yaml  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
APPS = {
    "vgg16": (keras.applications.VGG16, 224),
    "resnet50": (keras.applications.ResNet50, 224),
    "mobilenet_v2": (keras.applications.MobileNetV2, 224),
    "efficientnet_b0": (keras.applications.EfficientNetB0, 224),
    "inception_v3": (keras.applications.InceptionV3, 299),
}


def build(name, out, seed=0):
    fn, size = APPS[name]
    keras.utils.set_random_seed(seed)
    t0 = time.time()
    model = fn(weights=None, input_shape=(size, size, 3), classes=1000)
    tmp = out + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    model.export(tmp, format="tf_saved_model", verbose=False)
    shutil.rmtree(out, ignore_errors=True)
    os.rename(tmp, out)
    rng = np.random.default_rng(seed)
    x = tf.constant(rng.uniform(0, 1, size=(2, size, size, 3)).astype(np.float32))
    last = model.layers[-1]
    feat = keras.Model(model.inputs, last.input)
    with tf.GradientTape() as tape:
        tape.watch(x)
        h = feat(x, training=False)
        logits = tf.matmul(h, last.kernel) + last.bias
        top = tf.argmax(logits, axis=1)
        score = tf.reduce_sum(tf.gather(logits, top, axis=1, batch_dims=1))
    grad = tape.gradient(score, x)
    gdir = os.path.join(out, "golden")
    os.makedirs(gdir)
    np.save(os.path.join(gdir, "inputs.npy"), x.numpy())
    np.save(os.path.join(gdir, "outputs.npy"), model(x, training=False).numpy().astype(np.float32))
    np.save(os.path.join(gdir, "logits.npy"), logits.numpy().astype(np.float32))
    np.save(os.path.join(gdir, "top.npy"), top.numpy().astype(np.int32))
    np.save(os.path.join(gdir, "labels.npy"), top.numpy().astype(np.int32))  # random weights: no true labels
    np.save(os.path.join(gdir, "grad_input.npy"), grad.numpy().astype(np.float32))
    loaded = tf.saved_model.load(out)
    sig = loaded.signatures["serving_default"]
    in_key = sorted(sig.structured_input_signature[1])[0]
    out_key = sorted(sig.structured_outputs)[0]
    card = {
        "name": name,
        "description": "keras.applications.%s, random weights (seed %d), 1000 classes, softmax output" % (fn.__name__, seed),
        "framework": "keras %s, tensorflow %s" % (keras.__version__, tf.__version__),
        "classes": ["class %d" % i for i in range(1000)],
        "input": {"signature_key": in_key, "shape": [-1, size, size, 3], "dtype": "float32",
                  "range": [0.0, 1.0], "color": "rgb"},
        "output": {"signature_key": out_key, "shape": [-1, 1000], "kind": "probabilities"},
        "preprocessing": {"grayscale": False, "resize": [size, size], "scale": 1.0 / 255.0, "offset": 0.0,
                          "formula": "x = pixel / 255 (random weights: no trained preprocessing)"},
        "accuracy": {},
        "seed": seed,
        "training": {"epochs": 0, "seconds": round(time.time() - t0, 1), "from": "random initialisation"},
        "layers": [{"name": l.name, "class": l.__class__.__name__,
                    "output_shape": [(-1 if d is None else int(d)) for d in l.output.shape]}
                   for l in model.layers],
        "golden": {"images": {"split": "uniform random [0,1], numpy seed %d" % seed, "indices": [0, 1]},
                   "inner_layers": [], "gradient": "d logit[top] / d input, tf.GradientTape, inference mode"},
    }
    with open(os.path.join(out, "card.yaml"), "w") as f:
        yaml.safe_dump(card, f, sort_keys=False, width=120)
    print("%s: %d layers, %.0f s" % (name, len(model.layers), time.time() - t0), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="*", default=list(APPS))
    ap.add_argument("--force", action="store_true")
    ap.add_argument("--out", default=os.path.join(HERE, "imagenet"))
    args = ap.parse_args()
    bad = [m for m in args.models if m not in APPS]
    if bad:
        ap.error("unknown model(s) %s; known: %s" % (", ".join(bad), ", ".join(APPS)))
    for name in args.models:
        out = os.path.join(args.out, name)
        if os.path.exists(os.path.join(out, "card.yaml")) and not args.force:
            print("%s: exists (use --force to rebuild)" % name)
            continue
        build(name, out)


if __name__ == "__main__":
    main()
