#!/usr/bin/env python3
"""LRP speed side by side: the toolkit's LRP composites against Zennit 0.5.1's on the same CPU and threads
(issue 20's acceptance), and each side's LRP against its own plain gradient of the same batch.

Run in the torch venv (`make bench-lrp` builds what it needs):

    bench/torch/.venv/bin/python bench/torch/lrp_bench.py [--models fmnist_resnet,resnet50] [--batches 1,8]
        [--reps 20] [--threads 2] [--out bench/LRP.md] [--json bench/lrp_results.json] [--tables-only]

Sides. The toolkit runs in its own process, bin/bench-worker (bench/worker/main.go) with 2 intra-op and 1
inter-op TensorFlow threads, and is timed inside that process around the call a user makes:
methods.New("lrp", {"composite": c}).Explain and methods.New("gradient", {}).Explain (the map of the top class,
relevance starting at its logit), and the backward engine alone, tfgraph's Flat.Gradient under the composite's
rule set (methods.LRP.RuleSet) or tfgraph.Plain ("raw"). The PyTorch side runs here, in this process, with
torch.set_num_threads(2) and torch.set_num_interop_threads(1), eval mode, parameters frozen (requires_grad
False), on the exact copies of bench/torch/models.py: Zennit's EpsilonPlus, EpsilonGammaBox(low, high from
the card's input range), EpsilonAlpha2Beta1 and EpsilonPlusFlat, every one with peer_goldens.py's
ExactSequentialMergeBatchNorm canonizer (all batch norms merged: checked), called as
`Gradient(model, composite)(x, lambda out: out * one_hot(argmax out))`, i.e. relevance starting at the top
logit as on the toolkit's side; and the plain gradient torch.autograd.grad(model(x), x, one_hot(argmax)).
Each composite stays registered on its own copy of the model for the whole run (its `with Gradient(...)`
entered once: Zennit's hooks and merged batch norms are not paid per call; what entering and leaving the
context costs is measured apart). No torch.no_grad: both sides need the forward pass recorded.

Timing. After two untimed calls of everything (warm-up: graph building on the toolkit's side, oneDNN
primitives on both), every round times each call once, in an order rotated from round to round with the
two sides alternating, so that the load of the machine (other processes) falls on all rows alike; --reps
rounds. Rows give the median and the interquartile range; ratios are the medians of the per-round ratios
(both calls of a ratio timed in the same round), with their interquartile range.

Parity. The warm-up calls also compare the maps: the toolkit's raw map (relevance per channel, from the logit)
against Zennit's relevance, per image (Pearson, max |difference|), so that both sides are timed computing the
same thing.

Kernel shares. Afterwards one more call of each is profiled: on the toolkit's side TensorFlow's step
statistics (tfgraph.Profile, the kernel time of every op), on Zennit's torch.profiler (self CPU time of every
aten op). The convolution kernels (Conv2D, Conv2DBackpropInput and oneDNN's fused Conv2D+BiasAdd, which the
step statistics list under the BiasAdd node it replaces; aten::mkldnn_convolution and
aten::convolution_backward) are summed, and counted: convolution kernels per run and per convolution layer.
"""
import argparse
import json
import os
import platform
import re
import statistics
import sys
import time

# PyTorch's OpenMP threads spin while they wait for work (GNU OpenMP's default); with other processes on the
# 2 cores (the toolkit's worker between its calls, other jobs) a spinning thread holds a core that another
# thread of the same parallel region waits for, and PyTorch's 2-thread runs were 10-100 times slower here
# (ResNet50 gradient at batch 1: 6.3 s against 0.81 s, load average 5-9). Threads that sleep while they wait
# (OMP_WAIT_POLICY=PASSIVE) are the default here; set OMP_WAIT_POLICY to override. It must be set before
# torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.append(os.path.dirname(HERE))  # bench/ for protocol.py, last: bench/torch must not pass for torch
import models  # noqa: E402
import protocol  # noqa: E402
from peer_goldens import ExactSequentialMergeBatchNorm  # noqa: E402

