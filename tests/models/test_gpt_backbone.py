import numpy as np
import pytest

from tests.layer_checks import run_layer_checks
from tf_lm.models import GPTBackbone

IDS = np.random.default_rng(4).integers(0, 13, size=(2, 6)).astype("int32")


def tiny(**kwargs):
    args = dict(vocabulary_size=13, num_layers=2, num_heads=2, hidden_dim=8, sequence_length=8)
    args.update(kwargs)
    return GPTBackbone(**args)


def test_standard_checks(tmp_path):
    # token + position embeddings, 2 blocks x 12, final LayerNorm (gamma, beta)
    run_layer_checks(tiny, IDS, (2, 6, 8), 28, tmp_path, dropout="dropout")


@pytest.mark.parametrize("options", [{}, {"position_encoding": "sinusoidal"},
                                     {"norm_position": "post", "use_bias": False}])
def test_cached_decoding_equals_the_full_pass(options):
    backbone = tiny(**options)
    full = np.asarray(backbone(IDS))
    cache = backbone.initial_cache(2, 8)
    # One (keys/values, batch, heads, max_length, head_dim) tensor per layer.
    assert [tuple(layer.shape) for layer in cache] == [(2, 2, 2, 8, 4)] * 2
    out, cache = backbone(IDS[:, :2], cache=cache, cache_index=0)
    steps = [np.asarray(out)]
    for i in range(2, 6):
        out, cache = backbone(IDS[:, i:i + 1], cache=cache, cache_index=i)
        steps.append(np.asarray(out))
    np.testing.assert_allclose(np.concatenate(steps, axis=1), full, atol=1e-5)


def test_sinusoidal_backbone_has_no_position_weights_and_scales_embeddings():
    backbone = tiny(position_encoding="sinusoidal")
    backbone.build(IDS.shape)
    assert len(backbone.weights) == 27
    assert backbone.token_embedding.scale
    learned = tiny()
    learned.build(IDS.shape)
    assert not learned.token_embedding.scale


def test_nanogpt_initialization():
    backbone = tiny(num_layers=8, hidden_dim=64, num_heads=4)
    backbone.build((None, None))
    block = backbone.transformer_blocks[0]
    assert np.std(np.asarray(block.attention.qkv_dense.kernel)) == pytest.approx(0.02, rel=0.05)
    assert np.std(np.asarray(block.attention.output_dense.kernel)) == pytest.approx(
        0.02 / np.sqrt(16), rel=0.1)
    assert np.std(np.asarray(backbone.token_embedding.embeddings)) == pytest.approx(0.02, rel=0.2)


def test_a_cache_longer_than_the_position_table_is_refused():
    backbone = tiny()
    backbone.build(IDS.shape)
    with pytest.raises(ValueError, match="max_length=9, sequence_length=8"):
        backbone.initial_cache(1, 9)
    sinusoidal = tiny(position_encoding="sinusoidal")
    sinusoidal.build(IDS.shape)
    assert tuple(sinusoidal.initial_cache(1, 100)[0].shape)[3] == 100


def test_a_sequence_longer_than_the_context_is_refused():
    with pytest.raises(ValueError, match="sequence_length=4"):
        tiny(sequence_length=4)(IDS)


@pytest.mark.parametrize("kwargs,message", [
    ({"vocabulary_size": 0}, "vocabulary_size=0"),
    ({"hidden_dim": 9}, "hidden_dim=9, num_heads=2"),
    ({"position_encoding": "rotary"}, "position_encoding='rotary'"),
    ({"dropout": -0.1}, "dropout=-0.1"),
])
def test_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        tiny(**kwargs)
