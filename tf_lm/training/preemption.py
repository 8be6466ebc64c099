"""Preemption: on SIGTERM, back up the current step and stop, so a rerun resumes there."""

import signal
import threading

import keras
import tensorflow as tf

from tf_lm.errors import Preempted
from tf_lm.training.step_clock import StepClock


class PreemptionBackup(keras.callbacks.Callback):
    """Turn the scheduler's grace-period signal into a backup of the step being trained.

    While `fit` runs, SIGTERM only sets a flag. At the end of the next training batch the
    `Backup` callback saves the model as it is at that step and `Preempted` is raised, out of
    `fit` (no epoch-end callback sees a half epoch); if that batch ends a Keras epoch, the
    epoch's validation and interval backup run first and `Preempted` follows them. The CLI
    exits with 75 and rerunning the same command resumes at that step.

    Under a multi-worker strategy the workers agree at every step (an all-reduce of "was I
    signalled") so all of them stop at the same step, whichever one the signal reached.

    TF's `PreemptionCheckpointHandler` does this for a `tf.train.Checkpoint` in a custom loop;
    Keras 3's `fit` and weights files have no hook for it, hence this callback.

    Args:
        backup: the run's `Backup` callback (it writes the backup).
        clock: the run's `StepClock`.
        signals: the signals that mean "preempted".
        strategy: a multi-worker strategy whose workers must agree, or None.
    """

    def __init__(self, backup, clock=None, signals=(signal.SIGTERM,), strategy=None):
        super().__init__()
        self.backup = backup
        self.clock = clock
        self.signals = tuple(signals)
        self.received = None
        self._previous = {}
        self._epoch = 0
        self._agree = _agreement(strategy) if strategy is not None else None

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

    def _signalled(self):
        """Whether to stop now: this process was signalled, or (multi-worker) any worker."""
        here = self.received is not None
        if self._agree is None:
            return here
        return bool(self._agree(tf.constant(int(here), tf.int32)).numpy() > 0)

    def on_train_batch_end(self, batch, logs=None):
        if batch + 1 >= self.params["steps"] or self.model.stop_training:
            return  # the last batch of an epoch: on_epoch_end; a NaN loss: nothing to keep
        if not self._signalled():
            return
        step = StepClock.of(self).after_batch(self._epoch, batch)
        self._stop(step, self.backup.save(step))

    def on_epoch_end(self, epoch, logs=None):
        if not self.model.stop_training and self._signalled():  # stopping anyway: no need
            step = StepClock.of(self).epoch_end(epoch)
            self._stop(step, f"{self.backup.directory}/step-{step}")

    def _stop(self, step, path):
        self._restore_handlers()
        name = (signal.Signals(self.received).name if self.received is not None
                else "a SIGTERM to another worker")
        raise Preempted(f"preempted by {name} at step {step}: backed up to {path}; run the "
                        "same command again to resume from that step.", step, path)


def _agreement(strategy):
    """A compiled all-reduce (sum) of one int32 from every replica of `strategy`."""

    @tf.function
    def agree(flag):
        per_replica = strategy.run(lambda: tf.identity(flag))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)

    return agree
