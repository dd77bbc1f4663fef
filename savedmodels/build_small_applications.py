#!/usr/bin/env python3
"""A few keras.applications architectures at a small input size, random
weights, for the tests that need real architectures but not ImageNet-sized
inputs (tfgraph's receptive-field test): built on demand into
savedmodels/applications_small/<name>/ (git-ignored; `make small-applications`).

Each model is the application with ``weights=None, include_top=False`` at the
input size below (64×64; InceptionV3 and Xception accept 75 and 71 at the
least and are built at 75×75), then GlobalAveragePooling2D "gap" and a
Dense(10) "logits" head, exported with ``model.export`` (Keras 3), with

    golden/inputs.npy   4 images [4,S,S,3] float32, uniform in the range the
                        application's preprocess_input gives for pixels 0..255
                        (the signature's logits on them are checked finite)

Batch-norm statistics stay at their initial values (mean 0, variance 1);
biases are random, so that ReLU masks are not decided at exactly zero.

Usage: build_small_applications.py [--out DIR] [names...]   (all eight: about 75 s on 2 cores)
"""
import argparse
import os
import shutil
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
N = 4

# name: (Keras name, input size, range of the preprocessed input)
MODELS = {
    "vgg16": ("VGG16", 64, (-124.0, 152.0)),
    "resnet50": ("ResNet50", 64, (-124.0, 152.0)),
    "mobilenet_v2": ("MobileNetV2", 64, (-1.0, 1.0)),
    "densenet121": ("DenseNet121", 64, (-2.2, 2.7)),
    "inception_v3": ("InceptionV3", 75, (-1.0, 1.0)),
    "xception": ("Xception", 75, (-1.0, 1.0)),
    "efficientnet_b0": ("EfficientNetB0", 64, (0.0, 255.0)),
    "convnext_tiny": ("ConvNeXtTiny", 64, (0.0, 255.0)),
}


def build(name, out):
    keras_name, size, (lo, hi) = MODELS[name]
    keras.utils.set_random_seed(len(name))
    rng = np.random.default_rng(len(name))
    base = getattr(keras.applications, keras_name)(weights=None, include_top=False, input_shape=(size, size, 3))
    x = keras.layers.GlobalAveragePooling2D(name="gap")(base.output)
    logits = keras.layers.Dense(10, name="logits")(x)
    model = keras.Model(base.input, logits, name=name)
    for layer in model.layers:
        b = getattr(layer, "bias", None)
        if b is not None:
            b.assign(rng.normal(0, 0.1, tuple(b.shape)).astype(b.dtype))
    path = os.path.join(out, name)
    shutil.rmtree(path, ignore_errors=True)
    model.export(path, format="tf_saved_model", verbose=False)
    images = rng.uniform(lo, hi, (N, size, size, 3)).astype(np.float32)
    sig = tf.saved_model.load(path).signatures["serving_default"]
    outs = sig(tf.constant(images))
    if not np.all(np.isfinite(outs[sorted(outs)[0]].numpy())):
        raise SystemExit("build_small_applications: %s: the logits are not finite" % name)
    os.makedirs(os.path.join(path, "golden"), exist_ok=True)
    np.save(os.path.join(path, "golden", "inputs.npy"), images)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(HERE, "applications_small"))
    ap.add_argument("names", nargs="*", help="build only these (default: all): " + ", ".join(MODELS))
    args = ap.parse_args()
    for n in args.names:
        if n not in MODELS:
            ap.error("unknown model %s; models: %s" % (n, ", ".join(MODELS)))
    start = time.time()
    for n in args.names or MODELS:
        t = time.time()
        build(n, args.out)
        print("build_small_applications: %-16s %5.1f s" % (n, time.time() - t), flush=True)
    print("build_small_applications: %d models in %.0f s" % (len(args.names or MODELS), time.time() - start))


if __name__ == "__main__":
    sys.exit(main())
