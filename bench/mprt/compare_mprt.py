#!/usr/bin/env python3
"""Wall time of the cascading model-parameter randomization test (MPRT, Adebayo et al. 2018):
`saliency run` versus Quantus 0.6.0's `quantus.MPRT`, the same work on both sides.

Usage (peer venv, see bench/setup.sh):

    bench/.venv/bin/python bench/mprt/compare_mprt.py --model fmnist_resnet [--images 10] [--methods ...]

What is compared, for one model (fmnist_vgg, fmnist_resnet, or resnet50 with random weights at
224x224x3) and N Fashion-MNIST test images (for resnet50 the Quantus side takes the run's own
inputs/resnet50.npy: the images resized and made RGB as our run fed them):

* Ours: an experiment YAML written to bench/mprt/out/<model>.yaml (the model, `data: {source:
  fashion-mnist, count: N}`, `batch: N`, the methods, one randomization test with `modes:
  [cascading]`, `metrics: [spearman]`). `bin/saliency run -no-report -threads 2` is timed as a
  subprocess (everything: start-up, model loading, the plan, every unit), then `bin/saliency
  report` separately. Peak RSS from wait4() of each subprocess.
  Note: `data: {source: fashion-mnist, count: N}` draws N images with the experiment's seed (not
  the first N); the Quantus side reads the indices from the run's plan.json, so both sides see
  exactly the same images.
* Quantus: the SavedModel rebuilt as a tf_keras (Keras 2) model with its weights copied by name
  (checked against savedmodels/<model>/golden to 1e-4), TF threads intra 2 / inter 1. One
  `quantus.MPRT(layer_order="top_down", similarity_func=correlation_spearman, abs=False)` call
  per method (how Quantus is used), y = the predicted classes, batch_size = N, with an
  explain_func of @tf.function + tf.GradientTape functions (cached per model object, so they
  are traced once for the original model and once for Quantus' clone in every call). The total
  over the methods is timed with time.perf_counter: model loading is excluded; Quantus' model
  cloning, layer randomization, tracing and similarity are included. Peak RSS: VmHWM of this
  process, reset (clear_refs) just before the Quantus part.

Randomization. Quantus 0.6.0's TensorFlowModel.get_random_layer_generator clones the model with
keras.models.clone_model (which gives the clone FRESHLY INITIALISED weights: the trained weights
are not copied), takes the layers with weights (len(get_weights()) > 0: Conv2D, Dense and
BatchNormalization, whose 4 tensors gamma, beta, moving mean and moving variance all count),
reversed for top_down, and for each layer sets every weight tensor to np.random.permutation(w)
with np.random.seed(seed + 1) (the same seed for every layer): a shuffle along the first axis
only (kernel rows of a conv kernel; the whole vector for biases and BN tensors). The closest of
ours is `distribution: permutation` (every element of kernels, biases, BN scale and shift
shuffled; BN moving statistics kept), the default here (--distribution changes it). With
--fix-quantus-clone the clone gets the trained weights first (one set_weights per MPRT call),
which is what the test is meant to do; the timing is the same within noise.

The Grad-CAM layer is the same on both sides: --layer, default conv2_2 (fmnist_vgg, its last
conv layer) and block3_out (fmnist_resnet: the output of its last conv block, our default CAM
layer; Quantus has no Grad-CAM of its own).

Writes bench/mprt/out/<model>.json with the timings, layer counts, map counts and peak RSS.
"""
import argparse
import contextlib
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import time

os.environ["TF_USE_LEGACY_KERAS"] = "1"  # tf.keras = tf_keras (Keras 2): what Quantus' TF path wants
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
ROOT = os.path.dirname(BENCH)
OUT = os.path.join(HERE, "out")
BIN = os.path.join(ROOT, "bin", "saliency")
FMNIST = "/usr/share/datasets/fashion-mnist"
sys.path.insert(0, BENCH)
import peers  # noqa: E402  (the tf_keras twins, weight copying, peak RSS)

