#!/usr/bin/env python3
"""Issue 21's speed acceptance: the toolkit's path and black-box methods side by side with the peer that
implements each, same model, threads, inputs and sample counts.

    bench/.venv/bin/python bench/path_blackbox.py [--configs fmnist_vgg:1,fmnist_vgg:32,resnet50:8]
        [--rounds fmnist_vgg:1:7,fmnist_vgg:32:3,resnet50:8:2] [--methods guided-ig,...] [--threads 2] [--long 20]
        [--out bench/PATH_BLACKBOX.md] [--json bench/path_blackbox_results.json] [--tables-only]
        [--no-diagnose] [--diagnose] [--back-to-back MODEL:BATCH] [--update NOTE]

About 40 minutes on 2 shared cores, 33 of them ResNet50's (its warm-up calls alone take 15).

`make bench-path-blackbox` builds what it needs (bin/bench-worker, the PyTorch copies' weights) and runs it.

Sides, each its own process with 2 intra-op threads and 1 inter-op thread (bench/compare.py's workers):

  toolkit  bin/bench-worker (bench/worker/main.go): methods.New(method, options).Explain on the SavedModel;
           passes per image from the method's Maps.Info (forward-passes, backward-passes)
  PAIR     bench/peers.py --tool pair: saliency.core 0.2.1 GuidedIG / BlurIG / XRAI GetMask, image by image,
           on the tf_keras copy (logits); passes = the rows its call_model_function is asked for (a gradient
           each: one forward and one backward)
  Xplique  bench/peers.py --tool xplique: xplique 2.0.2 Rise / SobolAttributionMethod / HsicAttributionMethod /
           Lime / KernelShap .explain on the tf_keras copy (logits) behind a layer counting its rows
  Captum   bench/torch/captum_worker.py: captum 0.9.0 GradientShap(model).attribute on the exact PyTorch copy
           (bench/torch/models.py); passes counted by a wrapping module

Timing. Per configuration (model, batch) every side answers once untimed (warm-up: graph building, tracing;
its map is saved for the parity check and its passes recorded), then `rounds` rounds: in each, every method
in an order rotated from round to round, the toolkit and its peer alternating which goes first. A method whose
warm-up took more than --long seconds on either side gets at most 2 rounds. Rows give the median and the
interquartile range of the rounds; the ratio is the median of the per-round ratios (both calls in the same
round) with its interquartile range. Peak RSS: each process's VmHWM, reset before the method's calls (so it
includes the loaded model and what the process kept from earlier methods on both sides alike). The load
average is recorded before and after each configuration: the machine is shared.

Parity. Guided IG, Blur IG and XRAI are deterministic: the maps (summed over channels) are compared per image
(Pearson). The black-box methods and Expected Gradients draw their randomness each with its own generator
here (aligned only in the parity tests, which feed the peer's draws: methods' TestXpliqueParity,
TestGradientSHAPCaptumParity); their Pearson is reported as that of two independent estimates.
"""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import compare  # noqa: E402  (Worker, machine, fmt_t, fmt_mb; numpy and the standard library only)
import protocol  # noqa: E402
from protocol import summary  # noqa: E402

OUT = os.path.join(HERE, "out")
FMNIST_REFS = os.path.join(ROOT, "savedmodels", "samples", "fmnist_background_16.npy")