import zennit  # noqa: E402
from zennit.attribution import Gradient  # noqa: E402
from zennit.canonizers import MergeBatchNorm  # noqa: E402
from zennit.composites import EpsilonPlus, EpsilonGammaBox, EpsilonAlpha2Beta1, EpsilonPlusFlat  # noqa: E402

MODELS = {
    "fmnist_resnet": {"dir": "savedmodels/fmnist_resnet"},
    "resnet50": {"dir": "savedmodels/imagenet/resnet50"},
}
COMPOSITES = ["epsilon-plus", "epsilon-gamma-box", "epsilon-alpha2-beta1", "epsilon-plus-flat"]
ZENNIT = {
    "epsilon-plus": lambda lo, hi, c: EpsilonPlus(canonizers=c),
    "epsilon-gamma-box": lambda lo, hi, c: EpsilonGammaBox(low=lo, high=hi, canonizers=c),
    "epsilon-alpha2-beta1": lambda lo, hi, c: EpsilonAlpha2Beta1(canonizers=c),
    "epsilon-plus-flat": lambda lo, hi, c: EpsilonPlusFlat(canonizers=c),
}
# The per-layer convolution passes of each rule, beyond the model's forward convolution (F: forward
# convolutions, B: backward (input-gradient) convolutions), as the code does them. Zennit's BasicHook runs one
# forward and one backward per (input, parameter) modifier, and the model's own backward through the module
# (whose result the hook replaces) also runs. The toolkit's rules (tfgraph/lrp.go) take shorter forms on a
# ReLU's output (every convolution of ResNet50 but the first).
PASSES = {
    "gradient":  {"toolkit": "1F + 1B", "zennit": "1F + 1B (torch autograd)"},
    "zplus":     {"toolkit": "x ≥ 0: 2F + 1B (x·W⁺; back W⁺); else 2F + 1B at 2C input channels ([x⁺ x⁻]·[W⁺; W⁻])",
                  "zennit": "3F + 3B (x⁺W⁺, x⁻W⁻ forward and backward; the model's backward)"},
    "gamma":     {"toolkit": "x ≥ 0: 2F + 2B (x·W⁺; back W and back W⁺); else 2F + 1B at 2C → 2K channels",
                  "zennit": "6F + 6B (4 modified + the unmodified output for the sign; a zero-gradient backward "
                            "of the 5th; the model's backward)"},
    "alpha-beta": {"toolkit": "x ≥ 0: 3F + 2B (x·W⁺, x·W⁻; back W⁺, back W⁻); else 2F + 1B at 2C → 2K channels",
                   "zennit": "5F + 5B (x⁺W⁺, x⁻W⁻, x⁺W⁻, x⁻W⁺; the model's backward)"},
    "epsilon":   {"toolkit": "1F + 1B", "zennit": "2F + 2B"},
    "zbox":      {"toolkit": "2F + 1B at 3C input channels ([x l h]·[W; −W⁺; −W⁻])", "zennit": "4F + 4B"},
    "flat":      {"toolkit": "2F + 1B", "zennit": "2F + 2B"},
}


def machine():
    cpu = protocol.cpu_name()
    import importlib.metadata as md
    try:
        tfv = open(os.path.join(ROOT, "requirements.txt")).read()
        tfv = re.search(r"^tensorflow(?:[-_]cpu)?==([\w.]+)", tfv, re.M).group(1)
    except (OSError, AttributeError):
        tfv = "?"
    return {"cpu": cpu, "cores": os.cpu_count(), "date": time.strftime("%Y-%m-%d %H:%M"),
            "python": platform.python_version(), "torch": torch.__version__, "zennit": md.version("zennit"),
            "tensorflow": tfv, "load_before": os.getloadavg(), "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY")}


def card_range(model_dir):
    """The card's input range (card.yaml input.range), read without a YAML library."""
    text = open(os.path.join(ROOT, model_dir, "card.yaml")).read()
    m = re.search(r"^input:\n(?:[ ].*\n)*?  range:\n  - ([-+\d.eE]+)\n  - ([-+\d.eE]+)", text, re.M)
    if not m:
        raise SystemExit("%s/card.yaml: no input range" % model_dir)
    return float(m.group(1)), float(m.group(2))


