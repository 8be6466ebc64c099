import numpy as np
import pytest

from tests.layer_checks import run_layer_checks
from tf_lm.layers import RecurrentBlock

X = np.random.default_rng(3).normal(size=(2, 6, 5)).astype("float32")
STATES = {"lstm": 2, "gru": 1, "rnn": 1}


@pytest.mark.parametrize("cell,weights_per_layer", [("lstm", 3), ("gru", 3), ("rnn", 3)])
def test_standard_checks(tmp_path, cell, weights_per_layer):
    run_layer_checks(lambda **kw: RecurrentBlock(cell, 7, num_layers=2, **kw), X, (2, 6, 7),
                     2 * weights_per_layer, tmp_path, dropout="dropout")


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def test_one_lstm_step_matches_the_gate_equations():
    block = RecurrentBlock("lstm", 4)
    _, states = block(X[:, :1], return_state=True)
    w, u, b = (np.asarray(v) for v in block.recurrent_layers[0].weights)
    x, h, c = X[:, 0], np.zeros((2, 4)), np.zeros((2, 4))
    z = x @ w + h @ u + b  # Keras gate order: input, forget, cell, output
    i, f, g, o = np.split(z, 4, axis=-1)
    c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    h = sigmoid(o) * np.tanh(c)
    np.testing.assert_allclose(np.asarray(states)[:, 0, 0], h, atol=1e-5)
    np.testing.assert_allclose(np.asarray(states)[:, 0, 1], c, atol=1e-5)


def test_forget_gate_bias_starts_at_one_with_zero_bias():
    block = RecurrentBlock("lstm", 4)
    block.build(X.shape)
    bias = np.asarray(block.recurrent_layers[0].weights[2])
    np.testing.assert_array_equal(bias, np.r_[np.zeros(4), np.ones(4), np.zeros(8)])


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_carried_state_continues_the_sequence(cell):
    block = RecurrentBlock(cell, 7, num_layers=2)
    full, final = block(X, return_state=True)
    assert tuple(final.shape) == (2, 2, STATES[cell], 7)
    first, state = block(X[:, :4], return_state=True)
    second, state = block(X[:, 4:], initial_state=state, return_state=True)
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), full, atol=1e-5)
    np.testing.assert_allclose(np.asarray(state), np.asarray(final), atol=1e-5)
    zero = block.initial_state(2)
    np.testing.assert_allclose(np.asarray(block(X, initial_state=zero)), full, atol=1e-6)


def test_stateful_block_carries_state_across_calls_until_reset():
    stateful = RecurrentBlock("lstm", 7, stateful=True)
    stateful.build(X.shape)
    plain = RecurrentBlock("lstm", 7)
    plain.build(X.shape)
    plain.set_weights(stateful.get_weights()[:3])
    full = np.asarray(plain(X))
    first = np.asarray(stateful(X[:, :3]))
    second = np.asarray(stateful(X[:, 3:]))
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), full, atol=1e-5)
    stateful.reset_states()
    np.testing.assert_allclose(np.asarray(stateful(X[:, :3])), first, atol=1e-6)


def test_state_variables_are_the_carried_states_and_empty_when_not_stateful():
    stateful = RecurrentBlock("lstm", 7, num_layers=2, stateful=True)
    stateful.build(X.shape)
    states = stateful.state_variables()
    assert len(states) == 4 and all(tuple(v.shape) == (X.shape[0], 7) for v in states)
    assert not {id(v) for v in states} & {id(w) for w in stateful.weights}
    stateful(X)
    assert any(np.abs(np.asarray(v)).sum() > 0 for v in states)
    stateful.reset_states()
    assert all(np.abs(np.asarray(v)).sum() == 0 for v in states)
    plain = RecurrentBlock("lstm", 7)
    plain.build(X.shape)
    assert plain.state_variables() == []


def test_stateful_needs_a_batch_size():
    with pytest.raises(ValueError, match="fixed batch size.*input_shape=\\(None, 6, 5\\)"):
        RecurrentBlock("lstm", 7, stateful=True).build((None, 6, 5))


def test_masked_steps_keep_the_state():
    block = RecurrentBlock("gru", 7)
    mask = np.array([[1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 1]], bool)
    _, state = block(X, padding_mask=mask, return_state=True)
    _, short = block(X[:1, :3], return_state=True)
    np.testing.assert_allclose(np.asarray(state)[0], np.asarray(short)[0], atol=1e-6)


def test_symbolic_call_returns_states():
    import keras

    block = RecurrentBlock("lstm", 7, num_layers=2)
    out, states = block(keras.Input((6, 5), batch_size=2), return_state=True)
    assert tuple(out.shape) == (2, 6, 7) and tuple(states.shape) == (2, 2, 2, 7)


def test_mismatched_padding_mask_is_refused():
    with pytest.raises(ValueError, match=r"padding_mask.shape=\(2, 5\)"):
        RecurrentBlock("lstm", 7)(X, padding_mask=np.ones((2, 5), bool))


def test_invalid_arguments():
    with pytest.raises(ValueError, match="cell='transformer'"):
        RecurrentBlock("transformer", 7)
    with pytest.raises(ValueError, match="units=0"):
        RecurrentBlock("lstm", 0)
