#!/usr/bin/env python3
"""Peer goldens for issue 21: Guided IG and Blur IG of PAIR saliency 0.2.1 on tf_keras copies of the zoo.

Run in the peer venv (bench/setup.sh; or `make pair-goldens`):

    bench/.venv/bin/python bench/pair_goldens.py [MODEL ...]

For each of fmnist_vgg, fmnist_resnet, fmnist_gap: PAIR calls the SavedModel itself (tf.saved_model.load, its
serving signature's logits), and, as a check recorded in the manifest, a tf_keras (Keras 2) twin with every weight
copied by name (bench/peers.py's copy_weights; the twins of fmnist_resnet and fmnist_gap are built here, from
savedmodels/build_zoo.py's architectures), both checked against golden/logits.npy. The 8 images of
savedmodels/<m>/golden/inputs.npy (test images of savedmodels/samples/fmnist_test_1000.npz), the class explained =
argmax of golden/logits.npy. PAIR calls call_model_function with a batch of points; it returns the gradient of the
class LOGIT (the toolkit's default score) with respect to the input. Writes float32 maps (PAIR's GetMask output, NHWC
[8,28,28,1]) into savedmodels/<m>/golden/peers/pair_<name>.npy and savedmodels/<m>/golden/peers/pair_manifest.json
with every parameter (defaults read from the installed source) and the versions.
"""
import importlib.metadata as md
import inspect
import json
import os
import sys
import time

