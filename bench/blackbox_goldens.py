#!/usr/bin/env python3
"""Xplique 2.0.2's black-box attributions on the zoo's tf_keras copies, with the randomness recorded.

Usage (the peer venv, bench/setup.sh; `make blackbox-goldens`):

    bench/.venv/bin/python bench/blackbox_goldens.py [fmnist_vgg fmnist_resnet fmnist_gap]

For each model, the tf_keras (Keras 2) twin of the SavedModel (bench/peers.py's weight copy by
variable name; logits out, so Xplique's default operator explains the class LOGIT, as the toolkit
does) explains savedmodels/<model>/golden/inputs.npy (8 images of fmnist_test_1000) for the class
argmax(golden/logits.npy). Written to savedmodels/<model>/golden/peers/xplique/:

    rise.npy, rise_grids.npy (uint8 [N,7,7]), rise_shifts.npy (uint8 [8,N,2])
        Rise(nb_samples=1000, grid_size=7): the binary grids Rise._get_masks drew, and the crop of
        each mask: Xplique crops a batch of 32 upsampled masks at one offset
        (tf.image.random_crop of the batch, per image); here tf.image.random_crop is replaced by a
        crop at an offset drawn with numpy (same range) and recorded, with tf.functions run eagerly.
    rise_free.npy
        Rise(nb_samples=16000), its own TensorFlow randomness, nothing recorded: the reference of
        the convergence check without fed randomness.
    sobol.npy, sobol_blurring.npy, sobol_ab.npy (float32 [64,8,8])
        SobolAttributionMethod(grid_size=8, nb_design=32), inpainting and blurring; A then B of its
        design (the unscrambled Sobol' sequence of tf.math.sobol_sample, deterministic).
    hsic.npy, hsic_design.npy (uint8 [500,8,8])
        HsicAttributionMethod() defaults: binary estimator, binary Sobol' design of 500 points.
    hsic_rbf.npy, hsic_rbf_design.npy (float32 [256,8,8])
        HsicAttributionMethod(nb_design=256, sampler=TFSobolSequence(binary=False),
        estimator=RbfEstimator()).
    lime.npy, felzenszwalb_labels.npy (uint8 [8,28,28]), lime_draws.npy (uint8 [8,150,Mmax])
        Lime() defaults: felzenszwalb segmentation (one channel), Ridge(alpha=2), euclidean
        kernel of width 45, Bernoulli(0.5) draws; labels and draws recorded through the
        map_to_interpret_space and pertub_func arguments wrapping Xplique's own defaults.
    kernel_shap.npy, kernel_shap_draws.npy (uint8 [8,800,Mmax])
        KernelShap() defaults (800 coalitions, LinearRegression), the same segmentation.
    manifest.json: versions, parameters, classes, file shapes.

Every map is float32 [8,28,28]. A check that tf.math.sobol_sample equals scipy's unscrambled Sobol'
sequence without its first point is recorded in the manifest.
"""
import argparse
import json
import os
import sys

os.environ["TF_USE_LEGACY_KERAS"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

import importlib.util  # noqa: E402

import numpy as np  # noqa: E402

# bench/ leaves sys.path: its torch/ folder would pass for the torch package that xplique probes
# for. bench/peers.py (copy_weights) and bench/zoo_twins.py (the tf_keras twins) are loaded by path.
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != HERE]
_spec = importlib.util.spec_from_file_location("peers", os.path.join(HERE, "peers.py"))
peers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(peers)
_spec = importlib.util.spec_from_file_location("zoo_twins", os.path.join(HERE, "zoo_twins.py"))
zoo_twins = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(zoo_twins)


def squeeze(m):
    m = np.asarray(m, dtype=np.float32)
    if m.ndim == 4:
        m = m[..., 0]
    return m


def pad_draws(draws, ns):
    mmax = max(d.shape[1] for d in draws)
    out = np.zeros((len(draws), ns, mmax), np.uint8)
    for i, d in enumerate(draws):
        out[i, :, :d.shape[1]] = d
    return out


