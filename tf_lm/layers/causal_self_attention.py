"""Causal multi-head self-attention with a static-shape key/value cache."""

import math

import keras
from keras import ops

from tf_lm.layers.serializable import (check_positive_int, check_rate, clone_initializer,
                                       output_spec, serializable, static_int)
from tf_lm.layers.tokenwise import tokenwise


def write_cache(cache, update, index):
    """`cache` with `update` written at sequence positions `index ... index+seq-1`.

    cache: `(2, batch, heads, max_length, head_dim)` (keys, values), update: `(batch, seq, 2,
    heads, head_dim)` (as the projection lays them out), index: a scalar, or one index per row
    `(batch,)` (prompts of different lengths). The writes are `head_dim`-long slices at (key or
    value, row, head, position), so the update is written as it lies, with no transpose.

    Which op writes them depends on who runs the graph:

    - Under XLA (and eagerly, and on other backends): one scatter (`TensorScatterUpdate`),
      which XLA compiles to an update in place. Not `ops.slice_update`: on TensorFlow that
      lowers to `XlaDynamicUpdateSlice`, which only runs under XLA and so not in TF Serving.
    - In a TensorFlow graph without XLA (the exported model, run op by op), float32: two
      `ScatterNdNonAliasingAdd`, the first adding minus the slots' old contents (x + (-x) is
      exactly 0), the second the update, so the slots hold the update (bit for bit, but for
      subnormals, which the CPU's add flushes to zero, and -0, which becomes 0). The reason is
      memory traffic: TensorFlow's `TensorScatterUpdate` kernel never writes into its input
      (it offers the `updates` tensor, not the input, for reuse), so it copies the whole
      cache at every step: 40-60 µs per layer and token for a `nanogpt-cpu` cache of 64
      positions, 220 µs at 2048. `ScatterNdNonAliasingAdd` writes into its input's buffer
      when nothing else holds it (the decoding loop's cache) and copies it otherwise, so no
      tensor a caller still holds is changed. (A slot holding inf or NaN would become NaN;
      keys and values that overflow float32 have broken attention before that.) XLA has no
      kernel for that op: a function traced outside XLA cannot later be called inside an
      XLA-compiled one (our decoding loops are traced for one or the other).
    """
    length, heads = ops.shape(update)[1], update.shape[3]
    positions = ops.arange(length, dtype="int32")[None, :] + _per_row(index)  # (b or 1, seq)
    # With a per-row index the batch size is read from it rather than from `update`: every
    # layer then builds the same indices from the same tensor, and grappler computes them once
    # per step. (An index of unknown rank, or one value for every row, uses `update`.)
    per_row = getattr(index, "ndim", 0) == 1 and index.shape[0] != 1
    batch = ops.shape(index)[0] if per_row else ops.shape(update)[0]
    shape = (batch, length, 2, heads)
    indices = ops.stack([  # (batch, seq, 2, heads, 4): keys/values, row, head, position
        ops.broadcast_to(ops.arange(2, dtype="int32")[None, None, :, None], shape),
        ops.broadcast_to(ops.arange(batch, dtype="int32")[:, None, None, None], shape),
        ops.broadcast_to(ops.arange(heads, dtype="int32")[None, None, None, :], shape),
        ops.broadcast_to(positions[:, :, None, None], shape)], axis=-1)
    update = ops.cast(update, cache.dtype)
    if not _writes_in_place(cache):
        return ops.scatter_update(cache, indices, update)
    import tensorflow as tf

    cleared = tf.raw_ops.ScatterNdNonAliasingAdd(
        input=cache, indices=indices, updates=-tf.gather_nd(cache, indices))
    return tf.raw_ops.ScatterNdNonAliasingAdd(input=cleared, indices=indices, updates=update)


def _writes_in_place(cache):
    """Whether `write_cache` uses `ScatterNdNonAliasingAdd`: a float32 cache in a TensorFlow
    graph that XLA will not compile (XLA has no kernel for that op)."""
    if not _tensorflow_float32(cache):
        return False
    import tensorflow as tf

    if tf.executing_eagerly():
        return False
    try:  # TensorFlow's own test, used by its control flow and gradients; not a public API
        from tensorflow.python.ops.control_flow_util import GraphOrParentsInXlaContext
    except ImportError:  # pragma: no cover - if it moves, the scatter is correct, only slower
        return False
    return not GraphOrParentsInXlaContext(tf.compat.v1.get_default_graph())


def _tensorflow_float32(tensor):
    """Whether the TensorFlow-only ops of this module apply: the TensorFlow backend and a
    float32 tensor (their CPU kernels, or their gains, are float32 ones)."""
    return keras.backend.backend() == "tensorflow" \
        and keras.backend.standardize_dtype(tensor.dtype) == "float32"


def _per_row(index):
    """A scalar index as `(1, 1)`, a per-row index `(batch,)` as `(batch, 1)`."""
    index = ops.cast(index, "int32")
    return ops.reshape(index, (-1, 1))


