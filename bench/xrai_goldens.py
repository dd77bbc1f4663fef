"""PAIR saliency 0.2.1's XRAI on the zoo's Fashion-MNIST models: goldens of methods' xrai.

For each of fmnist_vgg, fmnist_resnet and fmnist_gap, on the 8 golden inputs
(savedmodels/<m>/golden/inputs.npy) and their predicted classes, writes into
savedmodels/<m>/golden/peers/:

  pair_xrai.npy            XRAI's map (attribution_mask) [8,28,28] float32, PAIR computing
                           everything: IG from the image's min and max baselines (100 steps,
                           numpy.linspace path), Felzenszwalb segments (224x224, 6 scales,
                           dilation 5), algorithm full
  pair_xrai_fast.npy       algorithm fast on the same attribution and segments
  pair_xrai_attr.npy       the attribution XRAI merged: the mean of the two IGs [8,28,28,1]
  pair_xrai_segments.npy   the six segmentations at 28x28 before dilation [8,6,28,28] int16
                           (unpacked and dilated they are PAIR's masks: checked here)
  pair_xrai.json           parameters, versions, classes, checks

PAIR runs on a tf_keras (Keras 2) copy of each SavedModel built by savedmodels/build_zoo.py's
architecture functions with the weights copied by name (bench/peers.py copy_weights), its
logits checked against golden/logits.npy. Run with bench/.venv/bin/python (make xrai-goldens).
"""
import json
import os
import sys

os.environ["TF_USE_LEGACY_KERAS"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MODELS = ["fmnist_vgg", "fmnist_resnet", "fmnist_gap"]


def main():
    import numpy as np
    import tensorflow as tf
    import saliency
    import skimage
    import saliency.core as sc
    from saliency.core import xrai
    from skimage import segmentation
    from skimage.transform import resize
    from skimage.morphology import dilation, disk

    sys.path.insert(0, HERE)
    from zoo_twins import build  # before peers, which takes bench/ off sys.path
    from peers import copy_weights

    for name in sys.argv[1:] or MODELS:
        path = os.path.join(ROOT, "savedmodels", name)
        model = copy_weights(build(name), path)
        gdir = os.path.join(path, "golden")
        x = np.load(os.path.join(gdir, "inputs.npy")).astype(np.float32)
        want_logits = np.load(os.path.join(gdir, "logits.npy"))
        logits = model(x, training=False).numpy()
        d_logits = float(np.abs(logits - want_logits).max())
        assert d_logits <= 1e-4 * np.abs(want_logits).max(), (name, d_logits)
        classes = [int(c) for c in want_logits.argmax(1)]

        def call(xb, call_model_args=None, expected_keys=None):
            xt = tf.convert_to_tensor(np.asarray(xb, np.float32))
            with tf.GradientTape() as tape:
                tape.watch(xt)
                y = model(xt, training=False)[:, call_model_args["class"]]
            return {sc.INPUT_OUTPUT_GRADIENTS: tape.gradient(y, xt).numpy()}

        maps, fast, attrs, segs_all = [], [], [], []
        exact_merge = True
        for i in range(x.shape[0]):
            im = x[i]
            params = xrai.XRAIParameters(return_ig_attributions=True)
            out = xrai.XRAI().GetMaskWithDetails(im, call, call_model_args={"class": classes[i]},
                                                 batch_size=100, extra_parameters=params)
            attr = np.mean(out.ig_attribution, axis=0)
            # The segmentations before dilation, as xrai._get_segments_felzenszwalb makes them.
            r = xrai._normalize_image(im, xrai._FELZENSZWALB_IM_VALUE_RANGE, xrai._FELZENSZWALB_IM_RESIZE)
            segs = []
            for scale in xrai._FELZENSZWALB_SCALE_VALUES:
                for sigma in xrai._FELZENSZWALB_SIGMA_VALUES:
                    s = segmentation.felzenszwalb(r, scale=scale, sigma=sigma,
                                                  min_size=xrai._FELZENSZWALB_MIN_SEGMENT_SIZE)
                    segs.append(resize(s, im.shape[:2], order=0, preserve_range=True, mode="constant",
                                       anti_aliasing=False).astype(int))
            masks = [dilation(m, footprint=disk(5)) for m in xrai._unpack_segs_to_masks(segs)]
            theirs = xrai._get_segments_felzenszwalb(im)
            assert len(masks) == len(theirs) and all((a == b).all() for a, b in zip(masks, theirs)), (name, i)
            merged = xrai.XRAI().GetMask(im, None, segments=theirs, base_attribution=attr)
            exact_merge = exact_merge and bool((merged == out.attribution_mask).all())
            f = xrai.XRAI().GetMask(im, None, segments=theirs, base_attribution=attr,
                                    extra_parameters=xrai.XRAIParameters(algorithm="fast"))
            maps.append(out.attribution_mask)
            fast.append(f)
            attrs.append(attr)
            segs_all.append(np.stack(segs))
            print(name, i, "class", classes[i], "segments", len(theirs), file=sys.stderr)

        odir = os.path.join(gdir, "peers")
        os.makedirs(odir, exist_ok=True)
        np.save(os.path.join(odir, "pair_xrai.npy"), np.stack(maps).astype(np.float32))
        np.save(os.path.join(odir, "pair_xrai_fast.npy"), np.stack(fast).astype(np.float32))
        np.save(os.path.join(odir, "pair_xrai_attr.npy"), np.stack(attrs).astype(np.float32))
        np.save(os.path.join(odir, "pair_xrai_segments.npy"), np.stack(segs_all).astype(np.int16))
        manifest = {
            "peer": "saliency (PAIR)", "version": saliency.__version__ if hasattr(saliency, "__version__") else "0.2.1",
            "scikit-image": skimage.__version__, "numpy": np.__version__, "tensorflow": tf.__version__,
            "model": name, "model_copy": "tf_keras copy (savedmodels/build_zoo.py architecture, weights by name)",
            "logits_max_abs_diff": d_logits, "classes": classes,
            "xrai": {"steps": 100, "baselines": "image min and max (PAIR default)", "ig": "numpy.linspace(0, 1, 100), sum/100",
                     "scales": xrai._FELZENSZWALB_SCALE_VALUES, "sigma": xrai._FELZENSZWALB_SIGMA_VALUES,
                     "min_size": xrai._FELZENSZWALB_MIN_SEGMENT_SIZE, "resize": xrai._FELZENSZWALB_IM_RESIZE,
                     "value_range": xrai._FELZENSZWALB_IM_VALUE_RANGE, "dilation_rad": 5,
                     "area_threshold": 1.0, "min_pixel_diff": 50, "batch_size": 100},
            "checks": {"merge_alone_equals_end_to_end": exact_merge},
        }
        with open(os.path.join(odir, "pair_xrai.json"), "w") as fh:
            json.dump(manifest, fh, indent=1)
        print(name, "done; logits max |diff|", d_logits, file=sys.stderr)


if __name__ == "__main__":
    main()
