#!/usr/bin/env python3
"""A model that is not in the zoo, to try saliency on "your own model": a small Keras 3 CNN
(separable convolutions, global average pooling, a softmax output)
trained for 3 epochs on 20 000 Fashion-MNIST images with a fixed seed, saved as a .keras file.
About a minute on 2 cores; test accuracy 0.78 on 2000 test images.

Usage (in the venv `make setup` made; Fashion-MNIST from Debian's dataset-fashion-mnist):

    .venv/bin/python scripts/example_model.py OUT.keras

Then export it (scripts/export_savedmodel.py) and explain it: see README.md, "Your own model".
"""
import gzip
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

FMNIST = "/usr/share/datasets/fashion-mnist"
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def idx(name):
    import numpy as np
    path = os.path.join(FMNIST, name)
    if not os.path.exists(path):
        sys.exit("example_model: %s missing: install Debian's dataset-fashion-mnist (scripts/setup.sh does)" % path)
    with gzip.open(path, "rb") as f:
        raw = f.read()
    nd = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(nd)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * nd).reshape(dims)


def main():
    if len(sys.argv) != 2 or not sys.argv[1].endswith((".keras", ".h5")):
        sys.exit("usage: example_model.py OUT.keras")
    import keras
    from keras import layers
    keras.utils.set_random_seed(3)
    x = idx("train-images-idx3-ubyte.gz")[:20000, :, :, None].astype("float32") / 255.0
    y = idx("train-labels-idx1-ubyte.gz")[:20000].astype("int64")
    xt = idx("t10k-images-idx3-ubyte.gz")[:2000, :, :, None].astype("float32") / 255.0
    yt = idx("t10k-labels-idx1-ubyte.gz")[:2000].astype("int64")

    inp = keras.Input((28, 28, 1), name="image")
    h = layers.Conv2D(24, 3, padding="same", activation="relu", name="stem")(inp)
    h = layers.SeparableConv2D(48, 3, padding="same", activation="relu", name="sep1")(h)
    h = layers.MaxPooling2D(name="pool1")(h)
    h = layers.SeparableConv2D(64, 3, padding="same", activation="relu", name="sep2")(h)
    h = layers.MaxPooling2D(name="pool2")(h)
    h = layers.Conv2D(96, 3, padding="same", activation="relu", name="last_conv")(h)
    h = layers.GlobalAveragePooling2D(name="gap")(h)
    out = layers.Dense(10, activation="softmax", name="predictions")(h)
    model = keras.Model(inp, out, name="example_model")
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x, y, batch_size=128, epochs=3, verbose=2 if sys.stdout.isatty() else 0)
    acc = float(model.evaluate(xt, yt, verbose=0)[1])
    model.save(sys.argv[1])
    with open(os.path.splitext(sys.argv[1])[0] + ".classes.txt", "w") as f:
        f.write("\n".join(CLASSES) + "\n")
    print("%s: test accuracy %.3f on 2000 images; class names in %s" % (
        sys.argv[1], acc, os.path.splitext(sys.argv[1])[0] + ".classes.txt"))


if __name__ == "__main__":
    main()
