import math

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


@pytest.mark.parametrize("activation", ["gelu", "gelu_tanh", "relu"])
def test_matches_numpy(activation):
    layer = FeedForward(32, activation=activation)
    out = np.asarray(layer(X))
    w1, b1, w2, b2 = (np.asarray(w) for w in layer.weights)
    h = X @ w1 + b1
    h = np.maximum(h, 0) if activation == "relu" else gelu(h, activation == "gelu_tanh")
    np.testing.assert_allclose(out, h @ w2 + b2, atol=1e-5)


def test_without_bias_has_two_weights():
    layer = FeedForward(32, use_bias=False)
    layer.build(X.shape)
    assert [w.path.split("/")[-1] for w in layer.weights] == ["kernel", "kernel"]


def test_invalid_arguments():
    with pytest.raises(ValueError, match="activation='swish'"):
        FeedForward(32, activation="swish")
    with pytest.raises(ValueError, match="intermediate_dim=0"):
        FeedForward(0)
