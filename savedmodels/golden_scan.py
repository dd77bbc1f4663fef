#!/usr/bin/env python3
"""The top-k scan of `saliency units`, done the Python way: the oracle of its test.

Runs the 10,000 Fashion-MNIST test images (pixel / 255) through a zoo
SavedModel up to a layer, with the frozen serving signature pruned to that
layer's output (a ConcreteFunction, as tf.function runs it) in batches, keeps
every image's activations, takes each channel's maximum over the positions
and its position (np.argmax: the first in raster order), and ranks the images
per channel with a stable np.argsort (ties to the lower index). The layer's
tensor is found as golden_units.py finds it.

Writes OUT (JSON): layer, k, images, seconds, peak_rss_mb, and top[c] =
[{image, value, at}] for every channel c. Prints the time and the peak RSS,
for the side-by-side measure of the toolkit's streamed scan.

Usage: golden_scan.py MODEL_DIR LAYER OUT.json [K] [BATCH]
"""
import gzip
import json
import os
import resource
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import yaml  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from golden_units import frozen_graph, layer_tensor  # noqa: E402

DATA = os.environ.get("FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")


def test_images():
    with gzip.open(os.path.join(DATA, "t10k-images-idx3-ubyte.gz"), "rb") as f:
        raw = f.read()
    x = np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 28, 28, 1)
    return x.astype(np.float32) / 255.0


def main():
    path, layer, out = sys.argv[1], sys.argv[2], sys.argv[3]
    k = int(sys.argv[4]) if len(sys.argv) > 4 else 9
    batch = int(sys.argv[5]) if len(sys.argv) > 5 else 64
    with open(os.path.join(path, "card.yaml")) as f:
        card = yaml.safe_load(f)
    shape = next(l["output_shape"] for l in card["layers"] if l["name"] == layer)
    x = test_images()
    t0 = time.perf_counter()
    gd, in_name = frozen_graph(path)

    def imported():
        tf.graph_util.import_graph_def(gd, name="")

    wrapped = tf.compat.v1.wrap_function(imported, [])
    g = wrapped.graph
    t = layer_tensor(g, gd, layer, shape)
    fn = wrapped.prune(feeds=g.get_tensor_by_name(in_name), fetches=t)
    acts = np.concatenate([fn(tf.constant(x[i:i + batch])).numpy() for i in range(0, len(x), batch)])
    flat = acts.reshape(len(x), -1, acts.shape[-1])  # [N, P, C]
    best = flat.max(axis=1)  # [N, C]
    where = flat.argmax(axis=1)
    pos = acts.shape[1:-1]
    top = []
    for c in range(acts.shape[-1]):
        order = np.argsort(-best[:, c], kind="stable")[:k]
        top.append([{"image": int(i), "value": float(best[i, c]),
                     "at": [int(v) for v in np.unravel_index(int(where[i, c]), pos)] if pos else None} for i in order])
    secs = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with open(out, "w") as f:
        json.dump({"layer": layer, "tensor": t.name, "k": k, "images": len(x), "batch": batch,
                   "seconds": secs, "peak_rss_mb": rss, "top": top}, f)
    print("%s %s: %d images, batch %d: %.2f s, peak RSS %.0f MB" % (os.path.basename(path), layer, len(x), batch, secs, rss))


if __name__ == "__main__":
    main()