# (method, peer, toolkit options, peer options) per model: the same counts on both sides, reduced from the
# defaults so that a peer's call takes seconds, not minutes. Xplique's names are the toolkit's option names.
FMNIST = [
    ("guided-ig", "pair", {"steps": 64}, {"steps": 64}),
    ("blur-ig", "pair", {"steps": 64}, {"steps": 64}),
    ("xrai", "pair", {"steps": 32}, {"steps": 32}),
    ("expected-gradients", "captum", {"samples": 32, "baselines": FMNIST_REFS},
     {"samples": 32, "baselines": FMNIST_REFS}),
    ("rise", "xplique", {"nb_samples": 256}, {"nb_samples": 256}),
    ("sobol", "xplique", {"nb_design": 4}, {"nb_design": 4}),
    ("hsic", "xplique", {"nb_design": 256}, {"nb_design": 256}),
    ("lime", "xplique", {"nb_samples": 256}, {"nb_samples": 256}),
    ("kernel-shap", "xplique", {"nb_samples": 256}, {"nb_samples": 256}),
]
R50_REFS = os.path.join(OUT, "pb_resnet50_refs.npy")
RESNET50 = [
    ("guided-ig", "pair", {"steps": 16}, {"steps": 16}),
    ("blur-ig", "pair", {"steps": 16}, {"steps": 16}),
    ("xrai", "pair", {"steps": 16}, {"steps": 16}),
    # Captum puts N*n rows through one pass; 8 x 16 ResNet50 rows of backprop (~10 GB) do not fit beside the
    # other processes: it is called image by image (16 rows a call), as the toolkit's memory budget chunks.
    ("expected-gradients", "captum", {"samples": 16, "baselines": R50_REFS},
     {"samples": 16, "baselines": R50_REFS, "images_per_call": 1}),
    ("rise", "xplique", {"nb_samples": 32}, {"nb_samples": 32}),
    ("sobol", "xplique", {"grid_size": 4, "nb_design": 2}, {"grid_size": 4, "nb_design": 2}),
    ("hsic", "xplique", {"nb_design": 32}, {"nb_design": 32}),
    ("lime", "xplique", {"nb_samples": 32}, {"nb_samples": 32}),
    ("kernel-shap", "xplique", {"nb_samples": 32}, {"nb_samples": 32}),
]
PLAN = {"fmnist_vgg": FMNIST, "resnet50": RESNET50}
DETERMINISTIC = {"guided-ig", "blur-ig", "xrai", "sobol", "hsic"}  # Sobol, HSIC: unscrambled Sobol' designs
TARGET = {("fmnist_vgg", 1): 0.5, ("fmnist_vgg", 32): 1.0, ("resnet50", 8): 1.0}
PEER_NAME = {"pair": "PAIR saliency 0.2.1", "xplique": "Xplique 2.0.2", "captum": "Captum 0.9.0 GradientShap"}


def inputs(model, batch):
    path = os.path.join(OUT, "pb_%s_b%d.npy" % (model, batch))
    if model == "fmnist_vgg":
        z = np.load(os.path.join(ROOT, "savedmodels", "samples", "fmnist_test_1000.npz"))
        x = (z["images"][:batch].astype(np.float32) / 255.0)[..., None]
    else:
        # Photographs (scikit-image's data), resized to 224x224 in [0, 1]: XRAI's and LIME's segmentations of
        # noise would be unlike anything explained in practice.
        from skimage import data, transform, color
        names = ["astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "hubble_deep_field",
                 "camera", "coins"]
        ims = []
        for n in names[:batch]:
            im = getattr(data, n)()
            if im.ndim == 2:
                im = color.gray2rgb(im)
            ims.append(transform.resize(im[..., :3], (224, 224), anti_aliasing=True).astype(np.float32))
        x = np.stack(ims)
        if not os.path.exists(R50_REFS):
            refs = np.random.default_rng(1).uniform(0, 1, (16, 224, 224, 3)).astype(np.float32)
            np.save(R50_REFS, refs)
    np.save(path, np.ascontiguousarray(x, np.float32))
    return path, x.shape[0]


def CaptumWorker(model, threads):
    """bench/torch/captum_worker.py in the torch venv: the same protocol as compare.Worker's sides."""
    cmd = [os.path.join(HERE, "torch", ".venv", "bin", "python"), os.path.join(HERE, "torch", "captum_worker.py"),
           "--model", model, "--threads", str(threads)]
    return protocol.Worker("captum", cmd, os.path.join(OUT, "captum_%s.log" % model),
                           env={"OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")})


def ask(w, req):
    ans = w.ask(req)
    if not ans.get("ok"):
        raise RuntimeError("%s: %s: %s" % (w.tool, req["method"], ans.get("error")))
    return ans


def go_passes(info):
    f, b = (info or {}).get("forward-passes"), (info or {}).get("backward-passes")
    return {"forward": float(np.mean(f)) if f else 0.0, "backward": float(np.mean(b)) if b else 0.0}


