"""PyTorch / ONNX -> TensorFlow SavedModel conversion shared by scripts/import_model.py and the checks in
scripts/import (issue 23). Runs in the converter venv (`make import-venv`), never in the main one.

Importing this module sets TF_USE_LEGACY_KERAS=1 (tf.keras is tf_keras, Keras 2: both converters build Keras 2
models) before TensorFlow loads.
"""
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["TF_USE_LEGACY_KERAS"] = "1"

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# torchvision's ImageNet normalisation: x = (pixel/255 - mean) / std.
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]

# The real images the conversion is checked on: three photographs (skimage.data's astronaut, chelsea, coffee,
# committed for the segmentation goldens) and a Fashion-MNIST sample as RGB.
SAMPLE_IMAGES = [
    "segment/testdata/photo_astronaut.png",
    "segment/testdata/photo_chelsea.png",
    "segment/testdata/photo_coffee.png",
    "savedmodels/samples/fmnist_0000_ankle-boot.png",
]


class ConversionError(Exception):
    """A converter could not convert the model; the message names the op where the converter does."""


def keras2_as_keras():
    """Make `import keras` give tf_keras (Keras 2): nobuco 0.17.0 imports Keras 2 internals (keras.src.engine)."""
    import tf_keras
    import tf_keras.src.engine.keras_tensor  # noqa: F401  (nobuco's first internal import)
    for name in [n for n in sys.modules if n == "keras" or n.startswith("keras.")]:
        if not getattr(sys.modules[name], "__name__", "").startswith("tf_keras"):
            del sys.modules[name]
    for name, mod in list(sys.modules.items()):
        if name == "tf_keras" or name.startswith("tf_keras."):
            sys.modules["keras" + name[len("tf_keras"):]] = mod
    return tf_keras


# ---- models used by the checks (random weights) --------------------------------------------------------------

MODELS = ["resnet18", "mobilenet_v3_small", "efficientnet_b0", "small_vit", "small_cnn"]
# Checked on request only (--models vit_b_16): 330 MB of random weights, minutes on 2 cores.
EXTRA_MODELS = ["vit_b_16"]


def randomize_bn(model, seed):
    """Give every batch norm non-trivial running statistics and affine weights (a fresh module has mean 0, var 1,
    which hides a converter that drops or misplaces them)."""
    import torch
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, (torch.nn.BatchNorm2d, torch.nn.BatchNorm1d)):
            with torch.no_grad():
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) * 0.5 + 0.75)
                if m.affine:
                    m.weight.copy_(torch.rand(m.weight.shape, generator=g) * 0.5 + 0.75)
                    m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)


def test_model_source(name):
    """How scripts/import_model.py builds `name`: ("torchvision", NAME) or ("torch", file, class)."""
    if name == "small_cnn":
        return ("torch", os.path.join(os.path.dirname(os.path.abspath(__file__)), "testmodels.py"), "SmallCNN")
    if name == "small_vit":
        return ("torch", os.path.join(os.path.dirname(os.path.abspath(__file__)), "testmodels.py"), "SmallViT")
    return ("torchvision", name)


def build_model(name, seed=0):
    """The model `name` with random weights (torch.manual_seed(seed)), in eval mode, and its input size."""
    import torch
    import torchvision
    torch.manual_seed(seed)
    if name in ("small_cnn", "small_vit"):
        import testmodels
        model, size = (testmodels.SmallCNN() if name == "small_cnn" else testmodels.SmallViT()), 64
    elif name in ("resnet18", "mobilenet_v3_small", "efficientnet_b0", "vit_b_16"):
        model, size = getattr(torchvision.models, name)(weights=None), 224
        if name == "vit_b_16":  # torchvision initialises the head to zeros: every logit and gradient would be 0
            g = torch.Generator().manual_seed(seed)
            with torch.no_grad():
                model.heads.head.weight.copy_(torch.randn(model.heads.head.weight.shape, generator=g) * 0.02)
                model.heads.head.bias.copy_(torch.randn(model.heads.head.bias.shape, generator=g) * 0.1)
    else:
        raise ValueError("unknown model %r (want one of %s)" % (name, ", ".join(MODELS)))
    randomize_bn(model, seed)
    return model.eval(), size


# ---- inputs -----------------------------------------------------------------------------------------------------

def noise_images(shape, n, seed=0):
    """n images of Gaussian noise in model units (float32 [n, *shape]), the k-th of scale 3**k: for telling
    apart by value two layers that compute the same on natural images (a ReLU and its positive input)."""
    import numpy as np
    rng = np.random.RandomState(seed)
    return np.stack([rng.standard_normal(shape) * 3.0 ** k for k in range(n)]).astype(np.float32)


