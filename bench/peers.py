#!/usr/bin/env python3
"""Peer worker: Python saliency tools timed on the same SavedModels as the Go side.

Usage (in the peer venv, see bench/setup.sh):

    bench/.venv/bin/python bench/peers.py --tool TOOL --model MODEL [--threads 2]
    bench/.venv/bin/python bench/peers.py --model MODEL --verify

TOOL is one of tape, xplique, tf-keras-vis, pair; MODEL one of fmnist_vgg, resnet50.

Protocol (JSON lines). After loading the model the worker writes one line
``{"ready": true, "tool", "model", "load_seconds"}`` to stdout, then reads one request per
line from stdin and answers each with exactly one line:

    request  {"method": M, "inputs": "/path/x.npy", "reps": R, "options": {...},
              "save": "/path/map.npy" (optional: the last call's map)}
    answer   {"ok": true, "times": [s, ...], "rss_peak_bytes": B, "map_shape": [...],
              "passes": {"forward": F, "backward": B} (per image, of the last call; tools
              that count them: pair, xplique's black-box methods)}
             {"ok": false, "error": "not implemented" | "<message>"}

The target class is the argmax of the logits, computed untimed. The method is prepared
(explainer objects, tf.functions, index tensors) and run once untimed (warm-up, tracing),
then R times under time.perf_counter (each time includes getting the map as numpy).
Peak RSS: VmHWM is reset (write "5" to /proc/self/clear_refs) before the preparation and
read after the reps. Everything but the protocol goes to stderr (fd 1 is redirected to
fd 2, so Keras progress bars and TF logs cannot corrupt the protocol). EOF ends with 0.

Every peer explains the LOGITS of a tf_keras (Keras 2, TF_USE_LEGACY_KERAS=1) copy of the
SavedModel: same architecture, weights copied by variable name from the SavedModel, and
for resnet50 the final Dense without softmax (what tf-keras-vis's ReplaceToLinear does).
``--verify`` checks that copy against the SavedModel's golden vectors.
"""
import argparse
import json
import os
import sys
import time

os.environ["TF_USE_LEGACY_KERAS"] = "1"  # tf.keras = tf_keras (Keras 2): what the peers need
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from protocol import log, take_stdout, serve as serve_requests, Prepared  # noqa: E402
# bench/ leaves sys.path: its torch/ folder would pass for the torch package that xplique probes
# for (its black-box explainers import xplique.wrappers, which tries `import torch`).
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != HERE]
MODELS = {
    "fmnist_vgg": os.path.join(ROOT, "savedmodels", "fmnist_vgg"),
    "resnet50": os.path.join(ROOT, "savedmodels", "imagenet", "resnet50"),
}
# Gradients (or forwards) per call when a tool lets us choose (tape chunks, xplique
# batch_size, tf-keras-vis Scorecam batch_size, PAIR IG batch_size). fmnist_vgg is tiny:
# 1024 rows of 28x28 need ~0.5 GB for backprop (256 and 1024 time the same). resnet50 keeps
# ~75 MB of activations per row for backprop; 64 rows fit (5.2 GB peak) but were SLOWER on
# this 2-core CPU than 16 (smoothgrad 50 samples, batch 1: 23 s at 64, 13 s at 16, 12 s at 5;
# peak 5.2 vs 2.3 GB), so 16. A request may override it with options["batch_size"].
BUDGET = {"fmnist_vgg": 1024, "resnet50": 16}
TOOLS = ("tape", "xplique", "tf-keras-vis", "pair")


# ---------------------------------------------------------------- models

def build_keras(name):
    """The tf_keras twin of the SavedModel's architecture, with logits output."""
    import tf_keras as keras
    from tf_keras import layers

    if name == "fmnist_vgg":  # savedmodels/build_zoo.py build_vgg
        def conv(filters, lname):
            return layers.Conv2D(filters, 3, padding="same", activation="relu", name=lname)
        inp = keras.Input((28, 28, 1), name="image")
        x = conv(16, "conv1_1")(inp)
        x = conv(16, "conv1_2")(x)
        x = layers.MaxPooling2D(name="pool1")(x)
        x = conv(32, "conv2_1")(x)
        x = conv(32, "conv2_2")(x)
        x = layers.MaxPooling2D(name="pool2")(x)
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(128, activation="relu", name="fc1")(x)
        x = layers.Dropout(0.5, name="dropout")(x)
        out = layers.Dense(10, name="predictions")(x)
        return keras.Model(inp, out, name=name)
    if name == "resnet50":  # savedmodels/build_imagenet.py, softmax removed
        return keras.applications.ResNet50(weights=None, input_shape=(224, 224, 3), classes=1000,
                                           classifier_activation=None)
    raise ValueError("unknown model %r" % name)


def load_model(name):
    """Build the tf_keras model and copy every weight in, by name, from the SavedModel."""
    return copy_weights(build_keras(name), MODELS[name])


