"""The optimizers of `train.optimizer`, clipping the gradient's global norm after all-reduce.

Keras 3 (TensorFlow backend) applies `global_clipnorm` in `_backend_apply_gradients` *before*
`_backend_update_step` all-reduces the gradients, so under a multi-replica strategy each
replica clips its own partial gradient by its own norm: the update differs from a single
device's on the same global batch. `GlobalNormClipping` clips in `_all_reduce_sum_gradients`,
right after the all-reduce, so every strategy clips the same global gradient; it also keeps
that gradient's global norm in `optimizer.gradient_norm` for TensorBoard.

It also turns `IndexedSlices` gradients (from embedding lookups) into dense tensors before
the all-reduce. Keras' Adam squares a sparse gradient slice by slice, without first summing the
slices of a row that was looked up several times, so its second moment depends on how the
batch was split into replicas; dense, every strategy computes the same update.
"""

import keras
import tensorflow as tf

from tf_lm.optimizers.layer_group_rates import LayerGroupRates
from tf_lm.utils.serializable import serializable


class GlobalNormClipping:
    """Mixin for a Keras optimizer: clip by the global norm of the all-reduced gradient."""

    def __init__(self, *args, clip_norm=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.clip_norm = clip_norm

    def build(self, variables):
        super().build(variables)
        self.gradient_norm = self.add_variable(
            (), initializer="zeros", dtype="float32", aggregation="only_first_replica",
            name="gradient_norm")

    def _all_reduce_sum_gradients(self, grads_and_vars):
        grads_and_vars = [(tf.convert_to_tensor(g) if isinstance(g, tf.IndexedSlices) else g, v)
                          for g, v in grads_and_vars]
        grads_and_vars = list(super()._all_reduce_sum_gradients(grads_and_vars))
        grads = [g for g, _ in grads_and_vars]
        present = [g for g in grads if g is not None]
        norm = tf.linalg.global_norm(present)
        self.gradient_norm.assign(tf.cast(norm, "float32"))
        if self.clip_norm:
            clipped, _ = tf.clip_by_global_norm(present, self.clip_norm, use_norm=norm)
            clipped = iter(clipped)
            grads = [None if g is None else next(clipped) for g in grads]
        return [(g, v) for g, (_, v) in zip(grads, grads_and_vars)]

    def get_config(self):
        config = super().get_config()
        config["clip_norm"] = self.clip_norm
        return config


@serializable
class AdamW(LayerGroupRates, GlobalNormClipping, keras.optimizers.AdamW):
    """`keras.optimizers.AdamW` with `GlobalNormClipping` and `LayerGroupRates`."""


@serializable
class Adam(LayerGroupRates, GlobalNormClipping, keras.optimizers.Adam):
    """`keras.optimizers.Adam` with `GlobalNormClipping` and `LayerGroupRates`."""


@serializable
class SGD(LayerGroupRates, GlobalNormClipping, keras.optimizers.SGD):
    """`keras.optimizers.SGD` with `GlobalNormClipping` and `LayerGroupRates`."""
