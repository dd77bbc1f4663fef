#!/usr/bin/env python3
"""Tiny SavedModels that exercise corners of tfgraph (a few KB each).

    list_outputs   nested tf.functions, Split and Unpack (list outputs), a variable
    control_flow   a tf.cond on the input: flattening must refuse it by name
    uint8_input    an image model whose input is uint8
    layer_names    a Keras model whose layer names TensorFlow's scopes garble: conv and
                   conv_1, add and add_1, a nested Sequential, layers without ops
                   (linear Activation, Dropout); layers.yaml lists Keras' own names,
                   classes, parameter counts and order (model.summary())
    keras_layers   Keras layers beyond the zoo's: grouped and depthwise-as-grouped
                   Conv2D, LayerNormalization, gelu, Conv2DTranspose, UpSampling2D
                   (nearest and bilinear), GlobalMaxPooling2D; golden input and layer
                   gradients from tf.GradientTape
    keras_ops      Keras operations outside any layer (x + y, x * c in a functional
                   model, as ConvNeXt and MobileNetV3 write them), listed in the card
                   as model.summary() lists them; a Dropout and a linear Activation
    op_coverage    one of each op the ImageNet-shaped models use (Pad, depthwise
                   convolution, Relu6, swish with its custom gradient, sigmoid gating,
                   average and max pooling, concatenation, Maximum/Minimum, …)

The bad-input table of cmd/saliency (badinput_test.go) also uses:

    no_signature   a tf.Module saved without any signature
    two_inputs     a serving signature with an image and a second input
    no_rule        a 28x28x1 classifier with a Cumsum, an op with no backward rule
    not_image      a classifier of 16-value vectors (input [N,16])
    dense_output   an image model whose output is a map [N,28,28,2], not class scores

Usage: build_testdata.py [--out DIR]
"""
import argparse
import os
import shutil
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SPEC = tf.TensorSpec([None, 4, 4, 2], tf.float32, name="image")


class ListOutputs(tf.Module):
    def __init__(self):
        super().__init__()
        self.w = tf.Variable(np.linspace(-1, 1, 8, dtype=np.float32).reshape(2, 4), name="dense/kernel")

    @tf.function
    def features(self, x):
        a, b = tf.split(x, 2, axis=-1)          # list output: output:0, output:1
        rows = tf.unstack(a, axis=1)             # list output of length 4
        return tf.nn.relu(tf.add_n(rows)) * b[:, 0]

    @tf.function(input_signature=[SPEC])
    def serve(self, image):
        f = self.features(image)                 # nested call
        pooled = tf.reduce_mean(f, axis=1)       # [N,1]
        both = tf.concat([pooled, pooled * 2.0], axis=-1)  # [N,2]
        return {"logits": tf.matmul(both, self.w)}


class ControlFlow(tf.Module):
    @tf.function(input_signature=[SPEC])
    def serve(self, image):
        s = tf.reduce_sum(image)
        y = tf.cond(s > 0, lambda: image * 2.0, lambda: image - 1.0)
        return {"logits": tf.reshape(y, [-1, 32])[:, :10]}


class Uint8Input(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None, 4, 4, 1], tf.uint8, name="image")])
    def serve(self, image):
        x = tf.cast(image, tf.float32) / 255.0
        return {"logits": tf.reshape(x, [-1, 16])[:, :10]}


IMAGE28 = tf.TensorSpec([None, 28, 28, 1], tf.float32, name="image")


class NoSignature(tf.Module):
    @tf.function(input_signature=[IMAGE28])
    def predict(self, image):
        return tf.reshape(image, [-1, 784])[:, :10]


class TwoInputs(tf.Module):
    @tf.function(input_signature=[IMAGE28, tf.TensorSpec([None, 1], tf.float32, name="scale")])
    def serve(self, image, scale):
        return {"logits": tf.reshape(image, [-1, 784])[:, :10] * scale}


class NoRule(tf.Module):
    def __init__(self):
        super().__init__()
        r = np.random.default_rng(2)
        self.k = tf.Variable(r.normal(0, 0.3, (3, 3, 1, 4)).astype(np.float32), name="conv/kernel")
        self.w = tf.Variable(r.normal(0, 0.3, (4, 10)).astype(np.float32), name="dense/kernel")

    @tf.function(input_signature=[IMAGE28])
    def serve(self, image):
        x = tf.nn.relu(tf.nn.conv2d(image, self.k, 1, "SAME"))
        x = tf.math.cumsum(x, axis=1)                      # Cumsum: no backward rule
        return {"logits": tf.matmul(tf.reduce_mean(x, axis=[1, 2]), self.w)}


