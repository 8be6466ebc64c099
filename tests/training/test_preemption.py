"""SIGTERM (a scheduler's preemption) backs up the step being trained; the rerun resumes there
and ends with the weights of a run never interrupted. A damaged newest backup falls back to
the one before it."""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

from tf_lm.config import Config
from tf_lm.errors import InputError, Preempted
from tf_lm.models import load_model
from tf_lm.training import train

STEPS = ["train.steps=60", "train.checkpoint_interval=20", "train.eval_interval=20"]
TINY = ["model.num_layers=1", "model.num_heads=2", "model.hidden_dim=16", "data.block_size=16",
        "train.batch_size=4", "train.eval_steps=2", "train.warmup_steps=2",
        "train.sample_tokens=0", "train.jit_compile=false", "train.deterministic=true"]


def config_for(text_file, *overrides):
    return Config.resolve(preset="nanogpt-cpu",
                          overrides=[f"data.corpus={text_file}", *TINY, *STEPS, *overrides])


class SignalAt(keras.callbacks.Callback):
    """Sends this process `signum` at the end of global step `step` (a scheduler's SIGTERM)."""

    def __init__(self, step, signum=signal.SIGTERM):
        super().__init__()
        self.step, self.signum, self._epoch = step, signum, 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self._epoch * self.params["steps"] + batch + 1 == self.step:
            os.kill(os.getpid(), self.signum)


def weights_of(run_dir):
    return [np.asarray(w) for w in load_model(run_dir / "model.keras").weights]