METHODS = ["gradient", "gradient-x-input", "guided-backprop", "gradcam", "guided-gradcam"]
CAM_LAYER = {"fmnist_vgg": "conv2_2", "fmnist_resnet": "block3_out", "resnet50": "conv5_block3_out"}
# Where each SavedModel lives; resnet50 (random weights, 224x224x3) is built by
# savedmodels/build_imagenet.py resnet50 (make bench does it).
MODEL_DIR = {"fmnist_vgg": os.path.join(ROOT, "savedmodels", "fmnist_vgg"),
             "fmnist_resnet": os.path.join(ROOT, "savedmodels", "fmnist_resnet"),
             "resnet50": os.path.join(ROOT, "savedmodels", "imagenet", "resnet50")}


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- our side

def write_yaml(model, n, methods, layer, distribution, path):
    rel = os.path.relpath(MODEL_DIR[model], os.path.dirname(path))
    lines = [
        "# Written by bench/mprt/compare_mprt.py: cascading MPRT of %s, for the Quantus comparison." % model,
        "name: mprt-%s" % model,
        "seed: 1",
        "models:",
        "  - path: %s" % rel,
        "    layer: %s" % layer,
        "data: {source: fashion-mnist, count: %d}" % n,
        "batch: %d" % n,
        "methods: [%s]" % ", ".join(methods),
        "tests:",
        "  - randomization: {modes: [cascading], distribution: %s, batchnorm: randomize}" % distribution,
        "metrics: [spearman]",
    ]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def timed_subprocess(cmd, log_path):
    """Run cmd; return (seconds, peak RSS bytes of that child, exit code)."""
    with open(log_path, "w") as lf:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=lf, stderr=subprocess.STDOUT, cwd=ROOT)
        _, status, ru = os.wait4(p.pid, 0)
        secs = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    return secs, ru.ru_maxrss * 1024, p.returncode


def run_ours(model, n, methods, layer, distribution):
    os.makedirs(OUT, exist_ok=True)
    yml = os.path.join(OUT, model + ".yaml")
    run_dir = os.path.join(OUT, model + ".run")
    write_yaml(model, n, methods, layer, distribution, yml)
    shutil.rmtree(run_dir, ignore_errors=True)
    secs_run, rss_run, rc = timed_subprocess(
        [BIN, "run", "-no-report", "-threads", "2", "-out", run_dir, yml], os.path.join(OUT, model + ".run.log"))
    if rc != 0:
        raise SystemExit("saliency run failed (%d): see %s" % (rc, os.path.join(OUT, model + ".run.log")))
    secs_rep, rss_rep, rc = timed_subprocess([BIN, "report", run_dir], os.path.join(OUT, model + ".report.log"))
    if rc != 0:
        raise SystemExit("saliency report failed (%d): see %s" % (rc, os.path.join(OUT, model + ".report.log")))
    with open(os.path.join(run_dir, "plan.json")) as f:
        plan = json.load(f)
    m = plan["models"][0]
    steps = m["steps"]
    casc = [s for s in steps if s.get("mode") == "cascading"]
    layers = [s["layers"][-1] for s in casc]
    # maps: every unit is one model x step x method x batch of images
    units = 0
    maps = 0
    for root, _, files in os.walk(os.path.join(run_dir, "units")):
        for fn in files:
            if fn.startswith("batch-") and fn.endswith(".json"):
                units += 1
                import numpy as np
                maps += int(np.load(os.path.join(root, fn[:-5] + ".npy"), mmap_mode="r").shape[0])
    idx = [int(re.search(r"\[(\d+)\]$", im["source"]).group(1)) for im in plan["images"]]
    return dict(yaml=yml, run_dir=run_dir, seconds_run=secs_run, seconds_report=secs_rep,
                rss_run=rss_run, rss_report=rss_rep, layers=layers, steps=len(steps), units=units,
                maps=maps, indices=idx, classes=m["classes"], layer=m.get("layer"),
                similarity=last_step_similarity(run_dir))


