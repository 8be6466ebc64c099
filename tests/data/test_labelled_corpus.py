import numpy as np
import pytest

from tf_lm.data.labelled_corpus import LabelledCorpus
from tf_lm.errors import InputError

POS = ["a joy to watch", "funny and warm", "the best film of the year", "moving", "bright"]
NEG = ["dull", "too long by half", "a mess", "nothing works", "flat and tired"]


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def per_class_files(root, copies=4):
    write(root / "reviews.pos", "\n".join(POS * copies) + "\n")
    write(root / "reviews.neg", "\n".join(NEG * copies) + "\n")
    return root


def test_one_file_per_class_is_labelled_by_extension_and_split_stratified(tmp_path):
    corpus = LabelledCorpus.load(str(per_class_files(tmp_path)), valid_fraction=0.1,
                                 test_fraction=0.1, seed=3)
    assert corpus.label_names == ["neg", "pos"]
    assert corpus.split_names == ["train", "valid", "test"]
    assert corpus.class_counts("train").tolist() == [16, 16]
    assert corpus.class_counts("valid").tolist() == [2, 2]
    assert corpus.class_counts("test").tolist() == [2, 2]
    for split in corpus.split_names:
        for text, label in zip(corpus.texts(split), corpus.labels(split)):
            assert text in (POS if label == 1 else NEG)
    again = LabelledCorpus.load(str(tmp_path), valid_fraction=0.1, test_fraction=0.1, seed=3)
    assert again.texts("test") == corpus.texts("test")
    other = LabelledCorpus.load(str(tmp_path), valid_fraction=0.1, test_fraction=0.1, seed=4)
    assert other.texts("test") != corpus.texts("test")
    listed = LabelledCorpus.load(f"{tmp_path}/reviews.pos,{tmp_path}/reviews.neg",
                                 valid_fraction=0.1, test_fraction=0.1, seed=3)
    assert sorted(listed.texts("test")) == sorted(corpus.texts("test"))  # files in any order


def test_tables_with_and_without_a_header_and_named_split_files(tmp_path):
    rows = [("pos", t) for t in POS] + [("neg", t) for t in NEG]
    write(tmp_path / "plain.tsv", "".join(f"{label}\t{text}\n" for label, text in rows))
    plain = LabelledCorpus.load(str(tmp_path / "plain.tsv"), valid_fraction=0.0,
                                test_fraction=0.0)
    assert plain.split_names == ["train"] and len(plain.texts("train")) == 10
    write(tmp_path / "header.csv", "text,label\n" + "".join(
        f'"{text}, really",{label}\n' for label, text in rows))
    header = LabelledCorpus.load(str(tmp_path / "header.csv"), 0.0, 0.0)
    assert header.texts("train")[0] == "a joy to watch, really"
    assert header.labels("train")[0] == 1
    splits = tmp_path / "splits"
    write(splits / "train.tsv", "".join(f"{label}\t{text}\n" for label, text in rows))
    write(splits / "test.tsv", "pos\tgreat\nneg\tawful\n")
    corpus = LabelledCorpus.load(str(splits), valid_fraction=0.2, test_fraction=0.5)
    assert corpus.texts("test") == ["great", "awful"]  # the file, not a fraction
    assert corpus.class_counts("valid").tolist() == [1, 1]


def test_a_folder_per_class_holds_one_text_a_file(tmp_path):
    for label, texts in (("positive", POS), ("negative", NEG)):
        for i, text in enumerate(texts):
            write(tmp_path / "data" / label / f"{i}.txt", text + "\n")
    corpus = LabelledCorpus.load(str(tmp_path / "data"), 0.0, 0.0)
    assert corpus.label_names == ["negative", "positive"]
    assert sorted(corpus.texts("train")) == sorted(POS + NEG)


def test_the_models_labels_fix_the_ids_and_refuse_unknown_ones(tmp_path):
    write(tmp_path / "eval.tsv", "pos\tgood\npos\tfine\n")
    corpus = LabelledCorpus.load(str(tmp_path / "eval.tsv"), 0.0, 0.0,
                                 label_names=["neg", "pos"])  # one class is fine here
    np.testing.assert_array_equal(corpus.labels("train"), [1, 1])
    write(tmp_path / "bad.tsv", "pos\tgood\nmeh\tso so\n")
    with pytest.raises(InputError, match=r"bad.tsv:2: label 'meh' is not among the model's"):
        LabelledCorpus.load(str(tmp_path / "bad.tsv"), 0.0, 0.0, label_names=["neg", "pos"])


