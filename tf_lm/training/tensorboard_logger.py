"""TensorBoard for a language-model run: scalars by global step, samples, config, hparams."""

import math
import time

import keras
import numpy as np
import tensorflow as tf
from tensorboard.plugins.hparams import api as hparams_api

from tf_lm.training.step_clock import StepClock


# A sentence VAE's terms, apart: reconstruction and KL per sentence, the KL weight, and the
# latent units in use (a collapse shows as kl and active_units at zero).
VAE_SCALARS = ("reconstruction", "kl", "kl_weight", "active_units")


class TensorBoardLogger(keras.callbacks.Callback):
    """Write a run's TensorBoard logs, and add the derived values to the epoch logs.

    At the end of every Keras epoch (`train.checkpoint_interval` steps) it adds
    `learning_rate`, `tokens_per_second`, `gradient_norm` (the all-reduced gradient's global
    norm at the last step) and, for character models, `bits_per_character` (= loss / ln 2) to the
    logs — so `CSVLogger` records them too — and writes them as scalars against the global
    step: `train/` holds loss, perplexity, bits_per_character, learning_rate,
    tokens_per_second, gradient_norm; `validation/` holds loss, perplexity,
    bits_per_character. At every validation, a generated sample goes to the text dashboard; at
    the start, the resolved config (text) and the hparams plugin's entry for the run.

    Args:
        log_dir: the run's `logs/` directory.
        tokens_per_step: tokens consumed by one step (global batch × block size).
        config: the resolved `Config` (its JSON is logged, its flat values are the hparams).
        per_character: report bits per character (char tokenizer: one token per character).
        sample_fn: optional `() -> str` producing a generated sample.
        clock: the run's `StepClock` (default: Keras epochs of `params["steps"]`).
    """

    def __init__(self, log_dir, tokens_per_step, config, per_character=False, sample_fn=None,
                 clock=None):
        super().__init__()
        self.clock = clock
        self.log_dir = str(log_dir)
        self.tokens_per_step = tokens_per_step
        self.config = config
        self.per_character = per_character
        self.sample_fn = sample_fn
        self._writers = None
        self._wrote_config = False

    def _writer(self, name):
        if self._writers is None:
            self._writers = {n: tf.summary.create_file_writer(f"{self.log_dir}/{n}")
                             for n in ("train", "validation")}
        return self._writers[name]

    def on_epoch_begin(self, epoch, logs=None):
        self._start_step = StepClock.of(self).epoch_start(epoch)
        self._start_time = time.perf_counter()
        self._train_time = None
        if not self._wrote_config:
            self._write_config(self._start_step)

    def _write_config(self, step):
        self._wrote_config = True
        with self._writer("train").as_default(step=step):
            tf.summary.text("config", "```json\n" + self.config.to_json() + "\n```")
            hparams = {k: v for k, v in self.config.to_flat_dict().items()
                       if isinstance(v, (bool, int, float, str))}
            hparams_api.hparams(hparams, trial_id=self.log_dir)

    def on_test_begin(self, logs=None):
        if self.model.stop_training is False and getattr(self, "_start_time", None) is not None:
            self._train_time = time.perf_counter() - self._start_time

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        step = StepClock.of(self).epoch_end(epoch)
        seconds = self._train_time or (time.perf_counter() - self._start_time)
        optimizer = self.model.optimizer
        logs["learning_rate"] = float(np.asarray(optimizer.learning_rate))  # the next step's
        logs["tokens_per_second"] = (step - self._start_step) * self.tokens_per_step / seconds
        norm = getattr(optimizer, "gradient_norm", None)
        if norm is None and hasattr(optimizer, "inner_optimizer"):
            norm = getattr(optimizer.inner_optimizer, "gradient_norm", None)
        if norm is not None:
            logs["gradient_norm"] = float(norm.numpy())
        if self.per_character:
            for prefix in ("", "val_"):
                if f"{prefix}loss" in logs:
                    logs[f"{prefix}bits_per_character"] = float(logs[f"{prefix}loss"]) / math.log(2)
        with self._writer("train").as_default(step=step):
            for key in ("loss", "perplexity", "bits_per_character", "accuracy", "f1",
                        *VAE_SCALARS, "learning_rate", "tokens_per_second", "gradient_norm"):
                if key in logs:
                    tf.summary.scalar(key, float(logs[key]))
        if "val_loss" in logs:
            with self._writer("validation").as_default(step=step):
                for key in ("loss", "perplexity", "bits_per_character", "accuracy", "f1",
                            *VAE_SCALARS):
                    if f"val_{key}" in logs:
                        tf.summary.scalar(key, float(logs[f"val_{key}"]))
                if self.sample_fn is not None:
                    tf.summary.text("sample", "```\n" + self._sample() + "\n```")
        for writer in self._writers.values():
            writer.flush()

    def _sample(self):
        """A sample for the text dashboard; a failure is logged there, never raised."""
        try:
            return self.sample_fn()
        except ValueError as e:  # InputError included
            return f"(no sample: {e})"

    def on_train_end(self, logs=None):
        if self._writers:
            for writer in self._writers.values():
                writer.close()
            self._writers = None
