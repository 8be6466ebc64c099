"""Causal multi-head self-attention with a static-shape key/value cache."""

import math

import keras
from keras import ops

from tf_lm.layers.tokenwise import tokenwise
from tf_lm.ops.attention_kernels import batched_matmul, per_row, write_cache, written_out_softmax
from tf_lm.utils.checks import check_divisible, check_positive_int, check_rate, static_int
from tf_lm.utils.serializable import clone_initializer, output_spec, serializable


@serializable
class CausalSelfAttention(keras.layers.Layer):
    """softmax(Q Kᵀ / √d_k + mask) V over `num_heads` heads, each position seeing only its past.

    One dense layer projects the input to queries, keys and values at once (nanoGPT's
    `c_attn`), another projects the concatenated heads back (`c_proj`).

    Decoding uses a preallocated cache `(2, batch, heads, max_length, head_dim)` (keys,
    values), so every step has the same shapes: the new keys and values are written at
    `cache_index`, the queries attend to all `max_length` slots, and the causal mask (key
    position ≤ query position, counted from `cache_index`) hides the slots not written yet.
    `cache[0]` and `cache[1]` are read by batched matmuls as they lie, and the projection's
    output is written into the cache as it lies, so neither needs a transpose. With a cache
    the layer runs in the exported model, op by op, and calls the serving kernels of
    `tf_lm.ops.attention_kernels`; without one (training, scoring) it uses Keras' ops.

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
        cache: optional `(2, batch, heads, max_length, head_dim)`: keys, values.
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
        check_divisible("hidden_dim", hidden_dim, "num_heads", self.num_heads)
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
        length = ops.shape(inputs)[1]
        qkv = tokenwise(self.qkv_dense, inputs)  # (batch, seq, 3 * hidden)
        qkv = ops.reshape(qkv, (-1, length, 3, self.num_heads, self.head_dim))  # (b, seq, 3, h, hd)
        # Scale before the product (as keras-hub does): Q Kᵀ itself may overflow float16.
        scale = ops.cast(1.0 / math.sqrt(self.head_dim), qkv.dtype)
        query_positions = ops.arange(length, dtype="int32")[None, :]  # (1, seq)
        if cache is None:
            qkv = ops.transpose(qkv, (2, 0, 3, 1, 4))  # (3, batch, heads, seq, head_dim)
            mask = self._mask(query_positions, length, padding_mask, inputs.shape[:2])
            return self._attend(qkv[0] * scale, qkv[1], qkv[2], mask, training)
        self._check_cache(cache)
        self._check_cache_index(inputs, cache, cache_index)
        cache = write_cache(cache, qkv[:, :, 1:], cache_index)  # (2, b, heads, max_len, hd)
        query_positions = query_positions + per_row(cache_index)  # (batch or 1, seq)
        mask = self._mask(query_positions, ops.shape(cache)[3], padding_mask,
                          (inputs.shape[0], cache.shape[3]))
        query = qkv[:, :, 0] * scale  # (batch, seq, heads, head_dim)
        if query.shape[1] == 1:  # (batch, 1, heads, hd) holds the same numbers as (b, h, 1, hd)
            query = ops.reshape(query, (-1, self.num_heads, 1, self.head_dim))
        else:
            query = ops.transpose(query, (0, 2, 1, 3))  # (batch, heads, seq, head_dim)
        return self._attend(query, cache[0], cache[1], mask, training, lean=True), cache

    def _mask(self, query_positions, key_length, padding_mask, static_shape):
        """`(batch or 1, seq, key_length)` bool: key position ≤ query position, and a real
        token where `padding_mask` is given (`static_shape`: its expected (batch, key_length),
        None where unknown)."""
        key_positions = ops.arange(key_length, dtype="int32")
        mask = key_positions[None, None, :] <= query_positions[:, :, None]
        if padding_mask is not None:
            self._check_padding_mask(padding_mask, tuple(static_shape))
            mask = ops.logical_and(mask, ops.cast(padding_mask, "bool")[:, None, :])
        return mask

    def _attend(self, query, key, value, mask, training, lean=False):
        """softmax(Q Kᵀ + mask) V: query `(batch, heads, seq, hd)`, key and value `(batch,
        heads, key_length, hd)` → `(batch, seq, hidden)`. `lean` (with a cache, the exported
        model's path): the serving kernels instead of Keras' matmul and softmax."""
        length = ops.shape(query)[2]
        matmul = batched_matmul if lean else _matmul
        scores = matmul(query, key, transpose_b=True)  # (batch, heads, seq, key_length)
        scores = ops.cast(scores, "float32")
        scores = ops.where(mask[:, None], scores, -1e9)  # float32: -1e9 would overflow float16
        if lean:
            weights = written_out_softmax(scores, axis=-1)
        elif scores.shape[-1] == 1:  # one key: its weight is 1 (and ops.softmax would warn)
            weights = ops.ones_like(scores)
        else:
            weights = ops.softmax(scores, axis=-1)
        weights = ops.cast(weights, self.compute_dtype)
        weights = self.weights_dropout(weights, training=training)
        outputs = matmul(weights, value)  # (batch, heads, seq, head_dim)
        if query.shape[2] != 1:  # one token per row: (b, heads, 1, hd) is (b, 1, heads, hd)
            outputs = ops.transpose(outputs, (0, 2, 1, 3))  # (batch, seq, heads, head_dim)
        outputs = ops.reshape(outputs, (-1, length, self.hidden_dim))
        return self.output_dropout(tokenwise(self.output_dense, outputs), training=training)

    def _check_cache(self, cache):
        """The cache's known dimensions must be (2, batch, heads, max_length, head_dim)."""
        shape = tuple(cache.shape)
        expected = (2, None, self.num_heads, None, self.head_dim)
        if len(shape) != 5 or any(size is not None and want is not None and size != want
                                  for size, want in zip(shape, expected)):
            raise ValueError(
                f"`cache` must have shape (2, batch, heads={self.num_heads}, max_length, "
                f"head_dim={self.head_dim}) (from `initial_cache`). Received: "
                f"cache.shape={shape}")

    def _check_cache_index(self, inputs, cache, cache_index):
        """A static index past the cache is refused here; a tensor index is the decoding
        loop's to bound (XLA would silently drop the write)."""
        length, max_length, index = inputs.shape[1], cache.shape[3], static_int(cache_index)
        if index is not None and isinstance(length, int) and isinstance(max_length, int) \
                and not 0 <= index <= max_length - length:
            raise ValueError(
                f"`cache_index` + sequence length must fit in the cache of max_length="
                f"{max_length}. Received: cache_index={index}, sequence length={length}")

    def _check_padding_mask(self, padding_mask, expected):
        mask_shape = tuple(padding_mask.shape)
        if len(mask_shape) != 2 or any(
                m is not None and e is not None and m != e for m, e in zip(mask_shape, expected)):
            raise ValueError(
                f"`padding_mask` must have shape (batch, key_length) = {expected} (key_length "
                f"is the sequence length, or the cache length when decoding). "
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


def _matmul(a, b, transpose_b=False):
    """`a @ b` (or `a @ bᵀ`) over leading batch dimensions, with Keras' ops."""
    return ops.matmul(a, ops.swapaxes(b, -1, -2) if transpose_b else b)
