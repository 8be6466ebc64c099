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
