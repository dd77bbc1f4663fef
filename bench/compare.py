#!/usr/bin/env python3
"""Side-by-side benchmark: saliency (Go) against the Python tools on the same models.

    bench/compare.py [--models fmnist_vgg,resnet50] [--tools go,tape,xplique,tf-keras-vis,pair]
                     [--runs 3] [--peer-runs N] [--methods gradient,smoothgrad,...] [--out bench/RESULTS.md]

Needs bin/bench-worker (`make bench-worker`) and the peer venv (bench/setup.sh). Only the
standard library and numpy are used here; the sides are separate processes:

  go     bin/bench-worker -model DIR -threads 2          (bench/worker/main.go)
  peers  bench/.venv/bin/python bench/peers.py --tool T   (tape, xplique, tf-keras-vis, pair)

Every process runs TensorFlow with 2 intra-op threads and 1 inter-op thread. For each
model all workers load once, then for each (batch, method) the coordinator asks each tool
in turn for one timed call, rotating which tool goes first from run to run, so that
drifts of the machine (heat, other processes) fall on all sides alike. Every side is given
the classes to explain (the top class of each image, from an untimed forward pass). The first call of
a tool and method is preceded by an untimed warm-up (tracing, graph building). A method
whose first run took more than --long seconds on some tool is run once only. Times are
medians with min and max; peak RSS is the process's VmHWM, reset before each method.

It writes bench/results.json (every time; --json; the rows of a run in progress go to
bench/results.json.partial) and bench/RESULTS.md (the tables; --out).
"""
import argparse
import json
import os
import platform
import statistics
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import protocol  # noqa: E402
MODELS = {
    "fmnist_vgg": {"dir": "savedmodels/fmnist_vgg", "batches": [1, 32], "layer": "conv2_2",
                   "occlusion": {"patch": 4, "stride": 4}, "scorecam": {}, "class-model": {"steps": 100}},
    # Multi-pass methods at batch 8 take minutes per call on 2 cores (SmoothGrad-50 is 400
    # ResNet50 gradients): they run at batch 1 only, unless --all.
    "resnet50": {"dir": "savedmodels/imagenet/resnet50", "batches": [1, 8], "layer": "conv5_block3_out",
                 "multi_batches": [1],
                 "occlusion": {"patch": 32, "stride": 32}, "scorecam": {"channels": 64},
                 "class-model": {"steps": 20}},
}
TOOLS = ["go", "tape", "xplique", "tf-keras-vis", "pair"]
PEERS = TOOLS[1:]
# The methods in the lecture's order, with the options every side uses.
METHODS = [
    ("forward", {}),
    ("gradient", {}),
    ("gradient-x-input", {}),
    ("smoothgrad", {"samples": 50, "noise": 0.15}),
    ("squaregrad", {"samples": 50, "noise": 0.15}),
    ("vargrad", {"samples": 50, "noise": 0.15}),
    ("integrated-gradients", {"steps": 50}),
    ("guided-backprop", {}),
    ("deconvnet", {}),
    ("gradcam", {"layer": None}),
    ("gradcam++", {"layer": None}),
    ("layercam", {"layer": None}),
    ("guided-gradcam", {"layer": None}),
    ("scorecam", {"layer": None}),
    ("occlusion", {}),
    ("class-model", {}),
]
MULTI = {"smoothgrad", "squaregrad", "vargrad", "integrated-gradients", "scorecam", "gradcam++", "occlusion",
         "class-model"}


def fashion_mnist(n):
    """The first n Fashion-MNIST test images, scaled to [0,1] (Debian's dataset-fashion-mnist)."""
    import gzip
    path = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"
    with gzip.open(path) as f:
        raw = f.read()
    x = np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 28, 28, 1)[:n]
    return (x.astype(np.float32) / 255.0)


