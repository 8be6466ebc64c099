import json
import os
import subprocess
import sys

import pytest

from tf_lm.cli.main import main

SHARED_WIKITEXT = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data",
                               "wikitext-2")


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_inspect_bundled_corpus_json(capsys):
    code, out, _ = _run(capsys, "data", "inspect", "--json", "--pipeline-seconds", "0.2")
    assert code == 0
    report = json.loads(out)
    assert report["corpus"] == "tinyshakespeare" and report["bytes"] == 1115394
    assert report["vocabulary_size"] == 65 and report["tokenizer"] == "char"
    assert report["splits"]["train"]["tokens"] == 1003854
    assert report["splits"]["valid"]["tokens"] == 111540
    assert report["splits"]["valid"]["oov_rate"] == 0.0
    assert report["pipeline"]["tokens_per_s"] > 0
    assert report["pipeline"]["block_size"] == 64 and report["pipeline"]["batch_size"] == 12


def test_inspect_human_table_and_overrides(capsys, wikitext_dir):
    code, out, _ = _run(capsys, "data", "inspect", "--corpus", str(wikitext_dir), "--tokenizer",
                        "word", "--format", "wikitext", "--data.block_size=2",
                        "--batch-size", "3", "--pipeline-seconds", "0.1")
    assert code == 0
    assert "tokenizer   word, vocabulary 14" in out  # 13 words + <eos>
    assert "(random sampler, block 2, batch 3)" in out
    rows = {line.split()[0]: line.split() for line in out.splitlines()}
    assert rows["train"][1:4] == ["108", "5", "25"]  # 20 words + 5 <eos>
    assert rows["valid"][3:] == ["12", "0.000%"]
    assert rows["test"][3:] == ["5", "20.000%"]  # "unknownword" of 4 words + <eos>


@pytest.mark.parametrize("tokenizer", ["byte", "wordpiece", "sentencepiece"])
def test_inspect_every_tokenizer_streaming(capsys, text_file, tokenizer):
    code, out, _ = _run(capsys, "data", "inspect", "--corpus", str(text_file), "--tokenizer",
                        tokenizer, "--json", "--pipeline-seconds", "0", "--data.vocab_size=40",
                        "--data.in_memory_max_mb=0", "--data.block_size=8")
    assert code == 0
    report = json.loads(out)
    assert report["streaming"] is True and report["tokenizer"] == tokenizer
    assert report["splits"]["train"]["tokens"] > 0 and report["splits"]["train"]["chars"] is None


@pytest.mark.parametrize("argv, words", [
    (["--corpus", "/nowhere/x.txt"], ["not found: '/nowhere/x.txt'"]),
    (["--data.block_size=0"], ["'data.block_size' must be >= 1"]),
    (["--data.nope=1"], ["Unknown config key 'data.nope'"]),
    (["--corpus", "EMPTY"], ["is empty"]),
    (["--corpus", "BADUTF8"], ["is not valid UTF-8 at byte offset 3", "encoding_errors=replace"]),
    (["--corpus", "TINY", "--data.block_size=64"], ["shorter than one window"]),
    (["--corpus", "NOTEXT"], ["has no text files"]),
])
def test_bad_input_is_one_line_and_exit_2(capsys, tmp_path, argv, words):
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "bad.txt").write_bytes(b"abc\xffdef\n" * 3)
    (tmp_path / "tiny.txt").write_text("a few words\n" * 2)
    (tmp_path / "notext").mkdir()
    names = {"EMPTY": tmp_path / "empty.txt", "BADUTF8": tmp_path / "bad.txt",
             "TINY": tmp_path / "tiny.txt", "NOTEXT": tmp_path / "notext"}
    argv = [str(names.get(a, a)) for a in argv]
    before = sorted(os.listdir(tmp_path))
    code, out, err = _run(capsys, "data", "inspect", "--pipeline-seconds", "0.1", *argv)
    assert code == 2 and out == ""
    assert err.startswith("tf-lm: error: ") and err.count("\n") == 1
    for word in words:
        assert word in err
    assert sorted(os.listdir(tmp_path)) == before  # nothing written


def test_unknown_tokenizer_and_preset_are_argparse_errors(capsys):
    for argv in (["--tokenizer", "bpe2"], ["--preset", "gpt5"], ["--bogus"]):
        with pytest.raises(SystemExit) as info:
            main(["data", "inspect", *argv])
        assert info.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith("tf-lm: error: ") and err.count("\n") == 1
        assert ("invalid choice" in err) or ("unrecognized argument: --bogus" in err)


def test_console_script_exit_code_and_help():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run([sys.executable, "-m", "tf_lm.cli.main", "data", "inspect",
                             "--corpus", "/nowhere"], capture_output=True, text=True, env=env)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "tf-lm: error: Corpus path not found: '/nowhere' (not a file, directory, glob or "
        "bundled corpus; bundled: tinyshakespeare)")
    helped = subprocess.run([sys.executable, "-m", "tf_lm.cli.main", "data", "inspect", "--help"],
                            capture_output=True, text=True, env=env)
    assert helped.returncode == 0
    for flag in ("--corpus", "--tokenizer", "--json", "--data.block_size", "--preset"):
        assert flag in helped.stdout


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir(SHARED_WIKITEXT), reason="needs ../shared/data/wikitext-2")
def test_wikitext2_figures(capsys):
    code, out, _ = _run(capsys, "data", "inspect", "--corpus", SHARED_WIKITEXT, "--tokenizer",
                        "word", "--format", "wikitext", "--json", "--pipeline-seconds", "0")
    assert code == 0
    report = json.loads(out)
    assert report["vocabulary_size"] == 33278
    assert [report["splits"][s]["tokens"] for s in ("train", "valid", "test")] == [
        2088628, 217646, 245569]


