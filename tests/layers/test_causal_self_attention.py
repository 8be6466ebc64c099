import keras
import numpy as np
from keras import ops
import pytest
import tensorflow as tf

from tests.layer_checks import run_layer_checks
from tf_lm.layers import CausalSelfAttention

RNG = np.random.default_rng(0)
X = RNG.normal(size=(2, 6, 8)).astype("float32")


def softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def reference(layer, x, padding_mask=None):
    """softmax(Q Kᵀ / √d_k + causal and padding mask) V, per head, in NumPy."""
    wqkv, bqkv, wo, bo = (np.asarray(w) for w in layer.weights)
    heads = layer.num_heads
    batch, length, hidden = x.shape
    d = hidden // heads
    qkv = x @ wqkv + bqkv
    q, k, v = np.split(qkv, 3, axis=-1)
    split = lambda t: t.reshape(batch, length, heads, d).transpose(0, 2, 1, 3)  # noqa: E731
    q, k, v = split(q), split(k), split(v)
    scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(d)
    allowed = np.tril(np.ones((length, length), bool))[None, None]
    if padding_mask is not None:
        allowed = allowed & padding_mask[:, None, None, :].astype(bool)
    scores = np.where(allowed, scores, -1e9)
    out = softmax(scores) @ v
    return out.transpose(0, 2, 1, 3).reshape(batch, length, hidden) @ wo + bo


def test_standard_checks(tmp_path):
    run_layer_checks(lambda **kw: CausalSelfAttention(2, **kw), X, (2, 6, 8), 4, tmp_path,
                     dropout="dropout")


def test_matches_numpy_scaled_dot_product_attention():
    layer = CausalSelfAttention(2)
    np.testing.assert_allclose(np.asarray(layer(X)), reference(layer, X), atol=1e-5)


def test_padding_mask_hides_keys():
    layer = CausalSelfAttention(2)
    mask = np.array([[0, 0, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1]], "int32")
    out = np.asarray(layer(X, padding_mask=mask))
    np.testing.assert_allclose(out, reference(layer, X, mask), atol=1e-5)
    # Real positions of a left-padded row do not see the padding.
    changed = X.copy()
    changed[0, :2] = 100.0
    out2 = np.asarray(layer(changed, padding_mask=mask))
    np.testing.assert_allclose(out2[0, 2:], out[0, 2:], atol=1e-5)


def test_future_positions_do_not_change_the_past():
    layer = CausalSelfAttention(2)
    changed = X.copy()
    changed[:, 4:] += 3.0
    np.testing.assert_allclose(np.asarray(layer(changed))[:, :4], np.asarray(layer(X))[:, :4],
                               atol=1e-6)


def decode(layer, x, prefill, max_length):
    cache = np.zeros((2, x.shape[0], layer.num_heads, max_length, 4), "float32")
    out, cache = layer(x[:, :prefill], cache=cache, cache_index=0)
    outputs = [np.asarray(out)]
    for i in range(prefill, x.shape[1]):
        out, cache = layer(x[:, i:i + 1], cache=cache, cache_index=i)
        outputs.append(np.asarray(out))
    return np.concatenate(outputs, axis=1), np.asarray(cache)


def test_cached_decoding_equals_the_full_pass():
    layer = CausalSelfAttention(2)
    full = np.asarray(layer(X))
    for prefill in (1, 4):
        steps, cache = decode(layer, X, prefill, max_length=9)
        np.testing.assert_allclose(steps, full, atol=1e-5)
        assert cache.shape == (2, 2, 2, 9, 4)  # (keys/values, batch, heads, max_length, hd)
        np.testing.assert_array_equal(cache[:, :, :, 6:], 0.0)  # slots not written yet
        assert np.abs(cache[:, :, :, :6]).min(axis=-1).max() > 0  # written ones hold values


def test_cached_calls_honour_a_padding_mask_over_the_cache():
    # The mask spans the cache (key_length = max_length): a prompt of several tokens and then
    # one token (the reshape-only path) both hide row 0's padded second position.
    layer = CausalSelfAttention(2)
    mask = np.ones((2, 9), "int32")
    mask[0, 1] = 0
    cache = np.zeros((2, 2, 2, 9, 4), "float32")
    out, cache = layer(X[:, :5], cache=cache, cache_index=0, padding_mask=mask)
    last, _ = layer(X[:, 5:6], cache=cache, cache_index=5, padding_mask=mask)
    expected = reference(layer, X, mask[:, :6])
    np.testing.assert_allclose(np.asarray(out), expected[:, :5], atol=1e-5)
    np.testing.assert_allclose(np.asarray(last), expected[:, 5:], atol=1e-5)
    with pytest.raises(ValueError, match="= \\(2, 9\\).*padding_mask.shape=\\(2, 6\\)"):
        layer(X[:, :5], cache=cache, cache_index=0, padding_mask=mask[:, :6])
    with pytest.raises(ValueError, match="padding_mask.shape=\\(1, 9\\)"):  # batch 2
        layer(X[:, :5], cache=cache, cache_index=0, padding_mask=mask[:1])


