#!/usr/bin/env python3
"""Convert a PyTorch or ONNX image classifier to a SavedModel folder with a card.yaml that saliency reads,
checked against the original network on real images.

Usage (in the converter venv that `make import-venv` makes, not the main one):

    scripts/import/.venv/bin/python scripts/import_model.py SOURCE OUT_DIR [options]

SOURCE is one of

    --torch FILE.py --class NAME [--weights STATE.pt] [--kwargs JSON]
                              a torch.nn.Module class in a Python file, built with NAME(**kwargs) and filled
                              with the state dict (torch.save(model.state_dict(), ...); a dict holding it under
                              "state_dict" or "model" works too); every key must match
    --torchscript FILE.pt     a TorchScript module (torch.jit.save)
    --onnx FILE.onnx          an ONNX model with one NCHW image input and one [N, K] output
    --torchvision NAME        a torchvision.models architecture (resnet18, ...) with --weights, or random
                              weights (torch.manual_seed(--seed)) when none are given: for tests and trials
        [--torchvision-weights W]
                              torchvision's weights W of that architecture (IMAGENET1K_V1, DEFAULT or
                              ResNet18_Weights.IMAGENET1K_V1): the card's class names, input size and mean/std
                              come from their metadata (the eval transform they were published with), the
                              state dict from --weights or else torch's hub cache, where torchvision puts what it
                              downloads (this script never downloads)

Options:

    --size N                  input height and width (default 224; an ONNX input of fixed size sets it)
    --grayscale               one input channel (default three, RGB)
    --classes "a,b,..."       class names in output order (or --classes-file FILE, one per line);
                              default "class 0", "class 1", ...
    --scale S --offset O      x = pixel*S + O for pixels in [0, 255]; default 1/255 and 0
    --mean M,... --std S,...  then x = (x - mean[c]) / std[c]; default --torchvision-weights' own, else
                              torchvision's ImageNet 0.485,0.456,0.406 and 0.229,0.224,0.225; --no-normalize
                              for none
    --converter C             auto (default), nobuco or onnx2tf
    --images A.png,B.jpg,...  the images the conversion is checked on (default: three photographs and a
                              Fashion-MNIST sample of the repository), resized to the input size
    --tolerance T             largest logit difference allowed, relative to the largest |logit| (1e-4)
    --name NAME, --force      the card's name (default OUT_DIR's base name); replace OUT_DIR

Converters (measured by scripts/import/compare_converters.py): a torch module (--torch, --torchvision) goes
through nobuco (PyTorch -> Keras 2): on torchvision's resnet18 its input gradient is 8e-4 of the largest
from torch.autograd's, onnx2tf's 3e-2, and it converts in half the time. TorchScript and ONNX go through
onnx2tf (TorchScript is exported to ONNX first, opset 17). Either way the SavedModel takes NHWC float32 images
[N, size, size, C] ("images"; the layout change is inside the model) and returns logits [N, K] ("logits").

The check: the SavedModel's logits on the images equal the original's (torch, or onnxruntime for an ONNX
file) to the tolerance; otherwise nothing is written and the exit status is 1, with the largest difference,
its image and class. An op a converter cannot convert is an error naming the op and the converter's message.

Layer names: a torch module's conversion names each layer after the module whose output it computes, matched on
the check images and two of noise with forward hooks (layer4.1.conv2; a module's second call is layer4.1.relu-2),
and the card's `layers:` lists after a layer the modules that end in its output (layer4.1, layer4), so that
`-layer layer4` works and a torchvision ResNet's default CAM layer is layer4; the functions a forward() calls are
named after the module (layer4.1.add), from nobuco's trace. Through onnx2tf (ONNX, TorchScript) the same names
come from the ONNX node names torch.onnx.export writes (/layer4/layer4.1/conv2/Conv), matched on the same batch
run by onnxruntime; an ONNX file from another exporter keeps onnx2tf's names. A module exported here keeps its
batch norms (TrainingMode.PRESERVE). In an ONNX file exported in eval mode (torch.onnx.export's default), or
simplified by onnx-simplifier or onnxoptimizer, each batch norm is folded into the convolution before it; such a
convolution (its weights or bias not the module's own parameters, which keep their names) computes the batch
norm's output, so neither it nor a container ending in it is given a module name, and a note lists them.
--no-module-names keeps the converter's names.

`bin/saliency inspect OUT_DIR` then shows the model, its layers and its default CAM layer.
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import warnings

# torch's deprecation notices (torch.jit.load, the TorchScript ONNX exporter) are not the user's business here.
warnings.filterwarnings("ignore", category=FutureWarning)
warnings.filterwarnings("ignore", category=DeprecationWarning)

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "import"))
sys.path.insert(0, HERE)

PROG = "import_model"


def fail(msg):
    print("%s: %s" % (PROG, msg), file=sys.stderr)
    sys.exit(1)


def parse_args():
    ap = argparse.ArgumentParser(prog="import_model.py", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--torch", metavar="FILE.py", help="Python file defining the torch.nn.Module class")
    src.add_argument("--torchscript", metavar="FILE.pt")
    src.add_argument("--onnx", metavar="FILE.onnx")
    src.add_argument("--torchvision", metavar="NAME", help="a torchvision.models architecture")
    ap.add_argument("out", help="SavedModel folder to write")
    ap.add_argument("--class", dest="cls", metavar="NAME", help="the module class in --torch's file")
    ap.add_argument("--weights", metavar="STATE.pt", help="state dict for --torch or --torchvision")
    ap.add_argument("--kwargs", default="{}", metavar="JSON", help="keyword arguments of the class")
    ap.add_argument("--seed", type=int, default=0,
                    help="torch's seed before the model is built: --torchvision's random weights, or the "
                         "initialisation --torch's constructor draws (without --weights)")
    ap.add_argument("--size", type=int, default=None)
    ap.add_argument("--grayscale", action="store_true")
    ap.add_argument("--classes")
    ap.add_argument("--classes-file")
    ap.add_argument("--torchvision-weights", metavar="NAME",
                    help="torchvision weights of --torchvision's architecture (IMAGENET1K_V1, DEFAULT, ...): "
                         "the card's classes, input size and mean/std from their metadata")
    ap.add_argument("--scale", type=float, default=1.0 / 255.0)
    ap.add_argument("--offset", type=float, default=0.0)
    ap.add_argument("--mean", default=None)
    ap.add_argument("--std", default=None)
    ap.add_argument("--no-normalize", action="store_true", help="no mean/std step")
    ap.add_argument("--converter", default="auto", choices=["auto", "nobuco", "onnx2tf"])
    ap.add_argument("--images", default=None)
    ap.add_argument("--tolerance", type=float, default=1e-4)
    ap.add_argument("--name")
    ap.add_argument("--force", action="store_true")
    ap.add_argument("--no-module-names", action="store_true",
                    help="keep the converter's layer names (conv2d_19) instead of the torch module paths")
    args = ap.parse_args()
    if args.torch and not args.cls:
        ap.error("--torch needs --class NAME")
    if args.cls and not args.torch:
        ap.error("--class goes with --torch")
    if args.weights and not (args.torch or args.torchvision):
        ap.error("--weights goes with --torch or --torchvision")
    if args.torchvision_weights and not args.torchvision:
        ap.error("--torchvision-weights goes with --torchvision")
    if args.no_normalize and (args.mean or args.std):
        ap.error("--no-normalize and --mean/--std contradict each other")
    return args


def torchvision_weights(args):
    """The torchvision weights enum member --torchvision-weights names for --torchvision's architecture."""
    from torchvision.models import get_model_weights
    try:
        enum = get_model_weights(args.torchvision)
    except (ValueError, KeyError):
        fail("--torchvision-weights: torchvision has no weights for %s" % args.torchvision)
    given = args.torchvision_weights
    prefix, _, name = given.rpartition(".")
    if prefix and prefix != enum.__name__:
        fail("--torchvision-weights %s: %s's weights are %s, not %s" % (given, args.torchvision, enum.__name__,
                                                                          prefix))
    try:
        return enum[name]
    except KeyError:
        fail("--torchvision-weights %s: %s has %s" % (given, enum.__name__,
                                                      ", ".join(["DEFAULT"] + [m.name for m in enum])))


