#!/usr/bin/env python3
"""Images with transparent pixels, and what PIL makes of them (images/testdata/pil).

The images package drops alpha the way PIL's Image.convert("RGB") and convert("L") do: each
pixel keeps the colour it stores, whatever its alpha. This script writes small images of
every kind that carries transparency, and golden.json with PIL's convert("RGB"),
convert("L") and the alpha of convert("RGBA") of each, which images/pil_test.go compares
with the Go decoding.

- PNG, written here byte by byte (so that every colour type and bit depth is covered, which
  no encoder writes on its own): RGBA 8 and 16 bits (a Fashion-MNIST ankle boot cut out on
  a transparent background whose stored colour is yellow, and random pixels), gray + alpha
  8 and 16 bits, palettes of 8 and 2 bits with a tRNS chunk (transparent entries with
  colours), gray 8 and 4 bits and RGB 8 and 16 bits with a tRNS colour, 16-bit gray;
- GIF with a transparent palette entry of a colour (PIL's encoder);
- TIFF RGBA with unassociated alpha (PIL's encoder) and with associated (premultiplied)
  alpha (the same file with ExtraSamples set to 1);
- WebP lossless (exact: the colour under alpha 0 kept), lossy with alpha, lossy of odd
  width and height (libwebp's chroma upsampling at the edges), and the ankle boot, lossy.

It also writes, into images/testdata/unsupported, files of the variants that saliency refuses
with an error naming them (images_test.go): TIFF with 32-bit float samples, CMYK, JPEG
compression, gray + alpha, separate colour planes, and an animated WebP.

Usage: .venv/bin/python scripts/golden_pil.py
"""
import io
import json
import os
import struct
import zlib

import numpy as np
import PIL
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "images", "testdata", "pil")
BOOT = os.path.join(ROOT, "savedmodels", "samples", "fmnist_0000_ankle-boot.png")


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(width, height, depth, ctype, rows, plte=None, trns=None):
    """A PNG of the given colour type and bit depth; rows are the packed scanlines."""
    assert len(rows) == height
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, ctype, 0, 0, 0))
    if plte is not None:
        out += chunk(b"PLTE", bytes(plte))
    if trns is not None:
        out += chunk(b"tRNS", bytes(trns))
    raw = b"".join(b"\x00" + bytes(r) for r in rows)
    return out + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def rows16(a):
    """Scanlines of a uint16 array [H, W, C], big-endian."""
    return [a[y].astype(">u2").tobytes() for y in range(a.shape[0])]


def pack(indices, bits):
    """Scanline of sub-byte samples, most significant first."""
    per = 8 // bits
    out = bytearray()
    for i in range(0, len(indices), per):
        v = 0
        for j in range(per):
            s = indices[i + j] if i + j < len(indices) else 0
            v |= s << (8 - bits * (j + 1))
        out.append(v)
    return bytes(out)


