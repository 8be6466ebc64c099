"""Zaremba et al.'s learning rate: constant, then divided by a constant every epoch."""

import keras
from keras import ops

from tf_lm.utils.serializable import serializable


@serializable
class EpochDecay(keras.optimizers.schedules.LearningRateSchedule):
    """lr = initial · factor^max(0, epoch − start_epoch + 1), epoch = 1 + step // steps_per_epoch.

    Zaremba et al. (2014), small model: the paper's lr held for 4 epochs, then halved every
    epoch (`start_epoch=5, factor=0.5`; the preset's initial lr is the paper's 1 × unroll).
    """

    def __init__(self, initial, factor, start_epoch, steps_per_epoch):
        self.initial = float(initial)
        self.factor = float(factor)
        self.start_epoch = int(start_epoch)
        self.steps_per_epoch = int(steps_per_epoch)

    def __call__(self, step):
        epoch = 1.0 + ops.floor(ops.cast(step, "float32") / max(self.steps_per_epoch, 1))
        decays = ops.maximum(epoch - self.start_epoch + 1.0, 0.0)
        return self.initial * ops.power(self.factor, decays)

    def get_config(self):
        return {"initial": self.initial, "factor": self.factor, "start_epoch": self.start_epoch,
                "steps_per_epoch": self.steps_per_epoch}
