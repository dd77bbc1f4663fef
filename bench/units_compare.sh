#!/usr/bin/env bash
# Side by side: the top-k scan of `saliency units -project none` (streamed) and
# savedmodels/golden_scan.py (a ConcreteFunction of the frozen signature, every
# activation kept, numpy argsort), on the 10,000 Fashion-MNIST test images,
# both at batch 64, REPS interleaved repetitions (default 10). Prints each
# side's median wall time (whole process, and Python's own timer, which leaves
# out its imports) and median peak RSS.
#
# Usage: bench/units_compare.sh [MODEL] [LAYER] [REPS]
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${1:-savedmodels/fmnist_vgg}
LAYER=${2:-conv2_2}
REPS=${3:-10}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for i in $(seq "$REPS"); do
  rm -rf "$tmp/go"
  /usr/bin/time -f "%e %M" -o "$tmp/go.$i" bin/saliency units -model "$MODEL" -layer "$LAYER" -project none -batch 64 -out "$tmp/go" >/dev/null
  /usr/bin/time -f "%e %M" -o "$tmp/py.$i" .venv/bin/python savedmodels/golden_scan.py "$MODEL" "$LAYER" "$tmp/py.json" 9 64 >/dev/null 2>&1
  python3 -c "import json;print(json.load(open('$tmp/py.json'))['seconds'])" >"$tmp/pyin.$i"
done
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
go_t=$(cat "$tmp"/go.* | awk '{print $1}' | median)
go_m=$(cat "$tmp"/go.* | awk '{print $2/1024}' | median)
py_t=$(cat "$tmp"/py.* | awk '{print $1}' | median)
py_m=$(cat "$tmp"/py.* | awk '{print $2/1024}' | median)
py_in=$(cat "$tmp"/pyin.* | median)
printf "%s %s, 10000 images, batch 64, %d repetitions (medians)\n" "$(basename "$MODEL")" "$LAYER" "$REPS"
printf "saliency units (whole process: load, decode, scan): %.2f s, peak RSS %.0f MB\n" "$go_t" "$go_m"
printf "Python (whole process): %.2f s; its own timer (load + scan, no imports): %.2f s; peak RSS %.0f MB\n" "$py_t" "$py_in" "$py_m"
printf "ratio: time %.2f× (whole), %.2f× (against Python's timer); peak RSS %.2f×\n" "$(echo "$go_t/$py_t" | bc -l)" "$(echo "$go_t/$py_in" | bc -l)" "$(echo "$go_m/$py_m" | bc -l)"
