#!/usr/bin/env python3
"""Checks scripts/export_savedmodel.py on the heads Keras users build: for each small model below (random weights,
28x28 grayscale), saved as .keras, exported with its card, the card's output.kind and class count are the ones
saliency accepts, and `bin/saliency predict` on a sample image exits 0 with the probabilities of the model itself.

    softmax          Dense(10, activation="softmax")            probabilities
    logits           Dense(10)                                  logits
    sigmoid          Dense(5, activation="sigmoid")             sigmoid (multi-label)
    binary_sigmoid   Dense(1, activation="sigmoid")             sigmoid, two classes (negative first)
    binary_logit     Dense(1)                                   sigmoid, two classes
    log_softmax      Dense(10, activation="log_softmax")        log-probabilities
    ensemble         Average of two Dense(10, softmax)          probabilities

and Dense(1, activation="softmax"), whose output is 1 for every image, is refused by name. Before, every head but
softmax and logits got output.kind logits, which saliency refuses ("output.kind logits, but the model ends in a
sigmoid"). Run in the venv of `make setup` after `make build` (CI runs it; about 30 s).
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--saliency", default=os.path.join(ROOT, "bin", "saliency"))
    args = ap.parse_args()
    if not os.access(args.saliency, os.X_OK):
        sys.exit("check_export: %s: not built (make build)" % args.saliency)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import numpy as np
    import keras
    import yaml
    from keras import layers as L
    from PIL import Image

    sample = os.path.join(ROOT, "savedmodels", "samples", "fmnist_0002_trouser.png")
    x = (np.asarray(Image.open(sample).convert("L"), np.float32) / 255.0)[None, :, :, None]

    def trunk():
        keras.utils.set_random_seed(0)
        inp = keras.Input((28, 28, 1))
        h = L.GlobalAveragePooling2D()(L.Conv2D(8, 3, activation="relu")(inp))
        return inp, h

    def build(head):
        inp, h = trunk()
        if head == "ensemble":
            out = L.Average()([L.Dense(10, activation="softmax")(h), L.Dense(10, activation="softmax")(h)])
        else:
            k, act = {"softmax": (10, "softmax"), "logits": (10, None), "sigmoid": (5, "sigmoid"),
                      "binary_sigmoid": (1, "sigmoid"), "binary_logit": (1, None), "log_softmax": (10, "log_softmax"),
                      "one_column_softmax": (1, "softmax")}[head]
            out = L.Dense(k, activation=act)(h)
        return keras.Model(inp, out)

    want = {"softmax": ("probabilities", 10), "logits": ("logits", 10), "sigmoid": ("sigmoid", 5),
            "binary_sigmoid": ("sigmoid", 2), "binary_logit": ("sigmoid", 2), "log_softmax": ("log-probabilities", 10),
            "ensemble": ("probabilities", 10)}
    bad = []
    with tempfile.TemporaryDirectory() as work:
        for head in list(want) + ["one_column_softmax"]:
            model = build(head)
            path = os.path.join(work, head + ".keras")
            model.save(path)
            out = os.path.join(work, head)
            p = subprocess.run([sys.executable, os.path.join(HERE, "export_savedmodel.py"), path, out],
                               capture_output=True, text=True)
            if head == "one_column_softmax":
                ok = p.returncode == 1 and "over one column" in p.stderr
                print("%-16s export refused: %s" % (head, ok), flush=True)
                if not ok:
                    bad.append("%s: exit %d, %s" % (head, p.returncode, p.stderr[-300:]))
                continue
            if p.returncode != 0:
                bad.append("%s: export exit %d: %s" % (head, p.returncode, p.stderr[-300:]))
                continue
            card = yaml.safe_load(open(os.path.join(out, "card.yaml")))
            got = (card["output"]["kind"], len(card["classes"]))
            q = subprocess.run([args.saliency, "predict", "-k", "1", out, sample], capture_output=True, text=True)
            # The probability predict shows for its top class, against the model's own.
            z = np.asarray(model(x, training=False))[0].astype(np.float64)
            probs = {"probabilities": z, "logits": np.exp(z - z.max()) / np.exp(z - z.max()).sum(),
                     "sigmoid": z, "log-probabilities": np.exp(z)}[want[head][0]]
            if head == "binary_logit":
                probs = 1 / (1 + np.exp(-z))
            if want[head][1] == 2:
                probs = np.array([1 - probs[0], probs[0]])
            m = re.search(r"1\. .*? ([0-9.]+)%", q.stdout)
            shown = float(m.group(1)) if m else float("nan")
            print("%-16s output.kind %-17s %2d classes; predict exit %d, top %.2f%% (the model's %.2f%%)" % (
                head, got[0], got[1], q.returncode, shown, 100 * probs.max()), flush=True)
            if got != want[head]:
                bad.append("%s: card %s, want %s" % (head, got, want[head]))
            if q.returncode != 0 or not abs(shown - 100 * probs.max()) <= 0.006:
                bad.append("%s: predict exit %d, top %s%%, the model's %.4f%%: %s" % (
                    head, q.returncode, shown, 100 * probs.max(), q.stderr[-300:]))
    if bad:
        sys.exit("check_export: " + "; ".join(bad))
    print("check_export: every head exported with a card saliency accepts")


if __name__ == "__main__":
    main()
