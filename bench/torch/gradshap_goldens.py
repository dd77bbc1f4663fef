#!/usr/bin/env python3
"""Peer goldens for issue 21: Captum 0.9.0's GradientShap (Expected Gradients) on the PyTorch copies of fmnist_vgg,
fmnist_resnet and fmnist_gap, with the randomness it drew exported for the toolkit to feed.

Run in the torch venv after `make parity-weights` (or `make gradshap-goldens`):

    bench/torch/.venv/bin/python bench/torch/gradshap_goldens.py [MODEL ...]

The 8 images of savedmodels/<m>/golden/inputs.npy, the class explained = argmax of golden/logits.npy, the
references savedmodels/samples/fmnist_background_16.npy ([16,28,28,1], model input values). GradientShap draws a
reference index per (image, sample) with np.random.choice, Gaussian input noise with torch.normal and the path
point alpha with np.random.uniform; each is recorded as Captum calls it (the call is wrapped, its result passed on
unchanged) and saved in the order of Captum's expanded batch (row i*n_samples + s: sample s of image i), noise as
NHWC. Files in savedmodels/<m>/golden/peers/:

    captum_gradientshap.npy            n_samples 25, stdevs 0 (Expected Gradients); draws in *_draw_baselines.npy
                                       (indices as float32) and *_draw_alphas.npy
    captum_gradientshap_noise.npy      n_samples 5 (Captum's default), stdevs 0.1; draws also *_draw_noise.npy
    captum_gradientshap_400.npy        n_samples 400, stdevs 0, Captum's own draws (numpy/torch seeded, not
                                       exported): the mean the toolkit's own draws must converge to

and captum_gradshap_manifest.json (every parameter, versions, the float64 re-run's difference).
"""
import argparse
import importlib.metadata as md
import json
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import models  # noqa: E402

from captum.attr import GradientShap  # noqa: E402

ROOT = models.ROOT
N_IMAGES = 8
REFS = os.path.join(ROOT, "savedmodels", "samples", "fmnist_background_16.npy")
VERSIONS = {p: md.version(p) for p in ("torch", "captum", "numpy")}


def rnd(v, digits=6):
    return float("%.*g" % (digits, float(v)))


def to_nhwc(a):
    a = a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1)).astype(np.float32)


class Recorder:
    """Wraps np.random.choice, np.random.uniform and torch.normal: records what Captum draws, or replays it."""

    def __init__(self, replay=None):
        self.replay = replay
        self.got = {"choice": [], "uniform": [], "normal": []}

    def __enter__(self):
        self.saved = (np.random.choice, np.random.uniform, torch.normal)
        choice, uniform, normal = self.saved

        def wrap(kind, fn):
            def f(*a, **k):
                if self.replay is not None:
                    v = self.replay[kind][len(self.got[kind])]
                    if kind == "normal":
                        v = v.to(a[1].dtype)
                    self.got[kind].append(v)
                    return v
                v = fn(*a, **k)
                self.got[kind].append(v)
                return v
            return f
        np.random.choice, np.random.uniform = wrap("choice", choice), wrap("uniform", uniform)
        torch.normal = wrap("normal", normal)
        return self

    def __exit__(self, *exc):
        np.random.choice, np.random.uniform, torch.normal = self.saved


def attribute(model, x, refs, classes, n, stdev, replay=None):
    with Recorder(replay) as rec:
        a, delta = GradientShap(model).attribute(x, baselines=refs, n_samples=n, stdevs=stdev,
                                                 target=classes, return_convergence_delta=True)
    for k, v in rec.got.items():
        if len(v) != 1:
            raise SystemExit("Captum called %s %d times, expected once" % (k, len(v)))
    return a.detach(), delta.detach(), rec.got


