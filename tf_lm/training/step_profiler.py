"""Tracing a few training steps with the TensorFlow profiler, for TensorBoard's Profile tab."""

import keras
import tensorflow as tf


class StepProfiler(keras.callbacks.Callback):
    """Trace global steps `[start, start + steps)` of `fit` into `log_dir`.

    The trace lands in `log_dir/plugins/profile/<time>/*.xplane.pb`, where TensorBoard's Profile
    tab (`pip install tensorboard-plugin-profile`) shows the trace viewer and the per-op
    tables: under XLA, one row per HLO op (each `MatMul`, each fusion). Start after the first
    steps, which trace and compile. Keras' own `TensorBoard(profile_batch=...)` does the same;
    tf_lm writes its scalars with its own logger, so the profiler gets this small callback.

    Args:
        log_dir: the run's TensorBoard directory.
        start: the first traced step (global, counted from 0; resumed runs included).
        steps: how many steps to trace.
    """

    def __init__(self, log_dir, start, steps):
        super().__init__()
        self.log_dir = str(log_dir)
        self.start = start
        self.stop = start + steps
        self._running = False
        self._done = False

    def _step(self):
        """The global step the next call starts from (resumed runs included)."""
        return int(self.model.optimizer.iterations)

    def on_train_batch_begin(self, batch, logs=None):
        # One call runs `steps_per_execution` steps: start if they reach into the window.
        if self._running or self._done:
            return
        step = self._step()
        if step < self.stop and step + self.model.steps_per_execution > self.start:
            tf.profiler.experimental.start(self.log_dir)
            self._running = True

    def on_train_batch_end(self, batch, logs=None):
        if self._running and self._step() >= self.stop:
            self._finish()

    def on_train_end(self, logs=None):
        if self._running:  # the run ended inside the window
            self._finish()

    def _finish(self):
        tf.profiler.experimental.stop()
        self._running = False
        self._done = True
