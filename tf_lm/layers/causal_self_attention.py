"""Causal multi-head self-attention with a static-shape key/value cache."""

import math

import keras
from keras import ops

from tf_lm.layers.serializable import (check_positive_int, check_rate, clone_initializer,
                                       output_spec, serializable, static_int)


def write_cache(cache, update, index):
    """`cache` with `update` written at sequence positions `index ... index+seq-1`.

    cache: `(batch, max_length, heads, head_dim)`, update: `(batch, seq, heads, head_dim)`,
    index: a scalar, or one index per row `(batch,)` (prompts of different lengths).
    A scatter (`TensorScatterUpdate`), not `ops.slice_update`: on TensorFlow the latter lowers
    to `XlaDynamicUpdateSlice`, which only runs under XLA and so not in TF Serving. A scatter
    runs everywhere and XLA compiles it to the same in-place update.
    """
    shape = ops.shape(update)
    batch, length = shape[0], shape[1]
    rows = ops.broadcast_to(ops.arange(batch, dtype="int32")[:, None], (batch, length))
    columns = ops.arange(length, dtype="int32")[None, :] + _per_row(index)  # (batch or 1, seq)
    columns = ops.broadcast_to(columns, (batch, length))
    indices = ops.stack([rows, columns], axis=-1)  # (batch, seq, 2)
    return ops.scatter_update(cache, indices, ops.cast(update, cache.dtype))


def _per_row(index):
    """A scalar index as `(1, 1)`, a per-row index `(batch,)` as `(batch, 1)`."""
    index = ops.cast(index, "int32")
    return ops.reshape(index, (-1, 1))


