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

from tf_lm.layers.serializable import serializable
from tf_lm.training.epoch_decay import EpochDecay
from tf_lm.training.warmup_cosine_decay import WarmupCosineDecay

# Variable names never decayed: LayerNorm scale/offset and biases (nanoGPT decays 2-D only).
NO_DECAY = ("gamma", "beta", "bias")


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
class AdamW(GlobalNormClipping, keras.optimizers.AdamW):
    """`keras.optimizers.AdamW` with `GlobalNormClipping`."""


@serializable
class Adam(GlobalNormClipping, keras.optimizers.Adam):
    """`keras.optimizers.Adam` with `GlobalNormClipping`."""


@serializable
class SGD(GlobalNormClipping, keras.optimizers.SGD):
    """`keras.optimizers.SGD` with `GlobalNormClipping`."""


def build_schedule(train_config, total_steps, steps_per_epoch):
    """The learning-rate schedule of `train.lr_schedule` (a float for `constant`)."""
    if train_config.lr_schedule == "cosine":
        return WarmupCosineDecay(train_config.learning_rate, train_config.min_learning_rate,
                                 train_config.warmup_steps, total_steps)
    if train_config.lr_schedule == "epoch_decay":
        return EpochDecay(train_config.learning_rate, train_config.decay_factor,
                          train_config.decay_start_epoch, steps_per_epoch)
    return train_config.learning_rate


def build_optimizer(train_config, total_steps, steps_per_epoch):
    """The optimizer of `train_config`, its schedule, clipping, decay and accumulation.

    Args:
        train_config: a `TrainConfig` (its steps count batches).
        total_steps: training steps (batches) of the whole run; the cosine decays over them.
        steps_per_epoch: batches per pass over the training split (`epoch_decay`).
    """
    # Keras calls the schedule with the batch count (`_iterations`), accumulation or not.
    kwargs = {
        "learning_rate": build_schedule(train_config, total_steps, max(steps_per_epoch, 1)),
        "clip_norm": train_config.clip_norm,
        "gradient_accumulation_steps": (train_config.gradient_accumulation_steps
                                        if train_config.gradient_accumulation_steps > 1
                                        else None),
    }
    if train_config.optimizer == "sgd":
        optimizer = SGD(**kwargs)
    else:
        adamw = train_config.optimizer == "adamw"
        optimizer = (AdamW if adamw else Adam)(
            beta_1=train_config.beta_1, beta_2=train_config.beta_2, epsilon=1e-8,  # torch's
            weight_decay=train_config.weight_decay if adamw else None, **kwargs)
    if train_config.weight_decay and train_config.optimizer != "sgd":
        names = NO_DECAY + (() if train_config.decay_embeddings else ("embeddings",))
        optimizer.exclude_from_weight_decay(var_names=list(names))
    return optimizer
