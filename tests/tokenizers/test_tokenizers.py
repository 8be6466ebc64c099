import numpy as np
import pytest
import tensorflow as tf

from tf_lm.config import Config
from tf_lm.data.corpus import Corpus
from tf_lm.errors import InputError
from tf_lm.tokenizers import (
    BytePairTokenizer, ByteTokenizer, CharTokenizer, SentencePieceTokenizer, Tokenizer,
    WordPieceTokenizer, WordTokenizer, build_tokenizer, load_tokenizer,
)
from tests.conftest import SHAKESPEARE_LIKE

LINES = [line + "\n" for line in (SHAKESPEARE_LIKE * 20).split("\n")[:-1]]
SAMPLE = "First Citizen:\nSpeak, speak. You are all resolved.\n"


def _make(kind):
    if kind == "char":
        return CharTokenizer.from_corpus(LINES)
    if kind == "byte":
        return ByteTokenizer()
    if kind == "word":
        return WordTokenizer.from_corpus(LINES)
    if kind == "wordpiece":
        return WordPieceTokenizer.from_corpus(LINES, vocabulary_size=120)
    if kind == "bpe":
        return BytePairTokenizer.from_corpus(LINES, vocabulary_size=300)
    return SentencePieceTokenizer.from_corpus(LINES, vocabulary_size=40)


KINDS = ["char", "byte", "word", "wordpiece", "sentencepiece", "bpe"]


@pytest.fixture(scope="module", params=KINDS)
def tokenizer(request):
    return _make(request.param)


def test_one_interface(tokenizer):
    assert isinstance(tokenizer, Tokenizer)
    size = tokenizer.vocabulary_size()
    assert len(tokenizer.get_vocabulary()) == size
    ids = tokenizer.encode(SAMPLE)
    assert ids.dtype == np.int32 and ids.size > 0
    assert ids.min() >= 0 and ids.max() < size
    ragged = tokenizer.tokenize(tf.constant([SAMPLE, "speak"]))
    assert isinstance(ragged, tf.RaggedTensor) and ragged.dtype == tf.int32
    np.testing.assert_array_equal(ragged[0].numpy(), ids)
    text = tokenizer.detokenize(ragged)
    assert text.dtype == tf.string and text.shape == (2,)
    single = tokenizer.tokenize("speak")  # a scalar gives a dense vector
    assert isinstance(single, tf.Tensor) and single.shape.rank == 1
    np.testing.assert_array_equal(single.numpy(), ragged[1].numpy())
    assert tokenizer.detokenize(single).shape == () and tokenizer.detokenize(single).numpy()


def test_round_trip(tokenizer):
    decoded = tokenizer.decode(tokenizer.encode(SAMPLE))
    if tokenizer.kind in ("char", "byte", "bpe"):
        assert decoded == SAMPLE
    elif tokenizer.kind == "word":  # equal up to <unk>
        vocabulary = set(tokenizer.get_vocabulary())
        assert decoded.split() == [w if w in vocabulary else "<unk>" for w in SAMPLE.split()]
        assert "<unk>" in decoded  # "resolved." is not a training word
    else:  # subwords keep every character, not the exact whitespace
        assert "".join(decoded.split()) == "".join(SAMPLE.split())


def test_graph_and_tf_data_give_the_same_ids(tokenizer):
    eager = tokenizer.tokenize(tf.constant(LINES[:6]))
    graph = tf.function(tokenizer.tokenize)(tf.constant(LINES[:6]))
    np.testing.assert_array_equal(eager.flat_values.numpy(), graph.flat_values.numpy())
    in_data = tf.data.Dataset.from_tensor_slices(LINES[:6]).batch(3).map(tokenizer.tokenize)
    flat = np.concatenate([r.flat_values.numpy() for r in in_data])
    np.testing.assert_array_equal(flat, eager.flat_values.numpy())


def test_graph_has_only_servable_ops(tokenizer):
    """No Xla* ops (TF Serving disables XLA), no PyFunc: core TF and tensorflow-text only."""
    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def round_trip(text):
        return tokenizer.detokenize(tokenizer.tokenize(text))

    graph_def = round_trip.get_concrete_function().graph.as_graph_def()
    ops = {n.op for n in graph_def.node}
    ops |= {n.op for f in graph_def.library.function for n in f.node_def}
    assert not [op for op in ops if op.startswith("Xla") or "PyFunc" in op]
    import tensorflow_text  # noqa: F401  (the only op library besides core TF)
    from tensorflow.python.framework import op_def_registry
    core = set(dir(tf.raw_ops))
    for op in ops - core:
        assert op_def_registry.get(op) is not None, op
        assert op.startswith(("Sentencepiece", "FastWordpiece", "RegexSplit", "TFText>",
                              "Wordpiece", "NormalizeUTF8", "CaseFold")), op
    np.testing.assert_array_equal(
        round_trip(tf.constant([SAMPLE])).numpy(), tokenizer.detokenize(
            tokenizer.tokenize(tf.constant([SAMPLE]))).numpy())