def files(rng):
    out = {}
    # A cut-out garment: the ankle boot opaque, its background transparent with a
    # yellow stored colour, the pixels at its edge half transparent.
    boot = np.asarray(Image.open(BOOT).convert("L"))
    h, w = boot.shape
    rgba = np.zeros((h, w, 4), np.uint8)
    rgba[..., 0], rgba[..., 1], rgba[..., 2] = 230, 200, 40
    garment = boot > 0
    for c in range(3):
        rgba[..., c][garment] = boot[garment]
    rgba[..., 3] = np.where(garment, 255, 0)
    rgba[..., 3][(boot > 0) & (boot < 40)] = 128
    out["garment_rgba8.png"] = png(w, h, 8, 6, [rgba[y].tobytes() for y in range(h)])

    # Random RGBA, 8 and 16 bits: alpha 0, 1, 128, 255 and others.
    a8 = rng.integers(0, 256, (4, 5, 4), dtype=np.uint8)
    a8[0, :, 3] = [0, 0, 1, 128, 255]
    out["rgba8.png"] = png(5, 4, 8, 6, [a8[y].tobytes() for y in range(4)])
    a16 = rng.integers(0, 65536, (4, 5, 4), dtype=np.uint16)
    a16[0, :, 3] = [0, 0, 1, 0x8000, 0xFFFF]
    a16[1, :, :3] = (rng.integers(0, 256, (5, 3)) * 257).astype(np.uint16)  # 8-bit values widened
    out["rgba16.png"] = png(5, 4, 16, 6, rows16(a16))

    # Gray + alpha, 8 and 16 bits.
    la8 = rng.integers(0, 256, (3, 4, 2), dtype=np.uint8)
    la8[0, :, 1] = [0, 0, 77, 255]
    out["la8.png"] = png(4, 3, 8, 4, [la8[y].tobytes() for y in range(3)])
    la16 = rng.integers(0, 65536, (3, 4, 2), dtype=np.uint16)
    la16[0, :, 1] = [0, 0, 0x4000, 0xFFFF]
    out["la16.png"] = png(4, 3, 16, 4, rows16(la16))

    # Palettes with tRNS: the transparent entries have colours; tRNS is shorter than the
    # palette (the entries after it are opaque).
    plte = rng.integers(0, 256, (6, 3), dtype=np.uint8)
    trns = [0, 90, 0, 255]
    idx = rng.integers(0, 6, (4, 5), dtype=np.uint8)
    idx[0, :4] = [0, 1, 2, 3]
    out["p8_trns.png"] = png(5, 4, 8, 3, [idx[y].tobytes() for y in range(4)], plte=plte.tobytes(), trns=trns)
    plte2 = rng.integers(0, 256, (4, 3), dtype=np.uint8)
    idx2 = rng.integers(0, 4, (3, 7))
    idx2[0, :4] = [0, 1, 2, 3]
    out["p2_trns.png"] = png(7, 3, 2, 3, [pack(idx2[y].tolist(), 2) for y in range(3)], plte=plte2.tobytes(), trns=[0, 200])

    # A tRNS colour in gray and truecolour images: the pixels of that value are transparent.
    g8 = rng.integers(0, 256, (3, 5), dtype=np.uint8)
    g8[0, :2] = 143
    out["g8_trns.png"] = png(5, 3, 8, 0, [g8[y].tobytes() for y in range(3)], trns=struct.pack(">H", 143))
    g4 = rng.integers(0, 16, (3, 6))
    g4[0, :2] = 9
    out["g4_trns.png"] = png(6, 3, 4, 0, [pack(g4[y].tolist(), 4) for y in range(3)], trns=struct.pack(">H", 9))
    rgb8 = rng.integers(0, 256, (3, 4, 3), dtype=np.uint8)
    rgb8[0, :2] = [250, 20, 120]
    out["rgb8_trns.png"] = png(4, 3, 8, 2, [rgb8[y].tobytes() for y in range(3)], trns=struct.pack(">HHH", 250, 20, 120))
    rgb16 = rng.integers(0, 65536, (3, 4, 3), dtype=np.uint16)
    rgb16[0, :2] = [0x12FF, 0x8080, 0xFFFE]
    out["rgb16_trns.png"] = png(4, 3, 16, 2, rows16(rgb16), trns=struct.pack(">HHH", 0x12FF, 0x8080, 0xFFFE))

    # 16-bit gray: PIL opens it as I;16 and its convert clips at 255.
    g16 = rng.integers(0, 65536, (2, 5, 1), dtype=np.uint16)
    g16[0, :3, 0] = [0, 200, 255 * 257]
    out["g16.png"] = png(5, 2, 16, 0, rows16(g16))

    # GIF: palette entry 2 is transparent and red.
    gif = Image.new("P", (5, 3))
    pal = rng.integers(0, 256, (8, 3), dtype=np.uint8)
    pal[2] = [220, 30, 30]
    gif.putpalette(pal.ravel().tolist())
    gi = rng.integers(0, 8, (3, 5), dtype=np.uint8)
    gi[0, :3] = 2
    gif.putdata(gi.ravel().tolist())
    b = io.BytesIO()
    gif.save(b, "GIF", transparency=2, optimize=False)
    out["trns.gif"] = b.getvalue()

    # TIFF RGBA: unassociated alpha as PIL writes it, then associated (premultiplied:
    # the stored colours are valid premultiplied values, at most alpha).
    t = rng.integers(0, 256, (3, 4, 4), dtype=np.uint8)
    t[0, :, 3] = [0, 0, 128, 255]
    b = io.BytesIO()
    Image.fromarray(t, "RGBA").save(b, "TIFF")
    out["rgba.tif"] = b.getvalue()
    pm = t.copy()
    for c in range(3):
        pm[..., c] = (t[..., c].astype(np.int32) * t[..., 3] // 255).astype(np.uint8)
    pm[0, 0, :3] = [90, 60, 30]  # alpha 0 over a stored colour: no valid premultiplied value
    b = io.BytesIO()
    Image.fromarray(pm, "RGBA").save(b, "TIFF")
    out["rgba_assoc.tif"] = extra_samples(bytearray(b.getvalue()), 1)

    # WebP: lossless keeping the colour under alpha 0 (exact), and lossy with alpha on
    # a flat-coloured image (the decoders differ in chroma upsampling).
    b = io.BytesIO()
    Image.fromarray(a8, "RGBA").save(b, "WEBP", lossless=True, exact=True)
    out["rgba_lossless.webp"] = b.getvalue()
    flat = np.zeros((16, 16, 4), np.uint8)
    flat[...] = [40, 120, 200, 255]
    flat[:8, :, :3] = [200, 180, 60]
    flat[:4, :, 3] = 0
    b = io.BytesIO()
    Image.fromarray(flat, "RGBA").save(b, "WEBP", quality=90, exact=True)
    out["rgba_lossy.webp"] = b.getvalue()
    b = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(flat[:15, :13, :3]), "RGB").save(b, "WEBP", quality=80)
    out["rgb_lossy_odd.webp"] = b.getvalue()
    b = io.BytesIO()
    Image.fromarray(boot, "L").convert("RGB").save(b, "WEBP", quality=90)
    out["boot_lossy.webp"] = b.getvalue()
    return out