def copy_weights(model, path):
    """Copy every weight of a tf_keras model, by variable name, from the SavedModel at path."""
    import tensorflow as tf
    saved = {v.name: v for v in tf.saved_model.load(path).variables}
    values = []
    for w in model.weights:
        src = saved.get(w.name)
        if src is None:
            raise KeyError("weight %s not found in %s" % (w.name, path))
        if tuple(src.shape) != tuple(w.shape):
            raise ValueError("weight %s: shape %s vs %s" % (w.name, src.shape, w.shape))
        values.append(src.numpy())
    model.set_weights(values)
    unused = sorted(set(saved) - {w.name for w in model.weights})
    if unused:
        log("SavedModel variables not used (no weights):", unused)
    return model


def verify(name):
    """Logits and top-logit input gradient of the tf_keras twin vs the golden vectors."""
    import numpy as np
    import tensorflow as tf
    model = load_model(name)
    g = os.path.join(MODELS[name], "golden")
    x = tf.constant(np.load(os.path.join(g, "inputs.npy")))
    want_logits = np.load(os.path.join(g, "logits.npy"))
    want_grad = np.load(os.path.join(g, "grad_input.npy"))
    with tf.GradientTape() as tape:
        tape.watch(x)
        logits = model(x, training=False)
        top = tf.argmax(logits, axis=1, output_type=tf.int32)
        score = tf.reduce_sum(tf.gather(logits, top, axis=1, batch_dims=1))
    grad = tape.gradient(score, x).numpy()
    logits = logits.numpy()
    d_l = np.abs(logits - want_logits).max()
    d_g = np.abs(grad - want_grad).max()
    res = {
        "model": name, "n": int(x.shape[0]),
        "top_equal": bool((top.numpy() == want_logits.argmax(1)).all()),
        "logits_max_abs_diff": float(d_l), "logits_max_abs": float(np.abs(want_logits).max()),
        "logits_rel": float(d_l / np.abs(want_logits).max()),
        "grad_max_abs_diff": float(d_g), "grad_max_abs": float(np.abs(want_grad).max()),
        "grad_rel": float(d_g / np.abs(want_grad).max()),
    }
    sig = tf.saved_model.load(MODELS[name]).signatures["serving_default"]
    out = list(sig(x).values())[0].numpy()
    want_out = np.load(os.path.join(g, "outputs.npy"))
    res["signature_vs_golden_outputs_max_abs_diff"] = float(np.abs(out - want_out).max())
    return res


# ---------------------------------------------------------------- shared helpers

def relu_guided_clone(model, kind):
    """A copy of a tf_keras functional model whose ReLUs back-propagate the guided
    (Springenberg) or deconvnet (Zeiler) rule; the same weights."""
    import tensorflow as tf
    import tf_keras as keras

    @tf.custom_gradient
    def guided_relu(x):
        def grad(dy):
            return dy * tf.cast(dy > 0, dy.dtype) * tf.cast(x > 0, dy.dtype)
        return tf.nn.relu(x), grad

    @tf.custom_gradient
    def deconv_relu(x):
        def grad(dy):
            return tf.nn.relu(dy)
        return tf.nn.relu(x), grad

    fn = guided_relu if kind == "guided" else deconv_relu

    def clone(layer):
        cfg = layer.get_config()
        if cfg.get("activation") == "relu":
            cfg["activation"] = fn
        return layer.__class__.from_config(cfg)

    twin = keras.models.clone_model(model, clone_function=clone)
    twin.set_weights(model.get_weights())
    return twin


def sigma_per_image(x, frac):
    """Smilkov et al.: std = frac * (max - min) of each image."""
    import numpy as np
    axes = tuple(range(1, x.ndim))
    return (frac * (x.max(axis=axes) - x.min(axis=axes))).astype(np.float32)


def chunks(n_rows, budget):
    return [(s, min(n_rows, s + budget)) for s in range(0, n_rows, budget)]


# ---------------------------------------------------------------- tools
# Each tool: prepare(method, x, cls, opts) -> run() returning a numpy map, or None when the
# tool does not implement the method. prepare is untimed; run() is what is timed.

class Tool:
    def __init__(self, mname, model):
        import tensorflow as tf
        self.tf = tf
        self.mname = mname
        self.model = model
        self.hwc = tuple(int(d) for d in model.input_shape[1:])
        self.budget = BUDGET[mname]

    def logits(self, x):
        return self.model(x, training=False).numpy()

    METHODS = ()  # what the tool implements; anything else is answered "not implemented"

    def reset_passes(self):
        """Start counting the model's rows (forward, backward) of one call; None: not counted."""

    def passes(self):
        return None

    def prepare(self, method, x, cls, opts):
        fn = getattr(self, "m_" + method.replace("-", "_").replace("+", "p"), None)
        return None if fn is None else fn(x, cls, opts)


