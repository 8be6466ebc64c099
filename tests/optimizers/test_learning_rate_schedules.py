import math

import keras
import pytest

from tf_lm.optimizers.epoch_decay import EpochDecay
from tf_lm.optimizers.warmup_cosine_decay import WarmupCosineDecay


def nanogpt_lr(it, peak=1e-3, floor=1e-4, warmup=100, decay=2000):
    if it < warmup:
        return peak * (it + 1) / warmup
    if it > decay:
        return floor
    ratio = (it - warmup) / (decay - warmup)
    return floor + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (peak - floor)


@pytest.mark.parametrize("step", [0, 1, 50, 99, 100, 101, 1000, 1999, 2000, 2500])
def test_warmup_cosine_matches_nanogpt(step):
    schedule = WarmupCosineDecay(1e-3, 1e-4, 100, 2000)
    assert float(schedule(step)) == pytest.approx(nanogpt_lr(step), rel=1e-5)


def test_zaremba_small_decay():
    schedule = EpochDecay(1.0, 0.5, start_epoch=5, steps_per_epoch=10)
    # epochs 1-4 at lr 1, epoch 5 at 0.5, epoch 6 at 0.25 ...
    assert [float(schedule(s)) for s in (0, 39, 40, 49, 50, 60)] == [1, 1, 0.5, 0.5, 0.25, 0.125]


@pytest.mark.parametrize("schedule", [WarmupCosineDecay(1e-3, 1e-4, 10, 100),
                                      EpochDecay(1.0, 0.5, 5, 10)])
def test_schedules_serialize(schedule):
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(schedule))
    assert type(restored) is type(schedule)
    assert restored.get_config() == schedule.get_config()
