"""`train.optimizer` and `train.lr_schedule` as Keras objects."""

from tf_lm.optimizers.epoch_decay import EpochDecay
from tf_lm.optimizers.global_norm_clipping import SGD, Adam, AdamW
from tf_lm.optimizers.warmup_cosine_decay import WarmupCosineDecay

# Variable names never decayed: LayerNorm scale/offset and biases (nanoGPT decays 2-D only).
NO_DECAY = ("gamma", "beta", "bias")


def build_schedule(train_config, total_steps, steps_per_epoch):
    """The learning-rate schedule of `train.lr_schedule` (a float for `constant` and for
    `plateau`, whose decays the trainer's `PlateauDecay` callback makes)."""
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
        "layer_lr_decay": train_config.layer_lr_decay,
        "unfreeze_steps": (max(round(train_config.unfreeze_epochs * max(steps_per_epoch, 1)), 1)
                           if train_config.unfreeze_epochs else 0),
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
