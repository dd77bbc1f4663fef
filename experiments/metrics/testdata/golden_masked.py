#!/usr/bin/env python3
"""Golden values of the masked measures, ties, foreground, null maps and input independence
(experiments/metrics: measure.go, degenerate.go, foreground.go, null.go, independence.go).

Writes experiments/metrics/testdata/masked.json from scipy, scikit-image and numpy:

- cases: pairs of float32 maps with a mask (the foreground of a Fashion-MNIST input, random
  masks, a mask of every pixel, a mask inside SSIM's 3-pixel border), each map min-max
  normalised in float32 for SSIM and HOG as the report does, and
    spearman / spearman_abs / pearson  scipy.stats on the masked pixels,
    ssim       skimage.metrics.structural_similarity(full=True, data_range=1): the mean of the
               local SSIM over the pixels of the mask whose window lies inside the image,
    hog_*      skimage.feature.hog(feature_vector=False): the Pearson correlation of the
               features of the blocks holding a pixel of the mask,
    topk       the top-10% intersection (k = ceil(0.1 n), stable argsort) on the masked pixels,
  and of map a: the share of exact zeros, of tied pixels (np.unique counts > 1), the largest
  tie, and the zeros shared by a and b;
- foreground: np.any(x != background, axis=-1) for a 3-channel image and a non-zero background;
- null: NullInputNoise (uniform noise) and NullRandom from a Python port of Go's math/rand/v2
  PCG (PCG-DXSM with the 128-bit multiplier) and its Float64 / Float32;
- independence: DeconvNet and gradient maps of the committed fmnist_resnet golden images with
  their predicted classes; per pair of images of a class, max|a-b| / max(max|a|, max|b|)
  and np.corrcoef.

Usage: .venv/bin/python experiments/metrics/testdata/golden_masked.py
"""
import json
import math
import os

import numpy as np
import scipy
import skimage
from scipy import stats
from skimage.feature import hog
from skimage.metrics import structural_similarity

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
OUT = os.path.join(HERE, "masked.json")


def minmax32(m):
    m = np.asarray(m, np.float32)
    lo, hi = m.min(), m.max()
    return ((m - lo) / (hi - lo)).astype(np.float32)


def masked_hog(a, b, mask, ppc, cpb):
    x = minmax32(a).astype(np.float64)
    y = minmax32(b).astype(np.float64)
    fa = hog(x, pixels_per_cell=(ppc, ppc), cells_per_block=(cpb, cpb), feature_vector=False)
    fb = hog(y, pixels_per_cell=(ppc, ppc), cells_per_block=(cpb, cpb), feature_vector=False)
    br, bc = fa.shape[:2]
    keep = np.zeros((br, bc), bool)
    for r in range(br):
        for c in range(bc):
            keep[r, c] = mask[r * ppc:(r + cpb) * ppc, c * ppc:(c + cpb) * ppc].any()
    if not keep.any():
        return None
    u, v = fa[keep].ravel(), fb[keep].ravel()
    if u.std() == 0 or v.std() == 0:
        return None
    return float(stats.pearsonr(u, v)[0])


def masked_ssim(a, b, mask):
    _, s = structural_similarity(minmax32(a).astype(np.float64), minmax32(b).astype(np.float64),
                                 data_range=1.0, full=True)
    inner = np.zeros_like(mask)
    inner[3:-3, 3:-3] = True
    sel = mask & inner
    if not sel.any():
        return None
    return float(s[sel].mean())


def topk(a, b, frac=0.1):
    k = max(1, math.ceil(frac * a.size))
    ta = np.argsort(-np.abs(a), kind="stable")[:k]
    tb = np.argsort(-np.abs(b), kind="stable")[:k]
    return len(set(ta.tolist()) & set(tb.tolist())) / k


def ties(a):
    v = a[~np.isnan(a)] + np.float32(0)  # -0 as 0
    vals, counts = np.unique(v, return_counts=True)
    tied = counts[counts > 1].sum() / a.size
    i = int(np.argmax(counts))  # the smallest value among the most common
    return float(tied), float(vals[i]), float(counts[i] / a.size)


