import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SHAKESPEARE_LIKE = (
    "First Citizen:\nBefore we proceed any further, hear me speak.\n\n"
    "All:\nSpeak, speak.\n\nFirst Citizen:\nYou are all resolved rather to die than to famish?\n"
)


@pytest.fixture
def text_file(tmp_path):
    """A small plain-text corpus file (about 2 KB)."""
    path = tmp_path / "corpus.txt"
    path.write_text(SHAKESPEARE_LIKE * 12, encoding="utf-8")
    return path


@pytest.fixture
def wikitext_dir(tmp_path):
    """A tiny corpus in the tokenized WikiText format with separate split files."""
    d = tmp_path / "wikitext"
    d.mkdir()
    train = [" = Valkyria Chronicles = ", " ", " the game 's <unk> was released in Japan . ",
             " the game was released in 2011 . ", " "]
    valid = [" the game was <unk> . ", " Japan released the game . "]
    test = [" the unknownword game . "]
    for name, lines in (("train.txt", train), ("valid.txt", valid), ("test.txt", test)):
        (d / name).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return d
