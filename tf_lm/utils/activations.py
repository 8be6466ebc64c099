"""Activations by name: Keras' own, and GPT-2's tanh GELU."""

import keras
from keras import ops


def get_activation(activation):
    """The function of `activation`: any Keras activation (a name such as `gelu`, `relu` or
    `silu`, or a callable), or `gelu_tanh`, GPT-2's tanh approximation of GELU. Keras' `gelu`
    is the exact (erf) GELU."""
    if activation == "gelu_tanh":
        return _gelu_tanh
    try:
        return keras.activations.get(activation)
    except (ValueError, TypeError):
        raise ValueError("`activation` must be a Keras activation (e.g. 'gelu', 'relu', "
                         f"'silu') or 'gelu_tanh'. Received: activation={activation!r}") from None


def _gelu_tanh(x):
    return ops.gelu(x, approximate=True)
