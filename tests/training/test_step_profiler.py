import glob

import keras
import numpy as np

from tf_lm.training.step_profiler import StepProfiler


def fit(tmp_path, start, steps, epochs=2, steps_per_epoch=3, steps_per_execution=1):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", steps_per_execution=steps_per_execution)
    x, y = np.ones((steps_per_epoch * 2, 4), "float32"), np.ones((steps_per_epoch * 2, 1))
    profiler = StepProfiler(tmp_path, start, steps)
    started = []
    original = profiler.on_train_batch_begin

    def watch(batch, logs=None):
        was = profiler._running
        original(batch, logs)
        if profiler._running and not was:
            started.append(profiler._step())
    profiler.on_train_batch_begin = watch
    model.fit(x, y, batch_size=2, epochs=epochs, verbose=0, callbacks=[profiler])
    return started, glob.glob(str(tmp_path / "plugins" / "profile" / "*" / "*.xplane.pb"))


def test_traces_the_window_into_a_tensorboard_profile(tmp_path):
    started, traces = fit(tmp_path, start=4, steps=2)  # global step 4 is epoch 1, batch 1
    assert started == [4]
    assert len(traces) == 1


def test_a_window_past_the_run_traces_nothing_and_one_cut_short_is_closed(tmp_path):
    started, traces = fit(tmp_path / "late", start=100, steps=2)
    assert started == [] and traces == []
    started, traces = fit(tmp_path / "cut", start=5, steps=10)  # the run ends at step 5
    assert started == [5] and len(traces) == 1


def test_a_window_inside_one_compiled_call_is_traced(tmp_path):
    # Three steps per call: calls start at steps 0 and 3; the window [4, 5) is inside the second.
    started, traces = fit(tmp_path, start=4, steps=1, epochs=1, steps_per_epoch=6,
                          steps_per_execution=3)
    assert started == [3] and len(traces) == 1