def per_image_pearson(a, b, n):
    a = np.asarray(a, np.float64).reshape(n, -1)
    b = np.asarray(b, np.float64).reshape(n, -1)
    # Sum the channel axis when one side kept it (PAIR: HWC, Captum: HWC, the toolkit's raw map: HWC).
    if a.shape[1] != b.shape[1]:
        big, small = (a, b) if a.shape[1] > b.shape[1] else (b, a)
        big = big.reshape(n, small.shape[1], -1).sum(-1)
        a, b = (big, small) if a.shape[1] > b.shape[1] else (small, big)
    out = []
    for u, v in zip(a, b):
        if u.std() == 0 or v.std() == 0:
            out.append(float("nan"))
        else:
            out.append(float(np.corrcoef(u, v)[0, 1]))
    return out


def channel_sum(a, n, hw):
    a = np.asarray(a, np.float64).reshape(n, hw, -1)
    return a.sum(-1)


def run_config(model, batch, rounds, methods, threads, long_s, workers):
    path, n = inputs(model, batch)
    hw = int(np.prod(np.load(path, mmap_mode="r").shape[1:3]))
    plan = [p for p in PLAN[model] if p[0] in methods]
    rows = {}
    load0 = os.getloadavg()
    t_cfg = time.time()
    for method, peer, gopt, popt in plan:
        go_map = os.path.join(OUT, "pb_go_%s_%s_b%d.npy" % (method, model, batch))
        peer_map = os.path.join(OUT, "pb_%s_%s_%s_b%d.npy" % (peer, method, model, batch))
        t0 = time.time()
        g = ask(workers["go"], {"method": method, "inputs": path, "reps": 1, "options": gopt, "save": go_map,
                                "save_map": method == "xrai"})
        t1 = time.time()
        pm = "gradient-shap" if peer == "captum" else method
        p = ask(workers[peer], {"method": pm, "inputs": path, "reps": 1, "options": popt, "save": peer_map})
        t2 = time.time()
        r = {"method": method, "peer": peer, "options": gopt, "peer_options": popt,
             "warmup_seconds": {"toolkit": t1 - t0, "peer": t2 - t1},
             "passes": {"toolkit": go_passes(g.get("info")), "peer": p.get("passes")},
             "session_runs": g.get("session_runs"),
             "info": {k: float(np.mean(v)) for k, v in (g.get("info") or {}).items()},
             "times": {"toolkit": [], "peer": []}, "ratios": [], "rss": {"toolkit": [], "peer": []},
             "peer_method": pm}
        r["pearson"] = per_image_pearson(np.load(go_map), np.load(peer_map), n)
        r["rounds"] = rounds if max(t1 - t0, t2 - t1) <= long_s else min(rounds, 2)
        rows[method] = r
        print("  %s: warm-up toolkit %.2f s, %s %.2f s; passes toolkit %s, peer %s; Pearson min %.4f" % (
            method, t1 - t0, peer, t2 - t1, r["passes"]["toolkit"], r["passes"]["peer"],
            np.nanmin(r["pearson"]) if not all(np.isnan(r["pearson"])) else float("nan")), flush=True)
    for k in range(rounds):
        order = [p for p in plan if rows[p[0]]["rounds"] > k]
        if not order:
            break
        shift = k % len(order)
        order = order[shift:] + order[:shift]
        for j, (method, peer, gopt, popt) in enumerate(order):
            r = rows[method]
            sides = [("toolkit", workers["go"], {"method": method, "options": gopt}),
                     ("peer", workers[peer], {"method": r["peer_method"], "options": popt})]
            if (k + j) % 2:
                sides.reverse()
            got = {}
            for side, w, req in sides:
                a = ask(w, dict(req, inputs=path, reps=1, warmup=False))
                got[side] = a["times"][0]
                r["times"][side].append(a["times"][0])
                r["rss"][side].append(a.get("rss_peak_bytes") or 0)
            r["ratios"].append(got["toolkit"] / got["peer"])
        print("  round %d done (%.0f s, load %s)" % (k + 1, time.time() - t_cfg, os.getloadavg()), flush=True)
    out = []
    for method, peer, gopt, popt in plan:
        r = rows[method]
        r["time"] = {s: summary(v) for s, v in r["times"].items()}
        r["ratio"] = summary(r["ratios"])
        r["rss_peak"] = {s: max(v) for s, v in r["rss"].items()}
        out.append(r)
    return {"model": model, "batch": batch, "images": n, "inputs": os.path.relpath(path, ROOT),
            "load_before": load0, "load_after": os.getloadavg(), "wall_seconds": time.time() - t_cfg,
            "rows": out}