def last_step_similarity(run_dir):
    """Mean Spearman per method after every layer is randomized (the last cascading step), from
    the report's tables/similarity.json."""
    path = os.path.join(run_dir, "tables", "similarity.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        rows = json.load(f)
    best = {}
    for r in rows:
        if r.get("metric") == "spearman" and r.get("mode") == "cascading":
            m = r["method"]
            if m not in best or r["step"] > best[m]["step"]:
                best[m] = r
    return {m: r["mean"] for m, r in best.items()} or None


# ---------------------------------------------------------------- the Quantus side: model

def build_resnet_tfkeras():
    """savedmodels/build_zoo.py build_resnet, layer for layer, in tf_keras."""
    import tf_keras as keras
    from tf_keras import layers
    inp = keras.Input((28, 28, 1), name="image")
    x = layers.Conv2D(16, 3, padding="same", use_bias=False, name="stem_conv")(inp)
    x = layers.BatchNormalization(name="stem_bn")(x)
    x = layers.ReLU(name="stem_relu")(x)

    def block(x, filters, stride, name):
        shortcut = x
        y = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False, name=name + "_conv1")(x)
        y = layers.BatchNormalization(name=name + "_bn1")(y)
        y = layers.ReLU(name=name + "_relu1")(y)
        y = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=name + "_conv2")(y)
        y = layers.BatchNormalization(name=name + "_bn2")(y)
        if stride != 1 or shortcut.shape[-1] != filters:
            shortcut = layers.Conv2D(filters, 1, strides=stride, use_bias=False, name=name + "_proj")(shortcut)
            shortcut = layers.BatchNormalization(name=name + "_proj_bn")(shortcut)
        y = layers.Add(name=name + "_add")([y, shortcut])
        return layers.ReLU(name=name + "_out")(y)

    x = block(x, 16, 1, "block1")
    x = block(x, 32, 2, "block2")
    x = block(x, 64, 2, "block3")
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    out = layers.Dense(10, name="predictions")(x)
    return keras.Model(inp, out, name="fmnist_resnet")


def load_tfkeras(name):
    """The tf_keras twin with every weight copied by variable name from the SavedModel."""
    if name == "fmnist_vgg":
        model = peers.build_keras(name)
    elif name == "fmnist_resnet":
        model = build_resnet_tfkeras()
    elif name == "resnet50":
        model = peers.build_keras(name)  # keras.applications.ResNet50 in tf_keras, logits out
    else:
        raise SystemExit("unknown model %r" % name)
    return peers.copy_weights(model, MODEL_DIR[name])


def verify_golden(model, name):
    import numpy as np
    g = os.path.join(MODEL_DIR[name], "golden")
    x = np.load(os.path.join(g, "inputs.npy"))
    want = np.load(os.path.join(g, "logits.npy"))
    got = model(x, training=False).numpy()
    d = float(np.abs(got - want).max())
    if d > 1e-4:
        raise SystemExit("%s: the tf_keras rebuild's logits differ from golden/logits.npy by %g" % (name, d))
    return d


def read_fmnist(indices):
    import numpy as np

    def idx(fn):
        with gzip.open(os.path.join(FMNIST, fn), "rb") as f:
            raw = f.read()
        nd = raw[3]
        dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(nd)]
        return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * nd).reshape(dims)
    x = idx("t10k-images-idx3-ubyte.gz")[indices].astype(np.float32) / 255.0
    y = idx("t10k-labels-idx1-ubyte.gz")[indices].astype(np.int64)
    return x[..., None], y


# ---------------------------------------------------------------- the Quantus side: explain_func