def load_pixels(paths, size, channels=3):
    """The images at `paths` (relative to the repository or absolute) as uint8 [N, size, size, channels] (RGB,
    or grayscale for one channel), resized with PIL's bilinear filter."""
    import numpy as np
    from PIL import Image
    out = []
    for p in paths:
        full = p if os.path.isabs(p) else os.path.join(REPO, p)
        with Image.open(full) as im:
            a = np.asarray(im.convert("RGB" if channels == 3 else "L").resize((size, size), Image.BILINEAR),
                           dtype=np.uint8)
        out.append(a if channels == 3 else a[..., None])
    return np.stack(out)


def normalize(pixels, scale=1 / 255.0, offset=0.0, mean=IMAGENET_MEAN, std=IMAGENET_STD):
    """x = (pixel*scale + offset - mean) / std as NCHW float32 (torch's layout)."""
    import numpy as np
    x = pixels.astype(np.float32) * np.float32(scale) + np.float32(offset)
    if mean is not None:
        x = x - np.asarray(mean, np.float32)
    if std is not None:
        x = x / np.asarray(std, np.float32)
    return np.ascontiguousarray(np.transpose(x, (0, 3, 1, 2)))


def sample_inputs(size, paths=SAMPLE_IMAGES):
    return normalize(load_pixels(paths, size))


# ---- conversion ---------------------------------------------------------------------------------------------------

def first_line(e):
    s = str(e).strip()
    return s.splitlines()[0] if s else e.__class__.__name__


_EXTRA_CONVERTERS = []


def register_nobuco_extras():
    """Conversions nobuco 0.17.0 lacks for common torch calls: torch.relu and Tensor.relu (it has F.relu,
    torch.relu_ and nn.ReLU); and torchvision's StochasticDepth as the identity it is in eval mode."""
    if _EXTRA_CONVERTERS:
        return
    import torch
    import tensorflow as tf
    import nobuco
    from nobuco.commons import ChannelOrderingStrategy
    from nobuco.converters.node_converter import CONVERTER_DICT
    from nobuco.trace.trace import Tracer

    ops = [op for op in (torch.relu, torch.Tensor.relu) if Tracer.op_undecorate(op) not in CONVERTER_DICT]
    if ops:
        @nobuco.converter(*ops, channel_ordering_strategy=ChannelOrderingStrategy.MINIMUM_TRANSPOSITIONS)
        def converter_torch_relu(input):
            return lambda input: tf.nn.relu(input)
        _EXTRA_CONVERTERS.append(converter_torch_relu)

    import torchvision.ops

    # nobuco turns torchvision's StochasticDepth (EfficientNet, ConvNeXt) into Keras' ConvNeXt StochasticDepth layer,
    # whose training branch cannot be saved (len() of a symbolic shape). In eval mode the module is the identity.
    @nobuco.converter(torchvision.ops.StochasticDepth,
                      channel_ordering_strategy=ChannelOrderingStrategy.MINIMUM_TRANSPOSITIONS)
    def converter_stochastic_depth(self, input):
        if self.training and self.p > 0:
            raise ConversionError("torchvision.ops.StochasticDepth in training mode (the module is put in eval "
                                  "mode before conversion)")
        return lambda input: tf.identity(input)
    _EXTRA_CONVERTERS.append(converter_stochastic_depth)


# nobuco's trace of the last to_keras_nobuco call (its PytorchNodeHierarchy), for functional_outputs.
LAST_TRACE = []


def to_keras_nobuco(model, size, channels=3, probe=None):
    """nobuco: the torch module -> a Keras 2 model whose input is NHWC [N, size, size, channels].

    trace_shape=True: the module's x.shape / x.size() calls become graph ops, so a reshape that reads the batch size
    (torchvision's VisionTransformer) keeps the batch dynamic instead of the traced batch of 1. Every call of a
    module becomes a Keras layer of its own (keep_module_calls), for name_layers. The trace runs on probe (NCHW
    [N, channels, size, size]; one image of zeros when None) and is kept in LAST_TRACE."""
    keras2_as_keras()
    import torch
    import nobuco
    import nobuco.convert as nc
    from nobuco import ChannelOrder
    register_nobuco_extras()
    keep_module_calls()
    x = torch.zeros(1, channels, size, size) if probe is None else torch.from_numpy(probe.copy())
    del LAST_TRACE[:]
    trace = nc.Tracer.trace

    def keep_trace(*args, **kwargs):
        h = trace(*args, **kwargs)
        LAST_TRACE.append(h)
        return h
    import io
    import contextlib
    buf = io.StringIO()
    try:
        nc.Tracer.trace = keep_trace
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(io.StringIO()):  # its progress bars
            keras_model = nobuco.pytorch_to_keras(
                model, args=[x], inputs_channel_order=ChannelOrder.TENSORFLOW,
                outputs_channel_order=ChannelOrder.PYTORCH, input_shapes={x: (None, channels, size, size)},
                trace_shape=True, debug_traces=nobuco.TraceLevel.NEVER)
    except Exception as e:
        missing = unimplemented_ops(buf.getvalue())
        if missing:
            raise ConversionError("nobuco 0.17.0 has no conversion for %s (%s)" % (missing, first_line(e)))
        raise ConversionError("nobuco 0.17.0: %s" % first_line(e))
    finally:
        nc.Tracer.trace = trace
    return keras_model


