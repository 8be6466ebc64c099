import csv
import json
import os

import numpy as np
import pytest
from tensorboard.backend.event_processing import event_accumulator

from tf_lm.config import Config
from tf_lm.errors import InputError, TrainingError
from tf_lm.models import load_model
from tf_lm.training import train
from tf_lm.training.session import checkpoint_interval

TINY = ["model.num_layers=1", "model.num_heads=2", "model.hidden_dim=16",
        "data.block_size=16", "train.batch_size=4", "train.steps=6", "train.eval_interval=3",
        "train.checkpoint_interval=3", "train.eval_steps=2", "train.warmup_steps=2",
        "train.sample_tokens=10", "train.jit_compile=false"]


def tiny_config(text_file, *overrides, preset="nanogpt-cpu"):
    return Config.resolve(preset=preset, overrides=[f"data.corpus={text_file}", *TINY,
                                                    *overrides])


def quiet(*args, **kwargs):
    pass


def run(config, run_dir, **kwargs):
    return train(config, str(run_dir), verbose=0, echo=quiet, **kwargs)


def tags(log_dir):
    accumulator = event_accumulator.EventAccumulator(str(log_dir), size_guidance={"tensors": 0})
    accumulator.Reload()
    return accumulator


def test_a_run_fills_its_directory_and_tensorboard(text_file, tmp_path):
    config = tiny_config(text_file)
    result = run(config, tmp_path / "run")
    assert result.status == "finished" and result.steps == 6
    assert np.isfinite(result.val_loss) and result.val_perplexity == pytest.approx(
        np.exp(result.val_loss))
    assert result.val_bits_per_character == pytest.approx(result.val_loss / np.log(2))
    assert len(result.sample) > 0
    run_dir = tmp_path / "run"
    assert Config.from_file(run_dir / "config.json") == config
    assert (run_dir / "tokenizer" / "tokenizer.json").exists()
    assert json.loads((run_dir / "checkpoints" / "best.json").read_text())["step"] in (3, 6)
    # the last two kept: the newest to extend the run, the one before if it is damaged
    assert sorted(p.name for p in (run_dir / "backup").iterdir()) == ["step-3", "step-6"]
    finished = json.loads((run_dir / "finished.json").read_text())
    assert finished["steps"] == 6 and finished["val_loss"] == pytest.approx(result.val_loss)
    reloaded = load_model(run_dir / "model.keras")
    ids = np.zeros((1, 5), "int32")
    np.testing.assert_allclose(np.asarray(reloaded(ids)), np.asarray(result.model(ids)),
                               atol=1e-6)
    with open(run_dir / "training_log.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2
    assert {"loss", "val_loss", "learning_rate", "tokens_per_second", "gradient_norm",
            "bits_per_character"} <= set(rows[0])

    train_log = tags(run_dir / "logs" / "train")
    assert {"loss", "perplexity", "bits_per_character", "learning_rate", "tokens_per_second",
            "gradient_norm", "config"} <= set(train_log.Tags()["tensors"])
    steps = [event.step for event in train_log.Tensors("loss")]
    assert steps == [3, 6]  # against the global step
    assert list(train_log.PluginTagToContent("hparams")) == ["_hparams_/session_start_info"]
    validation = tags(run_dir / "logs" / "validation")
    assert {"loss", "perplexity", "bits_per_character", "sample"} <= set(
        validation.Tags()["tensors"])
    sample = validation.Tensors("sample")[0].tensor_proto.string_val[0].decode()
    assert sample.startswith("```")


def test_rerunning_a_finished_run_changes_nothing(text_file, tmp_path):
    config = tiny_config(text_file, "train.sample_tokens=0")
    run(config, tmp_path / "run")
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "run").rglob("*")}
    again = run(config, tmp_path / "run")
    assert again.status == "already_finished" and again.steps == 6
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "run").rglob("*")} == before


def test_a_different_config_is_refused_unless_resume_or_overwrite(text_file, tmp_path):
    config = tiny_config(text_file, "train.sample_tokens=0")
    run(config, tmp_path / "run")
    longer = tiny_config(text_file, "train.sample_tokens=0", "train.steps=9")
    with pytest.raises(InputError, match=r"different config \(train.steps: 6 -> 9\).*--resume"):
        run(longer, tmp_path / "run")
    resumed = run(longer, tmp_path / "run", resume=True)
    assert resumed.steps == 9 and resumed.resumed_from_step == 6  # extends the finished run
    assert (tmp_path / "run" / "config.previous.json").exists()
    fresh = run(longer, tmp_path / "run", overwrite=True)
    assert fresh.steps == 9 and fresh.resumed_from_step == 0
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("run.old-")]
    assert len(aside) == 1 and (aside[0] / "finished.json").exists()


def test_resume_refuses_model_changes(text_file, tmp_path):
    config = tiny_config(text_file, "train.sample_tokens=0")
    run(config, tmp_path / "run")
    wider = tiny_config(text_file, "train.sample_tokens=0", "model.hidden_dim=32")
    with pytest.raises(InputError, match="cannot change model.hidden_dim"):
        run(wider, tmp_path / "run", resume=True)
    assert Config.from_file(tmp_path / "run" / "config.json") == config  # untouched


