"""Resumable backups: model weights, optimizer state and position, every Keras epoch."""

import json
import math
import os

import keras

from tf_lm.errors import InputError
from tf_lm.run_dir.checkpoint_files import latest_backups, load_weights_or_refuse
from tf_lm.models.lora_adapters import ADAPTERS_FILE, adapted_layers, load_adapters, save_adapters
from tf_lm.training.step_clock import StepClock
from tf_lm.utils import atomic


class Backup(keras.callbacks.Callback):
    """Save everything needed to resume at the end of every Keras epoch, atomically.

    Keras' `BackupAndRestore` resumes at the start of the interrupted epoch, with the weights of
    its last save, which may be from the middle of that epoch: the run that resumes is not the
    run that was interrupted. Here a Keras epoch is `train.checkpoint_interval` steps and a
    backup is taken exactly at its end (or at any step, by `save`, on a preemption), so
    resuming restarts at that step with the weights, optimizer state (moments, step counter),
    data position and the state of the callbacks that decide on validations (`carried`).

    Each backup is written to `step-N.tmp/` and renamed to `step-N/` once complete (a crash or a
    full disk leaves the previous backup valid); backups beyond the newest `keep` are then
    removed. Two are kept so a damaged newest one still leaves one to resume from.

    Args:
        directory: the backup directory (the run's `backup/`).
        clock: the run's `StepClock` (default: Keras epochs of `params["steps"]`).
        keep: how many backups to keep.
        carried: {name: callback} of callbacks with `resume_state()` (early stopping, the
            plateau schedule), saved in `state.json` and given back on resume.
    """

    def __init__(self, directory, clock=None, keep=2, carried=None):
        super().__init__()
        self.directory = str(directory)
        self.clock = clock
        self.keep = keep
        self.carried = dict(carried or {})

    def on_epoch_end(self, epoch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            return  # the weights that made it are no state to resume from
        self.save(StepClock.of(self).epoch_end(epoch))

    def save(self, step):
        """Back up the model as it is now, as the state after `step` steps; returns the path."""
        os.makedirs(self.directory, exist_ok=True)
        final = os.path.join(self.directory, f"step-{step}")
        tmp = final + ".tmp"
        atomic.remove_quietly(tmp)
        state = {"step": step, "callbacks": {name: callback.resume_state()
                                             for name, callback in self.carried.items()}}
        try:
            os.makedirs(tmp)
            self.model.save_weights(os.path.join(tmp, "model.weights.h5"))
            if adapted_layers(self.model):  # Keras saves adapted kernels merged, adapters zeroed
                save_adapters(self.model, os.path.join(tmp, ADAPTERS_FILE))
            atomic.write_json(os.path.join(tmp, "state.json"), state)
            atomic.remove_quietly(final)
            os.rename(tmp, final)  # complete, then visible
        except BaseException:
            atomic.remove_quietly(tmp)
            raise
        for old_step, path in latest_backups(self.directory)[self.keep:]:
            atomic.remove_quietly(path)
        return final


def _load(model, path):
    """Load one backup directory into `model`; returns its state dict."""
    state_path = os.path.join(path, "state.json")
    try:
        with open(state_path, encoding="utf-8") as handle:
            state = json.load(handle)
        step = state["step"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise InputError(f"Cannot read {state_path} ({type(e).__name__}: {e}); the file is "
                         "damaged.") from None
    if not isinstance(step, int) or step < 0:
        raise InputError(f"{state_path} holds step {step!r}; expected a whole number >= 0.")
    load_weights_or_refuse(model, os.path.join(path, "model.weights.h5"))
    adapters = os.path.join(path, ADAPTERS_FILE)
    if os.path.exists(adapters):
        load_adapters(model, adapters, merged=True)
    return state


def _unused(path):
    """`path`, or `path-2`, `path-3`... the first that does not exist."""
    candidate, n = path, 1
    while os.path.exists(candidate):
        n += 1
        candidate = f"{path}-{n}"
    return candidate


def restore_backup(model, directory, echo=print, set_aside=True):
    """Load the newest intact backup into a built, compiled `model`; returns its state dict
    (`step`, `callbacks`, `path`) or None when there is none.

    A backup that cannot be loaded is reported and the next older one tried; once one loads,
    the damaged newer ones are renamed `step-N.damaged` (`set_aside`; never deleted) so the
    next backups do not rotate the good one out. If none loads, the newest one's error is
    raised and nothing is renamed (a model of another configuration is not damage).
    """
    backups = latest_backups(directory)
    if not backups:
        return None
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    failures = []
    for _, path in backups:
        try:
            state = _load(model, path)
        except InputError as e:
            failures.append((path, e))
            continue
        for damaged, error in failures:
            echo(f"warning: {error}")
            note = ""
            if set_aside:
                aside = _unused(damaged + ".damaged")
                os.rename(damaged, aside)
                note = f"set it aside as {aside}; "
            echo(f"warning: {note}resuming from the older backup {path}")
        return {**state, "path": path}
    raise failures[0][1]