def inputs(model, batch, folder):
    path = os.path.join(folder, "%s_b%d.npy" % (model, batch))
    if model == "fmnist_vgg":
        x = fashion_mnist(batch)
    else:
        x = np.random.default_rng(0).uniform(0, 1, (batch, 224, 224, 3)).astype(np.float32)
    np.save(path, x)
    return path


def Worker(tool, model, threads):
    """The side `tool` on `model` with `threads` intra-op threads: bin/bench-worker ("go") or bench/peers.py in the
    bench venv (protocol.Worker; its stderr in bench/out/TOOL_MODEL.log)."""
    mdir = os.path.join(ROOT, MODELS[model]["dir"])
    if tool == "go":
        cmd = [os.path.join(ROOT, "bin", "bench-worker"), "-model", mdir, "-threads", str(threads)]
    else:
        cmd = [os.path.join(HERE, ".venv", "bin", "python"), os.path.join(HERE, "peers.py"),
               "--tool", tool, "--model", model, "--threads", str(threads)]
    return protocol.Worker(tool, cmd, os.path.join(HERE, "out", "%s_%s.log" % (tool, model)),
                           env={"TF_CPP_MIN_LOG_LEVEL": "2"})


def fmt_t(s):
    if s is None:
        return "—"
    if s < 1:
        return "%.1f ms" % (s * 1e3)
    return "%.2f s" % s


def fmt_mb(b):
    return "—" if not b else "%.0f" % (b / 2**20)


def run(args):
    os.makedirs(os.path.join(HERE, "out"), exist_ok=True)
    results = []
    want_methods = set(args.methods.split(",")) if args.methods else None
    for model in args.models.split(","):
        cfg = MODELS[model]
        workers = {}
        for tool in args.tools.split(","):
            t0 = time.time()
            workers[tool] = Worker(tool, model, args.threads)
            print("%s on %s: ready in %.1f s" % (tool, model, time.time() - t0), file=sys.stderr, flush=True)
        try:
            for batch in cfg["batches"]:
                x = inputs(model, batch, os.path.join(HERE, "out"))
                for method, base in METHODS:
                    if want_methods and method not in want_methods and method != "forward":
                        continue
                    if method in MULTI and not args.all and batch not in cfg.get("multi_batches", [batch]):
                        continue
                    opts = dict(base)
                    if "layer" in opts:
                        opts["layer"] = cfg["layer"]
                    opts.update(cfg.get(method, {}))
                    rec = {"model": model, "batch": batch, "method": method, "options": opts, "tools": {},
                           "date": time.strftime("%Y-%m-%d")}
                    live = list(workers)
                    runs = args.runs
                    r = 0
                    while r < runs and live:
                        if r == args.peer_runs:
                            # Go and the tape go on to --runs; the other peers stop here.
                            live = [t for t in live if t in ("go", "tape")]
                            if not live:
                                break
                        order = live[r % len(live):] + live[:r % len(live)]
                        for tool in order:
                            # Every side is given the classes (each image's top class, from a forward
                            # pass outside the timed call): bench/peers.py computes them in prepare.
                            req = {"method": method, "inputs": x, "reps": 1, "options": opts, "warmup": r == 0,
                                   "given_classes": True}
                            t0 = time.time()
                            ans = workers[tool].ask(req)
                            wall = time.time() - t0
                            t = rec["tools"].setdefault(tool, {"times": [], "rss": 0})
                            if not ans.get("ok"):
                                t["error"] = ans.get("error")
                                live.remove(tool)
                                continue
                            t["times"] += ans["times"]
                            t["rss"] = max(t["rss"], ans.get("rss_peak_bytes", 0))
                            if r == 0 and ans["times"][0] > args.long:
                                runs = 1
                            print("  %-10s b=%-2d %-22s %-13s %s (%.0f s)" % (model, batch, method, tool,
                                  fmt_t(ans["times"][0]), wall), file=sys.stderr, flush=True)
                        r += 1
                    results.append(rec)
                    # This run's rows so far, beside --json (which keeps the other rows until the end).
                    with open(args.json + ".partial", "w") as f:
                        json.dump({"machine": machine(), "results": results}, f, indent=1)
        finally:
            for w in workers.values():
                w.close()
    return results


