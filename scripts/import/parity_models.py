#!/usr/bin/env python3
"""Check the toolkit's maps of converted models against PyTorch peers run on the original modules (issue 23):
`make import-check` runs it after check_models.py, whose conversions (--work) it reads.

Run in the converter venv (`make import-venv`, which also installs Captum 0.9.0 and pytorch-grad-cam 1.5.7):

    scripts/import/.venv/bin/python scripts/import/parity_models.py [--models resnet18,...] [--work DIR]

For each model (the weights and SavedModel check_models.py wrote, the 4 sample images at the input size), the class
explained is the predicted one (torch's and the toolkit's agree, checked), and `bin/saliency explain` computes

- gradcam at the default CAM layer (inspect's "CAM layer": the torch module that ends there, e.g. layer4) against
  pytorch-grad-cam's GradCAM with that module as target layer and ClassifierOutputTarget(class). The toolkit's
  map (`.npy`) is ReLU(sum_k alpha_k A^k) at the layer's resolution resized to the input bilinearly as
  tf.image.resize does, unscaled: compared with ReLU of GradCAM.get_cam_image's output resized the same way
  ("gradcam"), and, min-max scaled per image, with pytorch-grad-cam's own output, which is min-max scaled and
  resized by cv2.resize INTER_LINEAR ("gradcam-upsampled");
- integrated-gradients, 50 steps, the right Riemann sum (rule riemann-right; Captum method "riemann_right"), the
  black image as baseline (in model units: (0 - mean) / std), against Captum's IntegratedGradients;
- gradient-x-input against Captum's InputXGradient;
- guided-backprop against Captum's GuidedBackprop (which overrides the backward pass of torch.nn.ReLU modules
  only: a torch.relu call in forward() or another activation keeps its gradient there, where the toolkit changes
  every ReLU op; in-place ReLU modules are made out-of-place first, the same function).

Input-space maps are the raw per-channel attributions in model units ([H, W, C] `_raw.npy`; Captum's NCHW
transposed). Figures: Pearson correlation per image (the smallest of the 4) and the largest absolute difference
relative to the peer's largest |value| (worst image). The check fails when a Pearson is below --pearson (0.9999)
for any of gradcam, integrated-gradients, gradient-x-input and guided-backprop.
Guided backprop on a module that calls torch.relu in forward() differs by definition (Captum changes only the
ReLU modules, the toolkit every ReLU): the row names that difference and measures it, comparing the toolkit's map
with torch.autograd's under a guided ReLU at every call, which must then reach the bound.
"""
import argparse
import json
import os
import subprocess
import sys
import warnings

# Captum says it sets hooks on the ReLU modules each time: the check knows.
warnings.filterwarnings("ignore", message="Setting backward hooks on ReLU activations")

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import torch2tf  # noqa: E402

REPO = torch2tf.REPO
METHODS = ["gradcam", "integrated-gradients", "gradient-x-input", "guided-backprop"]
STEPS = 50


def pearson(a, b):
    import numpy as np
    a = a.astype(np.float64).ravel() - a.astype(np.float64).mean()
    b = b.astype(np.float64).ravel() - b.astype(np.float64).mean()
    d = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / d) if d > 0 else float("nan")


def compare(kit, peer):
    """(smallest Pearson over images, largest |kit - peer| / max |peer| over images)."""
    import numpy as np
    rs, ds = [], []
    for k, p in zip(kit, peer):
        rs.append(pearson(k, p))
        top = float(np.abs(p).max())
        ds.append(float(np.abs(k.astype(np.float64) - p).max()) / top if top > 0 else float("inf"))
    return min(rs), max(ds)


