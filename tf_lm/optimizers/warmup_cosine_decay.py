"""nanoGPT's learning rate: linear warmup, then cosine decay to a floor."""

import math

import keras
from keras import ops

from tf_lm.utils.serializable import serializable


@serializable
class WarmupCosineDecay(keras.optimizers.schedules.LearningRateSchedule):
    """lr(step) rises linearly to `peak` over `warmup_steps`, then follows a half cosine down
    to `floor` at `decay_steps`, and stays there.

    As nanoGPT's `get_lr`: lr = peak·(step+1)/warmup during warmup, then
    floor + ½(1 + cos(π·progress))·(peak − floor).
    """

    def __init__(self, peak, floor, warmup_steps, decay_steps):
        self.peak = float(peak)
        self.floor = float(floor)
        self.warmup_steps = int(warmup_steps)
        self.decay_steps = int(decay_steps)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        warmup = self.peak * (step + 1.0) / max(self.warmup_steps, 1)
        span = max(self.decay_steps - self.warmup_steps, 1)
        progress = ops.clip((step - self.warmup_steps) / span, 0.0, 1.0)
        cosine = self.floor + 0.5 * (1.0 + ops.cos(math.pi * progress)) * (self.peak - self.floor)
        return ops.where(step < self.warmup_steps, warmup, cosine)

    def get_config(self):
        return {"peak": self.peak, "floor": self.floor, "warmup_steps": self.warmup_steps,
                "decay_steps": self.decay_steps}
