"""Kill -9 a real `tf-lm train` mid-run, rerun the same command: it resumes from the last
backup and (deterministic mode) ends with the weights of a run that was never interrupted."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from tf_lm.models import load_model

FLAGS = ["--model.num_layers=1", "--model.num_heads=2", "--model.hidden_dim=32",
         "--data.block_size=32", "--train.batch_size=8", "--train.steps=200",
         "--train.eval_interval=40", "--train.checkpoint_interval=20", "--train.eval_steps=2",
         "--train.warmup_steps=10", "--train.sample_tokens=0", "--train.deterministic=true",
         "--train.jit_compile=false", "--quiet", "--no-export"]


def command(text_file, run_dir):
    return [sys.executable, "-m", "tf_lm.cli.main", "train", "--run-dir", str(run_dir),
            f"--data.corpus={text_file}", *FLAGS]


def run_to_end(text_file, run_dir):
    completed = subprocess.run(command(text_file, run_dir), capture_output=True, text=True,
                               timeout=600, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed.stdout


@pytest.mark.slow
def test_kill_minus_9_then_rerun_resumes_and_matches_an_uninterrupted_run(text_file, tmp_path):
    run_dir = tmp_path / "run"
    process = subprocess.Popen(command(text_file, run_dir), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL,
                               env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    deadline = time.time() + 300
    backup = run_dir / "backup"
    while time.time() < deadline and process.poll() is None:
        if backup.exists() and any(p.name.startswith("step-") and not p.name.endswith(".tmp")
                                   for p in backup.iterdir()):
            break
        time.sleep(0.02)
    assert process.poll() is None, "the run ended before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert not (run_dir / "finished.json").exists()
    killed_at = max(int(p.name[5:]) for p in backup.iterdir() if not p.name.endswith(".tmp"))
    assert 20 <= killed_at < 200

    output = run_to_end(text_file, run_dir)
    assert f"resuming {run_dir} from step " in output
    resumed_from = int(output.split("from step ")[1].split()[0])
    assert resumed_from >= killed_at

    reference = tmp_path / "reference"
    run_to_end(text_file, reference)
    resumed, uninterrupted = (load_model(d / "model.keras") for d in (run_dir, reference))
    for a, b in zip(resumed.weights, uninterrupted.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    # The CSV log has one row per interval, the resumed part appended.
    rows = (run_dir / "training_log.csv").read_text().strip().splitlines()
    assert len(rows) >= 1 + 200 // 20
