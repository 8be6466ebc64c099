import numpy as np
import pytest

from tests.layer_checks import run_layer_checks
from tf_lm.layers import PositionEmbedding

X = np.random.default_rng(0).normal(size=(2, 5, 8)).astype("float32")


def test_standard_checks(tmp_path):
    run_layer_checks(lambda **kw: PositionEmbedding(7, **kw), X, (2, 5, 8), 1, tmp_path)


def test_rows_follow_positions_from_start_index():
    layer = PositionEmbedding(7)
    out = np.asarray(layer(X))
    table = np.asarray(layer.position_embeddings)
    np.testing.assert_array_equal(out[0], table[:5])
    np.testing.assert_array_equal(out[1], table[:5])
    np.testing.assert_array_equal(np.asarray(layer(X[:, :2], start_index=4))[0], table[4:6])


def test_a_sequence_longer_than_the_table_is_refused():
    with pytest.raises(ValueError, match="sequence_length=4.*inputs.shape=\\(2, 5, 8\\)"):
        PositionEmbedding(4)(X)
    with pytest.raises(ValueError, match="start_index=3"):
        PositionEmbedding(7)(X, start_index=3)


def test_sequence_length_must_be_positive():
    with pytest.raises(ValueError, match="sequence_length=0"):
        PositionEmbedding(0)