@serializable
class CausalSelfAttention(keras.layers.Layer):
    """softmax(Q Kᵀ / √d_k + mask) V over `num_heads` heads, each position seeing only its past.

    One dense layer projects the input to queries, keys and values at once (nanoGPT's
    `c_attn`), another projects the concatenated heads back (`c_proj`).

    Decoding uses a preallocated cache `(batch, 2, max_length, heads, head_dim)` (keys, values)
    so every step has the same shapes: new keys and values are written at `cache_index`, the
    queries attend to all `max_length` slots, and the causal mask (key position ≤ query
    position, counted from `cache_index`) hides the slots not written yet.

    Args:
        num_heads: attention heads; the input width must be divisible by it.
        dropout: dropout on the attention weights and on the output (nanoGPT's
            `attn_dropout`, `resid_dropout`).
        use_bias: biases in the two dense layers.
        kernel_initializer: initializer of the query/key/value projection.
        output_kernel_initializer: initializer of the output projection (default: the same);
            GPT-2 scales it by 1/√(2 · layers).

    Call arguments:
        inputs: `(batch, seq, hidden)`.
        padding_mask: optional `(batch, key_length)`, true/1 for real tokens; key_length is
            `seq`, or `max_length` with a cache.
        cache: optional `(batch, 2, max_length, heads, head_dim)`.
        cache_index: position of `inputs[:, 0]` in the cache: a scalar, or `(batch,)` for
            rows at different positions (prompts of different lengths); may be a tensor.
        training: enables dropout.

    Returns:
        `(batch, seq, hidden)`, and the updated cache when one was given.
    """

    def __init__(self, num_heads, dropout=0.0, use_bias=True,
                 kernel_initializer="glorot_uniform", output_kernel_initializer=None,
                 **kwargs):
        super().__init__(**kwargs)
        check_positive_int("num_heads", num_heads)
        check_rate("dropout", dropout)
        self.num_heads = num_heads
        self.dropout = dropout
        self.use_bias = use_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.output_kernel_initializer = keras.initializers.get(
            output_kernel_initializer or kernel_initializer)

    def build(self, input_shape):
        hidden_dim = input_shape[-1]
        if hidden_dim % self.num_heads:
            raise ValueError(
                f"The hidden size must be divisible by `num_heads`. Received: hidden size="
                f"{hidden_dim}, num_heads={self.num_heads}")
        self.hidden_dim = hidden_dim
        self.head_dim = hidden_dim // self.num_heads
        self.qkv_dense = keras.layers.Dense(
            3 * hidden_dim, use_bias=self.use_bias, name="qkv", dtype=self.dtype_policy,
            kernel_initializer=clone_initializer(self.kernel_initializer))
        self.qkv_dense.build(input_shape)
        self.output_dense = keras.layers.Dense(
            hidden_dim, use_bias=self.use_bias, name="output", dtype=self.dtype_policy,
            kernel_initializer=clone_initializer(self.output_kernel_initializer))
        self.output_dense.build(tuple(input_shape[:-1]) + (hidden_dim,))
        self.weights_dropout = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy,
                                                    name="weights_dropout")
        self.output_dropout = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy,
                                                   name="output_dropout")
        self.built = True

    def call(self, inputs, padding_mask=None, cache=None, cache_index=0, training=None):
        shape = ops.shape(inputs)
        batch, length = shape[0], shape[1]
        qkv = self.qkv_dense(inputs)  # (batch, seq, 3 * hidden)
        qkv = ops.reshape(qkv, (batch, length, 3, self.num_heads, self.head_dim))
        query, key, value = qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2]  # (batch, seq, heads, hd)
        # Scale before the product (as keras-hub does): Q Kᵀ itself may overflow float16.
        query = query * ops.cast(1.0 / math.sqrt(self.head_dim), query.dtype)
        query_positions = ops.arange(length, dtype="int32")[None, :]  # (1, seq)
        if cache is not None:
            self._check_cache_index(inputs, cache, cache_index)
            key = write_cache(cache[:, 0], key, cache_index)  # (batch, max_len, heads, hd)
            value = write_cache(cache[:, 1], value, cache_index)
            cache = ops.stack([key, value], axis=1)  # (batch, 2, max_len, heads, hd)
            query_positions = query_positions + _per_row(cache_index)  # (batch or 1, seq)
        key_positions = ops.arange(ops.shape(key)[1], dtype="int32")
        mask = key_positions[None, None, :] <= query_positions[:, :, None]  # (b|1, seq, keys)
        mask = mask[:, None, :, :]  # (batch or 1, 1, seq, key_len)
        if padding_mask is not None:
            self._check_padding_mask(padding_mask, key)
            mask = ops.logical_and(mask, ops.cast(padding_mask, "bool")[:, None, None, :])

        scores = ops.einsum("bqhd,bkhd->bhqk", query, key)  # (batch, heads, seq, key_len)
        scores = ops.cast(scores, "float32")
        scores = ops.where(mask, scores, -1e9)  # float32: -1e9 would overflow float16
        scores = ops.exp(scores - ops.max(scores, axis=-1, keepdims=True))  # softmax, spelled out
        weights = ops.cast(scores / ops.sum(scores, axis=-1, keepdims=True), self.compute_dtype)
        weights = self.weights_dropout(weights, training=training)
        outputs = ops.einsum("bhqk,bkhd->bqhd", weights, value)  # (batch, seq, heads, hd)
        outputs = ops.reshape(outputs, (batch, length, self.hidden_dim))
        outputs = self.output_dropout(self.output_dense(outputs), training=training)
        return outputs if cache is None else (outputs, cache)

    def _check_cache_index(self, inputs, cache, cache_index):
        """A static index past the cache is refused here; a tensor index is the decoding
        loop's to bound (XLA would silently drop the write)."""
        length, max_length, index = inputs.shape[1], cache.shape[2], static_int(cache_index)
        if index is not None and isinstance(length, int) and isinstance(max_length, int) \
                and not 0 <= index <= max_length - length:
            raise ValueError(
                f"`cache_index` + sequence length must fit in the cache of max_length="
                f"{max_length}. Received: cache_index={index}, sequence length={length}")

    def _check_padding_mask(self, padding_mask, key):
        mask_shape, key_shape = tuple(padding_mask.shape), tuple(key.shape)
        if len(mask_shape) != 2 or any(
                m is not None and k is not None and m != k
                for m, k in zip(mask_shape, key_shape[:2])):
            raise ValueError(
                f"`padding_mask` must have shape (batch, key_length) = {key_shape[:2]} "
                f"(key_length is the sequence length, or the cache length when decoding). "
                f"Received: padding_mask.shape={mask_shape}")

    def compute_output_shape(self, input_shape):
        return input_shape

    def compute_output_spec(self, inputs, padding_mask=None, cache=None, cache_index=0,
                            training=None):
        return output_spec(self, inputs.shape, cache)

    def get_config(self):
        config = super().get_config()
        config.update({
            "num_heads": self.num_heads,
            "dropout": self.dropout,
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "output_kernel_initializer":
                keras.initializers.serialize(self.output_kernel_initializer),
        })
        return config