def run(name, weights):
    t0 = time.time()
    model = models.load(name, weights).eval()
    model64 = models.load(name, weights).double().eval()
    xs, logits = models.golden(name)
    xs, logits = xs[:N_IMAGES], logits[:N_IMAGES]
    classes = [int(c) for c in logits.argmax(axis=1)]
    x = models.nhwc_to_nchw(xs)
    refs_nhwc = np.load(REFS).astype(np.float32)
    refs = models.nhwc_to_nchw(refs_nhwc)
    diff, _ = models.logit_diff(model, name, weights)
    outdir = os.path.join(ROOT, "savedmodels", name, "golden", "peers")
    os.makedirs(outdir, exist_ok=True)
    files = {}

    def save(fname, arr, **meta):
        arr = np.asarray(arr, dtype=np.float32)
        if not np.all(np.isfinite(arr)):
            raise SystemExit("%s/%s: non-finite values" % (name, fname))
        np.save(os.path.join(outdir, fname + ".npy"), arr)
        return {"file": fname + ".npy", "shape": list(arr.shape)} | meta

    for fname, n, stdev in (("captum_gradientshap", 25, 0.0), ("captum_gradientshap_noise", 5, 0.1)):
        np.random.seed(0)
        torch.manual_seed(0)
        a, delta, got = attribute(model, x, refs, classes, n, stdev)
        idx = np.asarray(got["choice"][0])
        alphas = np.asarray(got["uniform"][0])
        noise = got["normal"][0]
        replay = {"choice": [idx], "uniform": [alphas], "normal": [noise.double()]}
        a64, _, _ = attribute(model64, x.double(), refs.double(), classes, n, stdev, replay=replay)
        draws = {"baselines": save(fname + "_draw_baselines", idx.astype(np.float32),
                                   what="reference index per row (float32 of an int), rows i*n_samples + s"),
                 "alphas": save(fname + "_draw_alphas", alphas.astype(np.float32),
                                what="alpha per row: point = alpha * (input + noise) + (1 - alpha) * reference")}
        if stdev > 0:
            draws["noise"] = save(fname + "_draw_noise", to_nhwc(noise), what="noise per row, NHWC")
        files[fname] = save(
            fname, to_nhwc(a), peer="captum",
            function="captum.attr.GradientShap(model).attribute(x, baselines=B, n_samples=%d, stdevs=%g, "
                     "target=classes, return_convergence_delta=True)" % (n, stdev),
            parameters={"n_samples": n, "stdevs": stdev, "multiply_by_inputs": True,
                        "baselines": "savedmodels/samples/fmnist_background_16.npy"},
            draws=draws,
            convergence_delta_per_row_max_abs=rnd(delta.abs().max(), 3),
            checks={"float64_max_abs_difference": rnd((a.double() - a64).abs().max(), 3)})
        print("  %-28s n_samples %d stdevs %g, float64 diff %.3g" % (
            fname, n, stdev, files[fname]["checks"]["float64_max_abs_difference"]), flush=True)
    # Captum's own draws, many samples: the mean the toolkit's own draws converge to.
    np.random.seed(1)
    torch.manual_seed(1)
    parts = [GradientShap(model).attribute(x[i:i + 1], baselines=refs, n_samples=400, stdevs=0.0,
                                           target=classes[i]).detach() for i in range(N_IMAGES)]
    fname = "captum_gradientshap_400"
    files[fname] = save(fname, to_nhwc(torch.cat(parts)), peer="captum",
                        function="captum.attr.GradientShap(model).attribute(x[i:i+1], baselines=B, n_samples=400, "
                                 "stdevs=0, target=classes[i]) image by image, np.random.seed(1), "
                                 "torch.manual_seed(1)",
                        parameters={"n_samples": 400, "stdevs": 0.0, "multiply_by_inputs": True,
                                    "baselines": "savedmodels/samples/fmnist_background_16.npy"},
                        draws="Captum's own (not exported)")
    print("  %-28s n_samples 400, Captum's own draws" % fname, flush=True)
    manifest = {
        "model": name,
        "generated_by": "bench/torch/gradshap_goldens.py (make gradshap-goldens)",
        "versions": VERSIONS,
        "inputs": "savedmodels/%s/golden/inputs.npy, all 8 images (NHWC [8,28,28,1] in [0,1]), fed as NCHW" % name,
        "classes": classes,
        "target": "the class logit (the copies end in logits)",
        "torch_copy_logits_vs_golden_max_abs": rnd(diff, 3),
        "semantics": "GradientShap = NoiseTunnel(smoothgrad) over InputBaselineXGradient with "
                     "draw_baseline_from_distrib: per row r = i*n + s, input~ = input_i + noise_r, "
                     "point = alpha_r * input~ + (1 - alpha_r) * B[index_r] (float32), attribution = mean over s of "
                     "(input~ - B[index_r]) * d logit / d point",
        "layout": "maps NHWC [8,28,28,1]; draws per row of Captum's expanded batch",
        "files": files,
    }
    with open(os.path.join(outdir, "captum_gradshap_manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    print("%s: %.0f s" % (name, time.time() - t0), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="*", default=models.MODELS)
    ap.add_argument("--weights", default=models.DEFAULT_WEIGHTS)
    args = ap.parse_args()
    torch.set_num_threads(2)
    for name in args.models:
        run(name, args.weights)


if __name__ == "__main__":
    main()