CHUNK = {"fmnist_vgg": 256, "resnet50": 16}


def tile(model, x, rows):
    path = os.path.join(OUT, "pb_tile_%s_%d.npy" % (model, rows))
    np.save(path, np.ascontiguousarray(np.resize(x, (rows,) + x.shape[1:]), np.float32))
    return path


def timed(w, req, reps=3):
    a = ask(w, dict(req, reps=reps))
    return statistics.median(a["times"])


def diagnose(res, threads, all_rows=False, methods=None):
    """Where the toolkit's time goes, and the floor of the passes: one profiled call of each method (time inside
    TensorFlow's session runs and its kernel time; the rest is the method's own Go work), and the time of the
    peer's forward and backward passes run by the toolkit as plain batched calls (raw-gradient, forward) in
    chunks of CHUNK rows (Guided IG: its steps one after another, each a gradient of the batch): what any TensorFlow implementation of those passes costs on this machine. On ResNet50
    (minutes per call) only the rows that miss their target, unless all_rows."""
    for model in dict.fromkeys(c["model"] for c in res["configs"]):
        go = compare.Worker("go", model, threads)
        try:
            for c in res["configs"]:
                if c["model"] != model:
                    continue
                path = os.path.join(ROOT, c["inputs"])
                x = np.load(path)
                n = x.shape[0]
                for r in c["rows"]:
                    if methods and r["method"] not in methods:
                        continue
                    if model == "resnet50" and not all_rows and \
                            r["ratio"]["median"] <= TARGET.get((model, c["batch"]), 1.0):
                        continue
                    a = ask(go, {"method": r["method"], "inputs": path, "reps": 1, "options": r["options"],
                                 "profile": True, "save_map": r["method"] == "xrai"})
                    d = {"call": a["profile_call_seconds"], "session": a["profile_wall_seconds"],
                         "runs": a["profile_runs"], "kernel": sum(o["kernel_seconds"] for o in a["profile_ops"])}
                    pp = r["passes"]["peer"] or {}
                    fw, bw = round(n * pp.get("forward", 0)), round(n * pp.get("backward", 0))
                    ch = CHUNK[model]
                    floor = 0.0
                    if r["method"] == "guided-ig":
                        # One step after another: the steps' gradients cannot share a call; each is a gradient
                        # of the batch itself.
                        floor += timed(go, {"method": "raw-gradient", "inputs": path, "options": {},
                                            "warmup": True}) * bw / n
                        bw = 0
                    if bw:
                        k = min(bw, ch)
                        floor += timed(go, {"method": "raw-gradient", "inputs": tile(model, x, k), "options": {},
                                            "warmup": True}) * bw / k
                    if fw > bw:
                        k = min(fw - bw, ch)
                        floor += timed(go, {"method": "forward", "inputs": tile(model, x, k), "options": {},
                                            "warmup": True}) * (fw - bw) / k
                    d["floor_peer_passes"] = floor
                    r["diagnosis"] = d
                    print("  %s b%d %s: call %.3f s, session runs %.3f s (%d), kernels %.3f s, floor %.3f s" % (
                        model, c["batch"], r["method"], d["call"], d["session"], d["runs"], d["kernel"], floor),
                        flush=True)
        finally:
            go.close()


def back_to_back(res, threads, model, batch, reps=5):
    """Each side's median of reps calls in a row (one request; the other side idle): what the per-call cost is
    without the interleaving's switch between processes."""
    c = next(c for c in res["configs"] if (c["model"], c["batch"]) == (model, batch))
    path = os.path.join(ROOT, c["inputs"])
    peers = sorted({r["peer"] for r in c["rows"]})
    workers = {"go": compare.Worker("go", model, threads)}
    try:
        for p in peers:
            workers[p] = CaptumWorker(model, threads) if p == "captum" else compare.Worker(p, model, threads)
        for r in c["rows"]:
            t = timed(workers["go"], {"method": r["method"], "inputs": path, "options": r["options"]}, reps)
            u = timed(workers[r["peer"]], {"method": r["peer_method"], "inputs": path, "options": r["peer_options"]},
                      reps)
            r["back_to_back"] = {"toolkit": t, "peer": u, "reps": reps}
            print("  %s b%d %s back to back: toolkit %.4f s, peer %.4f s, ratio %.2f" % (model, batch, r["method"],
                                                                                      t, u, t / u), flush=True)
    finally:
        for w in workers.values():
            w.close()


