"""Validation of a stateful recurrent run, measured as `tf-lm evaluate` measures it."""

import math

import keras

from tf_lm.evaluation.perplexity import evaluate_tokens


class CarriedStateValidation(keras.callbacks.Callback):
    """Put the loss over the whole validation split, state carried from its first token to its
    last (every token once), into the logs as `val_loss` and `val_perplexity`.

    Keras' own validation reads batches of random windows, each from a zero state: an
    estimate that is not the carried-state figure the run is judged by, so the best
    checkpoint, early stopping and the plateau schedule (which read `val_loss`) would act on
    another measure. Listed first among the callbacks, so that they read this one.

    Args:
        tokens: the validation split's token ids.
        context: tokens per call (the training window).
        model_fn: returns a model holding the current weights without the training states
            (the trainer's local twin, synced).
        validation_freq: validate at the end of every this many Keras epochs.
        last_epoch: the run's last Keras epoch (0-based), always validated.
    """

    def __init__(self, tokens, context, model_fn, validation_freq=1, last_epoch=None):
        super().__init__()
        self.tokens = tokens
        self.context = context
        self.model_fn = model_fn
        self.validation_freq = validation_freq
        self.last_epoch = last_epoch

    def on_epoch_end(self, epoch, logs=None):
        if logs is None or ((epoch + 1) % self.validation_freq and epoch != self.last_epoch):
            return
        loss = evaluate_tokens(self.model_fn(), self.tokens, self.context)["loss"]
        logs["val_loss"] = loss
        logs["val_perplexity"] = math.exp(min(loss, 700.0))
