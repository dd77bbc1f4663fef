#!/usr/bin/env python3
"""Smoke driver for bench/peers.py: every tool x model x method, reps 1, batch of 1
(the first golden input). Prints a table of times (s) and errors.

Usage: bench/.venv/bin/python bench/smoke_peers.py [--tools tape,xplique,...]
       [--models fmnist_vgg,resnet50] [--skip resnet50:scorecam,...] [--reps 1] [--batch 1]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
GOLDEN = {"fmnist_vgg": "savedmodels/fmnist_vgg/golden/inputs.npy",
          "resnet50": "savedmodels/imagenet/resnet50/golden/inputs.npy"}
OPTS = {
    "fmnist_vgg": {"layer": "conv2_2", "channels": 32, "patch": 4, "stride": 4, "cm_steps": 100},
    "resnet50": {"layer": "conv5_block3_out", "channels": 64, "patch": 32, "stride": 32, "cm_steps": 20},
}
METHODS = ["forward", "gradient", "gradient-x-input", "smoothgrad", "squaregrad", "vargrad",
           "integrated-gradients", "guided-backprop", "deconvnet", "gradcam", "gradcam++",
           "layercam", "guided-gradcam", "scorecam", "occlusion", "class-model"]


def options(model, method):
    o = OPTS[model]
    if method in ("smoothgrad", "squaregrad", "vargrad"):
        return {"samples": 50, "noise": 0.15}
    if method == "integrated-gradients":
        return {"steps": 50}
    if method in ("gradcam", "gradcam++", "layercam", "guided-gradcam"):
        return {"layer": o["layer"]}
    if method == "scorecam":
        return {"layer": o["layer"], "channels": o["channels"]}
    if method == "occlusion":
        return {"patch": o["patch"], "stride": o["stride"]}
    if method == "class-model":
        return {"steps": o["cm_steps"], "lr": 1.0}
    return {}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tools", default="tape,xplique,tf-keras-vis,pair")
    ap.add_argument("--models", default="fmnist_vgg,resnet50")
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--skip", default="")
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--batch", type=int, default=1)
    args = ap.parse_args()
    skip = set(args.skip.split(",")) if args.skip else set()
    tmp = tempfile.mkdtemp()
    rows = []
    for model in args.models.split(","):
        x = np.load(os.path.join(ROOT, GOLDEN[model]))[:args.batch]
        inp = os.path.join(tmp, model + ".npy")
        np.save(inp, x)
        for tool in args.tools.split(","):
            p = subprocess.Popen([sys.executable, os.path.join(HERE, "peers.py"), "--tool", tool,
                                  "--model", model], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=open(os.path.join(tmp, "%s_%s.err" % (tool, model)), "w"),
                                 text=True, bufsize=1)
            ready = json.loads(p.stdout.readline())
            print("# %s %s load %.1fs" % (tool, model, ready["load_seconds"]), flush=True)
            for m in args.methods.split(","):
                if "%s:%s" % (model, m) in skip or "%s:%s:%s" % (tool, model, m) in skip:
                    continue
                req = {"method": m, "inputs": inp, "reps": args.reps, "options": options(model, m)}
                p.stdin.write(json.dumps(req) + "\n")
                p.stdin.flush()
                ans = json.loads(p.stdout.readline())
                if ans["ok"]:
                    t = min(ans["times"])
                    cell = "%.4f" % t
                    print("%-13s %-11s %-21s %10s  rss %6.0f MB  map %s" % (
                        tool, model, m, cell, ans["rss_peak_bytes"] / 2**20, ans["map_shape"]),
                        flush=True)
                else:
                    cell = "n/i" if ans["error"] == "not implemented" else "ERR"
                    if cell == "ERR":
                        print("%-13s %-11s %-21s ERROR %s" % (tool, model, m, ans["error"][:300]),
                              flush=True)
                rows.append((tool, model, m, cell))
            p.stdin.close()
            rc = p.wait()
            if rc:
                print("# %s %s exit %d" % (tool, model, rc), flush=True)
    # table: method x (tool, model)
    cols = sorted({(r[0], r[1]) for r in rows}, key=lambda c: (c[1], args.tools.split(",").index(c[0])))
    cell = {(r[0], r[1], r[2]): r[3] for r in rows}
    print("\n| method | " + " | ".join("%s %s" % (t, m) for t, m in cols) + " |")
    print("|---" * (len(cols) + 1) + "|")
    for m in args.methods.split(","):
        print("| %s | " % m + " | ".join(cell.get((t, mo, m), "skip") for t, mo in cols) + " |")
    print("stderr logs in", tmp)


if __name__ == "__main__":
    main()
