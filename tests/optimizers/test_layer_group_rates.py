import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_lm.config import Config
from tf_lm.optimizers import SGD, Adam, AdamW, build_optimizer


def grouped(optimizer, n=3):
    """n one-element variables, variable g in group g, and one in no group."""
    variables = [keras.Variable(np.zeros(1, "float32"), name=f"v{g}") for g in range(n + 1)]
    optimizer.set_layer_groups([[v] for v in variables[:n]])
    optimizer.build(variables)
    return variables


def test_each_group_learns_at_its_factor_of_the_rate():
    # Adam's first step moves a weight by the rate times the sign of its gradient.
    optimizer = Adam(learning_rate=0.1, layer_lr_decay=0.5)
    variables = grouped(optimizer)
    optimizer.apply([tf.ones(1)] * 4, variables)
    np.testing.assert_allclose([float(v[0]) for v in variables], [-0.1, -0.05, -0.025, -0.1],
                               rtol=1e-5)  # the last is in no group: the top group's rate


def test_gradual_unfreezing_holds_group_g_until_step_g_times_unfreeze_steps():
    optimizer = SGD(learning_rate=1.0, unfreeze_steps=2)
    variables = grouped(optimizer)
    moved = []
    for _ in range(5):
        optimizer.apply([tf.ones(1)] * 4, variables)
        moved.append([-float(v[0]) for v in variables])
    # group 0 from step 0, group 1 from step 2, group 2 from step 4
    assert moved == [[1, 0, 0, 1], [2, 0, 0, 2], [3, 1, 0, 3], [4, 2, 0, 4], [5, 3, 1, 5]]


def test_held_groups_count_in_batches_with_accumulation_and_in_the_clipped_norm():
    # Two batches an update: updates at batches 1, 3, 5; group 1 joins at batch 2, group 2 at 4.
    optimizer = SGD(learning_rate=1.0, unfreeze_steps=2, gradient_accumulation_steps=2)
    variables = grouped(optimizer)[:3]
    moved, norms = [], []
    for _ in range(6):
        optimizer.apply([tf.ones(1)] * 3, variables)
        moved.append([-float(v[0]) for v in variables])
        norms.append(float(optimizer.gradient_norm))
    assert moved[1] == [1, 0, 0] and moved[3] == [2, 1, 0] and moved[5] == [3, 2, 1]
    np.testing.assert_allclose(norms[1::2], [3 ** 0.5] * 3, rtol=1e-6)  # held ones count


def test_a_group_held_still_is_not_weight_decayed():
    optimizer = AdamW(learning_rate=0.1, weight_decay=0.5, unfreeze_steps=10,
                      layer_lr_decay=0.5)
    variables = [keras.Variable(np.ones(1, "float32"), name=f"w{g}") for g in range(2)]
    optimizer.set_layer_groups([[variables[0]], [variables[1]]])
    optimizer.apply([tf.zeros(1)] * 2, variables)
    assert float(variables[0][0]) == pytest.approx(1 - 0.5 * 0.1)
    assert float(variables[1][0]) == 1.0
    optimizer.iterations.assign(10)
    optimizer.apply([tf.zeros(1)] * 2, variables)
    assert float(variables[1][0]) == pytest.approx(1 - 0.5 * 0.1 * 0.5)  # decays at its rate


def test_the_config_keys_reach_the_optimizer_in_steps_and_round_trip():
    config = Config.resolve(overrides=["train.layer_lr_decay=0.4", "train.unfreeze_epochs=1.5"])
    optimizer = build_optimizer(config.train, 1000, 40)
    assert optimizer.layer_lr_decay == 0.4 and optimizer.unfreeze_steps == 60
    again = type(optimizer).from_config(optimizer.get_config())
    assert again.layer_lr_decay == 0.4 and again.unfreeze_steps == 60
    tiny = Config.resolve(overrides=["train.unfreeze_epochs=0.01"])
    assert build_optimizer(tiny.train, 1000, 40).unfreeze_steps == 1  # never rounded to off
    grouped(optimizer)
    with pytest.raises(ValueError, match="before the optimizer is built"):
        optimizer.set_layer_groups([])