def weights_preprocessing(w):
    """(size, mean, std, resize) of torchvision weights' own eval transform: the centre crop's size, the
    normalisation, and the shorter side it resizes to before cropping."""
    t = w.transforms()
    crop = list(getattr(t, "crop_size", []) or [])
    resize = list(getattr(t, "resize_size", []) or [])
    return (int(crop[0]) if crop else None, [float(v) for v in t.mean], [float(v) for v in t.std],
            int(resize[0]) if resize else None)


def hub_state_dict(w):
    """The state dict of torchvision weights w from torch's hub cache, where torchvision downloads it: this
    script never downloads."""
    import torch
    path = os.path.join(torch.hub.get_dir(), "checkpoints", os.path.basename(w.url))
    if not os.path.isfile(path):
        fail("--torchvision-weights %s: its state dict is not in torch's hub cache (%s); download %s there "
             "(torchvision does on a machine with the internet) or give the file with --weights" % (
                 w, path, w.url))
    try:
        return torch.load(path, map_location="cpu", weights_only=True), path
    except Exception as e:
        fail("%s: cannot read it as a state dict: %s" % (path, first_line(e)))


def load_torch_module(args, tv_weights=None):
    """The torch module SOURCE names, in eval mode (tv_weights: --torchvision-weights' enum member)."""
    import torch
    if args.torchscript:
        try:
            return torch.jit.load(args.torchscript, map_location="cpu").eval()
        except Exception as e:
            fail("%s: cannot load it as TorchScript: %s" % (args.torchscript, first_line(e)))
    if args.torchvision:
        import torchvision
        import torch2tf
        ctor = getattr(torchvision.models, args.torchvision, None)
        if ctor is None or not callable(ctor) or args.torchvision.startswith("_"):
            fail("--torchvision %s: no such torchvision.models architecture" % args.torchvision)
        torch.manual_seed(args.seed)
        if tv_weights is not None:
            model = ctor(weights=None, num_classes=len(tv_weights.meta["categories"]))
            if not args.weights:
                state, path = hub_state_dict(tv_weights)
                load_state(model, state, path)
        else:
            model = ctor(weights=None)
            if not args.weights:
                torch2tf.randomize_bn(model, args.seed)
    else:
        import importlib.util
        if not os.path.isfile(args.torch):
            fail("%s: no such file" % args.torch)
        spec = importlib.util.spec_from_file_location("import_model_user_module", args.torch)
        mod = importlib.util.module_from_spec(spec)
        sys.path.insert(0, os.path.dirname(os.path.abspath(args.torch)))
        try:
            spec.loader.exec_module(mod)
        except Exception as e:
            fail("%s: %s: %s" % (args.torch, e.__class__.__name__, first_line(e)))
        cls = getattr(mod, args.cls, None)
        if cls is None:
            names = [n for n, v in vars(mod).items() if isinstance(v, type) and issubclass(v, torch.nn.Module)
                     and v.__module__ == mod.__name__]
            fail("%s: no class %s (its torch.nn.Module classes: %s)" % (args.torch, args.cls,
                                                                       ", ".join(names) or "none"))
        try:
            kwargs = json.loads(args.kwargs)
        except ValueError as e:
            fail("--kwargs %r: not JSON: %s" % (args.kwargs, e))
        torch.manual_seed(args.seed)  # the constructor's initialisation, when no --weights replace it
        try:
            model = cls(**kwargs)
        except Exception as e:
            fail("%s: %s(**%s): %s" % (args.torch, args.cls, kwargs, first_line(e)))
        if not isinstance(model, torch.nn.Module):
            fail("%s: %s is not a torch.nn.Module" % (args.torch, args.cls))
    if args.weights:
        if not os.path.isfile(args.weights):
            fail("%s: no such file" % args.weights)
        try:
            state = torch.load(args.weights, map_location="cpu", weights_only=True)
        except Exception as e:
            fail("%s: cannot read it as a state dict: %s" % (args.weights, first_line(e)))
        if isinstance(state, dict):
            for key in ("state_dict", "model"):
                if isinstance(state.get(key), dict):
                    state = state[key]
        load_state(model, state, args.weights)
    return model.eval()