class NotImage(tf.Module):
    def __init__(self):
        super().__init__()
        self.w = tf.Variable(np.linspace(-1, 1, 48, dtype=np.float32).reshape(16, 3), name="dense/kernel")

    @tf.function(input_signature=[tf.TensorSpec([None, 16], tf.float32, name="features")])
    def serve(self, features):
        return {"logits": tf.matmul(features, self.w)}


class DenseOutput(tf.Module):
    @tf.function(input_signature=[IMAGE28])
    def serve(self, image):
        return {"mask": tf.concat([image, 1.0 - image], axis=-1)}


class OpCoverage(tf.Module):
    def __init__(self):
        super().__init__()
        r = np.random.default_rng(1)
        self.k1 = tf.Variable(r.normal(0, 0.5, (3, 3, 2, 4)).astype(np.float32), name="conv/kernel")
        self.dw = tf.Variable(r.normal(0, 0.5, (3, 3, 4, 1)).astype(np.float32), name="dw/kernel")
        self.k2 = tf.Variable(r.normal(0, 0.5, (1, 1, 4, 4)).astype(np.float32), name="se/kernel")
        self.w = tf.Variable(r.normal(0, 0.5, (12, 10)).astype(np.float32), name="dense/kernel")

    @tf.function(input_signature=[tf.TensorSpec([None, 8, 8, 2], tf.float32, name="image")])
    def serve(self, image):
        return {"probs": tf.nn.softmax(self.logits(image))}       # ends in Softmax

    @tf.function
    def logits(self, image):
        x = (image - 0.5) / 0.25                                    # Sub, RealDiv
        x = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]])             # Pad
        x = tf.nn.conv2d(x, self.k1, strides=2, padding="VALID")    # Conv2D stride 2 -> [N,4,4,4]
        x = tf.nn.relu6(x)                                          # Relu6
        x = tf.nn.depthwise_conv2d(x, self.dw, [1, 1, 1, 1], "SAME")  # DepthwiseConv2dNative
        x = tf.nn.silu(x)                                           # swish: custom gradient (IdentityN)
        se = tf.reduce_mean(x, axis=[1, 2], keepdims=True)          # Mean keep_dims
        se = tf.sigmoid(tf.nn.conv2d(se, self.k2, 1, "VALID"))      # Sigmoid
        x = x * se                                                  # Mul with broadcast
        a = tf.nn.max_pool2d(x, 2, 2, "VALID")                      # MaxPool -> [N,2,2,4]
        b = tf.nn.avg_pool2d(x, 2, 2, "VALID")                      # AvgPool
        c = tf.maximum(tf.minimum(a, 1.5), -0.5 * a)                # Minimum, Maximum
        y = tf.concat([a, b, c], axis=-1)                           # ConcatV2 -> [N,2,2,12]
        y = tf.nn.leaky_relu(tf.nn.elu(y), 0.2)                     # Elu, LeakyRelu
        y = tf.reduce_mean(y, axis=[1, 2])                          # Mean -> [N,12]
        return tf.matmul(tf.tanh(y), self.w)


def layer_names(path):
    """A Keras 3 model with names that TensorFlow's unique scopes garble."""
    import keras
    import yaml
    from keras import layers
    keras.utils.set_random_seed(0)
    inp = keras.Input((8, 8, 2), name="image")
    x = layers.Conv2D(4, 3, padding="same", name="conv")(inp)
    x = layers.Conv2D(4, 3, padding="same", name="conv_1")(x)
    y = layers.Conv2D(4, 1, name="conv_2")(inp)
    s = layers.Add(name="add")([x, y])
    s = layers.Activation("relu", name="act")(s)
    s = layers.Add(name="add_1")([s, y])
    s = layers.Activation("linear", name="linear_act")(s)
    block = keras.Sequential([layers.Conv2D(6, 3, padding="same", name="inner_conv"),
                              layers.BatchNormalization(name="inner_bn"),
                              layers.ReLU(name="inner_relu")], name="block")
    z = block(s)
    z = layers.Dropout(0.3, name="drop")(z)
    z = layers.GlobalAveragePooling2D(name="gap")(z)
    out = layers.Dense(5, name="dense")(z)
    model = keras.Model(inp, out, name="names")
    shutil.rmtree(path, ignore_errors=True)
    model.export(path, format="tf_saved_model", verbose=False)
    entries = []
    for l in model.layers:
        entries.append({"name": l.name, "class": l.__class__.__name__, "params": int(l.count_params())})
        if isinstance(l, keras.Model):
            for inner in l.layers:
                entries.append({"name": l.name + "/" + inner.name, "class": inner.__class__.__name__,
                                "params": int(inner.count_params())})
    with open(os.path.join(path, "layers.yaml"), "w") as f:
        yaml.safe_dump({"layers": entries, "total_params": int(model.count_params())}, f, sort_keys=False)
    print("wrote", path)


