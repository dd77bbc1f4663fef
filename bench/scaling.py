#!/usr/bin/env python3
"""How the time of a sanity-check experiment grows with images, layers and methods.

    bench/scaling.py [--model fmnist_resnet] [--out bench/SCALING.md]

Runs `bin/saliency run -no-report -threads 2` on generated experiments: cascading
model-parameter randomization of every layer with weights of fmnist_vgg (6 layers) and
fmnist_resnet (19 layers), with 1, 3 or 5 single-pass methods and 10, 20 or 40
Fashion-MNIST test images, and tabulates the wall time (process start,
model loading and planning included) and the maps per second. Only the standard library.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
METHODS = ["gradient", "guided-backprop", "gradcam", "gradient-x-input", "guided-gradcam"]


def experiment(model, images, methods, path):
    with open(path, "w") as f:
        f.write("name: scaling\nseed: 1\n")
        f.write("models:\n  - path: %s\n" % os.path.relpath(os.path.join(ROOT, "savedmodels", model), os.path.dirname(path)))
        f.write("data: {source: fashion-mnist, count: %d}\nbatch: %d\n" % (images, images))
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


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="fmnist_resnet", help="the model of the image and method sweeps")
    ap.add_argument("--layers-model", default="fmnist_vgg", help="a model with fewer layers, for the layer sweep")
    ap.add_argument("--out", default=os.path.join(HERE, "SCALING.md"))
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
    with open(args.out, "w") as f:
        f.write("# How a sanity-check experiment scales\n\n")
        f.write("Written by `bench/scaling.py` on %s: `saliency run -no-report -threads 2` of a cascading "
                "randomization of every layer (the steps include the original model), Spearman only; "
                "wall time with process start, model loading and planning. Methods in order: %s.\n\n"
                % (time.strftime("%Y-%m-%d"), ", ".join(METHODS)))
        f.write("| model | images | methods | steps | maps | seconds | maps/s |\n|---|---|---|---|---|---|---|\n")
        for model, images, nm, steps, maps, secs in rows:
            f.write("| %s | %d | %d | %d | %d | %.2f | %.0f |\n" % (model, images, nm, steps, maps, secs, maps / secs))
    print("wrote", args.out, file=sys.stderr)


if __name__ == "__main__":
    main()
