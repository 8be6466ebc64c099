"""A sentence VAE's figures over a set of sentences: the ELBO, its two terms, and the
importance-weighted estimate of log p(x)."""

import math

import numpy as np
import tensorflow as tf

from tf_lm.data.sentence_pipeline import sentence_dataset
from tf_lm.models.sentence_vae import gaussian_kl

_LOG_2PI = math.log(2.0 * math.pi)


def _log_normal(z, mean, log_variance):
    """log N(z; μ, σ²) summed over the latent dimensions, `(batch,)`."""
    return -0.5 * tf.reduce_sum(_LOG_2PI + log_variance
                                + tf.square(z - mean) * tf.exp(-log_variance), axis=-1)


class _Figures:
    """The compiled pieces: a sentence batch's terms, and one importance weight per sentence."""

    def __init__(self, model):
        self.model = model
        self.terms = tf.function(self._terms)
        self.log_weight = tf.function(self._log_weight)

    def _posterior(self, inputs):
        token_ids, padding_mask = inputs["token_ids"], inputs["padding_mask"]
        mean, log_variance = self.model.encode(token_ids[:, 1:], padding_mask[:, 1:],
                                               training=False)
        return tf.cast(mean, tf.float32), tf.cast(log_variance, tf.float32)

    def _log_likelihood(self, inputs, z):
        """log p(x | z), `(batch,)`."""
        token_ids = inputs["token_ids"]
        mask = tf.cast(inputs["padding_mask"][:, 1:], tf.float32)
        logits = self.model.decode_logits(token_ids[:, :-1],
                                          tf.cast(z, self.model.compute_dtype), training=False)
        cross_entropy = tf.nn.sparse_softmax_cross_entropy_with_logits(
            token_ids[:, 1:], tf.cast(logits, tf.float32))
        return -tf.reduce_sum(cross_entropy * mask, axis=1)

    @staticmethod
    def _draw(mean, log_variance, seed, k):
        noise = tf.random.stateless_normal(tf.shape(mean), seed=tf.stack([seed, k]))
        return mean + tf.exp(0.5 * log_variance) * noise

    def _terms(self, inputs, seed):
        """Reconstruction with one z, KL, tokens predicted, μ."""
        mean, log_variance = self._posterior(inputs)
        z = self._draw(mean, log_variance, seed, 0)
        kl = tf.reduce_sum(gaussian_kl(mean, log_variance), axis=-1)
        tokens = tf.reduce_sum(tf.cast(inputs["padding_mask"][:, 1:], tf.float32), axis=1)
        return -self._log_likelihood(inputs, z), kl, tokens, mean

    def _log_weight(self, inputs, seed, first, draws):
        """log p(x|z) + log p(z) − log q(z|x) for `draws` z ~ q(z|x) (numbers `first`,
        `first + 1`, ...), `(batch, draws)`; the draws run as one batch of batch·draws rows."""
        mean, log_variance = self._posterior(inputs)
        noise = tf.random.stateless_normal(
            [tf.shape(mean)[0], draws, tf.shape(mean)[1]], seed=tf.stack([seed, first]))
        z = mean[:, None] + tf.exp(0.5 * log_variance[:, None]) * noise  # (batch, draws, latent)
        rows = tf.shape(mean)[0] * draws
        repeated = {key: tf.repeat(value, draws, axis=0) for key, value in inputs.items()}
        flat_z = tf.reshape(z, [rows, -1])
        log_likelihood = tf.reshape(self._log_likelihood(repeated, flat_z), [-1, draws])
        return (log_likelihood + _log_normal(z, 0.0, 0.0)
                - _log_normal(z, mean[:, None], log_variance[:, None]))


def sentence_likelihood(model, tokenizer, texts, length, batch_size=64, samples=0, seed=0):
    """The figures of `model` (a `SentenceVAE`) on `texts`, one sentence each.

    The ELBO is `−(reconstruction + KL)` with one z drawn from q(z|x) per sentence; it only
    bounds log p(x) from below. With `samples` = K > 0, `log p(x) ≈ log (1/K) Σ_k p(x|z_k)
    p(z_k) / q(z_k|x)`, z_k ~ q(z|x) (Burda et al., 2016): a tighter estimate, exact as K → ∞.
    Per-word figures divide by the tokens predicted (the words and each sentence's `<eos>`).

    Returns a dict: `sentences`, `tokens`, per sentence `reconstruction`, `kl`, `elbo`,
    `nll_bound` (−ELBO) and `nll` (importance-weighted, with `samples`), the same per word
    (`*_per_word`), `perplexity_bound` and `perplexity` (exp of the per-word NLL), and
    `active_units`.
    """
    dataset = sentence_dataset(list(texts), tokenizer, length, batch_size)
    compiled = _Figures(model)
    parts, importance = [], []
    # Draws per call: batch · draws rows of logits stay within about 128 MB.
    logits_per_draw = batch_size * (length + 1) * model.vocabulary_size
    draws = max(1, min(samples, 2 ** 25 // logits_per_draw))
    for i, inputs in enumerate(dataset):
        batch_seed = tf.constant(seed + i, tf.int32)
        parts.append([np.asarray(t) for t in compiled.terms(inputs, batch_seed)])
        if samples:
            weights = np.concatenate(
                [np.asarray(compiled.log_weight(inputs, batch_seed, tf.constant(k, tf.int32),
                                                min(draws, samples + 1 - k)))
                 for k in range(1, samples + 1, draws)], axis=1)  # (batch, K)
            top = weights.max(axis=1, keepdims=True)
            importance.append(top[:, 0] + np.log(np.exp(weights - top).mean(axis=1)))
    reconstruction, kl, tokens, means = (np.concatenate([p[j] for p in parts])
                                         for j in range(4))
    count, total_tokens = len(reconstruction), float(tokens.sum())
    figures = {"sentences": count, "tokens": int(total_tokens),
               "reconstruction": float(reconstruction.mean()), "kl": float(kl.mean())}
    figures["nll_bound"] = figures["reconstruction"] + figures["kl"]
    figures["elbo"] = -figures["nll_bound"]
    figures["nll_bound_per_word"] = figures["nll_bound"] * count / total_tokens
    figures["perplexity_bound"] = math.exp(min(figures["nll_bound_per_word"], 700.0))
    if samples:
        figures["samples"] = samples
        figures["nll"] = float(-np.concatenate(importance).mean())
        figures["nll_per_word"] = figures["nll"] * count / total_tokens
        figures["perplexity"] = math.exp(min(figures["nll_per_word"], 700.0))
    figures["active_units"] = int((means.var(axis=0) > 0.01).sum())
    return figures