def keras_layers(path):
    """Keras layers whose ops the zoo lacks, with tf.GradientTape goldens."""
    import keras
    from keras import layers
    keras.utils.set_random_seed(0)
    inp = keras.Input((8, 8, 4), name="image")
    x = layers.Conv2D(8, 3, padding="same", groups=2, name="grouped")(inp)
    x = layers.Conv2D(8, 3, padding="same", groups=8, name="depthwise_as_grouped")(x)
    x = layers.LayerNormalization(name="ln")(x)
    x = layers.Dense(8, activation="gelu", name="gelu_dense")(x)
    x = layers.Conv2DTranspose(6, 3, strides=2, padding="same", name="deconv")(x)
    x = layers.UpSampling2D(2, name="up")(x)
    x = layers.UpSampling2D(2, interpolation="bilinear", name="up_bilinear")(x)
    x = layers.MaxPooling2D(4, name="pool")(x)
    a = layers.GlobalMaxPooling2D(name="gmp")(x)
    b = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Concatenate(name="cat")([a, b])
    out = layers.Dense(10, name="logits")(x)
    model = keras.Model(inp, out, name="keras_layers")
    shutil.rmtree(path, ignore_errors=True)
    model.export(path, format="tf_saved_model", verbose=False)
    x = tf.constant(np.random.default_rng(3).uniform(0, 1, (3, 8, 8, 4)).astype(np.float32))
    inner = ["ln", "deconv"]
    probe = keras.Model(model.inputs, [model.get_layer(n).output for n in inner] + [model.output])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        *acts, logits = probe(x, training=False)
        top = tf.argmax(logits, axis=1)
        score = tf.reduce_sum(tf.gather(logits, top, axis=1, batch_dims=1))
    g = os.path.join(path, "golden")
    os.makedirs(g, exist_ok=True)
    np.save(os.path.join(g, "inputs.npy"), x.numpy())
    np.save(os.path.join(g, "top.npy"), top.numpy().astype(np.int32))
    np.save(os.path.join(g, "logits.npy"), logits.numpy())
    np.save(os.path.join(g, "grad_input.npy"), tape.gradient(score, x).numpy())
    for n, a in zip(inner, acts):
        np.save(os.path.join(g, "layer_%s.npy" % n), a.numpy())
        np.save(os.path.join(g, "grad_layer_%s.npy" % n), tape.gradient(score, a).numpy())
    print("wrote", path)


def keras_ops(path):
    """Keras operations applied outside any layer in a functional model, as ConvNeXt writes its residual sums
    (inputs + x) and MobileNetV3 its hard sigmoid (ReLU(6)(x + 3) * (1 / 6)): Keras lists each in model.layers
    (classes Add, Multiply), and the graph runs its ops in the model's own name scope, where no layer scope holds
    them. saliency named each the output of the layer before it (the branch before the sum). A Dropout after a
    layer and a linear Activation after an operation complete it."""
    import keras
    from keras import layers
    keras.utils.set_random_seed(0)
    inp = keras.Input((8, 8, 3), name="image")
    x = layers.Conv2D(8, 3, padding="same", activation="relu", name="stem")(inp)
    y = layers.Conv2D(8, 3, padding="same", name="branch")(x)
    y = layers.Dropout(0.2, name="drop")(y)
    x = x + y
    h = layers.ReLU(6.0, name="relu6")(x + 3.0)
    x = x * (h * (1.0 / 6.0))
    x = layers.Activation("linear", name="identity")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    out = layers.Dense(5, name="logits")(x)
    model = keras.Model(inp, out, name="keras_ops")
    for l in model.layers:  # non-zero biases, so a wrong tensor shows
        for w in l.weights:
            if "bias" in w.path:
                w.assign(np.random.default_rng(5).normal(0, 0.3, w.shape).astype(np.float32))
    shutil.rmtree(path, ignore_errors=True)
    model.export(path, format="tf_saved_model", verbose=False)
    x = np.random.default_rng(4).uniform(0, 1, (2, 8, 8, 3)).astype(np.float32)
    inner = ["stem", "relu6"]
    probe = keras.Model(model.inputs, [model.get_layer(n).output for n in inner] + [model.output])
    lg, gx, acts, grads = tape_goldens(lambda xi: (lambda o: (o[:-1], o[-1]))(probe(xi, training=False)), x, len(inner))
    entries = [{"name": l.name, "class": l.__class__.__name__,
                "output_shape": [-1 if d is None else int(d) for d in l.output.shape],
                "params": int(l.count_params()) if hasattr(l, "count_params") else 0}
               for l in model._operations]  # as model.summary() and build_applications.py list them
    write_check_card(path, "keras_ops", " ".join(keras_ops.__doc__.split()), (8, 8, 3), "logits", inner, entries, x,
                     lg, gx, acts, grads, out_key="output_0")
    print("wrote", path, [(e["name"], e["class"]) for e in entries])


