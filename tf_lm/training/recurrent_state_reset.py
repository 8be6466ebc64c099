"""Stateful recurrent training: keep validation and training states apart."""

import keras

from tf_lm.training.step_clock import StepClock


class RecurrentStateReset(keras.callbacks.Callback):
    """For a stateful recurrent model: validation starts from zero states and leaves the
    training states as they were; each pass over the training split starts from zero.

    Args:
        steps_per_epoch: batches in one pass over the training split (contiguous sampler).
        clock: the run's `StepClock` (default: Keras epochs of `params["steps"]`).
    """

    def __init__(self, steps_per_epoch, clock=None):
        super().__init__()
        self.clock = clock
        self.steps_per_epoch = steps_per_epoch
        self._saved = None
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def _state_variables(self):
        return self.model.backbone.state_variables()

    def on_train_batch_begin(self, batch, logs=None):
        step = StepClock.of(self).after_batch(self._epoch, batch) - 1  # before this batch
        if step % self.steps_per_epoch == 0:
            self.model.backbone.reset_states()

    def on_test_begin(self, logs=None):
        self._saved = [v.numpy() for v in self._state_variables()]
        self.model.backbone.reset_states()

    def on_test_end(self, logs=None):
        if self._saved is not None:
            for variable, value in zip(self._state_variables(), self._saved):
                variable.assign(value)
            self._saved = None
