#!/usr/bin/env python3
"""Issue 23's speed acceptance: the toolkit on a ResNet18 converted from PyTorch against Captum on the original
module, same CPU, threads and inputs, batch 1 and 16: the plain gradient, integrated gradients with 50 steps and
Grad-CAM at layer4 (and the forward pass alone, for reference).

    scripts/import/.venv/bin/python bench/import_speed.py [--batches 1,16] [--rounds 20] [--ig-rounds 1:20,16:10]
        [--threads 2] [--model-dir bench/out/import_resnet18] [--out bench/RESULTS.md]
        [--json bench/import_speed_results.json] [--tables-only]

`make bench-import` builds bin/bench-worker and runs it (opt-in: needs `make import-venv`); about 22 minutes on
2 cores (measured 2026-12-07: batch 1 2 minutes, batch 16 19, of which integrated gradients 17).

Model. torchvision's resnet18 with random weights (torch.manual_seed(0), batch-norm statistics randomised by
scripts/import/torch2tf.randomize_bn, seed 0), converted by `scripts/import_model.py --torchvision resnet18
--seed 0` into --model-dir (once; delete the folder to convert again); the torch side builds the same module the
same way (torch2tf.build_model), in eval mode, parameters frozen (requires_grad False: only input gradients are
asked for on either side).

Inputs. 16 real images, 224x224 RGB: the repository's three photographs and Fashion-MNIST sample
(torch2tf.SAMPLE_IMAGES), each whole, mirrored, and two crops, resized with PIL's bilinear filter; batch 1 is the
first. Both sides get the same float32 tensor in model units, x = (p/255 - mean)/std with ImageNet's mean and std
(the card's preprocessing): the toolkit NHWC (the SavedModel's input), torch the same values transposed to NCHW.

Sides, each its own process with 2 intra-op threads and 1 inter-op thread:

  toolkit  bin/bench-worker -model DIR -threads 2 (bench/worker/main.go): methods.New(method, options).Explain
           on the SavedModel, given each image's top class (given_classes, from an untimed forward pass)
  Captum   this script with --serve-torch: Captum 0.9.0 on the original module (torch.set_num_threads(2),
           torch.set_num_interop_threads(1), OMP_WAIT_POLICY=PASSIVE as bench/torch/lrp_bench.py explains),
           the top class from an untimed forward pass

Methods and options (the pairs scripts/import/parity_models.py checks equal):

  gradient              toolkit gradient (its raw map: the signed d logit / d x); Captum Saliency(abs=False)
  gradcam               toolkit gradcam, layer layer4 (its map: ReLU(sum_k alpha_k A^k) resized to 224x224
                        bilinearly, unscaled); Captum LayerGradCam(model, model.layer4, relu_attributions=True)
                        then LayerAttribution.interpolate(..., (224, 224), "bilinear")
  integrated-gradients  toolkit integrated-gradients steps 50, rule riemann-right, baseline_file the black image
                        in model units; Captum IntegratedGradients n_steps=50, method="riemann_right", the same
                        black baseline, internal_batch_size=50 (--ig-internal-batch: one image's 50 steps a pass;
                        without it Captum puts all 16 x 50 rows of batch 16 through one pass, tens of GB here)
  forward               (reference) the logits alone: bench-worker's forward; model(x) under torch.no_grad()

Timing. Each side answers once untimed per (batch, method) (warm-up; its map is saved and compared), then
--rounds rounds (--ig-rounds for integrated gradients): in each, every method, in an order rotated from round to
round, the toolkit and Captum alternating which goes first. Rows give each side's median with its interquartile
range, the ratio of the medians and the median and interquartile range of the per-round ratios (the toolkit's
call over Captum's beside it). Peak RSS: each process's VmHWM, reset before each request (the loaded model and
libraries included on both sides).

Parity. The warm-up maps are compared per image (Pearson): the toolkit's raw map (NHWC) with Captum's
attribution transposed to NHWC for gradient and IG, the [N, 224, 224] maps for Grad-CAM. Below --min-pearson
(0.999) on any image the script stops before timing: the sides would not compute the same thing.

It writes --json and the section "Converted from PyTorch (issue 23)" of --out (bench/RESULTS.md), replacing that
section only (bench/compare.py keeps it when it rewrites its tables).
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads (the --serve-torch process)

try:
    import numpy as np  # noqa: E402
except ImportError:
    sys.exit("import_speed: no numpy here: run it in the converter venv (make import-venv; "
             "scripts/import/.venv/bin/python bench/import_speed.py)")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
IMPORT = os.path.join(ROOT, "scripts", "import")
sys.path.insert(0, IMPORT)
sys.path.insert(0, HERE)
import protocol  # noqa: E402
from protocol import log, summary  # noqa: E402

OUT = os.path.join(HERE, "out")
SECTION = "## Converted from PyTorch (issue 23): the toolkit on the converted ResNet18 against Captum on the original"
METHODS = ["forward", "gradient", "gradcam", "integrated-gradients"]
STEPS = 50
LAYER = "layer4"
SIZE = 224


def fail(msg):
    sys.exit("import_speed: " + msg)


# ---- the torch side (--serve-torch) --------------------------------------------------------------------------

def serve_torch(args):
    """bench/protocol.py's peer end, bench/worker/main.go's requests: {"method", "inputs", "reps", "warmup",
    "options", "save"} -> {"ok", "times", "rss_peak_bytes", "map_shape", "classes"}."""
    proto = protocol.take_stdout()
    import warnings
    warnings.filterwarnings("ignore", message=".*backward hook.*")
    import torch
    import torch2tf
    from captum.attr import IntegratedGradients, LayerAttribution, LayerGradCam, Saliency
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    t0 = time.perf_counter()
    model, size = torch2tf.build_model("resnet18", seed=0)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    proto.write(json.dumps({"ready": True, "tool": "captum", "load_seconds": time.perf_counter() - t0,
                            "torch": torch.__version__, "threads": torch.get_num_threads(),
                            "interop_threads": torch.get_num_interop_threads()}) + "\n")

    def prepare(req):
        method, o = req["method"], req.get("options") or {}
        x = torch.from_numpy(np.ascontiguousarray(np.load(req["inputs"]).transpose(0, 3, 1, 2)))
        with torch.no_grad():
            cls = model(x).argmax(1)
        if method == "forward":
            def run():
                with torch.no_grad():
                    return model(x)
        elif method == "gradient":
            sal = Saliency(model)

            def run():
                return sal.attribute(x, target=cls, abs=False).detach()
        elif method == "gradcam":
            gc = LayerGradCam(model, model.get_submodule(o.get("layer", LAYER)))

            def run():
                a = gc.attribute(x, target=cls, relu_attributions=True)
                return LayerAttribution.interpolate(a, tuple(x.shape[2:]), "bilinear")[:, 0].detach()
        elif method == "integrated-gradients":
            ig = IntegratedGradients(model)
            black = torch.from_numpy(np.ascontiguousarray(
                np.broadcast_to(np.load(o["baseline"]).transpose(2, 0, 1)[None], x.shape)))
            steps, ib = int(o.get("steps", STEPS)), o.get("internal_batch_size")

            def run():
                return ig.attribute(x, baselines=black, target=cls, n_steps=steps, method="riemann_right",
                                    internal_batch_size=ib).detach()
        else:
            raise ValueError("unknown method %r" % method)

        def finish(out):
            arr = out.numpy()
            return arr.transpose(0, 2, 3, 1) if arr.ndim == 4 and method != "forward" else arr  # the toolkit's NHWC
        return protocol.Prepared(run, finish, extra={"classes": cls.tolist()})
    protocol.serve(proto, prepare)
    return 0


# ---- the driver ----------------------------------------------------------------------------------------------

def Worker(tool, cmd, env=None):
    """A side (protocol.Worker, strict: an error answer raises), its stderr in bench/out/import_speed_TOOL.log."""
    return protocol.Worker(tool, cmd, os.path.join(OUT, "import_speed_%s.log" % tool), env=env, strict=True)


def convert(model_dir):
    """scripts/import_model.py --torchvision resnet18 --seed 0 into model_dir, unless it holds a card."""
    if os.path.isfile(os.path.join(model_dir, "card.yaml")):
        return None
    cmd = [sys.executable, os.path.join(ROOT, "scripts", "import_model.py"), "--torchvision", "resnet18",
           "--seed", "0", "--size", str(SIZE), "--force", model_dir]
    log("converting: " + " ".join(os.path.relpath(c, ROOT) if c.startswith(ROOT) else c for c in cmd))
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        fail("scripts/import_model.py failed: %s" % (p.stderr.strip()[-500:] or p.stdout.strip()[-500:]))
    return time.perf_counter() - t0


def images():
    """16 uint8 [224, 224, 3] images: each sample image whole, mirrored, a centre crop (80 %) and a top-left crop
    (65 %), resized bilinearly."""
    from PIL import Image
    import torch2tf
    out = []
    for p in torch2tf.SAMPLE_IMAGES:
        with Image.open(os.path.join(ROOT, p)) as im:
            im = im.convert("RGB")
            w, h = im.size
            c = (int(w * 0.1), int(h * 0.1), int(w * 0.9), int(h * 0.9))
            variants = [im, im.transpose(Image.FLIP_LEFT_RIGHT), im.crop(c), im.crop((0, 0, int(w * .65), int(h * .65)))]
            for v in variants:
                out.append(np.asarray(v.resize((SIZE, SIZE), Image.BILINEAR), dtype=np.uint8))
    return np.stack(out)


def inputs(batches):
    """The .npy inputs (NHWC float32, model units) per batch, and the black baseline [224, 224, 3]."""
    import torch2tf
    os.makedirs(OUT, exist_ok=True)
    x = np.ascontiguousarray(torch2tf.normalize(images()).transpose(0, 2, 3, 1))  # NCHW -> NHWC
    paths = {}
    for b in batches:
        if b > len(x):
            fail("--batches: at most %d images" % len(x))
        paths[b] = os.path.join(OUT, "import_speed_b%d.npy" % b)
        np.save(paths[b], x[:b])
    black = os.path.join(OUT, "import_speed_black.npy")
    np.save(black, np.ascontiguousarray(
        torch2tf.normalize(np.zeros((1, SIZE, SIZE, 3), np.uint8)).transpose(0, 2, 3, 1)[0]))
    return paths, black


def requests(method, black, ig_internal):
    """(toolkit request, Captum request) without inputs."""
    if method == "forward":
        return {"method": "forward"}, {"method": "forward"}
    if method == "gradient":
        return {"method": "gradient", "options": {}}, {"method": "gradient"}
    if method == "gradcam":
        return ({"method": "gradcam", "options": {"layer": LAYER}, "save_map": True},
                {"method": "gradcam", "options": {"layer": LAYER}})
    return ({"method": "integrated-gradients",
             "options": {"steps": STEPS, "rule": "riemann-right", "baseline_file": black}},
            {"method": "integrated-gradients",
             "options": {"steps": STEPS, "baseline": black, "internal_batch_size": ig_internal}})


def pearsons(a, b, n):
    a = np.asarray(a, np.float64).reshape(n, -1)
    b = np.asarray(b, np.float64).reshape(n, -1)
    if a.shape != b.shape:
        fail("maps of different shapes: %s and %s" % (a.shape, b.shape))
    out = []
    for u, v in zip(a, b):
        u, v = u - u.mean(), v - v.mean()
        d = np.sqrt((u * u).sum() * (v * v).sum())
        out.append(float((u * v).sum() / d) if d > 0 else float("nan"))
    return out


def run_batch(batch, path, black, rounds, ig_rounds, workers, args):
    go, cap = workers["toolkit"], workers["captum"]
    n = batch
    rows = {}
    load0 = os.getloadavg()
    t_cfg = time.time()
    for j, method in enumerate(METHODS):
        greq, preq = requests(method, black, args.ig_internal_batch)
        gsave = os.path.join(OUT, "import_speed_go_%s_b%d.npy" % (method, batch))
        psave = os.path.join(OUT, "import_speed_captum_%s_b%d.npy" % (method, batch))
        sides = [("toolkit", go, dict(greq, inputs=path, reps=1, given_classes=True,
                                      save=gsave if method != "forward" else "")),
                 ("captum", cap, dict(preq, inputs=path, reps=1, save=psave if method != "forward" else ""))]
        if j % 2:
            sides.reverse()
        warm, ans = {}, {}
        for side, w, req in sides:
            t0 = time.time()
            ans[side] = w.ask(req)  # warm-up and one timed call
            warm[side] = time.time() - t0
        r = {"method": method, "toolkit_request": greq, "captum_request": preq,
             "warmup_seconds": warm, "times": {"toolkit": [], "captum": []}, "ratios": [],
             "rss": {"toolkit": [ans["toolkit"]["rss_peak_bytes"]], "captum": [ans["captum"]["rss_peak_bytes"]]},
             "session_runs": ans["toolkit"].get("session_runs"),
             "info": {k: float(np.mean(v)) for k, v in (ans["toolkit"].get("info") or {}).items()},
             "rounds": ig_rounds if method == "integrated-gradients" else rounds}
        if method != "forward":
            r["pearson"] = pearsons(np.load(gsave), np.load(psave), n)
            worst = min(r["pearson"])
            if not worst >= args.min_pearson:
                fail("batch %d, %s: the maps differ (Pearson %.6f < %g on image %d); nothing timed" % (
                    batch, method, worst, args.min_pearson, int(np.argmin(r["pearson"]))))
        log("  b%d %s: warm-up toolkit %.2f s, captum %.2f s; Pearson min %s; session runs %s" % (
            batch, method, warm["toolkit"], warm["captum"],
            "%.7f" % min(r["pearson"]) if "pearson" in r else "—", r["session_runs"]))
        rows[method] = r
    for k in range(max(r["rounds"] for r in rows.values())):
        order = [m for m in METHODS if rows[m]["rounds"] > k]
        shift = k % len(order)
        order = order[shift:] + order[:shift]
        for j, method in enumerate(order):
            r = rows[method]
            sides = [("toolkit", go, dict(r["toolkit_request"], given_classes=True)),
                     ("captum", cap, dict(r["captum_request"]))]
            if (k + j) % 2:
                sides.reverse()
            got = {}
            for side, w, req in sides:
                a = w.ask(dict(req, inputs=path, reps=1, warmup=False))
                got[side] = a["times"][0]
                r["times"][side].append(a["times"][0])
                r["rss"][side].append(a.get("rss_peak_bytes") or 0)
            r["ratios"].append(got["toolkit"] / got["captum"])
        log("  b%d round %d done (%.0f s, load %s)" % (batch, k + 1, time.time() - t_cfg,
                                                       " ".join("%.1f" % v for v in os.getloadavg())))
    out = []
    for method in METHODS:
        r = rows[method]
        r["time"] = {s: summary(v) for s, v in r["times"].items()}
        r["ratio"] = summary(r["ratios"])
        r["ratio_of_medians"] = r["time"]["toolkit"]["median"] / r["time"]["captum"]["median"]
        r["rss_peak"] = {s: max(v) for s, v in r["rss"].items()}
        out.append(r)
    return {"batch": batch, "inputs": os.path.relpath(path, ROOT), "load_before": load0,
            "load_after": os.getloadavg(), "wall_seconds": time.time() - t_cfg, "rows": out}


def machine():
    import compare
    m = compare.machine()
    m["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    import glob
    tf = sorted(glob.glob(os.path.join(ROOT, ".venv", "lib", "python3*", "site-packages", "tensorflow*-*.dist-info")))
    tf = [os.path.basename(d) for d in tf if "io_gcs" not in d]
    m["toolkit_tensorflow"] = tf[0][:-len(".dist-info")].split("-")[-1] if tf else "?"
    try:
        import importlib.metadata as md
        m["captum"] = md.version("captum")
        m["torch"] = md.version("torch")
    except Exception:
        pass
    m["platform"] = platform.platform()
    return m


def fmt_t(s):
    return "%.1f ms" % (s * 1e3) if s < 1 else "%.2f s" % s


def fmt_iqr(t):
    return "%s (%s–%s)" % (fmt_t(t["median"]), fmt_t(t["q1"]), fmt_t(t["q3"]))


def section(res):
    m = res["machine"]
    lines = [SECTION, "",
             "Written by `bench/import_speed.py` (`make bench-import`) on %s: %s, %d cores, load average %s at the "
             "start. The toolkit (bin/bench-worker, TensorFlow %s) on torchvision's resnet18 converted by "
             "`scripts/import_model.py --torchvision resnet18 --seed 0` (random weights, batch-norm statistics "
             "randomised) against Captum %s with torch %s on the original module, same weights; each side its own "
             "process with %d intra-op threads and 1 inter-op thread (torch.set_num_threads(%d), "
             "set_num_interop_threads(1), OMP_WAIT_POLICY=%s; bench-worker -threads %d). Inputs: 16 real "
             "224×224 RGB images (the repository's sample photographs, whole, mirrored and cropped), the same "
             "float32 tensor in model units on both sides (NHWC for the SavedModel, NCHW for torch); batch 1 is "
             "the first. Both sides are given each image's top class (untimed forward pass)." % (
                 m["date"], m["cpu"], m["cores"], " ".join("%.1f" % v for v in res["load_start"]),
                 m.get("toolkit_tensorflow", "?"),
                 m.get("captum", "?"), m.get("torch", "?"), res["threads"], res["threads"],
                 res.get("omp_wait_policy", "PASSIVE"), res["threads"]),
             "",
             "Methods: *gradient* — the toolkit's gradient (raw map: the signed input gradient) against "
             "`Saliency(model).attribute(x, target, abs=False)`; *IG-50* — integrated-gradients `steps: 50, rule: "
             "riemann-right`, the black image as baseline, against `IntegratedGradients(model).attribute(x, "
             "baselines=black, target, n_steps=50, method=\"riemann_right\", internal_batch_size=%d)`; *Grad-CAM* "
             "— gradcam at `layer4` (the map resized to 224×224 bilinearly, unscaled) against "
             "`LayerGradCam(model, model.layer4).attribute(x, target, relu_attributions=True)` and "
             "`LayerAttribution.interpolate(…, (224, 224), \"bilinear\")`; *forward* (reference) — the logits "
             "alone. Rounds: after a warm-up call per side, in each round every method once per side, the order "
             "of methods rotated and who goes first alternating. Times: median (interquartile range) of the "
             "rounds; *ratio* toolkit / Captum: of the medians, and the median (IQR) of the per-round ratios. "
             "Peak RSS: each process's VmHWM over the method's calls (model and libraries included). Pearson: "
             "the smallest per-image correlation of the two sides' warm-up maps (checked ≥ %g before timing)." % (
                 res["ig_internal_batch"], res["min_pearson"]),
             "",
             "| batch | method | toolkit | Captum | ratio of medians | per-round ratio (IQR) | peak RSS MiB toolkit / "
             "Captum | Pearson (min) | toolkit runs / call | rounds |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    names = {"forward": "forward (reference)", "gradient": "gradient", "integrated-gradients": "IG-50",
             "gradcam": "Grad-CAM (layer4)"}
    for c in res["configs"]:
        for r in sorted(c["rows"], key=lambda r: ["gradient", "integrated-gradients", "gradcam",
                                                  "forward"].index(r["method"])):
            t, p, ra = r["time"]["toolkit"], r["time"]["captum"], r["ratio"]
            lines.append("| %d | %s | %s | %s | %.2f | %.2f (%.2f–%.2f) | %.0f / %.0f | %s | %s | %d |" % (
                c["batch"], names[r["method"]], fmt_iqr(t), fmt_iqr(p), r["ratio_of_medians"], ra["median"],
                ra["q1"], ra["q3"], r["rss_peak"]["toolkit"] / 2**20, r["rss_peak"]["captum"] / 2**20,
                "%.7f" % min(r["pearson"]) if "pearson" in r else "—",
                r.get("session_runs") if r.get("session_runs") is not None else "—", len(r["ratios"])))
    lines.append("")
    lines.append("Load average before and after each batch: %s." % "; ".join(
        "batch %d %s → %s (%.0f s)" % (c["batch"], " ".join("%.1f" % v for v in c["load_before"]),
                                        " ".join("%.1f" % v for v in c["load_after"]), c["wall_seconds"])
        for c in res["configs"]))
    for note in res.get("notes", []):
        lines += ["", note]
    return "\n".join(lines) + "\n"


def write_section(path, text):
    """Replace the section (from its heading to the next ## heading) in path, or append it."""
    old = open(path).read() if os.path.exists(path) else ""
    lines = old.splitlines(keepends=True)
    start = next((i for i, l in enumerate(lines) if l.rstrip("\n") == SECTION), None)
    if start is None:
        new = old.rstrip("\n") + "\n\n" + text if old else text
    else:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        new = "".join(lines[:start]) + text + ("\n" + "".join(lines[end:]) if end < len(lines) else "")
    with open(path, "w") as f:
        f.write(new)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batches", default="1,16")
    ap.add_argument("--rounds", type=int, default=20, help="rounds of forward, gradient and Grad-CAM (20)")
    ap.add_argument("--ig-rounds", default="1:20,16:10", metavar="BATCH:N,...",
                    help="rounds of integrated gradients per batch (1:20,16:10)")
    ap.add_argument("--ig-internal-batch", type=int, default=STEPS,
                    help="Captum's internal_batch_size for IG (%d: one image's steps a pass)" % STEPS)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--min-pearson", type=float, default=0.999)
    ap.add_argument("--model-dir", default=os.path.join(OUT, "import_resnet18"),
                    help="the converted SavedModel (converted here when it has no card.yaml)")
    ap.add_argument("--worker", default=os.path.join(ROOT, "bin", "bench-worker"))
    ap.add_argument("--out", default=os.path.join(HERE, "RESULTS.md"))
    ap.add_argument("--json", default=os.path.join(HERE, "import_speed_results.json"))
    ap.add_argument("--tables-only", action="store_true", help="rewrite --out's section from --json")
    ap.add_argument("--note", action="append", default=[], help="a paragraph to add below the table (repeatable)")
    ap.add_argument("--omp-wait-policy", default=os.environ.get("OMP_WAIT_POLICY", "PASSIVE"),
                    help="OMP_WAIT_POLICY of the torch process: PASSIVE (default: bench/torch/lrp_bench.py says why), "
                         "ACTIVE, or unset (GNU OpenMP's default: spin a while, then sleep)")
    ap.add_argument("--serve-torch", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve_torch:
        return serve_torch(args)
    if args.tables_only:
        if not os.path.exists(args.json):
            fail("%s: no such file (run without --tables-only first)" % args.json)
        res = json.load(open(args.json))
        if args.note:
            res["notes"] = args.note
            json.dump(res, open(args.json, "w"), indent=1)
        write_section(args.out, section(res))
        print("wrote the section of %s from %s" % (args.out, args.json))
        return 0
    try:
        batches = [int(b) for b in args.batches.split(",")]
        ig_rounds = {int(k): int(v) for k, v in (s.split(":") for s in args.ig_rounds.split(","))}
    except ValueError:
        fail("--batches wants N,N,... and --ig-rounds BATCH:N,...")
    if not os.access(args.worker, os.X_OK):
        fail("%s: not built (make bench-worker)" % args.worker)
    import importlib.util
    missing = [m for m in ("torch", "torchvision", "captum", "PIL") if importlib.util.find_spec(m) is None]
    if missing:
        fail("no %s here: run it in the converter venv (make import-venv; scripts/import/.venv/bin/python)"
             % ", ".join(missing))
    conv = convert(args.model_dir)
    paths, black = inputs(batches)
    res = {"machine": machine(), "threads": args.threads, "load_start": os.getloadavg(), "configs": [],
           "model_dir": os.path.relpath(args.model_dir, ROOT), "conversion_seconds": conv,
           "ig_internal_batch": args.ig_internal_batch, "min_pearson": args.min_pearson, "notes": args.note,
           "omp_wait_policy": args.omp_wait_policy}
    workers = {}
    try:
        workers["toolkit"] = Worker("toolkit", [args.worker, "-model", args.model_dir, "-threads", str(args.threads)],
                                    {"TF_CPP_MIN_LOG_LEVEL": "2"})
        workers["captum"] = Worker("captum", [sys.executable, os.path.abspath(__file__), "--serve-torch",
                                              "--threads", str(args.threads)],
                                   {"OMP_WAIT_POLICY": None if args.omp_wait_policy == "unset"
                                    else args.omp_wait_policy})
        res["torch_threads"] = [workers["captum"].ready.get("threads"), workers["captum"].ready.get("interop_threads")]
        for b in batches:
            log("batch %d (load %s)" % (b, " ".join("%.1f" % v for v in os.getloadavg())))
            res["configs"].append(run_batch(b, paths[b], black, args.rounds, ig_rounds.get(b, 8), workers, args))
            json.dump(res, open(args.json, "w"), indent=1)
    except RuntimeError as e:  # a side did not start, died or answered an error
        fail(str(e))
    finally:
        for w in workers.values():
            w.close()
    res["load_end"] = os.getloadavg()
    json.dump(res, open(args.json, "w"), indent=1)
    write_section(args.out, section(res))
    print(section(res))
    print("wrote %s and the section of %s" % (args.json, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
