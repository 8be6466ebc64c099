"""Resumable backups: model weights, optimizer state and position, every Keras epoch."""

import json
import os

import keras

from tf_lm.run_dir.checkpoint_files import latest_backups, load_weights_or_refuse
from tf_lm.models.lora_adapters import ADAPTERS_FILE, adapted_layers, load_adapters, save_adapters
from tf_lm.utils import atomic


class Backup(keras.callbacks.Callback):
    """Save everything needed to resume at the end of every Keras epoch, atomically.

    Keras' `BackupAndRestore` resumes at the start of the interrupted epoch, with the weights of
    its last save, which may be from the middle of that epoch: the run that resumes is not the
    run that was interrupted. Here a Keras epoch is `train.checkpoint_interval` steps and a
    backup is taken exactly at its end, so resuming restarts at a step boundary with the weights,
    optimizer state (moments, step counter) and data position of that step.

    Each backup is written to `step-N.tmp/` and renamed to `step-N/` once complete (a crash or a
    full disk leaves the previous backup valid); older backups are then removed.

    Args:
        directory: the backup directory (the run's `backup/`).
        keep: how many backups to keep.
    """

    def __init__(self, directory, keep=1):
        super().__init__()
        self.directory = str(directory)
        self.keep = keep

    def on_epoch_end(self, epoch, logs=None):
        step = (epoch + 1) * self.params["steps"]  # a Keras epoch is a checkpoint interval
        os.makedirs(self.directory, exist_ok=True)
        final = os.path.join(self.directory, f"step-{step}")
        tmp = final + ".tmp"
        atomic.remove_quietly(tmp)
        try:
            os.makedirs(tmp)
            self.model.save_weights(os.path.join(tmp, "model.weights.h5"))
            if adapted_layers(self.model):  # Keras saves adapted kernels merged, adapters zeroed
                save_adapters(self.model, os.path.join(tmp, ADAPTERS_FILE))
            atomic.write_json(os.path.join(tmp, "state.json"), {"step": step, "epoch": epoch + 1})
            atomic.remove_quietly(final)
            os.rename(tmp, final)  # complete, then visible
        except BaseException:
            atomic.remove_quietly(tmp)
            raise
        for old_step, path in latest_backups(self.directory)[self.keep:]:
            atomic.remove_quietly(path)


def restore_backup(model, directory):
    """Load the newest backup into a built, compiled `model`; returns its state dict or None."""
    backups = latest_backups(directory)
    if not backups:
        return None
    _, path = backups[0]
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    load_weights_or_refuse(model, os.path.join(path, "model.weights.h5"))
    adapters = os.path.join(path, ADAPTERS_FILE)
    if os.path.exists(adapters):
        load_adapters(model, adapters, merged=True)
    with open(os.path.join(path, "state.json"), encoding="utf-8") as handle:
        return json.load(handle)
