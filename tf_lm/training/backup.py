"""Resumable backups: model weights, optimizer state and position, every Keras epoch."""

import json
import os
import re

import keras

from tf_lm.errors import InputError
from tf_lm.training import atomic

_DIRECTORY = re.compile(r"^step-(\d+)$")


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
            atomic.write_json(os.path.join(tmp, "state.json"), {"step": step, "epoch": epoch + 1})
            atomic.remove_quietly(final)
            os.rename(tmp, final)  # complete, then visible
        except BaseException:
            atomic.remove_quietly(tmp)
            raise
        for old_step, path in latest_backups(self.directory)[self.keep:]:
            atomic.remove_quietly(path)


def load_weights_or_refuse(model, path):
    """`model.load_weights(path)`, with a mismatch or a damaged file as one clear error."""
    try:
        model.load_weights(path)
    except (ValueError, OSError, KeyError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise InputError(f"Cannot load {path} into this model ({first}); the file is damaged "
                         "or was written for another model configuration.") from None


def latest_backups(directory):
    """[(step, path)] of complete backups in `directory`, newest first."""
    if not os.path.isdir(directory):
        return []
    found = []
    for name in os.listdir(directory):
        match = _DIRECTORY.match(name)
        path = os.path.join(directory, name)
        if match and os.path.exists(os.path.join(path, "state.json")):
            found.append((int(match.group(1)), path))
    return sorted(found, reverse=True)


def restore_backup(model, directory):
    """Load the newest backup into a built, compiled `model`; returns its state dict or None."""
    backups = latest_backups(directory)
    if not backups:
        return None
    _, path = backups[0]
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    load_weights_or_refuse(model, os.path.join(path, "model.weights.h5"))
    with open(os.path.join(path, "state.json"), encoding="utf-8") as handle:
        return json.load(handle)
