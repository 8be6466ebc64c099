import numpy as np
import tensorflow as tf

from tf_lm.data.sentence_pipeline import encode_sentences
from tf_lm.evaluation.sentence_likelihood import sentence_likelihood
from tf_lm.models import CausalLM, RecurrentBackbone, SentenceVAE
from tf_lm.tokenizers.word_tokenizer import WordTokenizer

TEXTS = ["the cat sat", "a dog ran on the mat", "the mat"]
TOKENIZER = WordTokenizer.from_corpus(TEXTS, end_token="<eos>")


def vae(latent_dim):
    size = TOKENIZER.vocabulary_size()
    model = SentenceVAE(RecurrentBackbone(size, "lstm", 1, 8),
                        CausalLM(RecurrentBackbone(size, "lstm", 1, 8), tie_embeddings=False),
                        latent_dim, unknown_id=TOKENIZER.unknown_token_id, seed=0)
    model.build()
    # A posterior far from the prior, so the bound and log p(x) differ visibly.
    model.to_mean.bias.assign(np.full(latent_dim, 1.0, "float32"))
    model.to_log_variance.bias.assign(np.zeros(latent_dim, "float32"))
    return model


def test_importance_weighting_recovers_log_px_integrated_over_a_one_dimensional_z():
    model = vae(1)
    inputs = encode_sentences(tf.constant(TEXTS), TOKENIZER, 8)
    ids, mask = inputs["token_ids"], tf.cast(inputs["padding_mask"][:, 1:], tf.float32)
    grid = np.linspace(-7, 7, 281, dtype="float32")  # every sentence at every z, one batch
    rows = len(grid) * 3
    logits = model.decode_logits(tf.tile(ids[:, :-1], [len(grid), 1]),
                                 np.repeat(grid, 3)[:, None])
    ce = tf.nn.sparse_softmax_cross_entropy_with_logits(tf.tile(ids[:, 1:], [len(grid), 1]),
                                                        logits)
    log_px_given_z = tf.reduce_sum(ce * tf.tile(mask, [len(grid), 1]), axis=1).numpy()
    log_px_given_z = -log_px_given_z.reshape(len(grid), 3).T  # (sentence, z)
    assert log_px_given_z.size == rows
    log_joint = log_px_given_z - 0.5 * (grid ** 2 + np.log(2 * np.pi))
    top = log_joint.max(1, keepdims=True)
    exact = top[:, 0] + np.log(np.exp(log_joint - top).sum(1) * (grid[1] - grid[0]))
    figures = sentence_likelihood(model, TOKENIZER, TEXTS, 8, samples=2000, seed=3)
    np.testing.assert_allclose(figures["nll"], -exact.mean(), atol=0.05)
    assert figures["nll_bound"] > figures["nll"] + 0.1  # the ELBO is only a bound
    np.testing.assert_allclose(figures["elbo"], -(figures["reconstruction"] + figures["kl"]))
    tokens = 3 + 1 + 6 + 1 + 2 + 1
    assert figures["tokens"] == tokens and figures["sentences"] == 3
    np.testing.assert_allclose(figures["nll_per_word"], figures["nll"] * 3 / tokens)
    np.testing.assert_allclose(figures["perplexity"], np.exp(figures["nll_per_word"]))
