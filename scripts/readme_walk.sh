#!/usr/bin/env bash
# The newcomer's walk, as CI runs it: the commands of the README's "Your own model"
# section, exactly as written there (its first sh block), from the repository root,
# then a check that the Grad-CAM figure of the model that is not in the zoo exists.
set -euo pipefail
cd "$(dirname "$0")/.."
block=$(awk '/^## Your own model/{s=1} s&&/^```sh/{b=1;next} b&&/^```/{exit} b{print}' README.md)
if [ -z "$block" ]; then
  echo "readme_walk: no sh block under '## Your own model' in README.md" >&2
  exit 1
fi
# Start as a newcomer would: none of the walk's files exist yet.
rm -rf /tmp/my_model /tmp/my_maps /tmp/my_model.keras /tmp/my_model.classes.txt
echo "$block"
bash -euo pipefail -c "$block"
test -s /tmp/my_maps/grid.png
test -s /tmp/my_maps/index.json
grep -q '"gradcam"' /tmp/my_maps/index.json
echo "readme_walk: /tmp/my_maps/grid.png"
