#!/usr/bin/env python3
"""Check scripts/import_model.py end to end against torch (issue 23, item D): `make import-check`.

Run in the converter venv (`make import-venv`) after `make build`:

    scripts/import/.venv/bin/python scripts/import/check_models.py [--models resnet18,...] [--work DIR]

For each model (random weights, torch.manual_seed(0), batch norms with random statistics): torchvision's
resnet18, mobilenet_v3_small and efficientnet_b0, SmallViT (torchvision's VisionTransformer at 64x64, patch 16,
4 layers, width 128: vit_b_16 is 330 MB of weights) and SmallCNN (testmodels.py), it

1. saves the weights and converts them with scripts/import_model.py (a separate process, timed): the script's
   own check of the logits on 4 images must pass;
2. writes the 4 sample images at the input size as PNGs, so the toolkit reads exactly the pixels torch gets;
3. runs `bin/saliency explain -method gradient` on them: the predicted class and its logit (index.json) and
   the raw signed gradient d logit / d x in model units ([H, W, C], `_raw.npy`);
4. computes torch.autograd's gradient of the same logit with respect to the pixels (0..255, through the card's
   preprocessing x = (p*scale - mean) / std and the NHWC -> NCHW transpose) and compares it with the toolkit's
   mapped to pixels (d logit / d p = d logit / d x * scale / std).

It prints a table: conversion time, logit difference (the toolkit's score against torch's logit of the same
class: max abs, relative to the largest |logit|), gradient difference (max abs relative to the largest |torch
gradient| per image, worst image; and ||diff|| / ||torch|| over all images) and whether the toolkit predicts
torch's class, and inspect's default CAM layer (layers carry the torch module names: a ResNet's must be layer4).
Then it converts testmodels.SmallCNNHead with a softmax, sigmoid and log_softmax at the end by both converters
(check_output_kinds: the card's output.kind must be the head's) and testmodels.PositiveCNN, whose ReLU changes
nothing on the check images (check_probe_names: the name must go to the ReLU); and (unless --no-onnx-check,
--no-weights-check) it checks the module names read from ONNX node names against torch's own forward hooks
(check_scope_names), checks that an ONNX file with an NHWC or a uint8 input is refused by name
(check_onnx_refusals), converts resnet18 exported to ONNX with batch norms folded and kept, and as TorchScript (the
layers must carry the module paths from the ONNX node names, none a folded convolution's) and runs
--torchvision-weights IMAGENET1K_V1 against an empty and a filled torch hub cache (check_onnx_names,
check_torchvision_weights).
It fails (exit 1) when a conversion fails, a class differs, a ResNet's CAM layer is not layer4, the logits differ by more than 1e-4
relative or the gradient by more than --grad-tolerance (1e-3 of the largest |gradient|: on random-weight
networks float32 rounding alone moves the gradient by up to 6e-2 of it where a ReLU input is near zero,
torch float32 against float64 on resnet18; the L2 relative difference is the stricter figure, checked to 1e-4).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import torch2tf  # noqa: E402

REPO = torch2tf.REPO
IMPORT_MODEL = [sys.executable, os.path.join(REPO, "scripts", "import_model.py")]


def import_model(args, **kwargs):
    """scripts/import_model.py with args, in a process of its own: the CompletedProcess, its output captured."""
    return subprocess.run(IMPORT_MODEL + list(args), capture_output=True, text=True, **kwargs)


def probe_png(work, name, size):
    """The first sample image at size x size, written as work/name (a PNG both sides read): its path."""
    from PIL import Image
    path = os.path.join(work, name)
    Image.fromarray(torch2tf.load_pixels(torch2tf.SAMPLE_IMAGES[:1], size)[0]).save(path)
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default=",".join(torch2tf.MODELS))
    ap.add_argument("--work", default=os.path.join(REPO, "scripts", "import", "out"))
    ap.add_argument("--saliency", default=os.path.join(REPO, "bin", "saliency"))
    ap.add_argument("--grad-tolerance", type=float, default=1e-3)
    ap.add_argument("--l2-tolerance", type=float, default=1e-4)
    ap.add_argument("--no-onnx-check", action="store_true",
                    help="skip the ONNX file check (resnet18 exported to ONNX and converted: module names)")
    ap.add_argument("--no-weights-check", action="store_true",
                    help="skip the --torchvision-weights check (a resnet18 converted twice)")
    args = ap.parse_args()
    if not os.access(args.saliency, os.X_OK):
        sys.exit("check_models: %s: not built (make build)" % args.saliency)

    import numpy as np
    import torch
    from PIL import Image

    os.makedirs(args.work, exist_ok=True)
    rows, bad = [], []
    for name in args.models.split(","):
        if name not in torch2tf.MODELS + torch2tf.EXTRA_MODELS:
            sys.exit("check_models: unknown model %r (want %s)" % (name, ", ".join(torch2tf.MODELS + torch2tf.EXTRA_MODELS)))
        model, size = torch2tf.build_model(name)
        weights = os.path.join(args.work, name + ".pt")
        torch.save(model.state_dict(), weights)
        out = os.path.join(args.work, name)
        src = torch2tf.test_model_source(name)
        cmd = ["--torchvision", src[1]] if src[0] == "torchvision" else ["--torch", src[1], "--class", src[2]]
        cmd += ["--weights", weights, "--size", str(size), "--force", out]
        t0 = time.perf_counter()
        p = import_model(cmd)
        seconds = time.perf_counter() - t0
        if p.returncode != 0:
            msg = [l for l in p.stderr.splitlines() if l.startswith("import_model")] or p.stderr.splitlines()[-1:]
            rows.append({"model": name, "error": " ".join(msg)})
            bad.append(name)
            print(json.dumps(rows[-1]), flush=True)
            continue
        converter = "nobuco" if " by nobuco " in p.stdout else "onnx2tf"
        # The layers by torch module name: inspect's default CAM layer (a torchvision ResNet's must be layer4).
        ins = subprocess.run([args.saliency, "inspect", out], capture_output=True, text=True)
        cam = [l.split()[2] for l in ins.stdout.splitlines() if l.strip().startswith("CAM layer")]
        cam = cam[0] if cam else "none (%s)" % ins.stderr.strip()[-200:]

        # The images at the input size, as PNG: both sides read these pixels.
        pixels = torch2tf.load_pixels(torch2tf.SAMPLE_IMAGES, size)
        img_dir = os.path.join(args.work, "images_%d" % size)
        os.makedirs(img_dir, exist_ok=True)
        pngs = []
        for i, path in enumerate(torch2tf.SAMPLE_IMAGES):
            png = os.path.join(img_dir, os.path.splitext(os.path.basename(path))[0] + ".png")
            Image.fromarray(pixels[i]).save(png)
            pngs.append(png)
        ex = os.path.join(args.work, name + "_explain")
        q = subprocess.run([args.saliency, "explain", "-model", out, "-out", ex, "-method", "gradient"] + pngs,
                           capture_output=True, text=True)
        if q.returncode != 0:
            rows.append({"model": name, "error": "saliency explain: " + q.stderr.strip()[-300:]})
            bad.append(name)
            print(json.dumps(rows[-1]), flush=True)
            continue
        index = json.load(open(os.path.join(ex, "index.json")))
        maps = {os.path.basename(m["image"]): m for m in index["maps"] if m["method"] == "gradient"}
        classes = [maps[os.path.basename(p)]["class"] for p in pngs]
        scores = np.array([maps[os.path.basename(p)]["score"] for p in pngs])
        raw = np.stack([np.load(os.path.join(ex, maps[os.path.basename(p)]["raw"])) for p in pngs])  # [N,H,W,C]

        # torch: d logit / d pixel through the preprocessing and the layout.
        scale = np.float32(1 / 255.0)
        mean = torch.tensor(torch2tf.IMAGENET_MEAN)
        std = torch.tensor(torch2tf.IMAGENET_STD)
        pt = torch.from_numpy(pixels.astype(np.float32)).requires_grad_(True)
        x = ((pt * scale - mean) / std).permute(0, 3, 1, 2)
        logits = model(x)
        want_logits = logits.detach().numpy()
        logits[torch.arange(len(classes)), torch.tensor(classes)].sum().backward()
        g_torch = pt.grad.numpy()
        g_kit = raw * (scale / std.numpy())

        top = float(np.abs(want_logits).max())
        logit_abs = float(np.abs(scores - want_logits[np.arange(len(classes)), classes]).max())
        per_image = [float(np.abs(g_kit[i] - g_torch[i]).max() / np.abs(g_torch[i]).max())
                     for i in range(len(pngs))]
        # float64: a random-weight EfficientNet's gradients are ~1e-20, whose squares underflow float32.
        l2 = float(np.linalg.norm((g_kit - g_torch).astype(np.float64)) / np.linalg.norm(g_torch.astype(np.float64)))
        same_class = bool((want_logits.argmax(1) == np.array(classes)).all())
        row = {"model": name, "converter": converter, "seconds": round(seconds, 1), "input": size,
               "logit_abs": logit_abs, "logit_rel": logit_abs / top, "grad_max_rel": max(per_image),
               "grad_l2_rel": l2, "grad_max_abs": float(np.abs(g_torch).max()), "same_class": same_class,
               "cam_layer": cam}
        rows.append(row)
        print(json.dumps(row), flush=True)
        if (not same_class or row["logit_rel"] > 1e-4 or row["grad_max_rel"] > args.grad_tolerance
                or l2 > args.l2_tolerance or (name.startswith("resnet") and cam != "layer4")):
            bad.append(name)

    print("\n| model | converter | input | conversion s | logit max abs | logit rel | gradient max rel (worst "
          "image) | gradient L2 rel | class | CAM layer |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        if "error" in r:
            print("| %s | failed: %s | | | | | | | | |" % (r["model"], r["error"][:300]))
            continue
        print("| %s | %s | %d | %.1f | %.2g | %.2g | %.2g | %.2g | %s | %s |" % (
            r["model"], r["converter"], r["input"], r["seconds"], r["logit_abs"], r["logit_rel"],
            r["grad_max_rel"], r["grad_l2_rel"], "same" if r["same_class"] else "DIFFERENT", r["cam_layer"]))
    problem = check_output_kinds(args.work, args.saliency)
    print("Output kinds: " + (problem or "a softmax, sigmoid, log_softmax, log-of-softmax, percent softmax and "
                                         "log-of-clamped-softmax head and one logit give the card's output.kind "
                                         "probabilities, sigmoid and log-probabilities, by both converters; a softmax "
                                         "over a 1x1 map, flattened, probabilities by nobuco"))
    if problem:
        bad.append("output kinds")
    problem = check_probe_names(args.work, args.saliency)
    print("Probe names: " + (problem or "a ReLU whose input is positive on the check images is named at the "
                                        "ReLU, by both converters"))
    if problem:
        bad.append("probe names")
    if not args.no_onnx_check:
        scopes, problem = check_scope_names()
        print("\n| ONNX export | module calls named | torch's calls | left out (folded) |\n| --- | --- | --- | --- |")
        for case, named, calls, left in scopes:
            print("| %s | %d | %d | %d |" % (case, named, calls, left))
        print("ONNX scope names: " + (problem or "every name is a module call whose output torch computes"))
        if problem:
            bad.append("ONNX scope names")
        problem = check_onnx_refusals(args.work)
        print("ONNX refusals: " + (problem or "an NHWC, a uint8 and an unnormalised one-channel input refused by name, "
                                             "nothing written; one channel with its --mean/--std converted"))
        if problem:
            bad.append("ONNX refusals")
        problem, seconds = check_onnx_names(args.work, args.saliency)
        print("ONNX file: " + (problem or "resnet18 exported by torch.onnx and converted by onnx2tf in %.1f s: "
                                          "inspect lists the module paths, the default CAM layer is layer4; no "
                                          "layer named after a convolution with a batch norm folded in" % seconds))
        if problem:
            bad.append("--onnx names")
    if not args.no_weights_check:
        problem = check_torchvision_weights(args.work)
        print("torchvision weights: " + (problem or "classes, input size and mean/std from the weights' "
                                         "metadata; refused without a state dict, naming the hub cache path"))
        if problem:
            bad.append("--torchvision-weights")
    if bad:
        sys.exit("check_models: failed: " + ", ".join(bad))
    print("check_models: %d models: conversion, logits and input gradients agree with torch" % len(rows))


def check_onnx_names(work, saliency):
    """import_model.py --onnx on torchvision's resnet18 (random weights) exported by torch.onnx.export twice:
    as torch.onnx.export's default writes it (TrainingMode.EVAL: each batch norm folded into the convolution
    before it) and as import_model.py exports a module (TrainingMode.PRESERVE: batch norms kept). The layers
    carry the torch module paths from the ONNX node names (inspect lists layer4.1.add, layer1.0.relu_1, the
    exporter's scope for the second call of layer1.0.relu, and fc; the default CAM layer is layer4, and -layer
    takes one). In the folded file no layer is named after a convolution module (layer4.1.conv2, conv1: their
    output is the batch norm's) or a container that ends in one (layer2.0.downsample), a note says which, the
    card's unnamed_layers lists them with the reason and -layer layer4.1.conv2 is refused with it; in the kept one
    layer4.1.conv2, layer4.1.bn2 and the downsample's names are there. Then the same module as a TorchScript file
    (torch.jit.script), through --torchscript: the names of the kept file, with the second call named
    layer1.0.relu-2. Returns (what is wrong or None, the conversion's seconds of the folded file)."""
    model, size = torch2tf.build_model("resnet18")
    png = probe_png(work, "onnx_probe.png", size)
    seconds = None
    for kind in ("folded", "kept", "torchscript"):
        fold = kind == "folded"
        if kind == "torchscript":
            # Scripted in a process of its own: torch.jit.script reuses a class's compiled graph within a process,
            # and after an ONNX export of it (check_scope_names) that graph has lost its module scopes.
            path = os.path.join(work, "resnet18_script.pt")  # resnet18.pt is the state dict parity_models reads
            script = ("import torch, torch2tf; m, _ = torch2tf.build_model('resnet18'); "
                      "torch.jit.save(torch.jit.script(m), %r)" % path)
            q = subprocess.run([sys.executable, "-c", script], cwd=HERE, capture_output=True, text=True)
            if q.returncode != 0:
                return "torch.jit.script of resnet18: %s" % q.stderr[-300:], seconds
            src = ["--torchscript", path, "--size", str(size)]
        else:
            path = os.path.join(work, "resnet18_%s.onnx" % kind)
            torch2tf.export_onnx(model, size, path, fold_batchnorm=fold)
            src = ["--onnx", path]
        out = os.path.join(work, "resnet18_onnx_%s" % kind)
        t0 = time.perf_counter()
        p = import_model(src + ["--force", out])
        if fold:
            seconds = time.perf_counter() - t0
        if p.returncode != 0:
            return "import_model.py --onnx (%s batch norms): exit %d: %s" % (kind, p.returncode, p.stderr[-300:]), \
                seconds
        ins = subprocess.run([saliency, "inspect", out], capture_output=True, text=True)
        cam = [l.split()[2] for l in ins.stdout.splitlines() if l.strip().startswith("CAM layer")]
        names = layer_names(ins.stdout)
        # With the module at hand (TorchScript) a second call is named as on the torch route.
        want = ["layer4.1.add", "layer1.0.relu-2" if kind == "torchscript" else "layer1.0.relu_1", "fc", "layer4.1"]
        if not fold:
            want += ["layer4.1.conv2", "layer4.1.bn2", "layer2.0.downsample.0", "layer2.0.downsample", "conv1"]
        lost = [n for n in want if n not in names]
        if cam != ["layer4"] or lost:
            return "inspect (%s batch norms): CAM layer %s, module paths not listed: %s" % (kind, cam, lost), seconds
        if fold:
            wrong = [n for n in ("layer4.1.conv2", "conv1", "layer2.0.downsample.0", "layer2.0.downsample")
                     if n in names]
            if wrong or "batch norm was folded" not in p.stderr or "layer1.0.conv1" not in p.stderr:
                return "folded batch norms: named %s; stderr %r" % (wrong, p.stderr[-400:]), seconds
            # The card lists the names left out with the reason, which -layer gives.
            with open(os.path.join(out, "card.yaml")) as f:
                unnamed = {u["name"]: u["reason"] for u in yaml.safe_load(f).get("unnamed_layers", [])}
            absent = [n for n in ("layer4.1.conv2", "conv1", "layer2.0.downsample.0", "layer2.0.downsample")
                      if "batch norm was folded" not in unnamed.get(n, "")]
            if absent or set(unnamed) & names:
                return "folded batch norms: the card's unnamed_layers lack %s or name layers %s" % (
                    absent, sorted(set(unnamed) & names)), seconds
            q = subprocess.run([saliency, "explain", "-model", out, "-out", os.path.join(work, "onnx_refused"),
                                "-method", "gradcam", "-layer", "layer4.1.conv2", png], capture_output=True, text=True)
            if q.returncode == 0 or 'no layer is "layer4.1.conv2": a batch norm was folded' not in q.stderr:
                return "-layer layer4.1.conv2 of the folded file: exit %d, %r" % (q.returncode, q.stderr[-300:]), \
                    seconds
        q = subprocess.run([saliency, "explain", "-model", out, "-out", os.path.join(work, "resnet18_onnx_explain"),
                            "-method", "gradcam", "-layer", "layer3", png], capture_output=True, text=True)
        if q.returncode != 0:
            return "explain -layer layer3 (%s batch norms): %s" % (kind, q.stderr[-300:]), seconds
    return None, seconds


def layer_names(inspect_out):
    """The names of inspect's layer list (its "Layers" section: a name first on each line)."""
    lines = inspect_out.splitlines()
    start = next((i for i, l in enumerate(lines) if l.startswith("Layers")), len(lines))
    return {l.split()[0] for l in lines[start + 2:] if l.strip()}


def check_probe_names(work, saliency):
    """testmodels.PositiveCNN (an F.conv2d whose output is positive on the check images, then an nn.ReLU
    module) through both converters: the layer named relu must be the Relu op, not the convolution, whose output
    equals it on those images (the names are matched on them and on noise); and, converted without --weights, the
    script says so on stderr and in the card. Returns what is wrong, or None."""
    for conv in ("nobuco", "onnx2tf"):
        out = os.path.join(work, "positive_cnn_" + conv)
        p = import_model(["--torch", os.path.join(HERE, "testmodels.py"), "--class", "PositiveCNN", "--size", "64",
                          "--converter", conv, "--force", out])
        if p.returncode != 0:
            return "PositiveCNN by %s: exit %d: %s" % (conv, p.returncode, p.stderr[-300:])
        # No --weights: the constructor's (seeded) weights, said on stderr and in the card.
        if "no --weights" not in p.stderr or "no --weights" not in open(os.path.join(out, "card.yaml")).read():
            return "PositiveCNN by %s without --weights: not said (%r)" % (conv, p.stderr[-300:])
        ins = subprocess.run([saliency, "inspect", out], capture_output=True, text=True)
        rows = [l.split() for l in ins.stdout.splitlines() if l.strip().startswith("relu ")]
        if len(rows) != 1 or rows[0][-1] != "Relu":
            return "PositiveCNN by %s: the layer named relu is %s" % (conv, [" ".join(r) for r in rows])
    return None


def check_output_kinds(work, saliency):
    """testmodels.SmallCNNHead with a softmax, a sigmoid, a log_softmax, the log of a softmax, a softmax in percent,
    the log of a clamped softmax, one logit without a head and a softmax over the channels of a 1x1 map, flattened,
    at the end of forward() (random weights, torch.manual_seed(0)), through both converters (the last through nobuco
    only): the card's output.kind is probabilities, sigmoid, log-probabilities (twice), probabilities,
    log-probabilities, sigmoid (a binary classifier's logit) and probabilities, which
    saliency checks against the graph (it refuses a
    card whose kind is not the graph's); and explain -method gradient explains the logit behind the head: its raw
    map equals torch.autograd's gradient of SmallCNN's logit (forward() without the head) for the same class
    (for the binary logit, of pytorch-grad-cam's BinaryClassifierOutputTarget of the class: -z for class 0),
    within 1e-3 of its largest value. Returns what is wrong, or None."""
    import numpy as np
    import torch
    import testmodels
    png = probe_png(work, "head_probe.png", 64)
    pixels = torch2tf.load_pixels(torch2tf.SAMPLE_IMAGES[:1], 64)
    x = torch.from_numpy(torch2tf.normalize(pixels, 1 / 255.0, 0.0, torch2tf.IMAGENET_MEAN,
                                            torch2tf.IMAGENET_STD)).requires_grad_(True)  # NCHW, model units
    for head, kind in (("softmax", "probabilities"), ("sigmoid", "sigmoid"), ("log_softmax", "log-probabilities"),
                       ("log_of_softmax", "log-probabilities"), ("percent_softmax", "probabilities"),
                       ("log_of_clamped_softmax", "log-probabilities"), ("binary_logit", "sigmoid"),
                       ("softmax_1x1", "probabilities")):
        torch.manual_seed(0)
        model = testmodels.SmallCNNHead(head).eval()
        torch2tf.randomize_bn(model, 0)
        weights = os.path.join(work, "head_%s.pt" % head)
        torch.save(model.state_dict(), weights)
        # onnx2tf 1.29 converts the reshape to [N, K, 1, 1] with the batch folded in ([1, 40] for [4, 10]), which
        # import_model.py refuses by its logits check
        for conv in ("nobuco",) if head == "softmax_1x1" else ("nobuco", "onnx2tf"):
            out = os.path.join(work, "head_%s_%s" % (head, conv))
            p = import_model(["--torch", os.path.join(HERE, "testmodels.py"), "--class", "SmallCNNHead", "--kwargs",
                              json.dumps({"head": head}), "--weights", weights, "--size", "64", "--converter", conv,
                              "--force", out])
            case = "SmallCNNHead(%s) by %s" % (head, conv)
            if p.returncode != 0:
                return "%s: exit %d: %s" % (case, p.returncode, p.stderr[-300:])
            got = yaml.safe_load(open(os.path.join(out, "card.yaml")))["output"]["kind"]
            if got != kind:
                return "%s: output.kind %s, want %s" % (case, got, kind)
            ex = out + "_explain"
            q = subprocess.run([saliency, "explain", "-model", out, "-out", ex, "-method", "gradient", png],
                               capture_output=True, text=True)
            if q.returncode != 0:
                return "%s: explain -method gradient: %s" % (case, q.stderr[-300:])
            m = json.load(open(os.path.join(ex, "index.json")))["maps"][0]
            kit = np.load(os.path.join(ex, m["raw"]))  # d logit / d x, [H, W, C]
            x.grad = None
            logit, c = testmodels.SmallCNN.forward(model, x)[0], m["class"]
            if head == "binary_logit":
                # A binary classifier's one logit z: saliency's class 1 scores z, its class 0 -z, as
                # pytorch-grad-cam's target for the class does.
                from pytorch_grad_cam.utils.model_targets import BinaryClassifierOutputTarget
                score = BinaryClassifierOutputTarget(c)(logit[0])
            else:
                score = logit[c]
            score.backward()
            want = x.grad[0].numpy().transpose(1, 2, 0)
            diff = float(np.abs(kit.reshape(want.shape) - want).max() / np.abs(want).max())
            print("%s: output.kind %s; the gradient of the logit behind it within %.2g of torch's" % (
                case, got, diff), flush=True)
            if diff > 1e-3:
                return "%s: the gradient differs from torch's of the logit behind the %s by %.3g of its largest" % (
                    case, head, diff)
    return None


def check_onnx_refusals(work):
    """ONNX files import_model.py cannot convert as they are, refused by name before any conversion: an NHWC input
    (testmodels.SmallCNNInput("nhwc"), said to be channels last), a uint8 one (SmallCNNInput("uint8"), its
    dtype named) and a one-channel one (SmallCNNInput("gray")) without --grayscale, and with it but without its
    own --mean and --std (ImageNet's have three values); with them it converts. Returns what is wrong, or None."""
    import torch
    import testmodels
    for layout, shape, dtype, want in (("nhwc", (1, 64, 64, 3), torch.float32, "channels last (NHWC)"),
                                       ("uint8", (1, 3, 64, 64), torch.uint8, "is uint8"),
                                       ("gray", (1, 1, 64, 64), torch.float32, "add --grayscale"),
                                       ("gray", (1, 1, 64, 64), torch.float32, "ImageNet's, for three channels")):
        torch.manual_seed(0)
        path = os.path.join(work, "input_%s.onnx" % layout)
        torch.onnx.export(testmodels.SmallCNNInput(layout).eval(), (torch.zeros(shape, dtype=dtype),), path,
                          opset_version=17, dynamo=False, input_names=["images"], output_names=["logits"],
                          dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}})
        out = os.path.join(work, "input_%s" % layout)
        shutil.rmtree(out, ignore_errors=True)
        flags = ["--grayscale"] if want.startswith("ImageNet") else []
        p = import_model(["--onnx", path] + flags + [out])
        if p.returncode != 1 or want not in p.stderr or os.path.exists(out):
            return "an ONNX file with a %s input %s: exit %d, %r" % (layout, " ".join(flags), p.returncode,
                                                                   p.stderr[-300:])
    # One channel with --grayscale and its normalisation: converted.
    p = import_model(["--onnx", path, "--grayscale", "--mean", "0.2860", "--std", "0.3530", out])
    if p.returncode != 0:
        return "a one-channel ONNX file with --grayscale --mean --std: exit %d, %r" % (p.returncode, p.stderr[-300:])
    return None