def load_state(model, state, path):
    """Fills model with the state dict read from path; every key must match."""
    if not isinstance(state, dict):
        fail("%s: holds a %s, not a state dict" % (path, type(state).__name__))
    got = model.load_state_dict(state, strict=False)
    if got.missing_keys or got.unexpected_keys:
        fail("%s: does not fit the model: missing %s; unexpected %s" % (
            path, short(got.missing_keys), short(got.unexpected_keys)))


# Why a torch module name is given to no layer (the card's unnamed_layers).
FOLDED_REASON = ("a batch norm was folded into the convolution that ends this module (in the ONNX file), so no "
                 "layer computes the module's own output; torch.onnx.export(..., "
                 "training=torch.onnx.TrainingMode.PRESERVE) on the module in eval mode keeps it")
MISSING_REASON = ("no layer of the converted model computes this module's output on the probe images (the "
                  "converter merged it into other ops)")


def short(keys, n=5):
    keys = list(keys)
    return (", ".join(keys[:n]) + (" and %d more" % (len(keys) - n) if len(keys) > n else "")) or "none"


def first_line(e):
    s = str(e).strip()
    return s.splitlines()[0] if s else e.__class__.__name__


def onnx_input(path):
    """(input name, [N, C, H, W] with -1 for unknown dims, output count, input element type: "float", "uint8",
    ...) of an ONNX file."""
    import onnx
    try:
        m = onnx.load(path, load_external_data=False)
    except Exception as e:
        fail("%s: cannot read it as ONNX: %s" % (path, first_line(e)))
    inits = {i.name for i in m.graph.initializer}
    ins = [i for i in m.graph.input if i.name not in inits]
    if len(ins) != 1:
        fail("%s has %d inputs; saliency explains models with one image input" % (path, len(ins)))
    dims = [d.dim_value if d.HasField("dim_value") else -1 for d in ins[0].type.tensor_type.shape.dim]
    if len(dims) != 4:
        fail("%s: input %s has shape %s, not an NCHW image batch" % (path, ins[0].name, dims))
    dtype = onnx.helper.tensor_dtype_to_np_dtype(ins[0].type.tensor_type.elem_type).name \
        if ins[0].type.tensor_type.elem_type else "of no element type"
    return ins[0].name, dims, len(m.graph.output), "float" if dtype == "float32" else dtype


