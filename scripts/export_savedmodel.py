#!/usr/bin/env python3
"""Export a Keras model file (.keras, or .h5 from Keras 2 / tf.keras) as a SavedModel that
saliency reads, with a card.yaml that says what the model wants.

Usage (in the venv `make setup` made):

    .venv/bin/python scripts/export_savedmodel.py MODEL.keras OUT_DIR [options]

    --classes "cat,dog,…"     class names in output order (or --classes-file FILE, one per line);
                              default "class 0", "class 1", …
    --scale S --offset O      x = pixel·S + O for pixels in [0, 255]; default S = 1/255, O = 0
    --mean M,… --std S,…      then x = (x − mean[c]) / std[c] per channel (torchvision style)
    --bgr                     the model wants BGR channel order (Caffe-style keras.applications)
    --name NAME               the card's name (default: OUT_DIR's base name)
    --force                   replace OUT_DIR

What it does:

1. loads the model with keras.saving.load_model (Keras 3 reads .keras and legacy .h5 files);
2. writes OUT_DIR with model.export(): a SavedModel whose serving_default signature is the
   model's forward pass in inference mode (the same as `model.export()` by hand);
3. writes OUT_DIR/card.yaml: classes, input shape and colour, the preprocessing formula,
   output.kind (from the last layer's activation: probabilities for a softmax, sigmoid for a
   sigmoid, log-probabilities for a log_softmax; without one, sigmoid for one column, a binary
   classifier's logit, probabilities when the outputs are, else logits), and
   every layer's name, class and output shape (so `saliency inspect` and `-layer` use Keras'
   names);
4. checks the export: the SavedModel's outputs on 4 random images equal the Keras model's
   to 1e-4, and prints the difference.

`bin/saliency inspect OUT_DIR` then shows the layers and the default CAM layer.
"""
import argparse
import os
import shutil
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def fail(msg):
    print("export_savedmodel: " + msg, file=sys.stderr)
    sys.exit(1)


def floats(s, what):
    try:
        return [float(v) for v in s.split(",")]
    except ValueError:
        fail("%s %r: want comma-separated numbers" % (what, s))


def input_range(args, c):
    """The smallest and largest input value the preprocessing gives (over channels)."""
    lo, hi = args.offset, 255.0 * args.scale + args.offset
    if args.mean or args.std:
        mean = floats(args.mean, "--mean") if args.mean else [0.0] * c
        std = floats(args.std, "--std") if args.std else [1.0] * c
        ends = [(v - m) / s for m, s in zip(mean, std) for v in (lo, hi)]
        return min(ends), max(ends)
    return min(lo, hi), max(lo, hi)


