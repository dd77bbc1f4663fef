#!/usr/bin/env bash
# Create the PyTorch peer venv bench/torch/.venv (Python 3.11) with torch and the three peers of
# issue 20: Zennit (LRP), Captum (DeepLift, DeepLiftShap, LRP) and pytorch-grad-cam (CAM variants).
# Idempotent: re-running only (re)installs what differs from the pins in requirements.txt.
# Never install torch into the main venv (/.venv): it holds TensorFlow for the toolkit.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv"
PY="${PYTHON:-python3.11}"

if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
"${PIP[@]}" install -q --upgrade pip

# Every package at its pin; the pins are also constraints so no dependency can move them.
"${PIP[@]}" install -q -r "$HERE/requirements.txt" -c "$HERE/requirements.txt"

# Check: the pinned versions import.
"$VENV/bin/python" - <<'PY'
import importlib.metadata as md
import torch, zennit, captum, pytorch_grad_cam, numpy, cv2
want = {"torch": "2.15.0", "zennit": "0.5.1", "captum": "0.9.0", "grad-cam": "1.5.7"}
for name, v in want.items():
    got = md.version(name)
    assert got == v, (name, got, v)
print("torch", torch.__version__, "zennit", md.version("zennit"), "captum", captum.__version__,
      "grad-cam", md.version("grad-cam"), "numpy", numpy.__version__, "cv2", cv2.__version__,
      "cuda available", torch.cuda.is_available())
PY