def check_scope_names():
    """The module names onnx_scope_outputs reads from an ONNX file's node names, against torch itself: for
    resnet18, mobilenet_v3_small, efficientnet_b0, SmallCNN and SmallViT (random weights), exported as TorchScript
    (resnet18 and SmallCNN: torch.jit.script, which torch.onnx.export accepts once per module class in a process,
    so first) and as modules, with batch norms kept and folded (by the exporter; for resnet18 also the kept file
    folded by onnx-simplifier and by onnxoptimizer's fuse_bn_into_conv), every name given must be a module call whose
    output (a forward hook on the torch module, on the same random input) equals the value the name is given to
    (1e-4 of its largest value); with batch norms folded every folded convolution's name is left out; with them
    kept, at least 95% of an eager module's calls are named (but for the dropouts and identities, which the
    exporter writes no node for). Returns [(case, named, torch's calls, left out)]
    and what is wrong (or None)."""
    import numpy as np
    import torch
    import onnx
    import onnxoptimizer
    import onnxsim
    rows, problems = [], []
    cases = [("resnet18", "torchscript"), ("small_cnn", "torchscript")]
    cases += [(m, "module") for m in ("resnet18", "mobilenet_v3_small", "efficientnet_b0", "small_cnn", "small_vit")]
    with tempfile.TemporaryDirectory() as tmp:
        for name, kind in cases:
            model, size = torch2tf.build_model(name)
            modules = {n for n, _ in model.named_modules()}
            x = np.random.RandomState(0).randn(1, 3, size, size).astype(np.float32)
            outs = torch2tf.module_outputs(model, x)
            truth = {n: v for n, _, v in outs}
            # In eval mode these are the identity: the exporter writes no node for them.
            computed = [n for n, cls, _ in outs if cls not in ("Dropout", "Identity", "StochasticDepth")]
            folds = [False] if kind == "torchscript" else [False, True]
            if name == "resnet18" and kind == "module":
                folds += ["onnxsim", "onnxoptimizer"]  # the kept file with its batch norms folded by these tools
            for fold in folds:
                case = "%s %s, batch norms %s" % (name, kind, "folded by " + fold if isinstance(fold, str) else
                                                  "folded" if fold else "kept")
                path = os.path.join(tmp, "m.onnx")
                src = torch.jit.script(model) if kind == "torchscript" else model
                torch2tf.export_onnx(src, size, path, fold_batchnorm=fold is True)
                if fold == "onnxsim":
                    onnx.save(onnxsim.simplify(onnx.load(path))[0], path)
                elif fold == "onnxoptimizer":
                    onnx.save(onnxoptimizer.optimize(onnx.load(path), ["fuse_bn_into_conv"]), path)
                calls, funcs, withheld = torch2tf.onnx_scope_outputs(path, x, modules)
                wrong = [n for n, _, v in calls if n not in truth or not torch2tf._same(truth[n], v, 1e-4)]
                rows.append((case, len(calls), len(truth), len(withheld)))
                if wrong:
                    problems.append("%s: named but not torch's output: %s" % (case, ", ".join(wrong[:5])))
                if fold and name != "small_vit" and len(withheld) < (23 if name == "resnet18" else 1):
                    problems.append("%s: %d folded convolutions left out" % (case, len(withheld)))
                if not fold and kind == "module" and len(calls) < 0.95 * len(computed):
                    problems.append("%s: %d of torch's %d calls named" % (case, len(calls), len(computed)))
    return rows, ("; ".join(problems) or None)


