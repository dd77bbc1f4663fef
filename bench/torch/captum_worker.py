#!/usr/bin/env python3
"""Peer worker: Captum 0.9.0's GradientShap on the exact PyTorch copies of bench/torch/models.py, with the
JSON-lines protocol of bench/protocol.py (bench/path_blackbox.py drives it next to the toolkit's bin/bench-worker).

    bench/torch/.venv/bin/python bench/torch/captum_worker.py --model MODEL [--threads 2]

MODEL is fmnist_vgg or resnet50 (weights from `make parity-weights` / bench/torch/weights/resnet50). Methods:

    gradient-shap  options: samples (n_samples), stdevs, baselines (.npy [K,H,W,C], model input values),
                   images_per_call (default: all; Captum puts N*n rows through one forward and one backward,
                   so a caller bounds memory by calling it on fewer images, as a user must)

The target is the argmax of the logits (untimed). The input .npy is NHWC; the map returned (and saved with
"save") is NHWC, Captum's attribution transposed. The model is wrapped in a module that counts the rows it is
called on (forward) and, of those, the rows with grad enabled on an input that requires it (Captum back-propagates
through all of them: backward); "passes" in the answer are per image, of the last call. torch.set_num_threads
(threads), 1 inter-op thread, OMP_WAIT_POLICY=PASSIVE (see lrp_bench.py), parameters frozen, eval mode.
"""
import argparse
import json
import os
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.append(os.path.dirname(HERE))  # bench/ for protocol.py, last: bench/torch must not pass for torch
import models  # noqa: E402
import protocol  # noqa: E402

from captum.attr import GradientShap  # noqa: E402


class Counting(torch.nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner
        self.forward_rows = 0
        self.backward_rows = 0

    def forward(self, x):
        self.forward_rows += x.shape[0]
        if torch.is_grad_enabled() and x.requires_grad:
            self.backward_rows += x.shape[0]
        return self.inner(x)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, choices=("fmnist_vgg", "resnet50"))
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    proto = protocol.take_stdout()
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    t0 = time.perf_counter()
    inner = models.load(args.model).eval()
    for p in inner.parameters():
        p.requires_grad_(False)
    model = Counting(inner)
    proto.write(json.dumps({"ready": True, "tool": "captum", "model": args.model,
                            "load_seconds": time.perf_counter() - t0}) + "\n")

    def prepare(req):
        o = req.get("options") or {}
        x = models.nhwc_to_nchw(np.load(req["inputs"]))
        refs = models.nhwc_to_nchw(np.load(o["baselines"]))
        with torch.no_grad():
            cls = inner(x).argmax(1)
        n, sd = int(o.get("samples", 5)), float(o.get("stdevs", 0.0))
        per = int(o.get("images_per_call", x.shape[0]))
        gs = GradientShap(model)

        def run():
            parts = [gs.attribute(x[i:i + per], baselines=refs, n_samples=n, stdevs=sd, target=cls[i:i + per])
                     for i in range(0, x.shape[0], per)]
            return torch.cat(parts).detach().numpy().transpose(0, 2, 3, 1)

        def reset():
            model.forward_rows = model.backward_rows = 0

        def passes(nimg=x.shape[0]):
            return {"forward": model.forward_rows / nimg, "backward": model.backward_rows / nimg}
        return protocol.Prepared(run, passes=passes, reset=reset)
    protocol.serve(proto, prepare, methods=("gradient-shap",))
    return 0


if __name__ == "__main__":
    sys.exit(main())