def test_a_per_row_cache_index_places_each_row_at_its_own_position():
    layer = CausalSelfAttention(2)
    _, cache = layer(X[:, :5], cache=np.zeros((2, 2, 2, 9, 4), "float32"), cache_index=0)
    new = RNG.normal(size=(2, 1, 8)).astype("float32")
    out, _ = layer(new, cache=cache, cache_index=np.array([3, 5], "int32"))
    for row, position in ((0, 3), (1, 5)):  # row 0 overwrites slot 3, row 1 writes slot 5
        sequence = np.concatenate([X[row:row + 1, :position], new[row:row + 1]], axis=1)
        np.testing.assert_allclose(np.asarray(out)[row], reference(layer, sequence)[0, -1:],
                                   atol=1e-5)
    # An index of unknown rank (as a served signature may trace it) works too.
    step = tf.function(lambda x, c, i: layer(x, cache=c, cache_index=i)).get_concrete_function(
        tf.TensorSpec((2, 1, 8)), tf.TensorSpec((2, 2, 2, 9, 4)), tf.TensorSpec(None, tf.int32))
    out_scalar, _ = step(tf.constant(new), tf.constant(cache), tf.constant(5))
    out_fixed, _ = layer(new, cache=cache, cache_index=5)
    np.testing.assert_allclose(np.asarray(out_scalar), np.asarray(out_fixed), atol=1e-6)


def step_function(layer, jit_compile):
    @tf.function(jit_compile=jit_compile)
    def step(x, cache, index):
        return layer(x, cache=cache, cache_index=index)
    return step


def test_cache_update_runs_with_and_without_xla_and_has_no_xla_ops():
    layer = CausalSelfAttention(2)
    cache = tf.zeros((2, 2, 2, 9, 4))
    index = tf.constant(3)
    plain = step_function(layer, False)
    graph = plain.get_concrete_function(
        tf.TensorSpec((None, 1, 8)), tf.TensorSpec((2, None, 2, 9, 4)),
        tf.TensorSpec((), tf.int32)).graph
    ops = {op.type for op in graph.get_operations()}
    # Without XLA the cache is written in place (TensorScatterUpdate would copy all of it).
    assert "ScatterNdNonAliasingAdd" in ops and "TensorScatterUpdate" not in ops, ops
    assert not [op for op in ops if op.startswith("Xla")], ops
    # One new token: BatchMatMulV3 and reshapes, none of the kernels oneDNN replaces with ones
    # costing tens of microseconds on a few numbers when the exported graph runs op by op.
    assert "BatchMatMulV3" in ops
    assert not ops & {"BatchMatMulV2", "Softmax", "Transpose", "Einsum"}, ops
    compiled = step_function(layer, True)
    xla_graph = compiled.get_concrete_function(
        tf.TensorSpec((2, 1, 8)), tf.TensorSpec((2, 2, 2, 9, 4)), tf.TensorSpec((), tf.int32)).graph
    xla_ops = {op.type for op in xla_graph.get_operations()}
    assert "TensorScatterUpdate" in xla_ops and "ScatterNdNonAliasingAdd" not in xla_ops
    a_out, a_cache = plain(X[:, :1], cache, index)
    b_out, b_cache = compiled(X[:, :1], cache, index)
    np.testing.assert_allclose(np.asarray(a_out), np.asarray(b_out), atol=1e-5)
    np.testing.assert_allclose(np.asarray(a_cache), np.asarray(b_cache), atol=1e-6)
    assert np.abs(np.asarray(a_cache)[:, :, :, 3]).sum() > 0


def test_hidden_size_must_divide_by_heads():
    with pytest.raises(ValueError, match="hidden_dim=8, num_heads=3"):
        CausalSelfAttention(3)(X)


def test_mismatched_padding_mask_is_refused():
    with pytest.raises(ValueError, match="padding_mask.shape=\\(2, 5\\)"):
        CausalSelfAttention(2)(X, padding_mask=np.ones((2, 5), "int32"))
    with pytest.raises(ValueError, match="padding_mask.shape=\\(2, 6, 1\\)"):
        CausalSelfAttention(2)(X, padding_mask=np.ones((2, 6, 1), "int32"))