def tape_goldens(forward, x, k):
    """The logits, d max logit / d input and the k inner activations with their gradients, by tf.GradientTape one
    image at a time (forward(x) is ([k activations], logits)), each concatenated over the images."""
    lg, gx, acts, grads = [], [], [], []
    for i in range(len(x)):
        xi = tf.constant(x[i:i + 1])
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(xi)
            a, logits = forward(xi)
            score = tf.reduce_max(logits, axis=1)
        lg.append(logits.numpy())
        gx.append(tape.gradient(score, xi).numpy())
        acts.append([t.numpy() for t in a])
        grads.append([tape.gradient(score, t).numpy() for t in a])
    cat = np.concatenate
    return (cat(lg), cat(gx), [cat([a[j] for a in acts]) for j in range(k)],
            [cat([d[j] for d in grads]) for j in range(k)])


def write_check_card(path, name, description, shape, kind, inner, layers, x, logits, grad, acts, grads, out_key="output"):
    """card.yaml and golden/ in the form the applications test reads (see build_applications.py)."""
    import yaml
    g = os.path.join(path, "golden")
    os.makedirs(g, exist_ok=True)
    top = np.argmax(logits, axis=1).astype(np.int32)
    np.save(os.path.join(g, "inputs.npy"), x.astype(np.float32))
    np.save(os.path.join(g, "top.npy"), top)
    np.save(os.path.join(g, "labels.npy"), top)
    np.save(os.path.join(g, "logits.npy"), logits.astype(np.float32))
    out = tf.nn.softmax(logits).numpy() if kind == "probabilities" else logits
    np.save(os.path.join(g, "outputs.npy"), out.astype(np.float32))
    np.save(os.path.join(g, "grad_input.npy"), grad.astype(np.float32))
    for n, a, d in zip(inner, acts, grads):
        np.save(os.path.join(g, "layer_%s.npy" % n), a.astype(np.float32))
        np.save(os.path.join(g, "grad_layer_%s.npy" % n), d.astype(np.float32))
    card = {
        "name": name, "description": description,
        "framework": "tensorflow %s" % tf.__version__,
        "classes": ["class %d" % i for i in range(logits.shape[1])],
        "input": {"signature_key": "image", "shape": [-1] + list(shape), "dtype": "float32", "range": [0.0, 1.0],
                  "color": "rgb"},
        "output": {"signature_key": out_key, "shape": [-1, int(logits.shape[1])], "kind": kind},
        "total_params": int(sum(l["params"] for l in layers)),
        "layers": layers,
        "golden": {"images": {"source": "uniform random in [0, 1)"}, "inner_layers": inner,
                   "gradient": "d logit[top] / d input, tf.GradientTape, inference mode, one image at a time"},
    }
    with open(os.path.join(path, "card.yaml"), "w") as f:
        yaml.safe_dump(card, f, sort_keys=False, width=120)


