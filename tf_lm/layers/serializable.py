"""Registration for `.keras` saving (keras-hub's api_export), and small argument checks."""

import keras


def serializable(cls):
    """Register `cls` as `tf_lm>ClassName`, so `keras.saving.load_model` finds it in safe mode."""
    return keras.saving.register_keras_serializable(package="tf_lm")(cls)


def clone_initializer(initializer):
    """A fresh initializer with the same config, so no two variables share one instance."""
    initializer = keras.initializers.get(initializer)
    return initializer.__class__.from_config(initializer.get_config())


def check_positive_int(name, value):
    """Raise a `ValueError` naming `name` unless `value` is an integer >= 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value!r}")


def check_rate(name, value):
    """Raise a `ValueError` naming `name` unless 0 <= value < 1."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ValueError(f"`{name}` must be a number in [0, 1). Received: {name}={value!r}")


def static_int(value):
    """`value` as a Python int when it is known now (an int, a NumPy or eager scalar), else None
    (a symbolic tensor inside a traced function)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def output_spec(layer, shape, cache=None):
    """The symbolic output of a layer that returns `(outputs, cache)` when given a cache (a
    tensor, or a nested tuple of them)."""
    outputs = keras.KerasTensor(shape, dtype=layer.compute_dtype)
    if cache is None:
        return outputs
    return outputs, keras.tree.map_structure(
        lambda part: keras.KerasTensor(part.shape, dtype=part.dtype), cache)
