#!/usr/bin/env python3
"""The backward convolutions of this machine: the derived forward convolutions against TensorFlow's own kernels.

    bench/conv_backward.py [--rounds 12] [--calls 3] [--rows fmnist_vgg:32,resnet50:8] [--methods gradient]

tfgraph.ConvBackwardAuto picks one of the two by the CPU's vendor (TensorFlow's kernels on Intel, the derived
convolutions elsewhere; docs/performance.md). This measures the choice on the machine at hand: two Go workers
(bin/bench-worker -conv-backward derived, and exact) load the same model and take turns, the first to go rotating
from round to round; a round is --calls timed calls of each. It prints, per row, each side's median call and
derived / exact as the ratio of the medians with the interquartile range of the rounds' ratios (each round's
derived median over the exact median beside it), and writes the rows to --json (bench/out/conv_backward.json).
A ratio above 1 says TensorFlow's kernels are faster here. Needs bin/bench-worker (`make bench-worker`) and,
for resnet50, savedmodels/imagenet/resnet50; numpy only (the project's .venv does).
"""
import argparse
import json
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import compare  # noqa: E402
import protocol  # noqa: E402

SIDES = ["derived", "exact"]


def measure(model, batch, method, rounds, calls, threads):
    """The row's rounds: per round, each side's median of `calls` timed calls."""
    mdir = os.path.join(ROOT, compare.MODELS[model]["dir"])
    x = compare.inputs(model, batch, os.path.join(HERE, "out"))
    opts = {"layer": compare.MODELS[model]["layer"]} if "cam" in method else {}
    workers = {}
    try:
        for side in SIDES:
            cmd = [os.path.join(ROOT, "bin", "bench-worker"), "-model", mdir, "-threads", str(threads),
                   "-conv-backward", side]
            workers[side] = protocol.Worker("go-" + side, cmd,
                                            os.path.join(HERE, "out", "conv_%s_%s.log" % (side, model)),
                                            env={"TF_CPP_MIN_LOG_LEVEL": "2"}, strict=True)
        per = {s: [] for s in SIDES}
        for r in range(rounds):
            order = SIDES[r % 2:] + SIDES[:r % 2]
            for side in order:
                ans = workers[side].ask({"method": method, "inputs": x, "reps": calls, "options": opts,
                                         "warmup": r == 0, "given_classes": True})
                per[side].append(statistics.median(ans["times"]))
            protocol.log("  %s b=%d %s round %d: derived %.2f ms, exact %.2f ms" % (
                model, batch, method, r + 1, per["derived"][-1] * 1e3, per["exact"][-1] * 1e3))
        return per
    finally:
        for w in workers.values():
            w.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", default="fmnist_vgg:32,resnet50:8", help="model:batch, comma-separated")
    ap.add_argument("--methods", default="gradient", help="comma-separated (bench worker method names)")
    ap.add_argument("--rounds", type=int, default=12)
    ap.add_argument("--calls", type=int, default=3, help="timed calls of each side per round")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", default=os.path.join(HERE, "out", "conv_backward.json"))
    args = ap.parse_args()
    if args.rounds < 4:
        ap.error("--rounds: at least 4 for an interquartile range")
    os.makedirs(os.path.join(HERE, "out"), exist_ok=True)
    rows = []
    for spec in args.rows.split(","):
        model, _, b = spec.partition(":")
        if model not in compare.MODELS or not b.isdigit():
            ap.error("--rows: %r is not MODEL:BATCH with MODEL one of %s" % (spec, ", ".join(compare.MODELS)))
        for method in args.methods.split(","):
            per = measure(model, int(b), method, args.rounds, args.calls, args.threads)
            ratios = [d / e for d, e in zip(per["derived"], per["exact"])]
            q = statistics.quantiles(ratios, n=4)
            row = {"model": model, "batch": int(b), "method": method, "rounds": args.rounds, "calls": args.calls,
                   "derived_ms": statistics.median(per["derived"]) * 1e3,
                   "exact_ms": statistics.median(per["exact"]) * 1e3,
                   "ratio": statistics.median(per["derived"]) / statistics.median(per["exact"]),
                   "ratio_q1": q[0], "ratio_q3": q[2], "times": per}
            rows.append(row)
            print("%-10s b=%-2d %-16s derived %8.2f ms  exact %8.2f ms  derived/exact %.3f (IQR %.3f–%.3f)" % (
                model, row["batch"], method, row["derived_ms"], row["exact_ms"], row["ratio"], q[0], q[2]),
                flush=True)
    with open(args.json, "w") as f:
        json.dump({"machine": compare.machine(), "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