def functional_outputs(model):
    """The torch functions a module's forward() calls outside its submodules (the residual add of a BasicBlock,
    torch.flatten, torch.relu), from nobuco's last trace (LAST_TRACE), with their outputs on the trace's input:
    [(name, function, output)], named "<module>.<function>" ("layer4.1.add"; "flatten" in the model's own forward;
    the k-th call of the same function in a module "layer4.1.add-k"). Calls inside a module without submodules
    (nn.ReLU's F.relu) are that module's and are left out."""
    import torch
    if not LAST_TRACE:
        return []
    path = {id(m): n for n, m in model.named_modules()}
    leaf = {id(m) for m in model.modules() if not any(True for _ in m.children())}
    out, counts = [], {}

    def walk(h, where, inside_leaf):
        node = h.node
        if node.is_module():
            inst = node.wrapped_op.op
            where = path.get(id(inst), where)
            inside_leaf = inside_leaf or id(inst) in leaf
        elif not inside_leaf:
            op = node.wrapped_op.op
            fn = getattr(op, "__name__", type(op).__name__)
            if fn.startswith("__") and fn.endswith("__"):
                fn = fn.strip("_")
                if fn.startswith("i") and fn[1:] in ("add", "sub", "mul", "truediv", "and", "or"):
                    fn = fn[1:]  # in place: out += identity is an add
            ts = [t for t in node.output_tensors if isinstance(t, torch.Tensor)]
            if ts and ts[0].is_floating_point():
                name = (where + "." if where else "") + fn
                counts[name] = counts.get(name, 0) + 1
                label = name if counts[name] == 1 else "%s-%d" % (name, counts[name])
                out.append((label, fn, ts[0].detach().numpy().copy()))
            return  # what a function calls inside is the function's
        for c in h.children:
            walk(c, where, inside_leaf)
    walk(LAST_TRACE[-1], "", False)
    return out


def unimplemented_ops(log):
    """The ops nobuco's report marks as unimplemented or failed (its console output), as "a, b"."""
    import re
    starts = [i for i in (log.find("Unimplemented nodes:"), log.find("Failed nodes:")) if i >= 0]
    tail = log[min(starts):] if starts else ""
    # nobuco marks each unconverted call in reverse video: ESC[7m name[module]
    bad = []
    for name, module in re.findall(r"\x1b\[7m([\w.]+)\[([\w.]+)\]", tail):
        op = "%s.%s" % (module, name)
        if op not in bad:
            bad.append(op)
    return ", ".join(bad)


def export_onnx(model, size, path, channels=3, opset=17, fold_batchnorm=False):
    """torch.onnx.export with the TorchScript exporter (dynamo=False), opset 17, a dynamic batch. The module is in
    eval mode; the export keeps it as it is (TrainingMode.PRESERVE), so a batch norm stays a node of its own: in
    TrainingMode.EVAL, torch.onnx.export's default, the exporter folds it into the convolution before it, and that
    convolution's output is no longer the convolution module's (fold_batchnorm=True exports so, as a user's own
    ONNX file usually is). A TorchScript module is exported once: a second export of the same module object has
    no module scopes in its node names."""
    import torch
    import io
    import contextlib
    x = torch.zeros(1, channels, size, size)
    mode = torch.onnx.TrainingMode.EVAL if fold_batchnorm else torch.onnx.TrainingMode.PRESERVE
    if model.training:
        raise ConversionError("the module is in training mode: call .eval() before the export")
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            torch.onnx.export(model, (x,), path, opset_version=opset, dynamo=False, input_names=["images"],
                              output_names=["logits"], training=mode,
                              dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}})
    except Exception as e:
        raise ConversionError("torch.onnx.export: %s" % first_line(e))


