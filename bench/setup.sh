#!/usr/bin/env bash
# Create the peer venv bench/.venv (Python 3.11) with the Python saliency tools that
# bench/peers.py drives, beside tensorflow-cpu 2.18.1. Idempotent: re-running only
# (re)installs what differs from the pins in bench/requirements.txt.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv"
PY="${PYTHON:-python3.11}"

if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
"${PIP[@]}" install -q --upgrade pip

# Every step is constrained to these two pins so nothing can move TensorFlow or numpy.
CONSTRAINTS="$(mktemp)"
trap 'rm -f "$CONSTRAINTS"' EXIT
printf 'tensorflow-cpu==2.18.1\nnumpy==2.0.2\n' > "$CONSTRAINTS"

# 1. TensorFlow
"${PIP[@]}" install -q -c "$CONSTRAINTS" tensorflow-cpu==2.18.1 numpy==2.0.2
# 2. peers with their own dependencies (quantus 0.6.0 needs torch only for its extras)
"${PIP[@]}" install -q -c "$CONSTRAINTS" tf-keras-vis==0.8.7 saliency==0.2.1 quantus==0.6.0
# 3. xplique and tf-keras without dependencies: their metadata asks for
#    tensorflow[and-cuda] / tensorflow and would pull TensorFlow 2.20
"${PIP[@]}" install -q --no-deps xplique==2.0.2 tf-keras==2.18.0
# 4. xplique's non-TensorFlow requirements (tensorflow-probability without its [tf] extra)
"${PIP[@]}" install -q -c "$CONSTRAINTS" \
  deprecated==1.3.1 einops==0.8.2 matplotlib==3.11.2 opencv-python==5.0.0.93 ruff==0.17.6 \
  scikit-image==0.25.2 scikit-learn==1.7.2 scipy==1.15.3 tensorflow-probability==0.25.0

# Check: TensorFlow still 2.18.1 and every peer imports under legacy Keras.
TF_CPP_MIN_LOG_LEVEL=2 TF_USE_LEGACY_KERAS=1 "$VENV/bin/python" - <<'PY'
import tensorflow as tf
assert tf.__version__ == "2.18.1", tf.__version__
import tf_keras, xplique, tf_keras_vis, saliency.core, quantus, numpy
print("tensorflow", tf.__version__, "tf_keras", tf_keras.__version__, "xplique", xplique.__version__,
      "tf-keras-vis", tf_keras_vis.__version__, "quantus", quantus.__version__, "numpy", numpy.__version__)
PY
