"""Early stopping and the plateau schedule keep their best and patience count across a resume
(a new callback given the backup's `resume_state()`)."""

import json

import keras
import numpy as np

from tf_lm.training.plateau_decay import PlateauDecay
from tf_lm.training.session import _ValidationEarlyStopping


def compiled_model(learning_rate=1.0):
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate), loss="mse")
    return model


def started(callback, model):
    callback.set_model(model)
    callback.on_train_begin()
    return callback


def test_early_stopping_resumed_from_its_state_keeps_counting_patience():
    model = compiled_model()
    first = started(_ValidationEarlyStopping(monitor="val_loss", patience=2), model)
    first.on_epoch_end(0, {"val_loss": 1.0})
    first.on_epoch_end(1, {"val_loss": 2.0})  # worse: one epoch of patience used
    first.on_train_end()
    state = json.loads(json.dumps(first.resume_state()))  # through state.json
    assert state == {"wait": 1, "best": 1.0, "best_epoch": 0}

    model.stop_training = False
    resumed = started(_ValidationEarlyStopping(monitor="val_loss", patience=2, state=state),
                      model)
    resumed.on_epoch_end(2, {"val_loss": 1.5})  # still worse than 1.0: patience runs out
    assert model.stop_training

    model.stop_training = False
    forgetful = started(_ValidationEarlyStopping(monitor="val_loss", patience=2), model)
    forgetful.on_epoch_end(2, {"val_loss": 1.5})
    assert not model.stop_training  # what resuming without the state would do


def test_plateau_decay_resumed_from_its_state_cuts_after_a_worse_validation():
    model = compiled_model(learning_rate=1.0)
    first = started(PlateauDecay(0.25), model)
    first.on_epoch_end(0, {"val_loss": 1.0})
    first.on_train_end()
    state = json.loads(json.dumps(first.resume_state()))
    assert state["best"] == 1.0

    resumed = started(PlateauDecay(0.25, state=state), model)
    resumed.on_epoch_end(1, {"val_loss": 1.2})
    assert np.isclose(float(np.asarray(model.optimizer.learning_rate)), 0.25)
    resumed.on_epoch_end(2, {"loss": 0.5})  # no validation at this epoch: nothing changes
    assert np.isclose(float(np.asarray(model.optimizer.learning_rate)), 0.25)


def test_a_second_fit_in_the_same_process_keeps_the_state():
    model = compiled_model()
    callback = started(_ValidationEarlyStopping(monitor="val_loss", patience=3), model)
    callback.on_epoch_end(0, {"val_loss": 1.0})
    callback.on_epoch_end(1, {"val_loss": 2.0})
    callback.on_train_end()
    callback.on_train_begin()  # Keras resets its counters here; the mixin puts them back
    assert (callback.wait, callback.best) == (1, 1.0)
