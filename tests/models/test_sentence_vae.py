import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_lm.models import CausalLM, GPTBackbone, RecurrentBackbone, SentenceVAE
from tf_lm.models.sentence_vae import gaussian_kl, kl_weight

V, LATENT = 12, 3


def make_vae(**kwargs):
    encoder = RecurrentBackbone(V, "lstm", 1, 8, name="encoder")
    decoder = CausalLM(RecurrentBackbone(V, "lstm", 2, 8, name="decoder_backbone"),
                       tie_embeddings=False, name="decoder")
    model = SentenceVAE(encoder, decoder, LATENT, unknown_id=0, seed=1, **kwargs)
    model.build()
    return model


def sentences(count=64, seed=0):
    """`<eos>=1 w… <eos>` rows: the first word decides the rest (w, w+1, w+2, …)."""
    rng = np.random.default_rng(seed)
    ids = np.zeros((count, 8), "int32")
    mask = np.zeros((count, 8), bool)
    for row in range(count):
        n, first = rng.integers(2, 6), rng.integers(2, 7)
        ids[row, :n + 2] = [1] + [first + i for i in range(n)] + [1]
        mask[row, :n + 2] = True
    return {"token_ids": ids, "padding_mask": mask}


def test_the_kl_term_equals_its_closed_form_and_a_monte_carlo_estimate():
    mean = np.array([[0.5, -1.0, 0.0]], "float32")
    log_variance = np.array([[0.0, -1.0, 0.7]], "float32")
    closed = np.asarray(gaussian_kl(mean, log_variance))[0]
    variance = np.exp(log_variance[0])
    np.testing.assert_allclose(closed, 0.5 * (variance + mean[0] ** 2 - 1 - log_variance[0]),
                               rtol=1e-6)
    z = np.random.default_rng(0).normal(mean[0], np.sqrt(variance), (400000, 3))
    log_q = -0.5 * ((z - mean[0]) ** 2 / variance + log_variance[0] + np.log(2 * np.pi))
    log_p = -0.5 * (z ** 2 + np.log(2 * np.pi))
    np.testing.assert_allclose((log_q - log_p).mean(0), closed, atol=0.01)


@pytest.mark.parametrize("schedule, steps, expected", [
    ("linear", [0, 50, 100, 400], [0.0, 0.5, 1.0, 1.0]),
    ("logistic", [100], [0.5]),
    ("none", [0, 7], [1.0, 1.0]),
])
def test_kl_weight_schedules(schedule, steps, expected):
    got = [float(kl_weight(s, schedule, 100, 0.0025)) for s in steps]
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert float(kl_weight(5000, "logistic", 2500, 0.0025)) > 0.998


def test_training_lowers_the_elbo_and_validation_reports_it_with_weight_one():
    model = make_vae(word_dropout=0.2, kl_schedule="linear", kl_anneal_steps=30)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    data = tf.data.Dataset.from_tensor_slices(sentences()).batch(16)
    history = model.fit(data.repeat(), steps_per_epoch=10, epochs=4, validation_data=data,
                        verbose=0).history
    assert history["val_loss"][-1] < history["val_loss"][0] - 1.0
    assert history["val_kl_weight"] == [1.0] * 4 and history["kl_weight"][0] < 0.4
    np.testing.assert_allclose(history["val_loss"],
                               np.add(history["val_reconstruction"], history["val_kl"]),
                               rtol=1e-4)


def test_free_bits_hold_each_dimensions_kl_at_lambda_while_training():
    model = make_vae(kl_schedule="none", free_bits=0.5)
    model.compile(optimizer="adam")
    inputs = sentences(8)
    outputs = model(inputs, training=True)
    reconstruction, kl, per_dim = model.sentence_terms(inputs, outputs)
    loss = model.compute_loss(x=inputs, y_pred=outputs, training=True)
    expected = np.mean(reconstruction) + np.sum(np.maximum(np.mean(per_dim, 0), 0.5))
    np.testing.assert_allclose(float(loss), expected, rtol=1e-5)
    plain = model.compute_loss(x=inputs, y_pred=outputs, training=False)
    np.testing.assert_allclose(float(plain), np.mean(reconstruction) + np.mean(kl), rtol=1e-5)


def test_z_reaches_the_decoder_through_its_initial_state():
    model = make_vae()
    ids = sentences(2)["token_ids"][:, :-1]
    a = np.asarray(model.decode_logits(ids, np.zeros((2, LATENT), "float32")))
    b = np.asarray(model.decode_logits(ids, np.ones((2, LATENT), "float32")))
    assert np.abs(a - b).max() > 1e-4
    assert model.initial_state(np.zeros((2, LATENT), "float32")).shape == (2, 2, 2, 8)


def test_round_trip_in_safe_mode(tmp_path):
    model = make_vae(word_dropout=0.1, free_bits=0.25)
    inputs = sentences(4)
    path = str(tmp_path / "vae.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(loaded, SentenceVAE) and loaded.free_bits == 0.25
    for a, b in zip(model.encode(inputs["token_ids"][:, 1:], inputs["padding_mask"][:, 1:]),
                    loaded.encode(inputs["token_ids"][:, 1:], inputs["padding_mask"][:, 1:])):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6)


def test_bad_arguments_are_refused():
    encoder = RecurrentBackbone(V, "lstm", 1, 8)
    decoder = CausalLM(RecurrentBackbone(V, "lstm", 1, 8), tie_embeddings=False)
    with pytest.raises(ValueError, match="Received: latent_dim=0"):
        SentenceVAE(encoder, decoder, 0, unknown_id=0)
    with pytest.raises(ValueError, match="must be recurrent"):
        SentenceVAE(GPTBackbone(V, 1, 2, 8, sequence_length=8), decoder, 2, unknown_id=0)
    with pytest.raises(ValueError, match="kl_schedule='cyclic'"):
        SentenceVAE(encoder, decoder, 2, unknown_id=0, kl_schedule="cyclic")
