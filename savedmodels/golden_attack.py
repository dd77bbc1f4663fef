#!/usr/bin/env python3
"""Golden second-order gradients for the targeted attack (Ghorbani et al. 2019), in Python.

The attack differentiates saliency maps with respect to the input on a copy of the model
whose ReLUs are softplus(beta x)/beta. Here, independently of the Go toolkit, each model's
serving signature is frozen with TensorFlow's convert_variables_to_constants_v2, every
Relu node of the frozen GraphDef is rewritten as Softplus(x * beta) / beta, and the maps
are differentiated twice with tf.gradients (TensorFlow's registered second-order
gradients: SoftplusGrad, MaxPoolGrad, Conv2DBackpropInput, ...; what a nested
tf.GradientTape runs). On x = golden/inputs.npy[:4] [4,H,W,1], c = golden/top.npy[:4],
S_c the pre-softmax logit, g(x) = dS_c/dx of the softplus copy, written to
golden/attack/ (beta = BETA):

    logits.npy        the softplus copy's logits [4,10]
    grad.npy          g(x)
    along.npy, hvp.npy
                      u ~ N(0,1) (default_rng(SEED)); d<u, g(x)>/dx, the Hessian-vector product
    cotangent.npy     v ~ N(0,1) [4,H,W] (the next draws): a cotangent on the maps
    mapgrad_<method>.npy
                      d<v, map(x)>/dx for
        gradient               map = max_ch |g(x)|
        gradient-x-input       map = sum_ch x g(x)
        integrated-gradients   black baseline 0, IG_STEPS-point Gauss-Legendre on [0,1]
                               (numpy leggauss, nodes and weights rounded to float32):
                               map = sum_ch x sum_k w_k g(a_k x)
        smoothgrad             SG_SAMPLES draws e_s = smoothgrad_noise.npy [S,H,W,1] (the next
                               draws), sigma = SG_NOISE (max x - min x) per image, held fixed:
                               map = max_ch |1/S sum_s g(x + sigma e_s)|

Usage: golden_attack.py [SAVEDMODEL_DIR ...]   (default: fmnist_vgg and fmnist_resnet)
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = ["fmnist_vgg", "fmnist_resnet"]
IMAGES = 4
BETA = 10.0
SEED = 20261215
IG_STEPS = 8
SG_SAMPLES = 8
SG_NOISE = 0.15
f32 = np.float32


def frozen(path):
    loaded = tf.saved_model.load(path)
    fn = convert_variables_to_constants_v2(loaded.signatures["serving_default"])
    return fn.graph.as_graph_def(), fn.inputs[0].name, fn.outputs[0].name


def softplus_copy(gd, beta):
    """gd with every Relu node N(x) rewritten as RealDiv(Softplus(Mul(x, beta)), beta)."""
    out = tf.compat.v1.GraphDef()
    out.versions.CopyFrom(gd.versions)
    out.library.CopyFrom(gd.library)
    count = 0
    for n in gd.node:
        if n.op != "Relu":
            out.node.add().CopyFrom(n)
            continue
        count += 1
        dt = n.attr["T"]
        b = out.node.add(name=n.name + "/attack_beta", op="Const")
        b.attr["dtype"].type = dt.type
        b.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(np.array(beta, f32)))
        m = out.node.add(name=n.name + "/attack_scaled", op="Mul", input=[n.input[0], b.name])
        m.attr["T"].CopyFrom(dt)
        s = out.node.add(name=n.name + "/attack_softplus", op="Softplus", input=[m.name])
        s.attr["T"].CopyFrom(dt)
        r = out.node.add(name=n.name, op="RealDiv", input=[s.name, b.name] + [i for i in n.input if i.startswith("^")])
        r.attr["T"].CopyFrom(dt)
    if count == 0:
        raise SystemExit("no Relu node")
    return out


def logits_name(gd, out_name):
    """The input of a final Softmax, or the output itself (a model with logits outputs)."""
    soft = [n for n in gd.node if n.op == "Softmax"]
    if not soft:
        return out_name
    if len(soft) != 1:
        raise SystemExit("want at most one Softmax, found %d" % len(soft))
    return soft[0].input[0] + ("" if ":" in soft[0].input[0] else ":0")


def build(path):
    name = os.path.basename(os.path.normpath(path))
    gd, in_name, out_name = frozen(path)
    logit = logits_name(gd, out_name)
    sp = softplus_copy(gd, BETA)
    x = np.load(os.path.join(path, "golden", "inputs.npy"))[:IMAGES].astype(f32)
    c = np.load(os.path.join(path, "golden", "top.npy"))[:IMAGES].astype(np.int32)
    n, h, w, ch = x.shape
    rng = np.random.default_rng(SEED)
    u = rng.standard_normal(x.shape).astype(f32)
    v = rng.standard_normal((n, h, w)).astype(f32)
    noise = rng.standard_normal((SG_SAMPLES, h, w, ch)).astype(f32)
    nodes, weights = np.polynomial.legendre.leggauss(IG_STEPS)
    alpha = ((nodes + 1) / 2).astype(f32)
    wts = (weights / 2).astype(f32)
    sigma = (SG_NOISE * (x.reshape(n, -1).max(1) - x.reshape(n, -1).min(1))).astype(f32)

    g = tf.Graph()
    with g.as_default():
        xin = tf.compat.v1.placeholder(tf.float32, [None, h, w, ch])
        cls = tf.constant(c)

        def grads(points, classes):
            """dS_c/dp of the softplus copy at a batch of points that depend on xin."""
            (z,) = tf.graph_util.import_graph_def(sp, input_map={in_name: points}, return_elements=[logit])
            s = tf.reduce_sum(tf.gather(z, classes, axis=1, batch_dims=1))
            return z, tf.gradients(s, points)[0]

        z, gx = grads(tf.identity(xin), cls)
        along = tf.constant(u)
        (hvp,) = tf.gradients(gx, xin, grad_ys=along)
        vt = tf.constant(v)
        maps = {
            "gradient": tf.reduce_max(tf.abs(gx), axis=-1),
            "gradient-x-input": tf.reduce_sum(xin * gx, axis=-1),
        }
        # Integrated Gradients: points [m*n] in step-major order.
        a = tf.constant(alpha)[:, None, None, None, None]
        pts = tf.reshape(a * xin[None], [-1, h, w, ch])
        _, gp = grads(pts, tf.tile(cls, [IG_STEPS]))
        gp = tf.reshape(gp, [IG_STEPS, -1, h, w, ch])
        avg = tf.reduce_sum(tf.constant(wts)[:, None, None, None, None] * gp, axis=0)
        maps["integrated-gradients"] = tf.reduce_sum(xin * avg, axis=-1)
        # SmoothGrad: points [S*n] in sample-major order, sigma held fixed.
        e = tf.constant(noise)[:, None]
        sg = tf.constant(sigma)[None, :, None, None, None]
        pts = tf.reshape(xin[None] + sg * e, [-1, h, w, ch])
        _, gs = grads(pts, tf.tile(cls, [SG_SAMPLES]))
        mean = tf.reduce_mean(tf.reshape(gs, [SG_SAMPLES, -1, h, w, ch]), axis=0)
        maps["smoothgrad"] = tf.reduce_max(tf.abs(mean), axis=-1)
        mapgrads = {k: tf.gradients(tf.reduce_sum(vt * m), xin)[0] for k, m in maps.items()}
        with tf.compat.v1.Session(graph=g) as sess:
            out = sess.run({"logits": z, "grad": gx, "hvp": hvp, "maps": maps, "mapgrads": mapgrads}, {xin: x})

    d = os.path.join(path, "golden", "attack")
    os.makedirs(d, exist_ok=True)
    save = lambda f, a: np.save(os.path.join(d, f), np.asarray(a, f32))  # noqa: E731
    save("logits.npy", out["logits"])
    save("grad.npy", out["grad"])
    save("along.npy", u)
    save("hvp.npy", out["hvp"])
    save("cotangent.npy", v)
    save("smoothgrad_noise.npy", noise)
    for k, t in out["mapgrads"].items():
        save("mapgrad_%s.npy" % k, t)
        save("map_%s.npy" % k, out["maps"][k])
    with open(os.path.join(d, "params.txt"), "w") as f:
        f.write("beta %g\nimages %d\nig_steps %d\nsmoothgrad_samples %d\nsmoothgrad_noise %g\nseed %d\n"
                % (BETA, IMAGES, IG_STEPS, SG_SAMPLES, SG_NOISE, SEED))
    print("%s: |hvp| %.3g, |mapgrad| %s" % (name, np.abs(out["hvp"]).max(),
                                             ", ".join("%s %.3g" % (k, np.abs(t).max()) for k, t in out["mapgrads"].items())))


def main():
    paths = sys.argv[1:] or [os.path.join(HERE, m) for m in MODELS]
    for p in paths:
        build(p)


if __name__ == "__main__":
    main()
