"""Word dropout: some decoder inputs replaced by the unknown token (Bowman et al., 2016)."""

import keras
from keras import ops

from tf_lm.utils.serializable import serializable


@serializable
class WordDropout(keras.layers.Layer):
    """Replaces each input token, with probability `rate`, by `unknown_id` while training.

    A sentence VAE's decoder is a language model strong enough to predict the next word from
    the previous ones alone, and then ignores z (posterior collapse). Hiding some of the
    previous words makes it lean on z for what the sentence is about. A classifier uses it the
    other way round, as a regularizer: no single word can carry the label (Iyyer et al., 2015).
    The first position (a start token) is kept unless `keep_first=False`; padding is left as
    it is.

    Args:
        rate: probability of replacing a token, in [0, 1).
        unknown_id: the id that replaces it.
        seed: seed of the draws.
        keep_first: never replace the first position.

    Call arguments:
        token_ids: `(batch, seq)` integers.
        padding_mask: optional `(batch, seq)`, true at real tokens.
        training: replace only when true.

    Returns:
        `(batch, seq)` integers.
    """

    def __init__(self, rate, unknown_id, seed=None, keep_first=True, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"`rate` must be in [0, 1). Received: rate={rate}")
        self.rate = rate
        self.unknown_id = unknown_id
        self.seed = seed
        self.keep_first = keep_first
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, token_ids, padding_mask=None, training=None):
        if not training or self.rate == 0.0:
            return token_ids
        drop = keras.random.uniform(ops.shape(token_ids), seed=self.seed_generator) < self.rate
        if self.keep_first:
            first = ops.arange(ops.shape(token_ids)[1]) == 0  # (seq,)
            drop = ops.logical_and(drop, ops.logical_not(first)[None, :])
        if padding_mask is not None:
            drop = ops.logical_and(drop, ops.cast(padding_mask, "bool"))
        return ops.where(drop, ops.cast(self.unknown_id, token_ids.dtype), token_ids)

    def compute_output_shape(self, input_shape, padding_mask_shape=None):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "unknown_id": self.unknown_id, "seed": self.seed,
                       "keep_first": self.keep_first})
        return config
