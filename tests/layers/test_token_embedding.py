import math

import numpy as np
import pytest

from tests.layer_checks import run_layer_checks
from tf_lm.layers import TokenEmbedding

IDS = np.array([[1, 2, 3, 0, 10], [4, 4, 5, 6, 7]], dtype="int32")


def test_standard_checks(tmp_path):
    run_layer_checks(lambda **kw: TokenEmbedding(11, 8, **kw), IDS, (2, 5, 8), 1, tmp_path)


def test_forward_is_a_row_lookup_and_reverse_is_h_times_e_transposed():
    layer = TokenEmbedding(11, 8)
    out = np.asarray(layer(IDS))
    table = np.asarray(layer.embeddings)
    np.testing.assert_array_equal(out, table[IDS])
    hidden = np.random.default_rng(0).normal(size=(2, 3, 8)).astype("float32")
    np.testing.assert_allclose(np.asarray(layer(hidden, reverse=True)), hidden @ table.T,
                               rtol=1e-5, atol=1e-5)


def test_scale_multiplies_by_sqrt_dim():
    layer = TokenEmbedding(11, 16, scale=True)
    out = np.asarray(layer(IDS))
    np.testing.assert_allclose(out, np.asarray(layer.embeddings)[IDS] * math.sqrt(16), rtol=1e-6)


@pytest.mark.parametrize("value", [0, -3, 2.5, None])
def test_vocabulary_size_must_be_positive(value):
    with pytest.raises(ValueError, match=f"vocabulary_size={value!r}"):
        TokenEmbedding(value, 8)


VOCABULARY = ["<unk>", "the", "Cat", "sat", "<eos>"]


def test_glove_vectors_fill_covered_rows(tmp_path):
    path = tmp_path / "glove.txt"
    path.write_text("the 1 2 3\ncat 4 5 6\ndog 7 8 9\n", encoding="utf-8")
    layer = TokenEmbedding(5, 3)
    layer.build()
    before = np.asarray(layer.embeddings).copy()
    coverage = layer.load_word_vectors(path, VOCABULARY)
    after = np.asarray(layer.embeddings)
    np.testing.assert_array_equal(after[1], [1, 2, 3])
    np.testing.assert_array_equal(after[2], [4, 5, 6])  # "Cat" found as lower-case "cat"
    np.testing.assert_array_equal(after[[0, 3, 4]], before[[0, 3, 4]])
    assert (coverage.covered, coverage.total) == (2, 5)
    assert coverage.missing == ("<unk>", "sat", "<eos>")
    assert "2 of 5 vocabulary words (40.0 %)" in str(coverage)


def test_word2vec_header_is_read_and_checked(tmp_path):
    path = tmp_path / "vectors.txt"
    path.write_text("2 3\nsat 1 1 1\nthe 0 0 1\n", encoding="utf-8")
    coverage = TokenEmbedding(5, 3).load_word_vectors(path, VOCABULARY)
    assert coverage.covered == 2
    with pytest.raises(ValueError, match="line 1.*3-dimensional.*dim=4"):
        TokenEmbedding(5, 4).load_word_vectors(path, VOCABULARY)


def test_wrong_dimension_and_malformed_lines_name_the_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("the 1 2 3\nsat 1 2\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.txt: line 2: expected a word and 3 numbers, "
                                         r"received 3 fields"):
        TokenEmbedding(5, 3).load_word_vectors(path, VOCABULARY)
    path.write_text("the 1 2 3\nsat 1 x 2\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 2: the 3 values after 'sat' are not all finite"):
        TokenEmbedding(5, 3).load_word_vectors(path, VOCABULARY)
    path.write_text("the 1 2 3\nsat 1 nan 2\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 2: .* not all finite numbers"):
        TokenEmbedding(5, 3).load_word_vectors(path, VOCABULARY)


def test_words_with_spaces_as_in_glove_840b(tmp_path):
    path = tmp_path / "glove.840B.txt"
    path.write_text(". . . 9 9 9\nthe 1 2 3\n", encoding="utf-8")
    layer = TokenEmbedding(6, 3)
    coverage = layer.load_word_vectors(path, VOCABULARY + [". . ."])
    assert coverage.covered == 2
    np.testing.assert_array_equal(np.asarray(layer.embeddings)[5], [9, 9, 9])


def test_vocabulary_must_match_the_table(tmp_path):
    with pytest.raises(ValueError, match="len\\(vocabulary\\)=2"):
        TokenEmbedding(5, 3).load_word_vectors(tmp_path / "x.txt", ["a", "b"])
