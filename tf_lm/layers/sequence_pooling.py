"""Pooling a sequence of hidden states into one vector per sequence, padding left out."""

import keras
from keras import ops

from tf_lm.utils.serializable import serializable


MODES = ("last", "mean", "max", "concat")


@serializable
class SequencePooling(keras.layers.Layer):
    """One vector per sequence from `(batch, seq, hidden)` states and a padding mask.

    `last`: the state at the last real token, `h[b, n_b - 1]` with `n_b = Σ_t mask[b, t]`. In
    a causal model (GPT or RNN) it is the only state that has read the whole text, the way
    GPT fine-tunes for classification (Radford et al., 2018). `mean`: `Σ_t mask·h / n_b`.
    `max`: the largest value of each feature over the real tokens. `concat`: `last ⊕ mean ⊕
    max`, ULMFiT's concat pooling (Howard & Ruder, 2018), so a signal anywhere in a long text
    reaches the head. Right padding is assumed (real tokens first); a text with no real token
    pools to the first state (`last`) or zeros (`mean`, `max`).

    Args:
        mode: `"last"`, `"mean"`, `"max"` or `"concat"`.

    Call arguments:
        hidden_states: `(batch, seq, hidden)`.
        padding_mask: `(batch, seq)`, true (1) at real tokens.

    Returns:
        `(batch, hidden)`, or `(batch, 3 * hidden)` for `concat`.
    """

    def __init__(self, mode="last", **kwargs):
        super().__init__(**kwargs)
        if mode not in MODES:
            raise ValueError(f"`mode` must be one of {', '.join(map(repr, MODES))}. "
                             f"Received: mode={mode!r}")
        self.mode = mode

    def call(self, hidden_states, padding_mask):
        mask = ops.cast(padding_mask, hidden_states.dtype)  # (batch, seq)
        counts = ops.maximum(ops.sum(mask, axis=1), 1.0)  # (batch,)
        pooled = {}
        if self.mode in ("last", "concat"):
            last = ops.cast(counts, "int32") - 1  # (batch,)
            picked = ops.take_along_axis(hidden_states, last[:, None, None], axis=1)
            pooled["last"] = ops.squeeze(picked, axis=1)  # (batch, hidden)
        if self.mode in ("mean", "concat"):
            total = ops.sum(hidden_states * mask[:, :, None], axis=1)  # (batch, hidden)
            pooled["mean"] = total / counts[:, None]
        if self.mode in ("max", "concat"):
            real = ops.cast(padding_mask, "bool")[:, :, None]
            lowest = ops.min(hidden_states, axis=1, keepdims=True)  # padding never wins
            top = ops.max(ops.where(real, hidden_states, lowest), axis=1)
            pooled["max"] = top * ops.minimum(ops.sum(mask, axis=1), 1.0)[:, None]
        if self.mode == "concat":
            return ops.concatenate([pooled["last"], pooled["mean"], pooled["max"]], axis=-1)
        return pooled[self.mode]

    def compute_output_shape(self, input_shape, padding_mask_shape=None):
        hidden = input_shape[-1]
        if self.mode == "concat" and hidden is not None:
            hidden = 3 * hidden
        return (input_shape[0], hidden)

    def get_config(self):
        config = super().get_config()
        config.update({"mode": self.mode})
        return config
