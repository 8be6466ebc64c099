"""Stop training at the first NaN or infinite loss, and say where."""

import math

import keras

from tf_lm.training.step_clock import StepClock


class NonFiniteGuard(keras.callbacks.Callback):
    """Stop `fit` at the first batch whose loss is NaN or infinite.

    Unlike `keras.callbacks.TerminateOnNaN` it records the step (`failed_step`) so the caller
    can name it and the last good checkpoint in its error message.

    Args:
        clock: the run's `StepClock` (default: Keras epochs of `params["steps"]`).
    """

    def __init__(self, clock=None):
        super().__init__()
        self.clock = clock
        self.failed_step = None
        self.failed_loss = None
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None:
            return
        loss = float(loss)
        if not math.isfinite(loss):
            self.failed_step = StepClock.of(self).after_batch(self._epoch, batch)
            self.failed_loss = loss
            self.model.stop_training = True