def test_save_and_load_give_identical_ids(tokenizer, tmp_path):
    tokenizer.save(str(tmp_path))
    loaded = load_tokenizer(str(tmp_path), expected_vocabulary_size=tokenizer.vocabulary_size())
    assert type(loaded) is type(tokenizer)
    assert loaded.get_vocabulary() == tokenizer.get_vocabulary()
    np.testing.assert_array_equal(loaded.encode(SAMPLE), tokenizer.encode(SAMPLE))
    assert loaded.end_token_id == tokenizer.end_token_id
    assert loaded.unknown_token_id == tokenizer.unknown_token_id
    assert not list(tmp_path.glob("*.pkl")) and not list(tmp_path.glob("*.pickle"))
    with pytest.raises(InputError, match="model expects 7"):
        load_tokenizer(str(tmp_path), expected_vocabulary_size=7)


def test_vocabulary_is_deterministic(tokenizer):
    again = _make(tokenizer.kind)
    assert again.get_vocabulary() == tokenizer.get_vocabulary()


def test_char_vocabulary_and_errors():
    tokenizer = CharTokenizer.from_corpus(["ba\n", "c a"])
    assert tokenizer.get_vocabulary() == ["\n", " ", "a", "b", "c"]
    with pytest.raises(InputError, match=r"'z' \(U\+007A\) is not in the character vocabulary"):
        tokenizer.encode("abz")
    with pytest.raises(tf.errors.InvalidArgumentError, match="outside the vocabulary"):
        tf.function(tokenizer.tokenize)(tf.constant(["abz"]))
    with_unknown = CharTokenizer(vocabulary=["a", "b"], unknown_token="\ufffd")
    assert with_unknown.decode(with_unknown.encode("abz")) == "ab\ufffd"
    assert with_unknown.count_out_of_vocabulary(["abz"]) == (1, 3)
    assert CharTokenizer.from_corpus(["héllo ✓\n"]).decode(
        CharTokenizer.from_corpus(["héllo ✓\n"]).encode("✓ héllo")) == "✓ héllo"


def test_byte_tokenizer_specials_and_multibyte():
    tokenizer = ByteTokenizer()
    assert tokenizer.vocabulary_size() == 257 and tokenizer.end_token_id == 256
    ids = tokenizer.encode("é✓")
    assert list(ids) == list("é✓".encode("utf-8"))
    assert tokenizer.decode(list(ids) + [256]) == "é✓"  # specials are dropped
    assert tokenizer.decode(ids[:-1]) == "é\ufffd"  # a cut character is replaced
    with pytest.raises(InputError, match=r"must be in \[0, 257\) for this byte .* Received: 300"):
        tokenizer.decode([300])


def test_word_vocabulary_order_and_limits():
    lines = ["b a a c", "a b d"]
    tokenizer = WordTokenizer.from_corpus(lines)
    assert tokenizer.get_vocabulary() == ["<unk>", "a", "b", "c", "d"]
    assert WordTokenizer.from_corpus(lines, min_freq=2).get_vocabulary() == ["<unk>", "a", "b"]
    assert WordTokenizer.from_corpus(lines, max_size=3).get_vocabulary() == ["<unk>", "a", "b"]
    assert tokenizer.decode(tokenizer.encode("a zz d")) == "a <unk> d"
    assert tokenizer.count_out_of_vocabulary(["a zz <unk>"]) == (1, 3)  # literal <unk> is known
    with pytest.raises(InputError, match="no words"):
        WordTokenizer.from_corpus(["   \n"])


def test_word_wikitext_mode(wikitext_dir):
    config = Config.resolve(overrides=[f"data.corpus={wikitext_dir}", "data.format=wikitext",
                                       "data.tokenizer=word"])
    corpus = Corpus.from_config(config.data)
    tokenizer = build_tokenizer(config.data, corpus)
    words = {w for line in corpus.lines("train") for w in line.split()}
    assert tokenizer.vocabulary_size() == len(words | {"<eos>"})  # <unk> is a corpus word
    ids = tokenizer.encode_lines(corpus.lines("train"))
    assert ids.size == sum(len(line.split()) + 1 for line in corpus.lines("train"))
    assert int((ids == tokenizer.end_token_id).sum()) == corpus.num_lines("train")
    assert tokenizer.decode(tokenizer.encode(" the game . ")) == "the game .\n"
    oov, total = tokenizer.count_out_of_vocabulary(corpus.lines("test"))
    assert (oov, total) == (1, 5)  # "unknownword"; the literal <unk> is in the vocabulary