def tfkeras2(path):
    """A tf.keras 2 model (the tf_keras package) saved with tf.saved_model.save: its batch norms
    run as FusedBatchNormV3, its layers are in the tf.keras 2 scopes (each entered once)."""
    # tf_keras lives in .venv/nodeps (scripts/setup.sh): its metadata would pull the full tensorflow wheel.
    sys.path.insert(0, os.path.join(os.path.dirname(sys.executable), "..", "nodeps"))
    import tf_keras as k2
    from tf_keras import layers as L
    k2.utils.set_random_seed(0)
    inp = L.Input((16, 16, 3), name="image")
    x = L.Conv2D(8, 3, padding="same", use_bias=False, name="conv1")(inp)
    x = L.BatchNormalization(name="bn1")(x)
    x = L.ReLU(name="relu1")(x)
    y = L.DepthwiseConv2D(3, padding="same", use_bias=False, name="dw")(x)
    y = L.BatchNormalization(name="bn_dw")(y)
    y = L.Activation("swish", name="swish")(y)
    x = L.Add(name="add")([x, y])
    x = L.MaxPooling2D(name="pool")(x)
    block = k2.Sequential([L.InputLayer((8, 8, 8)), L.Conv2D(16, 3, padding="same", name="inner_conv"),
                           L.BatchNormalization(name="inner_bn"), L.ReLU(name="inner_relu")], name="block")
    x = block(x)
    x = L.GlobalAveragePooling2D(name="gap")(x)
    x = L.Dropout(0.2, name="dropout")(x)
    x = L.Dense(10, name="logits")(x)
    out = L.Activation("softmax", name="probs")(x)
    model = k2.Model(inp, out, name="tfkeras2")
    r = np.random.default_rng(5)
    for l in [model.get_layer("bn1"), model.get_layer("bn_dw"), block.get_layer("inner_bn")]:
        gamma, beta, mean, var = l.get_weights()
        l.set_weights([r.uniform(0.5, 1.5, gamma.shape), r.normal(0, 0.1, beta.shape),
                       r.normal(0, 0.2, mean.shape), r.uniform(0.5, 2, var.shape)])
    shutil.rmtree(path, ignore_errors=True)

    @tf.function(input_signature=[tf.TensorSpec([None, 16, 16, 3], tf.float32, name="image")])
    def serve(image):
        return {"output": model(image, training=False)}
    tf.saved_model.save(model, path, signatures={"serving_default": serve})
    x = r.uniform(0, 1, (2, 16, 16, 3)).astype(np.float32)
    inner = ["add", "block"]
    probe = k2.Model(model.inputs, [model.get_layer(n).get_output_at(-1) for n in inner] + [model.get_layer("logits").output])

    def both(xi):
        *a, lg = probe(xi, training=False)
        return a, lg
    lg, gx, acts, grads = tape_goldens(both, x, len(inner))
    layers = []
    for l in model.layers:
        if isinstance(l, k2.Model):
            layers.append({"name": l.name, "class": l.__class__.__name__,
                           "output_shape": [-1 if d is None else int(d) for d in l.output_shape], "params": 0})
            for c in l.layers:
                layers.append({"name": l.name + "/" + c.name, "class": c.__class__.__name__,
                               "output_shape": [-1 if d is None else int(d) for d in c.output_shape],
                               "params": int(c.count_params())})
            continue
        shape = l.output_shape[0] if isinstance(l.output_shape, list) else l.output_shape
        layers.append({"name": l.name, "class": l.__class__.__name__,
                       "output_shape": [-1 if d is None else int(d) for d in shape], "params": int(l.count_params())})
    write_check_card(path, "tfkeras2", "tf.keras 2 (tf_keras %s) functional model with a nested Sequential, "
                     "tf.saved_model.save" % k2.__version__, (16, 16, 3), "probabilities", inner, layers, x,
                     lg, gx, acts, grads)
    print("wrote", path)


