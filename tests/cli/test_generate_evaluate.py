import json

import pytest

from tests.cli.conftest import run_cli as _run


def test_generate_streams_the_prompt_and_continuation(capsys, run_dir):
    code, out, _ = _run(capsys, "generate", "--run-dir", str(run_dir), "--prompt", "All:",
                        "--max-new-tokens", "12", "--sampler", "top_k", "--top-k", "5",
                        "--seed", "3")
    assert code == 0 and out.startswith("All:") and len(out.rstrip("\n")) == 4 + 12
    again = _run(capsys, "generate", "--run-dir", str(run_dir), "--prompt", "All:",
                 "--max-new-tokens", "12", "--sampler", "top_k", "--top-k", "5", "--seed", "3")
    assert again[1] == out


def test_generate_json_and_beam(capsys, run_dir):
    code, out, _ = _run(capsys, "generate", "--run-dir", str(run_dir), "--prompt", "Speak",
                        "--max-new-tokens", "6", "--sampler", "beam", "--beams", "3", "--json")
    assert code == 0
    record = json.loads(out)
    assert record["prompt"] == "Speak" and len(record["text"]) <= 6


@pytest.mark.parametrize("flags,message", [
    (["--temperature", "-1", "--sampler", "temperature"], "temperature=-1.0"),
    (["--top-p", "1.5", "--sampler", "top_p"], "top_p=1.5"),
    (["--top-k", "0", "--sampler", "top_k"], "top_k=0"),
    (["--beams", "0", "--sampler", "beam"], "num_beams=0"),
    (["--max-new-tokens", "0"], "max_new_tokens=0"),
    (["--max-new-tokens", "5000"], "max_new_tokens=5000"),
    (["--prompt", "Zq#"], "'Z' (U+005A) is not in the character vocabulary"),
])
def test_generate_bad_input_is_one_line(capsys, run_dir, flags, message):
    code, out, err = _run(capsys, "generate", "--run-dir", str(run_dir), *flags)
    assert code == 2 and err.startswith("tf-lm: error:") and err.count("\n") == 1
    assert message in err


def test_a_run_directory_without_a_model_is_refused(capsys, tmp_path):
    code, _, err = _run(capsys, "generate", "--run-dir", str(tmp_path / "nothing"))
    assert code == 2 and "Run directory not found" in err
    (tmp_path / "empty").mkdir()
    code, _, err = _run(capsys, "evaluate", "--run-dir", str(tmp_path / "empty"))
    assert code == 2 and "is not a tf-lm run directory" in err


def test_evaluate_reports_every_token_once(capsys, run_dir):
    code, out, _ = _run(capsys, "evaluate", "--run-dir", str(run_dir), "--json",
                        "--continuations", "2")
    assert code == 0
    result = json.loads(out)
    assert result["split"] == "valid" and result["tokens"] > 0
    assert result["perplexity"] == pytest.approx(2.718281828 ** result["loss"], rel=1e-6)
    assert "bits_per_character" in result and "sliding windows of 16" in result["convention"]
    assert {"bleu", "rouge1_f1", "rouge2_f1", "rougeL_f1"} <= set(result)
    code, out, _ = _run(capsys, "evaluate", "--run-dir", str(run_dir), "--stride", "16")
    assert code == 0 and "stride 16" in out and "bits per character" in out
    code, _, err = _run(capsys, "evaluate", "--run-dir", str(run_dir), "--split", "test")
    assert code == 2 and "no 'test' split" in err
    code, _, err = _run(capsys, "evaluate", "--run-dir", str(run_dir), "--continuations", "-1")
    assert code == 2 and "--continuations must be >= 0" in err and err.count("\n") == 1


def test_a_run_without_a_checkpoint_is_refused(capsys, run_dir, tmp_path):
    import shutil

    partial = tmp_path / "partial"
    partial.mkdir()
    shutil.copy(run_dir / "config.json", partial / "config.json")
    shutil.copytree(run_dir / "tokenizer", partial / "tokenizer")
    code, _, err = _run(capsys, "generate", "--run-dir", str(partial), "--prompt", "All")
    assert code == 2 and "has no model yet" in err and err.count("\n") == 1
