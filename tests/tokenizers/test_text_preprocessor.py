import numpy as np
import pytest
import tensorflow as tf

from tf_lm.errors import InputError
from tf_lm.tokenizers.text_preprocessor import TextPreprocessor, stopword_list


def run(preprocessor, texts):
    return [t.decode("utf-8") for t in preprocessor(tf.constant(texts)).numpy()]


def test_lowercases_unicode_and_removes_stop_words_whatever_their_case():
    both = TextPreprocessor(lowercase=True, stopwords=["the", "a", "not"])
    assert run(both, ["The Film , a JOY", "ÉCOLE  Not   Here"]) == ["film , joy", "école here"]
    case_kept = TextPreprocessor(stopwords=["the"])
    assert run(case_kept, ["The Cat saw THE dog"]) == ["Cat saw dog"]
    assert run(TextPreprocessor(lowercase=True), ["Keep  Spacing\tAs Is"]) == \
        ["keep  spacing\tas is"]
    assert run(TextPreprocessor(), ["Unchanged  Text"]) == ["Unchanged  Text"]


def test_graph_eager_and_python_paths_agree_and_a_text_of_stop_words_becomes_empty():
    preprocessor = TextPreprocessor(lowercase=True, stopwords=stopword_list("english"))
    texts = ["It is not the best film , but it is fun", "the of and"]
    graph = tf.function(preprocessor)(tf.constant(texts)).numpy()
    assert [t.decode() for t in graph] == run(preprocessor, texts) == preprocessor.apply(texts)
    assert run(preprocessor, texts) == ["best film , fun", ""]  # 'not' is a stop word here


def test_english_is_scikit_learns_list_and_a_file_list_is_read(tmp_path):
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    assert set(stopword_list("english")) == set(ENGLISH_STOP_WORDS)
    path = tmp_path / "stop.txt"
    path.write_text("# my list\nfoo\n\nBar\n", encoding="utf-8")
    assert stopword_list(str(path)) == ["foo", "Bar"]
    assert run(TextPreprocessor(stopwords=stopword_list(str(path))), ["foo bar baz"]) == ["baz"]


def test_save_and_load_round_trip_and_a_missing_file_means_no_preprocessing(tmp_path):
    TextPreprocessor(lowercase=True, stopwords=["b", "a"]).save(tmp_path)
    loaded = TextPreprocessor.load(tmp_path)
    assert loaded.get_config() == {"lowercase": True, "stopwords": ["a", "b"]}
    assert not TextPreprocessor.load(tmp_path / "none").active


@pytest.mark.parametrize("content, message", [
    (None, "no such file"), (b"\xff\xfe", "cannot read"), (b"# only\n\n", "holds no words")])
def test_bad_stop_word_files_are_refused_by_name(tmp_path, content, message):
    path = tmp_path / "stop.txt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        stopword_list(str(path))


def test_a_corrupt_preprocessing_file_is_refused(tmp_path):
    (tmp_path / "preprocessing.json").write_text("{", encoding="utf-8")
    with pytest.raises(InputError, match="preprocessing.json' is corrupt"):
        TextPreprocessor.load(tmp_path)


def test_the_table_is_saved_with_a_module_that_holds_it(tmp_path):
    module = tf.Module()
    module.preprocessor = TextPreprocessor(lowercase=True, stopwords=["x"])
    module.run = tf.function(module.preprocessor,
                             input_signature=[tf.TensorSpec([None], tf.string)])
    tf.saved_model.save(module, str(tmp_path / "m"))
    loaded = tf.saved_model.load(str(tmp_path / "m"))
    np.testing.assert_array_equal(loaded.run(tf.constant(["A x B"])).numpy(), [b"a b"])