class Tape(Tool):
    """Plain @tf.function + tf.GradientTape, fixed input signatures, samples/steps/masks
    batched into calls of `budget` rows."""
    METHODS = ("forward", "gradient", "gradient-x-input", "smoothgrad", "squaregrad", "vargrad",
               "integrated-gradients", "gradcam", "gradcam++", "layercam", "guided-gradcam",
               "scorecam", "occlusion")

    def __init__(self, mname, model):
        super().__init__(mname, model)
        tf = self.tf
        X = tf.TensorSpec([None, *self.hwc], tf.float32)
        I = tf.TensorSpec([None], tf.int32)
        F = tf.TensorSpec([None], tf.float32)
        self._cam_models = {}

        @tf.function(input_signature=[X], reduce_retracing=True)
        def forward(x):
            return model(x, training=False)

        def pick(y, c):
            return tf.gather(y, c, axis=1, batch_dims=1)

        @tf.function(input_signature=[X, I], reduce_retracing=True)
        def grad(x, c):
            with tf.GradientTape() as t:
                t.watch(x)
                s = tf.reduce_sum(pick(model(x, training=False), c))
            return t.gradient(s, x)

        @tf.function(input_signature=[X, I, F, I], reduce_retracing=True)
        def noisy_grad_sums(x, c, sigma, rows):
            """Rows are image indices; one noisy copy per row. Returns per-image sums of g, g²."""
            xr = tf.gather(x, rows)
            s4 = tf.reshape(tf.gather(sigma, rows), [-1, 1, 1, 1])
            xr = xr + tf.random.normal(tf.shape(xr)) * s4
            with tf.GradientTape() as t:
                t.watch(xr)
                s = tf.reduce_sum(pick(model(xr, training=False), tf.gather(c, rows)))
            g = t.gradient(s, xr)
            n = tf.shape(x)[0]
            return (tf.math.unsorted_segment_sum(g, rows, n),
                    tf.math.unsorted_segment_sum(g * g, rows, n))

        @tf.function(input_signature=[X, I, I, F], reduce_retracing=True)
        def path_grad_sum(x, c, rows, alpha):
            xr = tf.gather(x, rows) * tf.reshape(alpha, [-1, 1, 1, 1])  # zero baseline
            with tf.GradientTape() as t:
                t.watch(xr)
                s = tf.reduce_sum(pick(model(xr, training=False), tf.gather(c, rows)))
            g = t.gradient(s, xr)
            return tf.math.unsorted_segment_sum(g, rows, tf.shape(x)[0])

        @tf.function(input_signature=[X, I, tf.TensorSpec([None, *self.hwc[:2], 1], tf.float32),
                                      I, I, F, tf.TensorSpec([], tf.float32)],
                     reduce_retracing=True)
        def occlusion_sums(x, c, masks, rows, mrows, base, fill):
            m = tf.gather(masks, mrows)
            xr = tf.gather(x, rows) * (1.0 - m) + fill * m
            y = pick(model(xr, training=False), tf.gather(c, rows))
            diff = tf.gather(base, rows) - y
            return tf.math.unsorted_segment_sum(tf.reshape(diff, [-1, 1, 1, 1]) * m, rows,
                                                tf.shape(x)[0])

        self.forward, self.grad = forward, grad
        self.noisy_grad_sums, self.path_grad_sum = noisy_grad_sums, path_grad_sum
        self.occlusion_sums = occlusion_sums

    # -- gradients
    def m_forward(self, x, cls, o):
        x = self.tf.constant(x)
        return lambda: self.forward(x).numpy()

    def m_gradient(self, x, cls, o):
        x, c = self.tf.constant(x), self.tf.constant(cls)
        return lambda: self.grad(x, c).numpy()

    def m_gradient_x_input(self, x, cls, o):
        x, c = self.tf.constant(x), self.tf.constant(cls)
        return lambda: (self.grad(x, c) * x).numpy()

    def _noise_stats(self, x, cls, o, which):
        tf = self.tf
        samples = int(o.get("samples", 50))
        sigma = tf.constant(sigma_per_image(x, float(o.get("noise", 0.15))))
        n = x.shape[0]
        rows_all = __import__("numpy").repeat(__import__("numpy").arange(n, dtype="int32"), samples)
        parts = [tf.constant(rows_all[a:b]) for a, b in chunks(len(rows_all), int(o.get("batch_size", self.budget)))]
        x, c = tf.constant(x), tf.constant(cls)

        def run():
            s1 = s2 = 0.0
            for rows in parts:
                a, b = self.noisy_grad_sums(x, c, sigma, rows)
                s1, s2 = s1 + a, s2 + b
            mean = s1 / samples
            if which == "smooth":
                return mean.numpy()
            if which == "square":
                return (s2 / samples).numpy()
            return (s2 / samples - mean * mean).numpy()
        return run

    def m_smoothgrad(self, x, cls, o):
        return self._noise_stats(x, cls, o, "smooth")

    def m_squaregrad(self, x, cls, o):
        return self._noise_stats(x, cls, o, "square")

    def m_vargrad(self, x, cls, o):
        return self._noise_stats(x, cls, o, "var")

    def m_integrated_gradients(self, x, cls, o):
        import numpy as np
        tf = self.tf
        steps = int(o.get("steps", 50))
        n = x.shape[0]
        rows_all = np.repeat(np.arange(n, dtype=np.int32), steps)
        alpha_all = np.tile((np.arange(steps, dtype=np.float32) + 1) / steps, n)  # right Riemann
        parts = [(tf.constant(rows_all[a:b]), tf.constant(alpha_all[a:b]))
                 for a, b in chunks(len(rows_all), int(o.get("batch_size", self.budget)))]
        x, c = tf.constant(x), tf.constant(cls)

        def run():
            s = 0.0
            for rows, alpha in parts:
                s = s + self.path_grad_sum(x, c, rows, alpha)
            return (x * s / steps).numpy()
        return run

    # -- CAMs
    def _cam_fn(self, layer, kind):
        key = (layer, kind)
        if key in self._cam_models:
            return self._cam_models[key]
        tf = self.tf
        import tf_keras as keras
        m = self.model
        feat = keras.Model(m.inputs, [m.get_layer(layer).output, m.output])
        X = tf.TensorSpec([None, *self.hwc], tf.float32)
        I = tf.TensorSpec([None], tf.int32)
        hw = self.hwc[:2]

        @tf.function(input_signature=[X, I], reduce_retracing=True)
        def cam(x, c):
            with tf.GradientTape() as t:
                a, y = feat(x, training=False)
                s = tf.reduce_sum(tf.gather(y, c, axis=1, batch_dims=1))
            g = t.gradient(s, a)
            if kind in ("gradcam", "guided-gradcam"):
                w = tf.reduce_mean(g, axis=(1, 2), keepdims=True)
                m_ = tf.nn.relu(tf.reduce_sum(w * a, axis=-1))
            elif kind == "gradcam++":
                g2, g3 = g * g, g * g * g
                sum_a = tf.reduce_sum(a, axis=(1, 2), keepdims=True)
                denom = 2.0 * g2 + sum_a * g3
                denom = tf.where(denom != 0.0, denom, tf.ones_like(denom))
                alphas = g2 / denom
                w = tf.reduce_sum(alphas * tf.nn.relu(g), axis=(1, 2), keepdims=True)
                m_ = tf.nn.relu(tf.reduce_sum(w * a, axis=-1))
            else:  # layercam
                m_ = tf.nn.relu(tf.reduce_sum(tf.nn.relu(g) * a, axis=-1))
            return tf.image.resize(m_[..., None], hw)[..., 0]

        self._cam_models[key] = (cam, feat)
        return self._cam_models[key]

    def _cam(self, x, cls, o, kind):
        cam, _ = self._cam_fn(o["layer"], kind)
        x, c = self.tf.constant(x), self.tf.constant(cls)
        return lambda: cam(x, c).numpy()

    def m_gradcam(self, x, cls, o):
        return self._cam(x, cls, o, "gradcam")

    def m_gradcampp(self, x, cls, o):
        return self._cam(x, cls, o, "gradcam++")

    def m_layercam(self, x, cls, o):
        return self._cam(x, cls, o, "layercam")

    def m_guided_gradcam(self, x, cls, o):
        tf = self.tf
        cam, _ = self._cam_fn(o["layer"], "gradcam")
        if not hasattr(self, "_guided_grad"):
            twin = relu_guided_clone(self.model, "guided")

            @tf.function(input_signature=[tf.TensorSpec([None, *self.hwc], tf.float32),
                                          tf.TensorSpec([None], tf.int32)], reduce_retracing=True)
            def guided_grad(x, c):
                with tf.GradientTape() as t:
                    t.watch(x)
                    s = tf.reduce_sum(tf.gather(twin(x, training=False), c, axis=1, batch_dims=1))
                return t.gradient(s, x)
            self._guided_grad = guided_grad
        x, c = tf.constant(x), tf.constant(cls)
        return lambda: (self._guided_grad(x, c) * cam(x, c)[..., None]).numpy()

    def m_scorecam(self, x, cls, o):
        """Score-CAM; with channels < K the "Faster Score-CAM" of tf-keras-vis (the channels
        of largest activation std). Weights: softmax probability of the class."""
        import numpy as np
        tf = self.tf
        _, feat = self._cam_fn(o["layer"], "gradcam")
        hw = self.hwc[:2]
        budget = int(o.get("batch_size", self.budget))
        X = tf.TensorSpec([None, *self.hwc], tf.float32)
        if not hasattr(self, "_sc_feat"):
            @tf.function(input_signature=[X], reduce_retracing=True)
            def sc_feat(x):
                return feat(x, training=False)[0]

            @tf.function(input_signature=[X, tf.TensorSpec([None, *hw], tf.float32),
                                          tf.TensorSpec([None], tf.int32),
                                          tf.TensorSpec([None], tf.int32)], reduce_retracing=True)
            def sc_scores(x, masks, rows, c):
                xr = tf.gather(x, rows) * masks[..., None]
                p = tf.nn.softmax(self.model(xr, training=False))
                return tf.gather(p, tf.gather(c, rows), axis=1, batch_dims=1)
            self._sc_feat, self._sc_scores = sc_feat, sc_scores
        n = x.shape[0]
        x, c = tf.constant(x), tf.constant(cls)

        def run():
            a = self._sc_feat(x)  # [N,h,w,K]
            k_all = a.shape[-1]
            k = int(o.get("channels", k_all))
            if k < k_all:
                std = tf.math.reduce_std(a, axis=(1, 2))
                _, idx = tf.math.top_k(std, k)
                a = tf.gather(a, idx, axis=3, batch_dims=1)
            up = tf.image.resize(a, hw)  # [N,H,W,k]
            lo = tf.reduce_min(up, axis=(1, 2), keepdims=True)
            hi = tf.reduce_max(up, axis=(1, 2), keepdims=True)
            up = (up - lo) / tf.where(hi > lo, hi - lo, tf.ones_like(hi))
            masks = tf.reshape(tf.transpose(up, [0, 3, 1, 2]), [-1, *hw])  # row = i*k + j
            rows_all = np.repeat(np.arange(n, dtype=np.int32), k)
            scores = [self._sc_scores(x, masks[s:e], tf.constant(rows_all[s:e]), c)
                      for s, e in chunks(len(rows_all), budget)]
            w = tf.reshape(tf.concat(scores, 0), [n, 1, 1, k])
            cam = tf.nn.relu(tf.reduce_sum(w * a, axis=-1))
            return tf.image.resize(cam[..., None], hw)[..., 0].numpy()
        return run

    def m_occlusion(self, x, cls, o):
        import numpy as np
        tf = self.tf
        patch, stride = int(o.get("patch", 4)), int(o.get("stride", 4))
        h, w = self.hwc[:2]
        masks = []
        for r in range(0, h - patch + 1, stride):
            for q in range(0, w - patch + 1, stride):
                m = np.zeros((h, w, 1), np.float32)
                m[r:r + patch, q:q + patch] = 1
                masks.append(m)
        p = len(masks)
        masks = tf.constant(np.stack(masks))
        n = x.shape[0]
        rows_all = np.repeat(np.arange(n, dtype=np.int32), p)
        mrows_all = np.tile(np.arange(p, dtype=np.int32), n)
        parts = [(tf.constant(rows_all[a:b]), tf.constant(mrows_all[a:b]))
                 for a, b in chunks(n * p, int(o.get("batch_size", self.budget)))]
        fill = tf.constant(float(o.get("fill", 0.0)))
        x, c = tf.constant(x), tf.constant(cls)

        def run():
            base = tf.gather(self.forward(x), c, axis=1, batch_dims=1)
            s = 0.0
            for rows, mrows in parts:
                s = s + self.occlusion_sums(x, c, masks, rows, mrows, base, fill)
            return s.numpy()
        return run


