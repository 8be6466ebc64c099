"""The reparameterization trick: z = μ + σ·ε, differentiable in μ and σ."""

import keras
from keras import ops

from tf_lm.utils.serializable import serializable


@serializable
class GaussianSample(keras.layers.Layer):
    """A sample of N(μ, σ²) written as `z = μ + exp(½·log σ²)·ε` with `ε ~ N(0, I)`.

    Drawing z directly would cut the gradient; drawing ε and shifting it keeps z a
    differentiable function of μ and log σ² (Kingma & Welling, 2014), so the encoder learns
    through the sample. `training=False` returns μ itself when `use_mean` is set (the
    posterior mode, for a deterministic encoding).

    Args:
        seed: seed of ε.

    Call arguments:
        mean: `(batch, latent)` μ.
        log_variance: `(batch, latent)` log σ².
        use_mean: return μ (no noise).

    Returns:
        `(batch, latent)` z.
    """

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, mean, log_variance, use_mean=False):
        if use_mean:
            return mean
        noise = keras.random.normal(ops.shape(mean), dtype=mean.dtype,
                                    seed=self.seed_generator)  # (batch, latent)
        return mean + ops.exp(0.5 * log_variance) * noise

    def compute_output_shape(self, mean_shape, log_variance_shape=None):
        return mean_shape

    def get_config(self):
        config = super().get_config()
        config.update({"seed": self.seed})
        return config
