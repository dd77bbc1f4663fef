#!/usr/bin/env python3
"""Golden saliency maps for every method of the toolkit, computed independently in Python.

For each zoo model folder given (default: every zoo model) the Keras architecture is
rebuilt with build_zoo.py's builders, the weights are copied from the SavedModel by
variable path, the rebuilt logits are checked against golden/logits.npy, and every
method is computed from its paper's definition with tf.GradientTape, in float32 and
inference mode, on golden/inputs.npy x [8,H,W,1] for the classes c = golden/top.npy.
S_c is the pre-softmax logit (for a model ending in a softmax Dense layer, the Dense
pre-activation). "layer" is the model's default CAM layer (LAYERS below), A its
output [8,h,w,K] and G = dS_c/dA. resize = tf.image.resize(bilinear, half-pixel
centres, no antialias) to H x W. Written to golden/methods/:

    gradient(.npy, _raw)          raw = dS_c/dx; map = max_ch |raw|
    gradient-x-input(.npy, _raw)  raw = x * dS_c/dx; map = sum_ch raw
    smoothgrad, squaregrad, vargrad (.npy, _raw)
                                  16 samples x + sigma_i * noise_s, sigma_i = 0.15 (max x_i - min x_i),
                                  noise = default_rng(12345).standard_normal((16,H,W,1)) saved as
                                  smoothgrad_noise.npy (the same for all 8 images); raw = mean g,
                                  mean g^2, mean g^2 - (mean g)^2; map = max_ch |raw|
    integrated-gradients(.npy, _raw, _scores)
                                  black baseline, m = 32, right Riemann sum alpha_k = k/m;
                                  raw = (x - x') * mean_k dS_c/dx(x' + alpha_k (x - x')); map = sum_ch raw;
                                  _scores [8,2] = (S_c(x), S_c(x'))
    integrated-gradients-blurred(.npy, _raw)
                                  the same from x' = Gaussian blur of x, sigma 2.8, radius ceil(3 sigma),
                                  separable (H then W), replicate borders
    deconvnet, guided-backprop    map = max_ch |golden/deconvnet_input.npy|, |golden/guided_input.npy|
    cam(.npy, _lowres)            GAP models only: sum_k W[k,c] A^k (no ReLU, no bias), resized
    gradcam(.npy, _lowres)        ReLU(sum_k mean_ij(G^k) A^k), resized
    guided-gradcam(.npy, _raw)    raw = guided_input * resize(gradcam_lowres); map = max_ch |raw|
    gradcam++(.npy, _lowres)      a = G^2 / (2 G^2 + sum_ij(A^k) G^3) (0 where the denominator is 0),
                                  w_k = sum_ij a relu(G^k); ReLU(sum_k w_k A^k), resized
    layercam(.npy, _lowres)       ReLU(sum_k relu(G^k) A^k), resized
    hirescam(.npy, _lowres)       ReLU(sum_k G^k * A^k) (Draelos & Carin 2020), resized
    xgradcam(.npy, _lowres)       alpha_k = sum_ij A^k G^k / sum_ij A^k (0 where sum_ij A^k = 0), in float64;
                                  ReLU(sum_k alpha_k A^k) (Fu et al. 2020), resized
    eigencam(.npy, _lowres)       Muhammad & Yeasin 2020: per image, M = A [h*w, K] in float64 (not centred),
                                  numpy's SVD, p = M v_1, the sign making p correlate positively with the
                                  channel mean of A (on a tie: sum v_1 >= 0); no ReLU; resized
    ablationcam(.npy, _lowres)    Desai & Ramaswamy 2020: alpha_k = (S_c - S_c^k) / S_c, S_c^k the logit with channel k of
                                  the layer's output set to 0 (in every token of a token layer) and the rest
                                  of the Keras graph run on it (Functional._run_through_graph with the layer
                                  returning the ablated tensor: skip connections still read the image);
                                  channels that are 0 everywhere get alpha 0; ReLU(sum_k alpha_k A^k), resized
    fullgrad(.npy)                Srinivas & Fleuret 2019: psi(|x * dS_c/dx|) summed over channels, plus for every Conv2D
                                  with a bias and every BatchNormalization (4-D outputs z [8,h,w,K]), bias b
                                  (BN: beta - mean * gamma / sqrt(var + eps), computed as Keras computes it):
                                  resize(sum_k psi(|b_k * dS_c/dz^k|)); psi rescales each channel's map of each
                                  image to [0, 1] (0 where constant), exactly, in float64. z and dS_c/dz from
                                  the Keras graph run with those layers computed by hand (the pre-activation z
                                  kept), one tape
    fullgrad-layer(.npy)          the same with psi rescaling all the channels of a layer (or of the input)
                                  of an image together (the authors' code)
    eigencam-centred(.npy, _lowres)
                                  the same with each channel's mean over positions subtracted from M first
                                  and p clipped at 0 (pytorch-grad-cam's get_2d_projection, signed as above)
    scorecam(.npy, _lowres)       H_k = min-max normalised resize(A^k) (0 if constant),
                                  alpha_k = softmax(S(x * H_k))[c] - softmax(S(0))[c];
                                  ReLU(sum_k alpha_k A^k), resized
    occlusion.npy                 4x4 patches, stride 2 (plus a last window flush with the edge),
                                  fill 0; d = S_c(x) - S_c(occluded), averaged over covering windows
    class-model(.npy, _probs)     Simonyan et al. 2013: I_0 = 0, T steps of
                                  I += lr (dS_k/dI - 2 lambda I), one image per class k = 0..9 [10,H,W],
                                  each optimised on its own (a batch of one), as the Go toolkit does;
                                  _probs [10] = softmax probability of the target class.
                                  The logits are piecewise linear in I, so the ascent never settles: it
                                  keeps hopping across ReLU / max-pooling boundaries, and a relative
                                  perturbation of 1e-6 of the gradients (another CPU's oneDNN kernels,
                                  another batch size, another summation order) changes the final image
                                  completely. From the zero image it is chaotic from the first step on
                                  models with max pooling: every pooling window of a constant image is a
                                  tie or a 1-ulp win, and which one depends on the kernel (fmnist_vgg's
                                  first step differs by 58% of its range between oneDNN's AVX2 and AVX-512
                                  kernels). So the Go tests do not compare these images; they check
                                  the probabilities (every class reaches p >= 0.99 on every zoo model,
                                  also under such perturbations, with these lr, lambda and T) and:
    class-model_fed_grads, _fed_images
                                  [F,10,H,W,C], F = 3: the gradients dS_k/dI at I_0..I_{F-1} of the ascent
                                  above and the images I_1..I_F. Go runs F steps with these gradients fed
                                  in place of its own and must give these images to the bit: the update
                                  I += float32(lr (g - 2 lambda float32(I - I_0))), computed in float64 and
                                  rounded once a step, is the Go toolkit's arithmetic (no TensorFlow).
    class-model_start, _start_steps, _start_images
                                  the same ascent from a start where it is not chaotic: _start [10,H,W,C]
                                  = default_rng(seed).uniform(0, 1) (the zoo's input range; no flat regions,
                                  so no tied pooling windows), L2 centred at the start (init "input"),
                                  at most S = 20 steps. The ascent is run again 8 times with the start
                                  and every gradient multiplied by 1 + 1e-6 N(0,1) (seeded); _start_steps
                                  [10] int32 is, per class, the number of steps h before any perturbed run
                                  moves more than delta = 1e-5 of the image's range from the unperturbed
                                  one (before a kink is hit differently), and _start_images [10,H,W,C] the
                                  image after h steps. Go compares its image after h steps within 1e-4 of the range
                                  (methods/classmodel_golden_test.go); measured here, oneDNN's AVX2 kernels and Eigen
                                  (TF_ENABLE_ONEDNN_OPTS=0) stay within 2e-6 of the range over those steps.
    feature-visualization_fed_grads, _fed_fourier, _fed_pixel
                                  Olah et al. 2017's ascent with fed gradients: grads [F,2,H,W,C], F = 4,
                                  seeded N(0, 0.1^2), in place of the model's gradient at x; from theta = 0,
                                  F Adam steps (Kingma & Ba: beta 0.9, 0.999, eps 1e-8, lr 0.05) on
                                  J = <g_s, x> - l2 mean((x - 0.5)^2) - tv TV(x) (tf.image.total_variation), in
                                  float64 with tf.GradientTape's gradient with respect to theta, for
                                    fourier: x = sigmoid(irfft2d(scale (theta_re + i theta_im)) / 4), Lucid's
                                             fft_image: scale = sqrt(HW) / max(f, 1/max(H,W))^decay
                                    pixel:   x = 0.5 + theta, theta clipped to [-1/2, 1/2] after each step;
                                  the images after each step [F,2,H,W,C]. Go runs the same steps with these
                                  gradients fed in place of its own (two class targets, each alone) and
                                  compares its images within 1e-6 (methods/featureviz_golden_test.go): its
                                  own FFT (gonum) and adjoint against TensorFlow's irfft2d and its gradient.
    params.yaml                   every parameter above, for the Go tests

Max pooling: the zoo images have flat black backgrounds, so many 2x2 windows hold
exactly equal maxima; TensorFlow sends the gradient to the first one (row-major).

Deterministic: fixed seeds, and 2 TensorFlow threads unless --threads says otherwise; the same machine
type gives the same bytes. Another CPU gives other last bits (oneDNN picks its kernels per instruction
set), which the Go tests allow for.

Usage: golden_methods.py [--threads N] [--only METHOD,...] [SAVEDMODEL_DIR ...]   (default: every zoo model)
       --only writes the files of the named sections (gradient, smoothgrad, integrated-gradients,
       deconvnet, gradcam, hirescam, xgradcam, eigencam, ablationcam, fullgrad,
       attention-rollout, occlusion, class-model, feature-visualization)
       and params.yaml
"""
import argparse
import math
import os
import re
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402
import yaml  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)
import build_zoo  # noqa: E402
from keras.src.models import functional as kfunctional  # noqa: E402