class Xplique(Tool):
    """xplique 2.0.2 explainers, built in prepare (GuidedBackprop/DeconvNet clone the model
    there), batch_size = budget (gradients or forwards per call). The black-box methods
    (issue 21: rise, sobol, hsic, lime, kernel-shap) keep Xplique's own batch sizes unless
    options["batch_size"] is given, take Xplique's parameter names as options, and explain a
    functional copy of the model that counts the rows it is called on (a variable added to in
    the graph: one scalar op per call)."""
    METHODS = ("gradient", "gradient-x-input", "smoothgrad", "squaregrad", "vargrad",
               "integrated-gradients", "guided-backprop", "deconvnet", "gradcam", "gradcam++",
               "occlusion", "rise", "sobol", "hsic", "lime", "kernel-shap")
    BLACKBOX = ("rise", "sobol", "hsic", "lime", "kernel-shap")

    def __init__(self, mname, model):
        super().__init__(mname, model)
        tf = self.tf
        import tf_keras as keras
        rows = self.rows = tf.Variable(0, dtype=tf.int64, trainable=False)

        class CountRows(keras.layers.Layer):
            def call(self, x):
                rows.assign_add(tf.cast(tf.shape(x)[0], tf.int64))
                return tf.identity(x)

        inp = keras.Input(self.hwc)
        self.counting = keras.Model(inp, model(CountRows()(inp), training=False))
        self._counted = False

    def reset_passes(self):
        self.rows.assign(0)

    def passes(self):
        if not self._counted:
            return None
        return {"forward": int(self.rows.numpy()), "backward": 0}

    def _blackbox(self, method, x, cls, o):
        import numpy as np
        import xplique.attributions as xa
        tf = self.tf
        m = self.counting
        bsk = {"batch_size": int(o["batch_size"])} if "batch_size" in o else {}
        if method == "rise":
            e = xa.Rise(m, nb_samples=int(o.get("nb_samples", 4000)), grid_size=int(o.get("grid_size", 7)),
                        preservation_probability=float(o.get("preservation_probability", 0.5)), **bsk)
        elif method == "sobol":
            e = xa.SobolAttributionMethod(m, grid_size=int(o.get("grid_size", 8)),
                                          nb_design=int(o.get("nb_design", 32)), **bsk)
        elif method == "hsic":
            e = xa.HsicAttributionMethod(m, grid_size=int(o.get("grid_size", 8)),
                                         nb_design=int(o.get("nb_design", 500)), **bsk)
        elif method == "lime":
            e = xa.Lime(m, nb_samples=int(o.get("nb_samples", 150)), **bsk)
        else:
            e = xa.KernelShap(m, nb_samples=int(o.get("nb_samples", 800)), **bsk)
        self._counted = True
        targets = tf.one_hot(cls, int(m.output_shape[-1]))
        xt = tf.constant(x)
        return lambda: np.asarray(e.explain(xt, targets))

    def prepare(self, method, x, cls, o):
        import numpy as np
        import xplique.attributions as xa
        tf = self.tf
        self._counted = False
        if method in self.BLACKBOX:
            return self._blackbox(method, x, cls, o)
        bs = int(o.get("batch_size", self.budget))
        m = self.model
        noise = float(o.get("noise", 0.15)) * float(x.max() - x.min())  # xplique: absolute std
        samples = int(o.get("samples", 50))
        make = {
            "gradient": lambda: xa.Saliency(m, batch_size=bs),
            "gradient-x-input": lambda: xa.GradientInput(m, batch_size=bs),
            "smoothgrad": lambda: xa.SmoothGrad(m, batch_size=bs, nb_samples=samples, noise=noise),
            "squaregrad": lambda: xa.SquareGrad(m, batch_size=bs, nb_samples=samples, noise=noise),
            "vargrad": lambda: xa.VarGrad(m, batch_size=bs, nb_samples=samples, noise=noise),
            "integrated-gradients": lambda: xa.IntegratedGradients(
                m, batch_size=bs, steps=int(o.get("steps", 50)), baseline_value=0.0),
            "guided-backprop": lambda: xa.GuidedBackprop(m, batch_size=bs),
            "deconvnet": lambda: xa.DeconvNet(m, batch_size=bs),
            "gradcam": lambda: xa.GradCAM(m, batch_size=bs, conv_layer=o["layer"]),
            "gradcam++": lambda: xa.GradCAMPP(m, batch_size=bs, conv_layer=o["layer"]),
            "occlusion": lambda: xa.Occlusion(m, batch_size=bs, patch_size=int(o.get("patch", 4)),
                                              patch_stride=int(o.get("stride", 4)),
                                              occlusion_value=float(o.get("fill", 0.0))),
        }
        if method not in make:
            return None
        explainer = make[method]()
        n_cls = int(m.output_shape[-1])
        targets = tf.one_hot(cls, n_cls)
        xt = tf.constant(x)
        return lambda: np.asarray(explainer.explain(xt, targets))


