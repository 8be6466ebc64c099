"""The served graph and the Python path read one implementation of each rule: pinned here."""

import pytest
import tensorflow as tf

from tests.serving.test_serving_module import CHAR, WORD, gpt, texts
from tf_lm.errors import InputError
from tf_lm.generation.text_generator import TextGenerator
from tf_lm.serving import ServingModule
from tf_lm.tokenizers import ByteTokenizer

BYTE = ByteTokenizer()
PROMPTS = {"char": ["", "\n", "First", "Speak, speak.\n"],
           "word": ["", "\n", "First Citizen :", "speak , speak <eos>", "speak\n", "zzz"],
           "byte": ["", "\n", "h\u00e9", "\u00e9t\u00e9 <eos>"]}


@pytest.fixture(scope="module", params=["char", "word", "byte"])
def pair(request):
    tokenizer = {"char": CHAR, "word": WORD, "byte": BYTE}[request.param]
    model = gpt(tokenizer)
    module = ServingModule(model, tokenizer, max_new_tokens_limit=40, default_max_new_tokens=20)
    return request.param, module, TextGenerator(model, tokenizer, max_new_tokens_limit=40)


def test_prompt_ids_are_the_python_ones(pair):
    kind, module, generator = pair
    prompts = PROMPTS[kind]
    served = tf.function(module._prompt_ids)(tf.constant(prompts))
    assert served.to_list() == generator.encode_prompts(prompts)
    assert module.start_ids == generator.start_ids == generator.encode_prompt("")


def test_sampled_text_is_the_python_text(pair):
    """Hot sampling: a byte model stops inside characters, a word model ends on <eos>."""
    kind, module, generator = pair
    for seed, prompt in enumerate(PROMPTS[kind]):
        served = module.serving_default(tf.constant([prompt]), max_new_tokens=tf.constant(9),
                                        temperature=tf.constant(3.0), seed=tf.constant(seed))
        assert texts(served) == [generator.generate(prompt, 9, sampler="temperature",
                                                    temperature=3.0, seed=seed)], prompt


@pytest.mark.parametrize("name,value", [
    ("max_new_tokens", 0), ("max_new_tokens", 41), ("temperature", -0.5),
    ("temperature", float("inf")), ("top_k", -1), ("top_p", 0.0), ("top_p", 1.5),
    ("repetition_penalty", 0.5), ("repetition_penalty", float("inf")),
])
def test_a_value_python_refuses_the_served_model_refuses_in_the_same_words(pair, name, value):
    _, module, generator = pair
    with pytest.raises(InputError) as python:
        generator.check(**{"max_new_tokens": 4, "sampler": "temperature", name: value})
    dtype = tf.int32 if name in ("max_new_tokens", "top_k") else tf.float32
    with pytest.raises(tf.errors.InvalidArgumentError) as served:
        module.serving_default(tf.constant(["a"]), **{name: tf.constant(value, dtype)})
    sentence = str(python.value).split(". Received:")[0]
    assert f"{sentence}. Received:" in served.value.message


def test_the_default_max_new_tokens_is_checked_by_the_same_rule():
    with pytest.raises(InputError, match=r"default_max_new_tokens must be an integer in \[1, 8\]"):
        ServingModule(gpt(CHAR), CHAR, max_new_tokens_limit=8, default_max_new_tokens=9)
