"""Global training steps from Keras' epochs and batches."""


class StepClock:
    """The global step at a Keras (epoch, batch) of a tf_lm run.

    A Keras epoch is `interval` steps (the checkpoint interval). A run resumed from a backup
    taken between two interval ends (a preemption) first fits the rest of that interval as a
    shorter Keras epoch, so that epoch starts `start_step % interval` steps in.

    Args:
        interval: steps in one Keras epoch.
        start_step: the step the run (re)started at.
    """

    def __init__(self, interval, start_step=0):
        self.interval = interval
        self.first_epoch, self.offset = divmod(start_step, interval)

    @classmethod
    def of(cls, callback):
        """The callback's clock, or one made from Keras' `params["steps"]` (no resume)."""
        clock = getattr(callback, "clock", None)
        return clock if clock is not None else cls(callback.params["steps"])

    def epoch_start(self, epoch):
        """The step before the first batch of `epoch`."""
        return epoch * self.interval + (self.offset if epoch == self.first_epoch else 0)

    def after_batch(self, epoch, batch):
        """The step reached when batch `batch` (0-based) of `epoch` has been trained."""
        return self.epoch_start(epoch) + batch + 1

    def epoch_end(self, epoch):
        """The step reached at the end of `epoch` (an interval boundary)."""
        return (epoch + 1) * self.interval