class Explainer:
    """explain_func(model, inputs, targets) -> [N,H,W,1] for one method; the tf.functions are
    built per model object (Quantus passes the original model, then its one clone whose weights
    it changes in place, so each is traced once per MPRT call)."""

    def __init__(self, method, layer):
        import tensorflow as tf
        import tf_keras
        self.tf, self.keras = tf, tf_keras
        self.method, self.layer = method, layer
        self.cache = {}
        self.calls = 0
        self.patched = []  # ReLUs given the guided rule, per traced model (a check)

        @tf.custom_gradient
        def guided_relu(x):
            def grad(dy):
                return dy * tf.cast(dy > 0, dy.dtype) * tf.cast(x > 0, dy.dtype)
            return tf.nn.relu(x), grad
        self.guided_relu = guided_relu

    @contextlib.contextmanager
    def guided(self, model):
        """ReLUs of the model back-propagate Springenberg's guided rule while tracing."""
        undo = []
        for layer in model.layers:
            act = getattr(layer, "activation", None)
            if act is not None and getattr(act, "__name__", "") == "relu":
                undo.append((layer, "activation", act))
                layer.activation = self.guided_relu
            elif isinstance(layer, self.keras.layers.ReLU):
                undo.append((layer, "call", None))
                layer.call = lambda x, *a, **k: self.guided_relu(x)
        self.patched.append(len(undo))
        try:
            yield
        finally:
            for layer, attr, old in undo:
                if old is None:
                    del layer.__dict__[attr]
                else:
                    setattr(layer, attr, old)

    def build(self, model):
        tf = self.tf
        hwc = tuple(int(d) for d in model.input_shape[1:])
        X = tf.TensorSpec([None, *hwc], tf.float32)
        C = tf.TensorSpec([None], tf.int32)
        method = self.method

        def pick(y, c):
            return tf.reduce_sum(tf.gather(y, c, axis=1, batch_dims=1))

        def grad(x, c, guided=False):
            with tf.GradientTape() as t:
                t.watch(x)
                if guided:
                    with self.guided(model):
                        y = model(x, training=False)
                else:
                    y = model(x, training=False)
                s = pick(y, c)
            return t.gradient(s, x)

        feat = None
        if method in ("gradcam", "guided-gradcam"):
            feat = self.keras.Model(model.inputs, [model.get_layer(self.layer).output, model.output])

        def gradcam(x, c):
            with tf.GradientTape() as t:
                a, y = feat(x, training=False)
                s = pick(y, c)
            g = t.gradient(s, a)
            w = tf.reduce_mean(g, axis=(1, 2), keepdims=True)
            m = tf.nn.relu(tf.reduce_sum(w * a, axis=-1, keepdims=True))
            return tf.image.resize(m, hwc[:2], method="bilinear")

        @tf.function(input_signature=[X, C])
        def fn(x, c):
            if method == "gradient":
                return grad(x, c)
            if method == "gradient-x-input":
                return grad(x, c) * x
            if method == "guided-backprop":
                return grad(x, c, guided=True)
            if method == "gradcam":
                return gradcam(x, c)
            if method == "guided-gradcam":
                return grad(x, c, guided=True) * gradcam(x, c)
            raise ValueError("unknown method %r" % method)
        return fn

    def __call__(self, model, inputs, targets, **kwargs):
        self.calls += 1
        key = id(model)
        hit = self.cache.get(key)
        if hit is None or hit[0] is not model:
            hit = (model, self.build(model))
            self.cache[key] = hit
        # Quantus works channel-first inside (x_batch [N,C,H,W]) and hands the raw Keras model
        # inputs in that layout: back to the model's NHWC, and the map to the caller's layout.
        want = tuple(int(d) for d in model.input_shape[1:])
        first = inputs.ndim == 4 and tuple(inputs.shape[1:]) != want and \
            tuple(inputs.shape[1:]) == (want[2], want[0], want[1])
        if first:
            inputs = inputs.transpose(0, 2, 3, 1)
        x = self.tf.convert_to_tensor(inputs, self.tf.float32)
        c = self.tf.convert_to_tensor(targets, self.tf.int32)
        a = hit[1](x, c).numpy()
        if a.shape[-1] != 1:
            a = a.sum(axis=-1, keepdims=True)
        return a.transpose(0, 3, 1, 2) if first else a