def set_tag(raw, tag, value):
    """The little-endian TIFF raw with the SHORT tag set to value."""
    assert raw[:2] == b"II"
    off = struct.unpack("<I", raw[4:8])[0]
    for i in range(struct.unpack("<H", raw[off:off + 2])[0]):
        e = off + 2 + 12 * i
        if struct.unpack("<H", raw[e:e + 2])[0] == tag:
            raw[e + 8:e + 10] = struct.pack("<H", value)
            return bytes(raw)
    raise ValueError("no tag %d" % tag)


def extra_samples(raw, value):
    """The TIFF raw with its ExtraSamples tag (338) set to value."""
    return set_tag(raw, 338, value)


def unsupported(rng):
    out = {}
    px = rng.integers(0, 256, (4, 6, 3), dtype=np.uint8)
    for name, im, kw in [
        ("float32.tif", Image.fromarray(px[..., 0].astype(np.float32) / 255, "F"), {}),
        ("cmyk.tif", Image.fromarray(px, "RGB").convert("CMYK"), {}),
        ("jpeg.tif", Image.fromarray(px, "RGB"), {"compression": "jpeg"}),
        ("gray_alpha.tif", Image.fromarray(px[..., :2], "LA"), {}),
    ]:
        b = io.BytesIO()
        im.save(b, "TIFF", **kw)
        out[name] = b.getvalue()
    b = io.BytesIO()
    Image.fromarray(px, "RGB").save(b, "TIFF")
    out["planar.tif"] = set_tag(bytearray(b.getvalue()), 284, 2)  # PlanarConfiguration
    frames = [Image.fromarray(px, "RGB"), Image.fromarray(255 - px, "RGB")]
    b = io.BytesIO()
    frames[0].save(b, "WEBP", save_all=True, append_images=frames[1:], duration=100, lossless=True)
    out["animated.webp"] = b.getvalue()
    return out


def main():
    rng = np.random.default_rng(20261206)
    os.makedirs(OUT, exist_ok=True)
    cases = []
    for name, data in files(rng).items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
        im = Image.open(io.BytesIO(data))
        im.load()
        rgb = np.asarray(im.convert("RGB"))
        gray = np.asarray(im.convert("L"))
        alpha = np.asarray(im.convert("RGBA"))[..., 3] if im.mode in ("RGBA", "LA", "P", "RGBa") or "transparency" in im.info else np.full(gray.shape, 255, np.uint8)
        cases.append({"file": name, "mode": im.mode, "width": im.width, "height": im.height,
                      "rgb": rgb.ravel().tolist(), "l": gray.ravel().tolist(), "alpha": alpha.ravel().tolist()})
    with open(os.path.join(OUT, "golden.json"), "w") as f:
        json.dump({"source": "PIL " + PIL.__version__, "cases": cases}, f, separators=(",", ":"))
        f.write("\n")
    bad = os.path.join(ROOT, "images", "testdata", "unsupported")
    os.makedirs(bad, exist_ok=True)
    for name, data in unsupported(rng).items():
        with open(os.path.join(bad, name), "wb") as f:
            f.write(data)
    print("wrote", len(cases), "images and golden.json to", OUT, "and the unsupported variants to", bad)


if __name__ == "__main__":
    main()