def to_keras_onnx2tf(onnx_path, workdir):
    """onnx2tf (its tf_converter backend): the .onnx file -> a Keras 2 model whose input is NHWC."""
    import io
    import contextlib
    import inspect
    import onnx2tf
    buf = io.StringIO()
    cwd = os.getcwd()
    os.makedirs(workdir, exist_ok=True)
    os.chdir(workdir)  # onnx2tf writes side files into the working directory
    # onnx2tf 2.x chooses a TFLite backend (tf_converter: TensorFlow's, as 1.x always used); 1.x has no such option.
    extra = {}
    if "tflite_backend" in inspect.signature(onnx2tf.convert).parameters:
        extra["tflite_backend"] = "tf_converter"
    try:
        with contextlib.redirect_stdout(buf):
            keras_model = onnx2tf.convert(input_onnx_file_path=onnx_path, output_folder_path=workdir,
                                          disable_model_save=True, non_verbose=True, verbosity="error", **extra)
    except BaseException as e:  # onnx2tf calls sys.exit(1) on an unsupported op
        if isinstance(e, KeyboardInterrupt):
            raise
        raise ConversionError("onnx2tf: %s %s" % (first_line(e), onnx2tf_error(buf.getvalue())))
    finally:
        os.chdir(cwd)
    if keras_model is None:
        raise ConversionError("onnx2tf returned no model %s" % onnx2tf_error(buf.getvalue()))
    return keras_model


def onnx2tf_error(log):
    lines = [l.strip() for l in log.splitlines() if "ERROR" in l or "op_type" in l or "onnx_op_name" in l]
    return ("(" + "; ".join(lines[-4:]) + ")") if lines else ""


def save_keras(keras_model, out, size, channels=3):
    """Save a Keras 2 model as a SavedModel whose serving_default takes `images` float32 [N, size, size, channels]
    and returns {"logits": [N, K]}; Keras' layer scopes name the ops."""
    import tensorflow as tf

    class Serve(tf.Module):
        def __init__(self, m):
            super().__init__()
            self.model = m

        @tf.function(input_signature=[tf.TensorSpec([None, size, size, channels], tf.float32, name="images")])
        def serve(self, images):
            return {"logits": self.model(images, training=False)}

    s = Serve(keras_model)
    tf.saved_model.save(s, out, signatures={"serving_default": s.serve})


def convert(model, size, out, converter, channels=3, workdir=None):
    """Convert the torch module (eval mode, NCHW input [N, channels, size, size]) to a SavedModel folder `out`
    with an NHWC input, by converter "nobuco" or "onnx2tf". Returns the conversion time in seconds."""
    t0 = time.perf_counter()
    if converter == "nobuco":
        keras_model = to_keras_nobuco(model, size, channels)
    elif converter == "onnx2tf":
        workdir = workdir or out + ".onnx2tf"
        os.makedirs(workdir, exist_ok=True)
        onnx_path = os.path.join(workdir, "model.onnx")
        export_onnx(model, size, onnx_path, channels)
        keras_model = to_keras_onnx2tf(onnx_path, workdir)
    else:
        raise ValueError("unknown converter %r" % converter)
    save_keras(keras_model, out, size, channels)
    return time.perf_counter() - t0


def graph_node_names(fn):
    """Every node name of a concrete function's graph and of the functions it calls."""
    gd = fn.graph.as_graph_def()
    names = [n.name for n in gd.node]
    for f in gd.library.function:
        names += [n.name for n in f.node_def]
    return names


# ---- torch module names ---------------------------------------------------------------------------------------

def keep_module_calls(enable=True):
    """Make nobuco give every call of a torch module its own Keras layer (its convert_hierarchy reuses one layer
    for a module called twice, as torchvision's BasicBlock calls its ReLU): each call can then carry its own name,
    and the block's last ReLU is a layer of its own."""
    import nobuco.convert as nc
    orig = getattr(nc.convert_hierarchy, "_import_model_orig", nc.convert_hierarchy)
    if not enable:
        nc.convert_hierarchy = orig
        return

    def convert_hierarchy(*args, **kwargs):
        kwargs["reuse_layers"] = False
        return orig(*args, **kwargs)
    convert_hierarchy._import_model_orig = orig
    nc.convert_hierarchy = convert_hierarchy


def module_outputs(model, x):
    """Run the torch module on x (NCHW) with a forward hook on every submodule: [(name, class, output)] in the
    order the calls end (a module after its children). A module called k > 1 times is "name", "name-2", ...,
    "name-k"; an output that is a tuple counts by its first tensor (nn.MultiheadAttention)."""
    import torch
    calls, counts, hooks = [], {}, []

    def hook(name):
        def f(mod, inputs, out):
            if isinstance(out, (tuple, list)) and out and isinstance(out[0], torch.Tensor):
                out = out[0]
            if not isinstance(out, torch.Tensor):
                return
            counts[name] = counts.get(name, 0) + 1
            label = name if counts[name] == 1 else "%s-%d" % (name, counts[name])
            calls.append((label, type(mod).__name__, out.detach().numpy().copy()))
        return f
    for name, mod in model.named_modules():
        if name:
            hooks.append(mod.register_forward_hook(hook(name)))
    try:
        with torch.no_grad():
            model(torch.from_numpy(x))
    finally:
        for h in hooks:
            h.remove()
    return calls


