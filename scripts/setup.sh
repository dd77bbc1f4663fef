#!/usr/bin/env bash
# make setup: Python venv with the pinned TensorFlow wheel, and a private lib folder that
# links graft (-ltensorflow) against the wheel's libtensorflow_cc.so.2.
#
# Idempotent: a second run only re-checks (seconds).
# Overrides: TF_LIB_DIR (a folder with libtensorflow.so / libtensorflow_cc.so.2) and
# TF_INCLUDE_DIR (a folder with tensorflow/c/c_api.h) point at a system libtensorflow.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
VENV=$ROOT/.venv
TFLIB=$ROOT/.tflib
say() { printf 'setup: %s\n' "$*" >&2; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

# 1. The virtual environment, reinstalled only when requirements.txt changes.
if [ ! -x "$VENV/bin/python" ]; then
  say "creating $VENV with $($PY --version 2>&1)"
  "$PY" -m venv "$VENV"
fi
stamp=$VENV/.requirements.sha256
want=$(cat requirements.txt requirements-nodeps.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "installing requirements.txt into .venv (tensorflow-cpu wheel, ~250 MB)"
  "$VENV/bin/pip" install --disable-pip-version-check -q -r requirements.txt
  # tf_keras without its dependencies (its metadata pulls the full tensorflow wheel), in a
  # folder of its own outside site-packages: `pip check` stays clean and only the scripts
  # that need it (savedmodels/build_testdata.py tfkeras2) put it on sys.path.
  rm -rf "$VENV/nodeps"
  # An older .venv had tf_keras in site-packages: take it out (pip check would fail on it).
  if "$VENV/bin/pip" show -q tf_keras >/dev/null 2>&1; then
    "$VENV/bin/pip" uninstall --disable-pip-version-check -q -y tf_keras
  fi
  "$VENV/bin/pip" install --disable-pip-version-check -q --no-deps --target "$VENV/nodeps" -r requirements-nodeps.txt
  # One TensorFlow: the full wheel must not be there beside tensorflow-cpu.
  if "$VENV/bin/pip" show -q tensorflow >/dev/null 2>&1; then
    die ".venv holds the full 'tensorflow' wheel beside tensorflow-cpu (remove .venv and run make setup again)"
  fi
  "$VENV/bin/pip" check --disable-pip-version-check >/dev/null \
    || die "pip check failed in .venv: $("$VENV/bin/pip" check --disable-pip-version-check 2>&1 | head -n 3)"
  echo "$want" > "$stamp"
fi

# 2. Where libtensorflow and its C headers are.
if [ -n "${TF_LIB_DIR:-}" ]; then
  LIBDIR=$(cd "$TF_LIB_DIR" && pwd) || die "TF_LIB_DIR=$TF_LIB_DIR is not a folder"
  INCDIR=${TF_INCLUDE_DIR:-$LIBDIR/../include}
  LIB=""
  for cand in libtensorflow.so libtensorflow.so.2 libtensorflow_cc.so.2; do
    [ -e "$LIBDIR/$cand" ] && { LIB=$LIBDIR/$cand; break; }
  done
  [ -n "$LIB" ] || die "TF_LIB_DIR=$LIBDIR holds none of libtensorflow.so, libtensorflow.so.2, libtensorflow_cc.so.2"
else
  LIBDIR=$("$VENV/bin/python" -c "import importlib.util as u; print(u.find_spec('tensorflow').submodule_search_locations[0])") \
    || die "tensorflow is not installed in .venv"
  LIB=$LIBDIR/libtensorflow_cc.so.2
  INCDIR=${TF_INCLUDE_DIR:-$LIBDIR/include}
fi
INCDIR=$(cd "$INCDIR" 2>/dev/null && pwd) || die "include folder $INCDIR does not exist (set TF_INCLUDE_DIR)"
[ -e "$LIB" ] || die "$LIB is missing"

# 3. Check that the headers and every C API symbol graft calls are there.
for h in tensorflow/c/c_api.h tensorflow/c/eager/c_api.h tensorflow/c/tf_buffer.h tensorflow/c/tf_tstring.h; do
  [ -f "$INCDIR/$h" ] || die "C header $INCDIR/$h is missing (see ../shared/TENSORFLOW.md section 1 for fallbacks)"
done
GRAFT=$(go list -m -f '{{.Dir}}' github.com/wamuir/graft 2>/dev/null) || true
if [ -z "$GRAFT" ] || [ ! -d "$GRAFT" ]; then
  go mod download github.com/wamuir/graft
  GRAFT=$(go list -m -f '{{.Dir}}' github.com/wamuir/graft)
fi
# Calls look like C.TF_Name( in graft's cgo files; TF_DataType is a type conversion and
# *_Helper functions are defined in graft's own preamble; TF_TString_* are inline in tf_tstring.h.
syms=$(grep -oh 'C\.TFE\?_[A-Za-z0-9_]*(' "$GRAFT"/tensorflow/*.go | sed 's/^C\.//; s/($//' \
  | grep -v -e '^TF_DataType$' -e '_Helper$' -e '^TF_TString_' | LC_ALL=C sort -u)
libs=("$LIB")
for f in "$(dirname "$(readlink -f "$LIB")")"/libtensorflow_framework.so*; do [ -e "$f" ] && libs+=("$f"); done
defined=$(for l in "${libs[@]}"; do nm -D --defined-only "$l"; done | awk '{sub(/@.*/, "", $NF); print $NF}' | LC_ALL=C sort -u)
missing=$(LC_ALL=C comm -23 <(echo "$syms") <(echo "$defined") | tr '\n' ' ')
[ -z "$missing" ] || die "$LIB does not define the C API symbols graft uses: $missing"

# 4. The private lib folder graft's '-ltensorflow' resolves against, and make's settings.
mkdir -p "$TFLIB"
ln -sfn "$LIB" "$TFLIB/libtensorflow.so"
cat > "$TFLIB/env.mk.tmp" <<EOM
# written by scripts/setup.sh; do not edit
TF_LIB_DIR := $LIBDIR
TF_INCLUDE_DIR := $INCDIR
TF_LINK_DIR := $TFLIB
EOM
mv "$TFLIB/env.mk.tmp" "$TFLIB/env.mk"
say "libtensorflow: $LIB ($(echo "$syms" | wc -l) C API symbols checked)"

# 5. Fashion-MNIST from Debian's package (experiments and tests read its IDX files).
if [ ! -e /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ]; then
  say "installing Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist)"
  if [ "$(id -u)" = 0 ]; then apt-get install -y -q dataset-fashion-mnist >/dev/null
  else sudo apt-get install -y -q dataset-fashion-mnist >/dev/null; fi \
    || die "could not install dataset-fashion-mnist; install it with: sudo apt-get install dataset-fashion-mnist"
fi