@pytest.mark.parametrize("name, content, message", [
    ("one.tsv", "pos\ta\npos\tb\n", "one class only"),
    ("ragged.tsv", "pos\ta\nneg\tb\textra\n", r"ragged.tsv:2: expected 2 fields.*Received: 3"),
    ("empty.tsv", "pos\ta\nneg\t  \n", r"empty.tsv:2: empty text"),
    ("nolabel.csv", "pos,a\n,b\n", r"nolabel.csv:2: empty label"),
    ("latin.tsv", b"pos\tcaf\xe9\nneg\tb\n", "not valid UTF-8 at byte offset 7"),
    ("text.txt", "just text\n", "one plain text file"),
])
def test_bad_labelled_files_are_refused_by_name(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    with pytest.raises(InputError, match=message):
        LabelledCorpus.load(str(path), 0.0, 0.0)


def test_a_blank_line_in_a_class_file_and_a_missing_path_are_refused(tmp_path):
    write(tmp_path / "r.pos", "good\n\nfine\n")
    write(tmp_path / "r.neg", "bad\n")
    with pytest.raises(InputError, match=r"r.pos:2: empty text"):
        LabelledCorpus.load(f"{tmp_path}/r.pos,{tmp_path}/r.neg", 0.0, 0.0)
    with pytest.raises(InputError, match="Labelled corpus path not found"):
        LabelledCorpus.load(str(tmp_path / "missing"), 0.0, 0.0)
    with pytest.raises(InputError, match="'tinyshakespeare' is a bundled unlabelled corpus"):
        LabelledCorpus.load("tinyshakespeare", 0.0, 0.0)


def test_folds_deal_every_text_to_one_stratified_test_fold(tmp_path):
    write(tmp_path / "reviews.pos", "".join(f"{POS[i % 5]} {i}\n" for i in range(25)))
    write(tmp_path / "reviews.neg", "".join(f"{NEG[i % 5]} {i}\n" for i in range(25)))
    whole = LabelledCorpus.load(str(tmp_path), 0.0, 0.0)  # 50 distinct texts
    tests = []
    for fold in range(5):
        corpus = LabelledCorpus.load(str(tmp_path), valid_fraction=0.1, test_fraction=0.0,
                                     seed=7, folds=5, fold=fold)
        assert corpus.split_names == ["train", "valid", "test"]
        assert corpus.class_counts("test").tolist() == [5, 5]
        assert corpus.class_counts("valid").tolist() == [2, 2]
        assert corpus.class_counts("train").tolist() == [18, 18]
        tests.append(corpus)
    # Each text is in exactly one test fold, and never in its own fold's training split.
    dealt = sorted(t for c in tests for t in c.texts("test"))
    assert dealt == sorted(whole.texts("train"))
    for corpus in tests:
        assert not set(corpus.texts("test")) & set(corpus.texts("train") + corpus.texts("valid"))
    again = LabelledCorpus.load(str(tmp_path), 0.1, 0.0, seed=7, folds=5, fold=2)
    assert again.texts("test") == tests[2].texts("test")
    assert again.texts("train") == tests[2].texts("train")
    other = LabelledCorpus.load(str(tmp_path), 0.1, 0.0, seed=8, folds=5, fold=2)
    assert other.texts("test") != tests[2].texts("test")  # the seed deals the folds


def test_folds_refuse_a_test_file_and_classes_smaller_than_the_folds(tmp_path):
    write(tmp_path / "splits" / "train.tsv", "pos\ta\nneg\tb\npos\tc\nneg\td\n")
    write(tmp_path / "splits" / "test.tsv", "pos\te\nneg\tf\n")
    with pytest.raises(InputError, match="data.folds=2 takes the test split from the folds"):
        LabelledCorpus.load(str(tmp_path / "splits"), 0.0, 0.0, folds=2)
    with pytest.raises(InputError, match=r"Class 'neg' has 2 texts, fewer than data.folds=3"):
        LabelledCorpus.load(str(tmp_path / "splits" / "train.tsv"), 0.0, 0.0, folds=3)


def test_quoting_none_reads_every_character_of_a_table_literally(tmp_path):
    write(tmp_path / "q.tsv", 'pos\t" red dragon " is entertaining\nneg\t"dull"\n')
    csv_read = LabelledCorpus.load(str(tmp_path / "q.tsv"), 0.0, 0.0)
    assert csv_read.texts("train") == ["red dragon  is entertaining", "dull"]
    literal = LabelledCorpus.load(str(tmp_path / "q.tsv"), 0.0, 0.0, quoting="none")
    assert literal.texts("train") == ['" red dragon " is entertaining', '"dull"']
