#!/usr/bin/env python3
"""Peer goldens for issue 20: LRP (Zennit 0.5.1, Captum 0.9.0), DeepLIFT / DeepSHAP (Captum 0.9.0) and
CAM variants (pytorch-grad-cam 1.5.7) on the PyTorch copies of fmnist_vgg, fmnist_resnet, fmnist_gap.

Run in the torch venv after savedmodels/export_weights.py (or `make parity-goldens`):

    bench/torch/.venv/bin/python bench/torch/peer_goldens.py [--weights DIR] [MODEL ...]

For each model: the 8 images of savedmodels/<m>/golden/inputs.npy (NHWC [8,28,28,1] in [0,1]), the
class explained = argmax of golden/logits.npy. Writes float32 .npy maps into
savedmodels/<m>/golden/peers/<name>.npy and savedmodels/<m>/golden/peers/manifest.json, which says
for each file the peer, its version, the class/function called, every parameter (defaults
included, read from the installed source), canonizers, layout and post-processing. Maps are the
peers' outputs transposed to NHWC: input-space maps [8,28,28,1]; CAM maps [8,28,28] (pytorch-grad-cam's
default output) and [8,h,w] (the raw CAM at the layer's resolution). Deviations from calling the peer
as is are two, both for exactness and both measured in the manifest: Zennit's batch-norm merge made
exact (ExactSequentialMergeBatchNorm) and Captum's DeepLift given a tensor between a ReLU and the
MaxPool2d it feeds (Captum issue #1104).
"""
import argparse
import contextlib
import functools
import importlib.metadata as md
import inspect
import io
import json
import os
import sys
import time
import warnings

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import models  # noqa: E402

from zennit.attribution import Gradient  # noqa: E402
from zennit.canonizers import SequentialMergeBatchNorm, MergeBatchNorm  # noqa: E402
from zennit.composites import (  # noqa: E402
    LayerMapComposite, SpecialFirstLayerMapComposite, layer_map_base,
    EpsilonPlus, EpsilonGammaBox, EpsilonAlpha2Beta1, EpsilonPlusFlat)
from zennit.rules import Epsilon, Gamma, AlphaBeta, ZPlus, WSquare, Flat, ZBox, Norm, Pass  # noqa: E402
from zennit.types import Convolution, Activation, AvgPool, BatchNorm  # noqa: E402
from zennit.layer import Sum  # noqa: E402

from captum.attr import DeepLift, DeepLiftShap, LRP  # noqa: E402
from captum.attr._utils.lrp_rules import EpsilonRule  # noqa: E402
from captum.attr._core import lrp as captum_lrp  # noqa: E402
from captum.attr._core import deep_lift as captum_dl  # noqa: E402

import cv2  # noqa: E402
import tqdm  # noqa: E402
from pytorch_grad_cam import GradCAM, HiResCAM, XGradCAM, EigenCAM, AblationCAM, FullGrad  # noqa: E402
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget  # noqa: E402

ROOT = models.ROOT
N_IMAGES = 8
VERSIONS = {p: md.version(p) for p in ("torch", "zennit", "captum", "grad-cam", "numpy", "opencv-python-headless")}
# The layer the toolkit's CAM methods read by default (`bin/saliency inspect`: "CAM layer", the last 4-D
# convolution-like output); for fmnist_gap it is the layer global average pooling reads.
CAM_LAYER = {"fmnist_vgg": "conv2_2", "fmnist_resnet": "block3_out", "fmnist_gap": "relu3_2"}
SAMPLES = os.path.join(ROOT, "savedmodels", "samples", "fmnist_test_1000.npz")
ST = 1e-6  # Zennit's default stabilizer (layer_map_base and every rule but Epsilon, whose epsilon defaults to 1e-6)


def rnd(v, digits=6):
    return float("%.*g" % (digits, float(v)))


def defaults(obj):
    """The default keyword values of a class's __init__ (or a function), read from the installed source."""
    fn = obj.__init__ if inspect.isclass(obj) else obj
    out = {}
    for k, p in inspect.signature(fn).parameters.items():
        if k in ("self", "args", "kwargs"):
            continue
        v = p.default
        out[k] = None if v is inspect.Parameter.empty else (
            v if isinstance(v, (int, float, str, bool, type(None))) else repr(v))
    return out


def to_nhwc(a):
    a = a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1)).astype(np.float32)


class Writer:
    def __init__(self, name, outdir):
        self.name = name
        self.outdir = outdir
        self.files = {}
        os.makedirs(outdir, exist_ok=True)

    def save(self, fname, arr, summary="", **meta):
        arr = np.asarray(arr, dtype=np.float32)
        if not np.all(np.isfinite(arr)):
            raise SystemExit("%s/%s: non-finite values" % (self.name, fname))
        np.save(os.path.join(self.outdir, fname + ".npy"), arr)
        self.files[fname] = {"file": fname + ".npy", "shape": list(arr.shape)} | meta
        print("  %-28s %-15s %s" % (fname, str(tuple(arr.shape)), summary), flush=True)


# ------------------------------------------------------------------ Zennit

class ExactSequentialMergeBatchNorm(SequentialMergeBatchNorm):
    """SequentialMergeBatchNorm whose merged batch norm computes the identity exactly.

    Zennit 0.5.1 leaves a merged BatchNorm2d with running_mean 0, running_var 1, weight 1, bias 0, which computes
    x / sqrt(1 + eps): with Keras' eps = 1e-3 each merged batch norm scales by 0.9995 (fmnist_resnet has 7 in a
    row: logits off by up to 0.044). Here running_var is set to 1 - eps, so the merged model is the model.
    remove() restores every parameter, as in Zennit.
    """
    @staticmethod
    def merge_batch_norm(modules, batch_norm):
        SequentialMergeBatchNorm.merge_batch_norm(modules, batch_norm)
        batch_norm.running_var.data = torch.full_like(batch_norm.running_var.data, 1.0 - batch_norm.eps)


