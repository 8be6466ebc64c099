"""Keep the weights with the lowest validation loss."""

import json
import math
import os

import keras

from tf_lm.utils import atomic


class BestCheckpoint(keras.callbacks.Callback):
    """Save the model's weights whenever `val_loss` reaches a new minimum.

    Written as `best.weights.h5` through a temporary file and a rename, with `best.json`
    (step, val_loss) beside it: a crash or a full disk while saving leaves the previous best
    intact. A resumed run starts from the recorded best.

    Args:
        directory: the run's `checkpoints/`.
    """

    def __init__(self, directory):
        super().__init__()
        self.directory = str(directory)
        self.weights_path = os.path.join(self.directory, "best.weights.h5")
        self.info_path = os.path.join(self.directory, "best.json")
        self.best = read_best(self.directory)

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get("val_loss")
        if value is None or not math.isfinite(value):
            return
        if self.best is not None and value >= self.best["val_loss"]:
            return
        os.makedirs(self.directory, exist_ok=True)
        step = (epoch + 1) * self.params["steps"]
        atomic.save_weights(self.model, self.weights_path)
        self.best = {"step": step, "val_loss": float(value)}
        atomic.write_json(self.info_path, self.best)


def read_best(directory):
    """The `best.json` record of a checkpoint directory, or None."""
    path = os.path.join(str(directory), "best.json")
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)
