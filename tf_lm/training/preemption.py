"""Preemption: on SIGTERM, back up the current step and stop, so a rerun resumes there."""

import signal
import threading

import keras

from tf_lm.errors import Preempted
from tf_lm.training.step_clock import StepClock


class PreemptionBackup(keras.callbacks.Callback):
    """Turn the scheduler's grace-period signal into a backup of the step being trained.

    While `fit` runs, SIGTERM only sets a flag. At the end of the next training batch the
    `Backup` callback saves the model as it is at that step and `Preempted` is raised, out of
    `fit` (no epoch-end callback sees a half epoch); if that batch ends a Keras epoch, the
    epoch's validation and interval backup run first and `Preempted` follows them. The CLI
    exits with 75 and rerunning the same command resumes at that step.

    TF's `PreemptionCheckpointHandler` does this for a `tf.train.Checkpoint` in a custom loop;
    Keras 3's `fit` and weights files have no hook for it, hence this callback.

    Args:
        backup: the run's `Backup` callback (it writes the backup).
        clock: the run's `StepClock`.
        signals: the signals that mean "preempted".
    """

    def __init__(self, backup, clock=None, signals=(signal.SIGTERM,)):
        super().__init__()
        self.backup = backup
        self.clock = clock
        self.signals = tuple(signals)
        self.received = None
        self._previous = {}
        self._epoch = 0

    def _note(self, signum, frame):
        self.received = signum

    def on_train_begin(self, logs=None):
        if threading.current_thread() is threading.main_thread():  # signals reach only it
            for number in self.signals:
                self._previous[number] = signal.signal(number, self._note)

    def on_train_end(self, logs=None):
        self._restore_handlers()

    def _restore_handlers(self):
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous = {}

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.received is None or batch + 1 >= self.params["steps"]:
            return  # the last batch of an epoch: on_epoch_end, after the interval backup
        step = StepClock.of(self).after_batch(self._epoch, batch)
        self._stop(step, self.backup.save(step))

    def on_epoch_end(self, epoch, logs=None):
        if self.received is not None and not self.model.stop_training:  # else it ends now
            step = StepClock.of(self).epoch_end(epoch)
            self._stop(step, f"{self.backup.directory}/step-{step}")

    def _stop(self, step, path):
        self._restore_handlers()
        name = signal.Signals(self.received).name
        raise Preempted(f"preempted by {name} at step {step}: backed up to {path}; run the "
                        "same command again to resume from that step.", step, path)
