import numpy as np

from tests.layer_checks import run_layer_checks
from tf_lm.layers import SinusoidalPositionEncoding


def reference(length, dim, start=0):
    """PE(pos, 2i) = sin(pos / 10000^(2i/d)), PE(pos, 2i+1) = cos(pos / 10000^(2i/d))."""
    pe = np.zeros((length, dim))
    for pos in range(start, start + length):
        for j in range(dim):
            i2 = j - j % 2
            angle = pos / 10000 ** (i2 / dim)
            pe[pos - start, j] = np.sin(angle) if j % 2 == 0 else np.cos(angle)
    return pe


def test_standard_checks(tmp_path):
    x = np.zeros((2, 5, 8), "float32")
    run_layer_checks(lambda **kw: SinusoidalPositionEncoding(**kw), x, (2, 5, 8), 0, tmp_path)


def test_matches_the_formula_of_attention_is_all_you_need():
    for dim in (16, 7):
        x = np.zeros((1, 50, dim), "float32")
        layer = SinusoidalPositionEncoding()
        np.testing.assert_allclose(np.asarray(layer(x))[0], reference(50, dim), atol=2e-5)
        np.testing.assert_allclose(np.asarray(layer(x[:, :3], start_index=40))[0],
                                   reference(3, dim, start=40), atol=2e-5)
