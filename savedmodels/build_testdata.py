#!/usr/bin/env python3
"""Tiny SavedModels that exercise corners of tfgraph (a few KB each).

    list_outputs   nested tf.functions, Split and Unpack (list outputs), a variable
    control_flow   a tf.cond on the input: flattening must refuse it by name
    uint8_input    an image model whose input is uint8

Usage: build_testdata.py [--out DIR]
"""
import argparse
import os
import shutil

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SPEC = tf.TensorSpec([None, 4, 4, 2], tf.float32, name="image")


class ListOutputs(tf.Module):
    def __init__(self):
        super().__init__()
        self.w = tf.Variable(np.linspace(-1, 1, 8, dtype=np.float32).reshape(2, 4), name="dense/kernel")

    @tf.function
    def features(self, x):
        a, b = tf.split(x, 2, axis=-1)          # list output: output:0, output:1
        rows = tf.unstack(a, axis=1)             # list output of length 4
        return tf.nn.relu(tf.add_n(rows)) * b[:, 0]

    @tf.function(input_signature=[SPEC])
    def serve(self, image):
        f = self.features(image)                 # nested call
        pooled = tf.reduce_mean(f, axis=1)       # [N,1]
        both = tf.concat([pooled, pooled * 2.0], axis=-1)  # [N,2]
        return {"logits": tf.matmul(both, self.w)}


class ControlFlow(tf.Module):
    @tf.function(input_signature=[SPEC])
    def serve(self, image):
        s = tf.reduce_sum(image)
        y = tf.cond(s > 0, lambda: image * 2.0, lambda: image - 1.0)
        return {"logits": tf.reshape(y, [-1, 32])[:, :10]}


class Uint8Input(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None, 4, 4, 1], tf.uint8, name="image")])
    def serve(self, image):
        x = tf.cast(image, tf.float32) / 255.0
        return {"logits": tf.reshape(x, [-1, 16])[:, :10]}


def save(module, path):
    shutil.rmtree(path, ignore_errors=True)
    tf.saved_model.save(module, path, signatures={"serving_default": module.serve})
    print("wrote", path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(HERE, "testdata"))
    args = ap.parse_args()
    tf.random.set_seed(0)
    save(ListOutputs(), os.path.join(args.out, "list_outputs"))
    save(ControlFlow(), os.path.join(args.out, "control_flow"))
    save(Uint8Input(), os.path.join(args.out, "uint8_input"))


if __name__ == "__main__":
    main()
