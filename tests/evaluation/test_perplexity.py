import math

import numpy as np
import pytest

from tf_lm.evaluation import evaluate_tokens
from tf_lm.evaluation.perplexity import _window_plan
from tf_lm.models import CausalLM, GPTBackbone, RecurrentBackbone

TOKENS = np.random.default_rng(0).integers(0, 11, size=300).astype("int32")


def uniform(model):
    model.build((None, None))
    for weight in model.weights:
        weight.assign(np.zeros(weight.shape, "float32"))
    return model


@pytest.mark.parametrize("model", [
    uniform(CausalLM(GPTBackbone(11, 1, 2, 8, sequence_length=16))),
    uniform(CausalLM(RecurrentBackbone(11, "lstm", 1, 8), tie_embeddings=False)),
], ids=["gpt", "lstm"])
def test_a_uniform_model_has_the_vocabulary_size_as_perplexity(model):
    result = evaluate_tokens(model, TOKENS, context=16, per_character=True)
    assert result["perplexity"] == pytest.approx(11, rel=1e-5)
    assert result["bits_per_character"] == pytest.approx(math.log2(11), rel=1e-5)
    assert result["tokens"] == TOKENS.size - 1  # every target once


@pytest.mark.parametrize("size,context,stride", [(10, 4, 2), (10, 4, 4), (5, 8, 4),
                                                 (300, 16, 5), (17, 16, 8)])
def test_windows_score_every_token_exactly_once(size, context, stride):
    scored = []
    for start, first in _window_plan(size, context, stride):
        scored += [start + 1 + i for i in range(first, min(context, size - 1))]
    assert sorted(scored) == list(range(1, size))


def test_more_context_lowers_the_loss_of_a_trained_pattern():
    model = CausalLM(GPTBackbone(11, 1, 2, 16, sequence_length=16))
    model.compile(optimizer="adam")
    pattern = np.tile(np.arange(11, dtype="int32"), 40)
    windows = np.stack([pattern[i:i + 17] for i in range(0, 400, 3)])
    model.fit(windows[:, :-1], windows[:, 1:], epochs=20, batch_size=32, verbose=0)
    overlapping = evaluate_tokens(model, pattern, context=16, stride=4)
    assert overlapping["token_accuracy"] > 0.9
    assert "stride 4" in overlapping["convention"]


def test_matches_keras_evaluate_on_non_overlapping_windows():
    model = CausalLM(GPTBackbone(11, 1, 2, 8, sequence_length=16))
    model.compile()
    tokens = TOKENS[:16 * 10 + 1]
    ours = evaluate_tokens(model, tokens, context=16, stride=16)
    windows = np.stack([tokens[i * 16:i * 16 + 17] for i in range(10)])
    keras_loss = model.evaluate(windows[:, :-1], windows[:, 1:], verbose=0,
                                return_dict=True)["loss"]
    assert ours["loss"] == pytest.approx(keras_loss, rel=1e-5)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_recurrent_evaluation_carries_the_state(cell):
    model = CausalLM(RecurrentBackbone(11, cell, 2, 8), tie_embeddings=False)
    tokens = TOKENS[:41]
    result = evaluate_tokens(model, tokens, context=8)  # 5 chunks, state carried
    logits = np.asarray(model(tokens[None, :-1]))[0]  # one pass over the whole sequence
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    expected = -log_probs[np.arange(40), tokens[1:]].mean()
    assert result["loss"] == pytest.approx(expected, rel=1e-5)


def test_invalid_stride_is_refused():
    model = CausalLM(GPTBackbone(11, 1, 2, 8, sequence_length=16))
    with pytest.raises(ValueError, match="stride=17"):
        evaluate_tokens(model, TOKENS, context=16, stride=17)
