import pytest

from tf_lm.data.corpus import Corpus
from tf_lm.errors import InputError


def test_bundled_tinyshakespeare_nanogpt_split():
    corpus = Corpus.load("tinyshakespeare")
    assert corpus.num_bytes == 1115394
    assert corpus.split_names == ["train", "valid"]
    assert corpus.num_chars("train") == 1003854
    assert corpus.num_chars("valid") == 111540
    assert corpus.text("train").startswith("First Citizen:")
    assert corpus.text("train") + corpus.text("valid") == open(corpus.files[0]).read()


def test_fractional_three_way_split(text_file):
    text = text_file.read_text()
    corpus = Corpus.load(str(text_file), valid_fraction=0.2, test_fraction=0.1)
    n = len(text)
    assert corpus.split_names == ["train", "valid", "test"]
    assert corpus.text("train") == text[: int(n * 0.7)]
    assert corpus.text("valid") == text[int(n * 0.7): int(n * 0.9)]
    assert corpus.text("test") == text[int(n * 0.9):]
    with pytest.raises(InputError, match="no 'test' split"):
        Corpus.load(str(text_file)).text("test")


def test_split_files_in_a_directory(wikitext_dir):
    corpus = Corpus.load(str(wikitext_dir), format="wikitext")
    assert corpus.split_names == ["train", "valid", "test"]
    assert corpus.num_lines("train") == 5 and corpus.num_lines("valid") == 2
    assert corpus.lines("test") == [" the unknownword game . \n"]


def test_directory_glob_and_list_sources(tmp_path):
    (tmp_path / "a.txt").write_text("alpha\n")
    (tmp_path / "b.txt").write_text("beta")
    (tmp_path / "notes.md").write_text("ignored")
    by_dir = Corpus.load(str(tmp_path), valid_fraction=0.0 + 0.1)
    assert by_dir.files == [str(tmp_path / "a.txt"), str(tmp_path / "b.txt")]
    by_glob = Corpus.load(str(tmp_path / "*.txt"))
    assert by_glob.files == by_dir.files
    by_list = Corpus.load(f"{tmp_path / 'b.txt'},{tmp_path / 'a.txt'}")
    joined = by_list.text("train") + by_list.text("valid")
    assert joined == "beta\nalpha\n"


def test_streaming_splits_at_line_boundaries(text_file):
    text = text_file.read_text()
    stream = Corpus.load(str(text_file), in_memory_max_mb=0)
    assert stream.streaming and not Corpus.load(str(text_file)).streaming
    lines = [line + "\n" for line in text.split("\n")[:-1]]
    cut = int(len(lines) * 0.9)
    assert stream.num_lines("train") == cut
    assert list(stream.lines("train")) == lines[:cut]
    got = [x.decode() for x in stream.line_dataset("valid").as_numpy_iterator()]
    assert got == lines[cut:] == list(stream.lines("valid"))
    with pytest.raises(InputError, match="streamed from disk"):
        stream.text("train")


def test_missing_path_names_it(tmp_path):
    with pytest.raises(InputError, match="not found: '.*nowhere.txt'"):
        Corpus.load(str(tmp_path / "nowhere.txt"))


def test_directory_without_text_files(tmp_path):
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    with pytest.raises(InputError, match="has no text files"):
        Corpus.load(str(tmp_path))


def test_glob_matching_nothing(tmp_path):
    with pytest.raises(InputError, match="matched no files"):
        Corpus.load(str(tmp_path / "*.tokens"))


def test_empty_file(tmp_path):
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(InputError, match="empty.txt' is empty"):
        Corpus.load(str(tmp_path / "empty.txt"))


@pytest.mark.parametrize("in_memory_max_mb", [512.0, 0.0])
def test_invalid_utf8_names_file_and_offset(tmp_path, in_memory_max_mb):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"hello world\nabc\xff\xfedef\n")
    with pytest.raises(InputError, match=r"bad.txt' is not valid UTF-8 at byte offset 15"):
        Corpus.load(str(path), in_memory_max_mb=in_memory_max_mb)
    corpus = Corpus.load(str(path), encoding_errors="replace", valid_fraction=0.1,
                         in_memory_max_mb=in_memory_max_mb)
    text = "".join(corpus.lines("train")) + "".join(corpus.lines("valid"))
    assert "\ufffd" in text


def test_split_names_without_train(tmp_path):
    (tmp_path / "valid.txt").write_text("a b\n")
    (tmp_path / "test.txt").write_text("a b\n")
    with pytest.raises(InputError, match="none is a training file"):
        Corpus.load(str(tmp_path))


def test_bad_format():
    with pytest.raises(InputError, match="'text' or 'wikitext'. Received: 'csv'"):
        Corpus.load("tinyshakespeare", format="csv")


@pytest.mark.parametrize("in_memory_max_mb", [512.0, 0.0])
def test_windows_line_endings_read_as_lf(tmp_path, in_memory_max_mb):
    path = tmp_path / "crlf.txt"
    path.write_bytes(b"hello world\r\n" * 30)
    corpus = Corpus.load(str(path), in_memory_max_mb=in_memory_max_mb)
    lines = list(corpus.lines("train")) + list(corpus.lines("valid"))
    assert "".join(lines) == "hello world\n" * 30
    data = [x.decode() for x in corpus.line_dataset("train").as_numpy_iterator()]
    assert data == list(corpus.lines("train"))


def test_split_directory_with_unlabeled_files(tmp_path):
    (tmp_path / "train.txt").write_text("a b\n")
    (tmp_path / "notes.txt").write_text("a b\n")
    with pytest.raises(InputError, match="name no single split: '.*notes.txt'"):
        Corpus.load(str(tmp_path))
