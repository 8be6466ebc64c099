"""Pooling a sequence of hidden states into one vector per sequence, padding left out."""

import keras
from keras import ops

from tf_lm.utils.serializable import serializable


@serializable
class SequencePooling(keras.layers.Layer):
    """One vector per sequence from `(batch, seq, hidden)` states and a padding mask.

    `last`: the state at the last real token, `h[b, n_b - 1]` with `n_b = Σ_t mask[b, t]`. In
    a causal model (GPT or RNN) it is the only state that has read the whole text, the way
    GPT fine-tunes for classification (Radford et al., 2018). `mean`: `Σ_t mask·h / n_b`.
    Right padding is assumed (real tokens first).

    Args:
        mode: `"last"` or `"mean"`.

    Call arguments:
        hidden_states: `(batch, seq, hidden)`.
        padding_mask: `(batch, seq)`, true (1) at real tokens.

    Returns:
        `(batch, hidden)`.
    """

    def __init__(self, mode="last", **kwargs):
        super().__init__(**kwargs)
        if mode not in ("last", "mean"):
            raise ValueError(f"`mode` must be 'last' or 'mean'. Received: mode={mode!r}")
        self.mode = mode

    def call(self, hidden_states, padding_mask):
        mask = ops.cast(padding_mask, hidden_states.dtype)  # (batch, seq)
        counts = ops.maximum(ops.sum(mask, axis=1), 1.0)  # (batch,)
        if self.mode == "mean":
            total = ops.sum(hidden_states * mask[:, :, None], axis=1)  # (batch, hidden)
            return total / counts[:, None]
        last = ops.cast(counts, "int32") - 1  # (batch,)
        picked = ops.take_along_axis(hidden_states, last[:, None, None], axis=1)
        return ops.squeeze(picked, axis=1)  # (batch, hidden)

    def compute_output_shape(self, input_shape, padding_mask_shape=None):
        return (input_shape[0], input_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update({"mode": self.mode})
        return config
