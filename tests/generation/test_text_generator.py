import pytest

from tf_lm.errors import InputError
from tf_lm.generation import TextGenerator
from tf_lm.models import CausalLM, GPTBackbone
from tf_lm.tokenizers import CharTokenizer, WordTokenizer

TEXT = ["to be or not to be", "that is the question"]


@pytest.fixture(scope="module")
def char_generator():
    tokenizer = CharTokenizer.from_corpus(TEXT + ["\n"])
    model = CausalLM(GPTBackbone(tokenizer.vocabulary_size(), 1, 2, 16, sequence_length=32))
    model.build((None, None))
    return TextGenerator(model, tokenizer, max_new_tokens_limit=100)


def test_prompts_in_text_out(char_generator):
    texts = char_generator.generate(["to be", "that"], max_new_tokens=5)
    assert len(texts) == 2 and all(isinstance(t, str) and len(t) == 5 for t in texts)
    assert char_generator.generate("to be", max_new_tokens=5) == texts[0]


def test_every_sampler_runs(char_generator):
    for sampler, options in (("greedy", {}), ("temperature", {"temperature": 0.7}),
                             ("top_k", {"top_k": 3}), ("top_p", {"top_p": 0.9}),
                             ("beam", {"num_beams": 3})):
        text = char_generator.generate("to", max_new_tokens=4, sampler=sampler, **options)
        assert isinstance(text, str) and len(text) <= 4


def test_empty_prompt_starts_from_a_newline(char_generator):
    assert char_generator.encode_prompt("") == char_generator.encode_prompt("\n")
    assert len(char_generator.generate("", max_new_tokens=3)) == 3


def test_empty_prompt_of_a_word_model_starts_from_eos():
    tokenizer = WordTokenizer.from_corpus(TEXT, end_token="<eos>")
    model = CausalLM(GPTBackbone(tokenizer.vocabulary_size(), 1, 2, 16, sequence_length=32))
    generator = TextGenerator(model, tokenizer)
    assert generator.encode_prompt("") == [tokenizer.end_token_id]
    assert generator.encode_prompt("to be xyzzy")[-1] == tokenizer.unknown_token_id
    plain_tokenizer = WordTokenizer.from_corpus(TEXT)  # no <eos>, "\n" has no words
    plain = TextGenerator(model, plain_tokenizer)
    assert plain.encode_prompt("") == [plain_tokenizer.unknown_token_id]


def test_characters_outside_the_vocabulary_are_refused(char_generator):
    with pytest.raises(InputError, match="Z"):
        char_generator.generate("Zebra", max_new_tokens=3)


def test_stop_strings_cut_the_text(char_generator):
    text = char_generator.generate("to be", max_new_tokens=20, sampler="temperature", seed=1)
    stop = text[5:7]
    cut = char_generator.generate("to be", max_new_tokens=20, sampler="temperature", seed=1,
                                  stop_strings=[stop])
    assert cut == text[:text.index(stop)]


def test_streaming_gives_the_same_text(char_generator):
    options = dict(max_new_tokens=20, sampler="top_p", top_p=0.9, temperature=0.8, seed=5)
    pieces = list(char_generator.stream("to be", chunk=6, **options))
    assert len(pieces) > 1
    assert "".join(pieces) == char_generator.generate("to be", **options)


def test_streaming_past_the_context_gives_the_same_text(char_generator):
    options = dict(max_new_tokens=50, sampler="temperature", temperature=0.9, seed=2)
    assert "".join(char_generator.stream("to be", **options)) == \
        char_generator.generate("to be", **options)  # context 32: generation slides


def test_word_continuations_are_separated_from_the_prompt():
    tokenizer = WordTokenizer.from_corpus(TEXT)
    model = CausalLM(GPTBackbone(tokenizer.vocabulary_size(), 1, 2, 16, sequence_length=32))
    text = TextGenerator(model, tokenizer).generate("to be", max_new_tokens=3)
    assert text.startswith(" ") and len(text.split()) == 3


def test_a_long_prompt_is_truncated_with_a_warning(char_generator):
    warnings = []
    char_generator.warn = warnings.append
    char_generator.generate("to be or not to be " * 4, max_new_tokens=4)
    assert warnings and "its first" in warnings[0]
    char_generator.warn = lambda message: None


@pytest.mark.parametrize("options,message", [
    ({"temperature": -0.5, "sampler": "temperature"}, "temperature=-0.5"),
    ({"top_p": 0.0, "sampler": "top_p"}, "top_p=0.0"),
    ({"top_p": 1.5, "sampler": "top_p"}, "top_p=1.5"),
    ({"top_k": 0, "sampler": "top_k"}, "top_k=0"),
    ({"num_beams": 0, "sampler": "beam"}, "num_beams=0"),
    ({"max_new_tokens": 0}, "max_new_tokens=0"),
    ({"max_new_tokens": 101}, r"\[1, 100\]. Received: max_new_tokens=101"),
    ({"sampler": "nucleus"}, "sampler='nucleus'"),
    ({"repetition_penalty": 0.5}, "repetition_penalty=0.5"),
])
def test_bad_arguments_name_the_argument(char_generator, options, message):
    options.setdefault("max_new_tokens", 4)
    with pytest.raises(InputError, match=message):
        char_generator.generate("to", **options)