def class_names(classes_file, classes, k):
    """The class names in output order: one per line of classes_file, else the comma-separated classes, else
    "class 0" … "class k-1". A binary classifier's one output (k = 1) has two classes, as saliency reads it: the
    negative class (0, whose probability is one minus the output's) and the positive one (1). ValueError when they
    do not number k (2 for k = 1)."""
    want = 2 if k == 1 else k
    if classes_file:
        with open(classes_file) as f:
            names = [line.strip() for line in f if line.strip()]
    elif classes:
        names = [s.strip() for s in classes.split(",")]
    else:
        names = ["class %d" % i for i in range(want)]
    if len(names) != want and k == 1:
        raise ValueError("%d class names for a binary classifier's one output: give two, the negative class (0, whose "
                         "probability is one minus the output's) first, then the positive one" % len(names))
    if len(names) != want:
        raise ValueError("%d class names for %d outputs" % (len(names), k))
    return names


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", help=".keras or .h5 file")
    ap.add_argument("out", help="SavedModel folder to write")
    ap.add_argument("--classes")
    ap.add_argument("--classes-file")
    ap.add_argument("--scale", type=float, default=1.0 / 255.0)
    ap.add_argument("--offset", type=float, default=0.0)
    ap.add_argument("--mean")
    ap.add_argument("--std")
    ap.add_argument("--bgr", action="store_true")
    ap.add_argument("--name")
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args()

    if not os.path.isfile(args.model):
        fail("%s: no such file" % args.model)
    if os.path.exists(args.out) and not args.force:
        fail("%s exists; --force replaces it" % args.out)

    import numpy as np
    import keras
    import tensorflow as tf
    import yaml

    try:
        model = keras.saving.load_model(args.model, compile=False)
    except Exception as e:  # a broken or foreign file: say which, and why
        fail("%s: cannot load it as a Keras model: %s" % (args.model, str(e).splitlines()[0] if str(e) else e))
    shape = model.input_shape
    if isinstance(shape, list):
        if len(shape) != 1:
            fail("%s has %d inputs; saliency explains models with one image input" % (args.model, len(shape)))
        shape = shape[0]
    if len(shape) != 4 or any(d is None for d in shape[1:]):
        fail("%s: input shape %s is not an image batch [N, H, W, C] of known size" % (args.model, shape))
    _, h, w, c = (int(d) if d is not None else -1 for d in shape)
    if c not in (1, 3):
        fail("%s: the input has %d channels; saliency feeds 1 (grayscale) or 3 (RGB) channels" % (args.model, c))
    out_shape = model.output_shape
    if isinstance(out_shape, list) or len(out_shape) != 2:
        fail("%s: output shape %s is not class scores [N, K]" % (args.model, out_shape))
    k = int(out_shape[1])

    try:
        classes = class_names(args.classes_file, args.classes, k)
    except ValueError as e:
        fail(str(e))

    last = model.layers[-1]
    act = "softmax" if last.__class__.__name__ == "Softmax" else getattr(getattr(last, "activation", None), "__name__", "")
    kind = {"softmax": "probabilities", "sigmoid": "sigmoid", "log_softmax": "log-probabilities"}.get(act)
    if k == 1 and kind in ("probabilities", "log-probabilities"):
        fail("%s: the last layer's %s is over one column: its output is the same for every image, whatever the input "
             "(a binary classifier's one unit takes a sigmoid)" % (args.model, act))

    if args.force:
        shutil.rmtree(args.out, ignore_errors=True)
    model.export(args.out, verbose=False)

    # The export must compute what the model computes.
    x = np.random.default_rng(0).uniform(0, 1, (4, h, w, c)).astype(np.float32)
    want = np.asarray(model(x, training=False))
    loaded = tf.saved_model.load(args.out)
    sig = loaded.signatures["serving_default"]
    in_key = list(sig.structured_input_signature[1])[0]
    outputs = sig(**{in_key: tf.constant(x)})
    out_key = list(outputs)[0]
    got = outputs[out_key].numpy()
    diff = float(np.abs(got - want).max())
    if diff > 1e-4:
        fail("the SavedModel's outputs differ from the Keras model's by %g" % diff)
    if kind is None and k == 1:
        kind = "sigmoid"  # a binary classifier's one logit, whose probability is its sigmoid
    elif kind is None and np.all(want >= 0) and np.all(np.abs(want.sum(1) - 1) <= 1e-3):
        kind = "probabilities"  # computed from softmaxes by the last layer (an average of an ensemble's)
    elif kind is None:
        kind = "logits"

    pre = {"grayscale": c == 1, "resize": [h, w], "scale": args.scale, "offset": args.offset}
    formula = "x = pixel * %g + %g" % (args.scale, args.offset)
    if args.mean:
        pre["mean"] = floats(args.mean, "--mean")
        formula += ", then (x - mean) / std"
    if args.std:
        pre["std"] = floats(args.std, "--std")
    for key in ("mean", "std"):
        if key in pre and len(pre[key]) != c:
            fail("--%s has %d values for %d channels" % (key, len(pre[key]), c))
    pre["formula"] = formula
    layers = []
    for l in model.layers:
        try:
            osh = [(-1 if d is None else int(d)) for d in l.output.shape]
        except (AttributeError, ValueError):
            osh = []
        layers.append({"name": l.name, "class": l.__class__.__name__, "output_shape": osh,
                       "params": int(l.count_params())})
    card = {
        "name": args.name or os.path.basename(os.path.normpath(args.out)),
        "description": "exported from %s by scripts/export_savedmodel.py" % os.path.basename(args.model),
        "framework": "keras %s, tensorflow %s" % (keras.__version__, tf.__version__),
        "classes": classes,
        "input": {"signature_key": in_key, "shape": [-1, h, w, c], "dtype": "float32",
                  "range": [float(v) for v in input_range(args, c)],
                  "color": "grayscale" if c == 1 else ("bgr" if args.bgr else "rgb")},
        "output": {"signature_key": out_key, "shape": [-1, k], "kind": kind},
        "preprocessing": pre,
        "total_params": int(model.count_params()),
        "layers": layers,
    }
    with open(os.path.join(args.out, "card.yaml"), "w") as f:
        yaml.safe_dump(card, f, sort_keys=False, width=120)
    print("%s: SavedModel and card.yaml (%d classes, output %s, input %dx%dx%d); outputs equal the Keras "
          "model's to %.1g" % (args.out, k, kind, h, w, c, diff))


if __name__ == "__main__":
    main()
