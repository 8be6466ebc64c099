"""The sentence VAE (Bowman et al., 2016): an encoder to q(z|x), a language model given z."""

import math

import keras
from keras import ops

from tf_lm.layers.gaussian_sample import GaussianSample
from tf_lm.layers.recurrent_block import CELLS
from tf_lm.layers.sequence_pooling import SequencePooling
from tf_lm.layers.word_dropout import WordDropout
from tf_lm.metrics.active_units import ActiveUnits
from tf_lm.models.task import Task
from tf_lm.utils.serializable import serializable

KL_SCHEDULES = ("linear", "logistic", "none")


def kl_weight(step, schedule="logistic", anneal_steps=2500, logistic_rate=0.0025):
    """The weight β of the KL term at training step `step` (a scalar tensor or number).

    `linear`: `min(1, step / anneal_steps)`. `logistic`: `1 / (1 + exp(-k·(step -
    anneal_steps)))`, Bowman et al.'s schedule (k = `logistic_rate`, midpoint `anneal_steps`).
    `none`: 1 from the start (the plain ELBO).
    """
    step = ops.cast(step, "float32")
    if schedule == "none":
        return ops.ones_like(step)
    if schedule == "linear":
        return ops.minimum(1.0, step / float(max(anneal_steps, 1)))
    return ops.sigmoid(logistic_rate * (step - float(anneal_steps)))


def gaussian_kl(mean, log_variance):
    """KL(N(μ, σ²) ‖ N(0, I)) per dimension: `½·(σ² + μ² − 1 − log σ²)`, `(batch, latent)`."""
    return 0.5 * (ops.exp(log_variance) + ops.square(mean) - 1.0 - log_variance)