def rule_jobs():
    """(file, description, builder(canonizers) -> composite, parameters, conv rule, linear rule, first-layer rule)"""
    def every(rule_fn):
        def build(canon):
            r = rule_fn()
            return LayerMapComposite(layer_map=layer_map_base(ST) + [(Convolution, r), (torch.nn.Linear, r)],
                                     canonizers=canon)
        return build

    def first(rule_fn):
        def build(canon):
            rest = Epsilon(epsilon=0.0)
            return SpecialFirstLayerMapComposite(
                layer_map=layer_map_base(ST) + [(Convolution, rest), (torch.nn.Linear, rest)],
                first_map=[(Convolution, rule_fn())], canonizers=canon)
        return build

    lrp0 = "Epsilon(epsilon=0.0)"
    jobs = [
        ("zennit_lrp0", "LRP-0 on every Conv2d and Linear: Epsilon(epsilon=0.0). Zennit's docstring: 'Setting "
         "(epsilon=0) produces the LRP-0 rule'; its stabilizer then adds 0 * sign(z), so z is used as is",
         every(lambda: Epsilon(epsilon=0.0)), {"epsilon": 0.0, "zero_params": None}, lrp0, lrp0, None),
        ("zennit_epsilon_1e-6", "LRP-epsilon on every Conv2d and Linear, Zennit's default epsilon",
         every(lambda: Epsilon()), {"epsilon": 1e-6, "zero_params": None},
         "Epsilon(epsilon=1e-6)", "Epsilon(epsilon=1e-6)", None),
        ("zennit_epsilon_0.25", "LRP-epsilon on every Conv2d and Linear, epsilon 0.25",
         every(lambda: Epsilon(epsilon=0.25)), {"epsilon": 0.25, "zero_params": None},
         "Epsilon(epsilon=0.25)", "Epsilon(epsilon=0.25)", None),
        ("zennit_gamma_0.25", "LRP-gamma (Zennit's generalised Gamma) on every Conv2d and Linear",
         every(lambda: Gamma(gamma=0.25, stabilizer=ST)), {"gamma": 0.25, "stabilizer": ST, "zero_params": None},
         "Gamma(gamma=0.25, stabilizer=1e-6)", "Gamma(gamma=0.25, stabilizer=1e-6)", None),
        ("zennit_alpha2beta1", "LRP-alpha2beta1 on every Conv2d and Linear",
         every(lambda: AlphaBeta(alpha=2.0, beta=1.0, stabilizer=ST)),
         {"alpha": 2.0, "beta": 1.0, "stabilizer": ST, "zero_params": None},
         "AlphaBeta(alpha=2, beta=1, stabilizer=1e-6)", "AlphaBeta(alpha=2, beta=1, stabilizer=1e-6)", None),
        ("zennit_alpha1beta0", "LRP-alpha1beta0 on every Conv2d and Linear",
         every(lambda: AlphaBeta(alpha=1.0, beta=0.0, stabilizer=ST)),
         {"alpha": 1.0, "beta": 0.0, "stabilizer": ST, "zero_params": None},
         "AlphaBeta(alpha=1, beta=0, stabilizer=1e-6)", "AlphaBeta(alpha=1, beta=0, stabilizer=1e-6)", None),
        ("zennit_zplus", "LRP-z+ (ZPlus) on every Conv2d and Linear",
         every(lambda: ZPlus(stabilizer=ST)), {"stabilizer": ST, "zero_params": None},
         "ZPlus(stabilizer=1e-6)", "ZPlus(stabilizer=1e-6)", None),
        ("zennit_wsquare_first", "w^2 (WSquare) on the first Conv2d only, LRP-0 on every other Conv2d and Linear. "
         "No built-in Zennit 0.5.1 composite uses WSquare",
         first(lambda: WSquare(stabilizer=ST)), {"stabilizer": ST, "zero_params": None}, lrp0, lrp0,
         "WSquare(stabilizer=1e-6)"),
        ("zennit_flat_first", "flat (Flat) on the first Conv2d only, LRP-0 on every other Conv2d and Linear "
         "(EpsilonPlusFlat uses Flat at the first layer)",
         first(lambda: Flat(stabilizer=ST)), {"stabilizer": ST, "zero_params": "['bias'] (Flat always zeroes it)"},
         lrp0, lrp0, "Flat(stabilizer=1e-6)"),
        ("zennit_zbox_first", "z^B (ZBox, low=0, high=1: the card's input range) on the first Conv2d only, LRP-0 on "
         "every other Conv2d and Linear (EpsilonGammaBox uses ZBox at the first layer)",
         first(lambda: ZBox(low=0.0, high=1.0, stabilizer=ST)),
         {"low": 0.0, "high": 1.0, "stabilizer": ST, "zero_params": None}, lrp0, lrp0,
         "ZBox(low=0.0, high=1.0, stabilizer=1e-6)"),
        ("zennit_epsilon_plus", "composite EpsilonPlus() with its defaults",
         lambda canon: EpsilonPlus(canonizers=canon), {"epsilon": 1e-6, "stabilizer": ST, "zero_params": None},
         "ZPlus(stabilizer=1e-6)", "Epsilon(epsilon=1e-6)", None),
        ("zennit_epsilon_gamma_box", "composite EpsilonGammaBox(low=0.0, high=1.0) with its other defaults",
         lambda canon: EpsilonGammaBox(low=0.0, high=1.0, canonizers=canon),
         {"low": 0.0, "high": 1.0, "epsilon": 1e-6, "gamma": 0.25, "stabilizer": ST, "zero_params": None},
         "Gamma(gamma=0.25, stabilizer=1e-6)", "Epsilon(epsilon=1e-6)", "ZBox(low=0.0, high=1.0, stabilizer=1e-6)"),
        ("zennit_epsilon_alpha2beta1", "composite EpsilonAlpha2Beta1() with its defaults",
         lambda canon: EpsilonAlpha2Beta1(canonizers=canon), {"epsilon": 1e-6, "stabilizer": ST, "zero_params": None},
         "AlphaBeta(alpha=2, beta=1, stabilizer=1e-6)", "Epsilon(epsilon=1e-6)", None),
        ("zennit_epsilon_plus_flat", "composite EpsilonPlusFlat() with its defaults",
         lambda canon: EpsilonPlusFlat(canonizers=canon), {"epsilon": 1e-6, "stabilizer": ST, "zero_params": None},
         "ZPlus(stabilizer=1e-6)", "Epsilon(epsilon=1e-6)",
         "Flat(stabilizer=1e-6) (first_map type zennit.types.Linear: the first Conv2d here)"),
    ]
    return jobs