ZOO = ["fmnist_gap", "fmnist_gap_softmax", "fmnist_vgg", "fmnist_resnet", "fmnist_vgg_randlabels", "fmnist_scatter",
       "fmnist_vit"]
# The default CAM layer of each model.
LAYERS = {
    "fmnist_gap": "relu3_2",
    "fmnist_gap_softmax": "relu3_2",
    "fmnist_vgg": "conv2_2",
    "fmnist_vgg_randlabels": "conv2_2",
    "fmnist_resnet": "block3_out",
    "fmnist_scatter": "relu4_2",
    "fmnist_vit": "block4_ln1",  # tokens [8,50,64]: the input of the last attention layer
}
# Token layers: (grid h, grid w, leading tokens). CAM methods drop the class token and
# reshape the patch tokens to [8,h,w,D].
GRIDS = {"fmnist_vit": (7, 7, 1)}
# Attention rollout (Abnar & Zuidema 2020) on transformers: head mean, residual 0.5.
ROLLOUT = dict(heads="mean", residual=0.5)
# Models ending in layer -> GlobalAveragePooling2D -> Dense, where CAM applies.
CAM_MODELS = {"fmnist_gap", "fmnist_gap_softmax", "fmnist_resnet", "fmnist_scatter"}

SMOOTHGRAD = dict(samples=16, noise=0.15, seed=12345)
IG_STEPS = 32
IG_CHECK_STEPS = 128  # completeness is reported for this too; nothing is saved
BLUR_SIGMA = 2.8
OCCLUSION = dict(patch=4, stride=2, fill=0)
CLASS_MODEL = dict(lr=0.05, l2=0.3, steps=200)  # every class of every zoo model reaches p >= 0.99, robustly
CLASS_MODEL_FED = 3  # steps recorded with their gradients
# The ascent from seeded noise, compared over the steps before it turns chaotic.
CLASS_MODEL_START = dict(seed=20261201, steps=20, runs=8, perturbation=1e-6, delta=1e-5)
# Feature visualisation with fed gradients (see feature_viz_fed).
FEATURE_VIZ = dict(lr=0.05, l2=50.0, tv=0.05, decay=1.0, steps=4, images=2, sd=0.1, seed=20261210)
SECTIONS = ["gradient", "smoothgrad", "integrated-gradients", "deconvnet", "gradcam", "hirescam", "xgradcam",
            "eigencam", "ablationcam", "fullgrad", "attention-rollout", "occlusion", "class-model", "feature-visualization"]