def assert_same_weights(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


@pytest.mark.slow
def test_sigterm_backs_up_the_current_step_and_the_rerun_matches_an_uninterrupted_run(
        text_file, tmp_path):
    # the plateau schedule and early stopping: callbacks whose state the backup carries
    config = config_for(text_file, "train.lr_schedule=plateau",
                        "train.early_stopping_patience=5")
    messages = []
    run_dir = tmp_path / "run"
    with pytest.raises(Preempted) as preempted:
        # signalled after step 27: step 28's end sees it, mid-interval (20 < 28 < 40)
        train(config, str(run_dir), callbacks=[SignalAt(27)], verbose=0, echo=messages.append)
    assert preempted.value.step == 28
    assert "preempted by SIGTERM at step 28" in str(preempted.value)
    assert sorted(p.name for p in (run_dir / "backup").iterdir()) == ["step-20", "step-28"]
    state = json.loads((run_dir / "backup" / "step-28" / "state.json").read_text())
    assert state["step"] == 28
    # the validation at step 20 is the best so far for both
    assert set(state["callbacks"]) == {"plateau", "early_stopping"}
    assert state["callbacks"]["plateau"]["best"] == state["callbacks"]["early_stopping"][
        "best"] == json.loads((run_dir / "checkpoints" / "best.json").read_text())["val_loss"]
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the handler is put back
    assert not (run_dir / "finished.json").exists()
    rows = (run_dir / "training_log.csv").read_text().strip().splitlines()
    assert len(rows) == 2  # header and the one finished interval; the CSV was closed

    resumed = train(config, str(run_dir), verbose=0, echo=messages.append)
    assert resumed.resumed_from_step == 28 and resumed.steps == 60
    assert f"resuming {run_dir} from step 28" in messages
    rows = (run_dir / "training_log.csv").read_text().strip().splitlines()
    assert [row.split(",")[0] for row in rows[1:]] == ["0", "1", "2"]  # every interval once

    train(config, str(tmp_path / "reference"), verbose=0, echo=messages.append)
    assert_same_weights(weights_of(run_dir), weights_of(tmp_path / "reference"))


@pytest.mark.slow
def test_sigterm_at_an_interval_end_validates_and_backs_up_that_interval(text_file, tmp_path):
    config = config_for(text_file)
    with pytest.raises(Preempted) as preempted:
        train(config, str(tmp_path / "run"), callbacks=[SignalAt(39)], verbose=0,
              echo=lambda *a: None)
    assert preempted.value.step == 40
    best = json.loads((tmp_path / "run" / "checkpoints" / "best.json").read_text())
    assert best["step"] in (20, 40)
    rows = (tmp_path / "run" / "training_log.csv").read_text().strip().splitlines()
    assert len(rows) == 3 and "val_loss" in rows[0]  # both intervals logged, validated
    resumed = train(config, str(tmp_path / "run"), verbose=0, echo=lambda *a: None)
    assert resumed.resumed_from_step == 40 and resumed.steps == 60


@pytest.mark.slow
def test_the_cli_exits_75_on_sigterm_and_the_same_command_resumes(text_file, tmp_path):
    run_dir = tmp_path / "run"
    command = [sys.executable, "-m", "tf_lm.cli.main", "train", "--run-dir", str(run_dir),
               f"--data.corpus={text_file}", *(f"--{o}" for o in TINY),
               "--train.steps=160", "--train.checkpoint_interval=20", "--train.eval_interval=80",
               "--quiet", "--no-export"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=env)
    deadline = time.time() + 300
    while time.time() < deadline and process.poll() is None and not (
            run_dir / "backup" / "step-20").exists():
        time.sleep(0.02)
    assert process.poll() is None, "the run ended before it could be signalled"
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 75, stderr[-2000:]
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tf-lm: preempted by SIGTERM at step ")
    step = int(lines[0].split("at step ")[1].split(":")[0])
    assert 20 <= step < 160 and (run_dir / "backup" / f"step-{step}" / "state.json").exists()

    completed = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert f"resuming {run_dir} from step {step}" in completed.stdout
    assert json.loads((run_dir / "finished.json").read_text())["steps"] == 160


def preempted_after(step, text_file, tmp_path):
    """(config, run directory) of a 40-step run preempted at the end of step `step` + 1."""
    config = config_for(text_file, "train.steps=40")
    run_dir = tmp_path / "run"
    with pytest.raises(Preempted):
        train(config, str(run_dir), callbacks=[SignalAt(step)], verbose=0, echo=lambda *a: None)
    return config, run_dir


def test_a_damaged_newest_backup_falls_back_to_the_one_before(text_file, tmp_path):
    config, run_dir = preempted_after(30, text_file, tmp_path)
    newest = run_dir / "backup" / "step-31" / "model.weights.h5"
    data = newest.read_bytes()
    newest.write_bytes(data[: len(data) // 2])  # truncated, as by a crash of the disk
    messages = []
    resumed = train(config, str(run_dir), verbose=0, echo=messages.append)
    assert resumed.resumed_from_step == 20 and resumed.steps == 40
    said = "\n".join(messages)
    assert "step-31/model.weights.h5" in said and "damaged" in said
    assert "resuming from the older backup" in said and "step-20" in said
    damaged = run_dir / "backup" / "step-31.damaged" / "model.weights.h5"
    assert damaged.read_bytes() == data[: len(data) // 2]  # set aside, not deleted


def test_a_damaged_only_backup_is_refused_naming_the_file(text_file, tmp_path):
    config, run_dir = preempted_after(10, text_file, tmp_path)
    state = run_dir / "backup" / "step-11" / "state.json"
    state.write_text("{\"step\": ")  # truncated JSON
    before = sorted(str(p) for p in run_dir.rglob("*"))
    with pytest.raises(InputError, match=r"step-11/state.json.*damaged"):
        train(config, str(run_dir), verbose=0, echo=lambda *a: None)
    assert sorted(str(p) for p in run_dir.rglob("*")) == before  # nothing renamed


def test_a_resume_whose_epochs_validate_differently_keeps_the_logs_columns(text_file, tmp_path):
    # interval 10, validation every 20 steps: the short first epoch of the resumed run does
    # not validate and the next one does; every row must line up with the header
    config = config_for(text_file, "train.steps=40", "train.checkpoint_interval=10")
    run_dir = tmp_path / "run"
    with pytest.raises(Preempted):
        train(config, str(run_dir), callbacks=[SignalAt(4)], verbose=0, echo=lambda *a: None)
    assert not (run_dir / "training_log.csv").exists() or len(
        (run_dir / "training_log.csv").read_text().splitlines()) <= 1
    train(config, str(run_dir), verbose=0, echo=lambda *a: None)
    with open(run_dir / "training_log.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    assert [row[0] for row in body] == ["0", "1", "2", "3"]
    assert all(len(row) == len(header) for row in body)
    val_loss = header.index("val_loss")
    assert [row[val_loss] != "NA" for row in body] == [False, True, False, True]
    float(body[1][val_loss]), float(body[3][val_loss])  # numbers where validated


def test_steps_per_execution_must_divide_the_interval(text_file, tmp_path):
    config = config_for(text_file, "train.steps_per_execution=3")  # interval 20
    with pytest.raises(InputError, match="steps_per_execution=3 must divide"):
        train(config, str(tmp_path / "run"), verbose=0, echo=lambda *a: None)
    assert not (tmp_path / "run").exists()


class FailAt(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        if batch == 2:
            raise RuntimeError("a callback of the caller's failed")


def test_any_error_out_of_fit_puts_the_signal_handler_back(text_file, tmp_path):
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(RuntimeError, match="caller's failed"):
        train(config_for(text_file), str(tmp_path / "run"), callbacks=[FailAt()], verbose=0,
              echo=lambda *a: None)
    assert signal.getsignal(signal.SIGTERM) is before