def run_zennit(model_fn, x, classes, composite_fn, has_bn, seed_logit=True, exact_merge=True):
    """Relevance at the input, the model output seen inside the composite, and the BN merges done."""
    model = model_fn()
    names = {id(m): n for n, m in model.named_modules()}
    canon = [(ExactSequentialMergeBatchNorm() if exact_merge else SequentialMergeBatchNorm())] if has_bn else []
    composite = composite_fn(canon)
    onehot = torch.nn.functional.one_hot(torch.as_tensor(classes), 10).float()
    seed = (lambda out: (out * onehot).detach()) if seed_logit else onehot
    inp = x.clone().requires_grad_(True)
    with Gradient(model=model, composite=composite) as attributor:
        merges = ["%s <- %s" % (names[id(h.linears[0])], names[id(h.batch_norm)]) for h in composite.handles
                  if isinstance(h, MergeBatchNorm)]
        out, rel = attributor(inp, seed)
    return rel.detach(), out.detach(), sorted(merges)


def zennit_part(name, model_fn, x, classes, logits_ref, w, model_fn64, x64):
    model = model_fn()
    has_bn = any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    expected = sorted("%s <- %s" % (conv, bn) for bn, conv in model.bn_follows.items())
    target_logit = logits_ref[torch.arange(len(classes)), torch.as_tensor(classes)]
    for fname, desc, build, params, conv_rule, linear_rule, first_rule in rule_jobs():
        rel, out, merges = run_zennit(model_fn, x, classes, build, has_bn)
        merge_diff = float((out - logits_ref).abs().max())
        if merges != expected:
            raise SystemExit("%s %s: BN merges %s, expected %s" % (name, fname, merges, expected))
        if merge_diff > 1e-4:
            raise SystemExit("%s %s: output with merged BN differs by %g" % (name, fname, merge_diff))
        sums = rel.sum(dim=(1, 2, 3))
        rel64, _, _ = run_zennit(model_fn64, x64, classes, build, has_bn)
        checks = {"logits_inside_composite_vs_copy_max_abs": rnd(merge_diff, 3),
                  "relevance_sum_per_image": [rnd(s) for s in sums],
                  "float64_max_abs_difference": rnd((rel.double() - rel64).abs().max(), 3)}
        if has_bn:
            rel_s, out_s, merges_s = run_zennit(model_fn, x, classes, build, has_bn, exact_merge=False)
            assert merges_s == expected
            checks["stock_SequentialMergeBatchNorm"] = {
                "logits_inside_composite_vs_copy_max_abs": rnd(float((out_s - logits_ref).abs().max()), 3),
                "max_abs_map_difference": rnd(float((rel_s - rel).abs().max()), 3)}
        if fname == "zennit_lrp0":
            # LRP-0 in a ReLU network (max pooling by its gradient) is gradient x input: against TensorFlow's golden
            # gradient of the SavedModel (golden/grad_input.npy, d logit[top] / d input).
            g = os.path.join(ROOT, "savedmodels", name, "golden")
            gxi = np.load(os.path.join(g, "inputs.npy")) * np.load(os.path.join(g, "grad_input.npy"))
            checks["vs_tensorflow_gradient_x_input_max_abs"] = rnd(np.abs(to_nhwc(rel) - gxi).max(), 3)
            checks["vs_tensorflow_gradient_x_input_note"] = (
                "LRP-0 on Conv2d/Linear with Pass on ReLU is gradient x input; what differs comes from "
                "layer_map_base's Norm(stabilizer=1e-6) at Sum and AdaptiveAvgPool2d (with a stabilizer of 0 "
                "fmnist_resnet matches to 1.2e-6; fmnist_gap then divides 0 by 0 where a channel's mean is 0)")
        meta = {"peer": "zennit", "description": desc, "parameters": params, "conv2d_rule": conv_rule,
                "linear_rule": linear_rule}
        if first_rule:
            meta["first_conv2d_rule"] = first_rule
        w.save(fname, to_nhwc(rel), **meta, checks=checks,
               summary="sum/logit %s" % np.round((sums / target_logit).numpy(), 2).tolist())
    # linearity in the output relevance: every rule is linear in it; measured on one composite
    build = rule_jobs()[10][2]
    rel_l, _, _ = run_zennit(model_fn, x, classes, build, has_bn)
    rel_o, _, _ = run_zennit(model_fn, x, classes, build, has_bn, seed_logit=False)
    lin = float((rel_l - rel_o * target_logit.reshape(-1, 1, 1, 1)).abs().max() / rel_l.abs().max())
    return {
        "attributor": "zennit.attribution.Gradient(model, composite)(input, attr_output=lambda out: out * "
                      "one_hot(class)): the relevance at the input (the modified gradient; not multiplied by the "
                      "input again)",
        "output_relevance": "the class logit. Zennit takes attr_output as the relevance of the output, so a plain "
                            "one-hot would start at 1; maps are linear in it: map_onehot = map / class_logit "
                            "(measured on EpsilonPlus: max |map - logit * map_onehot| / max |map| = %.2g)" % lin,
        "canonizers": (["ExactSequentialMergeBatchNorm() (bench/torch/peer_goldens.py): Zennit's "
                        "SequentialMergeBatchNorm with the merged batch norm made the exact identity (running_var "
                        "= 1 - eps instead of 1; Keras eps = 1e-3). Each file's checks.stock_SequentialMergeBatchNorm "
                        "has the stock canonizer's logit and map differences"] if has_bn else []),
        "bn_merges": {"done (linear <- batch norm)": expected if has_bn else [],
                      "verified": "in every file the merges the canonizer made (composite.handles) equal those "
                                  "expected from the graph (each BatchNorm2d and the convolution it reads), and the "
                                  "logits computed inside the composite equal the copy's "
                                  "(checks.logits_inside_composite_vs_copy_max_abs)"},
        "layout": "NHWC [8,28,28,1]",
        "post_processing": "none (no abs, no normalisation, no channel sum)",
        "layer_treatment": {
            "torch.nn.ReLU (zennit.types.Activation)": "Pass: relevance passed through unchanged",
            "zennit.layer.Sum (residual Add, on torch.stack of the two inputs)":
                "Norm(stabilizer=1e-6): R_i = x_i R / stab(sum)",
            "torch.nn.AdaptiveAvgPool2d (global average pooling, zennit.types.AvgPool)":
                "Norm(stabilizer=1e-6): R_i = (x_i / N) R / stab(mean)",
            "torch.nn.BatchNorm2d": "Pass (merged into the convolution before it: the identity)",
            "torch.nn.Conv2d / torch.nn.Linear": "per file: conv2d_rule, linear_rule, first_conv2d_rule (the first "
                                                 "module in named_modules order matching the first_map type)",
            "torch.nn.MaxPool2d": "no rule: gradient (relevance routed to the arg-max, unscaled)",
            "torch.nn.Dropout": "no rule: gradient (identity in eval mode)",
            "functional ops (F.pad of the stride-2 'same' convs, NHWC flatten, torch.stack, reshape)": "gradient",
        },
        "rule_definitions": {
            "stabilizer": "zennit.core.stabilize: z + epsilon * sign(z), sign(0) = +1 (clip=False, norm_scale=False)",
            "Epsilon": "R_in = x * W^T (R_out / stab(z)), z with the bias (zero_params=None)",
            "Gamma": "generalised gamma: positive and negative parts of inputs and weights, weights + gamma * "
                     "(their part of the output's sign); bias only in the positive-weight terms",
            "AlphaBeta": "alpha * (x+ W+ + x- W-) share - beta * (x+ W- + x- W+) share, bias only in the "
                         "positive terms",
            "ZPlus": "AlphaBeta(1, 0) with negative inputs allowed (x+ W+ + x- W-, bias in the first)",
            "WSquare": "inputs set to 1, weights squared (bias squared and kept unless zero_params)",
            "Flat": "inputs and weights set to 1, bias always zeroed",
            "ZBox": "x W - low W+ - high W- (bias kept)",
            "Norm": "Epsilon without parameters, for Sum and AvgPool",
        },
        "defaults_read_from_source": {k: defaults(v) for k, v in {
            "Epsilon": Epsilon, "Gamma": Gamma, "AlphaBeta": AlphaBeta, "ZPlus": ZPlus, "WSquare": WSquare,
            "Flat": Flat, "ZBox": ZBox, "Norm": Norm, "EpsilonPlus": EpsilonPlus, "EpsilonGammaBox": EpsilonGammaBox,
            "EpsilonAlpha2Beta1": EpsilonAlpha2Beta1, "EpsilonPlusFlat": EpsilonPlusFlat,
            "layer_map_base": layer_map_base}.items()},
        "composites": "EpsilonPlus: ZPlus on Convolution, Epsilon on torch.nn.Linear. EpsilonGammaBox: ZBox on the "
                      "first Convolution, Gamma on the others, Epsilon on Linear. EpsilonAlpha2Beta1: AlphaBeta(2, 1) "
                      "on Convolution, Epsilon on Linear. EpsilonPlusFlat: Flat on the first Convolution or Linear, "
                      "ZPlus on the other Convolutions, Epsilon on Linear. All prepend layer_map_base(stabilizer): "
                      "Activation -> Pass, Sum -> Norm, AvgPool -> Norm, BatchNorm -> Pass; MaxPool has no rule",
    }


