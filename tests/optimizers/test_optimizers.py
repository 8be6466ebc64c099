import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_lm.config import Config
from tf_lm.models import build_causal_lm
from tf_lm.optimizers import AdamW, build_optimizer


def optimizer_for(preset="nanogpt-cpu", overrides=()):
    config = Config.resolve(preset=preset, overrides=list(overrides))
    return config, build_optimizer(config.train, config.train.steps, 100)


def test_nanogpt_recipe():
    _, optimizer = optimizer_for()
    assert isinstance(optimizer, keras.optimizers.AdamW)
    assert optimizer.beta_2 == 0.99 and optimizer.weight_decay == 0.1
    assert optimizer.clip_norm == 1.0 and optimizer.global_clipnorm is None
    assert float(optimizer.learning_rate) == pytest.approx(4e-5)  # warmup step 0: 4e-3 / 100
    _, reference = optimizer_for("nanogpt-cpu-reference")
    assert float(reference.learning_rate) == pytest.approx(1e-5)  # nanoGPT: 1e-3 / 100


def test_zaremba_recipe_is_sgd_with_the_papers_clip_and_epoch_decay_for_a_mean_loss():
    _, optimizer = optimizer_for("zaremba-small")
    assert isinstance(optimizer, keras.optimizers.SGD)
    assert optimizer.clip_norm == 5.0 / 20  # the paper's 5 on a loss summed over 20 steps
    schedule = optimizer._learning_rate
    # lr 1 on the summed loss is 20 on the mean; halved from epoch 5 (of 100 steps each)
    assert float(schedule(0)) == 20.0 and float(schedule(399)) == 20.0
    assert float(schedule(400)) == 10.0 and float(schedule(500)) == 5.0


def decayed_variables(decay_embeddings):
    config, optimizer = optimizer_for(overrides=[
        f"train.decay_embeddings={str(decay_embeddings).lower()}", "train.warmup_steps=0",
        "model.use_bias=true", "model.num_layers=1"])
    model = build_causal_lm(config.model, 11, 8)
    model.compile(optimizer=optimizer)
    before = {v.path: np.asarray(v).copy() for v in model.trainable_variables}
    optimizer.apply([tf.zeros_like(v) for v in model.trainable_variables],
                    model.trainable_variables)
    return {v.path.split("/")[-1] for v in model.trainable_variables
            if not np.array_equal(before[v.path], np.asarray(v))}


def test_weight_decay_skips_norms_and_biases():
    assert decayed_variables(True) == {"kernel", "embeddings"}
    assert decayed_variables(False) == {"kernel"}


def test_gradient_norm_is_recorded_and_clipping_uses_it():
    optimizer = AdamW(learning_rate=0.1, weight_decay=0.0, clip_norm=1.0)
    a, b = keras.Variable(np.zeros(3, "float32")), keras.Variable(np.zeros(4, "float32"))
    grads = [tf.constant([3.0, 0.0, 0.0]), tf.constant([0.0, 4.0, 0.0, 0.0])]
    optimizer.apply(grads, [a, b])
    assert float(optimizer.gradient_norm) == pytest.approx(5.0)
    # Adam's first step moves each weight by lr * sign(g) whatever the scale, so check with SGD.
    sgd = build_optimizer(Config.resolve(preset="zaremba-small").train, 100, 100)
    c = keras.Variable(np.zeros(2, "float32"))
    sgd.apply([tf.constant([30.0, 40.0])], [c])
    np.testing.assert_allclose(np.asarray(c), [-3.0, -4.0], rtol=1e-6)  # clipped to norm 5


def test_gradient_accumulation_keeps_the_schedule_in_batches():
    _, optimizer = optimizer_for(overrides=["train.gradient_accumulation_steps=4"])
    assert optimizer.gradient_accumulation_steps == 4
    variable = keras.Variable(np.zeros(2, "float32"))
    optimizer.build([variable])
    for _ in range(100):  # Keras calls the schedule with the batch count
        optimizer.apply([tf.ones(2)], [variable])
    assert float(optimizer.learning_rate) == pytest.approx(4e-3, rel=1e-3)  # warmup over
