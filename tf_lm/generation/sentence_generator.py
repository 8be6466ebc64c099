"""A sentence VAE's uses: encode sentences to z, decode z to sentences, sample the prior,
and walk the line between two sentences."""

import numpy as np
import tensorflow as tf

from tf_lm.data.sentence_pipeline import encode_sentences
from tf_lm.errors import InputError
from tf_lm.generation.beam_search import beam_search
from tf_lm.generation.decoder import Decoder, _bucket
from tf_lm.generation.parameter_rules import (MAX_NEW_TOKENS_LIMIT, REPETITION_PENALTY_OFF,
                                              TOP_K_OFF, TOP_P_OFF, check_arguments,
                                              sampler_options)


class SentenceGenerator:
    """Encode and decode with a `SentenceVAE` and its word tokenizer.

    Decoding runs tf_lm's one decoding loop (`Decoder`, or `beam_search`) over the VAE's
    decoder, starting from the state z gives instead of zeros, from the start token `<eos>`,
    until the next `<eos>` or `max_new_tokens`.

    Args:
        model: a built `SentenceVAE`.
        tokenizer: its word tokenizer (with the end token `<eos>`).
        length: the tokens a sentence keeps when encoded (the run's `data.block_size`).
    """

    def __init__(self, model, tokenizer, length):
        self.model = model
        self.tokenizer = tokenizer
        self.length = length
        self.end_id = tokenizer.end_token_id
        self.decoder = Decoder(model.decoder, jit_compile=False)
        self._functions = {}
        self._encode = tf.function(self._encode_graph)

    def _encode_graph(self, texts):
        inputs = encode_sentences(texts, self.tokenizer, self.length)
        return self.model.encode(inputs["token_ids"][:, 1:], inputs["padding_mask"][:, 1:],
                                 training=False)

    def encode(self, texts):
        """`(μ, log σ²)` of each sentence, numpy `(n, latent)` each."""
        texts = _texts(texts)
        mean, log_variance = self._encode(tf.constant(texts, tf.string))
        return np.asarray(mean, np.float32), np.asarray(log_variance, np.float32)

    def _decode_function(self, output_length):
        if output_length not in self._functions:
            decoder, model = self.decoder, self.model

            def run(z, max_new_tokens, temperature, top_k, top_p, seeds):
                batch = tf.shape(z)[0]
                prompts = tf.fill([batch, 1], tf.constant(self.end_id, tf.int32))
                return decoder.decode(
                    prompts, tf.ones([batch], tf.int32), max_new_tokens, temperature, top_k,
                    top_p, REPETITION_PENALTY_OFF, seeds,
                    tf.constant([self.end_id], tf.int32), 0, output_length,
                    initial_cache=model.initial_state(tf.cast(z, model.compute_dtype)))

            self._functions[output_length] = tf.function(run)
        return self._functions[output_length]

    def decode(self, z, max_new_tokens=40, sampler="greedy", temperature=1.0, top_k=TOP_K_OFF,
               top_p=TOP_P_OFF, num_beams=4, seed=0):
        """The sentence each z `(n, latent)` decodes to (a list of strings).

        Samplers as for `TextGenerator`: `greedy`, `temperature`, `top_k`, `top_p`, `beam`.
        Row i samples with seed `seed + i`.
        """
        z = self.check_latent(z)
        check_arguments(MAX_NEW_TOKENS_LIMIT, max_new_tokens, sampler, temperature, top_k,
                        top_p, num_beams, REPETITION_PENALTY_OFF, 1.0)
        if sampler == "beam":
            rows = [beam_search(self.model.decoder, [self.end_id], max_new_tokens, num_beams,
                                stop_token_ids=[self.end_id],
                                initial_cache=self.model.initial_state(z[i:i + 1]))
                    for i in range(len(z))]
        else:
            options = sampler_options(sampler, temperature, top_k, top_p)
            function = self._decode_function(_bucket(max_new_tokens))
            tokens, counts = function(
                tf.constant(z), tf.constant(max_new_tokens, tf.int32),
                tf.constant(options["temperature"], tf.float32),
                tf.constant(options["top_k"], tf.int32), tf.constant(options["top_p"], tf.float32),
                tf.constant([seed + i for i in range(len(z))], tf.int32))
            tokens, counts = tokens.numpy(), counts.numpy()
            rows = [tokens[i, :counts[i]].tolist() for i in range(len(z))]
        return [self._text(row) for row in rows]

    def _text(self, ids):
        if ids and ids[-1] == self.end_id:
            ids = ids[:-1]
        if not ids:
            return ""
        return self.tokenizer.decode(ids)

    def check_latent(self, z):
        """z as float32 `(n, latent_dim)`, or an `InputError` naming what was received."""
        z = np.asarray(z, np.float32)
        if z.ndim == 1:
            z = z[None, :]
        if z.ndim != 2 or z.shape[1] != self.model.latent_dim or not len(z):
            raise InputError(f"z must have shape (n, {self.model.latent_dim}) (the model's "
                             f"latent_dim). Received: shape {tuple(z.shape)}")
        if not np.all(np.isfinite(z)):
            raise InputError("z must be finite. Received a NaN or infinite value.")
        return z

    def sample(self, count, seed=0, **options):
        """`count` sentences decoded from z ~ N(0, I) (the prior), drawn with `seed`."""
        z = np.random.default_rng(seed).standard_normal(
            (count, self.model.latent_dim)).astype(np.float32)
        return self.decode(z, seed=seed, **options)

    def reconstruct(self, texts, **options):
        """Each sentence decoded from its posterior mean μ."""
        mean, _ = self.encode(texts)
        return self.decode(mean, **options)

    def interpolate(self, first, second, steps=5, **options):
        """The homotopy of Bowman et al.: z_t = (1 − t)·μ(first) + t·μ(second) for `steps`
        values of t from 0 to 1, each decoded. Returns `[(t, sentence)]`."""
        if steps < 2:
            raise InputError(f"steps must be at least 2 (both ends). Received: {steps}")
        mean, _ = self.encode([first, second])
        ts = np.linspace(0.0, 1.0, steps, dtype=np.float32)
        z = (1.0 - ts)[:, None] * mean[0] + ts[:, None] * mean[1]
        return list(zip(ts.tolist(), self.decode(z, **options)))


def _texts(texts):
    texts = [texts] if isinstance(texts, str) else list(texts)
    if not texts:
        raise InputError("No sentence to encode.")
    for i, text in enumerate(texts):
        if not isinstance(text, str) or not text.strip():
            raise InputError(f"Sentence {i + 1} is empty; each sentence needs a word.")
    return texts
