import math

import keras
import numpy as np
import pytest

from tests.layer_checks import run_layer_checks
from tf_lm.layers import FeedForward

X = np.random.default_rng(1).normal(size=(2, 5, 8)).astype("float32")


def gelu(x, approximate):
    if approximate:
        return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    return 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))


def test_standard_checks(tmp_path):
    run_layer_checks(lambda **kw: FeedForward(32, **kw), X, (2, 5, 8), 4, tmp_path,
                     dropout="dropout")


ACTIVATIONS = {"gelu": lambda h: gelu(h, False), "gelu_tanh": lambda h: gelu(h, True),
               "relu": lambda h: np.maximum(h, 0), "silu": lambda h: h / (1 + np.exp(-h)),
               "tanh": np.tanh}


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_matches_numpy(activation):
    layer = FeedForward(32, activation=activation)
    out = np.asarray(layer(X))
    w1, b1, w2, b2 = (np.asarray(w) for w in layer.weights)
    h = ACTIVATIONS[activation](X @ w1 + b1)
    np.testing.assert_allclose(out, h @ w2 + b2, atol=1e-5)


def test_a_keras_activation_function_round_trips_through_the_config():
    layer = FeedForward(32, activation=keras.activations.silu)
    layer.build(X.shape)
    twin = FeedForward.from_config(layer.get_config())
    twin.build(X.shape)
    twin.set_weights(layer.get_weights())
    np.testing.assert_allclose(np.asarray(twin(X)), np.asarray(layer(X)), atol=1e-6)


def test_without_bias_has_two_weights():
    layer = FeedForward(32, use_bias=False)
    layer.build(X.shape)
    assert [w.path.split("/")[-1] for w in layer.weights] == ["kernel", "kernel"]


def test_invalid_arguments():
    with pytest.raises(ValueError, match="activation='not_an_activation'"):
        FeedForward(32, activation="not_an_activation")
    with pytest.raises(ValueError, match="intermediate_dim=0"):
        FeedForward(0)
