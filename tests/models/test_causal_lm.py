import io
import contextlib

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.layer_checks import run_layer_checks
from tf_lm.models import CausalLM, GPTBackbone, RecurrentBackbone

RNG = np.random.default_rng(6)
IDS = RNG.integers(0, 13, size=(2, 6)).astype("int32")


def gpt(**kwargs):
    return GPTBackbone(13, 2, 2, 8, sequence_length=8, **kwargs)


def lstm(**kwargs):
    return RecurrentBackbone(13, "lstm", num_layers=2, hidden_dim=8, embedding_dim=5, **kwargs)


def test_standard_checks_gpt(tmp_path):
    def make(dropout=0.0, dtype=None):
        return CausalLM(gpt(dropout=dropout, dtype=dtype))
    run_layer_checks(make, IDS, (2, 6, 13), 28, tmp_path, dropout="dropout")


def test_standard_checks_lstm_with_its_own_head(tmp_path):
    def make(dropout=0.0, dtype=None):
        return CausalLM(lstm(dropout=dropout, dtype=dtype), tie_embeddings=False,
                        head_use_bias=True)
    run_layer_checks(make, IDS, (2, 6, 13), 9, tmp_path, dropout="dropout")


def test_tied_head_is_h_times_embedding_transposed():
    model = CausalLM(gpt())
    logits = np.asarray(model(IDS))
    hidden = np.asarray(model.backbone(IDS))
    table = np.asarray(model.backbone.token_embedding.embeddings)
    np.testing.assert_allclose(logits, hidden @ table.T, atol=1e-5)


def test_tying_needs_equal_widths():
    with pytest.raises(ValueError, match="embedding_dim=5, hidden_dim=8"):
        CausalLM(lstm())


@pytest.mark.parametrize("make", [gpt, lstm], ids=["gpt", "lstm"])
def test_cached_logits_equal_the_full_pass(make):
    model = CausalLM(make(), tie_embeddings=make is gpt)
    full = np.asarray(model(IDS))
    cache = model.initial_cache(2, 8)
    logits, cache = model.call_with_cache(IDS[:, :3], cache, 0)
    steps = [np.asarray(logits)]
    for i in range(3, 6):
        logits, cache = model.call_with_cache(IDS[:, i:i + 1], cache, i)
        steps.append(np.asarray(logits))
    np.testing.assert_allclose(np.concatenate(steps, axis=1), full, atol=1e-5)


@pytest.mark.parametrize("make", [gpt, lstm], ids=["gpt", "lstm"])
def test_a_reordered_cache_continues_the_chosen_rows(make):
    model = CausalLM(make(), tie_embeddings=make is gpt)
    _, cache = model.call_with_cache(IDS[:, :3], model.initial_cache(2, 8), 0)
    rows = np.array([1, 1, 0], "int32")
    logits, _ = model.call_with_cache(IDS[rows, 3:4], model.reorder_cache(cache, rows), 3)
    full = np.asarray(model(IDS[rows, :4]))
    np.testing.assert_allclose(np.asarray(logits)[:, 0], full[:, 3], atol=1e-5)


@pytest.mark.parametrize("make", [gpt, lstm], ids=["gpt", "lstm"])
def test_decoding_step_traces_without_xla_ops_and_matches_under_jit(make):
    model = CausalLM(make(), tie_embeddings=make is gpt)
    cache = model.initial_cache(2, 8)

    def step(token_ids, cache, index):
        return model.call_with_cache(token_ids, cache, index)

    plain = tf.function(step)
    cache_spec = tf.nest.map_structure(lambda part: tf.TensorSpec(part.shape, tf.float32), cache)
    spec = (tf.TensorSpec((None, 1), tf.int32), cache_spec, tf.TensorSpec((), tf.int32))
    graph = plain.get_concrete_function(*spec).graph
    ops = {op.type for op in graph.get_operations()}
    for function in graph.as_graph_def().library.function:
        ops |= {node.op for node in function.node_def}
    assert not [op for op in ops if op.startswith("Xla")], sorted(ops)
    args = (IDS[:, :1], cache, tf.constant(0))
    expected, _ = plain(*args)
    compiled, _ = tf.function(step, jit_compile=True)(*args)
    np.testing.assert_allclose(np.asarray(compiled), np.asarray(expected), atol=1e-5)


