import numpy as np
import pytest

from tests.layer_checks import run_layer_checks
from tf_lm.models import RecurrentBackbone

IDS = np.random.default_rng(5).integers(0, 13, size=(2, 6)).astype("int32")


def tiny(**kwargs):
    args = dict(vocabulary_size=13, cell="lstm", num_layers=2, hidden_dim=8, embedding_dim=5)
    args.update(kwargs)
    return RecurrentBackbone(**args)


def test_standard_checks(tmp_path):
    run_layer_checks(tiny, IDS, (2, 6, 8), 7, tmp_path, dropout="dropout")


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_carried_state_equals_the_full_pass(cell):
    backbone = tiny(cell=cell)
    full = np.asarray(backbone(IDS))
    state = backbone.initial_cache(2, None)
    steps = []
    for i in range(6):
        out, state = backbone(IDS[:, i:i + 1], cache=state, cache_index=i)
        steps.append(np.asarray(out))
    np.testing.assert_allclose(np.concatenate(steps, axis=1), full, atol=1e-5)


def test_init_scale_makes_every_weight_uniform_in_range():
    backbone = tiny(init_scale=0.05)
    backbone.build(IDS.shape)
    for weight in backbone.weights:
        values = np.asarray(weight)
        assert values.min() >= -0.05 and values.max() <= 0.05, weight.path
        assert values.max() > 0.03, weight.path  # really spread, not the Keras default


def test_stateful_backbone_needs_a_batch_size():
    with pytest.raises(ValueError, match="batch_size=None"):
        tiny(stateful=True)
    backbone = tiny(stateful=True, batch_size=2)
    backbone.build((None, None))
    first = np.asarray(backbone(IDS[:, :3]))
    second = np.asarray(backbone(IDS[:, 3:]))
    backbone.reset_states()
    np.testing.assert_allclose(np.asarray(backbone(IDS[:, :3])), first, atol=1e-6)
    assert not np.allclose(np.asarray(backbone(IDS[:, :3])), first, atol=1e-3)  # carried on
    plain = tiny()
    plain.build(IDS.shape)
    plain.set_weights([w for w in backbone.get_weights()[:7]])
    np.testing.assert_allclose(np.concatenate([first, second], 1), np.asarray(plain(IDS)),
                               atol=1e-5)


@pytest.mark.parametrize("kwargs,message", [
    ({"cell": "lstmx"}, "cell='lstmx'"),
    ({"vocabulary_size": -1}, "vocabulary_size=-1"),
    ({"embedding_dim": 0}, "embedding_dim=0"),
])
def test_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        tiny(**kwargs)
