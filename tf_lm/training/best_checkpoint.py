"""Keep the weights with the lowest validation loss."""

import json
import math
import os

import keras

from tf_lm.training.step_clock import StepClock
from tf_lm.utils import atomic


class BestCheckpoint(keras.callbacks.Callback):
    """Save the model's weights whenever the monitored validation figure reaches a new best.

    Written as `best.weights.h5` through a temporary file and a rename, with `best.json`
    (step, val_loss, the monitored figure) beside it: a crash or a full disk while saving
    leaves the previous best intact. A resumed run starts from the recorded best.

    Args:
        directory: the run's `checkpoints/`.
        monitor: `val_loss` (lower is better) or a classifier's `val_accuracy` or `val_f1`
            (higher is better).
        clock: the run's `StepClock` (default: Keras epochs of `params["steps"]`).
    """

    def __init__(self, directory, monitor="val_loss", clock=None):
        super().__init__()
        self.clock = clock
        self.directory = str(directory)
        self.monitor = monitor
        self.weights_path = os.path.join(self.directory, "best.weights.h5")
        self.info_path = os.path.join(self.directory, "best.json")
        self.best = read_best(self.directory)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None or not math.isfinite(value):
            return
        if self.best is not None and not better(self.monitor, value,
                                                self.best.get(self.monitor)):
            return
        os.makedirs(self.directory, exist_ok=True)
        step = StepClock.of(self).epoch_end(epoch)
        atomic.save_weights(self.model, self.weights_path)
        self.best = {"step": step, "val_loss": float(logs["val_loss"]), "monitor": self.monitor,
                     self.monitor: float(value)}
        atomic.write_json(self.info_path, self.best)


def better(monitor, value, best):
    """Whether `value` of `monitor` beats `best` (None: nothing to beat)."""
    if best is None:
        return True
    return value < best if monitor == "val_loss" else value > best


def describe_best(best):
    """'step N, val_loss X' (and the monitored figure when it is not val_loss)."""
    text = f"step {best['step']}, val_loss {best['val_loss']:.4f}"
    monitor = best.get("monitor", "val_loss")
    return text if monitor == "val_loss" else f"{text}, {monitor} {best[monitor]:.4f}"


def read_best(directory):
    """The `best.json` record of a checkpoint directory, or None."""
    path = os.path.join(str(directory), "best.json")
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)
