"""Goldens of package segment: scikit-image's felzenszwalb, slic and quickshift labels.

Writes segment/testdata/: the input images it makes (RGB photos of skimage.data
resized to 224x224, 8-bit PNG), each segmentation as a 16-bit grayscale PNG of
labels, the quickshift tie-breaking noise as float64 .npy, and manifest.json
(every parameter, the scikit-image version). Run with bench/.venv/bin/python
(make segment-goldens). The Go test TestSkimageGoldens reads them.
"""
import json
import os
import sys

import numpy as np
import skimage
from PIL import Image
from skimage import data, segmentation, transform

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "segment", "testdata")
SAMPLES = os.path.join(ROOT, "savedmodels", "samples")
NPZ_INDICES = [0, 1, 2, 3, 4, 5, 6, 7]


def save_labels(name, labels):
    labels = np.asarray(labels)
    assert labels.min() >= 0 and labels.max() < 65536, name
    Image.fromarray(labels.astype(np.uint16)).save(os.path.join(OUT, name))
    return name


def as_input(u8):
    """The Go side's input: uint8/255 rounded to float32 (then float64, as skimage computes)."""
    return (u8.astype(np.float64) / 255.0).astype(np.float32).astype(np.float64)


def pair_resize(im):
    """PAIR saliency 0.2.1's xrai._normalize_image(im, [-1, 1], (224, 224)) on the float32 model input."""
    from saliency.core import xrai
    return xrai._normalize_image(im.astype(np.float32), [-1.0, 1.0], (224, 224))


