"""The attention layer's serving-path kernels: TensorFlow ops chosen for a graph run op by op.

`CausalSelfAttention` reads like the formula; with a cache it calls these. TF Serving runs the
exported decoding loop without XLA, one op at a time, so there the choice of op matters: on
oneDNN-enabled TensorFlow (the x86 default) `BatchMatMulV2`, `Softmax` and `TensorScatterUpdate`
are heavy kernels for the few thousand numbers of one decoding step. Under XLA, eagerly, in
float16/bfloat16 and on other backends each function falls back to Keras' own op. Their cost,
measured, is in docs/performance.md.
"""

import keras
import tensorflow as tf
from keras import ops

try:  # TensorFlow's own test, used by its control flow and gradients; not a public API
    from tensorflow.python.ops.control_flow_util import GraphOrParentsInXlaContext
except ImportError:  # pragma: no cover - if it moves, the scatter is correct, only slower
    GraphOrParentsInXlaContext = None


def per_row(index):
    """A scalar index as `(1, 1)`, a per-row index `(batch,)` as `(batch, 1)`."""
    return ops.reshape(ops.cast(index, "int32"), (-1, 1))


def write_cache(cache, update, index):
    """`cache` with `update` written at sequence positions `index ... index+seq-1`.

    cache: `(2, batch, heads, max_length, head_dim)` (keys, values); update: `(batch, seq, 2,
    heads, head_dim)`, as the projection lays them out; index: a scalar, or `(batch,)` (prompts
    of different lengths). The writes are `head_dim`-long slices at (key or value, row, head,
    position), so the update is written as it lies, with no transpose.

    Under XLA (and eagerly, and on other backends): one scatter, which XLA updates in place
    (not `ops.slice_update`: on TensorFlow it lowers to `XlaDynamicUpdateSlice`, which only
    runs under XLA, so not in TF Serving). In a float32 TensorFlow graph without XLA (the
    exported model): two `ScatterNdNonAliasingAdd`, minus the slots' old contents, then the
    update (x + (-x) is exactly 0). `TensorScatterUpdate` never writes into its input, so it
    would copy the whole cache every step; `ScatterNdNonAliasingAdd` writes into its input's
    buffer when nothing else holds it (the decoding loop's cache) and copies it otherwise, so
    no tensor a caller still holds changes. XLA has no kernel for it, hence the two paths.
    """
    length, heads = ops.shape(update)[1], update.shape[3]
    positions = ops.arange(length, dtype="int32")[None, :] + per_row(index)  # (b or 1, seq)
    # With a per-row index the batch size is read from it, so every layer builds the same
    # indices from the same tensor and grappler computes them once per step.
    by_row = getattr(index, "ndim", 0) == 1 and index.shape[0] != 1
    batch = ops.shape(index)[0] if by_row else ops.shape(update)[0]
    shape = (batch, length, 2, heads)
    indices = ops.stack([  # (batch, seq, 2, heads, 4): keys/values, row, head, position
        ops.broadcast_to(ops.arange(2, dtype="int32")[None, None, :, None], shape),
        ops.broadcast_to(ops.arange(batch, dtype="int32")[:, None, None, None], shape),
        ops.broadcast_to(ops.arange(heads, dtype="int32")[None, None, None, :], shape),
        ops.broadcast_to(positions[:, :, None, None], shape)], axis=-1)
    update = ops.cast(update, cache.dtype)
    if not writes_in_place(cache):
        return ops.scatter_update(cache, indices, update)
    cleared = tf.raw_ops.ScatterNdNonAliasingAdd(
        input=cache, indices=indices, updates=-tf.gather_nd(cache, indices))
    return tf.raw_ops.ScatterNdNonAliasingAdd(input=cleared, indices=indices, updates=update)


def writes_in_place(cache):
    """Whether `write_cache` uses `ScatterNdNonAliasingAdd`: a float32 cache in a TensorFlow
    graph that XLA will not compile (XLA has no kernel for that op)."""
    if not tensorflow_float32(cache) or tf.executing_eagerly() \
            or GraphOrParentsInXlaContext is None:
        return False
    return not GraphOrParentsInXlaContext(tf.compat.v1.get_default_graph())


def tensorflow_float32(tensor):
    """Whether the TensorFlow-only kernels apply: the TensorFlow backend and a float32 tensor
    (their CPU kernels, or their gains, are float32 ones)."""
    return keras.backend.backend() == "tensorflow" \
        and keras.backend.standardize_dtype(tensor.dtype) == "float32"


def batched_matmul(a, b, transpose_b=False):
    """`a @ b` (or `a @ bᵀ`) over leading batch dimensions, for the serving path.

    In float32 on TensorFlow: `BatchMatMulV3`, which runs Eigen's kernel where `ops.matmul`'s
    `BatchMatMulV2` gets oneDNN's, slow on small tensors; XLA compiles both alike. Otherwise
    (float16/bfloat16, which TensorFlow's CPU has no `BatchMatMulV3` kernel for, or another
    backend) `ops.matmul`.
    """
    if not tensorflow_float32(a):
        return ops.matmul(a, ops.swapaxes(b, -1, -2) if transpose_b else b)
    return tf.raw_ops.BatchMatMulV3(x=a, y=b, adj_y=transpose_b, Tout=a.dtype)


def written_out_softmax(scores, axis=-1):
    """softmax along `axis` as exp(s - max) / sum: five small elementwise ops and reductions
    instead of one `Softmax`, which oneDNN replaces with a heavy kernel on a few numbers."""
    exponentials = ops.exp(scores - ops.max(scores, axis=axis, keepdims=True))
    return exponentials / ops.sum(exponentials, axis=axis, keepdims=True)
