"""`tf_lm.models.load_model` loads in Keras' safe mode and refuses, in one line naming the
file, what a model file must not carry or cannot be: code (a Lambda layer), an unregistered
class, a damaged zip, a missing file."""

import keras
import numpy as np
import pytest

from tf_lm.errors import InputError
from tf_lm.models import CausalLM, GPTBackbone, load_model


def test_a_tf_lm_model_round_trips(tmp_path):
    model = CausalLM(GPTBackbone(7, 1, 1, 4, sequence_length=4))
    ids = np.array([[1, 2, 3]], "int32")
    model(ids)
    model.save(tmp_path / "m.keras")
    np.testing.assert_allclose(np.asarray(load_model(str(tmp_path / "m.keras"))(ids)),
                               np.asarray(model(ids)), atol=1e-6)


def test_a_lambda_layer_is_refused_without_running_it(tmp_path):
    ran = []

    def side_effect(x):
        ran.append(True)
        return x * 2

    model = keras.Sequential([keras.Input((3,)), keras.layers.Lambda(side_effect)])
    model.save(tmp_path / "lambda.keras")
    ran.clear()
    with pytest.raises(InputError, match=r"lambda.keras: it holds a Lambda layer") as error:
        load_model(str(tmp_path / "lambda.keras"))
    assert "\n" not in str(error.value) and ran == []


@keras.saving.register_keras_serializable(package="test_only")
class Doubling(keras.layers.Layer):
    def call(self, x):
        return x * 2


def test_an_unregistered_class_is_refused(tmp_path):
    model = keras.Sequential([keras.Input((3,)), Doubling()])
    model.save(tmp_path / "custom.keras")
    keras.saving.get_custom_objects().pop("test_only>Doubling")  # as in a process without it
    try:
        with pytest.raises(InputError, match=r"custom.keras: it names a class .*Doubling"):
            load_model(str(tmp_path / "custom.keras"))
    finally:
        keras.saving.get_custom_objects()["test_only>Doubling"] = Doubling


def test_a_damaged_or_missing_file_is_named(tmp_path):
    model = CausalLM(GPTBackbone(7, 1, 1, 4, sequence_length=4))
    model(np.zeros((1, 2), "int32"))
    model.save(tmp_path / "m.keras")
    data = (tmp_path / "m.keras").read_bytes()
    (tmp_path / "m.keras").write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"m.keras: it is damaged or truncated"):
        load_model(str(tmp_path / "m.keras"))
    with pytest.raises(InputError, match=r"Model file not found: .*none.keras"):
        load_model(str(tmp_path / "none.keras"))
