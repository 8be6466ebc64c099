"""The graph TF Serving runs for a sentence VAE: sentences to z, z to sentences, the prior."""

import types

import tensorflow as tf

from tf_lm.data.sentence_pipeline import encode_sentences
from tf_lm.generation.decoder import Decoder
from tf_lm.generation.parameter_rules import (GREEDY_TEMPERATURE, REPETITION_PENALTY_OFF,
                                              TOP_K_OFF, TOP_P_OFF, per_row)
from tf_lm.serving.serving_module import check_utf8

DEFAULT_MAX_NEW_TOKENS = 40


class VAEServingModule(tf.Module):
    """A `SentenceVAE` and its word tokenizer as the exported signatures.

    - `encode` (also `serving_default`): `texts` (string `[batch]`) → `mean` and
      `log_variance` (float `[batch, latent]`), q(z|x) = N(mean, exp(log_variance)).
    - `decode`: `z` (float `[batch, latent]`) and optional `max_new_tokens`, `temperature`,
      `top_k`, `top_p`, `seed` (a scalar, `[1]` or one per row) → `text` and `num_tokens`.
      The defaults decode greedily.
    - `sample`: `seed` (int `[batch]`, one sentence per seed) and the same optional decoding
      inputs → `text`, `num_tokens` and the `z` drawn from N(0, I) with that seed.

    Decoding is `SentenceGenerator`'s: tf_lm's decoding loop over the VAE's decoder from the
    state z gives, from `<eos>` to the next `<eos>`. An empty batch, text that is not UTF-8,
    a z whose width is not the latent size, or a parameter out of range fails the request with
    `INVALID_ARGUMENT`.

    Args:
        model: a built `SentenceVAE`.
        tokenizer: its word tokenizer (with `<eos>`).
        length: tokens a sentence keeps (the run's `data.block_size`).
        max_new_tokens_limit: the longest sentence a request may ask for.
    """

    def __init__(self, model, tokenizer, length, max_new_tokens_limit):
        super().__init__(name="tf_lm_vae_serving")
        # Not tracked, as in `ServingModule`: the plain variables are, so a TF1 Session
        # restores the ones the functions read.
        self._untracked = types.SimpleNamespace(
            model=model, decoder=Decoder(model.decoder, jit_compile=False))
        self.model_variables = [variable.value for variable in model.variables]
        self.tokenizer = tokenizer
        self.length = int(length)
        self.latent_dim = int(model.latent_dim)
        self.end_id = int(tokenizer.end_token_id)
        self.max_new_tokens_limit = int(max_new_tokens_limit)
        self.encode = tf.function(self._encode, input_signature=[
            tf.TensorSpec([None], tf.string, name="texts")])
        options = [tf.TensorSpec(None, tf.int32, name="max_new_tokens"),
                   tf.TensorSpec(None, tf.float32, name="temperature"),
                   tf.TensorSpec(None, tf.int32, name="top_k"),
                   tf.TensorSpec(None, tf.float32, name="top_p")]
        self.decode = tf.function(self._decode_function(), input_signature=[
            tf.TensorSpec([None, None], tf.float32, name="z"), *options,
            tf.TensorSpec(None, tf.int32, name="seed")])
        self.sample = tf.function(self._sample_function(), input_signature=[
            tf.TensorSpec([None], tf.int32, name="seed"), *options])

    def signatures(self):
        return {"serving_default": self.encode, "encode": self.encode, "decode": self.decode,
                "sample": self.sample}

    @property
    def defaults(self):
        """The value of each optional decoding input a request leaves out (greedy)."""
        return {"max_new_tokens": DEFAULT_MAX_NEW_TOKENS, "temperature": GREEDY_TEMPERATURE,
                "top_k": TOP_K_OFF, "top_p": TOP_P_OFF, "seed": 0}

    def describe(self):
        """What the export's metadata records about this module."""
        return {"task": "vae", "latent_dim": self.latent_dim, "length": self.length,
                "defaults": self.defaults,
                "limits": {"max_new_tokens": self.max_new_tokens_limit}}

    def _encode(self, texts):
        texts = _non_empty(check_utf8("texts", texts), "texts")
        inputs = encode_sentences(texts, self.tokenizer, self.length)
        mean, log_variance = self._untracked.model.encode(
            inputs["token_ids"][:, 1:], inputs["padding_mask"][:, 1:], training=False)
        return {"mean": tf.cast(mean, tf.float32),
                "log_variance": tf.cast(log_variance, tf.float32)}

    def _decode_function(self):
        d = self.defaults

        def decode(z, max_new_tokens=tf.constant(d["max_new_tokens"], tf.int32),
                   temperature=tf.constant(d["temperature"], tf.float32),
                   top_k=tf.constant(d["top_k"], tf.int32),
                   top_p=tf.constant(d["top_p"], tf.float32),
                   seed=tf.constant(d["seed"], tf.int32)):
            z = self._checked_z(z)
            seeds = per_row("seed", seed, tf.shape(z)[0])
            return self._decode(z, max_new_tokens, temperature, top_k, top_p, seeds)

        return decode

    def _sample_function(self):
        d = self.defaults

        def sample(seed, max_new_tokens=tf.constant(d["max_new_tokens"], tf.int32),
                   temperature=tf.constant(d["temperature"], tf.float32),
                   top_k=tf.constant(d["top_k"], tf.int32),
                   top_p=tf.constant(d["top_p"], tf.float32)):
            seed = _non_empty(seed, "seed")
            z = tf.map_fn(  # row i depends on its own seed only
                lambda s: tf.random.stateless_normal([self.latent_dim], tf.stack([s, 0])),
                seed, fn_output_signature=tf.float32)
            out = self._decode(z, max_new_tokens, temperature, top_k, top_p, seed)
            return {**out, "z": z}

        return sample

    def _checked_z(self, z):
        z = _non_empty(z, "z")
        check = tf.debugging.Assert(
            tf.logical_and(tf.shape(z)[1] == self.latent_dim,
                           tf.reduce_all(tf.math.is_finite(z))),
            [f"z must be finite, of shape [batch, {self.latent_dim}]. Received shape:",
             tf.shape(z)])
        with tf.control_dependencies([check]):
            return tf.identity(z)

    def _decode(self, z, max_new_tokens, temperature, top_k, top_p, seeds):
        batch = tf.shape(z)[0]
        limit = self.max_new_tokens_limit
        parameters = [per_row(name, value, batch, limit)
                      for name, value in (("max_new_tokens", max_new_tokens),
                                          ("temperature", temperature), ("top_k", top_k),
                                          ("top_p", top_p))]
        with tf.control_dependencies(parameters):
            output_length = tf.reduce_max(tf.concat([parameters[0], [1]], axis=0))
        model = self._untracked.model
        tokens, counts = self._untracked.decoder.decode(
            tf.fill([batch, 1], tf.constant(self.end_id, tf.int32)), tf.ones([batch], tf.int32),
            *parameters, tf.fill([batch], tf.constant(REPETITION_PENALTY_OFF, tf.float32)),
            seeds, tf.constant([self.end_id], tf.int32), tf.zeros([batch], tf.int32),
            output_length, initial_cache=model.initial_state(tf.cast(z, model.compute_dtype)))
        ended = tf.gather(tokens, tf.maximum(counts - 1, 0), batch_dims=1) == self.end_id
        words = counts - tf.cast(ended & (counts > 0), tf.int32)  # the final <eos> left out
        ids = tf.RaggedTensor.from_tensor(tokens, lengths=words)
        return {"text": self.tokenizer.detokenize(ids), "num_tokens": words}


def _non_empty(tensor, name):
    check = tf.debugging.Assert(tf.shape(tensor)[0] > 0,
                                [f"The request holds no {name} (an empty batch)"])
    with tf.control_dependencies([check]):
        return tf.identity(tensor)
