"""MultiWorkerMirroredStrategy with Keras 3 `fit`: two real worker processes on localhost."""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

from tf_lm.config import Config
from tf_lm.training import multi_worker_fix

SCRIPT = os.path.join(os.path.dirname(__file__), "scripts", "train_and_dump.py")
OVERRIDES = ["model.num_layers=1", "model.num_heads=2", "model.hidden_dim=16",
             "data.block_size=16", "train.batch_size=8", "train.steps=6",
             "train.eval_interval=3", "train.checkpoint_interval=3", "train.eval_steps=2",
             "train.warmup_steps=2", "train.sample_tokens=0", "train.jit_compile=false",
             "train.clip_norm=0.5"]


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def finish(workers, timeout=600):
    """[(exit code, stdout, stderr)] of every worker; all are killed if one hangs."""
    results = []
    for worker in workers:
        try:
            out, err = worker.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            for w in workers:
                w.kill()
            pytest.fail("a worker hung")
        results.append((worker.returncode, out, err))
    return results


def test_this_keras_needs_both_fixes_and_applying_them_is_idempotent():
    from keras.src.backend.tensorflow import trainer

    # keras 3.15.1 still has both bugs; when upstream fixes one, `needed()` stops naming it
    # and `apply()` leaves that function alone.
    assert multi_worker_fix.apply() == {"symbolic_build", "reduce"}
    patched = (trainer.TensorFlowTrainer._maybe_symbolic_build, trainer.reduce_per_replica)
    assert multi_worker_fix.needed() == set()  # the patched functions no longer have the bug
    assert multi_worker_fix.apply() == {"symbolic_build", "reduce"}
    assert (trainer.TensorFlowTrainer._maybe_symbolic_build,
            trainer.reduce_per_replica) == patched  # not wrapped twice


def test_two_workers_match_one_process_over_the_same_global_batches(tmp_path, text_file):
    config = Config.resolve(overrides=[f"data.corpus={text_file}", *OVERRIDES])
    single_path, multi_path = tmp_path / "single.json", tmp_path / "multi.json"
    config.save(single_path)
    Config.resolve(overrides=[f"data.corpus={text_file}", *OVERRIDES,
                              "train.strategy=multi_worker"]).save(multi_path)
    ports = free_ports(2)
    cluster = {"worker": [f"localhost:{port}" for port in ports]}
    workers = []
    for index in range(2):
        scratch = tmp_path / f"tmp{index}"
        scratch.mkdir()
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "TMPDIR": str(scratch),
               "TF_CONFIG": json.dumps({"cluster": cluster,
                                        "task": {"type": "worker", "index": index}})}
        workers.append(subprocess.Popen(
            [sys.executable, SCRIPT, str(multi_path), str(tmp_path / "run"),
             str(tmp_path / f"worker{index}.npz")],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    single = subprocess.run(
        [sys.executable, SCRIPT, str(single_path), str(tmp_path / "single"),
         str(tmp_path / "single.npz")], capture_output=True, text=True, timeout=600,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    outputs = []
    for code, out, err in finish(workers):
        assert code == 0, err[-3000:]
        outputs.append(json.loads(out.strip().splitlines()[-1]))
    assert single.returncode == 0, single.stderr[-3000:]
    assert [o["steps"] for o in outputs] == [6, 6]

    def load(name):
        with np.load(tmp_path / name) as weights:
            return [weights[f"w{i}"] for i in range(len(weights.files))]

    worker0, worker1, alone = load("worker0.npz"), load("worker1.npz"), load("single.npz")
    for a, b, c in zip(worker0, worker1, alone):
        np.testing.assert_array_equal(a, b)  # all-reduce keeps the workers identical
        np.testing.assert_allclose(a, c, atol=1e-5, rtol=1e-5)
    # Only the chief (worker 0) wrote the run directory; worker 1's scratch is gone.
    run_dir = tmp_path / "run"
    assert (run_dir / "finished.json").exists() and (run_dir / "checkpoints").exists()
    assert list((tmp_path / "tmp1").iterdir()) == []


@pytest.mark.parametrize("value,message", [
    ("{not json", "TF_CONFIG is not valid JSON"),
    ('{"cluster": {}}', "non-empty 'cluster' and a 'task'"),
    ('{"cluster": {"worker": ["localhost:1"]}, "task": {"type": "worker", "index": 3}}',
     "index 3 is not in the cluster"),
    ('{"cluster": {"worker": ["localhost"]}, "task": {"type": "worker", "index": 0}}',
     "'host:port'"),
])
def test_malformed_tf_config_is_refused(monkeypatch, value, message):
    from tf_lm.errors import InputError
    from tf_lm.training.strategy import resolve_strategy

    monkeypatch.setenv("TF_CONFIG", value)
    with pytest.raises(InputError, match=message):
        resolve_strategy("auto")


def test_multi_worker_without_tf_config_is_refused(monkeypatch):
    from tf_lm.errors import InputError
    from tf_lm.training.strategy import resolve_strategy

    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(InputError, match="needs TF_CONFIG"):
        resolve_strategy("multi_worker")


def test_importing_tf_lm_does_not_start_the_tensorflow_runtime():
    # A MultiWorkerMirroredStrategy must configure collectives before the runtime starts.
    code = ("import tensorflow as tf, tf_lm.training, tf_lm.tokenizers, tf_lm.models\n"
            "from tensorflow.python.eager import context\n"
            "print(context.context()._context_handle is None)")
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                               timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert completed.stdout.strip().splitlines()[-1] == "True", completed.stderr[-2000:]
