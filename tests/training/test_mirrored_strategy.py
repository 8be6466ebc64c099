"""MirroredStrategy on 2 logical CPU devices ends where one device ends (same global batch)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tf_lm.config import Config

SCRIPT = os.path.join(os.path.dirname(__file__), "scripts", "train_and_dump.py")
BASE = ["data.block_size=16", "train.batch_size=8", "train.steps=6", "train.eval_interval=3",
        "train.checkpoint_interval=3", "train.eval_steps=2", "train.warmup_steps=2",
        "train.sample_tokens=0", "train.jit_compile=false", "train.clip_norm=0.5"]
MODELS = {
    # An Embedding and an LSTM.
    "lstm": ["model.architecture=lstm", "model.num_layers=1", "model.hidden_dim=16",
             "model.embedding_dim=8", "model.tie_embeddings=false", "train.optimizer=adam"],
    # A Transformer.
    "gpt": ["model.num_layers=2", "model.num_heads=2", "model.hidden_dim=16"],
    # The same, its layer groups at their own rates, joining at steps 0, 1 and 2.
    "gpt-layer-groups": ["model.num_layers=2", "model.num_heads=2", "model.hidden_dim=16",
                         "train.layer_lr_decay=0.5", "train.unfreeze_epochs=0.001"],
}


def train_in_subprocess(tmp_path, name, overrides, *flags):
    config = Config.resolve(overrides=overrides)
    config_path = tmp_path / f"{name}.json"
    config.save(config_path)
    out = tmp_path / f"{name}.npz"
    completed = subprocess.run(
        [sys.executable, SCRIPT, str(config_path), str(tmp_path / name), str(out), *flags],
        capture_output=True, text=True, timeout=600,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert completed.returncode == 0, completed.stderr[-3000:]
    summary = json.loads(completed.stdout.strip().splitlines()[-1])
    with np.load(out) as weights:
        return summary, [weights[f"w{i}"] for i in range(len(weights.files))]


@pytest.mark.parametrize("model", sorted(MODELS))
def test_two_replicas_end_with_the_weights_of_one_device(tmp_path, text_file, model):
    overrides = [f"data.corpus={text_file}", *BASE, *MODELS[model]]
    one, one_weights = train_in_subprocess(tmp_path, "one", overrides + [
        "train.strategy=default"])
    two, two_weights = train_in_subprocess(tmp_path, "two", overrides + [
        "train.strategy=mirrored"], "--logical-cpus", "2")
    assert one["steps"] == two["steps"] == 6
    assert len(one_weights) == len(two_weights)
    for a, b in zip(one_weights, two_weights):
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-5)
    assert two["val_loss"] == pytest.approx(one["val_loss"], abs=1e-4)


def test_a_global_batch_that_does_not_split_over_replicas_is_refused(tmp_path, text_file):
    config = Config.resolve(overrides=[f"data.corpus={text_file}", *BASE, *MODELS["gpt"],
                                       "train.strategy=mirrored", "train.batch_size=7"])
    config_path = tmp_path / "odd.json"
    config.save(config_path)
    completed = subprocess.run(
        [sys.executable, SCRIPT, str(config_path), str(tmp_path / "odd"),
         str(tmp_path / "odd.npz"), "--logical-cpus", "2"],
        capture_output=True, text=True, timeout=300)
    assert completed.returncode != 0
    assert "train.batch_size=7 must be divisible by the 2 replicas" in completed.stderr