def check_torchvision_weights(work):
    """import_model.py --torchvision resnet18 --torchvision-weights IMAGENET1K_V1 with an empty torch hub
    cache (refused, naming the checkpoint's path, no folder written), then with a state dict at that path (random
    weights: the metadata is what is checked): the card's classes are the weights' 1000 categories, its
    mean/std and input size those of their eval transform, and the crop it cannot express is said. A wrong
    weights name is refused with the names there are. Returns what is wrong, or None."""
    import torch
    import torchvision
    w = torchvision.models.ResNet18_Weights.IMAGENET1K_V1
    home = os.path.join(work, "torch_home")
    shutil.rmtree(home, ignore_errors=True)
    env = dict(os.environ, TORCH_HOME=home)
    out = os.path.join(work, "resnet18_weights")
    shutil.rmtree(out, ignore_errors=True)
    cmd = ["--torchvision", "resnet18", "--torchvision-weights", "IMAGENET1K_V1", out]

    p = import_model(cmd, env=env)
    ckpt = os.path.join(home, "hub", "checkpoints", os.path.basename(w.url))
    if p.returncode != 1 or ckpt not in p.stderr or os.path.exists(out):
        return "without a state dict: exit %d, stderr %r" % (p.returncode, p.stderr[-300:])
    q = import_model(cmd[:-3] + ["--torchvision-weights", "ResNet18_Weights.NO_SUCH", out], env=env)
    if q.returncode != 1 or "IMAGENET1K_V1" not in q.stderr or os.path.exists(out):
        return "a wrong name: exit %d, stderr %r" % (q.returncode, q.stderr[-300:])

    torch.manual_seed(3)
    model = torchvision.models.resnet18(weights=None)
    torch2tf.randomize_bn(model, 3)
    os.makedirs(os.path.dirname(ckpt), exist_ok=True)
    torch.save(model.state_dict(), ckpt)
    p = import_model(cmd, env=env)
    if p.returncode != 0:
        return "with the state dict in the hub cache: exit %d, stderr %r" % (p.returncode, p.stderr[-300:])
    card = yaml.safe_load(open(os.path.join(out, "card.yaml")))
    t = w.transforms()
    pre = card["preprocessing"]
    if card["classes"] != list(w.meta["categories"]):
        return "the card's classes are not the weights' categories: %s..." % card["classes"][:3]
    if pre.get("mean") != [float(v) for v in t.mean] or pre.get("std") != [float(v) for v in t.std]:
        return "the card's mean/std %s/%s, the weights' %s/%s" % (pre.get("mean"), pre.get("std"), t.mean, t.std)
    if card["input"]["shape"][1:3] != [t.crop_size[0]] * 2:
        return "the card's input %s, the weights' crop %s" % (card["input"]["shape"], t.crop_size)
    if "crops the centre" not in p.stderr or "crops the centre" not in card["description"]:
        return "the resize-and-crop of the weights' transform is not said: %r" % p.stderr[-300:]
    return None


if __name__ == "__main__":
    main()
