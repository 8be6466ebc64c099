"""Makes plain `keras.saving.load_model` find tf_lm's classes once `tf_lm` is imported.

Keras finds a custom class only if the module defining it was imported (its decorator
registers it). keras-hub imports everything in its package `__init__`; tf_lm cannot, because
importing Keras imports TensorFlow and `tf-lm --help` must answer without it. So `import tf_lm`
registers its layers, models, optimizers and schedules at the moment Keras itself is imported
(at once if it already is), through an import hook on the `keras` module.
"""

import importlib
import importlib.abc
import importlib.util
import sys
import threading
import warnings

_LOCK = threading.RLock()

# The packages whose import registers every class a tf_lm `.keras` file may name.
REGISTERING_PACKAGES = ("tf_lm.models", "tf_lm.optimizers")


def register_keras_objects():
    """Import the packages that register tf_lm's Keras classes (imports TensorFlow)."""
    for name in REGISTERING_PACKAGES:
        importlib.import_module(name)


def register_when_keras_is_imported():
    """Register now if Keras is imported, else right after Keras is first imported."""
    if "keras" in sys.modules:
        _try_to_register()
    elif not any(isinstance(f, _AfterImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterImport(lambda name: name == "keras"))


def _try_to_register():
    """Register, unless a tf_lm module that registration needs is itself half-imported (the
    import of Keras came from inside it): then retry after the next module loads. Never lets
    an error escape into the import of Keras itself."""
    with _LOCK:
        try:
            register_keras_objects()
        except ImportError:
            if not any(isinstance(f, _AfterImport) for f in sys.meta_path):
                sys.meta_path.insert(0, _AfterImport(lambda name: True))
        except Exception as e:  # a broken install: say so, but leave Keras importable
            warnings.warn(f"tf_lm could not register its Keras classes ({e!r}); import "
                          "tf_lm.models before loading a tf_lm .keras file.")


class _AfterImport(importlib.abc.MetaPathFinder):
    """Leaves `sys.meta_path` and runs `_try_to_register` after the next module accepted by
    `wanted` has executed."""

    def __init__(self, wanted):
        self.wanted = wanted
        self.busy = False

    def find_spec(self, name, path, target=None):
        if self.busy or not self.wanted(name):
            return None
        self.busy = True  # the search below must not find this finder again
        try:
            spec = importlib.util.find_spec(name)
        finally:
            self.busy = False
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        original, finder = spec.loader.exec_module, self

        def exec_module(module):
            original(module)
            with _LOCK:
                if finder not in sys.meta_path:
                    return
                sys.meta_path.remove(finder)  # once: a failed attempt installs its own finder
            _try_to_register()

        spec.loader.exec_module = exec_module
        return spec