CHUNK = 256
f32 = np.float32


# ---------------------------------------------------------------- the model

class Net:
    """The rebuilt Keras model with the SavedModel's weights, and its pre-softmax logits."""

    def __init__(self, path):
        self.name = os.path.basename(os.path.normpath(path))
        if self.name not in build_zoo.SPECS:
            raise SystemExit("%s: not a zoo model (%s)" % (path, ", ".join(ZOO)))
        keras.backend.clear_session()
        self.model = build_zoo.SPECS[self.name]["build"]()
        copy_weights(tf.saved_model.load(path), self.model, self.name)
        last = self.model.layers[-1]
        if not isinstance(last, keras.layers.Dense):
            raise SystemExit("%s: the last layer is %s, not Dense" % (self.name, last.__class__.__name__))
        self.kernel, self.bias = last.kernel, last.bias
        self.layer = LAYERS[self.name]
        inp = self.model.inputs
        self.pre = keras.Model(inp, last.input)
        self.both = keras.Model(inp, [self.model.get_layer(self.layer).output, last.input])

    def logits_with(self, x, layer, value):
        """Pre-softmax logits of x with the output of `layer` replaced by `value` (its batch
        matching x's): the Keras graph run with that layer returning value."""
        def op_fn(op):
            if op is layer:
                return lambda *a, **k: tf.constant(value)
            return kfunctional.operation_fn(op, training=False)
        h = self.pre._run_through_graph(tf.constant(x), operation_fn=op_fn)
        return self._head(h).numpy().astype(f32)

    def _head(self, h):
        # What Dense does before its activation.
        return tf.matmul(h, self.kernel) + self.bias

    def logits(self, x):
        """Pre-softmax logits, in chunks, as a numpy array."""
        out = [self._head(self.pre(tf.constant(x[i:i + CHUNK]), training=False)).numpy()
               for i in range(0, len(x), CHUNK)]
        return np.concatenate(out).astype(f32)

    def scores(self, x, c):
        return self.logits(x)[np.arange(len(x)), c]

    def grad(self, x, c):
        """dS_c/dx per image (one tape per chunk over the sum of the selected logits)."""
        out = []
        for i in range(0, len(x), CHUNK):
            xb = tf.constant(x[i:i + CHUNK])
            cb = tf.constant(np.asarray(c[i:i + CHUNK], np.int32))
            with tf.GradientTape() as tape:
                tape.watch(xb)
                s = tf.gather(self._head(self.pre(xb, training=False)), cb, axis=1, batch_dims=1)
                total = tf.reduce_sum(s)
            out.append(tape.gradient(total, xb).numpy())
        return np.concatenate(out).astype(f32)

    def layer_grad(self, x, c):
        """A = the layer's output and G = dS_c/dA, per image."""
        xb = tf.constant(x)
        with tf.GradientTape() as tape:
            a, h = self.both(xb, training=False)
            s = tf.gather(self._head(h), tf.constant(np.asarray(c, np.int32)), axis=1, batch_dims=1)
            total = tf.reduce_sum(s)
        g = tape.gradient(total, a)
        if g is None:
            raise SystemExit("%s: no gradient reaches %s" % (self.name, self.layer))
        a, g = a.numpy().astype(f32), g.numpy().astype(f32)
        if self.name in GRIDS:
            h, w, p = GRIDS[self.name]
            a = a[:, p:].reshape((a.shape[0], h, w, a.shape[-1]))
            g = g[:, p:].reshape((g.shape[0], h, w, g.shape[-1]))
        return a, g

    def attentions(self, x):
        """The attention matrices [8,heads,T,T] of every MultiHeadAttention layer, in order:
        its query input computed by the model, then the layer called eagerly on it with
        return_attention_scores (self-attention: query = value)."""
        mhas = [l for l in self.model.layers if isinstance(l, keras.layers.MultiHeadAttention)]
        qs = keras.Model(self.model.inputs, [l._inbound_nodes[0].input_tensors[0] for l in mhas])(
            tf.constant(x), training=False)
        return [l(q, q, return_attention_scores=True, training=False)[1].numpy().astype(np.float64)
                for l, q in zip(mhas, qs)]


def var_key(path):
    """A variable's path without ":0"; the Dropout RNG state (not a weight, unused in
    inference) may be numbered (seed_generator_1/...) depending on what the exporting
    session built before, so its number is dropped."""
    path = path[:-2] if path.endswith(":0") else path
    return re.sub(r"^seed_generator_\d+/", "seed_generator/", path)


def copy_weights(loaded, model, name):
    src = {}
    for v in loaded.variables:
        key = var_key(v.name)
        if key in src:
            raise SystemExit("%s: SavedModel variable %s appears twice" % (name, key))
        src[key] = v
    used = set()
    for v in model.variables:
        key = var_key(v.path)
        if key not in src or key in used:
            raise SystemExit("%s: Keras variable %s has no SavedModel counterpart" % (name, v.path))
        s = src[key]
        if tuple(s.shape) != tuple(v.shape):
            raise SystemExit("%s: %s has shape %s in the SavedModel, %s in Keras" % (name, v.path, s.shape, v.shape))
        v.assign(s.numpy())
        used.add(key)
    unused = sorted(set(src) - used)
    if unused:
        raise SystemExit("%s: SavedModel variables without a Keras counterpart: %s" % (name, ", ".join(unused)))


# ---------------------------------------------------------------- helpers

def max_abs(raw):
    return np.max(np.abs(raw), axis=-1).astype(f32)


def sum_ch(raw):
    return np.sum(raw, axis=-1, dtype=f32)


def resize(m, hw):
    """[N,h,w] -> [N,H,W], bilinear, half-pixel centres, no antialias."""
    return tf.squeeze(tf.image.resize(tf.constant(m[..., None], tf.float32), hw, method="bilinear"), -1).numpy()


def relu(v):
    return np.maximum(v, f32(0))


