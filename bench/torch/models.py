#!/usr/bin/env python3
"""PyTorch copies of the zoo models fmnist_vgg, fmnist_resnet and fmnist_gap (issue 20 parity), and of the
random-weight keras.applications.ResNet50 of savedmodels/imagenet/resnet50 (bench/torch/lrp_bench.py).

Run in the torch venv (bench/torch/.venv). The copy is built from the description that
savedmodels/export_weights.py writes (graph.json + weights.npz, default bench/torch/weights/<model>/):

    bench/torch/.venv/bin/python bench/torch/models.py [--weights DIR] [MODEL ...]

checks each copy's logits against savedmodels/<model>/golden/logits.npy on golden/inputs.npy and
prints the max |diff| (must be <= 1e-5), and against the rebuilt Keras model's logits on those inputs
and 4 more seeded random ones (check.npz of export_weights.py). resnet50 (224x224x3, logits up to about 10)
is checked relative to its largest logit: at most 1e-4 (--rtol).

The copy (KerasCopy) takes NCHW input [N,1,28,28] (the zoo takes NHWC [N,28,28,1] in [0,1]; resnet50
[N,3,224,224] for NHWC [N,224,224,3] in [0,1]) and returns the logits. It is made of modules the peers attach their rules and hooks to:

- Conv2D -> nn.Conv2d (cross-correlation like Keras, kernel HWIO -> OIHW). padding 'valid' -> 0;
  'same' -> TensorFlow's padding: total = max((ceil(in/s)-1)*s + k - in, 0), before = total//2,
  after = total - before. When before == after it is nn.Conv2d(padding=before); when it is not
  (a 3x3 stride-2 'same' conv on 28x28: 0 before, 1 after) the forward pads functionally with
  F.pad before a padding-0 nn.Conv2d, so the module stays a plain nn.Conv2d (Captum's LRP checks
  exact types) and relevance reaching the padded zeros is dropped by F.pad's backward.
  A fused activation='relu' becomes a separate nn.ReLU module named "<layer>_relu".
- BatchNormalization -> nn.BatchNorm2d(eps = Keras epsilon: 1e-3 in the zoo, 1.001e-5 in ResNet50),
  gamma/beta/moving stats, eval mode.
- ReLU and Activation('relu') -> nn.ReLU() (not in place); MaxPooling2D -> nn.MaxPool2d; GlobalAveragePooling2D ->
  nn.AdaptiveAvgPool2d(1) then a functional reshape to [N, C].
- ZeroPadding2D -> functional F.pad with zeros in the forward (no module), as TensorFlow's Pad op before the
  'valid' conv or max pool that reads it: the next module sees the padded tensor, as the toolkit's rules see
  the Pad op's output (ZBox's bounds cover the padded border too; the max pool after ResNet50's pool1_pad pads
  with zeros, not -inf, which is the same after a ReLU).
- Flatten -> functional x.permute(0, 2, 3, 1).reshape(N, -1) (NCHW -> NHWC first, so the Keras Dense
  kernel applies unchanged); Dense -> nn.Linear (weight = kernel.T); Dropout -> nn.Dropout (identity
  in eval mode). A softmax on the output Dense (ResNet50's head) is left out: the copy returns the logits.
- Add -> zennit.layer.Sum(dim=-1) applied to torch.stack(inputs, dim=-1): the module Zennit's
  composites give the Norm rule, and a module Captum's hooks see.

Variant "captum_lrp" (load(name, variant="captum_lrp")), for Captum's LRP only: Captum's LRP multiplies by a
module's input in a hook on that input tensor, so every consumer of a tensor must read the tensor itself.
There the residual Add is captum's Addition_Module(x1, x2) (not a Sum of a stacked tensor) and the
asymmetrically padded convs are PadConv2d, an nn.Conv2d that pads inside its forward (so the hook sits on the
unpadded tensor the projection shortcut also reads). Same function, same weights; the peers other than
Captum's LRP use the default variant.

Modules are registered so that each BatchNorm2d directly follows the convolution it normalises in
module order (named_modules / zennit.core.collect_leaves), whatever the Keras layer order: Zennit's
SequentialMergeBatchNorm merges a batch norm into the leaf just before it. (Keras orders
fmnist_resnet's block2 as conv2, proj, bn2, proj_bn; registered as is, proj would be merged with
bn2.) The forward runs in the Keras layer order.
"""
import argparse
import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from zennit.layer import Sum

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DEFAULT_WEIGHTS = os.path.join(HERE, "weights")
MODELS = ["fmnist_vgg", "fmnist_resnet", "fmnist_gap"]
# Models checked relative to their largest logit (--rtol) rather than absolutely (--tol).
RELATIVE = {"resnet50"}


