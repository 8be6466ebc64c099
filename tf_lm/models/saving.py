"""Loading a saved tf_lm model."""

import keras

import tf_lm.optimizers  # noqa: F401  (registers the optimizers and schedules of compiled files)


def load_model(path, compile=True):
    """Load a `.keras` file written by tf_lm (a run's `model.keras`), in Keras' safe mode.

    The same as `keras.saving.load_model(path, safe_mode=True)` after `import tf_lm`; here for
    the code that has not imported the whole package.
    """
    import tf_lm.models  # noqa: F401  (this package: its layers and models register on import)

    return keras.saving.load_model(path, compile=compile, safe_mode=True)
