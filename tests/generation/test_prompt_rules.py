import pytest
import tensorflow as tf

from tf_lm.errors import InputError
from tf_lm.generation import TextGenerator
from tf_lm.generation.prompt_rules import (NO_START, continuation_text, prompt_ids,
                                           start_ids)
from tf_lm.models import CausalLM, GPTBackbone
from tf_lm.tokenizers import ByteTokenizer, CharTokenizer, WordTokenizer

TEXT = ["to be or not to be", "that is the question"]
CHAR = CharTokenizer.from_corpus(TEXT + ["\n"])
WORD = WordTokenizer.from_corpus(TEXT)
WIKITEXT = WordTokenizer.from_corpus(TEXT, end_token="<eos>")
BYTE = ByteTokenizer()
PROMPTS = ["", "\n", "to be", "to be\n", " that", "to be <eos>"]


def traced(function, tokenizer, *args):
    """`function` as the exported model runs it: traced into a graph."""
    return tf.function(lambda *tensors: function(tokenizer, *tensors))(*args)


@pytest.mark.parametrize("tokenizer,start", [
    (CHAR, CHAR.encode("\n").tolist()), (WORD, [WORD.unknown_token_id]),
    (WIKITEXT, [WIKITEXT.end_token_id]), (BYTE, [256]),
    (CharTokenizer.from_corpus(TEXT), []),  # no newline, no unknown: no start
], ids=["char", "word", "wikitext", "byte", "char-without-newline"])
def test_start_ids_are_end_then_newline_then_unknown(tokenizer, start):
    assert start_ids(tokenizer) == start


@pytest.mark.parametrize("tokenizer", [CHAR, WORD, WIKITEXT, BYTE],
                         ids=["char", "word", "wikitext", "byte"])
def test_prompt_ids_are_the_same_eagerly_and_traced(tokenizer):
    prompts = [p for p in PROMPTS if tokenizer is not CHAR or "<" not in p]
    start = start_ids(tokenizer)
    eager = prompt_ids(tokenizer, tf.constant(prompts), start)
    graph = traced(lambda t, p: prompt_ids(t, p, start), tokenizer, tf.constant(prompts))
    assert eager.to_list() == graph.to_list()
    for prompt, ids in zip(prompts, eager.to_list()):
        expected = [int(i) for i in tokenizer.encode(prompt)] if prompt else []
        end = tokenizer.end_token_id
        if expected and expected[-1] == end and not prompt.endswith("\n"):
            expected = expected[:-1]  # continued, not ended
        assert ids == (expected or start), prompt


def test_a_wikitext_prompt_is_continued_not_ended():
    ids = prompt_ids(WIKITEXT, tf.constant(["to be", "to be\n"]), start_ids(WIKITEXT))
    end = WIKITEXT.end_token_id
    assert ids.to_list()[0][-1] != end and ids.to_list()[1][-1] == end


def test_a_prompt_without_tokens_and_no_start_is_refused():
    tokenizer = CharTokenizer.from_corpus(TEXT)
    model = CausalLM(GPTBackbone(tokenizer.vocabulary_size(), 1, 2, 16, sequence_length=16))
    with pytest.raises(InputError, match=NO_START):
        TextGenerator(model, tokenizer).encode_prompt("")


@pytest.mark.parametrize("tokenizer,prompt,new", [
    (WORD, "to be", "or not"), (WIKITEXT, "that", "is the"), (CHAR, "to", " be"),
    (BYTE, "h\u00e9", "\u00e9t\u00e9"),
], ids=["word", "wikitext", "char", "byte"])
def test_continuation_text_is_the_same_eagerly_and_traced(tokenizer, prompt, new):
    prompt_row, new_row = prompt_ids(tokenizer, tf.constant([prompt, new]), []).to_list()
    cases = [new_row, new_row[:1], [], new_row[:-1]]  # a byte row may stop mid-character
    prompts = tf.ragged.constant([prompt_row] * len(cases), tf.int32)
    news = tf.ragged.constant(cases, tf.int32, ragged_rank=1)
    eager = continuation_text(tokenizer, prompts, news).numpy().tolist()
    graph = traced(continuation_text, tokenizer, prompts, news).numpy().tolist()
    assert eager == graph
    texts = [t.decode("utf-8") for t in eager]  # always valid UTF-8
    assert texts[2] == ""
    if tokenizer is BYTE:
        assert texts[0] == new and texts[3] == new[:-1] + "\ufffd"
    elif tokenizer is CHAR:
        assert texts[0] == new
    else:
        assert texts[0] == " " + new  # the space between prompt and continuation
