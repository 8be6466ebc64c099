import contextlib
import io

import numpy as np
import pytest

from tf_lm.config import Config
from tf_lm.errors import InputError
from tf_lm.models import CausalLM, build_causal_lm


def build(preset, vocabulary_size, **kwargs):
    config = Config.from_preset(preset)
    return build_causal_lm(config.model, vocabulary_size, config.data.block_size, **kwargs)


def summary_text(model):
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        model.summary()
        model.backbone.summary()
    return buffer.getvalue()


def test_nanogpt_cpu_has_nanogpts_parameter_count():
    model = build("nanogpt-cpu", 65)  # Tiny Shakespeare's 65 characters
    text = summary_text(model)
    # nanoGPT reports 0.80 M = 795,904, leaving out the 64 x 128 position table.
    assert "Total params: 804,096" in text
    assert "8,192" in text  # the position_embedding row of the backbone summary
    assert model.count_params() - model.backbone.position_embedding.count_params() == 795_904
    assert model.backbone.num_layers == 4 and model.backbone.num_heads == 4
    assert model.tie_embeddings and not model.backbone.use_bias


def test_nanogpt_baby_has_nanogpts_parameter_count():
    model = build("nanogpt-baby", 65)
    assert model.count_params() - model.backbone.position_embedding.count_params() == 10_646_784


def test_gpt2_small_has_124m_parameters():
    model = build("gpt2-small", 50_257)  # GPT-2's BPE vocabulary size
    assert "Total params: 124,439,808" in summary_text(model)


def test_seed_lstm_is_embedding_lstm_softmax():
    model = build("seed-lstm", 65)
    assert isinstance(model, CausalLM) and model.head_activation == "softmax"
    assert model.backbone.cell == "lstm" and model.backbone.num_layers == 1
    out = np.asarray(model(np.zeros((1, 3), "int32")))
    np.testing.assert_allclose(out.sum(-1), 1.0, rtol=1e-5)
    # Embedding 65x64 + LSTM 4*(64+128+1)*128 + Dense 128*65+65
    assert model.count_params() == 65 * 64 + 4 * (64 + 128 + 1) * 128 + 128 * 65 + 65


@pytest.mark.parametrize("preset,units,dropout,scale,unroll", [
    ("zaremba-small", 200, 0.0, 0.1, 20),
    ("zaremba-medium", 650, 0.5, 0.05, 35),
    ("zaremba-large", 1500, 0.65, 0.04, 35),
])
def test_zaremba_presets_have_the_papers_shape(preset, units, dropout, scale, unroll):
    config = Config.from_preset(preset)
    assert config.data.block_size == unroll
    model = build(preset, 50)
    backbone = model.backbone
    assert (backbone.cell, backbone.num_layers, backbone.hidden_dim) == ("lstm", 2, units)
    assert backbone.dropout == dropout and not model.tie_embeddings
    for weight in model.weights:
        values = np.asarray(weight)
        assert -scale <= values.min() and values.max() <= scale, weight.path


def test_zaremba_with_tied_weights():
    config = Config.resolve(preset="zaremba-small", overrides=["model.tie_embeddings=true"])
    model = build_causal_lm(config.model, 50, 20)
    assert model.head is None
    assert model.count_params() == 50 * 200 + 2 * 4 * (200 + 200 + 1) * 200


def test_word_vectors_from_the_config(tmp_path):
    vectors = tmp_path / "glove.txt"
    vectors.write_text("the " + " ".join(["0.5"] * 8) + "\n", encoding="utf-8")
    config = Config.resolve(preset="seed-lstm", overrides=[
        "model.embedding_dim=8", f"model.word_vectors={vectors}"])
    vocabulary = ["<unk>", "the", "cat"]
    model = build_causal_lm(config.model, 3, 16, vocabulary=vocabulary)
    assert model.word_vector_coverage.covered == 1
    np.testing.assert_array_equal(np.asarray(model.backbone.token_embedding.embeddings)[1], 0.5)
    with pytest.raises(ValueError, match="vocabulary=None"):
        build_causal_lm(config.model, 3, 16)


def test_gpt_embedding_width_must_equal_hidden_width():
    with pytest.raises(InputError, match="embedding_dim=64, hidden_dim=128"):
        Config.resolve(preset="nanogpt-cpu", overrides=["model.embedding_dim=64"])
    with pytest.raises(InputError, match="tie_embeddings"):
        Config.resolve(preset="seed-lstm", overrides=["model.tie_embeddings=true"])


def test_mixed_precision_policy_reaches_every_layer():
    model = build("nanogpt-cpu", 65, dtype="mixed_bfloat16")
    logits = model(np.zeros((1, 4), "int32"))
    assert str(logits.dtype.name) == "bfloat16"
    assert all(w.dtype == "float32" for w in model.weights)


def test_pytorch_wt2_starts_as_pytorch_examples_does():
    """Embedding and head ±0.1, head bias zero, the LSTM in nn.LSTM's ±1/sqrt(200)."""
    model = build("pytorch-wt2", 50)
    bound = 200 ** -0.5
    embedding = np.asarray(model.backbone.token_embedding.embeddings)
    assert 0.09 < np.abs(embedding).max() <= 0.1
    kernel, bias = (np.asarray(w) for w in model.head.weights)
    assert 0.09 < np.abs(kernel).max() <= 0.1 and not bias.any()
    for weight in model.backbone.recurrent_block.weights:
        values = np.abs(np.asarray(weight))
        assert 0.9 * bound < values.max() <= bound, weight.path
    zaremba = build("zaremba-small", 50)  # every weight, head bias included, in ±0.1
    assert 0.09 < np.abs(np.asarray(zaremba.head.weights[1])).max() <= 0.1
