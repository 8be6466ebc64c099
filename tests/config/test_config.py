import json

import pytest

from tf_lm.config import PRESETS, Config
from tf_lm.errors import InputError


def test_default_is_nanogpt_cpu_recipe():
    config = Config.resolve()
    assert config.preset == "nanogpt-cpu"
    assert (config.model.num_layers, config.model.num_heads, config.model.hidden_dim) == (4, 4, 128)
    assert config.data.block_size == 64 and config.train.batch_size == 12
    assert config.train.steps == 2000 and config.train.beta_2 == 0.99
    assert config.data.corpus == "tinyshakespeare" and config.data.tokenizer == "char"


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_resolves_and_round_trips(name):
    config = Config.from_preset(name)
    assert Config.from_dict(json.loads(config.to_json())) == config


def test_preset_values():
    medium = Config.from_preset("zaremba-medium")
    assert medium.model.hidden_dim == 650 and medium.model.dropout == 0.5
    assert medium.data.block_size == 35 and medium.data.sampler == "contiguous"
    assert Config.from_preset("nanogpt-baby").data.block_size == 256


def test_dotted_overrides_are_typed():
    config = Config.resolve(overrides=["data.block_size=128", "train.learning_rate=3e-4",
                                       "train.jit_compile=false", "train.clip_norm=null",
                                       "data.corpus=a.txt"])
    assert config.data.block_size == 128 and config.train.learning_rate == 3e-4
    assert config.train.jit_compile is False and config.train.clip_norm is None
    assert config.data.corpus == "a.txt"
    assert config.override_summary() == {
        "data.block_size": 128, "train.learning_rate": 3e-4, "train.jit_compile": False,
        "train.clip_norm": None, "data.corpus": "a.txt"}


@pytest.mark.parametrize("override, words", [
    (["data.blok_size=3"], ["Unknown config key 'data.blok_size'", "data.block_size"]),
    (["nosection.x=1"], ["Unknown config key 'nosection.x'"]),
    (["data.block_size=abc"], ["'data.block_size' expects int", "'abc'"]),
    (["data.block_size=0"], ["'data.block_size' must be >= 1", "Received: 0"]),
    (["data.block_size=-5"], ["'data.block_size'", "-5"]),
    (["data.tokenizer=bpe2"], ["'data.tokenizer' expects one of", "'bpe2'"]),
    (["train.jit_compile=maybe"], ["'train.jit_compile' expects bool"]),
    (["model.hidden_dim=130"], ["divisible", "hidden_dim=130"]),
    (["data.valid_fraction=0.5", "data.test_fraction=0.45"], ["at least 10%"]),
    (["train.learning_rate=nan"], ["finite"]),
    (["block_size"], ["section.key=value"]),
    (["train.layer_lr_decay=0"], ["'train.layer_lr_decay' must be > 0"]),
    (["train.layer_lr_decay=1.5"], ["'train.layer_lr_decay' must be <= 1"]),
    (["model.task=vae", "model.architecture=lstm", "data.tokenizer=word",
      "train.unfreeze_epochs=1"], ["'train.unfreeze_epochs' apply to language models and "
                                   "classifiers", "model.task='vae'"]),
])
def test_bad_overrides_name_the_key(override, words):
    with pytest.raises(InputError) as info:
        Config.resolve(overrides=override)
    for word in words:
        assert word in str(info.value)


def test_unknown_preset_lists_the_valid_ones():
    with pytest.raises(InputError, match="Unknown preset 'gpt5'.*nanogpt-cpu"):
        Config.resolve(preset="gpt5")


def test_json_and_yaml_files(tmp_path):
    (tmp_path / "c.json").write_text(json.dumps({"preset": "seed-lstm",
                                                 "data": {"block_size": 32}}))
    config = Config.from_file(str(tmp_path / "c.json"))
    assert config.preset == "seed-lstm" and config.model.architecture == "lstm"
    assert config.data.block_size == 32
    (tmp_path / "c.yaml").write_text("train:\n  steps: 7\n  learning_rate: 0.01\n")
    config = Config.resolve(preset="nanogpt-baby", file=str(tmp_path / "c.yaml"),
                            overrides=["train.steps=9"])
    assert config.model.hidden_dim == 384 and config.train.steps == 9
    assert config.train.learning_rate == 0.01


