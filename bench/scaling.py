#!/usr/bin/env python3
"""How the time of a sanity-check experiment grows with images, layers and methods.

    bench/scaling.py [--model fmnist_resnet] [--out bench/SCALING.md]

Runs `bin/saliency run -no-report -threads 2` on generated experiments: cascading
model-parameter randomization of every layer with weights of fmnist_vgg (6 layers) and
fmnist_resnet (19 layers), with 1, 3 or 5 single-pass methods and 10, 20 or 40
Fashion-MNIST test images, and tabulates the wall time (process start,
model loading and planning included) and the maps per second.

Then the speed-up of shards: the same experiment (--shard-images images, all five
methods, on --model) computed by one process with 2 threads, and by n = 2 processes
side by side (`-shard k/2`), 1 thread each, into one folder; each is timed from the
start of the first process to the end of the last, --reps times, alternating. The
per-task overhead is the time of a shard whose units are all done (process start,
library and model loading, planning, finding its units finished): what every task of
a job array pays whatever its share. Only the standard library.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from protocol import cpu_name  # noqa: E402
METHODS = ["gradient", "guided-backprop", "gradcam", "gradient-x-input", "guided-gradcam"]


def experiment(model, images, methods, path, batch=None):
    with open(path, "w") as f:
        f.write("name: scaling\nseed: 1\n")
        f.write("models:\n  - path: %s\n" % os.path.relpath(os.path.join(ROOT, "savedmodels", model), os.path.dirname(path)))
        f.write("data: {source: fashion-mnist, count: %d}\nbatch: %d\n" % (images, batch or images))
        f.write("methods: [%s]\n" % ", ".join(methods))
        f.write("tests:\n  - randomization: {modes: [cascading], distribution: reinit, batchnorm: randomize}\n")
        f.write("metrics: [spearman]\n")


def run(model, images, methods, work):
    y = os.path.join(work, "e.yaml")
    out = os.path.join(work, "e.run")
    shutil.rmtree(out, ignore_errors=True)
    experiment(model, images, methods, y)
    t0 = time.perf_counter()
    subprocess.run([os.path.join(ROOT, "bin", "saliency"), "run", "-no-report", "-threads", "2", "-out", out, y],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    secs = time.perf_counter() - t0
    plan = json.load(open(os.path.join(out, "plan.json")))
    steps = len(plan["models"][0]["steps"])
    return secs, steps, steps * len(methods) * images


def shard_run(y, out, n, threads):
    """Wall time of n shard processes of y side by side into out (emptied first)."""
    shutil.rmtree(out, ignore_errors=True)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    t0 = time.perf_counter()
    procs = [subprocess.Popen([os.path.join(ROOT, "bin", "saliency"), "run", "-no-report", "-threads", str(threads),
                               "-shard", "%d/%d" % (k, n), "-out", out, y],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env) for k in range(1, n + 1)]
    for p in procs:
        if p.wait() != 0:
            sys.exit("shard run of %s failed (exit %d)" % (y, p.returncode))
    return time.perf_counter() - t0


def idle_task(y, out):
    """Wall time of shard 1/2 of a folder whose units are all done."""
    t0 = time.perf_counter()
    subprocess.run([os.path.join(ROOT, "bin", "saliency"), "run", "-no-report", "-threads", "1", "-shard", "1/2",
                    "-out", out, y], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    return time.perf_counter() - t0


def shards(model, images, reps, work):
    """Median wall times (and ranges) of 1 process × 2 threads and 2 shards × 1 thread, and the idle task."""
    y = os.path.join(work, "shards.yaml")
    out = os.path.join(work, "shards.run")
    experiment(model, images, METHODS, y, batch=10)
    times = {1: [], 2: []}
    for r in range(reps):
        for n in ((1, 2) if r % 2 == 0 else (2, 1)):
            times[n].append(shard_run(y, out, n, 2 if n == 1 else 1))
            print("shards: %d process(es): %.2f s" % (n, times[n][-1]), file=sys.stderr)
    idle = [idle_task(y, out) for _ in range(reps)]
    plan = json.load(open(os.path.join(out, "plan.json")))
    steps = len(plan["models"][0]["steps"])
    return times, idle, steps * len(METHODS) * images


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="fmnist_resnet", help="the model of the image and method sweeps")
    ap.add_argument("--layers-model", default="fmnist_vgg", help="a model with fewer layers, for the layer sweep")
    ap.add_argument("--out", default=os.path.join(HERE, "SCALING.md"))
    ap.add_argument("--shard-images", type=int, default=100, help="images of the shard experiment (batches of 10)")
    ap.add_argument("--reps", type=int, default=5, help="repetitions of each shard timing")
    args = ap.parse_args()
    work = os.path.join(HERE, "out", "scaling")
    os.makedirs(work, exist_ok=True)
    rows = []
    for model, images, nm in [(args.layers_model, 10, 5), (args.model, 10, 1), (args.model, 10, 3),
                              (args.model, 10, 5), (args.model, 20, 5), (args.model, 40, 5)]:
        secs, steps, maps = run(model, images, METHODS[:nm], work)
        rows.append((model, images, nm, steps, maps, secs))
        print("%s: %d images, %d methods, %d steps: %d maps in %.2f s" % (model, images, nm, steps, maps, secs),
              file=sys.stderr)
    times, idle, smaps = shards(args.model, args.shard_images, args.reps, work)
    with open(args.out, "w") as f:
        f.write("# How a sanity-check experiment scales\n\n")
        f.write("Written by `bench/scaling.py` on %s: `saliency run -no-report -threads 2` of a cascading "
                "randomization of every layer (the steps include the original model), Spearman only; "
                "wall time with process start, model loading and planning. Methods in order: %s.\n\n"
                % (time.strftime("%Y-%m-%d"), ", ".join(METHODS)))
        f.write("| model | images | methods | steps | maps | seconds | maps/s |\n|---|---|---|---|---|---|---|\n")
        for model, images, nm, steps, maps, secs in rows:
            f.write("| %s | %d | %d | %d | %d | %.2f | %.0f |\n" % (model, images, nm, steps, maps, secs, maps / secs))
        med = {n: statistics.median(t) for n, t in times.items()}
        f.write("\n## Shards on this machine\n\n"
                "%s, %d images in batches of 10, the five methods, the same cascading randomization: %d maps. "
                "One process with 2 threads against 2 shard processes (`-shard 1/2`, `-shard 2/2`) side by side, "
                "1 thread each, into one folder; wall time from the first start to the last end, median of %d "
                "(alternating), range in brackets. A task that finds all its units done (process start, library "
                "and model loading, planning) is the per-task overhead every task of an array pays.\n\n"
                % (args.model, args.shard_images, smaps, args.reps))
        f.write("| processes × threads | seconds | maps/s | speed-up |\n|---|---|---|---|\n")
        for n, label in ((1, "1 × 2"), (2, "2 × 1")):
            f.write("| %s | %.2f (%.2f–%.2f) | %.0f | %.2f |\n" % (label, med[n], min(times[n]), max(times[n]),
                                                                    smaps / med[n], med[1] / med[n]))
        f.write("| per-task overhead (all units done) | %.2f (%.2f–%.2f) | | |\n"
                % (statistics.median(idle), min(idle), max(idle)))
        f.write("\nMachine: %s, %d CPUs.\n" % (cpu_name() or "unknown CPU", os.cpu_count()))
    print("wrote", args.out, file=sys.stderr)


if __name__ == "__main__":
    main()