def gradcam_unscaled(model, module, x, classes, reshape=None):
    """pytorch-grad-cam's GradCAM of `module` for the classes of x (NCHW tensor): (its ReLU'd map at the layer's
    resolution before its min-max scaling and resize, [N, h, w]; its own output, scaled and resized)."""
    import numpy as np
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
    raw = []
    gc = GradCAM(model=model, target_layers=[module], reshape_transform=reshape)
    orig = gc.get_cam_image

    def record(*a, **k):
        r = orig(*a, **k)
        raw.append(np.array(r))
        return r
    gc.get_cam_image = record
    with gc:
        out = gc(input_tensor=x, targets=[ClassifierOutputTarget(int(c)) for c in classes])
    return np.maximum(raw[0], 0), out


def onnx_scope_path(node_name):
    """The torch module path of an ONNX node exported by torch.onnx ("/layer4/layer4.1/conv2/Conv" ->
    "layer4.1.conv2"; "/Flatten" -> ""), from its scope names: each scope is a module's attribute name, with the
    parent's before a numeric one ("layer4.1"). None for a node name without scopes (another exporter's)."""
    if not node_name.startswith("/"):
        return None
    scopes = onnx_scopes(node_name)
    return scopes[-1] if scopes else ""


def onnx_scopes(node_name):
    """The module paths of an ONNX node name's scopes, outermost first: "/layer2/layer2.0/downsample/downsample.0/Conv"
    -> ["layer2", "layer2.0", "layer2.0.downsample", "layer2.0.downsample.0"]. The exporter names a child of a
    Sequential or ModuleList by the container's own attribute name and its index ("downsample.0"), any other child
    by its attribute name ("conv1")."""
    out, path, local = [], "", ""
    for c in node_name.split("/")[1:-1]:
        if not c:
            continue
        if path and c.startswith(local + "."):
            path, local = path + c[len(local):], c
        else:
            path, local = (path + "." + c) if path else c, c
        out.append(path)
    return out