def same_padding(size, k, s):
    out = math.ceil(size / s)
    total = max((out - 1) * s + k - size, 0)
    return out, total // 2, total - total // 2


class PadConv2d(nn.Conv2d):
    """nn.Conv2d with TensorFlow's asymmetric 'same' padding applied inside its forward (variant captum_lrp)."""

    def __init__(self, *args, tf_pad=(0, 0, 0, 0), **kwargs):
        super().__init__(*args, **kwargs)
        self.tf_pad = tuple(tf_pad)

    def forward(self, x):
        return super().forward(F.pad(x, self.tf_pad))


class KerasCopy(nn.Module):
    """A torch.nn.Module equal to a Keras functional model described by graph.json/weights.npz."""

    def __init__(self, graph, weights, variant="default"):
        super().__init__()
        if variant not in ("default", "captum_lrp"):
            raise ValueError("unknown variant %s" % variant)
        self.variant = variant
        self.graph = graph
        layers = graph["layers"]
        by_name = {l["name"]: l for l in layers}
        consumers = {l["name"]: [] for l in layers}
        for l in layers:
            for i in l["inputs"]:
                consumers[i].append(l["name"])
        # spatial shapes (NCHW, without N) by layer, for TensorFlow's 'same' padding
        shape = {}
        self.steps = []          # forward plan: (layer name, kind, module name or None, inputs, extra)
        self.output_module = {}  # Keras layer name -> name of the module whose output is that layer's output
        plan_modules = []        # (module name, module, keras layer it follows)

        def W(key):
            return torch.from_numpy(np.asarray(weights[key], dtype=np.float32).copy())

        for l in layers:
            name, kind, cfg, ins = l["name"], l["kind"], l["config"], l["inputs"]
            extra = {}
            if kind == "input":
                _, h, w, c = cfg["batch_shape"]
                shape[name] = (c, h, w)
                self.steps.append((name, kind, None, ins, extra))
                continue
            cin = shape[ins[0]]
            if kind == "zeropad2d":
                (pt, pb), (pl, pr) = cfg["padding"]
                extra["pad"] = (pl, pr, pt, pb)
                shape[name] = (cin[0], cin[1] + pt + pb, cin[2] + pl + pr)
                self.steps.append((name, kind, [], ins, extra))
                self.output_module[name] = None
                continue
            if kind == "conv2d":
                kh, kw = cfg["kernel_size"]
                sh, sw = cfg["strides"]
                c, h, w = cin
                if cfg["padding"] == "same":
                    oh, pt, pb = same_padding(h, kh, sh)
                    ow, pl, pr = same_padding(w, kw, sw)
                elif cfg["padding"] == "valid":
                    oh, ow, pt, pb, pl, pr = (h - kh) // sh + 1, (w - kw) // sw + 1, 0, 0, 0, 0
                else:
                    raise ValueError(cfg["padding"])
                if pt == pb and pl == pr:
                    m = nn.Conv2d(c, cfg["filters"], (kh, kw), stride=(sh, sw), padding=(pt, pl), bias=cfg["use_bias"])
                elif variant == "captum_lrp":
                    m = PadConv2d(c, cfg["filters"], (kh, kw), stride=(sh, sw), padding=0, bias=cfg["use_bias"],
                                  tf_pad=(pl, pr, pt, pb))
                else:
                    extra["pad"] = (pl, pr, pt, pb)  # F.pad order: left, right, top, bottom
                    m = nn.Conv2d(c, cfg["filters"], (kh, kw), stride=(sh, sw), padding=0, bias=cfg["use_bias"])
                with torch.no_grad():
                    m.weight.copy_(W(name + "/kernel").permute(3, 2, 0, 1))
                    if cfg["use_bias"]:
                        m.bias.copy_(W(name + "/bias"))
                shape[name] = (cfg["filters"], oh, ow)
                mods = [(name, m)]
                if cfg["activation"] == "relu":
                    mods.append((name + "_relu", nn.ReLU()))
            elif kind == "batchnorm":
                m = nn.BatchNorm2d(cin[0], eps=cfg["epsilon"])
                with torch.no_grad():
                    m.weight.copy_(W(name + "/gamma"))
                    m.bias.copy_(W(name + "/beta"))
                    m.running_mean.copy_(W(name + "/moving_mean"))
                    m.running_var.copy_(W(name + "/moving_variance"))
                shape[name] = cin
                mods = [(name, m)]
            elif kind == "relu":
                shape[name] = cin
                mods = [(name, nn.ReLU())]
            elif kind == "maxpool2d":
                assert cfg["padding"] == "valid", cfg
                (ph, pw), (sh, sw) = cfg["pool_size"], cfg["strides"]
                shape[name] = (cin[0], (cin[1] - ph) // sh + 1, (cin[2] - pw) // sw + 1)
                mods = [(name, nn.MaxPool2d((ph, pw), stride=(sh, sw)))]
            elif kind == "avgpool2d":
                assert cfg["padding"] == "valid", cfg
                (ph, pw), (sh, sw) = cfg["pool_size"], cfg["strides"]
                shape[name] = (cin[0], (cin[1] - ph) // sh + 1, (cin[2] - pw) // sw + 1)
                mods = [(name, nn.AvgPool2d((ph, pw), stride=(sh, sw)))]
            elif kind == "global_avgpool2d":
                shape[name] = (cin[0],)
                mods = [(name, nn.AdaptiveAvgPool2d(1))]
            elif kind == "flatten":
                shape[name] = (int(np.prod(cin)),)
                mods = []
            elif kind == "dense":
                m = nn.Linear(cin[0], cfg["units"], bias=cfg["use_bias"])
                with torch.no_grad():
                    m.weight.copy_(W(name + "/kernel").T)
                    if cfg["use_bias"]:
                        m.bias.copy_(W(name + "/bias"))
                shape[name] = (cfg["units"],)
                mods = [(name, m)]
                if cfg["activation"] == "relu":
                    mods.append((name + "_relu", nn.ReLU()))
                elif cfg["activation"] == "softmax" and name != graph["output"]["layer"]:
                    raise ValueError("softmax in %s, which is not the output layer" % name)
            elif kind == "dropout":
                shape[name] = cin
                mods = [(name, nn.Dropout(cfg["rate"]))]
            elif kind == "add":
                assert all(shape[i] == cin for i in ins), [shape[i] for i in ins]
                shape[name] = cin
                if variant == "captum_lrp":
                    from captum.attr._utils.custom_modules import Addition_Module
                    assert len(ins) == 2, ins
                    mods = [(name, Addition_Module())]
                else:
                    mods = [(name, Sum(dim=-1))]
            else:
                raise ValueError("unknown kind %s" % kind)
            self.steps.append((name, kind, [n for n, _ in mods], ins, extra))
            self.output_module[name] = mods[-1][0] if mods else None
            for n, m in mods:
                plan_modules.append((n, m, name))

        # Registration order: Keras order, except that a BatchNorm2d whose only input is a
        # convolution (or Linear) with no fused activation is moved right after it.
        bn_after = {}
        for l in layers:
            if l["kind"] == "batchnorm":
                src = by_name[l["inputs"][0]]
                if src["kind"] in ("conv2d", "dense") and src["config"]["activation"] == "linear" \
                        and consumers[src["name"]] == [l["name"]]:
                    bn_after[src["name"]] = l["name"]
        moved = set(bn_after.values())
        mods_of = {}
        for n, m, lname in plan_modules:
            mods_of.setdefault(lname, []).append((n, m))
        for l in layers:
            if l["name"] in moved:
                continue
            for n, m in mods_of.get(l["name"], []):
                self.add_module(n, m)
            if l["name"] in bn_after:
                for n, m in mods_of[bn_after[l["name"]]]:
                    self.add_module(n, m)
        self.bn_follows = {v: k for k, v in bn_after.items()}  # batch norm -> its linear layer
        self.output_layer = graph["output"]["layer"]
        self.eval()

    def forward(self, x):
        t = {}
        for name, kind, mods, ins, extra in self.steps:
            if kind == "input":
                t[name] = x
                continue
            if kind == "add" and self.variant == "captum_lrp":
                h = getattr(self, mods[0])(*[t[i] for i in ins])
            elif kind == "add":
                h = getattr(self, mods[0])(torch.stack([t[i] for i in ins], dim=-1))
            else:
                h = t[ins[0]]
                if kind == "flatten":
                    h = h.permute(0, 2, 3, 1).reshape(h.shape[0], -1)
                elif kind == "zeropad2d":
                    h = F.pad(h, extra["pad"])
                elif kind == "conv2d" and "pad" in extra:
                    h = F.pad(h, extra["pad"])
                for m in mods:
                    h = getattr(self, m)(h)
                if kind == "global_avgpool2d":
                    h = h.reshape(h.shape[0], -1)
            t[name] = h
        return t[self.output_layer]


def load(name, weights_dir=DEFAULT_WEIGHTS, variant="default"):
    d = os.path.join(weights_dir, name)
    with open(os.path.join(d, "graph.json")) as f:
        graph = json.load(f)
    with np.load(os.path.join(d, "weights.npz")) as w:
        weights = {k: w[k] for k in w.files}
    used = {k for l in graph["layers"] for k in l["weights"]}
    if used != set(weights):
        raise ValueError("%s: weights.npz keys differ from graph.json's layers" % name)
    return KerasCopy(graph, weights, variant)


def golden_dir(name, weights_dir=DEFAULT_WEIGHTS):
    """The model's savedmodels/.../golden folder (graph.json's source: savedmodels/imagenet/resnet50 for resnet50)."""
    src = os.path.join("savedmodels", name)
    gpath = os.path.join(weights_dir, name, "graph.json")
    if os.path.exists(gpath):
        with open(gpath) as f:
            src = json.load(f).get("source", src)
    return os.path.join(ROOT, src, "golden")


def golden(name, weights_dir=DEFAULT_WEIGHTS):
    g = golden_dir(name, weights_dir)
    return np.load(os.path.join(g, "inputs.npy")), np.load(os.path.join(g, "logits.npy"))


def nhwc_to_nchw(x):
    return torch.from_numpy(np.ascontiguousarray(np.asarray(x, dtype=np.float32).transpose(0, 3, 1, 2)))


def logit_diff(model, name, weights_dir=DEFAULT_WEIGHTS):
    """max |copy - golden/logits.npy| on golden/inputs.npy, and whether the argmax agrees."""
    x, want = golden(name, weights_dir)
    with torch.no_grad():
        got = model(nhwc_to_nchw(x)).numpy()
    return float(np.max(np.abs(got - want))), bool((got.argmax(1) == want.argmax(1)).all())


def check_diff(model, name, weights_dir=DEFAULT_WEIGHTS):
    """max |copy - rebuilt Keras| and that over max |logit|, on check.npz's inputs (golden and random), or None."""
    p = os.path.join(weights_dir, name, "check.npz")
    if not os.path.exists(p):
        return None
    with np.load(p) as c:
        x, want = c["inputs"], c["logits"]
    got = []
    with torch.no_grad():
        for i in range(0, len(x), 2):
            got.append(model(nhwc_to_nchw(x[i:i + 2])).numpy())
    got = np.concatenate(got)
    d = float(np.max(np.abs(got - want)))
    return d, d / float(np.max(np.abs(want))), len(x)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="*", default=MODELS)
    ap.add_argument("--weights", default=DEFAULT_WEIGHTS)
    ap.add_argument("--tol", type=float, default=1e-5, help="absolute, on the zoo's golden logits")
    ap.add_argument("--rtol", type=float, default=1e-4,
                    help="relative to the largest logit, for resnet50 (golden and check.npz's random inputs)")
    args = ap.parse_args()
    torch.set_num_threads(2)
    bad = []
    for name in args.models:
        model = load(name, args.weights)
        diff, same_top = logit_diff(model, name, args.weights)
        chk = check_diff(model, name, args.weights)
        if name in RELATIVE:
            ok = chk is not None and chk[1] <= args.rtol and same_top
            print("%s: torch copy vs golden/logits.npy max|diff| %.3g (argmax equal: %s); vs the rebuilt Keras model "
                  "on %d inputs (golden and random) max|diff| %.3g, relative to the largest logit %.3g; %d modules" % (
                      name, diff, same_top, chk[2] if chk else 0, chk[0] if chk else float("nan"),
                      chk[1] if chk else float("nan"), len([n for n, _ in model.named_modules() if n])))
            if not ok:
                bad.append(name)
            continue
        diff_c, same_c = logit_diff(load(name, args.weights, "captum_lrp"), name, args.weights)
        order = [n for n, _ in model.named_modules() if n]
        print("%s: torch copy vs golden/logits.npy max|diff| %.3g (variant captum_lrp %.3g; argmax equal: %s)%s; "
              "modules: %s" % (name, diff, diff_c, same_top and same_c,
                               "" if chk is None else "; vs the rebuilt Keras model on %d inputs %.3g" % (chk[2], chk[0]),
                               " ".join(order)))
        if max(diff, diff_c) > args.tol or not (same_top and same_c):
            bad.append(name)
    if bad:
        raise SystemExit("logits differ beyond %g: %s" % (args.tol, ", ".join(bad)))


if __name__ == "__main__":
    main()