def case(name, a, b, mask, hog_default=True):
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    mask = np.asarray(mask, bool)
    h, w = a.shape
    x, y = a[mask].astype(np.float64), b[mask].astype(np.float64)
    tied, tie_value, tie_frac = ties(a.ravel())
    return {
        "name": name, "h": h, "w": w,
        "a": a.ravel().tolist(), "b": b.ravel().tolist(), "mask": mask.ravel().astype(int).tolist(),
        "spearman": float(stats.spearmanr(x, y)[0]),
        "spearman_abs": float(stats.spearmanr(np.abs(x), np.abs(y))[0]),
        "pearson": float(stats.pearsonr(x, y)[0]),
        "ssim": masked_ssim(a, b, mask),
        "hog_default": masked_hog(a, b, mask, 8, 3) if hog_default else None,
        "hog_small": masked_hog(a, b, mask, 4, 2),
        "topk": topk(a[mask], b[mask]),
        "zero_fraction": float((a == 0).mean()),
        "zero_fraction_both": float(((a == 0) & (b == 0)).mean()),
        "tied_fraction": tied, "largest_tie_value": tie_value, "largest_tie_fraction": tie_frac,
    }


# Go's math/rand/v2 PCG (pcg.go) and Rand.Float64 / Float32 (rand.go).
M64 = (1 << 64) - 1
MUL = (2549297995355413924 << 64) | 4865540595714422341
INC = (6364136223846793005 << 64) | 1442695040888963407


class PCG:
    def __init__(self, seed1, seed2):
        self.state = (seed1 << 64) | seed2

    def uint64(self):
        self.state = (self.state * MUL + INC) & ((1 << 128) - 1)
        hi, lo = self.state >> 64, self.state & M64
        hi ^= hi >> 32
        hi = (hi * 0xDA942042E4DD58B5) & M64
        hi ^= hi >> 48
        return (hi * (lo | 1)) & M64

    def float64(self):
        return float((self.uint64() << 11 & M64) >> 11) / float(1 << 53)

    def float32(self):
        u32 = self.uint64() >> 32
        return np.float32(u32 & 0xFFFFFF) / np.float32(1 << 24)


def null_uniform(x, seed, reduce):
    """x: [N,H,W,C] float32."""
    n = x.shape[0]
    out = np.zeros(x.shape[:3], np.float32)
    for i in range(n):
        rng = PCG(seed, 2 * i)
        flat = x[i].ravel()
        v = np.array([np.float32(abs(float(a)) * rng.float64()) for a in flat], np.float32).reshape(x.shape[1:])
        if reduce == "sum":
            # float64 sum in channel order, then float32 (tensor.ReduceChannels)
            out[i] = np.array([[sum(float(c) for c in px) for px in row] for row in v]).astype(np.float32)
        else:  # max-abs
            out[i] = np.abs(v).max(axis=-1)
    return out


def null_random(n, h, w, seed):
    out = np.zeros((n, h, w), np.float32)
    for i in range(n):
        rng = PCG(seed, 2 * i + 1)
        out[i] = np.array([rng.float32() for _ in range(h * w)], np.float32).reshape(h, w)
    return out


def independence(maps, classes):
    pairs = []
    for i in range(len(maps)):
        for j in range(i + 1, len(maps)):
            if classes[i] != classes[j]:
                continue
            a, b = maps[i].ravel().astype(np.float64), maps[j].ravel().astype(np.float64)
            rel = np.abs(a - b).max() / max(np.abs(a).max(), np.abs(b).max())
            pairs.append({"i": i, "j": j, "rel": float(rel), "pearson": float(np.corrcoef(a, b)[0, 1])})
    return pairs