os.environ["TF_USE_LEGACY_KERAS"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import zoo_twins  # noqa: E402  (before peers, which takes bench/ off sys.path)
import peers  # noqa: E402

import saliency.core as saliency  # noqa: E402

MODELS = ["fmnist_vgg", "fmnist_resnet", "fmnist_gap"]
VERSIONS = {p: md.version(p) for p in ("saliency", "tensorflow-cpu", "tf_keras", "numpy", "scipy")}


def rnd(v, digits=6):
    return float("%.*g" % (digits, float(v)))


def defaults(fn):
    return {k: p.default for k, p in inspect.signature(fn).parameters.items()
            if p.default is not inspect.Parameter.empty and isinstance(p.default, (int, float, bool, type(None)))}


def gradient_fn(forward):
    """call_model_function's gradient: of the class logit of forward(x) with respect to x."""
    @tf.function(reduce_retracing=True)
    def grads(x, c):
        with tf.GradientTape() as tape:
            tape.watch(x)
            score = tf.reduce_sum(forward(x)[:, c])
        return tape.gradient(score, x)
    return grads


def machine():
    """The CPU the goldens were computed on: Guided IG's path depends on the last bits of its kernels."""
    cpu, flags = "", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k.strip() == "model name" and not cpu:
                    cpu = v.strip()
                elif k.strip() == "flags" and not flags:
                    flags = set(v.split())
    except OSError:
        pass
    return {"cpu": cpu, "avx512f": "avx512f" in flags, "avx2": "avx2" in flags,
            "ONEDNN_MAX_CPU_ISA": os.environ.get("ONEDNN_MAX_CPU_ISA", "")}


def jobs():
    """(file, description, PAIR object, GetMask parameters, the toolkit's options)"""
    return [
        ("pair_guided_ig", "GuidedIG().GetMask with its defaults and a black (zero) baseline",
         saliency.GuidedIG(), {"x_baseline": "zeros", "x_steps": 200, "fraction": 0.25, "max_dist": 0.02},
         {"steps": 200, "fraction": 0.25, "max_dist": 0.02, "baseline": "black"}),
        ("pair_guided_ig_unbounded", "GuidedIG().GetMask as in PAIR's examples notebook: x_steps 25, max_dist 1.0, "
         "fraction 0.5, zero baseline",
         saliency.GuidedIG(), {"x_baseline": "zeros", "x_steps": 25, "fraction": 0.5, "max_dist": 1.0},
         {"steps": 25, "fraction": 0.5, "max_dist": 1.0, "baseline": "black"}),
        ("pair_blur_ig", "BlurIG().GetMask with its defaults",
         saliency.BlurIG(), {"max_sigma": 50, "steps": 100, "grad_step": 0.01, "sqrt": False, "batch_size": 1},
         {}),
        ("pair_blur_ig_sqrt", "BlurIG().GetMask with sqrt=True, max_sigma 10, steps 50 (batch_size 1: PAIR "
         "multiplies a whole batch by the last point's sigma step, which differs between points under sqrt)",
         saliency.BlurIG(), {"max_sigma": 10, "steps": 50, "grad_step": 0.01, "sqrt": True, "batch_size": 1},
         {"max_sigma": 10, "steps": 50, "sqrt": True}),
    ]


# TRACED: the images whose Guided IG path is recorded, per job: the gradient PAIR was given at every step and the
# float64 sums of the point it asked at (Σx, Σx²). Replaying the gradients through the toolkit's path rule must give
# PAIR's points and map on any machine; the toolkit's gradient at those points is compared with TensorFlow's there.
TRACED = {"pair_guided_ig": [0, 3], "pair_guided_ig_unbounded": list(range(8))}


def masks(forward, xs, classes, obj, params, trace=()):
    """PAIR's GetMask of each image with forward's class-logit gradient; completeness; gradient calls; for the
    images in trace, the gradient of every call and the float64 (Σx, Σx²) of the point it was asked at."""
    grads = gradient_fn(forward)
    calls = {"n": 0, "rows": 0}
    rec = {"on": False, "grads": [], "sums": []}

    def call_model_function(x_batch, call_model_args=None, expected_keys=None):
        calls["n"] += 1
        calls["rows"] += len(x_batch)
        x = tf.convert_to_tensor(np.asarray(x_batch), dtype=tf.float32)
        g = grads(x, tf.constant(call_model_args)).numpy()
        if rec["on"]:
            x64 = np.asarray(x_batch, dtype=np.float64)
            rec["grads"][-1].append(g[0])
            rec["sums"][-1].append([x64.sum(), (x64 * x64).sum()])
        return {saliency.INPUT_OUTPUT_GRADIENTS: g}

    def score(x, c):
        return float(forward(tf.constant(np.asarray(x, np.float32)[None])).numpy()[0, c])

    out, comp = [], []
    for i, x in enumerate(xs):
        kw = dict(params)
        if "x_baseline" in kw:
            kw["x_baseline"] = np.zeros_like(x)
        rec["on"] = i in trace
        if rec["on"]:
            rec["grads"].append([])
            rec["sums"].append([])
        m = obj.GetMask(x, call_model_function, classes[i], **kw)
        out.append(np.asarray(m, dtype=np.float32))
        if isinstance(obj, saliency.GuidedIG):
            start = score(np.zeros_like(x), classes[i])
        else:
            start = score(saliency.blur_ig.gaussian_blur(x, float(params["max_sigma"])), classes[i])
        comp.append({"sum": rnd(np.sum(m, dtype=np.float64)), "score_delta": rnd(score(x, classes[i]) - start)})
    traced = None
    if trace:
        traced = (np.asarray(rec["grads"], np.float32), np.asarray(rec["sums"], np.float64))
    return np.stack(out).astype(np.float32), comp, calls, traced


def run(name):
    t0 = time.time()
    path = os.path.join(ROOT, "savedmodels", name)
    loaded = tf.saved_model.load(path)  # kept alive: the signature reads its variables
    sig = loaded.signatures["serving_default"]
    key = list(sig.structured_outputs)[0]
    saved = lambda x: sig(image=x)[key]  # noqa: E731 (the SavedModel's logits)
    twin = peers.copy_weights(zoo_twins.build(name), path)
    keras_fwd = lambda x: twin(x, training=False)  # noqa: E731
    g = os.path.join(path, "golden")
    xs = np.load(os.path.join(g, "inputs.npy")).astype(np.float32)[:8]
    want = np.load(os.path.join(g, "logits.npy"))[:8]
    diffs = {}
    for src, fwd in (("savedmodel", saved), ("tf_keras", keras_fwd)):
        diffs[src] = float(np.abs(fwd(tf.constant(xs)).numpy() - want).max())
        if diffs[src] > 1e-4:
            raise SystemExit("%s: %s logits differ from golden/logits.npy by %g" % (name, src, diffs[src]))
    classes = [int(c) for c in want.argmax(1)]
    outdir = os.path.join(g, "peers")
    os.makedirs(outdir, exist_ok=True)
    files = {}
    for fname, desc, obj, params, toolkit in jobs():
        t1 = time.time()
        arr, comp, calls, traced = masks(saved, xs, classes, obj, params, TRACED.get(fname, ()))
        secs = time.time() - t1
        twin_arr, _, _, _ = masks(keras_fwd, xs, classes, obj, params)
        r = [float(np.corrcoef(a.ravel(), b.ravel())[0, 1]) for a, b in zip(arr, twin_arr)]
        np.save(os.path.join(outdir, fname + ".npy"), arr)
        files[fname] = {"file": fname + ".npy", "shape": list(arr.shape), "peer": "saliency (PAIR)",
                        "class": "saliency.core.%s" % type(obj).__name__, "description": desc,
                        "parameters": params, "toolkit_options": toolkit,
                        "defaults_read_from_source": defaults(obj.GetMask),
                        "gradient_calls": calls["n"], "gradient_rows": calls["rows"],
                        "completeness": comp, "seconds": rnd(secs, 3),
                        "checks": {"tf_keras_twin_pearson_per_image": [rnd(v, 7) for v in r]}}
        if traced is not None:
            np.save(os.path.join(outdir, fname + "_trace_grads.npy"), traced[0])
            np.save(os.path.join(outdir, fname + "_trace_sums.npy"), traced[1])
            files[fname]["trace"] = {
                "images": TRACED[fname], "grads": fname + "_trace_grads.npy", "sums": fname + "_trace_sums.npy",
                "description": "the gradient call_model_function returned at every step of these images' paths "
                               "(float32 [images, steps, 28, 28, 1]) and the float64 (sum x, sum x^2) of the point "
                               "PAIR asked at ([images, steps, 2])"}
        print("  %-26s %s  %d calls, %.1f s; tf_keras twin Pearson min %.6f" % (
            fname, arr.shape, calls["n"], secs, min(r)), flush=True)
    manifest = {
        "model": name,
        "generated_by": "bench/pair_goldens.py (make pair-goldens)",
        "versions": VERSIONS,
        "inputs": "savedmodels/%s/golden/inputs.npy, all 8 images (NHWC [8,28,28,1] in [0,1])" % name,
        "classes": classes,
        "model_called": "the SavedModel itself: tf.saved_model.load(savedmodels/%s).signatures['serving_default'], "
                        "output %s (the logits)" % (name, key),
        "call_model_function": "gradient of the class logit with respect to the input (tf.GradientTape), the points "
                               "cast to float32; one image per call, as PAIR calls it",
        "logits_vs_golden_max_abs": {k: rnd(v, 3) for k, v in diffs.items()},
        "tf_keras_twin": "checks.tf_keras_twin_pearson_per_image: the same GetMask on a tf_keras (Keras 2) twin with "
                         "the weights copied by name (bench/peers.py). The twin's batch normalization "
                         "(FusedBatchNormV3) rounds differently from the SavedModel's Rsqrt/Mul/AddV2, by an ulp; "
                         "where a max-pool window holds equal maxima (dark regions of the scaled images) that "
                         "flips which one takes the gradient, and Guided IG, which picks features by the rank of "
                         "their gradients, then walks another path: on fmnist_resnet and fmnist_gap the twin's "
                         "maps differ from the SavedModel's as much as from the toolkit's. The goldens call the "
                         "SavedModel, whose gradients the toolkit's equal at every point of the path",
        "blur": "PAIR 0.2.1's gaussian_blur: scipy.ndimage.gaussian_filter(image, sigma=[s, s, 0], "
                "mode='constant') (cval 0, truncate 4.0); sigma 0 returns the image",
        "layout": "NHWC [8,28,28,1], GetMask's output as is (no abs, no channel sum)",
        "machine": machine(),
        "files": files,
    }
    with open(os.path.join(outdir, "pair_manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    print("%s: %d maps, %.0f s" % (name, len(files), time.time() - t0), flush=True)


def main():
    tf.config.threading.set_intra_op_parallelism_threads(2)
    for name in sys.argv[1:] or MODELS:
        run(name)


if __name__ == "__main__":
    main()