def machine():
    return {"cpu": protocol.cpu_name(), "cpu_id": protocol.cpu_id(), "cores": os.cpu_count(), "date": time.strftime("%Y-%m-%d"),
            "python": platform.python_version()}


def med(t):
    return statistics.median(t["times"]) if t and t.get("times") else None


def sort_rows(results):
    """Sorts the rows by model, batch and method, in the order of MODELS and METHODS."""
    models, names = list(MODELS), [m for m, _ in METHODS]
    results.sort(key=lambda r: (models.index(r["model"]), r["batch"],
                                names.index(r["method"]) if r["method"] in names else len(names)))


def tape_ratio(g, t):
    """Go's median over the tape's, with the interquartile range of the ratios of the rounds (the
    i-th Go call over the i-th tape call, which ran side by side)."""
    if not g or not t or not g.get("times") or not t.get("times"):
        return "—"
    rs = [a / b for a, b in zip(g["times"], t["times"])]
    if len(rs) < 4:
        return "%.2f" % (med(g) / med(t))
    q = statistics.quantiles(rs, n=4)
    return "%.2f (%.2f–%.2f)" % (med(g) / med(t), q[0], q[2])


def table(results):
    """The RESULTS.md tables, one per model and batch."""
    out = []
    fwd = {(r["model"], r["batch"]): med(r["tools"].get("go")) for r in results if r["method"] == "forward"}
    grad = {(r["model"], r["batch"]): med(r["tools"].get("go")) for r in results if r["method"] == "gradient"}
    keys = []
    for r in results:
        if (r["model"], r["batch"]) not in keys:
            keys.append((r["model"], r["batch"]))
    for model, batch in keys:
        out.append("### %s, batch %d\n" % (model, batch))
        peers = [p for p in PEERS if any(p in r["tools"] for r in results if r["model"] == model)]
        head = (["method", "Go (min–max)"] + peers +
                ["Go / tape (IQR)", "Go / fastest peer", "Go / forward", "peak RSS MiB Go / peer", "rounds (date)"])
        out.append("| " + " | ".join(head) + " |")
        out.append("|" + "---|" * len(head))
        for r in results:
            if (r["model"], r["batch"]) != (model, batch):
                continue
            g = r["tools"].get("go")
            gm = med(g)
            cells = [r["method"] + (" ·" if r["method"] in MULTI else "")]
            cells.append("%s (%s–%s)" % (fmt_t(gm), fmt_t(min(g["times"])), fmt_t(max(g["times"]))) if gm else "—")
            best, best_tool = None, None
            for p in peers:
                t = r["tools"].get(p)
                m = med(t)
                if m is not None and (best is None or m < best):
                    best, best_tool = m, p
                cells.append(fmt_t(m) if m is not None else "n/a")
            cells.append(tape_ratio(g, r["tools"].get("tape")))
            cells.append("%.2f (%s)" % (gm / best, best_tool) if gm and best else "—")
            f = fwd.get((model, batch))
            cells.append("%.1f" % (gm / f) if gm and f else "—")
            cells.append("%s / %s" % (fmt_mb(g["rss"] if g else 0),
                                      fmt_mb(r["tools"][best_tool]["rss"]) if best_tool else "—"))
            cells.append("%d (%s)" % (len(g["times"]) if g and g.get("times") else 0, r.get("date", "")))
            out.append("| " + " | ".join(cells) + " |")
        g1 = grad.get((model, batch))
        gdate = next((r.get("date") for r in results
                      if (r["model"], r["batch"], r["method"]) == (model, batch, "gradient")), None)
        for r in results:
            if (r["model"], r["batch"]) == (model, batch) and r["method"] in ("smoothgrad", "integrated-gradients"):
                gm = med(r["tools"].get("go"))
                if gm and g1 and r.get("date") == gdate:  # rows of one day only
                    out.append("\n%s-50 costs %.2f× the time of 50 separate gradient calls (%s against 50 × %s)."
                               % (r["method"], gm / (50 * g1), fmt_t(gm), fmt_t(g1)))
        out.append("")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="fmnist_vgg,resnet50")
    ap.add_argument("--tools", default=",".join(TOOLS))
    ap.add_argument("--methods", default="", help="comma-separated subset (forward is always timed)")
    ap.add_argument("--runs", type=int, default=3, help="timed calls of Go and the tape per method")
    ap.add_argument("--peer-runs", type=int, default=None,
                    help="timed calls of the other peers (default: --runs); they take turns with Go and the "
                         "tape in the first rounds")
    ap.add_argument("--all", action="store_true", help="multi-pass methods at every batch size")
    ap.add_argument("--long", type=float, default=20, help="seconds above which a method runs once")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=os.path.join(HERE, "RESULTS.md"))
    ap.add_argument("--json", default=os.path.join(HERE, "results.json"),
                    help="the rows, kept between runs (one file per machine: e.g. --out bench/RESULTS-EPYC.md "
                         "--json bench/results-epyc.json)")
    ap.add_argument("--tables-only", action="store_true", help="rewrite --out from --json")
    args = ap.parse_args()
    if args.tables_only:
        with open(args.json) as f:
            data = json.load(f)
        for r in data["results"]:
            r.setdefault("date", data["machine"]["date"])
        sort_rows(data["results"])
    else:
        # Rows (model, batch, method) not run this time are kept from --json, with their date.
        old, prev = [], {}
        path = args.json
        if os.path.exists(path):
            with open(path) as f:
                prev = json.load(f)
            old = prev["results"]
            for r in old:
                r.setdefault("date", prev["machine"]["date"])
        new = run(args)
        done = {(r["model"], r["batch"], r["method"]) for r in new}
        old = [r for r in old if (r["model"], r["batch"], r["method"]) not in done]
        data = {"machine": machine(), "results": new + old}
        sort_rows(data["results"])
        with open(path, "w") as f:
            json.dump(data, f, indent=1)
    # Sections other scripts write into --out (## headings: bench/import_speed.py's) are kept after the tables.
    kept = ""
    if os.path.exists(args.out):
        with open(args.out) as f:
            lines = f.read().splitlines(keepends=True)
        start = next((i for i, l in enumerate(lines) if l.startswith("## ")), None)
        if start is not None:
            kept = "".join(lines[start:])
    with open(args.out, "w") as f:
        m = data["machine"]
        f.write("# Side-by-side benchmark\n\n")
        f.write("Written by `bench/compare.py` (`make bench-compare`) on %s: %s (%s), %d cores; TensorFlow 2.18.1 on "
                "both sides with 2 intra-op and 1 inter-op threads. Times are medians of the runs (min–max for Go); "
                "· marks multi-pass methods. Peer versions: bench/requirements.txt.\n\n"
                % (m["date"], m["cpu"], m.get("cpu_id", "vendor, family and model not recorded"), m["cores"]))
        f.write("Each row is a number of rounds (the rounds column, and the date it was measured): in a round "
                "every side makes one timed call, taking turns (who goes first rotates); the peers other than the "
                "tape may join the first rounds only (`--peer-runs`). Go / tape is the ratio of the medians, with "
                "the interquartile range of the ratios of the rounds (each Go call over the tape call beside it). Every "
                "side is given the classes to explain (each image's top class, from a forward pass outside the timed "
                "calls; for Go since 2026-12-07, before which Go found them inside its calls).\n\n")
        f.write(table(data["results"]))
        if kept:
            f.write("\n" + kept)
    print("wrote", args.out, file=sys.stderr)


if __name__ == "__main__":
    main()
