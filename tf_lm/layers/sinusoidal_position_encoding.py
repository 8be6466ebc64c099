"""Fixed sinusoidal position encodings ("Attention is all you need", section 3.5)."""

import keras
from keras import ops

from tf_lm.utils.serializable import serializable


@serializable
class SinusoidalPositionEncoding(keras.layers.Layer):
    """PE(pos, 2i) = sin(pos / 10000^(2i/d)), PE(pos, 2i+1) = cos(pos / 10000^(2i/d)).

    No weights and no length limit: the encoding of any position is computed when asked.
    The Transformer paper multiplies token embeddings by √d before adding these
    (`TokenEmbedding(scale=True)`).

    Args:
        max_wavelength: the 10000 of the formula.

    Call arguments:
        inputs: the token embeddings `(batch, seq, d)`; only their shape is used.
        start_index: position of the first token: a scalar or `(batch,)`; may be a tensor.

    Returns:
        `(batch, seq, d)` encodings in the layer's compute dtype.
    """

    def __init__(self, max_wavelength=10000.0, **kwargs):
        super().__init__(**kwargs)
        if not max_wavelength > 1:
            raise ValueError(f"`max_wavelength` must be > 1. Received: max_wavelength="
                             f"{max_wavelength!r}")
        self.max_wavelength = max_wavelength

    def call(self, inputs, start_index=0):
        shape = ops.shape(inputs)
        dim = inputs.shape[-1]
        start = ops.reshape(ops.cast(start_index, "int32"), (-1, 1))  # (batch or 1, 1)
        positions = ops.cast(ops.arange(shape[1])[None, :] + start, "float32")  # (b|1, seq)
        # 1 / 10000^(2i/d) for i = 0 .. ceil(d/2)-1
        exponents = ops.arange(0, dim, 2, dtype="float32") / float(dim)
        inverse_frequencies = ops.power(float(self.max_wavelength), -exponents)
        angles = positions[:, :, None] * inverse_frequencies  # (b|1, seq, ceil(d/2))
        # Interleave: even channels sin, odd channels cos.
        encoding = ops.stack([ops.sin(angles), ops.cos(angles)], axis=-1)  # (.., ceil(d/2), 2)
        encoding = ops.reshape(encoding, (ops.shape(angles)[0], shape[1], -1))[:, :, :dim]
        return ops.broadcast_to(ops.cast(encoding, self.compute_dtype), shape)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"max_wavelength": self.max_wavelength})
        return config