def test_a_word_model_trains_samples_and_evaluates_with_carried_state(wikitext_dir, tmp_path):
    config = tiny_config(wikitext_dir, "data.tokenizer=word", "model.architecture=lstm",
                         "model.tie_embeddings=false", "data.block_size=4")
    result = run(config, tmp_path / "run")
    assert result.status == "finished" and np.isfinite(result.val_loss)
    from tf_lm.evaluation import evaluate_tokens
    from tf_lm.run_dir import RunDirectory

    _, tokenizer, model = RunDirectory(tmp_path / "run").load()
    from tf_lm.data.corpus import Corpus
    from tf_lm.data.pipeline import tokenize_split

    tokens = tokenize_split(Corpus.from_config(config.data), "valid", tokenizer)
    assert evaluate_tokens(model, tokens, 4)["loss"] == pytest.approx(result.val_loss, rel=1e-5)


def test_a_directory_that_is_not_a_run_is_refused(text_file, tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(InputError, match="not a tf-lm run directory"):
        run(tiny_config(text_file), tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_an_unwritable_run_directory_is_refused(text_file, tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="not writable"):
        run(tiny_config(text_file), tmp_path / "file" / "run")


def test_a_non_finite_loss_stops_with_the_step_and_checkpoint(text_file, tmp_path):
    config = tiny_config(text_file, "train.optimizer=sgd", "train.lr_schedule=constant",
                         "train.learning_rate=1e30", "train.clip_norm=null",
                         "train.steps=30", "train.eval_interval=3", "train.sample_tokens=0")
    with pytest.raises(TrainingError, match=r"loss became (nan|inf) at step \d+") as error:
        run(config, tmp_path / "run")
    assert not (tmp_path / "run" / "finished.json").exists()
    failed = int(str(error.value).split(" at step ")[1].split(";")[0])
    # no backup of the weights that produced it: resuming starts from finite weights
    backups = [int(p.name[5:]) for p in (tmp_path / "run" / "backup").glob("step-*")]
    assert all(step < failed for step in backups), (backups, failed)


def test_deterministic_runs_are_identical(text_file, tmp_path):
    config = tiny_config(text_file, "train.deterministic=true", "model.dropout=0.1",
                         "train.sample_tokens=0")
    first = run(config, tmp_path / "a").model.get_weights()
    second = run(config, tmp_path / "b").model.get_weights()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


def test_stateful_recurrent_training_on_contiguous_batches(text_file, tmp_path):
    config = tiny_config(text_file, "model.architecture=lstm", "model.num_layers=2",
                         "model.tie_embeddings=false", "data.sampler=contiguous",
                         "train.optimizer=sgd", "train.learning_rate=1.0",
                         "train.lr_schedule=epoch_decay", "train.epochs=2",
                         "train.decay_start_epoch=2", "train.clip_norm=5.0")
    result = run(config, tmp_path / "run")
    model = result.model
    assert model.backbone.stateful and result.status == "finished"
    assert np.isfinite(result.val_loss) and len(result.sample) > 0
    reloaded = load_model(tmp_path / "run" / "model.keras")
    assert not reloaded.backbone.stateful  # saved without the training states


def test_mixed_bfloat16_and_gradient_accumulation(text_file, tmp_path):
    config = tiny_config(text_file, "train.mixed_precision=mixed_bfloat16",
                         "train.gradient_accumulation_steps=2", "train.sample_tokens=0")
    result = run(config, tmp_path / "run")
    assert result.model.dtype_policy.name == "mixed_bfloat16"
    assert result.steps == 6 and result.status == "finished"
    assert int(result.model.optimizer.iterations.numpy()) == 3  # Keras counts updates
    assert np.isfinite(result.val_loss)


def test_without_a_validation_split_training_still_finishes(text_file, tmp_path):
    config = tiny_config(text_file, "data.valid_fraction=0", "train.sample_tokens=0")
    result = run(config, tmp_path / "run")
    assert result.status == "finished" and np.isnan(result.val_loss)
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_checkpoint_interval_divides_the_steps():
    assert checkpoint_interval(2000, 125) == 125
    assert checkpoint_interval(6, 4) == 3
    assert checkpoint_interval(7, 100) == 7
    assert checkpoint_interval(2001, 125) == 87


def test_best_checkpoint_survives_a_failed_save(text_file, tmp_path, monkeypatch):
    from tf_lm.training.best_checkpoint import BestCheckpoint

    config = tiny_config(text_file, "train.sample_tokens=0")
    model = run(config, tmp_path / "run").model
    directory = tmp_path / "run" / "checkpoints"
    good = (directory / "best.weights.h5").read_bytes()
    record = json.loads((directory / "best.json").read_text())
    callback = BestCheckpoint(directory)
    callback.set_model(model)
    callback.set_params({"steps": 3})

    def disk_full(path, overwrite=True):
        with open(path, "wb") as handle:
            handle.write(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(model, "save_weights", disk_full)
    with pytest.raises(OSError, match="No space left"):
        callback.on_epoch_end(0, {"val_loss": record["val_loss"] - 1.0})
    assert (directory / "best.weights.h5").read_bytes() == good
    assert json.loads((directory / "best.json").read_text()) == record
    assert sorted(os.listdir(directory)) == ["best.json", "best.weights.h5"]


def test_best_checkpoint_can_follow_a_classifiers_accuracy(tmp_path):
    from tf_lm.models import CausalLM, GPTBackbone
    from tf_lm.training.best_checkpoint import BestCheckpoint, describe_best, read_best

    model = CausalLM(GPTBackbone(5, 1, 1, 4, sequence_length=4))
    model(np.zeros((1, 4), "int32"))
    callback = BestCheckpoint(tmp_path, monitor="val_accuracy")
    callback.set_model(model)
    callback.set_params({"steps": 10})
    for epoch, logs in enumerate([{"val_loss": 0.5, "val_accuracy": 0.70},
                                  {"val_loss": 0.6, "val_accuracy": 0.75},  # loss up, acc up
                                  {"val_loss": 0.4, "val_accuracy": 0.72}]):
        callback.on_epoch_end(epoch, logs)
    best = read_best(tmp_path)
    assert best == {"step": 20, "val_loss": 0.6, "monitor": "val_accuracy",
                    "val_accuracy": 0.75}
    assert describe_best(best) == "step 20, val_loss 0.6000, val_accuracy 0.7500"
    resumed = BestCheckpoint(tmp_path, monitor="val_accuracy")  # starts from the record
    resumed.set_model(model)
    resumed.set_params({"steps": 10})
    resumed.on_epoch_end(3, {"val_loss": 0.3, "val_accuracy": 0.74})
    assert read_best(tmp_path)["step"] == 20


def test_early_stopping_counts_only_epochs_with_a_validation():
    from tf_lm.models import CausalLM, GPTBackbone
    from tf_lm.training.session import _ValidationEarlyStopping

    model = CausalLM(GPTBackbone(5, 1, 1, 4, sequence_length=4))
    model.stop_training = False  # what `fit` sets before the callbacks run
    callback = _ValidationEarlyStopping(monitor="val_loss", patience=2)
    callback.set_model(model)
    callback.on_train_begin()
    for epoch, logs in enumerate([{"loss": 3.0, "val_loss": 2.0}, {"loss": 2.9},
                                  {"loss": 2.8, "val_loss": 2.1}, {"loss": 2.7},
                                  {"loss": 2.6}]):
        callback.on_epoch_end(epoch, logs)
    assert not model.stop_training  # one validation without improvement so far
    callback.on_epoch_end(5, {"loss": 2.5, "val_loss": 2.05})
    assert model.stop_training


def test_a_stateful_run_validates_with_the_state_carried_as_evaluate_does(text_file, tmp_path):
    """The logged val_loss, the best checkpoint's and `tf-lm evaluate`'s are one measure."""
    config = tiny_config(text_file, "model.architecture=lstm", "model.tie_embeddings=false",
                         "data.sampler=contiguous", "train.optimizer=sgd",
                         "train.learning_rate=1.0", "train.lr_schedule=constant",
                         "train.epochs=2", "train.eval_interval=0", "train.sample_tokens=0")
    result = run(config, tmp_path / "run")
    with open(tmp_path / "run" / "training_log.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2  # one Keras epoch, one validation per pass over the data
    assert float(rows[-1]["val_loss"]) == pytest.approx(result.val_loss, rel=1e-5)
    best = json.loads((tmp_path / "run" / "checkpoints" / "best.json").read_text())
    assert best["val_loss"] == pytest.approx(min(float(r["val_loss"]) for r in rows), rel=1e-6)
    events = tags(tmp_path / "run" / "logs" / "validation")
    assert len(events.Tensors("loss")) == 2


def test_the_plateau_schedule_cuts_the_rate_after_a_validation_that_does_not_improve(
        text_file, tmp_path):
    # A rate so high the loss cannot keep improving: every non-improving epoch divides it by 4.
    config = tiny_config(text_file, "train.optimizer=sgd", "train.learning_rate=50.0",
                         "train.lr_schedule=plateau", "train.decay_factor=0.25",
                         "train.clip_norm=null", "train.epochs=4", "train.eval_interval=0",
                         "train.sample_tokens=0", "train.eval_steps=4")
    run(config, tmp_path / "run")
    with open(tmp_path / "run" / "training_log.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    losses = [float(r["val_loss"]) for r in rows]
    rates = [float(r["learning_rate"]) for r in rows]  # the rate after each epoch's end
    expected, best = [], float("inf")
    rate = 50.0
    for loss in losses:
        if loss < best:
            best = loss
        else:
            rate *= 0.25
        expected.append(rate)
    assert rates == pytest.approx(expected, rel=1e-6)
    assert any(r < 50.0 for r in rates), (losses, rates)  # a cut happened


def test_validating_every_epoch_needs_epochs(text_file):
    with pytest.raises(InputError, match="'train.eval_interval' may be 0"):
        tiny_config(text_file, "train.eval_interval=0")
