import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_lm.layers import GaussianSample


def test_samples_have_the_posteriors_mean_and_variance():
    mean = np.array([[1.0, -2.0, 0.5]], "float32").repeat(20000, axis=0)
    log_variance = np.log(np.array([[0.25, 1.0, 4.0]], "float32")).repeat(20000, axis=0)
    z = np.asarray(GaussianSample(seed=3)(mean, log_variance))
    np.testing.assert_allclose(z.mean(0), [1.0, -2.0, 0.5], atol=0.05)
    np.testing.assert_allclose(z.var(0), [0.25, 1.0, 4.0], rtol=0.05)
    np.testing.assert_array_equal(np.asarray(GaussianSample()(mean, log_variance,
                                                              use_mean=True)), mean)


def test_the_gradient_flows_to_the_mean_and_the_variance():
    """dz/dμ = 1 and dz/d(log σ²) = ½·σ·ε = ½·(z − μ): the reparameterization trick."""
    mean = tf.Variable([[0.3, -0.7]])
    log_variance = tf.Variable([[0.2, -1.0]])
    layer = GaussianSample(seed=5)
    with tf.GradientTape(persistent=True) as tape:
        z = layer(mean, log_variance)
        total = tf.reduce_sum(z)
    np.testing.assert_allclose(tape.gradient(total, mean).numpy(), [[1.0, 1.0]])
    np.testing.assert_allclose(tape.gradient(total, log_variance).numpy(),
                               0.5 * (z.numpy() - mean.numpy()), rtol=1e-5)


def test_seeded_draws_repeat_and_config_round_trips():
    mean, log_variance = np.zeros((2, 3), "float32"), np.zeros((2, 3), "float32")
    first = np.asarray(GaussianSample(seed=7)(mean, log_variance))
    np.testing.assert_array_equal(first, np.asarray(GaussianSample(seed=7)(mean, log_variance)))
    layer = GaussianSample(seed=7, name="z")
    assert GaussianSample.from_config(layer.get_config()).get_config() == layer.get_config()


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_keeps_the_compute_dtype(policy):
    dtype = keras.DTypePolicy(policy).compute_dtype
    mean = keras.ops.zeros((2, 3), dtype)
    out = GaussianSample(dtype=policy)(mean, mean)
    assert keras.backend.standardize_dtype(out.dtype) == dtype
