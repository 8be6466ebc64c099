"""Active units of a latent space: the dimensions whose encoding varies with the input."""

import keras
from keras import ops

from tf_lm.utils.serializable import serializable


@serializable
class ActiveUnits(keras.metrics.Metric):
    """How many latent dimensions d have `Var_x(E_q[z_d | x]) > threshold` (Burda et al.,
    2016): the variance, over the texts seen, of the posterior mean μ_d(x).

    A collapsed VAE encodes every text to the prior's mean, so no unit is active. Sums of μ
    and μ² are kept over the whole run (a validation pass), so the figure is the population
    variance of every text seen, not a mean of per-batch variances.

    Args:
        latent_dim: the size of z.
        threshold: the variance above which a unit counts (0.01 in the paper).
    """

    def __init__(self, latent_dim, threshold=0.01, name="active_units", **kwargs):
        super().__init__(name=name, **kwargs)
        self.latent_dim = latent_dim
        self.threshold = threshold
        self.total = self.add_variable((latent_dim,), initializer="zeros", name="total")
        self.squares = self.add_variable((latent_dim,), initializer="zeros", name="squares")
        self.count = self.add_variable((), initializer="zeros", name="count")

    def update_state(self, mean, sample_weight=None):
        mean = ops.cast(mean, self.dtype)  # (batch, latent)
        self.total.assign_add(ops.sum(mean, axis=0))
        self.squares.assign_add(ops.sum(mean * mean, axis=0))
        self.count.assign_add(ops.cast(ops.shape(mean)[0], self.dtype))

    def result(self):
        count = ops.maximum(self.count, 1.0)
        average = self.total / count
        variance = self.squares / count - average * average  # (latent,)
        return ops.sum(ops.cast(variance > self.threshold, self.dtype))

    def reset_state(self):
        for variable in (self.total, self.squares, self.count):
            variable.assign(ops.zeros(variable.shape, self.dtype))

    def get_config(self):
        config = super().get_config()
        config.update({"latent_dim": self.latent_dim, "threshold": self.threshold})
        return config
