#!/usr/bin/env python3
"""Measure the two PyTorch -> TensorFlow routes on the same torch modules (issue 23, item B).

Run in the converter venv (`make import-venv`):

    scripts/import/.venv/bin/python scripts/import/compare_converters.py [--models resnet18,small_cnn]

For each model (random weights, torch.manual_seed(0)) and each converter

- nobuco 0.17.0: torch module -> Keras 2 (tf_keras) model with an NHWC input, saved as a SavedModel;
- onnx2tf (2.6.9 when measured; the venv now holds 1.29.24): torch.onnx.export(dynamo=False, opset 17) -> .onnx -> tf_keras model (NHWC input), saved as a
  SavedModel;

it reloads the SavedModel with tf.saved_model.load (what the toolkit reads) and reports

- the conversion time (seconds, export + conversion + save);
- the largest logit difference to torch on 4 real images (three photographs and a Fashion-MNIST sample, resized,
  torchvision's normalisation), absolute and relative to the largest |logit|;
- the largest difference of the input gradient of one logit (the class torch ranks first on each image) between
  tf.GradientTape on the SavedModel and torch.autograd on the NCHW input, transposed to NHWC, absolute and relative
  to the largest |gradient|;
- whether torch's module names survive in the SavedModel's graph (node names that contain "layer4.1" or
  "layer4/layer4.1", or the custom CNN's "block2"), and the variable count.

It prints one JSON line per model and converter, and a Markdown table at the end.
"""
import argparse
import copy
import json
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import torch2tf as common  # noqa: E402  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="resnet18,small_cnn", help="comma-separated: " + ",".join(common.MODELS))
    ap.add_argument("--converters", default="nobuco,onnx2tf")
    ap.add_argument("--work", default=None, help="folder for the SavedModels (default: a temporary one)")
    ap.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # one model and converter, this process
    args = ap.parse_args()

    work = args.work or tempfile.mkdtemp(prefix="compare_converters_")
    if not args.one:
        # Each conversion in its own process: onnx2tf patches TensorFlow and Keras functions as it converts, and a
        # nobuco conversion after an onnx2tf one in the same process fails.
        import subprocess
        rows = []
        for name in args.models.split(","):
            for conv in args.converters.split(","):
                p = subprocess.run([sys.executable, __file__, "--one", "--models", name, "--converters", conv,
                                    "--work", work], capture_output=True, text=True)
                lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
                if p.returncode != 0 or not lines:
                    rows.append({"model": name, "converter": conv,
                                 "error": "exit %d: %s" % (p.returncode, (p.stderr.strip().splitlines() or [""])[-1])})
                else:
                    rows.append(json.loads(lines[-1]))
                print(json.dumps(rows[-1]), flush=True)
        table(rows)
        return

    import numpy as np
    import tensorflow as tf
    import torch

    rows = []
    for name in args.models.split(","):
        model, size = common.build_model(name)
        x = common.sample_inputs(size)  # NCHW float32, normalised
        for conv in args.converters.split(","):
            out = os.path.join(work, "%s_%s" % (name, conv))
            t0 = time.perf_counter()
            try:
                common.convert(model, size, out, conv)
            except common.ConversionError as e:
                rows.append({"model": name, "converter": conv, "error": str(e)})
                print(json.dumps(rows[-1]), flush=True)
                continue
            seconds = time.perf_counter() - t0
            loaded = tf.saved_model.load(out)
            fn = loaded.signatures["serving_default"]
            in_key = list(fn.structured_input_signature[1])[0]
            out_key = list(fn.structured_outputs)[0]

            with torch.no_grad():
                want = model(torch.from_numpy(x)).numpy()
            xt = tf.constant(np.transpose(x, (0, 2, 3, 1)))
            got = fn(**{in_key: xt})[out_key].numpy()
            logit_abs = float(np.abs(got - want).max())
            logit_rel = logit_abs / float(np.abs(want).max())

            classes = want.argmax(1)
            xg = torch.from_numpy(x).requires_grad_(True)
            torch_logits = model(xg)
            torch_logits[torch.arange(len(classes)), torch.from_numpy(classes)].sum().backward()
            g_torch = np.transpose(xg.grad.numpy(), (0, 2, 3, 1))
            # torch in float64: the float32 rounding floor of either side
            m64 = copy.deepcopy(model).double()
            x64 = torch.from_numpy(x).double().requires_grad_(True)
            m64(x64)[torch.arange(len(classes)), torch.from_numpy(classes)].sum().backward()
            g64 = np.transpose(x64.grad.numpy(), (0, 2, 3, 1))
            with tf.GradientTape() as tape:
                tape.watch(xt)
                y = fn(**{in_key: xt})[out_key]
                sel = tf.reduce_sum(y * tf.one_hot(classes, y.shape[1]))
            g_tf = tape.gradient(sel, xt).numpy()
            grad_abs = float(np.abs(g_tf - g_torch).max())
            grad_rel = grad_abs / float(np.abs(g_torch).max())
            torch_floor = float(np.abs(g_torch - g64).max()) / float(np.abs(g64).max())
            tf_vs_64 = float(np.abs(g_tf - g64).max()) / float(np.abs(g64).max())

            nodes = common.graph_node_names(fn)
            probe = {"resnet18": "layer4.1", "small_cnn": "block2"}.get(name, "")
            kept = [n for n in nodes if probe and (probe in n or probe.replace(".", "/") in n)]
            row = {"model": name, "converter": conv, "seconds": round(seconds, 1),
                   "logit_abs": logit_abs, "logit_rel": logit_rel, "logit_max": float(np.abs(want).max()),
                   "grad_abs": grad_abs, "grad_rel": grad_rel, "grad_max": float(np.abs(g_torch).max()),
                   "grad_rel_torch32_vs_64": torch_floor, "grad_rel_tf_vs_torch64": tf_vs_64,
                   "variables": len(loaded.variables) if hasattr(loaded, "variables") else -1,
                   "nodes": len(nodes), "names_kept": len(kept), "example_node": (kept or nodes[len(nodes) // 2:])[0]}
            rows.append(row)
            print(json.dumps(row), flush=True)

    table(rows)


def table(rows):
    print("\n| model | converter | seconds | logit max abs | logit rel | gradient max abs | gradient rel | "
          "gradient rel vs torch float64 (torch float32 vs float64) | module names in graph |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        if "error" in r:
            print("| %s | %s | failed: %s | | | | | | |" % (r["model"], r["converter"], r["error"][:200]))
            continue
        print("| %s | %s | %.1f | %.2g | %.2g | %.2g | %.2g | %.2g (%.2g) | %s (%s) |" % (
            r["model"], r["converter"], r["seconds"], r["logit_abs"], r["logit_rel"], r["grad_abs"], r["grad_rel"],
            r["grad_rel_tf_vs_torch64"], r["grad_rel_torch32_vs_64"],
            "yes" if r["names_kept"] else "no", r["example_node"]))


if __name__ == "__main__":
    main()