def _matmul(a, b, transpose_b=False, lean=False):
    """`a @ b` (or `a @ bᵀ`) over leading batch dimensions (one dtype: Keras casts the layer's
    floating-point arguments, the cache among them, to its compute dtype).

    `lean`, in float32 on TensorFlow: TensorFlow's `BatchMatMulV3`. `ops.matmul` emits
    `BatchMatMulV2`, which oneDNN-enabled TensorFlow (the default on x86) replaces with a
    kernel costing ~50-100 µs on the few thousand numbers of a decoding step, where
    `BatchMatMulV3` (the same product, with an explicit output type) runs Eigen's in ~10 µs.
    XLA compiles both alike. It is one of the layers' few raw TensorFlow ops (with
    `write_cache`'s): the path it speeds up is the exported model's, which only TensorFlow
    runs. Otherwise (not `lean`, float16 and bfloat16 policies, as TensorFlow's CPU has no
    float16 kernel of it, or another backend) `ops.matmul`.
    """
    if not (lean and _tensorflow_float32(a)):
        return ops.matmul(a, ops.swapaxes(b, -1, -2) if transpose_b else b)
    import tensorflow as tf

    return tf.raw_ops.BatchMatMulV3(x=a, y=b, adj_y=transpose_b, Tout=a.dtype)


def _softmax(scores, axis):
    """softmax along `axis`, spelled out: exp(s - max) / sum.

    Used with a cache (the exported model's path), where `ops.softmax` is a single op that
    oneDNN-enabled TensorFlow (the default on x86) replaces with a kernel costing tens of
    microseconds on a few dozen numbers; three elementwise ops and two reductions cost a few
    each.
    """
    exponentials = ops.exp(scores - ops.max(scores, axis=axis, keepdims=True))
    return exponentials / ops.sum(exponentials, axis=axis, keepdims=True)


@serializable
class CausalSelfAttention(keras.layers.Layer):
    """softmax(Q Kᵀ / √d_k + mask) V over `num_heads` heads, each position seeing only its past.

    One dense layer projects the input to queries, keys and values at once (nanoGPT's
    `c_attn`), another projects the concatenated heads back (`c_proj`).

    Decoding uses a preallocated cache `(2, batch, heads, max_length, head_dim)` (keys,
    values) so every step has the same shapes: the new keys and values are scattered at
    `cache_index` (see `write_cache`), the queries attend to all `max_length` slots, and the
    causal mask (key position ≤ query position, counted from `cache_index`) hides the slots
    not written yet.
    The layout is the one attention wants: `cache[0]` and `cache[1]` are views that batched
    matmuls read as they lie, and the scatter writes the projection's output `(batch, seq, 3,
    heads, head_dim)` as it lies, `head_dim` numbers at a time, so neither needs a transpose.

    With a cache the layer runs in the exported model, op by op (TF Serving has no XLA), so
    that path counts ops: on oneDNN-enabled TensorFlow (the x86 default) `ops.matmul`,
    `ops.softmax` and a transpose on a few thousand numbers are oneDNN kernels costing 50 to
    200 µs. The cache path uses `BatchMatMulV3` and a written-out softmax (see `_matmul`,
    `_softmax`), and for one new token per row (the decoding step) reshapes where a longer
    input needs transposes; outside XLA the cache is written in place rather than copied
    (see `write_cache`). Without a cache (training, scoring) the layer uses Keras' ops,
    which XLA compiles.

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
        query_positions = query_positions + _per_row(cache_index)  # (batch or 1, seq)
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
        """query `(batch, heads, seq, hd)`, key and value `(batch, heads, key_length, hd)` →
        `(batch, seq, hidden)`.

        `lean` (the calls with a cache, which the exported model runs op by op): `BatchMatMulV3`
        and a written-out softmax (see `_matmul`, `_softmax`). Otherwise Keras' ops: the same
        under XLA, and faster in a training step without XLA (a `nanogpt-cpu` step's attention,
        forward and backward: 4.3 ms against 7.1 ms the lean way).
        """
        length = ops.shape(query)[2]
        scores = _matmul(query, key, transpose_b=True, lean=lean)  # (b, heads, seq, key_len)
        scores = ops.cast(scores, "float32")
        scores = ops.where(mask[:, None], scores, -1e9)  # float32: -1e9 would overflow float16
        if lean:
            weights = _softmax(scores, axis=-1)
        elif scores.shape[-1] == 1:  # one key: its weight is 1 (and ops.softmax would warn)
            weights = ops.ones_like(scores)
        else:
            weights = ops.softmax(scores, axis=-1)
        weights = ops.cast(weights, self.compute_dtype)
        weights = self.weights_dropout(weights, training=training)
        outputs = _matmul(weights, value, lean=lean)  # (batch, heads, seq, head_dim)
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