class TfKerasVis(Tool):
    """tf-keras-vis 0.8.7 visualizers on the logits model (clone=False: no model copy)."""
    METHODS = ("forward", "gradient", "smoothgrad", "gradcam", "gradcam++", "layercam",
               "scorecam", "class-model")

    def prepare(self, method, x, cls, o):
        import numpy as np
        from tf_keras_vis.utils.scores import CategoricalScore
        tf = self.tf
        m = self.model
        score = CategoricalScore([int(c) for c in cls])
        if method == "forward":
            # The faster of model(x) (eager, as tf-keras-vis itself calls the model) and
            # predict_on_batch (compiled): eager wins on fmnist_vgg (7 vs 17 ms at batch 1),
            # predict_on_batch on resnet50. Chosen here, untimed, on 3 calls each.
            xt = tf.constant(x)
            cands = {"call": lambda: m(xt, training=False).numpy(),
                     "predict_on_batch": lambda: np.asarray(m.predict_on_batch(x))}
            best = {}
            for k, f in cands.items():
                f()
                t0 = time.perf_counter()
                for _ in range(3):
                    f()
                best[k] = time.perf_counter() - t0
            k = min(best, key=best.get)
            log("tf-keras-vis forward: using %s (%s)" % (k, best))
            return cands[k]
        if method in ("gradient", "smoothgrad"):
            from tf_keras_vis.saliency import Saliency
            v = Saliency(m, clone=False)
            if method == "gradient":
                return lambda: np.asarray(v(score, x))
            samples, noise = int(o.get("samples", 50)), float(o.get("noise", 0.15))
            return lambda: np.asarray(v(score, x, smooth_samples=samples, smooth_noise=noise))
        if method in ("gradcam", "gradcam++", "layercam"):
            from tf_keras_vis.gradcam import Gradcam
            from tf_keras_vis.gradcam_plus_plus import GradcamPlusPlus
            from tf_keras_vis.layercam import Layercam
            cls_ = {"gradcam": Gradcam, "gradcam++": GradcamPlusPlus, "layercam": Layercam}[method]
            v = cls_(m, clone=False)
            layer = o["layer"]
            return lambda: np.asarray(v(score, x, penultimate_layer=layer,
                                        seek_penultimate_conv_layer=False))
        if method == "scorecam":
            from tf_keras_vis.scorecam import Scorecam
            v = Scorecam(m, clone=False)
            layer = o["layer"]
            k_all = int(m.get_layer(layer).output_shape[-1])
            k = int(o.get("channels", k_all))
            max_n = -1 if k >= k_all else k  # -1: plain Score-CAM over all channels
            bs = int(o.get("batch_size", self.budget))
            return lambda: np.asarray(v(score, x, penultimate_layer=layer,
                                        seek_penultimate_conv_layer=False, max_N=max_n,
                                        batch_size=bs))
        if method == "class-model":
            from tf_keras_vis.activation_maximization import ActivationMaximization
            from tf_keras_vis.activation_maximization.regularizers import Norm
            v = ActivationMaximization(m, clone=False)
            steps = int(o.get("steps", 20))
            lr = float(o.get("lr", 1.0))
            l2 = float(o.get("l2", 0.0))
            seed = np.zeros_like(x)

            def run():
                # Plain gradient ascent from zeros (Simonyan et al.): SGD(lr), no jitter or
                # rotation, an optional L2 penalty; a fresh optimizer per call as the tool
                # requires.
                return np.asarray(v(score, seed_input=seed, input_range=(0.0, 1.0),
                                    input_modifiers=[],
                                    regularizers=[Norm(weight=l2, p=2)] if l2 > 0 else [],
                                    steps=steps,
                                    optimizer=tf.keras.optimizers.SGD(learning_rate=lr)))
            return run
        return None


