import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_lm.ops.attention_kernels import (batched_matmul, per_row, write_cache,
                                         written_out_softmax, writes_in_place)

RNG = np.random.default_rng(0)


def graph_ops(function, *specs):
    return {op.type for op in function.get_concrete_function(*specs).graph.get_operations()}


def test_writing_the_cache_in_place_assigns_exactly_and_keeps_what_callers_hold():
    """Outside XLA the cache write is two scatter-adds into the cache's own buffer; it must
    still assign (over slots that already hold numbers) and must not change a tensor that
    is still in use."""
    old = tf.constant(RNG.normal(size=(2, 2, 3, 9, 4)).astype("float32"))
    first = tf.constant(RNG.normal(size=(2, 2, 2, 3, 4)).astype("float32"))
    second = tf.constant(RNG.normal(size=(2, 1, 2, 3, 4)).astype("float32"))

    @tf.function
    def write_twice(cache, index):
        held = cache + 0.0  # a tensor of the graph's own, still used after the writes
        once = write_cache(held, first, index)  # two positions from index
        twice = write_cache(once, second, index + 1)  # overwrites the second one
        return held, once, twice

    index = tf.constant([2, 6])
    graph = write_twice.get_concrete_function(old, index).graph
    assert "ScatterNdNonAliasingAdd" in {op.type for op in graph.get_operations()}
    held, once, twice = (np.asarray(t) for t in write_twice(old, index))
    np.testing.assert_array_equal(held, np.asarray(old))  # not written through
    expected_once, expected_twice = np.asarray(old).copy(), None
    for row, start in enumerate((2, 6)):
        for step in range(2):  # (b, seq, 2, h, hd) -> cache[kv, row, h, position]
            expected_once[:, row, :, start + step] = np.asarray(first)[row, step]
    expected_twice = expected_once.copy()
    for row, start in enumerate((3, 7)):
        expected_twice[:, row, :, start] = np.asarray(second)[row, 0]
    np.testing.assert_array_equal(once, expected_once)  # exact: an assignment, not a sum
    np.testing.assert_array_equal(twice, expected_twice)


def test_the_in_place_write_is_chosen_only_in_a_float32_graph_without_xla():
    cache = tf.zeros((2, 1, 1, 4, 2))
    assert not writes_in_place(cache)  # eager
    seen = {}

    def probe(jit_compile, dtype):
        @tf.function(jit_compile=jit_compile)
        def f(c):
            seen[(jit_compile, dtype)] = writes_in_place(c)
            return c
        f(tf.cast(cache, dtype))

    probe(False, tf.float32)
    probe(True, tf.float32)
    probe(False, tf.float16)
    assert seen == {(False, tf.float32): True, (True, tf.float32): False,
                    (False, tf.float16): False}


@pytest.mark.parametrize("transpose_b", [False, True])
def test_batched_matmul_is_the_product_and_uses_batch_matmul_v3_in_float32(transpose_b):
    a = RNG.normal(size=(2, 3, 4, 5)).astype("float32")
    b = RNG.normal(size=(2, 3, 6, 5) if transpose_b else (2, 3, 5, 6)).astype("float32")
    expected = a @ (np.swapaxes(b, -1, -2) if transpose_b else b)
    np.testing.assert_allclose(np.asarray(batched_matmul(a, b, transpose_b)), expected,
                               rtol=1e-5, atol=1e-5)
    f = tf.function(lambda x, y: batched_matmul(x, y, transpose_b))
    assert "BatchMatMulV3" in graph_ops(f, tf.TensorSpec(a.shape), tf.TensorSpec(b.shape))
    half = batched_matmul(a.astype("float16"), b.astype("float16"), transpose_b)
    assert keras.backend.standardize_dtype(half.dtype) == "float16"  # Keras' op: no V3 kernel
    np.testing.assert_allclose(np.asarray(half, "float32"), expected, rtol=2e-2, atol=2e-2)


def test_written_out_softmax_equals_softmax_and_avoids_the_softmax_op():
    scores = RNG.normal(size=(2, 3, 7)).astype("float32") * 30
    np.testing.assert_allclose(np.asarray(written_out_softmax(scores)),
                               np.asarray(tf.nn.softmax(scores)), rtol=1e-6, atol=1e-7)
    f = tf.function(written_out_softmax)
    assert "Softmax" not in graph_ops(f, tf.TensorSpec(scores.shape))


def test_per_row_shapes_a_scalar_and_a_vector_index():
    assert tuple(per_row(3).shape) == (1, 1)
    assert np.asarray(per_row(np.array([1, 4]))).tolist() == [[1], [4]]
