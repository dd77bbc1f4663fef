#!/usr/bin/env python3
"""Reference intervals for experiments/stats from scipy and numpy (written to golden.json).

- bootstrap: scipy.stats.bootstrap(method="percentile") of the mean of fixed values;
- floor: scipy.stats.bootstrap(paired=True, method="percentile") of the mean of
  method - null over fixed per-image scores, with scipy's standard error;
- hierarchical: a numpy implementation of the crossed (Owen 2007: seeds and images drawn
  with replacement, the images once for all seeds drawn) and nested (Saravanan et al. 2020:
  seeds drawn, then images within each seed drawn) bootstraps of the mean of
  scores[seed][image], with NaN cells left out of each resample's mean; the 2.5% and 97.5%
  quantiles (numpy's linear) and the standard deviation of the resampled means;
- crossing: the first step below a threshold per curve (np.argmax(curve < t) + 1, 0 when
  none) and np.median with never as +inf.

The intervals come from numpy's RNG, not Go's: the Go tests compare them to within a
fraction of the standard deviation of the resampled means (Monte Carlo error).

Usage: .venv/bin/python experiments/stats/testdata/golden_stats.py
"""
import json
import os

import numpy as np
import scipy
from scipy import stats

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden.json")
B = 200000


def crossed(x, rng, b=B, chunk=20000):
    S, N = x.shape
    f = np.isfinite(x)
    x0 = np.where(f, x, 0.0)
    out = []
    for _ in range(b // chunk):
        ws = np.stack([np.bincount(r, minlength=S) for r in rng.integers(0, S, (chunk, S))])
        wi = np.stack([np.bincount(r, minlength=N) for r in rng.integers(0, N, (chunk, N))])
        num = np.einsum("bs,sn,bn->b", ws, x0, wi)
        den = np.einsum("bs,sn,bn->b", ws, f.astype(float), wi)
        out.append(num[den > 0] / den[den > 0])
    return np.concatenate(out)


def nested(rows, rng, b=B, chunk=20000):
    S = len(rows)
    out = []
    for _ in range(b // chunk):
        seeds = rng.integers(0, S, (chunk, S))
        num = np.zeros(chunk)
        den = np.zeros(chunk)
        for k in range(S):
            for s in range(S):
                row = rows[s]
                sel = seeds[:, k] == s
                idx = rng.integers(0, len(row), (sel.sum(), len(row)))
                v = row[idx]
                f = np.isfinite(v)
                num[sel] += np.where(f, v, 0).sum(1)
                den[sel] += f.sum(1)
        out.append(num[den > 0] / den[den > 0])
    return np.concatenate(out)


def summary(means):
    lo, hi = np.quantile(means, [0.025, 0.975])
    return {"lo": float(lo), "hi": float(hi), "sd": float(means.std())}


def main():
    rng = np.random.default_rng(2020)
    # image-only bootstrap
    v = rng.normal(0.3, 0.1, 25)
    b = stats.bootstrap((v,), np.mean, n_resamples=B, method="percentile", random_state=rng)
    boot = {"values": v.tolist(), "lo": float(b.confidence_interval.low), "hi": float(b.confidence_interval.high),
            "sd": float(b.standard_error)}

    # floor: per-image scores of a method and of a null map
    floors = []
    null = rng.uniform(0.6, 0.95, 30)
    for name, shift in (("at the floor", 0.0), ("beats the floor", 0.12), ("undecided", 0.06)):
        method = np.clip(null + shift + rng.normal(0, 0.05, 30), -1, 1)
        r = stats.bootstrap((method, null), lambda m, n: np.mean(m - n), paired=True, vectorized=False,
                            n_resamples=B, method="percentile", random_state=rng)
        floors.append({"name": name, "method": method.tolist(), "null": null.tolist(),
                       "mean": float(np.mean(method - null)), "lo": float(r.confidence_interval.low),
                       "hi": float(r.confidence_interval.high), "sd": float(r.standard_error)})

    # hierarchical: 8 seeds x 40 images, seed effects (sd 0.05), image effects (sd 0.1)
    S, N = 8, 40
    x = 0.2 + rng.normal(0, 0.05, (S, 1)) + rng.normal(0, 0.1, (1, N)) + rng.normal(0, 0.03, (S, N))
    x[2, 5] = np.nan
    x[6, 30] = np.nan
    rows = list(x)  # NaN cells kept: each resample leaves them out
    ragged = [rng.normal(0.2 + 0.05 * rng.standard_normal(), 0.1, n) for n in (20, 35, 28, 40, 31)]
    hier = {"scores": [[None if np.isnan(v) else float(v) for v in row] for row in x],
            "mean": float(np.nanmean(x)),
            "crossed": summary(crossed(x, rng)),
            "nested": summary(nested(rows, rng)),
            "ragged": [r.tolist() for r in ragged],
            "ragged_mean": float(np.concatenate(ragged).mean()),
            "ragged_nested": summary(nested(ragged, rng))}

    # crossing
    curves = np.array([[0.9, 0.8, 0.6, 0.55, 0.45, 0.3],
                       [0.9, 0.7, 0.52, 0.48, 0.4, 0.2],
                       [0.95, 0.85, 0.7, 0.6, 0.52, 0.49],
                       [0.9, 0.8, 0.6, 0.5, 0.42, 0.35],
                       [0.9, 0.75, 0.62, 0.58, 0.47, 0.4]])
    t = 0.5
    steps = [int(np.argmax(c < t)) + 1 if (c < t).any() else 0 for c in curves]
    m = curves.mean(0)
    cross = {"curves": curves.tolist(), "threshold": t, "steps": steps,
             "mean_step": int(np.argmax(m < t)) + 1 if (m < t).any() else 0,
             "median": float(np.median([s if s else np.inf for s in steps]))}

    with open(OUT, "w") as f:
        json.dump({"source": "scipy %s, numpy %s, %d resamples" % (scipy.__version__, np.__version__, B),
                   "bootstrap": boot, "floor": floors, "hierarchical": hier, "crossing": cross}, f, indent=1)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