@serializable
class SentenceVAE(Task):
    """A variational autoencoder over sentences, trained on the ELBO.

    `log p(x) ≥ E_q(z|x)[log p(x|z)] − KL(q(z|x) ‖ N(0, I))`. The encoder (the `backbone`, a
    recurrent one, read to each sentence's last token) gives μ and log σ²; z is drawn by the
    reparameterization trick (`GaussianSample`); a linear map of z is the decoder's initial
    state (every layer's h and c); the decoder, a `CausalLM`, predicts the sentence from its
    start token. Training minimises, per sentence, the reconstruction cross-entropy summed over
    its tokens plus β·KL, with β annealed from 0 to 1 (`kl_weight`) and word dropout on the
    decoder's inputs, so the decoder cannot model the sentence without z. `free_bits` λ
    replaces each dimension's KL by `max(λ, E_batch[KL_d])` while training (Kingma et al.,
    2016). Validation always reports the plain ELBO (β = 1, no free bits): `loss` is the
    negative ELBO in nats per sentence.

    Inputs are `{"token_ids", "padding_mask"}`, `(batch, T + 1)`: `<eos> w_1 … w_n <eos>`
    right-padded; the encoder reads `w_1 … <eos>`, the decoder reads `<eos> w_1 … w_n` and
    predicts `w_1 … <eos>`.

    Args:
        backbone: the encoder, a `RecurrentBackbone`.
        decoder: the decoder, a `CausalLM` on a `RecurrentBackbone`.
        latent_dim: the size of z.
        unknown_id: the token word dropout substitutes.
        word_dropout: probability of hiding each decoder input word while training.
        kl_schedule, kl_anneal_steps, kl_logistic_rate: β's schedule (`kl_weight`).
        free_bits: λ, nats per latent dimension (0: none).
        seed: seed of the samples and word dropout.
    """

    def __init__(self, backbone, decoder, latent_dim, unknown_id, word_dropout=0.0,
                 kl_schedule="logistic", kl_anneal_steps=2500, kl_logistic_rate=0.0025,
                 free_bits=0.0, seed=None, **kwargs):
        kwargs.setdefault("dtype", backbone.dtype_policy)
        super().__init__(**kwargs)
        for part, name in ((backbone, "backbone"), (decoder.backbone, "decoder's backbone")):
            if not hasattr(part, "cell"):
                raise ValueError(f"The {name} must be recurrent (z is its initial state). "
                                 f"Received: {type(part).__name__}")
        if latent_dim < 1:
            raise ValueError(f"`latent_dim` must be at least 1. Received: latent_dim={latent_dim}")
        if kl_schedule not in KL_SCHEDULES:
            raise ValueError(f"`kl_schedule` must be one of {KL_SCHEDULES}. Received: "
                             f"kl_schedule={kl_schedule!r}")
        self.backbone = backbone
        self.decoder = decoder
        self.latent_dim = latent_dim
        self.unknown_id = unknown_id
        self.word_dropout = word_dropout
        self.kl_schedule = kl_schedule
        self.kl_anneal_steps = kl_anneal_steps
        self.kl_logistic_rate = kl_logistic_rate
        self.free_bits = free_bits
        self.seed = seed
        self.vocabulary_size = decoder.vocabulary_size
        states = CELLS[decoder.backbone.cell][1]  # per layer: h, c for an LSTM
        self.state_shape = (decoder.backbone.num_layers, states, decoder.backbone.hidden_dim)
        policy = self.dtype_policy
        self.pooler = SequencePooling("last", name="pooling", dtype=policy)
        self.to_mean = keras.layers.Dense(latent_dim, name="mean", dtype=policy)
        self.to_log_variance = keras.layers.Dense(latent_dim, name="log_variance", dtype=policy)
        self.reparameterize = GaussianSample(seed=seed, name="sample", dtype=policy)
        self.to_state = keras.layers.Dense(math.prod(self.state_shape), name="initial_state",
                                           dtype=policy)
        self.drop_words = WordDropout(word_dropout, unknown_id,  # its own stream of draws
                                      seed=None if seed is None else seed + 1,
                                      name="word_dropout", dtype=policy)
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction")
        self.kl_tracker = keras.metrics.Mean(name="kl")
        self.kl_weight_tracker = keras.metrics.Mean(name="kl_weight")
        self.active_units = ActiveUnits(latent_dim)
        self._mean_loss = _BatchMean(name="batch_mean")

    def build(self, input_shape=None):
        if not self.backbone.built:
            self.backbone.build((None, None))
        if not self.decoder.built:
            self.decoder.build((None, None))
        hidden = self.backbone.hidden_dim
        self.to_mean.build((None, hidden))
        self.to_log_variance.build((None, hidden))
        self.to_state.build((None, self.latent_dim))
        self.built = True

    # The parts, each usable alone -----------------------------------------------------------

    def encode(self, token_ids, padding_mask, training=None):
        """`(μ, log σ²)`, each `(batch, latent)`, of sentences `w_1 … <eos>` (right-padded)."""
        hidden = self.backbone(token_ids, padding_mask=padding_mask, training=training)
        pooled = self.pooler(hidden, padding_mask)  # (batch, hidden): the last real token
        return self.to_mean(pooled), self.to_log_variance(pooled)

    def initial_state(self, z):
        """The decoder's initial states `(batch, layers, states, hidden)` given z."""
        return ops.reshape(self.to_state(z), (-1,) + self.state_shape)

    def decode_logits(self, decoder_ids, z, training=None):
        """Next-token logits `(batch, seq, vocab)` of the decoder reading `decoder_ids` from z."""
        hidden, _ = self.decoder.backbone(decoder_ids, cache=self.initial_state(z),
                                          training=training)
        return self.decoder.logits(hidden)

    def call(self, inputs, training=None):
        token_ids, padding_mask = inputs["token_ids"], inputs["padding_mask"]
        mean, log_variance = self.encode(token_ids[:, 1:], padding_mask[:, 1:],
                                         training=training)
        z = self.reparameterize(mean, log_variance)
        decoder_ids = self.drop_words(token_ids[:, :-1], padding_mask[:, :-1],
                                      training=training)
        logits = self.decode_logits(decoder_ids, z, training=training)
        return {"logits": logits, "mean": mean, "log_variance": log_variance}

    # The loss --------------------------------------------------------------------------------

    def sentence_terms(self, inputs, outputs):
        """Per sentence: the reconstruction cross-entropy summed over its tokens and the KL,
        each `(batch,)`, and the KL per dimension `(batch, latent)`."""
        targets = inputs["token_ids"][:, 1:]
        mask = ops.cast(inputs["padding_mask"][:, 1:], "float32")
        logits = ops.cast(outputs["logits"], "float32")
        cross_entropy = keras.losses.sparse_categorical_crossentropy(
            targets, logits, from_logits=True)  # (batch, T)
        reconstruction = ops.sum(cross_entropy * mask, axis=1)
        kl_per_dim = gaussian_kl(ops.cast(outputs["mean"], "float32"),
                                 ops.cast(outputs["log_variance"], "float32"))
        return reconstruction, ops.sum(kl_per_dim, axis=1), kl_per_dim

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        reconstruction, kl, kl_per_dim = self.sentence_terms(x, y_pred)
        if training:
            # In batches, as train.steps counts (Keras counts updates, one per accumulation).
            accumulation = getattr(self.optimizer, "gradient_accumulation_steps", None) or 1
            batches = self.optimizer.iterations * accumulation
            beta = kl_weight(batches, self.kl_schedule, self.kl_anneal_steps,
                             self.kl_logistic_rate)
            kl_term = kl
            if self.free_bits > 0:
                kl_term = ops.sum(ops.maximum(ops.mean(kl_per_dim, axis=0), self.free_bits))
        else:
            beta, kl_term = ops.ones(()), kl
        self.reconstruction_tracker.update_state(reconstruction)
        self.kl_tracker.update_state(kl)
        self.kl_weight_tracker.update_state(beta)
        self.active_units.update_state(y_pred["mean"])
        per_sentence = reconstruction + beta * kl_term  # (batch,); kl_term may be a scalar
        # A Keras loss takes the batch mean, divided by the replicas under a strategy (their
        # gradients are summed), as a compiled loss would be.
        return self._mean_loss(ops.zeros_like(reconstruction), per_sentence)

    def compile(self, optimizer="adam", loss=None, metrics=None, **kwargs):
        """`keras.Model.compile`; the loss is the model's own (the ELBO), metrics its trackers."""
        super().compile(optimizer=optimizer, **kwargs)

    def compute_output_shape(self, input_shape):
        batch, length = input_shape["token_ids"]
        length = None if length is None else length - 1
        return {"logits": (batch, length, self.vocabulary_size),
                "mean": (batch, self.latent_dim), "log_variance": (batch, self.latent_dim)}

    def get_config(self):
        config = super().get_config()
        config.update({
            "decoder": keras.saving.serialize_keras_object(self.decoder),
            "latent_dim": self.latent_dim, "unknown_id": self.unknown_id,
            "word_dropout": self.word_dropout, "kl_schedule": self.kl_schedule,
            "kl_anneal_steps": self.kl_anneal_steps, "kl_logistic_rate": self.kl_logistic_rate,
            "free_bits": self.free_bits, "seed": self.seed,
        })
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["decoder"] = keras.saving.deserialize_keras_object(config["decoder"])
        return super().from_config(config)


class _BatchMean(keras.losses.Loss):
    """The mean of per-sentence losses, with Keras' reduction and distribution scaling."""

    def call(self, y_true, y_pred):
        return y_pred