def test_invalid_arguments_name_the_value():
    with pytest.raises(ValueError, match="num_heads=0"):
        CausalSelfAttention(0)
    with pytest.raises(ValueError, match="dropout=1.5"):
        CausalSelfAttention(2, dropout=1.5)


def test_mixed_float16_masking_does_not_overflow():
    # Left padding masks whole rows of the first queries: a float16 -1e9 would be -inf there.
    layer = CausalSelfAttention(2, dtype="mixed_float16")
    mask = np.array([[0, 0, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1]], "int32")
    out = layer(X, padding_mask=mask)
    assert keras.backend.standardize_dtype(out.dtype) == "float16"
    assert np.all(np.isfinite(np.asarray(out)))


def test_large_float16_scores_do_not_overflow_before_scaling():
    layer = CausalSelfAttention(1, dtype="mixed_float16")
    x = np.full((1, 3, 64), 1.0, "float32")
    layer.build(x.shape)
    layer.qkv_dense.kernel.assign(np.full((64, 192), 0.6, "float32"))  # q·k ≈ 1.5e5 > 65504
    assert np.all(np.isfinite(np.asarray(layer(x))))


def test_symbolic_call_with_a_cache_returns_output_and_cache():
    layer = CausalSelfAttention(2)
    out, cache = layer(keras.Input((1, 8), batch_size=2), cache=keras.Input((2, 2, 9, 4),
                                                                            batch_size=2))
    assert tuple(out.shape) == (2, 1, 8) and tuple(cache.shape) == (2, 2, 2, 9, 4)


def test_a_cache_of_another_layout_is_refused():
    layer = CausalSelfAttention(2)  # heads 2, head_dim 4
    for shape in [(2, 2, 9, 2, 4), (2, 2, 2, 9), (3, 2, 2, 9, 4)]:
        with pytest.raises(ValueError, match="heads=2, max_length, head_dim=4.*cache.shape="):
            layer(X[:, :1], cache=np.zeros(shape, "float32"), cache_index=0)


def test_a_float16_cache_given_to_a_float32_layer_is_cast_on_entry():
    # Keras casts floating-point arguments to the layer's compute dtype, so the products
    # never see mixed dtypes; decoding matches the full pass.
    layer = CausalSelfAttention(2)
    full = np.asarray(layer(X))
    cache = ops.zeros((2, 2, 2, 6, 4), "float16")
    outputs = []
    for i in range(6):
        out, cache = layer(X[:, i:i + 1], cache=cache, cache_index=i)
        outputs.append(np.asarray(out))
        assert keras.backend.standardize_dtype(cache.dtype) == "float32"
    np.testing.assert_allclose(np.concatenate(outputs, axis=1), full, atol=1e-5)


def test_large_float16_scores_do_not_overflow_when_decoding_with_a_cache():
    layer = CausalSelfAttention(1, dtype="mixed_float16")
    x = np.full((1, 3, 64), 1.0, "float32")
    layer.build(x.shape)
    layer.qkv_dense.kernel.assign(np.full((64, 192), 0.6, "float32"))  # q·k ≈ 1.5e5 > 65504
    cache = ops.zeros((2, 1, 1, 3, 64), "float16")
    for i in range(3):
        out, cache = layer(x[:, i:i + 1], cache=cache, cache_index=i)
        assert np.all(np.isfinite(np.asarray(ops.cast(out, "float32"))))


def test_a_static_cache_index_past_the_cache_is_refused():
    cache = np.zeros((2, 2, 2, 4, 4), "float32")
    with pytest.raises(ValueError, match="cache_index=4, sequence length=1"):
        CausalSelfAttention(2)(X[:, :1], cache=cache, cache_index=np.int64(4))


@pytest.mark.parametrize("policy, dtype", [("mixed_float16", "float16"),
                                           ("mixed_bfloat16", "bfloat16")])
def test_mixed_precision_cached_decoding_equals_the_full_pass(policy, dtype):
    layer = CausalSelfAttention(2, dtype=policy)
    full = np.asarray(ops.cast(layer(X), "float32"))
    cache = ops.zeros((2, 2, 2, 6, 4), dtype)
    outputs = []
    for i in range(6):  # one token at a time: the decoding step
        out, cache = layer(X[:, i:i + 1], cache=cache, cache_index=i)
        assert keras.backend.standardize_dtype(out.dtype) == dtype
        outputs.append(np.asarray(ops.cast(out, "float32")))
    assert keras.backend.standardize_dtype(cache.dtype) == dtype
    np.testing.assert_allclose(np.concatenate(outputs, axis=1), full, atol=3e-2)
