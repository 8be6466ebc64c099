import json
import os

import pytest

from tests.cli.conftest import run_cli as _run
from tf_lm.cli.main import main

TINY = ["--model.num_layers=1", "--model.num_heads=2", "--model.hidden_dim=16",
        "--data.block_size=16", "--train.batch_size=4", "--train.steps=4",
        "--train.eval_interval=2", "--train.checkpoint_interval=2", "--train.eval_steps=1",
        "--train.warmup_steps=1", "--train.sample_tokens=20", "--train.jit_compile=false",
        "--quiet", "--no-export"]


def test_train_prints_validation_sample_run_directory_and_export(capsys, text_file, tmp_path):
    run_dir, base = tmp_path / "run", tmp_path / "export"
    code, out, err = _run(capsys, "train", "--run-dir", str(run_dir),
                          f"--data.corpus={text_file}", f"--export.base={base}", *TINY[:-1])
    assert code == 0, err
    assert f"exported for TF Serving: {base}/tf_lm/1 (see export/README.md)" in out
    assert (base / "tf_lm" / "1" / "saved_model.pb").exists()
    # 33 characters x 16 + 16 x 16 positions + one block (3,104) + final norm (16)
    assert ("training 3,904 of 3,904 parameters for 4 steps (2 epochs of 2 steps) on 1 "
            "replica(s)") in out
    assert "bits per character (every validation token once, windows of 16)" in out
    assert "sample:\n" in out
    assert f"run directory: {run_dir} (tensorboard --logdir {run_dir}/logs)" in out
    code, out, _ = _run(capsys, "train", "--run-dir", str(run_dir), f"--data.corpus={text_file}",
                        f"--export.base={base}", *TINY[:-1])
    assert code == 0 and "already holds a finished run (step 4" in out
    assert sorted(os.listdir(base / "tf_lm")) == ["1"]  # a finished run is not exported again


def test_a_different_config_is_one_line_and_exit_2(capsys, text_file, tmp_path):
    run_dir = tmp_path / "run"
    assert _run(capsys, "train", "--run-dir", str(run_dir), f"--data.corpus={text_file}",
                *TINY)[0] == 0
    code, _, err = _run(capsys, "train", "--run-dir", str(run_dir),
                        f"--data.corpus={text_file}", *TINY, "--train.steps=6")
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("tf-lm: error: Run directory")
    assert "train.steps: 4 -> 6" in err


@pytest.mark.parametrize("flag,message", [
    ("--train.strategy=gpu", "train.strategy"),
    ("--train.batch_size=0", "train.batch_size"),
    ("--train.lr_schedule=linear", "train.lr_schedule"),
    ("--train.batch_slices=5", "batch_slices=5, batch per replica=12"),
    ("--data.corpus=no/such/corpus.txt", "no/such/corpus.txt"),
])
def test_bad_training_flags_are_one_line_and_exit_2(capsys, tmp_path, flag, message):
    code, out, err = _run(capsys, "train", "--run-dir", str(tmp_path / "run"), flag)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err and err.startswith("tf-lm: error:")
    assert not (tmp_path / "run").exists()


def tree(root):
    """{relative path: bytes or None for a directory} of everything under `root`."""
    return {str(p.relative_to(root)): None if p.is_dir() else p.read_bytes()
            for p in sorted(root.rglob("*"))}


def test_a_start_refused_after_the_run_directory_is_made_leaves_no_trace(capsys, text_file,
                                                                         tmp_path):
    tiny = tmp_path / "tiny.txt"
    tiny.write_text("hello world\n", encoding="utf-8")
    run_dir = tmp_path / "run"
    code, _, err = _run(capsys, "train", "--run-dir", str(run_dir), f"--data.corpus={tiny}",
                        *TINY)
    assert code == 2 and err.count("\n") == 1
    assert f"Split 'train' of {tiny} has" in err and "shorter than one window" in err
    assert not run_dir.exists()  # the tokenizer and config.json made on the way are gone
    assert _run(capsys, "train", "--run-dir", str(run_dir), f"--data.corpus={text_file}",
                *TINY)[0] == 0  # the corrected command is not "a run with a different config"

    before = tree(tmp_path)
    code, _, err = _run(capsys, "train", "--run-dir", str(run_dir), f"--data.corpus={tiny}",
                        *TINY, "--overwrite")  # the old run moved aside, then the refusal
    assert code == 2 and "shorter than one window" in err
    assert tree(tmp_path) == before  # moved back, byte for byte

    for weights in (run_dir / "backup").glob("step-*/model.weights.h5"):
        weights.write_bytes(weights.read_bytes()[:100])  # extending the run is refused late
    before = tree(tmp_path)
    code, _, err = _run(capsys, "train", "--run-dir", str(run_dir), f"--data.corpus={text_file}",
                        *TINY, "--train.steps=6", "--resume")
    assert code == 2 and err.count("\n") == 1 and "model.weights.h5" in err
    assert tree(tmp_path) == before  # config.json and finished.json put back


def test_help_lists_the_training_keys(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--help"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0
    for key in ("--train.strategy", "--train.checkpoint_interval", "--model.architecture",
                "--resume", "--overwrite", "--run-dir"):
        assert key in out


def test_profile_steps_leave_a_tensorboard_profile_in_the_run_logs(run_dir):
    traces = list((run_dir / "logs" / "plugins" / "profile").glob("*/*.xplane.pb"))
    assert len(traces) == 1 and traces[0].stat().st_size > 0
    config = json.loads((run_dir / "config.json").read_text())
    assert config["train"]["profile_steps"] == 1