def main():
    args = parse_args()
    if os.path.exists(args.out) and not args.force:
        fail("%s exists; --force replaces it" % args.out)
    for f in (args.torch, args.torchscript, args.onnx, args.weights, args.classes_file):
        if f and not os.path.isfile(f):
            fail("%s: no such file" % f)

    import torch2tf  # sets TF_USE_LEGACY_KERAS before TensorFlow loads
    from export_savedmodel import class_names, floats, input_range

    channels = 1 if args.grayscale else 3
    # The preprocessing: what the options say, else the torchvision weights' own eval transform, else
    # torchvision's ImageNet normalisation (said on stderr at the end: the logit check cannot tell).
    from_weights, resize_side = None, None
    tv_weights = torchvision_weights(args) if args.torchvision_weights else None
    if tv_weights is not None:
        wsize, wmean, wstd, resize_side = weights_preprocessing(tv_weights)
        from_weights = str(tv_weights)
        args.size = args.size or wsize
        if not args.no_normalize:
            args.mean = args.mean or ",".join("%r" % v for v in wmean)
            args.std = args.std or ",".join("%r" % v for v in wstd)
    if not args.no_normalize and channels == 1 and not (args.mean and args.std):
        fail("--grayscale: the default --mean and --std are ImageNet's, for three channels; give the one-channel "
             "values the model was trained with (Fashion-MNIST's are --mean 0.2860 --std 0.3530), or "
             "--no-normalize for x = pixel/255")
    if not args.no_normalize:
        args.mean = args.mean or "0.485,0.456,0.406"
        args.std = args.std or "0.229,0.224,0.225"
    mean = floats(args.mean, "--mean") if args.mean else None
    std = floats(args.std, "--std") if args.std else None
    for key, v in (("mean", mean), ("std", std)):
        if v is not None and len(v) != channels:
            fail("--%s has %d values for %d channels" % (key, len(v), channels))
    if std is not None and any(s == 0 for s in std):
        fail("--std has a zero")

    source = args.onnx or args.torchscript or args.torch or ("torchvision." + args.torchvision)
    # Weights nobody gave: said on stderr and in the card, so that a random network is never taken for a trained one.
    untrained = None
    if args.torchvision and not args.weights and tv_weights is None:
        untrained = ("random weights (torch.manual_seed(%d), batch-norm statistics randomised): no --weights or "
                     "--torchvision-weights" % args.seed)
    elif args.torch and not args.weights:
        untrained = "the weights %s's constructor gives (torch.manual_seed(%d)): no --weights" % (args.cls, args.seed)
    converter = args.converter
    if converter == "auto":
        converter = "onnx2tf" if (args.onnx or args.torchscript) else "nobuco"
    if args.onnx and converter == "nobuco":
        fail("--onnx: nobuco converts torch modules; use --converter onnx2tf (the default for ONNX)")
    if args.torchscript and converter == "nobuco":
        fail("--torchscript: nobuco traces Python modules, not TorchScript; use --converter onnx2tf "
             "(the default for TorchScript)")

    size = args.size
    model = None
    if args.onnx:
        in_name, dims, n_out, dtype = onnx_input(args.onnx)
        if n_out != 1:
            fail("%s has %d outputs; saliency explains one [N, K] output" % (args.onnx, n_out))
        if dtype != "float":
            fail("%s: input %s is %s; import_model converts ONNX files whose input is float32 images in model "
                 "units (the preprocessing goes into the card): export the module from the float input on" % (
                     args.onnx, in_name, dtype))
        shape = "[%s]" % ", ".join("N" if i == 0 else (str(d) if d > 0 else "?") for i, d in enumerate(dims))
        if dims[1] not in (1, 3) and dims[3] in (1, 3):
            fail("%s: input %s is %s, channels last (NHWC); import_model takes PyTorch's layout, NCHW [N, C, H, W] "
                 "(it puts the transpose to NHWC into the SavedModel itself): export the module without its "
                 "permute" % (args.onnx, in_name, shape))
        if dims[1] > 0 and dims[1] != channels:
            fail("%s: input %s has %d channels; %s" % (
                args.onnx, in_name, dims[1], {3: "drop --grayscale", 1: "add --grayscale"}.get(
                    dims[1], "saliency explains images of 1 (--grayscale) or 3 channels")))
        if dims[2] > 0 and dims[3] > 0:
            if dims[2] != dims[3]:
                fail("%s: input %s is %dx%d; import_model handles square inputs" % (args.onnx, in_name,
                                                                                     dims[2], dims[3]))
            if size is not None and size != dims[2]:
                fail("--size %d: %s's input %s is %dx%d" % (size, args.onnx, in_name, dims[2], dims[3]))
            size = dims[2]
    else:
        model = load_torch_module(args, tv_weights)
    size = size or 224

    import numpy as np
    paths = args.images.split(",") if args.images else torch2tf.SAMPLE_IMAGES
    try:
        pixels = torch2tf.load_pixels(paths, size, channels)
    except (OSError, ValueError) as e:
        fail("--images: %s" % first_line(e))
    x = torch2tf.normalize(pixels, args.scale, args.offset, mean, std)  # NCHW

    # The original's logits.
    if args.onnx:
        import onnxruntime as ort
        try:
            sess = ort.InferenceSession(args.onnx, providers=["CPUExecutionProvider"])
            want = sess.run(None, {in_name: x})[0]
        except Exception as e:
            fail("%s: onnxruntime cannot run it on [%d, %d, %d, %d]: %s" % (args.onnx, *x.shape, first_line(e)))
    else:
        import torch
        try:
            with torch.no_grad():
                want = model(torch.from_numpy(x))
        except Exception as e:
            fail("%s: the module fails on a batch [%d, %d, %d, %d]: %s" % (source, *x.shape, first_line(e)))
        if not isinstance(want, torch.Tensor):
            fail("%s: the module returns a %s, not one tensor of class scores" % (source, type(want).__name__))
        want = want.numpy()
    if want.ndim != 2:
        fail("%s: output shape %s is not class scores [N, K]" % (source, list(want.shape)))
    k = want.shape[1]

    try:
        if tv_weights is not None and not (args.classes or args.classes_file):
            classes = [str(c) for c in tv_weights.meta["categories"]]
            if len(classes) != k:
                fail("--torchvision-weights %s: %d categories for the model's %d outputs" % (
                    args.torchvision_weights, len(classes), k))
        else:
            classes = class_names(args.classes_file, args.classes, k)
    except ValueError as e:
        fail(str(e))

    # The layers are named by matching values on a probe batch: the check images and two of Gaussian noise (in
    # model units, scale 1 and 3). On images alone a module's output can equal its input's (a ReLU whose input is
    # positive there), and the name could go to the layer before it.
    probe = np.concatenate([x, torch2tf.noise_images(x.shape[1:], 2)])

    parent = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(parent, exist_ok=True)
    work = tempfile.mkdtemp(prefix=".import_model_", dir=parent)
    tmp_out = os.path.join(work, "savedmodel")
    try:
        t0 = time.perf_counter()
        try:
            onnx_path = os.path.join(work, "model.onnx")
            if args.onnx:
                onnx_path = os.path.abspath(args.onnx)
                keras_model = torch2tf.to_keras_onnx2tf(onnx_path, os.path.join(work, "onnx2tf"))
            elif converter == "onnx2tf":
                torch2tf.export_onnx(model, size, onnx_path, channels)
                keras_model = torch2tf.to_keras_onnx2tf(onnx_path, os.path.join(work, "onnx2tf"))
            else:
                try:
                    keras_model = torch2tf.to_keras_nobuco(model, size, channels, probe=probe)
                except torch2tf.ConversionError as e:
                    if args.converter != "auto":
                        raise
                    # nobuco lacks an op: the ONNX route may have it.
                    print("%s: note: %s; trying onnx2tf" % (PROG, e), file=sys.stderr)
                    first = e
                    converter = "onnx2tf"
                    try:
                        torch2tf.export_onnx(model, size, onnx_path, channels)
                        keras_model = torch2tf.to_keras_onnx2tf(onnx_path, os.path.join(work, "onnx2tf"))
                    except torch2tf.ConversionError as e2:
                        raise torch2tf.ConversionError("%s; %s" % (first, e2))
            # The torch module names, matched on the probe batch, before the save: the graph's scopes carry them.
            layers, naming, withheld = None, None, []
            if not args.no_module_names:
                if converter == "nobuco":
                    functional = torch2tf.functional_outputs(model)
                    layers, naming = torch2tf.name_layers(model, keras_model, probe, functional=functional)
                else:
                    # The ONNX file's node names carry the torch module scopes (/layer4/layer4.1/conv2/Conv).
                    modules = None if model is None else {n for n, _ in model.named_modules()}
                    calls, functional, withheld = torch2tf.onnx_scope_outputs(onnx_path, probe, modules)
                    if calls or functional:
                        layers, naming = torch2tf.name_layers(None, keras_model, probe, functional=functional,
                                                              calls=calls)
            torch2tf.save_keras(keras_model, tmp_out, size, channels)
        except torch2tf.ConversionError as e:
            fail("%s: cannot convert it: %s" % (source, e))
        except Exception as e:  # a converter's own failure while building or saving the model
            fail("%s: cannot convert it: %s: %s: %s" % (source, converter, e.__class__.__name__, first_line(e)))
        seconds = time.perf_counter() - t0

        import tensorflow as tf
        loaded = tf.saved_model.load(tmp_out)
        fn = loaded.signatures["serving_default"]
        # The card's output.kind from the op the output comes from: saliency refuses a card whose kind is not the
        # graph's (a softmax head is "probabilities", a log_softmax one "log-probabilities", a sigmoid one
        # "sigmoid"), and explains the logits behind the head.
        head = torch2tf.output_head(fn)
        out_kind = {"softmax": "probabilities", "log_softmax": "log-probabilities", "sigmoid": "sigmoid"}.get(
            head, "logits")
        if k == 1 and head in ("softmax", "log_softmax"):
            fail("%s's %s is over one column: its output is the same for every image, whatever the input (a binary "
                 "classifier's one logit takes a sigmoid); no card written" % (source, head))
        if k == 1 and out_kind == "logits":
            # A binary classifier's one logit (BCEWithLogitsLoss): its probability is its sigmoid, as saliency reads
            # a one-column output (it refuses output.kind logits there: the softmax of one logit is 1).
            out_kind = "sigmoid"
        try:
            got = fn(images=tf.constant(np.transpose(x, (0, 2, 3, 1))))["logits"].numpy()
        except Exception as e:
            node = [l.strip() for l in str(e).splitlines() if "node " in l]
            fail("the converted model (%s) fails on a batch of %d images: %s%s; no card written" % (
                converter, len(x), first_line(e), (" (" + node[0] + ")") if node else ""))
        if got.shape != want.shape:
            fail("the converted model returns %s for %s's %s" % (list(got.shape), source, list(want.shape)))
        diff = np.abs(got - want)
        top = float(np.abs(want).max()) or 1.0
        rel = float(diff.max()) / top
        i, c = np.unravel_index(int(diff.argmax()), diff.shape)
        if not np.isfinite(got).all() or rel > args.tolerance:
            fail("the converted model's logits differ from %s's: largest difference %.3g (%.3g of the largest "
                 "|logit| %.3g; allowed %g) at image %s, class %d (%s: %.6g, converted: %.6g); no card written" % (
                     source, float(diff.max()), rel, top, args.tolerance, paths[i], c, source, want[i, c],
                     got[i, c]))

        pre = {"grayscale": channels == 1, "resize": [size, size], "scale": args.scale, "offset": args.offset}
        formula = "x = pixel * %g + %g" % (args.scale, args.offset)
        if mean is not None:
            pre["mean"] = mean
            formula += ", then (x - mean) / std"
        if std is not None:
            pre["std"] = std
        pre["formula"] = formula
        rng = argparse.Namespace(offset=args.offset, scale=args.scale, mean=args.mean, std=args.std)
        import tensorflow as tf  # noqa: F811
        description = "converted from %s by scripts/import_model.py (%s); %s equal the original's to " \
                      "%.2g relative on %d images" % (os.path.basename(source), converter,
                                                       "logits" if out_kind == "logits" else "outputs", rel, len(paths))
        if from_weights:
            description += "; classes and normalisation of %s" % from_weights
            if resize_side and resize_side != size:
                description += (" (whose eval transform resizes the shorter side to %d and crops the centre "
                                "%dx%d: saliency resizes the whole image, so crop images beforehand for the "
                                "same framing)" % (resize_side, size, size))
        if untrained:
            description += "; " + untrained
        if withheld:
            description += ("; %d torch module names are not given to layers, as a batch norm was folded into "
                            "their convolution (%s)" % (len(withheld), short(withheld)))
        card = {
            "name": args.name or os.path.basename(os.path.normpath(args.out)),
            "description": description,
            "framework": "%s, tensorflow %s" % (framework(converter, args), tf.__version__),
            "classes": classes,
            "input": {"signature_key": "images", "shape": [-1, size, size, channels], "dtype": "float32",
                      "range": [float(v) for v in input_range(rng, channels)],
                      "color": "grayscale" if channels == 1 else "rgb"},
            "output": {"signature_key": "logits", "shape": [-1, k], "kind": out_kind},
            "preprocessing": pre,
        }
        if model is not None:
            card["total_params"] = int(sum(p.numel() for p in model.parameters()))
        if layers:
            card["layers"] = layers
        # The module names no layer is given, with why: saliency's -layer then says so rather than "not found".
        reasons = dict.fromkeys(withheld, FOLDED_REASON)  # in order, each name once
        for n in naming["missing"] if naming else []:
            reasons.setdefault(n, MISSING_REASON)
        layer_names = {l["name"] for l in layers or []}
        unnamed = [{"name": n, "reason": r} for n, r in reasons.items() if n not in layer_names]
        if unnamed:
            card["unnamed_layers"] = unnamed
        import yaml
        with open(os.path.join(tmp_out, "card.yaml"), "w") as f:
            yaml.safe_dump(card, f, sort_keys=False, width=120)
        if args.force and os.path.exists(args.out):
            shutil.rmtree(args.out)
        os.rename(tmp_out, args.out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    # The logit check feeds both sides the same normalised tensor, so it cannot tell whether the card's
    # preprocessing is the one the model was trained with: say what was assumed when nothing was given.
    given = {a.split("=")[0] for a in sys.argv[1:]}
    if untrained:
        print("%s: note: %s; the maps will explain that network" % (PROG, untrained), file=sys.stderr)
    if from_weights and resize_side and resize_side != size:
        print("%s: note: %s's eval transform resizes the shorter side to %d and crops the centre %dx%d; saliency "
              "resizes the whole image to %dx%d, so crop the images beforehand for the framing the model was "
              "trained on" % (PROG, from_weights, resize_side, size, size, size, size), file=sys.stderr)
    elif not from_weights and not given & {"--mean", "--std", "--no-normalize", "--scale", "--offset"}:
        print("%s: note: the card assumes torchvision's preprocessing, x = (pixel/255 - mean)/std with ImageNet's "
              "mean %s and std %s; a model trained otherwise needs --mean/--std, --scale/--offset or "
              "--no-normalize, or every map is of wrongly scaled inputs" % (PROG, args.mean, args.std), file=sys.stderr)
    print("%s: SavedModel and card.yaml from %s by %s in %.1f s (%d classes, input %dx%dx%d NHWC, %s); "
          "outputs equal the original's on %d images to %.2g (%.2g of the largest |output|)" % (
              args.out, source, converter, seconds, k, size, size, channels, out_kind, len(paths),
              float(diff.max()), rel))
    if naming:
        print("%s: layers named after the torch modules and functions: %d layers, %d modules that end in "
              "another's output (aliases)%s" % (args.out, naming["named"], naming["aliases"],
                               "; not found in the converted model: " + short(naming["missing"])
                               if naming["missing"] else ""))
    if withheld:
        print("%s: note: %d module names are not given: a batch norm was folded into their convolution after the "
              "module (its weights or bias are not the module's parameters), so that layer's "
              "output is the batch norm's, not theirs: %s. torch.onnx.export(..., "
              "training=torch.onnx.TrainingMode.PRESERVE) on the module in eval mode keeps the batch norms, and "
              "the names" % (PROG, len(withheld), short(withheld, 8)), file=sys.stderr)


def framework(converter, args):
    import importlib.metadata as md
    v = ["torch %s" % md.version("torch")] if not args.onnx else ["onnx %s" % md.version("onnx")]
    v.append("%s %s" % (converter, md.version(converter)))
    return ", ".join(v)


if __name__ == "__main__":
    main()