def weighted(w, a):
    """sum_k w[n,k] A[n,:,:,k] -> [N,h,w]."""
    return np.einsum("nk,nijk->nij", w.astype(f32), a).astype(f32)


def gaussian_blur(x, sigma):
    """Separable Gaussian blur of [N,H,W,C]: radius ceil(3 sigma), replicate borders, H then W."""
    r = int(math.ceil(3 * sigma))
    j = np.arange(-r, r + 1, dtype=np.float64)
    w = np.exp(-j * j / (2 * sigma * sigma))
    w = (w / w.sum()).astype(f32)
    out = x.astype(f32)
    for axis in (1, 2):
        n = out.shape[axis]
        pad = [(0, 0)] * 4
        pad[axis] = (r, r)
        p = np.pad(out, pad, mode="edge")
        acc = np.zeros_like(out)
        for t in range(2 * r + 1):
            acc += w[t] * np.take(p, np.arange(t, t + n), axis=axis)
        out = acc
    return out


def softmax(z):
    return tf.nn.softmax(tf.constant(z), axis=-1).numpy()


def windows(n, p, s):
    starts = list(range(0, n - p + 1, s))
    if starts[-1] + p < n:
        starts.append(n - p)
    return starts


# ---------------------------------------------------------------- methods

def eigen_projection(a, center):
    """Eigen-CAM's projection of each image's activations [h,w,K] on their first right singular vector,
    signed to correlate positively with the channel mean (on a tie: sum v_1 >= 0)."""
    n, h, w, k = a.shape
    out = np.zeros((n, h, w), np.float64)
    for i in range(n):
        m = a[i].reshape(h * w, k).astype(np.float64)
        mean = m.mean(axis=1)
        if center:
            m = m - m.mean(axis=0)
        if not np.any(m):
            continue
        _, _, vt = np.linalg.svd(m, full_matrices=False)
        p = m @ vt[0]
        cov = np.sum(p * (mean - mean.mean()))
        if cov < 0 or (cov == 0 and vt[0].sum() < 0):
            p = -p
        out[i] = p.reshape(h, w)
    return out.astype(f32)


def integrated_gradients(net, x, c, baseline, m):
    alphas = (np.arange(1, m + 1, dtype=np.float64) / m).astype(f32)
    diff = (x - baseline).astype(f32)
    total = np.zeros_like(x)
    for a in alphas:  # all images of one step in a batch; steps summed in order
        total += net.grad((baseline + a * diff).astype(f32), c)
    raw = (diff * (total / f32(m))).astype(f32)
    return raw


def completeness(net, x, c, baseline, raw):
    sx, sb = net.scores(x, c), net.scores(baseline, c)
    d = sx.astype(np.float64) - sb.astype(np.float64)
    err = np.abs(raw.astype(np.float64).sum(axis=(1, 2, 3)) - d) / np.abs(d)
    return sx, sb, err


def occlusion(net, x, c, patch, stride, fill):
    n, hh, ww, _ = x.shape
    ys, xs = windows(hh, patch, stride), windows(ww, patch, stride)
    base = net.scores(x, c)
    total = np.zeros((n, hh, ww), f32)
    count = np.zeros((hh, ww), f32)
    wins = [(y0, x0) for y0 in ys for x0 in xs]
    for i in range(n):
        occ = np.repeat(x[i:i + 1], len(wins), axis=0)
        for k, (y0, x0) in enumerate(wins):
            occ[k, y0:y0 + patch, x0:x0 + patch, :] = fill
        d = (base[i] - net.scores(occ, np.full(len(wins), c[i]))).astype(f32)
        for k, (y0, x0) in enumerate(wins):
            total[i, y0:y0 + patch, x0:x0 + patch] += d[k]
    for y0, x0 in wins:
        count[y0:y0 + patch, x0:x0 + patch] += 1
    return (total / count).astype(f32), len(wins)


def ablationcam(net, x, c):
    """Ablation-CAM's weights [n,K] on the layer's output as Keras gives it ([n,h,w,K] or tokens
    [n,T,K]); the number of channels ablated."""
    layer = net.model.get_layer(net.layer)
    raw = net.both(tf.constant(x), training=False)[0].numpy().astype(f32)
    y = net.scores(x, c).astype(np.float64)
    n, k = raw.shape[0], raw.shape[-1]
    alpha = np.zeros((n, k))
    ablated = 0
    for i in range(n):
        live = [j for j in range(k) if np.any(raw[i, ..., j] != 0)]
        ablated += len(live)
        for s in range(0, len(live), CHUNK):
            js = live[s:s + CHUNK]
            v = np.repeat(raw[i:i + 1], len(js), axis=0)
            for t, j in enumerate(js):
                v[t, ..., j] = 0
            yk = net.logits_with(np.repeat(x[i:i + 1], len(js), axis=0), layer, v)[:, c[i]].astype(np.float64)
            alpha[i, js] = (y[i] - yk) / y[i] if y[i] != 0 else y[i] - yk
    return alpha, ablated


def fullgrad_parts(net, x, c):
    """The input gradient dS_c/dx and, for each Conv2D with a bias and each BatchNormalization of the
    model, its bias b and the gradient dS_c/dz at its biased output z (before a Conv2D's activation)."""
    captured = []

    def op_fn(op):
        if isinstance(op, keras.layers.Conv2D) and op.use_bias:
            def conv(inp, **kw):
                z = op.convolution_op(inp, op.kernel) + tf.reshape(op.bias, (1, 1, 1, -1))
                captured.append((z, op.bias.numpy()))
                return op.activation(z) if op.activation is not None else z
            return conv
        if isinstance(op, keras.layers.BatchNormalization):
            def bn(inp, **kw):
                inv = tf.math.rsqrt(op.moving_variance + op.epsilon)
                if op.scale:
                    inv = inv * op.gamma
                bias = -op.moving_mean * inv
                if op.center:
                    bias = op.beta + bias
                z = inp * inv + bias
                captured.append((z, bias.numpy()))
                return z
            return bn
        return kfunctional.operation_fn(op, training=False)

    xb = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xb)
        h = net.pre._run_through_graph(xb, operation_fn=op_fn)
        s = tf.gather(net._head(h), tf.constant(np.asarray(c, np.int32)), axis=1, batch_dims=1)
        total = tf.reduce_sum(s)
    grads = tape.gradient(total, [xb] + [z for z, _ in captured])
    return grads[0].numpy(), [(b, g.numpy()) for (_, b), g in zip(captured, grads[1:])], s.numpy()


