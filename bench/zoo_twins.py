"""tf_keras twins of the zoo's Fashion-MNIST models, for the peers that take a tf.keras model.

build(name) runs savedmodels/build_zoo.py's architecture function (the one that built the
SavedModel) on tf_keras (Keras 2) instead of Keras 3, so the layer and variable names are the
SavedModel's and peers.copy_weights can copy the weights by name. The outputs are the logits.
Used by blackbox_goldens.py (Xplique), pair_goldens.py and xrai_goldens.py (PAIR saliency).
"""
import os
import sys
import types

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MODELS = ("fmnist_vgg", "fmnist_resnet", "fmnist_gap")

_zoo = None


def _build_zoo():
    """savedmodels/build_zoo.py imported with tf_keras standing in for keras."""
    global _zoo
    if _zoo is None:
        import importlib.util
        import tf_keras
        saved = {k: sys.modules.get(k) for k in ("keras", "yaml")}
        sys.modules["keras"] = tf_keras
        sys.modules.setdefault("yaml", types.ModuleType("yaml"))  # build_zoo imports it for its cards only
        try:
            spec = importlib.util.spec_from_file_location("build_zoo_tf_keras", os.path.join(ROOT, "savedmodels", "build_zoo.py"))
            _zoo = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(_zoo)
        finally:
            for k, v in saved.items():
                if v is None:
                    sys.modules.pop(k, None)
                else:
                    sys.modules[k] = v
    return _zoo


def build(name):
    """The tf_keras twin of zoo model name (one of MODELS), logits out, untrained."""
    zoo = _build_zoo()
    builders = {"fmnist_vgg": zoo.build_vgg, "fmnist_resnet": zoo.build_resnet, "fmnist_gap": zoo.build_gap}
    if name not in builders:
        raise ValueError("no tf_keras twin of %r; models: %s" % (name, ", ".join(MODELS)))
    return builders[name]()