class ScopedModule(tf.Module):
    """A plain tf.Module classifier: its layers are tf.name_scope blocks."""

    def __init__(self):
        super().__init__()
        r = np.random.default_rng(11)
        v = lambda shape, name, s=0.3: tf.Variable(r.normal(0, s, shape).astype(np.float32), name=name)
        self.k1, self.b1 = v((3, 3, 3, 8), "conv1/kernel"), v((8,), "conv1/bias", 0.1)
        self.k2, self.b2 = v((3, 3, 8, 8), "conv2/kernel"), v((8,), "conv2/bias", 0.1)
        self.w, self.b = v((8, 10), "dense/kernel"), v((10,), "dense/bias", 0.1)

    @tf.function(input_signature=[tf.TensorSpec([None, 16, 16, 3], tf.float32, name="image")])
    def serve(self, image):
        return {"output": self.logits(image)}

    def logits(self, image):
        with tf.name_scope("conv1"):
            x = tf.nn.relu(tf.nn.conv2d(image, self.k1, 1, "SAME") + self.b1)
        with tf.name_scope("pool"):
            x = tf.nn.max_pool2d(x, 2, 2, "VALID")
        with tf.name_scope("conv2"):
            x = tf.nn.relu(tf.nn.conv2d(x, self.k2, 1, "SAME") + self.b2)
        with tf.name_scope("gap"):
            x = tf.reduce_mean(x, axis=[1, 2])
        with tf.name_scope("dense"):
            return tf.matmul(x, self.w) + self.b

    def parts(self, image):
        """(conv1's output, conv2's output, logits), for the goldens."""
        a = tf.nn.relu(tf.nn.conv2d(image, self.k1, 1, "SAME") + self.b1)
        b = tf.nn.relu(tf.nn.conv2d(tf.nn.max_pool2d(a, 2, 2, "VALID"), self.k2, 1, "SAME") + self.b2)
        return a, b, tf.matmul(tf.reduce_mean(b, axis=[1, 2]), self.w) + self.b


def tf_module(path):
    m = ScopedModule()
    save(m, path)
    x = np.random.default_rng(12).uniform(0, 1, (2, 16, 16, 3)).astype(np.float32)
    lg, gx, acts, grads = [], [], [], []
    for i in range(len(x)):
        xi = tf.constant(x[i:i + 1])
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(xi)
            a, b, logits = m.parts(xi)
            score = tf.reduce_max(logits, axis=1)
        lg.append(logits.numpy())
        gx.append(tape.gradient(score, xi).numpy())
        acts.append([a.numpy(), b.numpy()])
        grads.append([tape.gradient(score, a).numpy(), tape.gradient(score, b).numpy()])
    cat = np.concatenate
    shapes = {"conv1": [-1, 16, 16, 8], "pool": [-1, 8, 8, 8], "conv2": [-1, 8, 8, 8], "gap": [-1, 8],
              "dense": [-1, 10]}
    params = {"conv1": 3 * 3 * 3 * 8 + 8, "conv2": 3 * 3 * 8 * 8 + 8, "dense": 8 * 10 + 10}
    layers = [{"name": n, "class": "name_scope", "output_shape": s, "params": params.get(n, 0)}
              for n, s in shapes.items()]
    write_check_card(path, "tf_module", "a plain tf.Module whose layers are tf.name_scope blocks, "
                     "tf.saved_model.save", (16, 16, 3), "logits", ["conv1", "conv2"], layers, x, cat(lg), cat(gx),
                     [cat([a[j] for a in acts]) for j in range(2)], [cat([d[j] for d in grads]) for j in range(2)])


class ConvPaddings(tf.Module):
    """Stride-1 convolutions with every padding tfgraph rewrites as a forward
    Conv2D in the backward pass (VALID, SAME with odd, even and mixed kernels,
    EXPLICIT, 1×1), and a strided one that keeps Conv2DBackpropInput; then
    global average pooling and a dense layer. (A dilated convolution has no
    gradient on CPU: TensorFlow's Conv2DBackpropInput refuses dilations.)"""

    def __init__(self):
        rng = np.random.default_rng(21)
        shapes = [(3, 3, 3, 6), (2, 2, 6, 6), (4, 3, 6, 5), (3, 3, 5, 4), (1, 1, 4, 8), (3, 3, 8, 6)]
        self.k = [tf.Variable(rng.normal(0, 0.3, s).astype(np.float32)) for s in shapes]
        self.w = tf.Variable(rng.normal(0, 0.3, (6, 10)).astype(np.float32))

    @tf.function(input_signature=[tf.TensorSpec([None, 16, 16, 3], tf.float32, name="image")])
    def serve(self, image):
        return {"logits": self.logits(image)}

    def logits(self, x):
        k = self.k
        x = tf.nn.relu(tf.nn.conv2d(x, k[0], 1, "VALID"))                                 # 14x14
        x = tf.nn.relu(tf.nn.conv2d(x, k[1], 1, "SAME"))                                  # even kernel
        x = tf.nn.relu(tf.nn.conv2d(x, k[2], 1, "SAME"))                                  # 4x3 kernel
        x = tf.nn.relu(tf.nn.conv2d(x, k[3], 1, [[0, 0], [2, 0], [1, 3], [0, 0]]))        # EXPLICIT -> 14x16
        x = tf.nn.relu(tf.nn.conv2d(x, k[4], 1, "VALID"))                                 # 1x1
        x = tf.nn.relu(tf.nn.conv2d(x, k[5], 2, "SAME"))                                  # strided
        return tf.matmul(tf.reduce_mean(x, axis=[1, 2]), self.w)