class Pair(Tool):
    """PAIR saliency 0.2.1 (saliency.core): one image per GetMask call, its own loops; the
    call_model_function wraps @tf.function gradients with fixed input signatures and counts
    the rows it is asked for (each a forward and a backward pass)."""
    METHODS = ("gradient", "smoothgrad", "squaregrad", "integrated-gradients", "gradcam",
               "guided-ig", "blur-ig", "xrai")

    def reset_passes(self):
        self._rows = 0

    def passes(self):
        return {"forward": self._rows, "backward": self._rows}

    def __init__(self, mname, model):
        super().__init__(mname, model)
        tf = self.tf
        X = tf.TensorSpec([None, *self.hwc], tf.float32)
        C = tf.TensorSpec([], tf.int32)
        self._cam = {}

        @tf.function(input_signature=[X, C], reduce_retracing=True)
        def grad(x, c):
            with tf.GradientTape() as t:
                t.watch(x)
                s = tf.reduce_sum(model(x, training=False)[:, c])
            return t.gradient(s, x)
        self._grad = grad

    def _cam_fn(self, layer):
        if layer not in self._cam:
            tf = self.tf
            import tf_keras as keras
            feat = keras.Model(self.model.inputs,
                               [self.model.get_layer(layer).output, self.model.output])

            @tf.function(input_signature=[tf.TensorSpec([None, *self.hwc], tf.float32),
                                          tf.TensorSpec([], tf.int32)], reduce_retracing=True)
            def cam(x, c):
                with tf.GradientTape() as t:
                    a, y = feat(x, training=False)
                    s = tf.reduce_sum(y[:, c])
                return a, t.gradient(s, a)
            self._cam[layer] = cam
        return self._cam[layer]

    def _cmf(self, layer=None):
        import saliency.core as sc
        tf = self.tf
        cam = self._cam_fn(layer) if layer else None

        def call_model_function(xb, call_model_args=None, expected_keys=None):
            c = call_model_args["class"]
            xb = tf.constant(xb, tf.float32)
            self._rows = getattr(self, "_rows", 0) + int(xb.shape[0])
            if expected_keys and sc.base.CONVOLUTION_LAYER_VALUES in expected_keys:
                a, g = cam(xb, c)
                return {sc.base.CONVOLUTION_LAYER_VALUES: a.numpy(),
                        sc.base.CONVOLUTION_OUTPUT_GRADIENTS: g.numpy()}
            return {sc.base.INPUT_OUTPUT_GRADIENTS: self._grad(xb, c).numpy()}
        return call_model_function

    def prepare(self, method, x, cls, o):
        import numpy as np
        import saliency.core as sc
        cmf = self._cmf(o.get("layer") if method == "gradcam" else None)
        args = [{"class": self.tf.constant(int(c), self.tf.int32)} for c in cls]
        samples = int(o.get("samples", 50))
        spread = float(o.get("noise", 0.15))  # PAIR's stdev_spread: relative to max-min
        if method in ("gradient", "smoothgrad", "squaregrad"):
            v = sc.GradientSaliency()
            if method == "gradient":
                one = lambda xi, a: v.GetMask(xi, cmf, a)
            else:
                mag = method == "squaregrad"
                one = lambda xi, a: v.GetSmoothedMask(xi, cmf, a, stdev_spread=spread,
                                                      nsamples=samples, magnitude=mag)
        elif method == "integrated-gradients":
            v = sc.IntegratedGradients()
            steps = int(o.get("steps", 50))
            bs = min(steps, int(o.get("batch_size", self.budget)))
            base = np.zeros(self.hwc, np.float32)
            one = lambda xi, a: v.GetMask(xi, cmf, a, x_baseline=base, x_steps=steps, batch_size=bs)
        elif method == "gradcam":
            v = sc.GradCam()
            one = lambda xi, a: v.GetMask(xi, cmf, a, should_resize=True, three_dims=False)
        elif method == "guided-ig":
            # One point per call: each step needs the gradient where the previous one ended.
            v = sc.GuidedIG()
            base = np.zeros(self.hwc, np.float32)  # the toolkit's black for inputs in [0, 1]
            steps, frac = int(o.get("steps", 200)), float(o.get("fraction", 0.25))
            dist = float(o.get("max_dist", 0.02))
            one = lambda xi, a: v.GetMask(xi, cmf, a, x_baseline=base, x_steps=steps, fraction=frac,
                                          max_dist=dist)
        elif method == "blur-ig":
            # batch_size: PAIR's default is 1; its batches are exact without sqrt (pair_goldens.py).
            v = sc.BlurIG()
            steps, sqrt = int(o.get("steps", 100)), bool(o.get("sqrt", False))
            bs = 1 if sqrt else min(steps, int(o.get("batch_size", self.budget)))
            kw = dict(max_sigma=float(o.get("max_sigma", 50)), steps=steps,
                      grad_step=float(o.get("grad_step", 0.01)), sqrt=sqrt, batch_size=bs)
            one = lambda xi, a: v.GetMask(xi, cmf, a, **kw)
        elif method == "xrai":
            # PAIR's defaults (IG from the image's min and max, Felzenszwalb at 224x224) with the
            # IG steps given; batch_size (PAIR's default 1) as for IG.
            v = sc.XRAI()
            steps = int(o.get("steps", 100))
            params = sc.XRAIParameters(steps=steps, algorithm=o.get("algorithm", "full"))
            bs = min(steps, int(o.get("batch_size", self.budget)))
            one = lambda xi, a: v.GetMask(xi, cmf, a, batch_size=bs, extra_parameters=params)
        else:
            # forward/gradient-x-input/vargrad: not in PAIR; its Occlusion slides a window
            # at stride 1 (625 or 37249 positions, not the 49 of the benchmark).
            return None
        return lambda: np.stack([one(x[i], args[i]) for i in range(x.shape[0])])