@pytest.mark.parametrize("content, words", [
    ({"data": {"nope": 1}}, ["Unknown config key 'data.nope'", "data.block_size"]),
    ({"data": {"block_size": "64"}}, ["'data.block_size' expects int", "'64'"]),
    ({"data": {"block_size": 64.0}}, ["'data.block_size' expects int"]),
    ({"train": {"jit_compile": 1}}, ["'train.jit_compile' expects bool"]),
    ({"optimizer": {}}, ["Unknown config section 'optimizer'"]),
    ({"data": {"block_size": 0}}, ["must be >= 1"]),
])
def test_bad_config_files(tmp_path, content, words):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(content))
    with pytest.raises(InputError) as info:
        Config.from_file(str(path))
    for word in words:
        assert word in str(info.value)


def test_unparsable_and_missing_files(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("data: [unclosed\n")
    with pytest.raises(InputError, match="broken.yaml' is not valid"):
        Config.from_file(str(path))
    with pytest.raises(InputError, match="not found: '.*missing.json'"):
        Config.from_file(str(tmp_path / "missing.json"))


def test_save_writes_resolved_json(tmp_path):
    config = Config.resolve(overrides=["data.block_size=16"])
    config.save(str(tmp_path / "config.json"))
    data = json.loads((tmp_path / "config.json").read_text())
    assert data["data"]["block_size"] == 16 and data["preset"] == "nanogpt-cpu"
    assert Config.from_dict(data) == config
    assert not (tmp_path / "config.json.tmp").exists()


def test_configs_are_immutable():
    config = Config.resolve()
    with pytest.raises(Exception):
        config.data.block_size = 3


def test_every_key_has_help():
    keys = Config.keys()
    assert len(keys) > 40
    assert all(doc for _, _, _, doc in keys)


@pytest.mark.parametrize("override,message", [
    ("export.name=my model", "'export.name' must start with a letter or digit"),
    ("export.default_max_new_tokens=2000", "'export.default_max_new_tokens' must be at most"),
])
def test_export_settings_are_checked_before_any_training(override, message):
    with pytest.raises(InputError, match=message):
        Config.resolve(overrides=[override])


@pytest.mark.parametrize("overrides,message", [
    (["model.hidden_dim=100", "model.num_heads=3"],
     "'model.hidden_dim': `hidden_dim` must be divisible by `num_heads`. Received: "
     "hidden_dim=100, num_heads=3"),
    (["model.activation=not_an_activation"],
     "'model.activation': `activation` must be a Keras activation"),
])
def test_model_invariants_are_the_layers_own_rules_checked_early(overrides, message):
    with pytest.raises(InputError, match=message):
        Config.resolve(overrides=overrides)


def test_any_keras_activation_is_accepted():
    assert Config.resolve(overrides=["model.activation=silu"]).model.activation == "silu"


@pytest.mark.parametrize("overrides,message", [
    (["data.folds=10"], "'data.folds', 'data.fold' and 'data.quoting' apply to classifier"),
    (["data.quoting=none"], "'data.folds', 'data.fold' and 'data.quoting' apply to classifier"),
    (["model.task=classifier", "data.folds=1"], "'data.folds' must be 0 .* or at least 2"),
    (["model.task=classifier", "data.fold=3"], r"'data.fold' \(3\) picks one of 'data.folds'"),
    (["model.task=classifier", "data.folds=5", "data.fold=5"],
     "'data.fold' must be below data.folds=5"),
    (["model.task=classifier", "data.folds=5", "data.test_fraction=0.1"],
     "makes fold 0 the test split; 'data.test_fraction' must then be 0"),
])
def test_cross_validation_keys_are_checked_before_any_data_is_read(overrides, message):
    with pytest.raises(InputError, match=message):
        Config.resolve(overrides=overrides)
    folds = Config.resolve(overrides=["model.task=classifier", "data.folds=5", "data.fold=4",
                                      "data.test_fraction=0"])
    assert (folds.data.folds, folds.data.fold) == (5, 4)