def psi(v, layer):
    """FullGrad's post-processing of [n,h,w,k] values: |v| rescaled to [0, 1] per image and channel
    (per image when layer), 0 where constant; float64."""
    v = np.abs(v.astype(np.float64))
    axes = (1, 2, 3) if layer else (1, 2)
    lo, hi = v.min(axis=axes, keepdims=True), v.max(axis=axes, keepdims=True)
    span = hi - lo
    return np.where(span > 0, (v - lo) / np.where(span > 0, span, 1), 0)


def fullgrad(net, x, c, layer):
    gx, parts, _ = fullgrad_parts(net, x, c)
    hw = x.shape[1:3]
    total = psi(x.astype(np.float64) * gx, layer).sum(axis=-1)
    used = 0
    for b, g in parts:
        if g.ndim != 4:
            continue
        used += 1
        low = psi(b.astype(np.float64) * g, layer).sum(axis=-1).astype(f32)
        total += resize(low, hw)
    return total.astype(f32), used


def scorecam(net, x, c, a):
    n, hh, ww, _ = x.shape
    k = a.shape[-1]
    pb = softmax(net.logits(np.zeros_like(x)))[np.arange(n), c]
    alpha = np.zeros((n, k), f32)
    constant = 0
    for i in range(n):
        u = resize(np.transpose(a[i], (2, 0, 1)), (hh, ww))  # [K,H,W]
        lo, hi = u.min(axis=(1, 2), keepdims=True), u.max(axis=(1, 2), keepdims=True)
        flat = (hi == lo)[:, 0, 0]
        constant += int(flat.sum())
        with np.errstate(invalid="ignore", divide="ignore"):
            h = np.where(flat[:, None, None], f32(0), (u - lo) / (hi - lo)).astype(f32)
        masked = (x[i][None] * h[..., None]).astype(f32)
        p = softmax(net.logits(masked))[:, c[i]]
        alpha[i] = p - pb[i]
    return relu(weighted(alpha, a)), constant, alpha


def ascent_step(img, g, start, lr, l2):
    """One step of the class model with the Go toolkit's arithmetic:
    I += float32(lr (g - 2 lambda float32(I - I_0))), the bracket in float64."""
    d = (img - start).astype(np.float64)  # the difference in float32, as Go
    step = np.float64(lr) * (g.astype(np.float64) - 2 * np.float64(l2) * d)
    return (img + step.astype(f32)).astype(f32)


def class_model(net, hw, lr, l2, steps, fed, classes=10):
    """One image per class, each optimised on its own (a batch of one), from the
    zero image. Returns the images, their probabilities, and the gradients and
    images of the first `fed` steps ([fed, classes, H, W, C] each)."""
    img = np.zeros((classes,) + hw, f32)
    grads = np.zeros((fed, classes) + hw, f32)
    imgs = np.zeros((fed, classes) + hw, f32)
    for k in range(classes):
        one = img[k:k + 1]
        start = one.copy()
        for s in range(steps):
            g = net.grad(one, [k])
            one = ascent_step(one, g, start, lr, l2)
            if s < fed:
                grads[s, k], imgs[s, k] = g[0], one[0]
        img[k] = one[0]
    target = np.arange(classes)
    probs = softmax(net.logits(img))[target, target].astype(f32)
    return img, probs, grads, imgs


def class_model_start(net, hw, lr, l2, seed, steps, runs, perturbation, delta, classes=10):
    """The ascent from seeded uniform noise (L2 centred at the start), and the
    number of steps per class before it is chaotic: before any of `runs`
    ascents whose start and gradients are multiplied by 1 + perturbation
    N(0,1) moves more than delta of the image's range from the unperturbed one.
    Returns the start, those step counts and the images after them."""
    start = np.random.default_rng(seed).uniform(0, 1, (classes,) + hw).astype(f32)
    base = np.zeros((steps + 1, classes) + hw, f32)
    dev = np.zeros((steps + 1, classes))
    for r in range(runs + 1):
        rng = np.random.default_rng([seed, r])
        for k in range(classes):
            s0 = start[k:k + 1]
            one = s0
            if r:
                one = (one * (1 + perturbation * rng.standard_normal(one.shape))).astype(f32)
            for s in range(steps):
                g = net.grad(one, [k])
                if r:
                    g = (g * (1 + perturbation * rng.standard_normal(g.shape))).astype(f32)
                one = ascent_step(one, g, s0, lr, l2)
                if r == 0:
                    base[s + 1, k] = one[0]
                else:
                    b = base[s + 1, k]
                    dev[s + 1, k] = max(dev[s + 1, k], float(np.max(np.abs(one[0] - b)) / (b.max() - b.min())))
    horizon = np.zeros(classes, np.int32)
    for k in range(classes):
        while horizon[k] < steps and dev[horizon[k] + 1, k] <= delta:
            horizon[k] += 1
    base[0] = start
    return start, horizon, base[horizon, np.arange(classes)], dev


