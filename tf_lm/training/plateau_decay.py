"""`train.lr_schedule=plateau`: the learning rate cut after a validation that did not improve."""

import keras

from tf_lm.training.resumable_state import ResumableState


class PlateauDecay(ResumableState, keras.callbacks.ReduceLROnPlateau):
    """Multiply the learning rate by `factor` after every validation whose `val_loss` is not
    below the best so far (pytorch/examples' `word_language_model`: `lr /= 4`).

    Keras' `ReduceLROnPlateau` with no patience and no minimum improvement, acting only at the
    epochs that validated (tf_lm validates every `validation_freq` Keras epochs). The best so
    far survives a resume.

    Args:
        factor: the multiplier (`train.decay_factor`).
        state: the `resume_state()` of a backup, or None.
    """

    resumable = ("best", "cooldown_counter", "wait")

    def __init__(self, factor, state=None):
        super().__init__(monitor="val_loss", factor=factor, patience=0, min_delta=0.0,
                         verbose=0, state=state)

    def on_epoch_end(self, epoch, logs=None):
        if logs and self.monitor in logs:
            super().on_epoch_end(epoch, logs)
