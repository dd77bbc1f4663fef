#!/usr/bin/env python3
"""scipy.ndimage.gaussian_filter on small images, the oracle of tensor.GaussianFilter.

    bench/.venv/bin/python tensor/testdata/scipy_gaussian_filter.py  # writes scipy_gaussian_filter.json

Each case: an [H,W,C] float32 image, sigma, mode, truncate 4.0 (scipy's default), filtered as PAIR
saliency 0.2.1's Blur IG does (sigma=[s, s, 0]); the output is float32, like the input.
"""
import json
import os

import numpy as np
import scipy
from scipy import ndimage

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(7)
images = {"random_7x5x2": rng.random((7, 5, 2), dtype=np.float32)}
with np.load(os.path.join(HERE, "..", "..", "savedmodels", "samples", "fmnist_test_1000.npz")) as f:
    images["fmnist_0_crop"] = (f["images"][0].astype(np.float32) / np.float32(255))[7:21, 7:21, None]
cases = []
for name, img in images.items():
    for mode in ("constant", "reflect", "nearest"):
        for sigma in (0.01, 0.3, 1.0, 2.5, 7.0, 50.0):
            out = ndimage.gaussian_filter(img, sigma=[sigma, sigma, 0], mode=mode)
            assert out.dtype == np.float32
            cases.append({"image": name, "sigma": sigma, "mode": mode, "truncate": 4.0,
                          "want": [float("%.9g" % v) for v in out.ravel()]})
json.dump({"scipy": scipy.__version__, "numpy": np.__version__,
           "images": {k: {"shape": list(v.shape), "data": [float("%.9g" % x) for x in v.ravel()]} for k, v in images.items()},
           "cases": cases}, open(os.path.join(HERE, "scipy_gaussian_filter.json"), "w"))
