"""Learned absolute position embeddings (GPT-2, nanoGPT's `wpe`)."""

import keras
from keras import ops

from tf_lm.utils.checks import check_positive_int, static_int
from tf_lm.utils.serializable import clone_initializer, serializable


@serializable
class PositionEmbedding(keras.layers.Layer):
    """A trainable `(sequence_length, dim)` table, one row per position.

    Args:
        sequence_length: the longest sequence the table covers (the model's context).
        initializer: initializer of the table.

    Call arguments:
        inputs: the token embeddings `(batch, seq, dim)`; only their shape is used.
        start_index: position of the first token, for decoding with a cache: a scalar, or
            `(batch,)` for rows at different positions; may be a tensor.

    Returns:
        `(batch, seq, dim)` position embeddings for positions `start_index ... start_index+seq-1`,
        to be added to `inputs`.
    """

    def __init__(self, sequence_length, initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        check_positive_int("sequence_length", sequence_length)
        self.sequence_length = sequence_length
        self.initializer = keras.initializers.get(initializer)

    def build(self, input_shape):
        self.position_embeddings = self.add_weight(
            name="embeddings", shape=(self.sequence_length, input_shape[-1]),
            initializer=clone_initializer(self.initializer))
        self.built = True

    def call(self, inputs, start_index=0):
        length, start = inputs.shape[1], static_int(start_index)
        if isinstance(length, int) and start is not None and start + length > self.sequence_length:
            raise ValueError(
                f"The sequence is longer than the position table: positions up to "
                f"{start + length} need sequence_length >= {start + length}, the "
                f"table has sequence_length={self.sequence_length}. "
                f"Received: inputs.shape={tuple(inputs.shape)}, start_index={start}")
        shape = ops.shape(inputs)
        start = ops.reshape(ops.cast(start_index, "int32"), (-1, 1))  # (batch or 1, 1)
        positions = ops.arange(shape[1], dtype="int32")[None, :] + start  # (batch or 1, seq)
        table = ops.cast(self.position_embeddings, self.compute_dtype)
        return ops.broadcast_to(ops.take(table, positions, axis=0), shape)  # (batch, seq, dim)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"sequence_length": self.sequence_length,
                       "initializer": keras.initializers.serialize(self.initializer)})
        return config