def fmt_p(p):
    if not p:
        return "—"
    f, b = p.get("forward", 0), p.get("backward", 0)
    return ("%g F + %g B" % (round(f, 2), round(b, 2))) if b else "%g F" % round(f, 2)


def tables(res):
    m = res["machine"]
    out = ["# Path and black-box methods: the toolkit against the peers", "",
           "Written by `bench/path_blackbox.py` (`make bench-path-blackbox`) on %s: %s, %d cores, shared with "
           "other work. Every side %d intra-op and 1 inter-op threads in its own process; TensorFlow 2.18 on both "
           "TensorFlow sides (the toolkit through libtensorflow, the peers' tf_keras copies of the same "
           "SavedModels), PyTorch (OMP_WAIT_POLICY=PASSIVE) for Captum. Times: median [interquartile range] "
           "of the rounds after a warm-up; ratio: median [IQR] of the per-round toolkit / peer ratios (both "
           "calls in the same round, the order alternating). Passes: forward (F) and backward (B) passes per "
           "image of one call (the toolkit's Maps.Info; the peer's counted at its model). Peak RSS: each "
           "process's VmHWM during the method's calls (model included). Pearson: per image, the maps summed "
           "over channels; for the random methods the two sides draw independently (the parity tests feed "
           "the same draws), so it only says the estimates agree roughly." % (
               m["date"], m["cpu"], m["cores"], res["threads"]),
           "",
           "Targets (issue 21): toolkit / peer ≤ 0.5 on fmnist_vgg batch 1 (per-call overhead dominates), ≤ 1.0 on "
           "fmnist_vgg batch 32 and ResNet50 (random weights) batch 8; peak RSS ≤ 1.2 × the peer's.", ""]
    for c in res["configs"]:
        tgt = TARGET.get((c["model"], c["batch"]), 1.0)
        out += ["## %s, batch %d" % (c["model"], c["batch"]), "",
                "Inputs `%s`; load average %s before, %s after; %.0f s." % (
                    c["inputs"], " ".join("%.1f" % v for v in c["load_before"]),
                    " ".join("%.1f" % v for v in c["load_after"]), c["wall_seconds"]), "",
                "| method | peer | options (both sides) | rounds | toolkit | peer | toolkit / peer | passes toolkit | "
                "passes peer | peak RSS MB toolkit / peer | Pearson (min / median) | time ≤ %.1f× | RSS ≤ 1.2× |"
                % tgt,
                "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in c["rows"]:
            t, p, ra = r["time"]["toolkit"], r["time"]["peer"], r["ratio"]
            rt, rp = r["rss_peak"]["toolkit"], r["rss_peak"]["peer"]
            pe = [v for v in r["pearson"] if v == v]
            pear = "%.4f / %.4f" % (min(pe), statistics.median(pe)) if pe else "—"
            if r["method"] not in DETERMINISTIC:
                pear += " (independent draws)"
            opts = ", ".join("%s %s" % (k, os.path.basename(str(v))) for k, v in r["options"].items())
            out.append("| %s | %s | %s | %d | %s [%s–%s] | %s [%s–%s] | %.2f [%.2f–%.2f] | %s | %s | %s / %s | %s | %s | %s |" % (
                r["method"], r["peer"], opts, t["n"],
                compare.fmt_t(t["median"]), compare.fmt_t(t["q1"]), compare.fmt_t(t["q3"]),
                compare.fmt_t(p["median"]), compare.fmt_t(p["q1"]), compare.fmt_t(p["q3"]),
                ra["median"], ra["q1"], ra["q3"], fmt_p(r["passes"]["toolkit"]), fmt_p(r["passes"]["peer"]),
                compare.fmt_mb(rt), compare.fmt_mb(rp), pear,
                "yes" if ra["median"] <= tgt else "**no**", "yes" if rt <= 1.2 * rp else "**no**"))
        for r in c["rows"]:
            b = r.get("before")
            if b:
                out.append("- %s re-measured on %s after %s (load %s before, %s after), rows above; before: toolkit %s, "
                           "peer %s, ratio %.2f [%.2f–%.2f], peak RSS %s MB." % (
                               r["method"], r.get("measured", b["date"]), b["note"], " ".join("%.1f" % v for v in r["load"][0]),
                               " ".join("%.1f" % v for v in r["load"][1]), compare.fmt_t(b["time"]["toolkit"]["median"]),
                               compare.fmt_t(b["time"]["peer"]["median"]), b["ratio"]["median"], b["ratio"]["q1"],
                               b["ratio"]["q3"], compare.fmt_mb(b["rss_peak"]["toolkit"])) +
                           (" After %s alone: toolkit %s, peer %s, ratio %.2f." % (
                               r["between"]["note"], compare.fmt_t(r["between"]["time"]["toolkit"]["median"]),
                               compare.fmt_t(r["between"]["time"]["peer"]["median"]), r["between"]["ratio"]["median"])
                            if "between" in r else ""))
        if any("back_to_back" in r for r in c["rows"]):
            out.append("Back to back (each side's median of %d calls in a row in one request, the other side idle; "
                       "no switching between processes): %s." % (
                           next(r["back_to_back"]["reps"] for r in c["rows"] if "back_to_back" in r),
                           "; ".join("%s %s / %s = %.2f" % (r["method"], compare.fmt_t(r["back_to_back"]["toolkit"]),
                                                            compare.fmt_t(r["back_to_back"]["peer"]),
                                                            r["back_to_back"]["toolkit"] / r["back_to_back"]["peer"])
                                     for r in c["rows"] if "back_to_back" in r)))
        out.append("")
        if any("diagnosis" in r for r in c["rows"]):
            out += ["Where the time goes (one more toolkit call, profiled: TensorFlow's step statistics). *Session "
                    "runs*: the call's time inside TensorFlow (its share of the call); *Go work*: the rest (masks, "
                    "blurs, segmentation, regressions, sums); *floor*: the peer's forward and backward passes run "
                    "by the toolkit as plain batched calls (raw gradient, forward) in chunks of %d rows (Guided IG: one "
                    "gradient of the batch per step, as its steps are sequential), the kernel "
                    "cost any TensorFlow implementation of those passes pays; *peer − floor*: what the peer spends "
                    "beyond it (Python, per-call overhead, its own non-model work; for Captum, PyTorch's kernels "
                    "differ)." % CHUNK[c["model"]], "",
                    "| method | toolkit call (profiled) | session runs (runs) | Go work | kernels | floor (peer's passes) "
                    "| peer median | peer − floor | floor / peer |",
                    "|---|---|---|---|---|---|---|---|---|"]
            for r in c["rows"]:
                d = r.get("diagnosis")
                if not d:
                    continue
                pm = r["time"]["peer"]["median"]
                out.append("| %s | %s | %s (%.0f %%, %d) | %s | %s | %s | %s | %s | %.2f |" % (
                    r["method"], compare.fmt_t(d["call"]), compare.fmt_t(d["session"]),
                    100 * d["session"] / d["call"], d["runs"], compare.fmt_t(max(d["call"] - d["session"], 0)),
                    compare.fmt_t(d["kernel"]), compare.fmt_t(d["floor_peer_passes"]), compare.fmt_t(pm),
                    compare.fmt_t(max(pm - d["floor_peer_passes"], 0)), d["floor_peer_passes"] / pm))
            out.append("")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--configs", default="fmnist_vgg:1,fmnist_vgg:32,resnet50:8")
    ap.add_argument("--rounds", default="fmnist_vgg:1:7,fmnist_vgg:32:3,resnet50:8:2")
    ap.add_argument("--methods", default=",".join(p[0] for p in FMNIST))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--long", type=float, default=20.0)
    ap.add_argument("--out", default=os.path.join(HERE, "PATH_BLACKBOX.md"))
    ap.add_argument("--json", default=os.path.join(HERE, "path_blackbox_results.json"))
    ap.add_argument("--tables-only", action="store_true", help="rewrite --out from --json")
    ap.add_argument("--diagnose", action="store_true",
                    help="only profile the toolkit's calls and time the peers' passes of --json's rows; rewrite both")
    ap.add_argument("--no-diagnose", action="store_true", help="skip the profile and floor step after the rounds")
    ap.add_argument("--back-to-back", metavar="MODEL:BATCH",
                    help="only time each side's calls in a row for that configuration of --json; rewrite both")
    ap.add_argument("--update", metavar="NOTE",
                    help="re-measure --methods on --configs and replace those rows of --json, keeping the old "
                         "measurement under 'before' with NOTE (e.g. the commit that changed the method)")
    args = ap.parse_args()
    if args.back_to_back:
        res = json.load(open(args.json))
        mname, b = args.back_to_back.split(":")
        back_to_back(res, args.threads, mname, int(b))
        json.dump(res, open(args.json, "w"), indent=1)
        open(args.out, "w").write(tables(res))
        return 0
    if args.diagnose:
        res = json.load(open(args.json))
        diagnose(res, args.threads, methods=set(args.methods.split(",")))
        json.dump(res, open(args.json, "w"), indent=1)
        open(args.out, "w").write(tables(res))
        return 0
    if args.tables_only:
        res = json.load(open(args.json))
        open(args.out, "w").write(tables(res))
        return 0
    os.makedirs(OUT, exist_ok=True)
    rounds = {}
    for s in args.rounds.split(","):
        mname, b, k = s.split(":")
        rounds[(mname, int(b))] = int(k)
    methods = set(args.methods.split(","))
    mach = compare.machine()
    mach["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    res = {"machine": mach, "threads": args.threads, "configs": [], "load_start": os.getloadavg()}
    configs = [(c.split(":")[0], int(c.split(":")[1])) for c in args.configs.split(",")]
    if args.update:
        old = json.load(open(args.json))
    for model in dict.fromkeys(m for m, _ in configs):
        need = {p[1] for p in PLAN[model] if p[0] in methods}
        workers = {"go": compare.Worker("go", model, args.threads)}
        for peer in sorted(need):
            workers[peer] = CaptumWorker(model, args.threads) if peer == "captum" else \
                compare.Worker(peer, model, args.threads)
        try:
            for m2, b in configs:
                if m2 != model:
                    continue
                print("%s batch %d (load %s)" % (model, b, os.getloadavg()), flush=True)
                res["configs"].append(run_config(model, b, rounds.get((model, b), 3), methods, args.threads,
                                                 args.long, workers))
                json.dump(res, open(args.json, "w"), indent=1)
                open(args.out, "w").write(tables(res))
        finally:
            for w in workers.values():
                w.close()
    res["load_end"] = os.getloadavg()
    if not args.no_diagnose:
        print("diagnosis", flush=True)
        diagnose(res, args.threads)
    if args.update:
        for c in res["configs"]:
            oc = next(o for o in old["configs"] if (o["model"], o["batch"]) == (c["model"], c["batch"]))
            for r in c["rows"]:
                i = next(i for i, o in enumerate(oc["rows"]) if o["method"] == r["method"])
                prev = oc["rows"][i]
                if "before" in prev:
                    # The first measurement stays "before"; the one it replaces is kept as "between".
                    r["before"] = prev["before"]
                    r["between"] = {"note": prev["before"]["note"], "time": prev["time"], "ratio": prev["ratio"]}
                    r["before"]["note"] += " and " + args.update
                else:
                    r["before"] = {"note": args.update, "date": mach["date"], "time": prev["time"],
                                   "ratio": prev["ratio"], "rss_peak": prev["rss_peak"],
                                   "load": [oc["load_before"], oc["load_after"]]}
                r["load"] = [c["load_before"], c["load_after"]]
                r["measured"] = mach["date"]
                oc["rows"][i] = r
        res = old
    json.dump(res, open(args.json, "w"), indent=1)
    open(args.out, "w").write(tables(res))
    print("wrote %s and %s" % (args.out, args.json))
    return 0


if __name__ == "__main__":
    sys.exit(main())