def conv_paddings(path):
    """ConvPaddings with golden input gradients from tf.GradientTape (TF_AddGradients
    cannot differentiate an EXPLICIT-padded Conv2D: its C++ gradient drops the
    paddings)."""
    m = ConvPaddings()
    save(m, path)
    x = tf.constant(np.random.default_rng(3).uniform(0, 1, (3, 16, 16, 3)).astype(np.float32))
    classes = np.array([0, 4, 9], np.int32)
    with tf.GradientTape() as tape:
        tape.watch(x)
        score = tf.reduce_sum(tf.gather(m.logits(x), classes, axis=1, batch_dims=1))
    os.makedirs(os.path.join(path, "golden"), exist_ok=True)
    np.save(os.path.join(path, "golden", "inputs.npy"), x.numpy())
    np.save(os.path.join(path, "golden", "top.npy"), classes)
    np.save(os.path.join(path, "golden", "grad_input.npy"), tape.gradient(score, x).numpy())


def bad_inputs(out):
    """The models of the bad-input table (see the module's doc)."""
    m = NoSignature()
    shutil.rmtree(os.path.join(out, "no_signature"), ignore_errors=True)
    tf.saved_model.save(m, os.path.join(out, "no_signature"), signatures={})
    print("wrote", os.path.join(out, "no_signature"))
    save(TwoInputs(), os.path.join(out, "two_inputs"))
    save(NoRule(), os.path.join(out, "no_rule"))
    save(NotImage(), os.path.join(out, "not_image"))
    save(DenseOutput(), os.path.join(out, "dense_output"))


def save(module, path):
    shutil.rmtree(path, ignore_errors=True)
    tf.saved_model.save(module, path, signatures={"serving_default": module.serve})
    print("wrote", path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(HERE, "testdata"))
    ap.add_argument("models", nargs="*", help="build only these (tfkeras2, tf_module, keras_ops, conv_paddings, bad_inputs); default: all")
    args = ap.parse_args()
    tf.random.set_seed(0)
    only = {"tfkeras2": tfkeras2, "tf_module": tf_module, "keras_ops": keras_ops,
            "conv_paddings": conv_paddings, "bad_inputs": lambda p: bad_inputs(os.path.dirname(p))}
    if args.models:
        for name in args.models:
            if name not in only:
                ap.error("unknown model %s; these can be built alone: %s" % (name, ", ".join(only)))
            only[name](os.path.join(args.out, name))
        return
    tfkeras2(os.path.join(args.out, "tfkeras2"))
    tf_module(os.path.join(args.out, "tf_module"))
    save(ListOutputs(), os.path.join(args.out, "list_outputs"))
    save(ControlFlow(), os.path.join(args.out, "control_flow"))
    save(Uint8Input(), os.path.join(args.out, "uint8_input"))
    conv_paddings(os.path.join(args.out, "conv_paddings"))
    bad_inputs(args.out)
    layer_names(os.path.join(args.out, "layer_names"))
    keras_layers(os.path.join(args.out, "keras_layers"))
    keras_ops(os.path.join(args.out, "keras_ops"))
    cov = OpCoverage()
    path = os.path.join(args.out, "op_coverage")
    save(cov, path)
    # Golden input gradient of the logits, with tf.GradientTape (swish uses its
    # custom gradient here, which TF_AddGradients cannot differentiate).
    x = tf.constant(np.random.default_rng(7).uniform(0, 1, (4, 8, 8, 2)).astype(np.float32))
    classes = np.array([0, 3, 7, 9], np.int32)
    with tf.GradientTape() as tape:
        tape.watch(x)
        score = tf.reduce_sum(tf.gather(cov.logits(x), classes, axis=1, batch_dims=1))
    os.makedirs(os.path.join(path, "golden"), exist_ok=True)
    np.save(os.path.join(path, "golden", "inputs.npy"), x.numpy())
    np.save(os.path.join(path, "golden", "top.npy"), classes)
    np.save(os.path.join(path, "golden", "grad_input.npy"), tape.gradient(score, x).numpy())


if __name__ == "__main__":
    main()
