#!/usr/bin/env python3
"""Build savedmodels/testdata/torch_names: testmodels.SmallCNN (random weights, torch.manual_seed(0), batch norms
with random statistics) converted by scripts/import_model.py, whose card lists the layers by torch module path
(stem.0, block1.2, block2 ...), and savedmodels/testdata/torch_names_golden: torch's values on the first sample
image as .npy (input.npy: the model input NHWC; block1.npy, block2.npy: those modules' outputs NHWC;
logits.npy). tfgraph's tests read them (the layers by module name compute torch's values; the default CAM layer of
a converted model is the module that ends in its last convolution-like layer: block2). Run in the converter venv:

    scripts/import/.venv/bin/python scripts/import/build_testdata.py
"""
import argparse
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import torch2tf  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(torch2tf.REPO, "savedmodels", "testdata", "torch_names"))
    args = ap.parse_args()
    import torch
    model, size = torch2tf.build_model("small_cnn")
    with tempfile.TemporaryDirectory() as tmp:
        weights = os.path.join(tmp, "small_cnn.pt")
        torch.save(model.state_dict(), weights)
        cmd = [sys.executable, os.path.join(torch2tf.REPO, "scripts", "import_model.py"), "--torch",
               os.path.join(HERE, "testmodels.py"), "--class", "SmallCNN", "--weights", weights, "--size", str(size),
               "--name", "torch_names", "--force", args.out]
        if subprocess.run(cmd).returncode != 0:
            sys.exit(1)
    import numpy as np
    gold = args.out + "_golden"
    os.makedirs(gold, exist_ok=True)
    x = torch2tf.sample_inputs(size)[:1]
    outs = {}
    hooks = [getattr(model, n).register_forward_hook(lambda m, i, o, n=n: outs.__setitem__(n, o.detach().numpy()))
             for n in ("block1", "block2")]
    with torch.no_grad():
        outs["logits"] = model(torch.from_numpy(x)).numpy()
    for h in hooks:
        h.remove()
    np.save(os.path.join(gold, "input.npy"), np.ascontiguousarray(np.transpose(x, (0, 2, 3, 1))))
    for n, v in outs.items():
        np.save(os.path.join(gold, n + ".npy"), np.ascontiguousarray(np.transpose(v, (0, 2, 3, 1)) if v.ndim == 4
                                                                     else v))
    print("%s: torch's input, block1, block2 and logits" % gold)


if __name__ == "__main__":
    main()