def feature_viz_fed(hw, lr, l2, tv, decay, steps, images, sd, seed):
    """Feature visualisation's ascent with fed gradients g_s in place of the
    model's, for both parameterizations, in float64 with TensorFlow's
    gradients of the parameterization (tf.GradientTape through irfft2d,
    sigmoid and total_variation) and Adam as Kingma & Ba write it. Returns
    the gradients [steps, images, H, W, C] and the images after each step
    of each parameterization."""
    h, w, ch = hw
    grads = (sd * np.random.default_rng(seed).standard_normal((steps, images) + hw)).astype(f32)
    # Lucid's fft_image: the frequencies of the half spectrum, the 1/f^decay scale with its floor
    # 1/max(H,W), times sqrt(HW); irfft2d (channels first) over 4
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.fftfreq(w)[: w // 2 + 1]
    freqs = np.sqrt(fx * fx + fy * fy)
    scale = tf.constant(1.0 / np.maximum(freqs, 1.0 / max(w, h)) ** decay * np.sqrt(w * h), tf.complex128)

    def fourier(t):
        spectrum = tf.complex(t[0], t[1]) * scale
        img = tf.transpose(tf.signal.irfft2d(spectrum, fft_length=[h, w]), (0, 2, 3, 1)) / 4
        return tf.sigmoid(img)  # to_valid_rgb(sigmoid=True): black 0, white 1

    params = {
        "fourier": (fourier, (2, images, ch, h, w // 2 + 1), None),
        "pixel": (lambda t: 0.5 + t, (images, h, w, ch), 0.5),  # mid + (white - black) u, u clipped to [-1/2, 1/2]
    }
    out = {}
    for name, (image, shape, clip) in params.items():
        theta = np.zeros(shape)
        m, v = np.zeros(shape), np.zeros(shape)
        imgs = np.zeros((steps, images) + hw, f32)
        for s in range(steps):
            t = tf.constant(theta)
            with tf.GradientTape() as tape:
                tape.watch(t)
                x = image(t)
                # the L2 term is the mean square over an image's values
                loss = (tf.reduce_sum(tf.constant(grads[s].astype(np.float64)) * x)
                        - l2 * tf.reduce_sum(tf.reduce_mean((x - 0.5) ** 2, axis=(1, 2, 3)))
                        - tv * tf.reduce_sum(tf.image.total_variation(x)))
            g = tape.gradient(loss, t).numpy()
            b1, b2, eps = 0.9, 0.999, 1e-8
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            theta = theta + lr * (m / (1 - b1 ** (s + 1))) / (np.sqrt(v / (1 - b2 ** (s + 1))) + eps)
            if clip is not None:
                theta = np.clip(theta, -clip, clip)
            imgs[s] = image(tf.constant(theta)).numpy().astype(f32)
        out[name] = imgs
    return grads, out


# ---------------------------------------------------------------- driver

def write(path, png_dir=None, only=None):
    """Compute and write golden/methods/ of one zoo model folder (only the
    sections named in `only`, if given); returns a summary dict."""

    def want(section):
        return not only or section in only

    net = Net(path)
    name = net.name
    gdir = os.path.join(path, "golden")
    odir = os.path.join(gdir, "methods")
    os.makedirs(odir, exist_ok=True)
    x = np.load(os.path.join(gdir, "inputs.npy")).astype(f32)
    c = np.load(os.path.join(gdir, "top.npy")).astype(np.int32)
    n, hh, ww, ch = x.shape
    hw = (hh, ww)
    out = {}

    def save(key, arr):
        arr = np.asarray(arr, f32)
        if not np.all(np.isfinite(arr)):
            raise SystemExit("%s: %s has non-finite values" % (name, key))
        np.save(os.path.join(odir, key + ".npy"), arr)

    # rebuild check: relative to the largest logit, as float32 rounding is (another CPU's kernels
    # move fmnist_vgg_randlabels' logits, up to 24.4, by 1.5e-5: 8 ulp); a wrongly copied weight
    # moves them by the logits' own size
    logits = net.logits(x)
    golden = np.load(os.path.join(gdir, "logits.npy"))
    largest = float(np.max(np.abs(golden)))
    rebuild = float(np.max(np.abs(logits - golden)))
    if rebuild > 1e-5 * max(1.0, largest):
        raise SystemExit("%s: rebuilt logits differ from golden/logits.npy by %g (largest %g)"
                         % (name, rebuild, largest))
    if not np.array_equal(np.argmax(logits, 1), c):
        raise SystemExit("%s: rebuilt top classes differ from golden/top.npy" % name)
    out["rebuild"] = rebuild

    # gradient, gradient x input
    if want("gradient"):
        g = net.grad(x, c)
        out["grad_vs_golden"] = float(np.max(np.abs(g - np.load(os.path.join(gdir, "grad_input.npy")))))
        save("gradient_raw", g)
        save("gradient", max_abs(g))
        gxi = (x * g).astype(f32)
        save("gradient-x-input_raw", gxi)
        save("gradient-x-input", sum_ch(gxi))

    # SmoothGrad, SquareGrad, VarGrad
    if want("smoothgrad"):
        ns = SMOOTHGRAD["samples"]
        noise = np.random.default_rng(SMOOTHGRAD["seed"]).standard_normal((ns, hh, ww, ch)).astype(f32)
        save("smoothgrad_noise", noise)
        sigma = (f32(SMOOTHGRAD["noise"]) * (x.max(axis=(1, 2, 3)) - x.min(axis=(1, 2, 3)))).astype(f32)
        noisy = (x[:, None] + sigma[:, None, None, None, None] * noise[None]).astype(f32)  # [n,s,H,W,C]
        gs = net.grad(noisy.reshape((n * ns,) + x.shape[1:]), np.repeat(c, ns)).reshape(noisy.shape)
        mean = np.mean(gs, axis=1, dtype=f32)
        sq = np.mean(gs * gs, axis=1, dtype=f32)
        var = (sq - mean * mean).astype(f32)
        for key, raw in [("smoothgrad", mean), ("squaregrad", sq), ("vargrad", var)]:
            save(key + "_raw", raw)
            save(key, max_abs(raw))
        out["vargrad_negative"] = int(np.sum(var < 0))

    # Integrated Gradients
    if want("integrated-gradients"):
        black = np.zeros_like(x)
        blurred = gaussian_blur(x, BLUR_SIGMA)
        ig = integrated_gradients(net, x, c, black, IG_STEPS)
        sx, sb, err = completeness(net, x, c, black, ig)
        save("integrated-gradients_raw", ig)
        save("integrated-gradients", sum_ch(ig))
        save("integrated-gradients_scores", np.stack([sx, sb], axis=1))
        igb = integrated_gradients(net, x, c, blurred, IG_STEPS)
        _, _, errb = completeness(net, x, c, blurred, igb)
        save("integrated-gradients-blurred_raw", igb)
        save("integrated-gradients-blurred", sum_ch(igb))
        _, _, err128 = completeness(net, x, c, black, integrated_gradients(net, x, c, black, IG_CHECK_STEPS))
        _, _, errb128 = completeness(net, x, c, blurred, integrated_gradients(net, x, c, blurred, IG_CHECK_STEPS))
        out["ig_completeness"] = {"black": [float(err.max()), float(err128.max())],
                                  "blurred": [float(errb.max()), float(errb128.max())]}

    # DeconvNet, Guided Backprop (signals from golden_rules.py)
    guided = np.load(os.path.join(gdir, "guided_input.npy")).astype(f32)
    if want("deconvnet"):
        save("deconvnet", max_abs(np.load(os.path.join(gdir, "deconvnet_input.npy"))))
        save("guided-backprop", max_abs(guided))

    # CAM family
    if want("gradcam"):
        a, gl = net.layer_grad(x, c)
        out["layer"] = "%s %s" % (net.layer, list(a.shape[1:]))
        if name in CAM_MODELS:
            w = net.kernel.numpy().astype(f32)  # [K, classes]
            cam = weighted(w[:, c].T, a)
            save("cam_lowres", cam)
            save("cam", resize(cam, hw))
        gc = relu(weighted(np.mean(gl, axis=(1, 2), dtype=f32), a))
        save("gradcam_lowres", gc)
        gc_up = resize(gc, hw)
        save("gradcam", gc_up)
        ggc = (guided * gc_up[..., None]).astype(f32)
        save("guided-gradcam_raw", ggc)
        save("guided-gradcam", max_abs(ggc))
        g2 = (gl * gl).astype(f32)
        g3 = (g2 * gl).astype(f32)
        sa = np.sum(a, axis=(1, 2), keepdims=True, dtype=f32)
        denom = (f32(2) * g2 + sa * g3).astype(f32)
        with np.errstate(invalid="ignore", divide="ignore"):
            coef = np.where(denom != 0, g2 / denom, f32(0)).astype(f32)
        wpp = np.sum(coef * relu(gl), axis=(1, 2), dtype=f32)
        gpp = relu(weighted(wpp, a))
        save("gradcam++_lowres", gpp)
        save("gradcam++", resize(gpp, hw))
        out["gradcam++_zero_denominators"] = int(np.sum(denom == 0))
        lc = relu(np.sum(relu(gl) * a, axis=-1, dtype=f32))
        save("layercam_lowres", lc)
        save("layercam", resize(lc, hw))
        sc, constant, _ = scorecam(net, x, c, a)
        save("scorecam_lowres", sc)
        save("scorecam", resize(sc, hw))
        out["scorecam_constant_channels"] = "%d of %d" % (constant, n * a.shape[-1])
        out["dead_channels"] = int(np.sum(np.all(a == 0, axis=(1, 2))))

    # HiResCAM (Draelos & Carin 2020): the gradient itself, not its spatial mean
    if want("hirescam"):
        a, gl = net.layer_grad(x, c)
        hr = relu(np.sum(gl * a, axis=-1, dtype=f32))
        save("hirescam_lowres", hr)
        save("hirescam", resize(hr, hw))

    # XGrad-CAM (Fu et al. 2020): the gradient averaged in proportion to the activation
    if want("xgradcam"):
        a, gl = net.layer_grad(x, c)
        a64 = a.astype(np.float64)
        sa = np.sum(a64, axis=(1, 2))
        num = np.sum(a64 * gl.astype(np.float64), axis=(1, 2))
        alpha = np.where(sa != 0, num / np.where(sa != 0, sa, 1), 0)
        xg = relu(np.einsum("nk,nijk->nij", alpha, a64).astype(f32))
        save("xgradcam_lowres", xg)
        save("xgradcam", resize(xg, hw))
        out["xgradcam_zero_sums"] = int(np.sum(sa == 0))

    # Eigen-CAM (Muhammad & Yeasin 2020): no gradient, no class
    if want("eigencam"):
        a, _ = net.layer_grad(x, c)
        ec = eigen_projection(a, center=False)
        save("eigencam_lowres", ec)
        save("eigencam", resize(ec, hw))
        ecc = relu(eigen_projection(a, center=True))
        save("eigencam-centred_lowres", ecc)
        save("eigencam-centred", resize(ecc, hw))
        out["eigencam_negative"] = int(np.sum(ec < 0))

    # Ablation-CAM (Desai & Ramaswamy 2020): forward passes with a channel of the layer removed
    if want("ablationcam"):
        a, _ = net.layer_grad(x, c)
        alpha, ablated = ablationcam(net, x, c)
        ac = relu(np.einsum("nk,nijk->nij", alpha, a.astype(np.float64)).astype(f32))
        save("ablationcam_lowres", ac)
        save("ablationcam", resize(ac, hw))
        out["ablationcam_passes"] = ablated

    # FullGrad (Srinivas & Fleuret 2019): the input-gradient and bias-gradient terms
    if want("fullgrad"):
        fg, used = fullgrad(net, x, c, layer=False)
        save("fullgrad", fg)
        fgl, _ = fullgrad(net, x, c, layer=True)
        save("fullgrad-layer", fgl)
        out["fullgrad_bias_layers"] = used

    # Attention rollout
    if want("attention-rollout") and name in GRIDS:
        h, w, p = GRIDS[name]
        atts = net.attentions(x)
        t = atts[0].shape[-1]
        r = ROLLOUT["residual"]
        roll = np.tile(np.eye(t), (n, 1, 1))
        for att in atts:
            a_ = att.mean(axis=1) * (1 - r) + r * np.eye(t)
            a_ = a_ / a_.sum(axis=-1, keepdims=True)
            roll = a_ @ roll
        ro = roll[:, 0, p:].reshape((n, h, w)).astype(f32)
        save("attention-rollout_lowres", ro)
        save("attention-rollout", resize(ro, hw))

    # Occlusion
    if want("occlusion"):
        occ, nwin = occlusion(net, x, c, **OCCLUSION)
        save("occlusion", occ)
        out["occlusion_windows"] = nwin

    # Class model visualisation
    if want("class-model"):
        cm, probs, fed_g, fed_i = class_model(net, (hh, ww, ch), fed=CLASS_MODEL_FED, **CLASS_MODEL)
        save("class-model", cm[..., 0])
        save("class-model_probs", probs)
        save("class-model_fed_grads", fed_g)
        save("class-model_fed_images", fed_i)
        start, steps, imgs, dev = class_model_start(net, (hh, ww, ch), CLASS_MODEL["lr"], CLASS_MODEL["l2"],
                                                    **CLASS_MODEL_START)
        save("class-model_start", start)
        np.save(os.path.join(odir, "class-model_start_steps.npy"), steps.astype(np.int32))
        save("class-model_start_images", imgs)
        within = [float(dev[1:h + 1, k].max()) for k, h in enumerate(steps) if h > 0]
        out["class_model"] = {"min_prob": float(probs.min()), "range": [float(cm.min()), float(cm.max())],
                              "start_steps": steps.tolist(), "start_max_dev": max(within, default=0.0)}
        if png_dir:
            write_png(os.path.join(png_dir, "classmodel_%s.png" % name), cm[..., 0])

    # Feature visualisation: its update rule with fed gradients
    if want("feature-visualization"):
        fv_g, fv_imgs = feature_viz_fed((hh, ww, ch), **FEATURE_VIZ)
        save("feature-visualization_fed_grads", fv_g)
        for p, imgs in fv_imgs.items():
            save("feature-visualization_fed_%s" % p, imgs)
        out["feature_viz"] = {p: [float(i.min()), float(i.max())] for p, i in fv_imgs.items()}

    params = {
        "model": name,
        "layer": net.layer,
        "images": int(n),
        "classes": "golden/top.npy",
        "scores": "pre-softmax logits",
        "gradient": {"reduce": "max-abs"},
        "gradient-x-input": {"reduce": "sum"},
        "smoothgrad": dict(SMOOTHGRAD, wraps="gradient", noise_file="smoothgrad_noise.npy", reduce="max-abs"),
        "squaregrad": dict(SMOOTHGRAD, wraps="gradient", noise_file="smoothgrad_noise.npy", reduce="max-abs"),
        "vargrad": dict(SMOOTHGRAD, wraps="gradient", noise_file="smoothgrad_noise.npy", reduce="max-abs"),
        "integrated-gradients": {"steps": IG_STEPS, "baseline": "black", "rule": "right", "reduce": "sum"},
        "integrated-gradients-blurred": {"steps": IG_STEPS, "baseline": "blurred", "sigma": BLUR_SIGMA,
                                         "radius": int(math.ceil(3 * BLUR_SIGMA)), "border": "replicate",
                                         "rule": "right", "reduce": "sum"},
        "deconvnet": {"reduce": "max-abs"},
        "guided-backprop": {"reduce": "max-abs"},
        "gradcam": {"layer": net.layer, "resize": "bilinear"},
        "guided-gradcam": {"layer": net.layer, "reduce": "max-abs"},
        "gradcam++": {"layer": net.layer, "resize": "bilinear"},
        "layercam": {"layer": net.layer, "resize": "bilinear"},
        "hirescam": {"layer": net.layer, "resize": "bilinear"},
        "xgradcam": {"layer": net.layer, "resize": "bilinear"},
        "eigencam": {"layer": net.layer, "resize": "bilinear", "center": False, "relu": False},
        "eigencam-centred": {"layer": net.layer, "resize": "bilinear", "center": True, "relu": True},
        "ablationcam": {"layer": net.layer, "resize": "bilinear", "ablation": "zeros"},
        "fullgrad": {"normalize": "channel", "epsilon": 0, "resize": "bilinear", "biases": "Conv2D, BatchNormalization"},
        "fullgrad-layer": {"normalize": "layer", "epsilon": 0, "resize": "bilinear",
                           "biases": "Conv2D, BatchNormalization"},
        "scorecam": {"layer": net.layer, "resize": "bilinear", "baseline": "zeros"},
        "occlusion": dict(OCCLUSION),
        "class-model": dict(CLASS_MODEL, init="zeros", classes=10, probs_file="class-model_probs.npy",
                            fed=dict(steps=CLASS_MODEL_FED, grads_file="class-model_fed_grads.npy",
                                     images_file="class-model_fed_images.npy"),
                            start=dict(CLASS_MODEL_START, init="input", noise="uniform [0, 1)",
                                       file="class-model_start.npy", steps_file="class-model_start_steps.npy",
                                       images_file="class-model_start_images.npy")),
        "feature-visualization": dict(FEATURE_VIZ, init_sd=0, restarts=1, classes=[0, 1],
                                      grads_file="feature-visualization_fed_grads.npy",
                                      images_files={p: "feature-visualization_fed_%s.npy" % p
                                                    for p in ("fourier", "pixel")}),
    }
    if name in CAM_MODELS:
        params["cam"] = {"layer": net.layer, "resize": "bilinear"}
    if name in GRIDS:
        h, w, p = GRIDS[name]
        params["grid"] = "%dx%d+%d" % (h, w, p)
        params["attention-rollout"] = dict(ROLLOUT, resize="bilinear")
    with open(os.path.join(odir, "params.yaml"), "w") as f:
        yaml.safe_dump(params, f, sort_keys=False, width=120)
    print("%s: %s" % (name, out), flush=True)
    return out


def write_png(path, imgs):
    from PIL import Image
    tiles = []
    for im in imgs:
        lo, hi = float(im.min()), float(im.max())
        t = (im - lo) / (hi - lo) if hi > lo else np.zeros_like(im)
        t = np.pad(t, 1, constant_values=1.0)
        tiles.append(t)
    row = np.concatenate(tiles, axis=1)
    scale = max(1, 256 // row.shape[0])
    Image.fromarray((row * 255).astype(np.uint8), mode="L").resize(
        (row.shape[1] * scale, row.shape[0] * scale), Image.NEAREST).save(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="*", default=[os.path.join(HERE, m) for m in ZOO])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", default="",
                    help="comma-separated sections to write (default: all): " + ", ".join(SECTIONS))
    ap.add_argument("--png", default=None, help="also write classmodel_<name>.png into this folder")
    args = ap.parse_args()
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    only = [x for x in args.only.split(",") if x]
    for x in only:
        if x not in SECTIONS:
            raise SystemExit("--only: unknown section %r; sections: %s" % (x, ", ".join(SECTIONS)))
    for p in args.models:
        write(p, png_dir=args.png, only=only)


if __name__ == "__main__":
    main()
