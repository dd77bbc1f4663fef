#!/usr/bin/env python3
"""Golden values of the similarity metrics (experiments/metrics) from scipy and scikit-image.

Writes experiments/metrics/testdata/golden.json: pairs of float32 maps (random arrays,
near-copies, arrays with many ties, a map and its negative, and real saliency maps of the
committed zoo: gradient against guided backprop and Grad-CAM of fmnist_vgg) with
scipy.stats.pearsonr, scipy.stats.spearmanr (signed and of |map|),
skimage.metrics.structural_similarity (defaults; float64 inputs; the data range given),
the top-k intersection of |a| and |b| (stable argsort: ties by index), and
skimage.feature.hog (L2-Hys; the defaults, and 4x4-pixel cells in 2x2-cell blocks) with the
Pearson correlation of the two maps' features.

Usage: .venv/bin/python scripts/golden_metrics.py
"""
import json
import os

import numpy as np
from scipy import stats
from skimage.feature import hog
from skimage.metrics import structural_similarity

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "experiments", "metrics", "testdata", "golden.json")


def topk(a, b, k):
    ta = np.argsort(-np.abs(a.ravel()), kind="stable")[:k]
    tb = np.argsort(-np.abs(b.ravel()), kind="stable")[:k]
    return len(set(ta.tolist()) & set(tb.tolist())) / k


def case(name, a, b, data_range, ks=(10, 50)):
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    h, w = a.shape
    x, y = a.astype(np.float64), b.astype(np.float64)
    return {
        "name": name, "h": h, "w": w, "a": a.ravel().tolist(), "b": b.ravel().tolist(),
        "data_range": data_range,
        "pearson": float(stats.pearsonr(x.ravel(), y.ravel())[0]),
        "spearman": float(stats.spearmanr(x.ravel(), y.ravel())[0]),
        "spearman_abs": float(stats.spearmanr(np.abs(x).ravel(), np.abs(y).ravel())[0]),
        "ssim": float(structural_similarity(x, y, data_range=data_range)),
        "topk": {str(k): topk(a, b, k) for k in ks},
        # HOG features of the float64 maps: scikit-image's defaults, and 4x4 cells in 2x2 blocks
        "hog_default": hog(x).tolist(),
        "hog_pearson_default": float(stats.pearsonr(hog(x), hog(y))[0]),
        "hog_small": hog(x, pixels_per_cell=(4, 4), cells_per_block=(2, 2)).tolist(),
        "hog_pearson_small": float(stats.pearsonr(hog(x, pixels_per_cell=(4, 4), cells_per_block=(2, 2)),
                                                  hog(y, pixels_per_cell=(4, 4), cells_per_block=(2, 2)))[0]),
    }


def main():
    r = np.random.default_rng(2018)
    cases = []
    a = r.standard_normal((28, 28))
    cases.append(case("random normal pair", a, r.standard_normal((28, 28)), 8.0))
    cases.append(case("near copy", a, a + 0.05 * r.standard_normal((28, 28)), 8.0))
    cases.append(case("negative", a, -a, 8.0))
    q1, q2 = r.integers(0, 5, (28, 28)), r.integers(0, 5, (28, 28))
    cases.append(case("many ties", q1, (q1 + q2) // 2, 4.0))
    u = r.uniform(0, 1, (64, 40))
    cases.append(case("wide uniform", u, np.clip(u + 0.2 * r.standard_normal((64, 40)), 0, 1), 1.0))
    gdir = os.path.join(ROOT, "savedmodels", "fmnist_vgg", "golden", "methods")
    norm = lambda m: (m - m.min()) / (m.max() - m.min())
    grad = np.load(os.path.join(gdir, "gradient.npy"))
    guided = np.load(os.path.join(gdir, "guided-backprop.npy"))
    gradcam = np.load(os.path.join(gdir, "gradcam.npy"))
    gxi = np.load(os.path.join(gdir, "gradient-x-input.npy"))
    for i in (0, 3):
        cases.append(case("fmnist_vgg image %d: gradient vs guided-backprop (normalised)" % i,
                          norm(grad[i]), norm(guided[i]), 1.0))
        cases.append(case("fmnist_vgg image %d: gradient vs gradcam (normalised)" % i,
                          norm(grad[i]), norm(gradcam[i]), 1.0))
    cases.append(case("fmnist_vgg image 1: gradient-x-input, signed, vs image 2", gxi[1], gxi[2],
                      float(max(gxi[1].max(), gxi[2].max()) - min(gxi[1].min(), gxi[2].min()))))
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump({"source": "scipy %s, scikit-image %s" % (__import__("scipy").__version__,
                                                         __import__("skimage").__version__),
                   "cases": cases}, f)
    print("wrote %s: %d cases" % (OUT, len(cases)))


if __name__ == "__main__":
    main()