def main():
    r = np.random.default_rng(2020)
    g = lambda m, f: np.load(os.path.join(ROOT, "savedmodels", m, "golden", *f))
    x_vgg = g("fmnist_vgg", ["inputs.npy"])[..., 0]
    gxi_vgg = g("fmnist_vgg", ["methods", "gradient-x-input.npy"])
    gxi_res = g("fmnist_resnet", ["methods", "gradient-x-input.npy"])
    grad_vgg = g("fmnist_vgg", ["methods", "gradient.npy"])
    guided_vgg = g("fmnist_vgg", ["methods", "guided-backprop.npy"])
    cases = []
    for i in (1, 5):
        fg = x_vgg[i] != 0
        cases.append(case("image %d: gradient-x-input fmnist_vgg vs fmnist_resnet, foreground" % i,
                          gxi_vgg[i], gxi_res[i], fg))
        noise = np.abs(x_vgg[i] * r.standard_normal(x_vgg[i].shape)).astype(np.float32)
        cases.append(case("image %d: gradient-x-input fmnist_vgg vs |x * noise|, foreground" % i,
                          gxi_vgg[i], noise, fg))
        cases.append(case("image %d: gradient-x-input fmnist_vgg vs |x * noise|, every pixel" % i,
                          gxi_vgg[i], noise, np.ones_like(fg)))
    cases.append(case("image 0: gradient vs guided-backprop fmnist_vgg, foreground",
                      grad_vgg[0], guided_vgg[0], x_vgg[0] != 0))
    a = r.standard_normal((20, 24))
    cases.append(case("random pair, random mask", a, a + r.standard_normal((20, 24)),
                      r.uniform(size=(20, 24)) < 0.5, hog_default=False))
    border = np.zeros((20, 24), bool)
    border[:3, :] = True
    cases.append(case("random pair, mask in SSIM's border", a, r.standard_normal((20, 24)), border,
                      hog_default=False))
    q1 = r.integers(-2, 3, (28, 28)).astype(np.float32)
    q1[:, :10] = 0
    cases.append(case("ties and zeros, right part", q1, r.integers(-2, 3, (28, 28)), np.arange(28)[None, :].repeat(28, 0) >= 10))

    img = r.uniform(size=(6, 7, 3)).astype(np.float32)
    img[:2] = 0
    img[3, 4] = [0, 0.5, 0]
    bg = np.array([-0.4, 0.1, 0.2], np.float32)
    img2 = img.copy()
    img2[:3] = bg
    img2[4, 1] = [-0.4, 0.1, 0.25]
    fg = [{"x": img.ravel().tolist(), "background": [0, 0, 0], "mask": np.any(img != 0, -1).ravel().astype(int).tolist()},
          {"x": img2.ravel().tolist(), "background": bg.tolist(), "mask": np.any(img2 != bg, -1).ravel().astype(int).tolist()}]

    xn = r.uniform(-1, 1, (2, 5, 4, 3)).astype(np.float32)
    xn[0, :2] = 0
    xn[1, :, 0, 1] = 0
    null = {"x": xn.ravel().tolist(), "shape": list(xn.shape), "seed": 7,
            "uniform_sum": null_uniform(xn, 7, "sum").ravel().tolist(),
            "uniform_max_abs": null_uniform(xn, 7, "max-abs").ravel().tolist(),
            "uniform_gray": null_uniform(xn[..., :1], 7, "sum").ravel().tolist(),
            "random": null_random(2, 5, 4, 7).ravel().tolist()}

    top = g("fmnist_resnet", ["top.npy"]).tolist()
    indep = []
    for meth in ("deconvnet", "gradient"):
        maps = g("fmnist_resnet", ["methods", meth + ".npy"])
        indep.append({"method": meth, "maps": maps.reshape(len(maps), -1).tolist(), "h": maps.shape[1],
                      "w": maps.shape[2], "classes": top, "pairs": independence(maps, top)})

    with open(OUT, "w") as f:
        json.dump({"source": "scipy %s, scikit-image %s, numpy %s" % (scipy.__version__, skimage.__version__, np.__version__),
                   "cases": cases, "foreground": fg, "null": null, "independence": indep}, f)
    print("wrote %s: %d cases" % (OUT, len(cases)))


if __name__ == "__main__":
    main()
