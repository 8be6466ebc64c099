import keras
import numpy as np
import pytest

from tf_lm.layers import SequencePooling

H = np.random.default_rng(0).normal(size=(3, 5, 4)).astype("float32")
MASK = np.arange(5)[None] < np.array([[2], [5], [1]])  # lengths 2, 5, 1


def test_last_takes_the_state_of_the_last_real_token():
    out = np.asarray(SequencePooling("last")(H, MASK))
    np.testing.assert_array_equal(out, H[[0, 1, 2], [1, 4, 0]])


def test_mean_averages_the_real_tokens_only():
    out = np.asarray(SequencePooling("mean")(H, MASK))
    expected = np.stack([H[0, :2].mean(0), H[1].mean(0), H[2, :1].mean(0)])
    np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_max_takes_each_features_largest_over_real_tokens_and_concat_joins_all_three():
    out = np.asarray(SequencePooling("max")(H - 10.0, MASK))  # all negative: padding 0 loses
    expected = np.stack([H[0, :2].max(0), H[1].max(0), H[2, :1].max(0)]) - 10.0
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    joined = SequencePooling("concat")
    out = np.asarray(joined(H, MASK))
    assert out.shape == (3, 12) and joined.compute_output_shape((3, 5, 4)) == (3, 12)
    for i, mode in enumerate(["last", "mean", "max"]):
        np.testing.assert_allclose(out[:, 4 * i:4 * (i + 1)],
                                   np.asarray(SequencePooling(mode)(H, MASK)), rtol=1e-6)


def test_a_text_without_real_tokens_pools_to_zeros():
    empty = np.zeros((1, 5), bool)
    for mode in ["mean", "max"]:
        np.testing.assert_array_equal(np.asarray(SequencePooling(mode)(H[:1], empty)), 0.0)


@pytest.mark.parametrize("mode", ["last", "mean", "max", "concat"])
def test_padding_values_never_matter_and_config_round_trips(mode):
    noisy = H.copy()
    noisy[~MASK] = 1e3
    layer = SequencePooling(mode)
    np.testing.assert_allclose(np.asarray(layer(noisy, MASK)), np.asarray(layer(H, MASK)),
                               rtol=1e-6)
    assert SequencePooling.from_config(layer.get_config()).get_config() == layer.get_config()


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_keeps_the_compute_dtype(policy):
    layer = SequencePooling("mean", dtype=policy)
    out = layer(keras.ops.cast(H, keras.DTypePolicy(policy).compute_dtype), MASK)
    assert keras.backend.standardize_dtype(out.dtype) == keras.DTypePolicy(policy).compute_dtype


def test_an_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="Received: mode='sum'"):
        SequencePooling("sum")