def inputs(model, batch, folder):
    """NHWC float32 in the card's range: the golden images of fmnist_resnet, seeded uniform [0,1] for ResNet50."""
    if model == "fmnist_resnet":
        x = np.load(os.path.join(ROOT, "savedmodels", "fmnist_resnet", "golden", "inputs.npy"))
        x = np.concatenate([x] * (batch // len(x) + 1))[:batch]
    else:
        x = np.random.default_rng(0).uniform(0, 1, (batch, 224, 224, 3)).astype(np.float32)
    path = os.path.join(folder, "lrp_%s_b%d.npy" % (model, batch))
    np.save(path, np.ascontiguousarray(x, dtype=np.float32))
    return path, x


def GoWorker(model_dir, threads, log):
    """bin/bench-worker on model_dir (protocol.Worker, strict: an error answer raises)."""
    cmd = [os.path.join(ROOT, "bin", "bench-worker"), "-model", os.path.join(ROOT, model_dir),
           "-threads", str(threads)]
    return protocol.Worker("bench-worker", cmd, log, env={"TF_CPP_MIN_LOG_LEVEL": "2"}, strict=True)


def go_calls():
    """(key, request) of the toolkit's side."""
    out = [("go/gradient", {"method": "gradient", "options": {}}),
           ("go-raw/gradient", {"method": "raw-gradient", "options": {}})]
    for c in COMPOSITES:
        out.append(("go/" + c, {"method": "lrp", "options": {"composite": c}}))
        out.append(("go-raw/" + c, {"method": "raw-gradient", "options": {"composite": c}}))
    return out


def top_onehot(out):
    return torch.nn.functional.one_hot(out.argmax(1), out.shape[1]).to(out)


def top_seed(out):
    """The relevance of the output: the top logit (Zennit's attr_output)."""
    return (out * top_onehot(out)).detach()


class TorchSide:
    """The plain torch gradient and one registered Zennit composite per model copy."""

    def __init__(self, name, low, high):
        self.name = name
        self.models = {}
        self.attr = {}
        self.contexts = []
        base = self.load()
        self.models["gradient"] = base
        self.conv_layers = sum(isinstance(m, torch.nn.Conv2d) for m in base.modules())
        self.bns = sum(isinstance(m, torch.nn.BatchNorm2d) for m in base.modules())
        self.merges = {}
        for c in COMPOSITES:
            m = self.load()
            comp = ZENNIT[c](low, high, [ExactSequentialMergeBatchNorm()])
            g = Gradient(model=m, composite=comp)
            g.__enter__()
            self.contexts.append(g)
            self.merges[c] = sum(isinstance(h, MergeBatchNorm) for h in comp.handles)
            if self.merges[c] != self.bns:
                raise SystemExit("%s %s: %d batch norms merged of %d" % (name, c, self.merges[c], self.bns))
            self.models[c], self.attr[c] = m, g
        self.low, self.high = low, high

    def load(self):
        m = models.load(self.name)
        m.eval()
        for p in m.parameters():
            p.requires_grad_(False)
        return m

    def call(self, key, x):
        if key == "gradient":
            xg = x.clone().requires_grad_(True)
            out = self.models["gradient"](xg)
            g, = torch.autograd.grad(out, xg, grad_outputs=top_onehot(out))
            return g
        _, rel = self.attr[key](x.clone(), top_seed)
        return rel

    def context_cost(self, reps=5):
        """Seconds to enter and leave `with Gradient(model, composite)` (hooks and batch-norm merge), per composite."""
        m = self.load()
        out = {}
        for c in COMPOSITES:
            ts = []
            for _ in range(reps):
                comp = ZENNIT[c](self.low, self.high, [ExactSequentialMergeBatchNorm()])
                t0 = time.perf_counter()
                with Gradient(model=m, composite=comp):
                    pass
                ts.append(time.perf_counter() - t0)
            out[c] = statistics.median(ts)
        return out

    def close(self):
        for g in self.contexts:
            g.__exit__(None, None, None)


def torch_profile(side, key, x):
    from torch.profiler import profile, ProfilerActivity
    t0 = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        side.call(key, x)
    wall = time.perf_counter() - t0
    ev = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in ev) / 1e6
    fwd = [e for e in ev if e.key in ("aten::mkldnn_convolution", "aten::_slow_conv2d_forward",
                                      "aten::thnn_conv2d", "aten::_nnpack_spatial_convolution")]
    bwd = [e for e in ev if e.key in ("aten::convolution_backward", "aten::mkldnn_convolution_backward",
                                      "aten::_slow_conv2d_backward")]
    conv_calls = [e for e in ev if e.key == "aten::convolution"]
    bwd_calls = [e for e in ev if e.key == "aten::convolution_backward"]
    top = sorted(ev, key=lambda e: -e.self_cpu_time_total)[:8]
    return {"wall": wall, "total_self": total,
            "conv_fwd": sum(e.self_cpu_time_total for e in fwd) / 1e6,
            "conv_bwd": sum(e.self_cpu_time_total for e in bwd) / 1e6,
            "conv_fwd_calls": sum(e.count for e in conv_calls), "conv_bwd_calls": sum(e.count for e in bwd_calls),
            "top": [[e.key, e.self_cpu_time_total / 1e6, e.count] for e in top]}


CONV_OPS = {"Conv2D", "Conv2DBackpropInput", "DepthwiseConv2dNative", "DepthwiseConv2dNativeBackpropInput",
            "_FusedConv2D"}


def go_profile(ans, conv_layers):
    """Convolution kernel time and calls of one profiled call; calls per session run (a method's call on
    ResNet50 at batch 8 is two runs of 4 images: methods' memory budget)."""
    ops = ans["profile_ops"]
    runs = max(ans.get("profile_runs") or 1, 1)
    total = sum(o["kernel_seconds"] for o in ops)
    conv = sum(o["kernel_seconds"] for o in ops if o["type"] in CONV_OPS)
    calls = sum(o["nodes"] for o in ops if o["type"] in CONV_OPS)
    fwd_conv_nodes = sum(o["nodes"] for o in ops if o["type"] == "Conv2D" and not o["backward"])
    fused = 0
    if fwd_conv_nodes < conv_layers * runs:
        # oneDNN fused the forward Conv2D with its BiasAdd (_MklNativeConv2DWithBias), listed under the BiasAdd.
        for o in ops:
            if o["type"] == "BiasAdd" and not o["backward"]:
                fused = min(o["nodes"], conv_layers * runs - fwd_conv_nodes)
                conv += o["kernel_seconds"] * fused / max(o["nodes"], 1)
                calls += fused
    top = sorted(ops, key=lambda o: -o["kernel_seconds"])[:8]
    return {"wall": ans["profile_wall_seconds"], "runs": runs, "total_kernel": total, "conv": conv,
            "conv_calls": calls / runs, "fused_forward_convs": fused / runs,
            "top": [[o["type"] + (" (bw)" if o["backward"] else ""), o["kernel_seconds"], o["nodes"]] for o in top]}


def q(v, p):
    v = sorted(v)
    if not v:
        return None
    k = (len(v) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def run(args):
    outdir = os.path.join(ROOT, "bench", "out")
    os.makedirs(outdir, exist_ok=True)
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    results = []
    mach = machine()
    for model in args.models.split(","):
        cfg = MODELS[model]
        low, high = card_range(cfg["dir"])
        t0 = time.time()
        go = GoWorker(cfg["dir"], args.threads, os.path.join(outdir, "lrp_go_%s.log" % model))
        side = TorchSide(model, low, high)
        print("%s: toolkit ready in %.1f s (load %.1f s); torch copies and composites in %.1f s; input range "
              "[%g, %g]; %d conv layers, %d batch norms merged per composite"
              % (model, time.time() - t0, go.ready["load_seconds"], time.time() - t0, low, high,
                 side.conv_layers, side.bns), file=sys.stderr, flush=True)
        try:
            for batch in [int(b) for b in args.batches.split(",")]:
                path, xn = inputs(model, batch, outdir)
                x = models.nhwc_to_nchw(xn)
                calls = []
                for k, req in go_calls():
                    calls.append(("go", k, dict(req, inputs=path, reps=1)))
                tcalls = [("torch", "torch/gradient", "gradient")] + [("torch", "zennit/" + c, c) for c in COMPOSITES]
                # alternate the sides: go, go, torch, go, go, torch, ...
                order = []
                gi = 0
                for tc in tcalls:
                    order += calls[gi:gi + 2] + [tc]
                    gi += 2
                order += calls[gi:]
                times = {c[1]: [] for c in order}
                rounds = []
                # warm-up: every call twice, untimed (oneDNN's first calls on new shapes are slow on both sides)
                maps = {}
                for side_name, key, what in order:
                    t = time.perf_counter()
                    if side_name == "go":
                        req = dict(what, warmup=True)
                        if key.startswith("go/"):
                            maps[key] = os.path.join(outdir, "lrp_map_%s_b%d_%s.npy" % (model, batch, key[3:]))
                            req["save"] = maps[key]
                        go.ask(req)
                    else:
                        side.call(what, x)
                        maps[key] = side.call(what, x).detach().numpy().transpose(0, 2, 3, 1)
                    print("  %s b=%d warm-up %-28s %.2f s" % (model, batch, key, time.perf_counter() - t),
                          file=sys.stderr, flush=True)
                # The two sides compute the same maps: per image Pearson and max |difference| / max |peer's|.
                parity = {}
                for c in ["gradient"] + COMPOSITES:
                    g = np.load(maps["go/" + c])
                    z = maps[("torch/" if c == "gradient" else "zennit/") + c]
                    r = [float(np.corrcoef(g[i].ravel(), z[i].ravel())[0, 1]) for i in range(len(z))]
                    d = [float(np.abs(g[i] - z[i]).max() / np.abs(z[i]).max()) for i in range(len(z))]
                    parity[c] = {"pearson_min": min(r), "max_abs_diff_rel_max": max(d)}
                    print("  %s b=%d parity %-22s Pearson >= %.7f, max |diff| <= %.2g of max" % (
                        model, batch, c, min(r), max(d)), file=sys.stderr, flush=True)
                for r in range(args.reps):
                    k = r % len(order)
                    rnd = {}
                    for side_name, key, what in order[k:] + order[:k]:
                        if side_name == "go":
                            s = go.ask(dict(what, warmup=False))["times"][0]
                        else:
                            t = time.perf_counter()
                            side.call(what, x)
                            s = time.perf_counter() - t
                        times[key].append(s)
                        rnd[key] = s
                    rounds.append(rnd)
                    print("  %s b=%d round %d/%d: %s" % (model, batch, r + 1, args.reps, " ".join(
                        "%s %.0f" % (k2.split("/")[-1][:10], 1e3 * v) for k2, v in rnd.items())),
                        file=sys.stderr, flush=True)
                rec = {"model": model, "batch": batch, "times": times, "rounds": rounds, "load_after": os.getloadavg(),
                       "conv_layers": side.conv_layers, "batch_norms_merged": side.bns,
                       "input_range": [low, high], "session_runs": {}, "profiles": {}, "parity": parity}
                if not args.no_profile:
                    for side_name, key, what in order:
                        if side_name == "go":
                            ans = go.ask(dict(what, warmup=False, profile=True))
                            rec["session_runs"][key] = ans.get("session_runs")
                            rec["profiles"][key] = go_profile(ans, side.conv_layers)
                        else:
                            rec["profiles"][key] = torch_profile(side, what, x)
                results.append(rec)
                with open(args.json, "w") as f:
                    json.dump({"machine": mach, "threads": args.threads, "reps": args.reps,
                               "results": results}, f, indent=1)
            ctx = side.context_cost()
            for rec in results:
                if rec["model"] == model:
                    rec["zennit_context_seconds"] = ctx
            with open(args.json, "w") as f:
                json.dump({"machine": mach, "threads": args.threads, "reps": args.reps, "results": results}, f,
                          indent=1)
        finally:
            go.close()
            side.close()
    return results


def fmt_ms(s):
    if s is None:
        return "—"
    ms = s * 1e3
    if ms >= 1000:
        return "%.2f s" % (ms / 1e3)
    if ms >= 100:
        return "%.0f ms" % ms
    return "%.1f ms" % ms


def stat(v):
    """median [q1–q3] of seconds."""
    return "%s [%s–%s]" % (fmt_ms(statistics.median(v)), fmt_ms(q(v, .25)), fmt_ms(q(v, .75)))


def ratio(rounds, a, b):
    """median [q1–q3] of the per-round ratios a/b, and the median."""
    v = [r[a] / r[b] for r in rounds if a in r and b in r]
    if not v:
        return "—", None
    m = statistics.median(v)
    return "%.2f [%.2f–%.2f]" % (m, q(v, .25), q(v, .75)), m


def summary(data):
    """The targets on ResNet50, met or not, and the kernel share where not."""
    recs = {r["batch"]: r for r in data["results"] if r["model"] == "resnet50"}
    if not recs:
        return ""
    out = ["\n## Summary (ResNet50)\n"]
    for batch, want in ((1, 0.5), (8, 1.0)):
        rec = recs.get(batch)
        if not rec:
            continue
        cells = []
        for c in COMPOSITES:
            txt, m = ratio(rec["rounds"], "go/" + c, "zennit/" + c)
            cells.append("%s %s" % (c, txt))
            ok = m is not None and m <= want
        allmet = all((ratio(rec["rounds"], "go/" + c, "zennit/" + c)[1] or 9) <= want for c in COMPOSITES)
        out.append("- toolkit / Zennit at batch %d (target ≤ %g): %s — %s." % (
            batch, want, "; ".join(cells), "met by every composite" if allmet else "**not met by every composite**"))
    rec = recs.get(8)
    if rec:
        met, notmet = [], []
        for c in COMPOSITES:
            txt, m = ratio(rec["rounds"], "go/" + c, "go/gradient")
            rtxt, _ = ratio(rec["rounds"], "go-raw/" + c, "go-raw/gradient")
            (met if m is not None and m <= 1.5 else notmet).append((c, txt, rtxt))
        out.append("- toolkit LRP / toolkit gradient at batch 8 (target ≤ 1.5): met by %s; not met by %s." % (
            ", ".join("%s %s (raw %s)" % x for x in met) or "none",
            ", ".join("%s %s (raw %s)" % x for x in notmet) or "none"))
        prof = rec.get("profiles") or {}
        g0 = prof.get("go/gradient")
        if notmet and g0:
            parts, bound = [], []
            for c, _, _ in notmet:
                g = prof.get("go/" + c)
                if g:
                    if g["conv"] / g0["conv"] > 1.5:
                        bound.append(c)
                    parts.append("%s: convolution kernels %.0f %% of the call, %.2f× the gradient's convolution time "
                                 "(%.1f against %.1f kernel calls per layer and run)" % (
                                     c, 100 * g["conv"] / g["wall"], g["conv"] / g0["conv"],
                                     g["conv_calls"] / rec["conv_layers"], g0["conv_calls"] / rec["conv_layers"]))
            out.append("- Kernel share where the batch-8 target is not met (one profiled call each; the gradient's "
                       "convolutions are %.0f %% of its call): %s.%s" % (
                           100 * g0["conv"] / g0["wall"], "; ".join(parts),
                           (" For %s the convolutions alone (the extra forward x·W⁺ and x·W⁻ and backward "
                            "convolutions of the pass counts at the end) take more than 1.5× the gradient's "
                            "convolution time: the target cannot be met with these passes, whatever the rest "
                            "costs." % ", ".join(bound)) if bound else ""))
    return "\n".join(out) + "\n"


def report(data):
    m = data["machine"]
    out = ["# LRP speed: the toolkit against Zennit\n"]
    out.append(
        "Written by `bench/torch/lrp_bench.py` (`make bench-lrp`) on %s: %s, %d cores (load average %s when it "
        "started; other processes shared the machine). TensorFlow %s (toolkit, `bin/bench-worker`: %d intra-op and "
        "1 inter-op threads) and PyTorch %s with Zennit %s (`torch.set_num_threads(%d)`, 1 inter-op thread, "
        "OMP_WAIT_POLICY=%s), in two processes, timed in turns. %d rounds after a warm-up; in each round every call "
        "once, the order rotated and the sides alternating. Times: median [interquartile range] of the rounds; "
        "ratios: median [interquartile range] of the per-round ratios (both calls in the same round).\n"
        % (m["date"], m["cpu"], m["cores"], " ".join("%.1f" % v for v in m["load_before"]), m["tensorflow"],
           data["threads"], m["torch"], m["zennit"], data["threads"], m.get("omp_wait_policy") or "unset",
           data["reps"]))
    out.append(
        "- **toolkit**: `methods.New(\"lrp\", {composite: …}).Explain` (what a user calls: the top class, relevance "
        "from its logit, the map and the conservation diagnostics) and `methods.New(\"gradient\", {})`; **raw**: "
        "`Flat.Gradient` under the composite's rule set (`methods.LRP.RuleSet`) or `tfgraph.Plain`, the backward "
        "engine alone.\n"
        "- **Zennit**: `Gradient(model, composite)(x, lambda out: out * one_hot(argmax out))` with the composite "
        "registered once (`ExactSequentialMergeBatchNorm`, every batch norm merged); **torch gradient**: "
        "`torch.autograd.grad(model(x), x, one_hot(argmax))`. Parameters frozen, eval mode, the exact PyTorch "
        "copies of `bench/torch/models.py`; EpsilonGammaBox's low and high are the card's input range.\n"
        "- Targets (issue 20): each composite ≤ 1.5× the toolkit's plain gradient at batch 8 on ResNet50; toolkit / "
        "Zennit ≤ 0.5 at batch 1 and ≤ 1.0 at batch 8.\n")
    out.append(summary(data))
    for rec in data["results"]:
        model, batch, rounds, t = rec["model"], rec["batch"], rec["rounds"], rec["times"]
        out.append("\n## %s, batch %d\n" % (model, batch))
        if rec.get("load_after"):
            out.append("Load average after the rounds: %s.\n" % " ".join("%.1f" % v for v in rec["load_after"]))
        out.append("| composite | toolkit | raw | Zennit | toolkit / Zennit | toolkit LRP / gradient | "
                   "raw LRP / gradient | Zennit / torch gradient | targets |")
        out.append("|---|---|---|---|---|---|---|---|---|")
        gs, _ = ratio(rounds, "go/gradient", "torch/gradient")
        out.append("| gradient | %s | %s | %s | %s | 1 | 1 | 1 | |" % (
            stat(t["go/gradient"]), stat(t["go-raw/gradient"]), stat(t["torch/gradient"]), gs))
        for c in COMPOSITES:
            tz, tzm = ratio(rounds, "go/" + c, "zennit/" + c)
            lg, lgm = ratio(rounds, "go/" + c, "go/gradient")
            rg, _ = ratio(rounds, "go-raw/" + c, "go-raw/gradient")
            zg, _ = ratio(rounds, "zennit/" + c, "torch/gradient")
            marks = []
            if model == "resnet50":
                want = 0.5 if batch == 1 else 1.0
                marks.append("vs Zennit %s" % ("met" if tzm is not None and tzm <= want else "**not met**"))
                if batch == 8:
                    marks.append("vs gradient %s" % ("met" if lgm is not None and lgm <= 1.5 else "**not met**"))
            out.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                c, stat(t["go/" + c]), stat(t["go-raw/" + c]), stat(t["zennit/" + c]), tz, lg, rg, zg,
                "; ".join(marks)))
        if rec.get("profiles"):
            out.append("\nConvolution kernels of one profiled call (toolkit: TensorFlow step statistics; Zennit: "
                       "torch.profiler self CPU time; %d convolution layers): kernel calls per session run (per "
                       "layer), their time and its share of the call's wall time; the rest is the other kernels "
                       "(elementwise, batch norm, pooling) and, on Zennit's side, Python and autograd hooks.\n"
                       % rec["conv_layers"])
            out.append("| call | toolkit conv kernels | toolkit conv time (share of wall) | toolkit wall | toolkit conv "
                       "time / gradient's | Zennit/torch conv kernels (fwd + bwd) | Zennit/torch conv time (share of "
                       "wall) | Zennit/torch wall | Zennit conv time / torch gradient's |")
            out.append("|---|---|---|---|---|---|---|---|---|")
            g0 = rec["profiles"].get("go/gradient")
            z0 = rec["profiles"].get("torch/gradient")
            for c in ["gradient"] + COMPOSITES:
                g = rec["profiles"].get("go/" + c)
                z = rec["profiles"].get(("torch/" if c == "gradient" else "zennit/") + c)
                if not g or not z:
                    continue
                zc = z["conv_fwd"] + z["conv_bwd"]
                zc0 = z0["conv_fwd"] + z0["conv_bwd"]
                out.append("| %s | %.0f (%.1f) | %s (%.0f %%) | %s | %.2f | %d + %d (%.1f) | %s (%.0f %%) | %s | %.2f |" % (
                    c + (" (%d runs)" % g["runs"] if g.get("runs", 1) > 1 else ""),
                    g["conv_calls"], g["conv_calls"] / rec["conv_layers"], fmt_ms(g["conv"]),
                    100 * g["conv"] / g["wall"], fmt_ms(g["wall"]), g["conv"] / g0["conv"],
                    z["conv_fwd_calls"], z["conv_bwd_calls"],
                    (z["conv_fwd_calls"] + z["conv_bwd_calls"]) / rec["conv_layers"],
                    fmt_ms(zc), 100 * zc / z["wall"], fmt_ms(z["wall"]), zc / zc0))
        if rec.get("parity"):
            out.append("\nSame maps on both sides (the toolkit's raw map, relevance per channel from the logit, against "
                       "Zennit's; the gradients against torch's): per image Pearson ≥ %s; max |difference| ≤ %s of "
                       "the peer's largest value.\n" % (
                           ", ".join("%s %.7f" % (c, v["pearson_min"]) for c, v in rec["parity"].items()),
                           ", ".join("%s %.1e" % (c, v["max_abs_diff_rel_max"]) for c, v in rec["parity"].items())))
        if rec.get("zennit_context_seconds"):
            out.append("\nEntering and leaving Zennit's `with Gradient(model, composite)` (hooks, batch-norm merge and "
                       "its undoing), not in the times above: %s.\n" % ", ".join(
                           "%s %s" % (c, fmt_ms(s)) for c, s in rec["zennit_context_seconds"].items()))
        if rec.get("session_runs"):
            runs = sorted(set(v for v in rec["session_runs"].values() if v))
            out.append("\nSession runs per toolkit call: %s.\n" % ", ".join(str(r) for r in runs))
    out.append("\n## Convolution passes per layer\n")
    out.append("Per linear layer (convolution or dense) and call, the model's own forward pass included: F a forward "
               "convolution, B a backward (input-gradient) one. The toolkit's rules take shorter forms where the "
               "layer's input is ≥ 0 by construction (a ReLU's output, pooled or zero-padded: every convolution of "
               "ResNet50 but the first); the general forms of a convolution run the parts of the input "
               "concatenated along the channels (C input, K output channels), one forward and one backward "
               "convolution. Zennit's hooks run one forward and one backward per (input, parameter) modifier, "
               "and the model's own backward through the module, whose result they replace.\n")
    out.append("| rule | toolkit (tfgraph/lrp.go) | Zennit 0.5.1 |")
    out.append("|---|---|---|")
    for rule, v in PASSES.items():
        out.append("| %s | %s | %s |" % (rule, v["toolkit"], v["zennit"]))
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="fmnist_resnet,resnet50")
    ap.add_argument("--batches", default="1,8")
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-profile", action="store_true")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "LRP.md"))
    ap.add_argument("--json", default=os.path.join(ROOT, "bench", "lrp_results.json"))
    ap.add_argument("--tables-only", action="store_true", help="rewrite --out from --json")
    args = ap.parse_args()
    if not args.tables_only:
        run(args)
    with open(args.json) as f:
        data = json.load(f)
    with open(args.out, "w") as f:
        f.write(report(data))
    print("wrote", args.out, file=sys.stderr)


if __name__ == "__main__":
    main()
