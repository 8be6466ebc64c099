"""Keras' F1 score for integer labels and logits."""

import keras
from keras import ops

from tf_lm.utils.serializable import serializable


@serializable
class SparseF1Score(keras.metrics.F1Score):
    """`keras.metrics.F1Score` (macro by default) taking integer labels, as
    `SparseCategoricalAccuracy` does; the prediction is the argmax of the logits or
    probabilities (Keras' `threshold=None`).

    Macro F1 = mean over classes of 2·P·R / (P + R), each class's precision and recall
    counted over the whole validation run.

    Args:
        num_classes: classes (the labels are `0..num_classes-1`).
        average: `"macro"`, `"micro"`, `"weighted"` or None (one score per class).
    """

    def __init__(self, num_classes, average="macro", name="f1", **kwargs):
        kwargs.pop("threshold", None)
        super().__init__(average=average, threshold=None, name=name, **kwargs)
        self.num_classes = num_classes

    def update_state(self, y_true, y_pred, sample_weight=None):
        labels = ops.cast(ops.reshape(y_true, (-1,)), "int32")  # (batch,)
        one_hot = ops.one_hot(labels, self.num_classes, dtype=self.dtype)  # (batch, classes)
        super().update_state(one_hot, ops.cast(y_pred, self.dtype), sample_weight)

    def get_config(self):
        config = super().get_config()
        config.update({"num_classes": self.num_classes})
        return config
