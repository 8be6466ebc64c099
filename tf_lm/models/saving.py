"""Loading a saved tf_lm model."""

import os
import zipfile

import keras

import tf_lm.optimizers  # noqa: F401  (registers the optimizers and schedules of compiled files)
from tf_lm.errors import InputError


def load_model(path, compile=True):
    """Load a `.keras` file written by tf_lm (a run's `model.keras`), in Keras' safe mode.

    The same as `keras.saving.load_model(path, safe_mode=True)` after `import tf_lm`, with
    what Keras refuses as one `InputError` naming the file: a damaged or truncated file, a
    Lambda layer (code, which safe mode never runs), a class that is not registered.
    """
    import tf_lm.models  # noqa: F401  (this package: its layers and models register on import)

    if not os.path.isfile(path):
        raise InputError(f"Model file not found: {path}")
    try:
        return keras.saving.load_model(path, compile=compile, safe_mode=True)
    except (ValueError, TypeError, KeyError, OSError, zipfile.BadZipFile) as e:
        text = " ".join(str(e).split())
        innermost = text.rsplit("Exception encountered:", 1)[-1].strip()
        if "'class_name': 'Lambda'" in text or "`Lambda` layer" in text:
            reason = ("it holds a Lambda layer, Python code that safe mode does not run; "
                      "rebuild the model without it")
        elif "Could not locate" in innermost:
            reason = ("it names a class or function that neither tf_lm nor Keras registers "
                      f"({innermost.split('. ')[0]})")
        elif isinstance(e, zipfile.BadZipFile) or "accessible `.keras` zip" in text:
            reason = "it is damaged or truncated (not a complete .keras zip file)"
        else:
            reason = innermost[:300] or type(e).__name__
        raise InputError(f"Cannot load the model file {path}: {reason}.") from None