def run_quantus(model_name, indices, ours_classes, methods, layer, fix_clone, run_dir):
    import numpy as np
    import tensorflow as tf
    tf.get_logger().setLevel("ERROR")  # the per-call tf.function tracing is expected: Quantus clones per call
    tf.config.threading.set_intra_op_parallelism_threads(2)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import quantus
    from quantus.helpers.model import tf_model as qtf
    from quantus.functions.similarity_func import correlation_spearman

    if fix_clone:
        orig_clone = qtf.clone_model

        def clone_with_weights(m, *a, **k):
            c = orig_clone(m, *a, **k)
            c.set_weights(m.get_weights())
            return c
        qtf.clone_model = clone_with_weights

    t0 = time.perf_counter()
    model = load_tfkeras(model_name)
    golden_diff = verify_golden(model, model_name)
    x, labels = read_fmnist(indices)
    if tuple(x.shape[1:]) != tuple(int(d) for d in model.input_shape[1:]):
        # Not a 28x28 model: the run's own inputs (the images as the model saw them: resized, gray
        # to RGB, and x = pixel/255, which is the card's whole preprocessing for random weights).
        x = np.load(os.path.join(run_dir, "inputs", model_name + ".npy")).astype(np.float32)
        if x.ndim == 3:
            x = x[..., None]
        if tuple(x.shape[1:]) != tuple(int(d) for d in model.input_shape[1:]):
            raise SystemExit("%s: the run's inputs have shape %s, the model wants %s"
                             % (model_name, x.shape, model.input_shape))
    y = np.argmax(model(x, training=False).numpy(), axis=1).astype(np.int64)
    load_secs = time.perf_counter() - t0
    if ours_classes is not None and list(map(int, y)) != list(map(int, ours_classes)):
        log("WARNING: predicted classes differ from our run's: %s vs %s" % (y.tolist(), ours_classes))

    rss_reset = peers.reset_peak_rss()
    per_method = {}
    sims = {}
    explainers = {}
    t_all = time.perf_counter()
    for m in methods:
        ex = Explainer(m, layer)
        metric = quantus.MPRT(layer_order="top_down", similarity_func=correlation_spearman, abs=False,
                              seed=42, disable_warnings=True, display_progressbar=False)
        t = time.perf_counter()
        scores = metric(model=model, x_batch=x, y_batch=y, a_batch=None, channel_first=False,
                        explain_func=ex, explain_func_kwargs={}, batch_size=len(x))
        per_method[m] = time.perf_counter() - t
        keys = list(scores)
        last = float(np.mean(scores[keys[-1]]))  # NaN when a map is constant (e.g. Grad-CAM all zero)
        sims[m] = last if np.isfinite(last) else None
        explainers[m] = ex
        log("quantus %-16s %.2f s (%d explain calls, %d layer keys%s)" % (
            m, per_method[m], ex.calls, len(keys) - 1,
            ", guided ReLUs per trace %s" % ex.patched if ex.patched else ""))
    total = time.perf_counter() - t_all
    rss = peers.peak_rss_bytes()

    # What the layer generator yields (untimed, after the timing): the randomized layers.
    wrapped = qtf.TensorFlowModel(model=model, channel_first=False)
    yielded = [name for name, _ in wrapped.get_random_layer_generator(order="top_down", seed=42)]
    return dict(seconds=total, per_method=per_method, load_seconds=load_secs, golden_logits_diff=golden_diff,
                rss=rss, rss_reset=rss_reset, layers=yielded, generator_length=wrapped.random_layer_generator_length,
                explain_calls={m: e.calls for m, e in explainers.items()}, classes=y.tolist(),
                labels=labels.tolist(), similarity=sims, layer_keys=keys[1:])


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, choices=sorted(CAM_LAYER))
    ap.add_argument("--images", type=int, default=10)
    ap.add_argument("--methods", nargs="+", default=METHODS, choices=METHODS)
    ap.add_argument("--layer", help="Grad-CAM layer (default: %s)" % CAM_LAYER)
    ap.add_argument("--distribution", default="permutation", choices=["permutation", "reinit", "gaussian"],
                    help="our randomization distribution (default permutation: the closest to Quantus' TF path)")
    ap.add_argument("--fix-quantus-clone", action="store_true",
                    help="give Quantus' clone the trained weights before randomizing (Quantus 0.6.0 does not)")
    args = ap.parse_args()
    layer = args.layer or CAM_LAYER[args.model]

    log("ours: saliency run ...")
    ours = run_ours(args.model, args.images, args.methods, layer, args.distribution)
    log("ours: run %.2f s, report %.2f s, %d units, %d maps, %d cascading layers"
        % (ours["seconds_run"], ours["seconds_report"], ours["units"], ours["maps"], len(ours["layers"])))

    log("quantus: MPRT ...")
    q = run_quantus(args.model, ours["indices"], ours["classes"], args.methods, layer, args.fix_quantus_clone,
                    ours["run_dir"])

    n = args.images
    q_maps = sum(q["explain_calls"].values()) * n  # one call per batch of N images
    if ours["layers"] != q["layers"]:
        log("LAYERS DIFFER: ours %d %s\n               quantus %d %s"
            % (len(ours["layers"]), ours["layers"], len(q["layers"]), q["layers"]))
    res = {
        "model": args.model,
        "images": n,
        "image_indices": ours["indices"],
        "methods": args.methods,
        "cam_layer": layer,
        "distribution_ours": args.distribution,
        "distribution_quantus": "np.random.permutation of each weight tensor along its first axis, seed 43 for every "
                                "layer, on a clone_model copy" + (" given the trained weights (--fix-quantus-clone)"
                                                                  if args.fix_quantus_clone else
                                                                  " whose other weights are freshly initialised (Quantus 0.6.0 as is)"),
        "layers_ours": len(ours["layers"]),
        "layers_quantus": len(q["layers"]),
        "layer_order_ours": ours["layers"],
        "layer_order_quantus": q["layers"],
        "layers_same_order": ours["layers"] == q["layers"],
        "maps_ours": ours["maps"],
        "units_ours": ours["units"],
        "maps_quantus": q_maps,
        "seconds_ours_run": round(ours["seconds_run"], 3),
        "seconds_ours_report": round(ours["seconds_report"], 3),
        "seconds_quantus": round(q["seconds"], 3),
        "seconds_quantus_per_method": {k: round(v, 3) for k, v in q["per_method"].items()},
        "seconds_quantus_model_load_untimed": round(q["load_seconds"], 3),
        "ratio": round(ours["seconds_run"] / q["seconds"], 3),
        "peak_rss_ours_run_bytes": ours["rss_run"],
        "peak_rss_ours_report_bytes": ours["rss_report"],
        "peak_rss_quantus_bytes": q["rss"],
        "peak_rss_quantus_note": "VmHWM of the Python process, reset before the Quantus part" if q["rss_reset"]
                                 else "VmHWM of the Python process over its whole life (reset failed)",
        "predicted_classes_equal": list(map(int, q["classes"])) == list(map(int, ours["classes"])),
        "golden_logits_max_abs_diff": q["golden_logits_diff"],
        "spearman_all_layers_randomized": {"ours": ours["similarity"], "quantus": q["similarity"]},
        "threads": {"ours": "-threads 2 (intra-op)", "quantus": "intra 2, inter 1"},
    }
    path = os.path.join(OUT, args.model + ".json")
    with open(path, "w") as f:
        json.dump(res, f, indent=2)
        f.write("\n")
    print(json.dumps(res, indent=2))
    log("wrote", path)


if __name__ == "__main__":
    main()
