import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_lm.errors import InputError
from tf_lm.models import CausalLM, GPTBackbone
from tf_lm.training.sliced_step import resolve_batch_slices, slice_batches

RNG = np.random.default_rng(11)
X = RNG.integers(0, 13, size=(4, 6)).astype("int32")
Y = RNG.integers(0, 13, size=(4, 6)).astype("int32")


def model():
    keras.utils.set_random_seed(3)  # the same initial weights every time
    lm = CausalLM(GPTBackbone(13, 2, 2, 8, sequence_length=8))
    lm.build((None, None))
    return lm


def compiled():
    lm = model()
    lm.compile(optimizer="adam")
    return lm


def fit(batch_slices, jit_compile=False, batch_size=4):
    lm = model()
    lm.compile(optimizer="adam", jit_compile=jit_compile)
    slice_batches(lm, batch_slices)
    history = lm.fit(X, Y, batch_size=batch_size, epochs=3, verbose=0, shuffle=False)
    return lm.get_weights(), history.history


def assert_same_training(whole, sliced):
    (whole_weights, whole_logs), (sliced_weights, sliced_logs) = whole, sliced
    assert not np.allclose(whole_weights[0], model().get_weights()[0])  # it trained
    for a, b in zip(whole_weights, sliced_weights):
        np.testing.assert_allclose(b, a, atol=2e-6)
    for key in ("loss", "perplexity"):
        np.testing.assert_allclose(sliced_logs[key], whole_logs[key], rtol=1e-5)


@pytest.mark.parametrize("jit_compile", [False, True])
def test_slices_make_the_same_updates_and_logs_as_the_whole_batch(jit_compile):
    assert_same_training(fit(1, jit_compile), fit(2, jit_compile))


def test_uneven_slices_and_a_short_last_batch_make_the_same_updates():
    assert_same_training(fit(1, batch_size=3), fit(2, batch_size=3))  # batches of 3, then 1
    assert_same_training(fit(1), fit(3))  # slices of 2, 1, 1


def test_bad_slices_are_refused():
    with pytest.raises(ValueError, match="slices=0"):
        slice_batches(compiled(), 0)
    summed = model()
    summed.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True,
                                                                   reduction="sum"))
    with pytest.raises(ValueError, match="reduction='sum'"):
        slice_batches(summed, 2)


def test_auto_is_two_on_a_cpu_only_machine_when_it_can_be():
    expected = 1 if tf.config.list_physical_devices("GPU") else 2
    assert resolve_batch_slices(0, 12, stateful=False) == expected
    assert resolve_batch_slices(0, 7, stateful=False) == 1
    assert resolve_batch_slices(0, 12, stateful=True) == 1
    assert resolve_batch_slices(3, 12, stateful=False) == 3


def test_an_explicit_value_must_divide_the_replica_batch_and_not_split_a_carried_state():
    with pytest.raises(InputError, match="batch_slices=5, batch per replica=12"):
        resolve_batch_slices(5, 12, stateful=False)
    with pytest.raises(InputError, match="stateful"):
        resolve_batch_slices(2, 12, stateful=True)
