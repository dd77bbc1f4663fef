#!/usr/bin/env python3
"""Load and first-gradient cost of a SavedModel: Python (TensorFlow) and the Go toolkit.

Python: the baseline the Go toolkit is compared with.

Each run is a FRESH process (this script with --child) that, with 2 TensorFlow
threads (intra- and inter-op), times:

    import    import tensorflow (reported, not part of the phases below)
    load      tf.saved_model.load(dir)
    forward   the first call of signatures["serving_default"] on golden/inputs.npy[:1]
    gradient  the first tf.GradientTape gradient of the top class's score with
              respect to the input, through the same signature function
              (tape.watch(x); out = sig(x); score = ...; tape.gradient(score, x))

and reports the peak RSS of the child (resource.getrusage(RUSAGE_SELF).ru_maxrss
at its end, MB). A second forward and gradient ("forward2", "gradient2") are
timed too, for the steady state.

The score: the serving signature exposes only the model's output. When the card
says output.kind is "logits" the score is output[0, top]. For softmax models
("probabilities", every keras.applications model) the logits are not reachable
through the signature, so the score is log(output[0, top]) = logit[top] -
logsumexp(logits): its gradient is d logit[top] - sum_j p_j d logit[j], not the
golden grad_input.npy (which is d logit[top]). top = argmax of the output.

Go (with --go BIN, the saliency binary): fresh processes of
    inspect   saliency inspect DIR
    gradient  saliency explain -model DIR -method gradient -out TMP IMAGE
              (load, flatten, read and preprocess the image, the first gradient,
              write the map, its overlay and the grid figure)
each with its wall time and peak RSS (wait4's ru_maxrss), and the ratios to Python's
process (import tensorflow + load + first forward + first gradient) and to
Python's load + first forward + first gradient without the import.

Usage: measure_load.py [--runs N] [--markdown] [--threads T] [--go BIN] MODEL ...
MODEL is a SavedModel folder, or a name looked up in savedmodels/applications/
then savedmodels/imagenet/ (vgg16, resnet50, inception_v3, ...).
Prints one JSON line per model (every run, and the median of each phase).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SEARCH = [os.path.join(HERE, "applications"), os.path.join(HERE, "imagenet")]
PHASES = ["import", "load", "forward", "gradient", "forward2", "gradient2"]


def child(path, threads):
    t0 = time.perf_counter()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import resource
    import numpy as np
    import tensorflow as tf
    t_import = time.perf_counter() - t0
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    kind = "probabilities"
    card = os.path.join(path, "card.yaml")
    if os.path.exists(card):
        import yaml
        with open(card) as f:
            kind = (yaml.safe_load(f).get("output") or {}).get("kind", kind)
    gdir = os.path.join(path, "golden")
    x = tf.constant(np.load(os.path.join(gdir, "inputs.npy"))[:1])
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    t = time.perf_counter()
    loaded = tf.saved_model.load(path)
    sig = loaded.signatures["serving_default"]
    in_key = sorted(sig.structured_input_signature[1])[0]
    out_key = sorted(sig.structured_outputs)[0]
    t_load = time.perf_counter() - t
    rss_load = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def forward():
        return sig(**{in_key: x})[out_key]

    t = time.perf_counter()
    out = forward().numpy()
    t_fwd = time.perf_counter() - t
    top = int(np.argmax(out[0]))

    def gradient():
        with tf.GradientTape() as tape:
            tape.watch(x)
            o = sig(**{in_key: x})[out_key]
            score = o[0, top] if kind == "logits" else tf.math.log(o[0, top])
        return tape.gradient(score, x).numpy()

    t = time.perf_counter()
    g = gradient()
    t_grad = time.perf_counter() - t
    t = time.perf_counter()
    forward().numpy()
    t_fwd2 = time.perf_counter() - t
    t = time.perf_counter()
    gradient()
    t_grad2 = time.perf_counter() - t

    res = {"import": t_import, "load": t_load, "forward": t_fwd, "gradient": t_grad,
           "forward2": t_fwd2, "gradient2": t_grad2,
           "rss_after_import_mb": rss_before, "rss_after_load_mb": rss_load,
           "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
           "top": top, "score": "output[0,top]" if kind == "logits" else "log(output[0,top])",
           "grad_abs_mean": float(np.mean(np.abs(g))), "grad_finite": bool(np.all(np.isfinite(g)))}
    want = os.path.join(gdir, "outputs.npy")
    if os.path.exists(want):
        res["forward_max_abs_diff_vs_golden"] = float(np.max(np.abs(out[0] - np.load(want)[0])))
    print("RESULT " + json.dumps(res), flush=True)


def resolve(m):
    if os.path.isdir(m):
        return os.path.abspath(m)
    for d in SEARCH:
        p = os.path.join(d, m)
        if os.path.exists(os.path.join(p, "saved_model.pb")):
            return p
    raise SystemExit("%s: no SavedModel there or in %s" % (m, ", ".join(SEARCH)))


def measure(path, runs, threads):
    results = []
    for _ in range(runs):
        t = time.perf_counter()
        p = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", "--threads", str(threads), path],
                           stdout=subprocess.PIPE, text=True)
        wall = time.perf_counter() - t
        line = [x for x in p.stdout.splitlines() if x.startswith("RESULT ")]
        if p.returncode != 0 or not line:
            raise SystemExit("%s: child failed with code %d" % (path, p.returncode))
        r = json.loads(line[-1][len("RESULT "):])
        r["process_wall"] = wall
        results.append(r)
    keys = PHASES + ["process_wall", "peak_rss_mb", "rss_after_import_mb", "rss_after_load_mb"]
    med = {k: statistics.median(r[k] for r in results) for k in keys}
    med["load+forward+gradient"] = statistics.median(r["load"] + r["forward"] + r["gradient"] for r in results)
    return {"model": os.path.basename(path.rstrip("/")), "dir": path, "runs": runs, "threads": threads,
            "score": results[0]["score"], "median": {k: round(v, 3) for k, v in med.items()},
            "forward_max_abs_diff_vs_golden": max(r.get("forward_max_abs_diff_vs_golden", 0) for r in results),
            "each": [{k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()} for r in results]}


def run_measured(cmd):
    """Wall seconds and peak RSS (MB) of one fresh process."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit("%s failed:\n%s" % (" ".join(cmd), err[-2000:]))
    return wall, ru.ru_maxrss / 1024