# ------------------------------------------------------------------ Captum

def adjacent_relu_maxpool(model):
    """'relu -> pool' where a ReLU module's output tensor is a MaxPool2d's input."""
    out = []
    for _, kind, mods, ins, _ in model.steps:
        if kind == "maxpool2d":
            src = model.output_module.get(ins[0])
            if src is not None and isinstance(getattr(model, src), torch.nn.ReLU):
                out.append("%s -> %s" % (src, mods[0]))
    return out


def captum_lrp_model(model_fn_variant):
    m = model_fn_variant()
    for mod in m.modules():
        if isinstance(mod, (models.PadConv2d, Sum)):
            mod.rule = EpsilonRule()
    return m


def zennit_like_captum(model_fn, x, target):
    """Zennit with the rules Captum's LRP applies by default (no canonizer), to check Captum's LRP."""
    model = model_fn()
    e = Epsilon(epsilon=1e-9)
    comp = LayerMapComposite(layer_map=[(Activation, Pass()), (Sum, Norm(stabilizer=1e-9)),
                                        (AvgPool, Norm(stabilizer=1e-9)), (BatchNorm, e),
                                        (Convolution, e), (torch.nn.Linear, e)])
    onehot = torch.nn.functional.one_hot(torch.as_tensor(target), 10).float()
    inp = x.clone().requires_grad_(True)
    _, rel = Gradient(model=model, composite=comp)(inp, lambda out: (out * onehot).detach())
    return rel.detach()


