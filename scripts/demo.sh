#!/usr/bin/env bash
# make demo: the main job on the committed models. Until the saliency methods land
# (issue [3/6]) this classifies the sample images with the zoo.
set -euo pipefail
cd "$(dirname "$0")/.."
S=savedmodels/samples
echo "== fmnist_vgg on the Fashion-MNIST samples (true labels in $S/labels.csv)"
bin/saliency predict -k 2 savedmodels/fmnist_vgg $S/fmnist_*.png
echo
echo "== fmnist_scatter on the cluttered 64x64 samples"
bin/saliency predict -k 2 savedmodels/fmnist_scatter $(ls $S/scatter_*.png | grep -v _mask)
echo
echo "== fmnist_gap_softmax (a model that ends in softmax: probabilities, no logits)"
bin/saliency predict -k 1 savedmodels/fmnist_gap_softmax $S/fmnist_0000_ankle-boot.png
