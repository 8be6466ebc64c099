"""The standard checks every public tf_lm layer and model passes (keras-hub's `run_layer_test`)."""

import warnings

import keras
import numpy as np

MIXED_POLICIES = ("mixed_float16", "mixed_bfloat16")


def _numpy(x):
    return keras.ops.convert_to_numpy(x)


def _symbolic_input(data):
    return keras.Input(shape=data.shape[1:], batch_size=data.shape[0], dtype=str(data.dtype))


def run_layer_checks(make_layer, input_data, expected_output_shape, expected_num_weights,
                     tmp_path, dropout=None):
    """Run the standard checks on the layer that `make_layer(**kwargs)` builds.

    - `get_config` / `from_config` round trip gives the same config;
    - `build` creates `expected_num_weights` variables;
    - eager and symbolic calls agree on output shape and dtype;
    - a `.keras` file reloads with `safe_mode=True` and gives identical outputs;
    - one `fit` step under `jit_compile=True` changes the weights and keeps the loss finite;
    - under `mixed_float16` and `mixed_bfloat16` outputs are in the compute dtype and
      variables stay float32;
    - with `dropout` (the name of a dropout-rate argument), `training=True` changes outputs
      and `training=False` is deterministic.
    """
    layer = make_layer()
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config

    layer.build(input_data.shape)
    assert len(layer.weights) == expected_num_weights, [w.path for w in layer.weights]

    eager = layer(input_data)
    assert tuple(eager.shape) == tuple(expected_output_shape)
    assert keras.backend.standardize_dtype(eager.dtype) == "float32"
    symbolic = make_layer()(_symbolic_input(input_data))
    assert tuple(symbolic.shape) == tuple(eager.shape)
    assert symbolic.dtype == "float32"

    _check_save_and_reload(make_layer, input_data, tmp_path)
    _check_fit_step(make_layer, input_data)
    for policy in MIXED_POLICIES:
        mixed = make_layer(dtype=policy)
        outputs = mixed(input_data)
        compute_dtype = keras.DTypePolicy(policy).compute_dtype
        assert keras.backend.standardize_dtype(outputs.dtype) == compute_dtype, policy
        assert all(v.dtype == "float32" for v in mixed.weights), policy
    if dropout is not None:
        noisy = make_layer(**{dropout: 0.5})
        first = _numpy(noisy(input_data, training=True))
        second = _numpy(noisy(input_data, training=True))
        assert not np.allclose(first, second), "training=True did not reach dropout"
        np.testing.assert_array_equal(_numpy(noisy(input_data, training=False)),
                                      _numpy(noisy(input_data, training=False)))


def _wrap(layer, input_data):
    inputs = _symbolic_input(input_data)
    return keras.Model(inputs, layer(inputs))


def _check_save_and_reload(make_layer, input_data, tmp_path):
    model = _wrap(make_layer(), input_data)
    expected = _numpy(model(input_data))
    path = tmp_path / "layer.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(_numpy(reloaded(input_data)), expected)


def _check_fit_step(make_layer, input_data):
    model = _wrap(make_layer(), input_data)
    before = [_numpy(w).copy() for w in model.trainable_weights]
    target = np.ones(tuple(model.output.shape), "float32")
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse", jit_compile=True)
    with warnings.catch_warnings():  # a weightless layer still trains: "no trainable weights"
        warnings.simplefilter("ignore", UserWarning)
        history = model.fit(input_data, target, batch_size=input_data.shape[0], epochs=1,
                            verbose=0)
    assert np.isfinite(history.history["loss"][0])
    if before:
        after = [_numpy(w) for w in model.trainable_weights]
        assert any(not np.array_equal(b, a) for b, a in zip(before, after))