def onnx_scope_outputs(onnx_path, x, modules=None):
    """The module calls and functions of an ONNX file exported from torch, from its node names (onnx_scope_path),
    with their outputs on x (NCHW, run by onnxruntime): ([(name, op, output)] in the order the calls end, as
    module_outputs gives them: a module's output is the one value its nodes make that a node outside it reads;
    [(name, op, output)] of the nodes directly in a module that has submodules, as functional_outputs gives
    them: "layer4.1.add", "flatten" at the top).
    Nodes without scopes (another exporter's names) give nothing.

    modules, when given, is the torch module's named_modules() paths: the exporter names a module's second call
    with a suffix ("layer1.0.relu_1", where there is no such module); with the paths, it is named as on the torch
    route ("layer1.0.relu-2"). Without them (an ONNX file alone) the exporter's name is kept: a module may be
    called relu_1.

    A convolution whose weights or bias are not parameters of its module (a parameter keeps its name,
    "layer1.0.conv1.weight"; a constant the exporter made is "onnx::Conv_196", one onnx-simplifier made "_v_176", a
    value onnxoptimizer computes is no initializer at all) was changed after the module: torch.onnx.export in eval
    mode, onnx-simplifier and onnxoptimizer's fuse_bn_into_conv fold the batch norm after a convolution into it,
    and then the convolution's output is the batch norm's, which has no node left. The names whose output is such
    a convolution's (the convolution module, and a container that ends in it: the batch norm may have been inside
    or outside it) are left out of both lists and returned as the third, so that no layer is named after a module
    whose output it does not compute."""
    import numpy as np
    import onnx
    import onnxruntime as ort
    m = onnx.load(onnx_path)
    try:
        typed = onnx.shape_inference.infer_shapes(m)
        kind = {v.name: v.type.tensor_type.elem_type for v in list(typed.graph.value_info) + list(typed.graph.output)}
    except Exception:
        kind = {}
    nodes = [n for n in m.graph.node if n.op_type != "Constant" and n.output
             and kind.get(n.output[0]) == onnx.TensorProto.FLOAT]
    paths = [onnx_scope_path(n.name) for n in nodes]
    if not any(paths):
        return [], [], []
    made = {n.output[0]: n.input[0] for n in m.graph.node if n.op_type == "Identity" and n.input and n.output}
    params = {i.name for i in m.graph.initializer}

    def source(name):  # an Identity chain back to its initializer
        seen = 0
        while name in made and seen < 64:
            name, seen = made[name], seen + 1
        return name

    def own(name, path):
        # A parameter of the module at path as torch.onnx.export names it ("layer1.0.conv1.weight"), an initializer
        # or an Identity of one (the exporter writes a parameter equal to another's as an Identity of that one).
        return (not name.startswith("onnx::") and (not path or name.startswith(path + "."))
                and source(name) in params)
    folded = set()
    for n in m.graph.node:
        path = onnx_scope_path(n.name)
        if n.op_type == "Conv" and path is not None and not all(own(v, path) for v in n.input[1:3] if v):
            folded.add(n.output[0])
    parents = set()
    for p in paths:
        parts = (p or "").split(".")
        for i in range(1, len(parts)):
            parents.add(".".join(parts[:i]))
    counts = {}

    def called(path):  # the module of an exporter's scope for a second call: "layer1.0.relu_1" -> "layer1.0.relu"
        if modules is None or path in modules:
            return path
        base, _, k = path.rpartition("_")
        return base if base in modules and k.isdigit() else path

    def label(name):
        name = called(name)
        counts[name] = counts.get(name, 0) + 1
        return name if counts[name] == 1 else "%s-%d" % (name, counts[name])

    # A scope's nodes, wherever they are in the graph's order (a sibling branch's nodes may come between them:
    # a ResNet's downsample conv, bn2, then the downsample's batch norm), and what reads each value.
    members, funcs = {}, []
    for i, (n, p) in enumerate(zip(nodes, paths)):
        if p is None:
            continue
        ch = onnx_scopes(n.name)
        for c in ch:
            members.setdefault(c, []).append(i)
        if not ch or ch[-1] in parents:
            funcs.append(((called(ch[-1]) + "." if ch else "") + n.op_type.lower(), n.op_type, n.output[0]))
    readers = {}  # value -> the scopes of each node that reads it
    for n in m.graph.node:
        if n.op_type in ("Shape", "Size"):  # reads a value's shape, not the value
            continue
        for v in n.input:
            readers.setdefault(v, []).append(set(onnx_scopes(n.name)))
    graph_out = {o.name for o in m.graph.output}
    # A module call's output is the one value its nodes make that a node outside it reads (or the graph returns).
    # The exporter gives each call a scope of its own (relu, relu_1), so a scope is one call; a scope with several
    # such values (a module returning a tuple) is named nowhere.
    ends = []
    for path, idx in members.items():
        outs = [i for i in idx if nodes[i].output[0] in graph_out or any(
            path not in r for r in readers.get(nodes[i].output[0], []))]
        if len(outs) == 1:
            ends.append((outs[0], -path.count("."), path))  # in the order the calls end, inner first
    calls = [(label(path), nodes[i].op_type, nodes[i].output[0]) for i, _, path in sorted(ends)]
    # Function names count apart from module names.
    fcounts, named = {}, []
    for name, op, out in funcs:
        fcounts[name] = fcounts.get(name, 0) + 1
        named.append((name if fcounts[name] == 1 else "%s-%d" % (name, fcounts[name]), op, out))
    withheld = [name for name, _, o in calls + named if o in folded]
    calls = [c for c in calls if c[2] not in folded]
    named = [f for f in named if f[2] not in folded]
    want = sorted({o for _, _, o in calls} | {o for _, _, o in named})
    have = {o.name for o in m.graph.output}
    for o in want:
        if o not in have:
            m.graph.output.append(onnx.helper.make_tensor_value_info(o, onnx.TensorProto.FLOAT, None))
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    vals = dict(zip(want, sess.run(want, {sess.get_inputs()[0].name: x.astype(np.float32)})))
    return ([(name, op, vals[o]) for name, op, o in calls],
            [(name, op, vals[o]) for name, op, o in named], withheld)


class _Scope:
    """The nodes of a graph or of a function body being walked, with what the caller passed for each of the
    function's input arguments (args: name -> the caller's input, in parent); the signature's graph (no parent) has
    the values it captures (captured: placeholder name -> the captured tensor, a constant's value or a variable)."""

    def __init__(self, nodes, args=None, parent=None, captured=None):
        self.nodes, self.args, self.parent, self.captured = nodes, args or {}, parent, captured or {}


