#!/usr/bin/env bash
# Create the converter venv scripts/import/.venv (Python 3.11, the toolkit's) for scripts/import_model.py (issue 23):
# TensorFlow 2.18.1 (the toolkit's pin), torch + torchvision, and the two converters measured for it,
# nobuco (PyTorch -> Keras 2) and onnx2tf (ONNX -> SavedModel) with onnx.
# Idempotent: re-running only (re)installs what differs from the pins in requirements.txt; a venv of another Python
# (an earlier setup used 3.12 for onnx2tf 2.x) is made anew.
# Never install torch into the main venv (/.venv): it holds TensorFlow for the toolkit.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv"
# Python 3.11: $PYTHON, else a python3.11 that runs, else pyenv's 3.11.
PY="${PYTHON:-python3.11}"
if ! "$PY" -c "" 2>/dev/null; then
  PY="$(ls -d "$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"/versions/3.11.*/bin/python3.11 2>/dev/null | tail -1)"
fi
if [ -z "$PY" ] || ! "$PY" -c "" 2>/dev/null; then
  echo "setup.sh: no Python 3.11 found; set PYTHON=/path/to/python3.11" >&2
  exit 1
fi
want_py="$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
if [ -x "$VENV/bin/python" ] && [ "$("$VENV/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" != "$want_py" ]; then
  echo "setup.sh: $VENV is of another Python; making it anew with $want_py" >&2
  rm -rf "$VENV"
fi

if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
"${PIP[@]}" install -q --upgrade pip

# Every package at its pin; the pins are also constraints so no dependency can move them.
"${PIP[@]}" install -q -r "$HERE/requirements.txt" -c "$HERE/requirements.txt"
# Without their declared dependencies: onnx2tf 1.29.24 pins TensorFlow 2.19, numpy 1.26.4 and onnx 1.19.1 (the
# toolkit's TensorFlow is 2.18; the modules it imports are in requirements.txt), and tf_keras (Keras 2, whose
# internals nobuco and onnx2tf use) must not move TensorFlow. onnx2tf 2.x requires Python 3.12; 1.29.24 passes
# every check of make import-check on 3.11 with the same differences from torch.
"${PIP[@]}" install -q --no-deps "onnx2tf==1.29.24" "tf_keras==2.18.0"
# The ONNX tools that fold batch norms into convolutions after an export, for check_models.py's names check
# (import_model.py does not use them). --no-deps: they need only onnx (and rich), which are here.
"${PIP[@]}" install -q --no-deps "onnxsim==0.8.1" "onnxoptimizer==0.4.2"

# Check: the pinned versions import together.
"$VENV/bin/python" - <<'PY'
import importlib.metadata as md
import os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import tensorflow as tf, torch, torchvision, onnx, google.protobuf, numpy
want = {"tensorflow-cpu": "2.18.1", "torch": "2.15.0", "nobuco": "0.17.0", "onnx2tf": "1.29.24", "tf_keras": "2.18.0",
        "captum": "0.9.0", "grad-cam": "1.5.7", "onnxsim": "0.8.1", "onnxoptimizer": "0.4.2"}
for name, v in want.items():
    got = md.version(name)
    assert got == v, (name, got, v)
print("tensorflow", tf.__version__, "torch", torch.__version__, "torchvision", torchvision.__version__,
      "onnx", onnx.__version__, "protobuf", google.protobuf.__version__, "numpy", numpy.__version__,
      "nobuco", md.version("nobuco"), "onnx2tf", md.version("onnx2tf"), "onnxruntime", md.version("onnxruntime"))
PY
