import numpy as np
import pytest

from tf_lm.layers import WordDropout

IDS = np.arange(1, 1 + 200 * 50).reshape(200, 50).astype("int32")
MASK = np.arange(50)[None] < np.full((200, 1), 40)


def test_about_rate_of_the_real_tokens_become_unknown_never_the_first_or_padding():
    out = np.asarray(WordDropout(0.3, unknown_id=0, seed=1)(IDS, MASK, training=True))
    dropped = out == 0
    assert not dropped[:, 0].any() and not dropped[~MASK].any()
    assert abs(dropped[:, 1:40].mean() - 0.3) < 0.02
    np.testing.assert_array_equal(out[~dropped], IDS[~dropped])


def test_keep_first_false_drops_the_first_position_too():
    layer = WordDropout(0.3, unknown_id=0, seed=1, keep_first=False)
    out = np.asarray(layer(IDS, MASK, training=True))
    assert abs((out[:, 0] == 0).mean() - 0.3) < 0.1 and not (out[~MASK] == 0).any()


def test_inference_and_rate_zero_change_nothing():
    np.testing.assert_array_equal(np.asarray(WordDropout(0.5, 0)(IDS, MASK)), IDS)
    np.testing.assert_array_equal(np.asarray(WordDropout(0.0, 0)(IDS, MASK, training=True)), IDS)


def test_a_rate_out_of_range_is_refused_and_config_round_trips():
    with pytest.raises(ValueError, match="Received: rate=1.0"):
        WordDropout(1.0, 0)
    layer = WordDropout(0.25, 3, seed=2, keep_first=False)
    assert WordDropout.from_config(layer.get_config()).get_config() == layer.get_config()