def scalar_const(ref, scope):
    """The value of a Const node (through Identity ops, casts and function arguments, to the caller's input) that
    holds one floating-point number, or None."""
    import numpy as np
    from tensorflow.python.framework import tensor_util
    for _ in range(64):
        name = ref.lstrip("^").split(":")[0]
        node = scope.nodes.get(name)
        if node is None and name in scope.args and scope.parent is not None:
            ref, scope = scope.args[name], scope.parent
            continue
        if node is not None and node.op in ("Identity", "Cast") and node.input:
            ref = node.input[0]
            continue
        if node is not None and node.op == "Placeholder" and name in scope.captured:
            t = scope.captured[name]  # a constant the SavedModel captured (a layer's scalar), or a variable
            if not t.dtype.is_floating:
                return None
            v = t.numpy()
        elif node is None or node.op != "Const":
            return None
        else:
            v = tensor_util.MakeNdarray(node.attr["value"].tensor)
        if not np.issubdtype(v.dtype, np.floating):
            return None
        v = np.asarray(v, dtype=np.float64).ravel()
        if v.size == 0 or np.isnan(v[0]) or np.any(v != v[0]):
            return None
        return float(v[0])
    return None


def increasing_map(node, scope):
    """The input of node when it is an increasing element-wise map of it by scalar constants (x*c and x/c with
    c > 0, x + c, x - c, max(x, c), min(x, c), clip(x, a, b)), which keeps the classes' order; else None. The same
    ops as tfgraph's Flat.HeadOps."""
    ins = [i for i in node.input if not i.startswith("^")]
    if len(ins) == 2 and node.op in ("Mul", "AddV2", "Add", "Maximum", "Minimum"):
        for k in (0, 1):
            c = scalar_const(ins[1 - k], scope)
            if c is not None and (node.op != "Mul" or c > 0):
                return ins[k]
    elif len(ins) == 2 and node.op in ("RealDiv", "Div", "Sub", "BiasAdd"):
        c = scalar_const(ins[1], scope)
        if c is not None and (node.op in ("Sub", "BiasAdd") or c > 0):
            return ins[0]
    elif len(ins) == 3 and node.op == "ClipByValue":
        if scalar_const(ins[1], scope) is not None and scalar_const(ins[2], scope) is not None:
            return ins[0]
    return None


def output_head(fn):
    """The op a SavedModel signature's (first) output comes from, through Identity ops, casts between float types,
    increasing maps by scalar constants (increasing_map), reshapes and transposes, and into the functions that (Stateful)PartitionedCall ops
    call: "softmax", "sigmoid", "log_softmax" (also the Log of a Softmax, the same ops between them), or None for
    anything else (logits), as tfgraph's Flat.Head reads the graph."""
    gd = fn.graph.as_graph_def()
    funcs = {f.signature.name: f for f in gd.library.function}
    scope = _Scope({n.name: n for n in gd.node}, captured={i.op.name: e for e, i in fn.graph.captures})
    name, out = fn.outputs[0].name.split(":")[0], 0
    logged = False  # passed a final Log: only a Softmax behind it makes a head (log_softmax)
    floats = {1, 2, 14, 19}  # DT_FLOAT, DT_DOUBLE, DT_BFLOAT16, DT_HALF
    for _ in range(256):
        node = scope.nodes.get(name)
        if node is None:
            return None
        if node.op in ("Identity", "IdentityN", "StatefulPartitionedCall", "PartitionedCall") and not node.input:
            return None
        if node.op in ("Identity", "IdentityN"):
            ref = node.input[out if node.op == "IdentityN" else 0]
        elif node.op in ("StatefulPartitionedCall", "PartitionedCall"):
            fdef = funcs.get(node.attr["f"].func.name)
            if fdef is None or out >= len(fdef.signature.output_arg):
                return None
            scope = _Scope({n.name: n for n in fdef.node_def},
                           {a.name: i for a, i in zip(fdef.signature.input_arg, node.input)}, scope)
            ref = fdef.ret[fdef.signature.output_arg[out].name]
        elif node.op == "Cast" and node.input and node.attr["SrcT"].type in floats:
            ref = node.input[0]
        elif node.op in ("Reshape", "Squeeze", "Transpose") and node.input:
            # softmax(z.reshape(N, K, 1, 1), 1).flatten(1): Flat's reshapedHeads checks the shapes (one axis of K
            # values besides the batch's) and refuses a card whose kind then disagrees
            ref = node.input[0]
        elif node.op == "Log" and node.input and not logged:  # torch.log(F.softmax(z)): a log_softmax in two ops
            logged, ref = True, node.input[0]
        elif (x := increasing_map(node, scope)) is not None:  # F.softmax(z) * 100, torch.clamp(p, 1e-7, 1)
            ref = x
        else:
            head = {"Softmax": "softmax", "Sigmoid": "sigmoid", "LogSoftmax": "log_softmax"}.get(node.op)
            if logged:
                return "log_softmax" if head == "softmax" else None
            return head
        # "node", "node:k" (a graph) or "node:output_arg:k" (a function body)
        parts = ref.lstrip("^").split(":")
        name, out = parts[0], int(parts[-1]) if len(parts) > 1 else 0
    return None