TOOL_CLASSES = {"tape": Tape, "xplique": Xplique, "tf-keras-vis": TfKerasVis, "pair": Pair}


# ---------------------------------------------------------------- main loop

def serve(tool, proto):
    """bench/protocol.py's serve with this tool's calls: the target is the argmax of the logits (untimed)."""
    import numpy as np

    def prepare(req):
        x = np.ascontiguousarray(np.load(req["inputs"]).astype(np.float32))
        cls = tool.logits(x).argmax(axis=1).astype(np.int32)
        run = tool.prepare(req["method"], x, cls, req.get("options") or {})
        if run is None:
            return None

        def passes(n=x.shape[0]):
            p = tool.passes()
            return None if p is None else {k: v / n for k, v in p.items()}
        return Prepared(run, passes=passes, reset=tool.reset_passes)
    serve_requests(proto, prepare, tool.METHODS)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tool", choices=TOOLS)
    ap.add_argument("--model", required=True, choices=sorted(MODELS))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--verify", action="store_true",
                    help="check the tf_keras twin against the golden vectors, print JSON, exit")
    args = ap.parse_args()
    if not args.verify and not args.tool:
        ap.error("--tool is required")
    proto = take_stdout()
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    if args.verify:
        proto.write(json.dumps(verify(args.model)) + "\n")
        return 0
    t0 = time.perf_counter()
    tool = TOOL_CLASSES[args.tool](args.model, load_model(args.model))
    proto.write(json.dumps({"ready": True, "tool": args.tool, "model": args.model,
                            "load_seconds": time.perf_counter() - t0}) + "\n")
    proto.flush()
    serve(tool, proto)
    return 0


if __name__ == "__main__":
    sys.exit(main())