def guided_comparable(model):
    """Why Captum's GuidedBackprop is not the toolkit's on this module ("" when it is): its ReLUs must all be
    torch.nn.ReLU modules (Captum hooks modules) and it must have no other piecewise-linear activation that the
    toolkit's rule covers."""
    import torch
    kinds = {type(m).__name__ for m in model.modules()}
    other = sorted(kinds & {"Hardswish", "Hardsigmoid", "ReLU6", "LeakyReLU", "PReLU", "ELU"})
    if other:
        return "%s: Captum's GuidedBackprop changes torch.nn.ReLU modules only" % ", ".join(other)
    src = ""
    import inspect
    for m in {type(m) for m in model.modules()}:
        if m.__module__.startswith("torch.nn."):  # nn.ReLU's own forward calls F.relu
            continue
        try:
            src += inspect.getsource(m.forward)
        except (OSError, TypeError):
            pass
    if any(s in src for s in ("torch.relu(", "F.relu(", ".relu()", "functional.relu(")):
        return "a ReLU called in forward() (torch.relu / F.relu): Captum's GuidedBackprop changes torch.nn.ReLU " \
               "modules only"
    if not any(isinstance(m, torch.nn.ReLU) for m in model.modules()):
        return "no torch.nn.ReLU: guided backprop is the gradient on both sides"
    return ""


def guided_every_relu(model, x, target):
    """d logit / d x with guided backprop at every ReLU, module or call (torch.relu patched for the pass)."""
    import torch

    class GuidedReLU(torch.autograd.Function):
        @staticmethod
        def forward(ctx, v):
            ctx.save_for_backward(v)
            return v.clamp(min=0)

        @staticmethod
        def backward(ctx, g):
            v, = ctx.saved_tensors
            return g.clamp(min=0) * (v > 0).to(g.dtype)

    orig = torch.relu
    torch.relu = GuidedReLU.apply
    try:
        xg = x.clone().requires_grad_(True)
        out = model(xg)
        out[torch.arange(len(target)), target].sum().backward()
    finally:
        torch.relu = orig
    return xg.grad


