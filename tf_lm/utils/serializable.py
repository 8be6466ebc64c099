"""Registration for `.keras` saving (keras-hub's api_export) and small Keras helpers."""

import keras


def serializable(cls):
    """Register `cls` as `tf_lm>ClassName`, so `keras.saving.load_model` finds it in safe mode."""
    return keras.saving.register_keras_serializable(package="tf_lm")(cls)


def clone_initializer(initializer):
    """A fresh initializer with the same config, so no two variables share one instance."""
    initializer = keras.initializers.get(initializer)
    return initializer.__class__.from_config(initializer.get_config())


def output_spec(layer, shape, cache=None):
    """The symbolic output of a layer that returns `(outputs, cache)` when given a cache (a
    tensor, or a nested tuple of them)."""
    outputs = keras.KerasTensor(shape, dtype=layer.compute_dtype)
    if cache is None:
        return outputs
    return outputs, keras.tree.map_structure(
        lambda part: keras.KerasTensor(part.shape, dtype=part.dtype), cache)