def numpy_cross_entropy(logits, labels):
    logits = logits - logits.max(-1, keepdims=True)
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    return -np.take_along_axis(log_probs, labels[..., None], -1).mean()


def test_compile_defaults_are_cross_entropy_from_logits_and_perplexity():
    model = CausalLM(gpt())
    model.compile()
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    x, y = IDS[:, :-1], IDS[:, 1:]
    results = model.evaluate(x, y, verbose=0, return_dict=True)
    expected = numpy_cross_entropy(np.asarray(model(x)), y)
    assert results["loss"] == pytest.approx(expected, rel=1e-5)
    assert results["perplexity"] == pytest.approx(np.exp(expected), rel=1e-4)


def test_fit_learns_a_repeating_sequence():
    model = CausalLM(gpt())
    model.compile(optimizer=keras.optimizers.Adam(1e-2), jit_compile=True)
    data = np.tile(np.arange(7, dtype="int32"), (8, 2))[:, :9]
    history = model.fit(data[:, :-1], data[:, 1:], epochs=30, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]


def test_keras_file_round_trip_of_a_compiled_model(tmp_path):
    model = CausalLM(lstm(), tie_embeddings=False)
    model.compile()
    model.fit(IDS[:, :-1], IDS[:, 1:], epochs=1, verbose=0)
    model.save(tmp_path / "model.keras")
    reloaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    assert isinstance(reloaded, CausalLM) and isinstance(reloaded.backbone, RecurrentBackbone)
    np.testing.assert_array_equal(np.asarray(reloaded(IDS)), np.asarray(model(IDS)))
    assert isinstance(reloaded.optimizer, keras.optimizers.Adam)
    x, y = IDS[:, :-1], IDS[:, 1:]
    assert reloaded.evaluate(x, y, verbose=0, return_dict=True) == pytest.approx(
        model.evaluate(x, y, verbose=0, return_dict=True))


def classic_keras_example(vocabulary_size, embedding_dim, units):
    """The classic Keras text-generation model, written the way its tutorials write it."""
    return keras.Sequential([
        keras.Input(shape=(None,), dtype="int32"),
        keras.layers.Embedding(vocabulary_size, embedding_dim),
        keras.layers.LSTM(units, return_sequences=True),
        keras.layers.Dense(vocabulary_size, activation="softmax"),
    ])


def test_seed_lstm_is_the_classic_keras_example():
    ours = CausalLM(RecurrentBackbone(13, "lstm", hidden_dim=8, embedding_dim=5),
                    tie_embeddings=False, head_activation="softmax", head_use_bias=True)
    ours.build((None, None))
    classic = classic_keras_example(13, 5, 8)
    assert ours.count_params() == classic.count_params()
    classic.set_weights(ours.get_weights())
    np.testing.assert_allclose(np.asarray(ours(IDS)), np.asarray(classic(IDS)), atol=1e-6)
    ours.compile()
    classic.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x, y = IDS[:, :-1], IDS[:, 1:]
    assert ours.evaluate(x, y, verbose=0, return_dict=True)["loss"] == pytest.approx(
        classic.evaluate(x, y, verbose=0), rel=1e-5)
    # Decoding always gets logits: log-probabilities up to a constant.
    logits, _ = ours.call_with_cache(IDS, ours.initial_cache(2, 6), 0)
    np.testing.assert_allclose(np.asarray(keras.ops.softmax(logits)), np.asarray(ours(IDS)),
                               atol=1e-6)


def test_summary_prints_the_parameter_count():
    model = CausalLM(gpt())
    model.build((None, None))
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        model.summary()
    # 13 x 8 embedding (tied head), 8 x 8 positions, 2 blocks of 2x(8+8) norms + 8x24+24 +
    # 8x8+8 + 8x32+32 + 32x8+8, final norm 16
    assert "Total params: 1,928" in buffer.getvalue()


def test_head_activation_must_be_known():
    with pytest.raises(ValueError, match="head_activation='sigmoid'"):
        CausalLM(gpt(), head_activation="sigmoid")
