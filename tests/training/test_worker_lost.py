"""Two `tf-lm train` workers under MultiWorkerMirroredStrategy on localhost ports. SIGTERM one:
both stop at the same step with a backup of it (exit 75). SIGKILL one, then the chief: the
other exits within a bounded time naming the lost task (exit 75). Each time the same two
commands resume, and the run ends with the weights of an uninterrupted two-worker run
(deterministic mode)."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from tests.training.test_multi_worker import finish, free_ports
from tf_lm.models import load_model

FLAGS = ["--model.num_layers=1", "--model.num_heads=2", "--model.hidden_dim=16",
         "--data.block_size=16", "--train.batch_size=8", "--train.steps=120",
         "--train.checkpoint_interval=10", "--train.eval_interval=60", "--train.eval_steps=2",
         "--train.warmup_steps=5", "--train.sample_tokens=0", "--train.jit_compile=false",
         "--train.deterministic=true", "--train.strategy=multi_worker", "--quiet",
         "--no-export"]
SURVIVOR_DEADLINE = 120  # seconds: TF's heartbeat timeout is 10 s by default


def start_workers(text_file, run_dir, tmp_path):
    cluster = {"worker": [f"localhost:{port}" for port in free_ports(2)]}
    workers = []
    for index in range(2):
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2",
               "TF_CONFIG": json.dumps({"cluster": cluster,
                                        "task": {"type": "worker", "index": index}})}
        workers.append(subprocess.Popen(
            [sys.executable, "-m", "tf_lm.cli.main", "train", "--run-dir", str(run_dir),
             f"--data.corpus={text_file}", *FLAGS],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    return workers


def wait_for_backup(workers, run_dir, step):
    deadline = time.time() + 300
    while not (run_dir / "backup" / f"step-{step}").exists():
        assert time.time() < deadline and all(w.poll() is None for w in workers), \
            [w.communicate()[1][-2000:] for w in workers if w.poll() is not None]
        time.sleep(0.02)


def kill_after_backup(workers, run_dir, step, victim):
    """SIGKILL worker `victim` once the chief's backup of `step` exists; returns the
    survivor's (exit code, stderr, seconds from the kill to its exit)."""
    wait_for_backup(workers, run_dir, step)
    os.kill(workers[victim].pid, signal.SIGKILL)
    killed = time.time()
    survivor = workers[1 - victim]
    try:
        _, err = survivor.communicate(timeout=SURVIVOR_DEADLINE)
    except subprocess.TimeoutExpired:
        survivor.kill()
        pytest.fail(f"the surviving worker still waits {SURVIVOR_DEADLINE} s after its peer died")
    workers[victim].wait()
    return survivor.returncode, err, time.time() - killed


@pytest.mark.slow
def test_preempted_a_lost_worker_a_lost_chief_and_still_an_uninterrupted_runs_weights(
        text_file, tmp_path):
    run_dir = tmp_path / "run"
    workers = start_workers(text_file, run_dir, tmp_path)
    wait_for_backup(workers, run_dir, 20)
    workers[1].send_signal(signal.SIGTERM)
    (code0, _, err0), (code1, _, err1) = finish(workers)
    assert (code0, code1) == (75, 75), err0[-2000:] + err1[-2000:]
    last0, last1 = err0.strip().splitlines()[-1], err1.strip().splitlines()[-1]
    assert last1.startswith("tf-lm: preempted by SIGTERM at step "), last1
    step = int(last1.split("at step ")[1].split(":")[0])
    assert last0.startswith(f"tf-lm: preempted by a SIGTERM to another worker at step {step}:")
    assert 20 <= step < 120 and (run_dir / "backup" / f"step-{step}" / "state.json").exists()

    first = (step // 10 + 2) * 10  # interval backups the resumed runs will write
    assert first + 30 < 120, "the SIGTERM took too long to act"
    for victim, name, after in ((1, "/job:worker/replica:0/task:1", first),
                                (0, "/job:worker/replica:0/task:0", first + 30)):
        workers = start_workers(text_file, run_dir, tmp_path)
        code, err, seconds = kill_after_backup(workers, run_dir, after, victim)
        last = err.strip().splitlines()[-1]
        assert code == 75, err[-3000:]
        assert last.startswith(f"tf-lm: lost {name} of this multi-worker run"), last
        assert "start every worker again with the same command" in last
        assert seconds < SURVIVOR_DEADLINE
        assert not (run_dir / "finished.json").exists()

    results = finish(start_workers(text_file, run_dir, tmp_path))
    for code, out, err in results:
        assert code == 0, err[-3000:]
    assert "resuming" in results[0][1] and "from step " in results[0][1]
    assert json.loads((run_dir / "finished.json").read_text())["steps"] == 120

    reference = tmp_path / "reference"
    for code, _, err in finish(start_workers(text_file, reference, tmp_path)):
        assert code == 0, err[-3000:]
    resumed, uninterrupted = (load_model(d / "model.keras") for d in (run_dir, reference))
    for a, b in zip(resumed.weights, uninterrupted.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