def test_streamed_corpus_shorter_than_one_window(capsys, text_file):
    code, _, err = _run(capsys, "data", "inspect", "--corpus", str(text_file),
                        "--data.in_memory_max_mb=0", "--data.block_size=100000")
    assert code == 2 and "shorter than one window" in err and err.count("\n") == 1


def test_streamed_split_between_one_and_two_blocks(capsys, tmp_path):
    """Passes the length check but yields no streamed window: still one clear line."""
    (tmp_path / "train.txt").write_text("abcdefghij\n" * 9)  # 99 characters: 1 block of 60
    (tmp_path / "valid.txt").write_text("abcdefghij\n" * 30)
    code, _, err = _run(capsys, "data", "inspect", "--corpus", str(tmp_path),
                        "--data.in_memory_max_mb=0", "--data.block_size=60")
    assert code == 2 and err.count("\n") == 1
    assert "yields no window of data.block_size + 1 = 61 tokens when streamed" in err


def test_inspect_a_labelled_corpus_as_a_classifier_reads_it(capsys, tmp_path):
    (tmp_path / "reviews.pos").write_text(
        "a fine film\nso good , so very good and fine\nit is\ngreat\n", encoding="utf-8")
    (tmp_path / "reviews.neg").write_text(
        "a dull film\nbad\npoor and dull\nawful awful awful awful awful awful\n",
        encoding="utf-8")
    argv = ["data", "inspect", "--task", "classifier", "--corpus", str(tmp_path),
            "--tokenizer", "word", "--data.valid_fraction=0.25", "--data.test_fraction=0",
            "--data.block_size=4"]
    code, out, err = _run(capsys, *argv, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["labels"] == ["neg", "pos"]
    train, valid = report["splits"]["train"], report["splits"]["valid"]
    assert train["per_class"] == {"neg": 3, "pos": 3}
    assert valid["per_class"] == {"neg": 1, "pos": 1}
    assert train["tokens"] + valid["tokens"] == 3 + 8 + 2 + 1 + 3 + 1 + 3 + 6
    assert train["cut_at_block_size"] + valid["cut_at_block_size"] == 2  # 8 and 6 tokens
    assert train["empty"] == valid["empty"] == 0 and 0 <= valid["oov_rate"] <= 1
    code, out, _ = _run(capsys, *argv, "--json", "--data.lowercase=true",
                        "--data.stopwords=english")
    report = json.loads(out)
    assert sum(s["empty"] for s in report["splits"].values()) == 1  # "it is"
    code, out, _ = _run(capsys, *argv)
    assert "labelled: 2 classes" in out and "neg 3, pos 3" in out and "> block 4" in out
    folds = [json.loads(_run(capsys, *argv, "--json", "--data.folds=4", f"--data.fold={k}")[1])
             for k in range(4)]
    for report in folds:  # each fold a test split of one text a class, the rest train/valid
        assert report["splits"]["test"]["per_class"] == {"neg": 1, "pos": 1}
        assert report["splits"]["train"]["per_class"] == {"neg": 2, "pos": 2}
    assert sum(r["splits"]["test"]["tokens"] for r in folds) == 3 + 8 + 2 + 1 + 3 + 1 + 3 + 6
    code, _, err = _run(capsys, *argv, "--data.folds=4", "--data.test_fraction=0.1")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "data.test_fraction" in err
    code, _, err = _run(capsys, "data", "inspect", "--task", "classifier", "--corpus",
                        str(tmp_path / "reviews.pos"))
    assert code == 2 and len(err.strip().splitlines()) == 1 and "reviews.pos" in err


def test_a_tables_quoting_is_a_data_key(capsys, tmp_path):
    rows = 'pos\t"good" film\nneg\tbad\npos\tok\nneg\tno\n'
    (tmp_path / "q.tsv").write_text(rows, encoding="utf-8")
    argv = ["data", "inspect", "--task", "classifier", "--corpus", str(tmp_path / "q.tsv"),
            "--tokenizer", "char", "--data.valid_fraction=0", "--json"]
    tokens = {}
    for quoting in ("csv", "none"):
        code, out, err = _run(capsys, *argv, f"--data.quoting={quoting}")
        assert code == 0, err
        tokens[quoting] = json.loads(out)["splits"]["train"]["tokens"]
    assert tokens["none"] - tokens["csv"] == 2  # the quote marks of '"good" film' kept
    (tmp_path / "q.tsv").write_text(rows + 'pos\t"a tab\tinside"\n', encoding="utf-8")
    assert _run(capsys, *argv)[0] == 0  # a quoted field may hold the delimiter
    code, _, err = _run(capsys, *argv, "--data.quoting=none")
    assert code == 2 and "q.tsv:5: expected 2 fields" in err and "Received: 3" in err