def run(model_name, out_dir):
    import tensorflow as tf
    import xplique
    from xplique.attributions import Rise, Lime, KernelShap, SobolAttributionMethod, HsicAttributionMethod
    from xplique.attributions.global_sensitivity_analysis.samplers import TFSobolSequence
    from xplique.attributions.global_sensitivity_analysis.hsic_estimators import RbfEstimator
    import xplique.attributions.rise as rise_mod

    g = os.path.join(ROOT, "savedmodels", model_name, "golden")
    model = peers.copy_weights(zoo_twins.build(model_name), os.path.join(ROOT, "savedmodels", model_name))
    x = np.load(os.path.join(g, "inputs.npy")).astype(np.float32)
    want = np.load(os.path.join(g, "logits.npy"))
    logits = model(x, training=False).numpy()
    dl = float(np.abs(logits - want).max())
    if dl > 1e-4:
        raise SystemExit("%s: the tf_keras twin's logits differ from golden/logits.npy by %g" % (model_name, dl))
    classes = want.argmax(1)
    y = tf.one_hot(classes, want.shape[1]).numpy()
    os.makedirs(out_dir, exist_ok=True)
    files = {}

    def save(name, arr, what):
        np.save(os.path.join(out_dir, name + ".npy"), arr)
        files[name] = {"shape": list(arr.shape), "dtype": str(arr.dtype), "what": what}

    # ---- RISE, with the grids and crops recorded
    tf.random.set_seed(21)  # Rise._get_masks and the interpretable samples below draw from it
    tf.config.run_functions_eagerly(True)
    rng = np.random.default_rng(21)
    grids, shifts = [], []
    orig_masks = Rise._get_masks

    def rec_masks(*a, **k):
        m = orig_masks(*a, **k)
        grids.append(m.numpy())
        return m

    orig_crop = tf.image.random_crop

    def rec_crop(value, size, seed=None, name=None):
        vs = value.shape.as_list()
        off = [int(rng.integers(0, vs[d] - size[d] + 1)) for d in range(len(vs))]
        shifts.append((off[1], off[2], int(size[0])))
        return tf.slice(value, off, size)

    Rise._get_masks = staticmethod(rec_masks)
    rise_mod.tf.image.random_crop = rec_crop
    try:
        ns = 1000
        m = Rise(model, nb_samples=ns, grid_size=7, preservation_probability=0.5, mask_value=0.0, batch_size=32)
        rise_map = squeeze(m.explain(x, y))
    finally:
        Rise._get_masks = orig_masks
        rise_mod.tf.image.random_crop = orig_crop
        tf.config.run_functions_eagerly(False)
    assert len(grids) == 1, len(grids)
    per_mask = np.zeros((len(x), ns, 2), np.int32)
    k = 0
    for i in range(len(x)):
        s = 0
        while s < ns:
            dy, dx, b = shifts[k]
            per_mask[i, s:s + b] = (dy, dx)
            s += b
            k += 1
    assert k == len(shifts)
    save("rise", rise_map, "Rise(nb_samples=1000, grid_size=7, preservation_probability=0.5, mask_value=0, batch_size=32)")
    save("rise_grids", grids[0][..., 0].astype(np.uint8), "the binary grids of Rise._get_masks [N,7,7]")
    save("rise_shifts", per_mask.astype(np.uint8), "the crop (row, column) of each mask of each image, [8,N,2]: one per batch of 32 as Xplique crops")
    tf.random.set_seed(2021)
    save("rise_free", squeeze(Rise(model, nb_samples=16000, batch_size=500).explain(x, y)),
         "Rise(nb_samples=16000), otherwise defaults, Xplique's own randomness (tf.random.set_seed(2021)), nothing fed")

    # ---- Sobol
    for pert in ("inpainting", "blurring"):
        s = SobolAttributionMethod(model, grid_size=8, nb_design=32, perturbation_function=pert, batch_size=512)
        name = "sobol" if pert == "inpainting" else "sobol_" + pert
        save(name, squeeze(s.explain(x, y)), "SobolAttributionMethod(grid_size=8, nb_design=32, perturbation_function=%r), Jansen, TFSobolSequenceRS" % pert)
    ab = s.masks.numpy()[:64, :, :, 0].astype(np.float32)
    save("sobol_ab", ab, "A then B of the Sobol design [2*32,8,8] (explainer.masks[:64])")

    # ---- HSIC
    h = HsicAttributionMethod(model, batch_size=500)
    save("hsic", squeeze(h.explain(x, y)), "HsicAttributionMethod() defaults: grid 8, nb_design 500, binary TFSobolSequence, BinaryEstimator(rbf output kernel)")
    save("hsic_design", h.masks.numpy()[..., 0].astype(np.uint8), "the binary design [500,8,8] (explainer.masks)")
    h = HsicAttributionMethod(model, nb_design=256, sampler=TFSobolSequence(binary=False), estimator=RbfEstimator(), batch_size=256)
    save("hsic_rbf", squeeze(h.explain(x, y)), "HsicAttributionMethod(nb_design=256, sampler=TFSobolSequence(binary=False), estimator=RbfEstimator())")
    save("hsic_rbf_design", h.masks.numpy()[..., 0].astype(np.float32), "the design [256,8,8] (explainer.masks)")

    # ---- LIME and KernelSHAP, segmentation and draws recorded
    for cls, name, ns in ((Lime, "lime", 150), (KernelShap, "kernel_shap", 800)):
        labels, draws = [], []
        seg = Lime._default_2dimage_map_to_interpret_space

        def rec_seg(inp):
            lab = seg(inp)
            labels.append(lab.numpy())
            return lab

        if cls is Lime:
            pert = Lime._get_default_pertub_function(0.5)
            expl = cls(model, map_to_interpret_space=rec_seg, nb_samples=ns)
        else:
            pert = KernelShap._kernel_shap_pertub_func
            expl = cls(model, map_to_interpret_space=rec_seg, nb_samples=ns)

        def rec_pert(nf, n, pert=pert):
            z = pert(nf, n)
            draws.append(z.numpy())
            return z

        expl.pertub_func = rec_pert
        save(name, squeeze(expl.explain(x, y)), "%s(nb_samples=%d) defaults, felzenszwalb segmentation" % (cls.__name__, ns))
        labels = np.stack(labels)
        assert labels.max() < 256
        if cls is Lime:
            save("felzenszwalb_labels", labels.astype(np.uint8), "skimage felzenszwalb labels of each image [8,28,28] (Xplique's default segmentation of one-channel images)")
        elif not np.array_equal(labels, np.load(os.path.join(out_dir, "felzenszwalb_labels.npy"))):
            raise SystemExit("KernelShap's segmentation differs from Lime's")
        save(name + "_draws", pad_draws(draws, ns), "the interpretable samples of each image [8,ns,Mmax], zero-padded beyond its M")

    from scipy.stats import qmc
    sob = tf.math.sobol_sample(128, 32, dtype=tf.float32).numpy()
    ref = qmc.Sobol(128, scramble=False).random(33).astype(np.float32)[1:]
    import importlib.metadata as md
    man = {
        "model": model_name,
        "generated_by": "bench/blackbox_goldens.py (make blackbox-goldens)",
        "versions": {p: md.version(p) for p in ("xplique", "tensorflow-cpu", "tf_keras", "scikit-image", "scikit-learn", "numpy", "scipy")},
        "inputs": "savedmodels/%s/golden/inputs.npy, all 8 images [8,28,28,1] in [0,1]" % model_name,
        "classes": [int(c) for c in classes],
        "target": "the class logit: Xplique's default operator on the tf_keras twin (no softmax)",
        "twin_logits_max_abs_difference": dl,
        "tf_sobol_equals_scipy_unscrambled_without_first_point": bool(np.array_equal(sob, ref)),
        "files": files,
    }
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump(man, f, indent=1)
    print(model_name, "written to", out_dir, file=sys.stderr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("models", nargs="*", default=["fmnist_vgg", "fmnist_resnet", "fmnist_gap"])
    a = ap.parse_args()
    for m in a.models:
        run(m, os.path.join(ROOT, "savedmodels", m, "golden", "peers", "xplique"))


if __name__ == "__main__":
    main()
