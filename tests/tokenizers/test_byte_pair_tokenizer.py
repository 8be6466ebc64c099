"""GPT-2's byte-level BPE: the same ids as keras-hub and the `tokenizers` library, exact bytes
back, and its files checked on load."""

import json

import keras_hub
import numpy as np
import pytest
import tokenizers

from tf_lm.errors import InputError
from tf_lm.tokenizers import BytePairTokenizer, load_tokenizer
from tests.conftest import SHAKESPEARE_LIKE

LINES = [line + "\n" for line in (SHAKESPEARE_LIKE * 20).split("\n")[:-1]]
# Unicode, whitespace runs (spaces, tabs, newlines, trailing), numbers, contractions, the
# end-of-text token inside the text, and characters the training text never had.
VARIED = [
    "Hello  world!\n\n  It's 2026: naïve café — 日本語 don't  \t tabs   end   ",
    "I'M WE'LL you've they'd 12345 3.14 1,000,000",
    "a   b\n \n  \t\tc",
    "emoji 🙂👍🏽 and NUL-free control \x07 bell",
    "<|endoftext|>First Citizen:<|endoftext|> speak",
    "",
]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A BPE trained by tf_lm, saved as GPT-2's vocab.json + merges.txt."""
    directory = tmp_path_factory.mktemp("bpe")
    tokenizer = BytePairTokenizer.from_corpus(LINES, vocabulary_size=400)
    tokenizer.save(str(directory))
    return directory, tokenizer


def test_ids_equal_keras_hub_and_the_tokenizers_library(files):
    directory, tokenizer = files
    reference = tokenizers.ByteLevelBPETokenizer(str(directory / "vocab.json"),
                                                 str(directory / "merges.txt"))
    reference.add_special_tokens(["<|endoftext|>"])
    keras = keras_hub.models.GPT2Tokenizer(vocabulary=json.loads(
        (directory / "vocab.json").read_text("utf-8")), merges=str(directory / "merges.txt"))
    for text in VARIED:
        ours = tokenizer.encode(text).tolist()
        assert ours == reference.encode(text).ids, text
        assert ours == [int(i) for i in np.asarray(keras.tokenize(text))], text


def test_exact_byte_round_trip(files):
    _, tokenizer = files
    for text in VARIED:
        assert tokenizer.decode(tokenizer.encode(text)) == text
    ids = tokenizer.encode(VARIED[4])
    assert list(ids).count(tokenizer.end_token_id) == 2  # never split into characters
    assert tokenizer.id_to_token(tokenizer.end_token_id) == "<|endoftext|>"


def test_learns_merges_of_the_training_text(files):
    _, tokenizer = files
    assert 300 < tokenizer.vocabulary_size() <= 400  # the tiny text runs out of pairs
    assert len(tokenizer.encode("First Citizen:\n")) < len("First Citizen:\n") / 2
    with pytest.raises(InputError, match="at least 257"):
        BytePairTokenizer.from_corpus(LINES, vocabulary_size=100)


def test_damaged_files_are_named(files, tmp_path):
    directory, tokenizer = files
    tokenizer.save(str(tmp_path))
    merges = tmp_path / "merges.txt"
    merges.write_text(merges.read_text("utf-8") + "x\n", "utf-8")
    with pytest.raises(InputError, match=r"merges.txt' does not match"):
        load_tokenizer(str(tmp_path))
    with pytest.raises(InputError, match="merge rule must be two tokens"):
        BytePairTokenizer(vocabulary=str(directory / "vocab.json"), merges=str(merges))
    vocabulary = json.loads((directory / "vocab.json").read_text("utf-8"))
    del vocabulary["<|endoftext|>"]
    with pytest.raises(InputError, match="no '<|endoftext|>' token"):
        BytePairTokenizer(vocabulary=vocabulary, merges=[])