def run_model(name, args):
    import numpy as np
    import torch
    from captum.attr import IntegratedGradients, InputXGradient, GuidedBackprop

    out = os.path.join(args.work, name)
    weights = os.path.join(args.work, name + ".pt")
    if not os.path.isfile(os.path.join(out, "card.yaml")) or not os.path.isfile(weights):
        return {"model": name, "error": "%s or %s missing: run check_models.py first" % (out, weights)}
    model, size = torch2tf.build_model(name)
    model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    model.eval()
    for m in model.modules():  # Captum's hooks cannot follow an in-place ReLU; the function is the same
        if isinstance(m, torch.nn.ReLU):
            m.inplace = False

    pixels = torch2tf.load_pixels(torch2tf.SAMPLE_IMAGES, size)
    img_dir = os.path.join(args.work, "images_%d" % size)
    pngs = [os.path.join(img_dir, os.path.splitext(os.path.basename(p))[0] + ".png") for p in torch2tf.SAMPLE_IMAGES]
    x = torch.from_numpy(torch2tf.normalize(pixels))                       # NCHW, model units
    black = torch.from_numpy(torch2tf.normalize(np.zeros_like(pixels)))
    with torch.no_grad():
        classes = model(x).argmax(1).tolist()

    ins = subprocess.run([args.saliency, "inspect", out], capture_output=True, text=True)
    cam = [l.split()[2] for l in ins.stdout.splitlines() if l.strip().startswith("CAM layer")]
    cam = cam[0] if cam else None
    # A ViT's default CAM layer is the input of its last attention layer; the small ViT's 17 tokens fit two grids
    # by their count (4x4+1, 3x3+8), and the toolkit reads 4x4 from the patch embedding's reshape.
    want = {"small_vit": "encoder.layers.encoder_layer_3.ln_1", "vit_b_16": "encoder.layers.encoder_layer_11.ln_1"}
    if name in want and cam != want[name]:
        sys.exit("parity_models: %s's default CAM layer is %s, not %s" % (name, cam, want[name]))

    ex = os.path.join(args.work, name + "_parity")
    cmd = [args.saliency, "explain", "-model", out, "-out", ex, "-method", ",".join(METHODS),
           "-set", "integrated-gradients.steps=%d" % STEPS, "-set", "integrated-gradients.rule=riemann-right",
           "-set", "integrated-gradients.baseline=black"] + pngs
    q = subprocess.run(cmd, capture_output=True, text=True)
    if q.returncode != 0:
        return {"model": name, "error": "saliency explain: " + q.stderr.strip()[-300:]}
    index = json.load(open(os.path.join(ex, "index.json")))
    got = {}
    for m in index["maps"]:
        got[(os.path.basename(m["image"]), m["method"])] = m
    row = {"model": name, "cam_layer": cam}
    kit_classes = [got[(os.path.basename(p), "gradient-x-input")]["class"] for p in pngs]
    if kit_classes != classes:
        return {"model": name, "error": "classes differ: toolkit %s, torch %s" % (kit_classes, classes)}

    def kit_raw(method):
        return np.stack([np.load(os.path.join(ex, got[(os.path.basename(p), method)]["raw"])) for p in pngs])

    def kit_map(method):
        return np.stack([np.load(os.path.join(ex, got[(os.path.basename(p), method)]["map"])) for p in pngs])

    nhwc = lambda t: np.transpose(t.detach().numpy(), (0, 2, 3, 1))  # noqa: E731
    target = torch.tensor(classes)

    ig = IntegratedGradients(model).attribute(x, baselines=black, target=target, n_steps=STEPS,
                                              method="riemann_right", internal_batch_size=STEPS)
    row["integrated-gradients"] = compare(kit_raw("integrated-gradients"), nhwc(ig))
    gxi = InputXGradient(model).attribute(x.clone().requires_grad_(True), target=target)
    row["gradient-x-input"] = compare(kit_raw("gradient-x-input"), nhwc(gxi))
    gb = GuidedBackprop(model).attribute(x.clone().requires_grad_(True), target=target)
    row["guided-backprop"] = compare(kit_raw("guided-backprop"), nhwc(gb))
    why = guided_comparable(model)
    if why and row["guided-backprop"][0] < args.pearson:
        row["guided-backprop-note"] = why
        if "forward()" in why:
            # The named difference, measured: torch.autograd with every ReLU guided (torch.relu, which F.relu and
            # nn.ReLU call too, replaced by a ReLU whose backward passes positive signals at positive inputs).
            row["guided-backprop-every-relu"] = compare(kit_raw("guided-backprop"), nhwc(guided_every_relu(
                model, x, target)))

    module = None
    if cam:
        try:
            module = model.get_submodule(cam)
        except AttributeError:
            module = None
    if module is None or ("gradcam" not in {k[1] for k in got}):
        row["gradcam-note"] = "CAM layer %s is no torch module pytorch-grad-cam can hook" % cam
    else:
        reshape = None
        if name in ("small_vit", "vit_b_16"):  # tokens [N, 1 + s*s, D]: drop the class token, s x s, channels first
            def reshape(t):
                n, t_, d = t.shape
                s = int(round((t_ - 1) ** 0.5))
                return t[:, 1:, :].reshape(n, s, s, d).permute(0, 3, 1, 2)
        pgc_raw, pgc_out = torch2tf.gradcam_unscaled(model, module, x, classes, reshape)  # [N, h, w] at the layer
        kit_full = kit_map("gradcam")                         # [N, H, W]: the toolkit's, resized bilinearly
        # pytorch-grad-cam's map at the layer's resolution resized as the toolkit resizes (tf.image.resize,
        # bilinear, half-pixel centres), unscaled: the same numbers when both compute the same map.
        import tensorflow as tf
        up = tf.image.resize(pgc_raw[..., None], kit_full.shape[1:3], method="bilinear").numpy()[..., 0]
        row["gradcam"] = compare(kit_full, up)
        # pytorch-grad-cam's own output (min-max scaled per image, cv2.resize INTER_LINEAR) against the toolkit's
        # map min-max scaled the same way.
        scaled = []
        for k in kit_full:
            k = k - k.min()
            scaled.append(k / (1e-7 + k.max()))
        row["gradcam-upsampled"] = compare(np.stack(scaled), pgc_out)
        # pytorch-grad-cam divides by (max - min) + 1e-7: on a map whose range is near 1e-6 (random weights make
        # almost constant maps) that moves its output by a few percent, not its shape.
        flat = pgc_raw.reshape(len(pgc_raw), -1)
        row["gradcam-range"] = float((flat.max(1) - flat.min(1)).min())
        row["gradcam-shapes"] = [list(pgc_raw.shape[1:]), list(kit_full.shape[1:])]
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default=",".join(torch2tf.MODELS))
    ap.add_argument("--work", default=os.path.join(REPO, "scripts", "import", "out"))
    ap.add_argument("--saliency", default=os.path.join(REPO, "bin", "saliency"))
    ap.add_argument("--pearson", type=float, default=0.9999)
    args = ap.parse_args()
    if not os.access(args.saliency, os.X_OK):
        sys.exit("parity_models: %s: not built (make build)" % args.saliency)
    try:
        import captum  # noqa: F401
        import pytorch_grad_cam  # noqa: F401
    except ImportError as e:
        sys.exit("parity_models: %s: make import-venv installs Captum and pytorch-grad-cam" % e)
    rows, bad = [], []
    for name in args.models.split(","):
        if name not in torch2tf.MODELS + torch2tf.EXTRA_MODELS:
            sys.exit("parity_models: unknown model %r (want %s)" % (name, ", ".join(torch2tf.MODELS + torch2tf.EXTRA_MODELS)))
        row = run_model(name, args)
        rows.append(row)
        print(json.dumps(row), flush=True)
        if "error" in row:
            bad.append(name)
            continue
        # Every method must reach the Pearson bound, but for a difference the row names (guided backprop on a
        # module that calls torch.relu, which Captum cannot change) that its own measurement confirms.
        checked = ["integrated-gradients", "gradient-x-input", "gradcam"]
        if row.get("guided-backprop-note"):
            checked.append("guided-backprop-every-relu")
        else:
            checked.append("guided-backprop")
        if "gradcam" not in row or any(m not in row or row[m][0] < args.pearson for m in checked):
            bad.append(name)

    def cell(r, m):
        if m not in r:
            return r.get(m + "-note", "not compared")
        return "%.8f / %.2g" % r[m]
    cols = ["gradcam", "gradcam-upsampled", "integrated-gradients", "gradient-x-input", "guided-backprop"]
    print("\n| model | CAM layer | " + " | ".join(cols) + " |")
    print("| --- | --- |" + " --- |" * len(cols))
    for r in rows:
        if "error" in r:
            print("| %s | failed: %s |" % (r["model"], r["error"][:300]) + " |" * len(cols))
            continue
        cells = [cell(r, m) for m in cols]
        if "gradcam-range" in r:
            cells[1] += " (CAM range %.2g)" % r["gradcam-range"]
        if r.get("guided-backprop-note"):
            cells[-1] += " (%s%s)" % (r["guided-backprop-note"], "; every ReLU guided in torch: %.8f / %.2g" % tuple(
                r["guided-backprop-every-relu"]) if "guided-backprop-every-relu" in r else "")
        print("| %s | %s | %s |" % (r["model"], r["cam_layer"], " | ".join(cells)))
    print("(Pearson, smallest over the images / largest |difference| relative to the peer's largest |value|)")
    if bad:
        sys.exit("parity_models: below Pearson %g or failed: %s" % (args.pearson, ", ".join(bad)))
    print("parity_models: %d models: the toolkit's maps equal the peers' on the original modules" % len(rows))


if __name__ == "__main__":
    main()
