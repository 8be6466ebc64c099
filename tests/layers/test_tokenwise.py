import keras
import numpy as np
import tensorflow as tf

from tf_lm.layers.tokenwise import tokenwise

RNG = np.random.default_rng(3)
X = RNG.normal(size=(2, 5, 4)).astype("float32")


def test_equals_the_dense_layer_on_the_3d_input():
    dense = keras.layers.Dense(3)
    np.testing.assert_allclose(np.asarray(tokenwise(dense, X)), np.asarray(dense(X)), atol=1e-6)


def test_unknown_sizes_are_read_at_run_time():
    dense = keras.layers.Dense(3)
    expected = np.asarray(dense(X))
    for spec in ((None, 5, 4), (None, None, 4)):
        function = tf.function(lambda x: tokenwise(dense, x),
                               input_signature=[tf.TensorSpec(spec, tf.float32)])
        np.testing.assert_allclose(np.asarray(function(X)), expected, atol=1e-6)
        smaller = X[:1, :2] if spec[1] is None else X[:1]
        np.testing.assert_allclose(np.asarray(function(smaller)),
                                   np.asarray(dense(smaller)), atol=1e-6)


def test_one_unknown_size_needs_no_shape_ops():
    dense = keras.layers.Dense(3)
    graph = tf.function(lambda x: tokenwise(dense, x)).get_concrete_function(
        tf.TensorSpec((None, 1, 4), tf.float32)).graph
    ops = [op.type for op in graph.get_operations()]
    assert "MatMul" in ops and "Shape" not in ops and "Transpose" not in ops, ops
