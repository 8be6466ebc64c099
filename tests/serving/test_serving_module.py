import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import SHAKESPEARE_LIKE
from tf_lm.evaluation import evaluate_tokens
from tf_lm.generation.text_generator import TextGenerator
from tf_lm.models import CausalLM, GPTBackbone, RecurrentBackbone
from tf_lm.serving import ServingModule
from tf_lm.tokenizers import ByteTokenizer, CharTokenizer, WordTokenizer

CHAR = CharTokenizer.from_corpus(SHAKESPEARE_LIKE.splitlines(keepends=True))
WORD = WordTokenizer.from_corpus(SHAKESPEARE_LIKE.splitlines(), end_token="<eos>")
PROMPTS = ["First Citizen:", "", "All:\nSpeak, speak.\n\nFirst Citizen:\nYou are all resolved"]


def gpt(tokenizer, context=16):
    model = CausalLM(GPTBackbone(tokenizer.vocabulary_size(), 1, 2, 16, sequence_length=context))
    model.build((None, None))
    return model


def lstm(tokenizer):
    model = CausalLM(RecurrentBackbone(tokenizer.vocabulary_size(), "lstm", 1, 16),
                     tie_embeddings=False)
    model.build((None, None))
    return model


@pytest.fixture(scope="module")
def char_gpt():
    return ServingModule(gpt(CHAR), CHAR, max_new_tokens_limit=40, default_max_new_tokens=20,
                         max_input_tokens=100)


def texts(outputs):
    return [t.decode("utf-8") for t in outputs["text"].numpy()]


@pytest.mark.parametrize("build,tokenizer", [(gpt, CHAR), (lstm, CHAR), (gpt, WORD)],
                         ids=["gpt-char", "lstm-char", "gpt-word"])
def test_greedy_text_equals_the_python_generator(build, tokenizer):
    """Empty prompts, sliding past the context (16), word spacing: as `tf-lm generate`."""
    model = build(tokenizer)
    module = ServingModule(model, tokenizer, default_max_new_tokens=30)
    prompts = PROMPTS if tokenizer is CHAR else ["First Citizen :", "", "speak , speak"]
    served = module.serving_default(tf.constant(prompts))
    generator = TextGenerator(model, tokenizer)
    expected = [generator.generate(p, max_new_tokens=30) for p in prompts]
    assert texts(served) == expected
    counts = served["num_tokens"].numpy().tolist()
    assert counts == [30, 30, 30] if tokenizer is CHAR else 1 <= min(counts) <= max(counts) <= 30


def test_rows_are_independent_of_the_batch(char_gpt):
    """Per-row parameters; a row equals the same prompt alone and TextGenerator's sampling."""
    generator = TextGenerator(char_gpt.model, CHAR)
    batch = char_gpt.serving_default(
        tf.constant(PROMPTS), max_new_tokens=tf.constant([5, 12, 30]),
        temperature=tf.constant([0.0, 0.9, 1.3]), top_k=tf.constant([0, 5, 0]),
        top_p=tf.constant([1.0, 1.0, 0.8]), seed=tf.constant([1, 2, 3]))
    assert batch["num_tokens"].numpy().tolist() == [5, 12, 30]
    alone = [char_gpt.serving_default(tf.constant([p]), max_new_tokens=tf.constant(n),
                                      temperature=tf.constant(t), top_k=tf.constant(k),
                                      top_p=tf.constant(q), seed=tf.constant(s))
             for p, n, t, k, q, s in zip(PROMPTS, [5, 12, 30], [0.0, 0.9, 1.3], [0, 5, 0],
                                         [1.0, 1.0, 0.8], [1, 2, 3])]
    assert texts(batch) == [texts(a)[0] for a in alone]
    assert texts(batch)[1] == generator.generate(PROMPTS[1], 12, sampler="top_k", top_k=5,
                                                 temperature=0.9, seed=2)
    assert texts(batch)[2] == generator.generate(PROMPTS[2], 30, sampler="top_p", top_p=0.8,
                                                 temperature=1.3, seed=3)
    again = char_gpt.serving_default(tf.constant(PROMPTS[1:2]), max_new_tokens=tf.constant(12),
                                     temperature=tf.constant(0.9), top_k=tf.constant(5),
                                     seed=tf.constant(7))
    assert texts(again)[0] != texts(batch)[1]  # another seed, another sample