def main():
    os.makedirs(OUT, exist_ok=True)
    images = []  # (name, file, float64 HWC in [0,1] or PAIR range, kind)
    for f in sorted(os.listdir(SAMPLES)):
        if f.endswith(".png") and not f.endswith("_mask.png"):
            a = as_input(np.asarray(Image.open(os.path.join(SAMPLES, f)).convert("L")))
            images.append(dict(name=f[:-4], file="../../savedmodels/samples/" + f, gray=a))
    ts = np.load(os.path.join(SAMPLES, "fmnist_test_1000.npz"))["images"]
    for i in NPZ_INDICES:
        images.append(dict(name="npz_%04d" % i, npz="../../savedmodels/samples/fmnist_test_1000.npz",
                           index=i, gray=as_input(ts[i])))
    photos = {"astronaut": data.astronaut(), "coffee": data.coffee(), "chelsea": data.chelsea()}
    for name, im in photos.items():
        small = transform.resize(im, (224, 224), anti_aliasing=True)
        small = np.clip(np.round(small * 255.0), 0, 255).astype(np.uint8)
        f = "photo_%s.png" % name
        Image.fromarray(small).save(os.path.join(OUT, f))
        images.append(dict(name="photo_" + name, file=f, rgb=as_input(small)))

    cases = []

    def add(img, algo, params, labels, extra=None):
        name = "%s_%s_%d.png" % (img["name"], algo, sum(1 for c in cases if c["image"] == img["name"] and c["algo"] == algo))
        c = dict(image=img["name"], algo=algo, params=params,
                 labels=save_labels(name, labels), n=int(np.unique(labels).size))
        for k in ("file", "npz", "index"):
            if k in img:
                c[k] = img[k]
        if extra:
            c.update(extra)
        cases.append(c)

    fz_sets = [dict(scale=1.0, sigma=0.8, min_size=20), dict(scale=100.0, sigma=0.5, min_size=50)]
    for img in images:
        x = img.get("gray")
        x3 = x[..., None] if x is not None else img["rgb"]
        for p in fz_sets:
            add(img, "felzenszwalb", p, segmentation.felzenszwalb(x3, **p))
        if x is not None:
            slic_sets = [dict(n_segments=100, compactness=0.1), dict(n_segments=30, compactness=0.05, sigma=1.0),
                         dict(n_segments=60, compactness=0.2, enforce_connectivity=False)]
            for p in slic_sets:
                add(img, "slic", p, segmentation.slic(x, channel_axis=None, start_label=0, **p))
            qs_sets = [dict(ratio=1.0, kernel_size=2.0, max_dist=4.0, convert2lab=False),
                       dict(ratio=0.5, kernel_size=3.0, max_dist=6.0, sigma=0.5, convert2lab=False)]
        else:
            slic_sets = [dict(n_segments=100, compactness=10.0), dict(n_segments=250, compactness=20.0, sigma=1.0),
                         dict(n_segments=50, compactness=5.0, enforce_connectivity=False)]
            for p in slic_sets:
                add(img, "slic", p, segmentation.slic(x3, start_label=0, **p))
            qs_sets = [dict(ratio=1.0, kernel_size=5.0, max_dist=10.0), dict(ratio=0.5, kernel_size=3.0, max_dist=6.0, sigma=1.0)]
        h, w = x3.shape[:2]
        extra = None
        if h * w <= 64 * 64:  # the small ones only: the Go side draws the same noise itself
            noise = np.random.default_rng(42).normal(scale=0.00001, size=(h, w))
            extra = dict(noise="noise42_%dx%d.npy" % (h, w))
            np.save(os.path.join(OUT, extra["noise"]), noise)
        for p in qs_sets:
            add(img, "quickshift", p, segmentation.quickshift(x3, rng=42, **p), extra)
        if img["name"].startswith("npz_"):
            # PAIR saliency 0.2.1 XRAI's pipeline: [-1, 1], bicubic resize to 224x224, six scales.
            r = pair_resize(x3)
            for scale in [50, 100, 150, 250, 500, 1200]:
                p = dict(scale=float(scale), sigma=0.8, min_size=150)
                add(img, "felzenszwalb", p, segmentation.felzenszwalb(r, **p), dict(pair_resize=[224, 224]))

    # ResizeCubic's goldens: PAIR's resize of a zoo image (up) and skimage's of a photo (down).
    resized = []
    up = next(i for i in images if i["name"] == "npz_0000")
    r = pair_resize(up["gray"][..., None])
    assert r.dtype == np.float32, r.dtype
    np.save(os.path.join(OUT, "resize_npz_0000_224.npy"), r)
    resized.append(dict(image="npz_0000", npz=up["npz"], index=up["index"], normalize=[-1.0, 1.0],
                        shape=[224, 224], out="resize_npz_0000_224.npy"))
    down = next(i for i in images if i["name"] == "photo_chelsea")
    r = transform.resize(down["rgb"].astype(np.float32), (80, 96), order=3, mode="constant",
                         preserve_range=True, anti_aliasing=True)
    assert r.dtype == np.float32, r.dtype
    np.save(os.path.join(OUT, "resize_photo_chelsea_80x96.npy"), r)
    resized.append(dict(image="photo_chelsea", file=down["file"], shape=[80, 96], out="resize_photo_chelsea_80x96.npy"))

    # ResizeNearest's golden: XRAI's segments of a zoo image mapped back to 28x28 as PAIR does.
    seg = np.asarray(Image.open(os.path.join(OUT, "npz_0000_felzenszwalb_2.png")), dtype=np.int64)
    back = transform.resize(seg, (28, 28), order=0, preserve_range=True, mode="constant",
                            anti_aliasing=False).astype(int)
    nearest = dict(labels="npz_0000_felzenszwalb_2.png", shape=[28, 28],
                   out=save_labels("nearest_npz_0000_felzenszwalb_2_28.png", back))

    manifest = dict(peer="scikit-image", version=skimage.__version__, numpy=np.__version__,
                    note="inputs are 8-bit images scaled to [0,1] and rounded to float32, computed in float64; labels are 16-bit PNG; "
                         "quickshift noise (28x28 and 64x64) is numpy default_rng(42).normal(scale=1e-5, size=(h, w)) as skimage draws it; "
                         "pair_resize: PAIR saliency 0.2.1 xrai._normalize_image of the float32 image to [-1,1] and 224x224 (order 3, mode constant, float32 result); resize: ResizeCubic goldens",
                    cases=cases, resize=resized, nearest=nearest)
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    print("%d cases into %s" % (len(cases), OUT), file=sys.stderr)


if __name__ == "__main__":
    main()