def measure_go(binary, path, runs, image):
    import tempfile
    out = {}
    for what in ["inspect", "gradient"]:
        walls, rss = [], []
        for _ in range(runs):
            with tempfile.TemporaryDirectory() as tmp:
                if what == "inspect":
                    cmd = [binary, "inspect", path]
                else:
                    cmd = [binary, "explain", "-model", path, "-method", "gradient", "-out",
                           os.path.join(tmp, "out"), image]
                w, r = run_measured(cmd)
            walls.append(w)
            rss.append(r)
        out[what] = {"wall": round(statistics.median(walls), 3), "peak_rss_mb": round(statistics.median(rss), 1)}
    return out


def markdown_both(rows):
    out = ["| model | Python: process s | load+fwd+grad s | peak RSS MB | Go inspect: s | MB | Go first gradient: s | MB "
           "| time ratio (process; without import) | RSS ratio |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|"]
    for r in rows:
        m, g = r["median"], r["go"]
        out.append("| %s | %.2f | %.2f | %.0f | %.2f | %.0f | %.2f | %.0f | %.2f; %.2f | %.2f |" % (
            r["model"], m["process_wall"], m["load+forward+gradient"], m["peak_rss_mb"],
            g["inspect"]["wall"], g["inspect"]["peak_rss_mb"], g["gradient"]["wall"], g["gradient"]["peak_rss_mb"],
            g["gradient"]["wall"] / m["process_wall"], g["gradient"]["wall"] / m["load+forward+gradient"],
            max(g["gradient"]["peak_rss_mb"], g["inspect"]["peak_rss_mb"]) / m["peak_rss_mb"]))
    out.append("")
    out.append("Medians of %d fresh processes per cell; Python with %d TensorFlow threads. The ratios are Go's first "
               "gradient (whole process) over Python's process, and over Python's load + first forward + first "
               "gradient without `import tensorflow`; the RSS ratio takes the larger of Go's two." % (
                   rows[0]["runs"], rows[0]["threads"]))
    return "\n".join(out)


def markdown(rows):
    out = ["| model | load s | first forward s | first gradient s | load+fwd+grad s | 2nd forward s | "
           "2nd gradient s | import tf s | process wall s | peak RSS MB |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        m = r["median"]
        out.append("| %s | %.2f | %.3f | %.3f | %.2f | %.3f | %.3f | %.2f | %.2f | %.0f |" % (
            r["model"], m["load"], m["forward"], m["gradient"], m["load+forward+gradient"], m["forward2"],
            m["gradient2"], m["import"], m["process_wall"], m["peak_rss_mb"]))
    out.append("")
    out.append("Median of %d fresh processes each, %d TensorFlow threads; the gradient is of %s." % (
        rows[0]["runs"], rows[0]["threads"], rows[0]["score"]))
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--markdown", action="store_true", help="also print a Markdown table of the medians")
    ap.add_argument("--go", metavar="BIN", help="also measure the Go toolkit's binary (bin/saliency)")
    ap.add_argument("--image", default=os.path.join(HERE, "samples", "fmnist_0000_ankle-boot.png"),
                    help="the image Go explains")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.models[0], args.threads)
        return
    rows = []
    for m in args.models:
        path = resolve(m)
        r = measure(path, args.runs, args.threads)
        if args.go:
            r["go"] = measure_go(os.path.abspath(args.go), path, args.runs, args.image)
        print(json.dumps(r), flush=True)
        rows.append(r)
    if args.markdown:
        print()
        print(markdown_both(rows) if args.go else markdown(rows))


if __name__ == "__main__":
    main()
