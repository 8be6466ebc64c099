"""Loading a saved tf_lm model."""

import keras


def load_model(path, compile=True):
    """Load a `.keras` file written by tf_lm (a run's `model.keras`), in Keras' safe mode.

    Imports the tf_lm classes the file names first (layers, models, and — for the compile
    state — the optimizers and schedules), which `keras.saving.load_model` alone cannot find.
    """
    import tf_lm.models  # noqa: F401  (registers the layers and models)

    if compile:
        import tf_lm.training.optimizers  # noqa: F401  (registers optimizers and schedules)
    return keras.saving.load_model(path, compile=compile, safe_mode=True)