def keras_layer_outputs(keras_model, x_nhwc):
    """[(layer, output)] for every layer of a functional Keras model (its first call) on x, in model.layers order."""
    import tf_keras
    layers = [l for l in keras_model.layers if l.__class__.__name__ != "InputLayer"]
    outs = []
    keep = []
    for l in layers:
        try:
            o = l.get_output_at(0)
        except (AttributeError, ValueError, RuntimeError):
            continue
        if isinstance(o, (list, tuple)):
            if not o:
                continue
            o = o[0]
        keep.append(l)
        outs.append(o)
    probe = tf_keras.Model(keras_model.inputs, outs)
    vals = probe(x_nhwc, training=False)
    if not isinstance(vals, (list, tuple)):
        vals = [vals]
    return [(l, v.numpy()) for l, v in zip(keep, vals)]


def _same(a, b, tol):
    import numpy as np
    if a.shape != b.shape:
        return False
    top = float(np.abs(a).max())
    return bool(np.abs(a - b).max() <= tol * max(top, 1e-30))


def name_layers(model, keras_model, x, tol=1e-4, functional=(), calls=None):
    """Give the Keras layers of a converted model the torch module names they compute, matched on a probe input x
    (NCHW): each module call's output is compared with every Keras layer's output (in NHWC for a 4-D output, or
    as it is), and the first unnamed layer computing it takes the module's name ("layer4.1.conv2"; a second call
    of a module is "layer4.1.relu-2"). A module whose output a layer already named holds (a block that ends in its
    last child, a Dropout) becomes an alias listed after that layer. Then the functions a forward() calls
    (functional_outputs: "layer4.1.add") name the layers still unnamed that compute their outputs; layers nothing
    matches (a converter's padding or transposes) keep their Keras names.

    calls, when given, stands for module_outputs(model, x): the module calls of an ONNX file (onnx_scope_outputs).

    Renames the layers in place and returns the card's `layers:` list (name, class, output_shape, params; the
    torch class for module names; output_of, the layer an alias names) in model.layers order with the aliases
    after their layers, and the counts
    (modules named, aliases, modules not found)."""
    import numpy as np
    x_nhwc = np.transpose(x, (0, 2, 3, 1)) if x.ndim == 4 else x
    keras_outs = keras_layer_outputs(keras_model, x_nhwc)
    by_shape = {}
    for i, (l, v) in enumerate(keras_outs):
        by_shape.setdefault(v.shape, []).append(i)
    owner = {}       # keras index -> (torch name, torch class)
    aliases = {}     # keras index -> [(torch name, torch class)] listed after it
    missing = []
    taken = {l.name for l, _ in keras_outs}
    for name, cls, out in (module_outputs(model, x) if calls is None else calls):
        forms = [out]
        if out.ndim == 4:
            forms.insert(0, np.transpose(out, (0, 2, 3, 1)))
        hits = []
        for f in forms:
            hits += [i for i in by_shape.get(f.shape, []) if i not in hits and _same(f, keras_outs[i][1], tol)]
        if not hits:
            missing.append(name)
            continue
        free = [i for i in hits if i not in owner]
        inner = [i for i in hits if i in owner and owner[i][0].startswith(name + ".")]
        if inner:  # a container that ends in a child's output: an alias of the last such layer
            aliases.setdefault(max(inner), []).append((name, cls))
        elif free and name not in taken:
            owner[free[0]] = (name, cls)
            taken.add(name)
        else:
            aliases.setdefault(max(hits), []).append((name, cls))
    for name, fn, out in functional:
        forms = [out] + ([np.transpose(out, (0, 2, 3, 1))] if out.ndim == 4 else [])
        for f in forms[::-1]:
            free = [i for i in by_shape.get(f.shape, []) if i not in owner and _same(f, keras_outs[i][1], tol)]
            if free and name not in taken:
                owner[free[0]] = (name, fn)
                taken.add(name)
                break
    layers = []
    for i, (l, v) in enumerate(keras_outs):
        try:
            shape = [(-1 if d is None else int(d)) for d in l.get_output_at(0).shape]
        except (AttributeError, ValueError, TypeError):
            shape = []
        if i in owner:
            l._name = owner[i][0]
        layers.append({"name": l.name, "class": owner[i][1] if i in owner else l.__class__.__name__,
                       "output_shape": shape, "params": int(l.count_params())})
        for name, cls in aliases.get(i, []):
            layers.append({"name": name, "class": cls, "output_shape": shape, "params": 0, "output_of": l.name})
    return layers, {"named": len(owner), "aliases": sum(len(a) for a in aliases.values()), "missing": missing}