def captum_part(name, model_fn, x, classes, w, model_fn64, x64):
    samples = np.load(SAMPLES)["images"].astype(np.float32) / 255.0  # [1000,28,28] uint8 -> [0,1]
    mean_img = torch.from_numpy(samples.mean(axis=0)).reshape(1, 1, 28, 28)
    dist = torch.from_numpy(samples[:16]).reshape(16, 1, 28, 28)
    target = [int(c) for c in classes]
    n = len(target)
    with torch.no_grad():
        f_x = model_fn()(x)[torch.arange(n), torch.as_tensor(target)]
    relu_maxpool = adjacent_relu_maxpool(model_fn())

    def dl_model(workaround, f64=False):
        m = (model_fn64 if f64 else model_fn)()
        if workaround:
            for mod in m.modules():
                if isinstance(mod, torch.nn.MaxPool2d):
                    mod.register_forward_pre_hook(lambda mod, inp: (inp[0] * 1.0,))
        return m

    def attribute(cls, base, workaround, f64=False):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            a, d = cls(dl_model(workaround, f64)).attribute(x64 if f64 else x, baselines=base.double() if f64 else base,
                                                            target=target, return_convergence_delta=True)
        return a.detach(), d.detach()

    def f64diff(a, a64):
        return rnd((a.double() - a64).abs().max(), 3)

    def as_is(a, a0, d0):
        return {"max_abs_delta": rnd(d0.abs().max(), 3), "max_abs_map_difference": rnd((a - a0).abs().max(), 3),
                "max_abs_map": rnd(a.abs().max(), 3)}

    for fname, desc, base in [
        ("captum_deeplift_zero", "zeros (black)", torch.zeros_like(x)),
        ("captum_deeplift_mean", "the mean image of the 1000 images of savedmodels/samples/fmnist_test_1000.npz "
         "(uint8 / 255)", mean_img.expand_as(x).contiguous()),
    ]:
        a, d = attribute(DeepLift, base, True)
        a0, d0 = attribute(DeepLift, base, False)
        a64, _ = attribute(DeepLift, base, True, f64=True)
        with torch.no_grad():
            f_b = model_fn()(base)[torch.arange(n), torch.as_tensor(target)]
        own = a.sum(dim=(1, 2, 3)) - (f_x - f_b)
        w.save(fname, to_nhwc(a), peer="captum",
               function="captum.attr.DeepLift(model).attribute(x, baselines=b, target=classes, "
                        "return_convergence_delta=True)",
               description="DeepLIFT Rescale, baseline b = %s" % desc,
               parameters={"multiply_by_inputs": True, "eps": 1e-10, "custom_attribution_func": None},
               convergence_delta={"values": [rnd(v, 3) for v in d], "max_abs": rnd(d.abs().max(), 3),
                                  "recomputed_here_max_abs": rnd(own.abs().max(), 3),
                                  "f_c(x) - f_c(b)": [rnd(v) for v in (f_x - f_b)]},
               captum_0_9_0_as_is=as_is(a, a0, d0), checks={"float64_max_abs_difference": f64diff(a, a64)},
               summary="max|delta| %.2g (as is: %.2g)" % (d.abs().max(), d0.abs().max()))
    a, d = attribute(DeepLiftShap, dist, True)
    a0, d0 = attribute(DeepLiftShap, dist, False)
    a64, _ = attribute(DeepLiftShap, dist, True, f64=True)
    d = d.reshape(n, 16)
    np.save(os.path.join(w.outdir, "captum_deepliftshap_delta.npy"), d.numpy().astype(np.float32))
    w.save("captum_deepliftshap", to_nhwc(a), peer="captum",
           function="captum.attr.DeepLiftShap(model).attribute(x, baselines=B, target=classes, "
                    "return_convergence_delta=True)",
           description="DeepSHAP: DeepLIFT Rescale averaged over a baseline distribution",
           parameters={"multiply_by_inputs": True, "eps": 1e-10,
                       "baselines": "B = the first 16 images of savedmodels/samples/fmnist_test_1000.npz (uint8 / 255; "
                                    "test indices 0..15). Deterministic: every (input, baseline) pair is computed and "
                                    "averaged, no sampling. 7 of the 8 inputs (test indices 1, 2, 4, 6, 8, 9, 13) are "
                                    "in B: that pair contributes zero"},
           convergence_delta={"file": "captum_deepliftshap_delta.npy",
                              "shape": [n, 16], "definition": "per (input, baseline) pair: sum of that pair's "
                              "attributions - (f_c(x) - f_c(b)), input-major as Captum returns it",
                              "max_abs": rnd(d.abs().max(), 3)},
           captum_0_9_0_as_is=as_is(a, a0, d0), checks={"float64_max_abs_difference": f64diff(a, a64)},
           summary="max|delta| %.2g (as is: %.2g)" % (d.abs().max(), d0.abs().max()))

    # LRP, Captum's default rules, on the captum_lrp variant of the copy (Addition_Module, PadConv2d).
    m = captum_lrp_model(lambda: models.load(name, WEIGHTS, "captum_lrp"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a, d = LRP(m).attribute(x, target=target, return_convergence_delta=True)
    a, d = a.detach(), d.detach()
    m64 = captum_lrp_model(lambda: models.load(name, WEIGHTS, "captum_lrp").double())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a64 = LRP(m64).attribute(x64, target=target).detach()
    z = zennit_like_captum(model_fn, x, target)
    checks = {"vs_zennit_with_captums_rules_max_abs_rel": rnd((a - z).abs().max() / a.abs().max(), 3),
              "float64_max_abs_difference": f64diff(a, a64)}
    has_add = any(isinstance(mm, Sum) for mm in model_fn().modules())
    if has_add:
        m2 = captum_lrp_model(model_fn)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            a2 = LRP(m2).attribute(x, target=target).detach()
        checks["default_variant_vs_zennit_max_abs_rel"] = rnd((a2 - z).abs().max() / a2.abs().max(), 3)
        checks["default_variant"] = ("Captum's LRP on the default copy (Sum of a stacked tensor, F.pad before the "
                                     "stride-2 convs): wrong, each input hook multiplies by a different tensor than "
                                     "the one the other consumer reads")
    w.save("captum_lrp", to_nhwc(a), peer="captum",
           function="captum.attr.LRP(model).attribute(x, target=classes, return_convergence_delta=True)",
           description="LRP with Captum's default rules, on the captum_lrp variant of the copy (the residual Add as "
                       "captum's Addition_Module(x1, x2), the stride-2 'same' convs as models.PadConv2d, padding "
                       "inside the module); batch norms are not merged (Captum has no canonizer): each gets "
                       "EpsilonRule",
           parameters={"rules": "Captum's defaults (captum_notes.LRP_default_rules), EpsilonRule(epsilon=1e-9) on "
                                "Conv2d, Linear, BatchNorm2d, MaxPool2d, AdaptiveAvgPool2d, Addition_Module; ReLU and "
                                "Dropout pass relevance through. Set here: models.PadConv2d.rule = EpsilonRule() "
                                "(Captum matches exact types)" if has_add else
                                "Captum's defaults (captum_notes.LRP_default_rules), EpsilonRule(epsilon=1e-9) on "
                                "Conv2d, Linear, BatchNorm2d, MaxPool2d, AdaptiveAvgPool2d; ReLU and Dropout pass "
                                "relevance through",
                       "output_relevance": "Captum multiplies the propagated relevance by the target output: "
                                           "relevance starts at the class logit"},
           convergence_delta={"definition": "f_c(x) - sum(relevance)", "values": [rnd(v, 4) for v in d],
                              "max_abs": rnd(d.abs().max(), 3)},
           checks=checks, summary="vs zennit %.2g" % checks["vs_zennit_with_captums_rules_max_abs_rel"])
    return {
        "layout": "NHWC [8,28,28,1] attributions at the input",
        "post_processing": "none (Captum's attributions; no abs, no normalisation)",
        "DeepLift": {
            "rule": "Rescale (Captum's DeepLift has no RevealCancel): ReLU multiplier (y - y') / (x - x') where "
                    "|x - x'| >= eps = 1e-10, else the gradient; MaxPool2d by Captum's maxpool rule; linear modules "
                    "(Conv2d, BatchNorm2d in eval, Linear, AdaptiveAvgPool2d, zennit Sum, Dropout in eval) and "
                    "functional ops by the gradient; attributions = (x - x') * multipliers (multiply_by_inputs=True)",
            "defaults_read_from_source": defaults(DeepLift),
            "nonlinear_modules": [t.__name__ for t in captum_dl.SUPPORTED_NON_LINEAR],
            "workaround": "Captum 0.9.0 reads a module's output gradient with a tensor hook on its output. When a "
                          "hooked ReLU feeds a hooked MaxPool2d directly, that tensor is also the MaxPool2d's input, "
                          "whose hook (registered later) replaces the gradient by the max-pool multipliers after the "
                          "ReLU's hook has stored the plain gradient: the ReLU rescales the plain max-pool gradient "
                          "and summation-to-delta fails (Captum issue #1104, fixed upstream by PR #1843, after "
                          "0.9.0). Here every MaxPool2d gets a forward pre-hook returning input * 1.0 (registered "
                          "before Captum's hooks), a new tensor between the two, which is what the fix amounts to. "
                          "Adjacent pairs in this model: %s. Each DeepLift file's captum_0_9_0_as_is gives Captum's "
                          "own result's delta and its difference to the stored map"
                          % (", ".join(relu_maxpool) or "none (the workaround changes nothing)"),
        },
        "LRP_default_rules": {t.__name__: "%s(epsilon=%g)" % (r.__name__, defaults(r)["epsilon"])
                              for t, r in captum_lrp.SUPPORTED_LAYERS_WITH_RULES.items()},
        "LRP_pass_through": [t.__name__ for t in captum_lrp.SUPPORTED_NON_LINEAR_LAYERS],
    }


# ------------------------------------------------------------------ pytorch-grad-cam

def run_cam(cls, model, layer_module, x, targets):
    """pytorch-grad-cam's default output and the raw CAM its get_cam_image returned."""
    raws = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with cls(model=model, target_layers=[layer_module]) as cam:
            orig = cam.get_cam_image

            def record(*a, **k):
                r = orig(*a, **k)
                raws.append(np.array(r))
                return r
            cam.get_cam_image = record
            old = tqdm.tqdm
            tqdm.tqdm = functools.partial(old, disable=True)  # AblationCAM's progress bar
            try:
                out = cam(input_tensor=x, targets=targets)
            finally:
                tqdm.tqdm = old
    assert len(raws) == 1
    return out, raws[0]


def run_fullgrad(model, x, targets):
    """FullGrad's default output, the bias layers it used, and its sum before the final min-max."""
    pres = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with contextlib.redirect_stdout(io.StringIO()):
            cam = FullGrad(model=model, target_layers=[])
        names = {id(m): n for n, m in model.named_modules()}
        used = [names[id(m)] for m in cam.target_layers]
        orig = cam.compute_cam_per_layer

        def record(*a, **k):
            r = orig(*a, **k)
            pres.append(np.array(r))
            return r
        cam.compute_cam_per_layer = record
        with cam:
            out = cam(input_tensor=x, targets=targets)
    return out, used, pres[0][:, 0]


def gradcam_part(name, model_fn, x, classes, w, model_fn64, x64):
    layer = CAM_LAYER[name]
    targets = [ClassifierOutputTarget(int(c)) for c in classes]
    specs = [
        ("gradcam", GradCAM, "sum_k mean_ij(dy/dA^k_ij) A^k"),
        ("hirescam", HiResCAM, "sum_k dy/dA^k (.) A^k (elementwise, no spatial averaging)"),
        ("xgradcam", XGradCAM, "sum_k w_k A^k, w_k = sum_ij dy/dA^k_ij A^k_ij / (sum_ij A^k_ij + 1e-7)"),
        ("eigencam", EigenCAM, "the activations as an (HW x C) matrix, centred over positions per channel, "
                               "projected on their first right singular vector (np.linalg.svd); class-independent; "
                               "the sign of a singular vector is whatever LAPACK returns"),
        ("ablationcam", AblationCAM, "sum_k w_k A^k, w_k = (y - y with channel k of the layer set to 0) / y "
                                     "(pytorch-grad-cam sets 0 when the layer output's minimum is 0, as for a ReLU "
                                     "output, else min - 1e7); batch_size=32, ratio_channels_to_ablate=1.0"),
    ]
    for short, cls, rawdef in specs:
        model = model_fn()
        out, raw = run_cam(cls, model, getattr(model, model.output_module[layer]), x, targets)
        raw = raw.astype(np.float32)
        m64 = model_fn64()
        out64, raw64 = run_cam(cls, m64, getattr(m64, m64.output_module[layer]), x64, targets)
        params = {"target_layers": ["model.%s" % model.output_module[layer]], "reshape_transform": None,
                  "aug_smooth": False, "eigen_smooth": False}
        if short == "ablationcam":
            params |= {"batch_size": 32, "ratio_channels_to_ablate": 1.0, "ablation_layer": "AblationLayer()"}
        klass = "pytorch_grad_cam.%s" % cls.__name__
        w.save("pgc_%s" % short, out, peer="pytorch-grad-cam", **{"class": klass}, parameters=params,
               variant="default output (pytorch_grad_cam_notes.default_post_processing)", layout="[8,28,28] (H, W)",
               checks={"float64_max_abs_difference": rnd(np.abs(out - out64).max(), 3)})
        w.save("pgc_%s_raw" % short, raw, peer="pytorch-grad-cam", **{"class": klass}, parameters=params,
               variant="raw CAM: %s.get_cam_image's output, before pytorch-grad-cam's ReLU, min-max scaling and "
                       "resize" % cls.__name__, definition=rawdef,
               layout="[8,h,w] at the layer's resolution (%dx%d)" % raw.shape[1:],
               checks={"float64_max_abs_difference": rnd(np.abs(raw - raw64).max(), 3)}, summary="raw")
    # FullGrad: every Conv2d / BatchNorm2d with a bias; target_layers is ignored.
    out, used, u = run_fullgrad(model_fn(), x, targets)
    out64, _, _ = run_fullgrad(model_fn64(), x64, targets)
    umin, umax = u.reshape(len(u), -1).min(axis=1), u.reshape(len(u), -1).max(axis=1)
    back = out * (1e-7 + (umax - umin))[:, None, None] + umin[:, None, None]
    w.save("pgc_fullgrad", out, peer="pytorch-grad-cam", **{"class": "pytorch_grad_cam.FullGrad"},
           parameters={"target_layers": "[] (ignored: FullGrad takes every torch.nn.Conv2d and torch.nn.BatchNorm2d "
                                        "whose bias is not None, matched by exact type; Linear biases are not used)",
                       "bias_layers_used": used},
           variant="default output", layout="[8,28,28] (H, W)",
           definition="FullGrad.compute_cam_per_layer: U = |x (.) dy/dx| scaled per image and channel "
                      "(scale_accross_batch_and_channels: v - min, / (max + 1e-7), cv2.resize to 28x28 INTER_LINEAR) "
                      "+ sum over bias layers l and their channels of |b_l (.) dy/d(output of l)| scaled per image "
                      "and channel the same way (bilinear upsampling to 28x28); b_l the conv bias, or for "
                      "BatchNorm2d beta - running_mean * gamma / sqrt(running_var + eps). Output: U min-max "
                      "scaled per image (scale_cam_image, no resize). FullGrad has no unscaled form in "
                      "pytorch-grad-cam: its components are scaled by the library itself",
           unscaled={"what": "U, the sum before the final min-max: U = map * (1e-7 + max_U - min_U) + min_U",
                     "min_U": [rnd(v, 9) for v in umin], "max_U": [rnd(v, 9) for v in umax],
                     "reconstruction_max_abs_error": rnd(np.abs(back - u).max(), 3)},
           checks={"float64_max_abs_difference": rnd(np.abs(out - out64).max(), 3)},
           summary="%d bias layers" % len(used))
    return {
        "target": "ClassifierOutputTarget(class): the class logit",
        "cam_layer": {"keras": layer, "torch_module": model_fn().output_module[layer],
                      "why": "the toolkit's default CAM layer (bin/saliency inspect: the last 4-D convolution-like "
                             "output); a Keras Conv2D's fused ReLU is the separate module <layer>_relu"},
        "default_post_processing": "BaseCAM.forward with one target layer: raw CAM -> np.maximum(cam, 0) -> per image "
                                   "scale_cam_image: img - min, then / (max + 1e-7), then cv2.resize(img, (28, 28)) "
                                   "with cv2's default interpolation INTER_LINEAR (bilinear, half-pixel centres, "
                                   "replicated border; opencv %s) -> aggregate_multi_layers: np.maximum(., 0), mean "
                                   "over the one layer, scale_cam_image again (min-max per image, no resize). Values "
                                   "in [0, 1)" % cv2.__version__,
        "raw": "pgc_<method>_raw.npy: the method's get_cam_image output (sum over channels of the weighted "
               "activations), before ReLU, scaling and resize; NCHW spatial order equals NHWC's",
    }


# ------------------------------------------------------------------ main

WEIGHTS = models.DEFAULT_WEIGHTS


def run(name):
    t0 = time.time()
    model_fn = lambda: models.load(name, WEIGHTS)  # noqa: E731 (a fresh copy per method: the peers leave state)
    xs, logits = models.golden(name)
    xs, logits = xs[:N_IMAGES], logits[:N_IMAGES]
    classes = [int(c) for c in logits.argmax(axis=1)]
    x = models.nhwc_to_nchw(xs)
    diff, _ = models.logit_diff(model_fn(), name)
    with torch.no_grad():
        logits_copy = model_fn()(x)
    outdir = os.path.join(ROOT, "savedmodels", name, "golden", "peers")
    w = Writer(name, outdir)
    print("%s: classes %s, torch copy logits max|diff| %.3g" % (name, classes, diff), flush=True)
    model_fn64 = lambda: models.load(name, WEIGHTS).double()  # noqa: E731 (the same in float64: conditioning)
    x64 = x.double()
    znotes = zennit_part(name, model_fn, x, classes, logits_copy, w, model_fn64, x64)
    cnotes = captum_part(name, model_fn, x, classes, w, model_fn64, x64)
    gnotes = gradcam_part(name, model_fn, x, classes, w, model_fn64, x64)
    model = model_fn()
    manifest = {
        "model": name,
        "generated_by": "bench/torch/peer_goldens.py (make parity-goldens); README: bench/torch/README.md",
        "versions": VERSIONS,
        "inputs": "savedmodels/%s/golden/inputs.npy, all 8 images (NHWC [8,28,28,1] in [0,1]), fed to the copy as "
                  "NCHW" % name,
        "classes": classes,
        "class_logits": [rnd(logits[i, c]) for i, c in enumerate(classes)],
        "target": "every map explains the class in 'classes' = argmax of golden/logits.npy",
        "dtype": "float32 .npy; input-space maps NHWC [8,28,28,1], CAM maps [8,28,28] or [8,h,w]",
        "float64_max_abs_difference": "in each file's checks: max |map - the same computation with the copy and "
                                      "the inputs in float64|, how far float32 rounding alone moves the map: a floor "
                                      "for any comparison tolerance (large where a rule divides by a near-zero z)",
        "torch_copy": {
            "built_by": "bench/torch/models.py from savedmodels/export_weights.py's graph.json + weights.npz (the "
                        "SavedModel's variables)",
            "logits_vs_golden_logits_max_abs": rnd(diff, 3),
            "modules_in_order": [n for n, _ in model.named_modules() if n],
        },
        "zennit_notes": znotes,
        "captum_notes": cnotes,
        "pytorch_grad_cam_notes": gnotes,
        "files": w.files,
    }
    with open(os.path.join(outdir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    total = sum(os.path.getsize(os.path.join(outdir, f)) for f in os.listdir(outdir))
    print("%s: %d maps, %.0f kB with the manifest, %.0f s" % (name, len(w.files), total / 1000, time.time() - t0),
          flush=True)


def main():
    global WEIGHTS
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="*", default=models.MODELS)
    ap.add_argument("--weights", default=models.DEFAULT_WEIGHTS)
    args = ap.parse_args()
    WEIGHTS = args.weights
    torch.set_num_threads(2)
    torch.manual_seed(0)
    for name in args.models:
        run(name)


if __name__ == "__main__":
    main()