def test_defaults_are_the_documented_ones(char_gpt):
    assert char_gpt.defaults == {"max_new_tokens": 20, "temperature": 0.0, "top_k": 0,
                                 "top_p": 1.0, "repetition_penalty": 1.0, "seed": 0}
    served = char_gpt.serving_default(tf.constant(PROMPTS[:1]))
    assert served["num_tokens"].numpy().tolist() == [20]
    assert texts(served) == [TextGenerator(char_gpt.model, CHAR).generate(PROMPTS[0], 20)]


@pytest.mark.parametrize("name,value,message", [
    ("max_new_tokens", 0, "max_new_tokens must be an integer in [1, 40]"),
    ("max_new_tokens", 41, "max_new_tokens must be an integer in [1, 40]"),
    ("temperature", -0.5, "temperature must be finite and >= 0"),
    ("temperature", float("nan"), "temperature must be finite and >= 0"),
    ("top_k", -1, "top_k must be an integer >= 0"),
    ("top_p", 0.0, "top_p must be in (0, 1]"),
    ("top_p", 1.5, "top_p must be in (0, 1]"),
    ("repetition_penalty", 0.5, "repetition_penalty must be finite and >= 1"),
    ("temperature", [0.5, 0.5], "temperature must be one value or one per prompt"),
])
def test_out_of_range_parameters_fail_the_request(char_gpt, name, value, message):
    dtype = tf.int32 if name in ("max_new_tokens", "top_k") else tf.float32
    with pytest.raises(tf.errors.InvalidArgumentError) as error:
        char_gpt.serving_default(tf.constant(PROMPTS), **{name: tf.constant(value, dtype)})
    assert message in error.value.message


def test_bad_prompts_fail_with_their_rows_named(char_gpt):
    with pytest.raises(tf.errors.InvalidArgumentError, match="prompts must be UTF-8 text"):
        char_gpt.serving_default(tf.constant([b"ok", b"\xff\xfe bad"]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="at most 100 tokens"):
        char_gpt.serving_default(tf.constant(["a" * 101]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="outside the vocabulary"):
        char_gpt.serving_default(tf.constant(["\u00e9t\u00e9"]))


def test_a_byte_model_always_answers_valid_utf8():
    tokenizer = ByteTokenizer()
    module = ServingModule(gpt(tokenizer), tokenizer)
    served = module.serving_default(tf.constant(["\u00e9", "abc"] * 4), temperature=tf.constant(
        3.0), max_new_tokens=tf.constant(24), seed=tf.range(8))
    for text in served["text"].numpy():
        text.decode("utf-8")  # raises on invalid UTF-8
    alone = module.serving_default(tf.constant([""]), max_new_tokens=tf.constant(5))
    assert texts(alone) == [TextGenerator(module.model, tokenizer).generate("", 5)]


@pytest.mark.parametrize("build", [gpt, lstm], ids=["gpt", "lstm"])
def test_score_is_the_evaluation_convention(build):
    """Log-likelihood = -loss x tokens of `evaluate_tokens` on start token + text (windows of
    the context moved by context/2 for a GPT; for an RNN the state carried across chunks of
    256 tokens)."""
    model = build(CHAR)
    module = ServingModule(model, CHAR)
    text_list = [SHAKESPEARE_LIKE[:70], "Speak.", (SHAKESPEARE_LIKE * 3)[:300]]  # > a chunk
    scored = module.score(tf.constant(text_list))
    for row, text in enumerate(text_list):
        tokens = np.array(module.start_ids + CHAR.encode(text).tolist(), np.int32)
        expected = evaluate_tokens(model, tokens, context=16)
        assert scored["num_tokens"].numpy()[row] == len(text) == expected["tokens"]
        assert scored["log_likelihood"].numpy()[row] == pytest.approx(
            -expected["loss"] * expected["tokens"], rel=1e-4)
        assert scored["perplexity"].numpy()[row] == pytest.approx(expected["perplexity"],
                                                                  rel=1e-4)
    with pytest.raises(tf.errors.InvalidArgumentError, match="texts must not be empty"):
        module.score(tf.constant(["Speak.", ""]))


def test_next_token_logits_are_the_models(char_gpt):
    ids = np.array([[3, 4, 5, 6], [7, 8, 9, 10]], np.int32)
    logits = char_gpt.next_token_logits(tf.constant(ids))["logits"].numpy()
    np.testing.assert_allclose(logits, np.asarray(char_gpt.model(ids))[:, -1], atol=1e-5)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"token_ids must be in \[0, "):
        char_gpt.next_token_logits(tf.constant([[1, 999]]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="between 1 and 16 tokens"):
        char_gpt.next_token_logits(tf.constant(np.ones([1, 17], np.int32)))
