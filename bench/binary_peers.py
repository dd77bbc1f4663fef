"""tf-keras-vis 0.8.7's BinaryScore on the edge model binary_logit: what class 0 and class 1 of a binary classifier are.

saliency gives a binary classifier's one logit z two classes: class 1 scores z, class 0 scores -z
(tfgraph.Flat.BinaryLogit). savedmodels/build_edge.py writes binary_logit's goldens in those terms:
golden/top.npy names each image's class, golden/grad_input.npy is d score[top] / d input by tf.GradientTape with
scores (-z, z), and tfgraph's TestEdgeModels checks saliency against them. This script checks the goldens against
tf-keras-vis: on a tf_keras (Keras 2) copy of the model (the architecture of build_edge's trunk with k=1, weights
copied by name from the SavedModel, its logit checked against golden/logits.npy), Saliency with
BinaryScore(top[i] == 1) and no gradient modifier gives d (+-z) / d input, which must equal golden/grad_input.npy
within 1e-5 of its largest value, and so saliency's maps of both classes. Prints what it measured; exit 1 when
they differ.

Run with bench/.venv/bin/python after make edge-models (make binary-peers; about 10 s).
"""
import os
import sys

os.environ["TF_USE_LEGACY_KERAS"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def main():
    import numpy as np
    import tf_keras as keras
    from tf_keras import layers as L
    from tf_keras_vis.saliency import Saliency
    from tf_keras_vis.utils.scores import BinaryScore

    sys.path.insert(0, HERE)
    from peers import copy_weights

    path = os.path.join(ROOT, "savedmodels", "edge", "binary_logit")
    g = os.path.join(path, "golden")
    if not os.path.isdir(g):
        sys.exit("binary_peers: %s: no goldens (make edge-models)" % g)
    inp = keras.Input((16, 16, 3), name="image")
    x = L.Conv2D(8, 3, padding="same", name="conv1")(inp)
    x = L.ReLU(name="relu1")(x)
    x = L.MaxPooling2D(name="pool")(x)
    x = L.Conv2D(16, 3, padding="same", name="conv2")(x)
    x = L.ReLU(name="relu2")(x)
    x = L.GlobalAveragePooling2D(name="gap")(x)
    model = copy_weights(keras.Model(inp, L.Dense(1, name="logits")(x)), path)

    x = np.load(os.path.join(g, "inputs.npy")).astype(np.float32)
    top = np.load(os.path.join(g, "top.npy"))
    want_logits = np.load(os.path.join(g, "logits.npy"))  # (-z, z)
    want_grad = np.load(os.path.join(g, "grad_input.npy"))
    z = model(x, training=False).numpy()
    d_logit = float(np.abs(np.concatenate([-z, z], 1) - want_logits).max())
    print("binary_logit: tf_keras copy's logits (-z, z) within %.3g of the goldens; classes %s" % (d_logit, top.tolist()))
    if d_logit > 1e-5 * max(1.0, float(np.abs(want_logits).max())):
        sys.exit("binary_peers: the tf_keras copy's logit differs from the golden by %g" % d_logit)

    sal = Saliency(model, clone=True)
    got = sal(BinaryScore([bool(c == 1) for c in top]), x, gradient_modifier=None, normalize_map=False, keepdims=True)
    got = np.asarray(got)
    d = float(np.abs(got - want_grad).max() / np.abs(want_grad).max())
    print("tf-keras-vis Saliency(BinaryScore(class == 1)): max|d| / max|golden| = %.3g against d score[top] / d input "
          "with class 0's score -z" % d)
    # The opposite reading (class 0 = z, as saliency had it before) is far off on the images of class 0.
    swapped = sal(BinaryScore([True] * len(top)), x, gradient_modifier=None, normalize_map=False, keepdims=True)
    d_swapped = float(np.abs(np.asarray(swapped) - want_grad).max() / np.abs(want_grad).max())
    print("  (BinaryScore(True) for every image, class 0 read as z: %.3g)" % d_swapped)
    if d > 1e-5:
        sys.exit("binary_peers: tf-keras-vis' BinaryScore gradient differs from the goldens by %.3g of their largest" % d)
    if 0 in top and d_swapped < 0.5:
        sys.exit("binary_peers: reading class 0 as z should differ from the goldens on images of class 0")


if __name__ == "__main__":
    main()