def test_char_tokenizer_adds_unknown_only_when_held_out_text_needs_it(tmp_path):
    (tmp_path / "train.txt").write_text("abc abc\n")
    (tmp_path / "valid.txt").write_text("abd\n")
    config = Config.resolve(overrides=[f"data.corpus={tmp_path}"])
    tokenizer = build_tokenizer(config.data, Corpus.from_config(config.data))
    assert tokenizer.unknown_token_id is not None
    assert tokenizer.decode(tokenizer.encode("abd")) == "ab\ufffd"
    shakespeare = Config.resolve()
    assert build_tokenizer(shakespeare.data,
                           Corpus.from_config(shakespeare.data)).vocabulary_size() == 65


def test_corrupt_or_mismatched_vocabulary_files(tmp_path):
    tokenizer = WordTokenizer.from_corpus(LINES)
    tokenizer.save(str(tmp_path))
    vocab = tmp_path / "vocabulary.txt"
    vocab.write_text(vocab.read_text().replace("speak", "SPEAK"))
    with pytest.raises(InputError, match="vocabulary.txt' does not match"):
        load_tokenizer(str(tmp_path))
    vocab.unlink()
    with pytest.raises(InputError, match="vocabulary.txt' is missing"):
        load_tokenizer(str(tmp_path))
    (tmp_path / "tokenizer.json").write_text("{not json")
    with pytest.raises(InputError, match="tokenizer.json' is corrupt"):
        load_tokenizer(str(tmp_path))
    with pytest.raises(InputError, match="No tokenizer in"):
        load_tokenizer(str(tmp_path / "nowhere"))


def test_corrupt_sentencepiece_proto(tmp_path):
    with pytest.raises(InputError, match="SentencePiece model is unreadable or corrupt"):
        SentencePieceTokenizer(proto=b"not a model proto")


def test_sentencepiece_vocab_too_large_is_a_clear_error():
    with pytest.raises(InputError, match="data.vocab_size=5000"):
        SentencePieceTokenizer.from_corpus(["a b c\n"] * 5, vocabulary_size=5000)


@pytest.mark.parametrize("cls, vocabulary", [(CharTokenizer, ["a", "b", "a"]),
                                             (WordTokenizer, ["<unk>", "x", "y", "x"])])
def test_duplicate_vocabulary_entries_are_refused(cls, vocabulary):
    with pytest.raises(InputError, match=r"duplicate entries: \['.*'\]"):
        cls(vocabulary=vocabulary)


def test_malformed_vocabulary_entries_name_the_entry():
    with pytest.raises(InputError, match="Entry 1: 'ab'"):
        CharTokenizer(vocabulary=["a", "ab"])
    with pytest.raises(InputError, match="Entry 2: 'two words'"):
        WordTokenizer(vocabulary=["<unk>", "x", "two words"])


def test_word_splitting_agrees_with_the_graph():
    """Non-ASCII spaces (U+00A0) are part of a word for tf.strings.split: learn them so."""
    tokenizer = WordTokenizer.from_corpus(["alpha\u00a0beta gamma\n"] * 3)
    assert "alpha\u00a0beta" in tokenizer.get_vocabulary()
    assert tokenizer.count_out_of_vocabulary(["alpha\u00a0beta delta"]) == (1, 2)
    ids = tokenizer.encode("alpha\u00a0beta delta")
    assert list(ids) == [tokenizer.token_to_id("alpha\u00a0beta"), tokenizer.unknown_token_id]


def test_byte_round_trip_keeps_nul_and_empty():
    tokenizer = ByteTokenizer()
    assert tokenizer.decode(tokenizer.encode("\x00nul\n")) == "\x00nul\n"
    assert tokenizer.encode("").size == 0 and tokenizer.decode([]) == ""
    ragged = tokenizer.tokenize(["", "a"])
    assert ragged.to_list() == [[], [97]]
    assert tokenizer.detokenize(ragged).numpy().tolist() == [b"", b"a"]


@pytest.mark.parametrize("edit, words", [
    ({"asset_file": 5}, ["must be strings"]),
    ({"kind": ["word"]}, ["must be strings"]),
    ({"kind": "byte"}, ["invalid config"]),
    ({"config": {"end_token": 5}}, ["Tokenizer in"]),
])
def test_corrupt_tokenizer_json_fields(tmp_path, edit, words):
    import json
    WordTokenizer.from_corpus(LINES).save(str(tmp_path))
    record = json.loads((tmp_path / "tokenizer.json").read_text())
    for key, value in edit.items():
        if isinstance(value, dict):
            record[key].update(value)
        else:
            record[key] = value
    (tmp_path / "tokenizer.json").write_text(json.dumps(record))
    with pytest.raises(InputError) as info:
        load_tokenizer(str(tmp_path))
    for word in words:
        assert word in str(info.value)
