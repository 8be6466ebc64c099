"""The root of the config tree, with presets, files and dotted overrides."""

import dataclasses
import json
import os
from typing import Optional

from tf_lm.config.data_config import DataConfig
from tf_lm.config.export_config import NAME_PATTERN, ExportConfig
from tf_lm.config.fields import field_types, parse_value, section_from_dict, validate_section
from tf_lm.config.model_config import ModelConfig
from tf_lm.config.presets import DEFAULT_PRESET, PRESETS
from tf_lm.config.train_config import TrainConfig
from tf_lm.errors import InputError
from tf_lm.utils.checks import check_divisible

_SECTIONS = {"model": ModelConfig, "data": DataConfig, "train": TrainConfig,
             "export": ExportConfig}


@dataclasses.dataclass(frozen=True)
class Config:
    """Everything a run needs, as one typed, immutable tree.

    Build one with `Config.resolve(preset=..., file=..., overrides=[...])`: the preset is
    applied over the defaults, then the file, then the dotted overrides
    (`"data.block_size=128"`). Unknown keys, wrong types and impossible values raise
    `InputError` naming the key.

    Example:
    ```python
    config = Config.resolve(preset="seed-lstm", overrides=["train.steps=10"])
    config.data.block_size  # 64
    config.to_json()
    ```
    """

    # The preset this config started from.
    preset: str = DEFAULT_PRESET
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    export: ExportConfig = dataclasses.field(default_factory=ExportConfig)

    def __post_init__(self):
        if self.preset not in PRESETS:
            raise InputError(
                f"Unknown preset '{self.preset}'. Valid presets: {', '.join(sorted(PRESETS))}"
            )
        for name in _SECTIONS:
            validate_section(getattr(self, name), name)
        self._check_consistency()

    def _check_consistency(self):
        data, model = self.data, self.model
        if data.valid_fraction + data.test_fraction >= 0.9:
            raise InputError(
                "Config keys 'data.valid_fraction' + 'data.test_fraction' must leave at least "
                f"10% for training. Received: {data.valid_fraction} + {data.test_fraction}"
            )
        if model.architecture == "gpt":
            try:  # the attention layer's own rule, checked before anything is built
                check_divisible("hidden_dim", model.hidden_dim, "num_heads", model.num_heads)
            except ValueError as e:
                raise InputError(f"Config key 'model.hidden_dim': {e}") from None
        if model.architecture == "gpt" and model.embedding_dim not in (0, model.hidden_dim):
            raise InputError(
                "Config key 'model.embedding_dim' must be 0 or equal to 'model.hidden_dim' for a "
                f"gpt model. Received: embedding_dim={model.embedding_dim}, "
                f"hidden_dim={model.hidden_dim}"
            )
        if model.task != "classifier" and (data.lowercase or data.stopwords):
            raise InputError(
                "Config keys 'data.lowercase' and 'data.stopwords' apply to classifier runs "
                f"(model.task=classifier). Received: model.task={model.task!r}")
        if model.task != "classifier" and (data.folds or data.fold or data.quoting != "csv"):
            raise InputError(
                "Config keys 'data.folds', 'data.fold' and 'data.quoting' apply to classifier "
                f"runs (model.task=classifier). Received: model.task={model.task!r}")
        if data.folds == 1:
            raise InputError("Config key 'data.folds' must be 0 (no cross-validation) or at "
                             "least 2. Received: 1")
        if data.fold and not data.folds:
            raise InputError(f"Config key 'data.fold' ({data.fold}) picks one of 'data.folds', "
                             "which is 0 (no cross-validation); set data.folds too")
        if data.folds and data.fold >= data.folds:
            raise InputError(f"Config key 'data.fold' must be below data.folds={data.folds} "
                             f"(folds are numbered from 0). Received: {data.fold}")
        if data.folds and data.test_fraction:
            raise InputError(
                f"Config key 'data.folds' makes fold {data.fold} the test split; "
                f"'data.test_fraction' must then be 0. Received: {data.test_fraction}")
        if model.task == "classifier" and data.sampler == "contiguous":
            raise InputError("A classifier reads each text on its own; data.sampler="
                             "'contiguous' (stateful training) is for language models.")
        if model.task == "classifier" and model.num_classes == 1:
            raise InputError("Config key 'model.num_classes' must be 0 (from the data) or at "
                             "least 2. Received: 1")
        train = self.train
        if model.task == "vae":
            if model.architecture == "gpt":
                raise InputError("A sentence VAE (model.task=vae) is recurrent: z is its "
                                 "decoder's initial state. Received: model.architecture='gpt'")
            if data.tokenizer != "word":
                raise InputError("A sentence VAE (model.task=vae) reads words: data.tokenizer "
                                 f"must be 'word'. Received: {data.tokenizer!r}")
            if data.sampler == "contiguous":
                raise InputError("A sentence VAE reads each sentence on its own; data.sampler="
                                 "'contiguous' (stateful training) is for language models.")
            if train.init_from:
                raise InputError("train.init_from does not apply to a sentence VAE "
                                 "(model.task=vae) yet; it starts from scratch.")
            if train.layer_lr_decay != 1.0 or train.unfreeze_epochs:
                raise InputError("Config keys 'train.layer_lr_decay' and "
                                 "'train.unfreeze_epochs' apply to language models and "
                                 "classifiers. Received: model.task='vae'")
        elif train.free_bits:
            raise InputError("Config key 'train.free_bits' applies to a sentence VAE "
                             f"(model.task=vae). Received: model.task={model.task!r}")
        if model.word_dropout and model.task == "causal_lm":
            raise InputError("Config key 'model.word_dropout' applies to a sentence VAE or a "
                             "classifier (model.task=vae or classifier). Received: "
                             "model.task='causal_lm'")
        if model.task != "classifier" and train.monitor != "val_loss":
            raise InputError(
                f"Config key 'train.monitor' is {train.monitor!r}, a classifier's figure; a "
                "language model monitors 'val_loss'.")
        if model.architecture != "gpt" and (train.freeze_blocks or train.lora_rank):
            raise InputError(
                "Config keys 'train.freeze_blocks' and 'train.lora_rank' apply to gpt models "
                f"(Transformer blocks). Received: model.architecture={model.architecture!r}")
        if train.freeze_blocks > model.num_layers:
            raise InputError(
                f"Config key 'train.freeze_blocks' is {train.freeze_blocks} but the model has "
                f"{model.num_layers} blocks (model.num_layers)")
        if train.eval_interval == 0 and not train.epochs:
            raise InputError("Config key 'train.eval_interval' may be 0 (validate after every "
                             "epoch) only with 'train.epochs' > 0. Received: train.epochs=0")
        export = self.export
        if not NAME_PATTERN.fullmatch(export.name):
            raise InputError(
                "Config key 'export.name' must start with a letter or digit and hold only "
                f"letters, digits, '_', '-' and '.' (TF Serving's model names). Received: "
                f"name={export.name!r}")
        if export.default_max_new_tokens > export.max_new_tokens_limit:
            raise InputError(
                "Config key 'export.default_max_new_tokens' must be at most "
                f"'export.max_new_tokens_limit'. Received: {export.default_max_new_tokens} > "
                f"{export.max_new_tokens_limit}")
        if model.activation not in ("gelu", "gelu_tanh", "relu"):  # else ask Keras
            from tf_lm.utils.activations import get_activation  # imports TensorFlow

            try:
                get_activation(model.activation)
            except ValueError as e:
                raise InputError(f"Config key 'model.activation': {e}") from None
        embedding_dim = model.embedding_dim or model.hidden_dim
        if model.tie_embeddings and embedding_dim != model.hidden_dim:
            raise InputError(
                "Config key 'model.tie_embeddings' needs 'model.embedding_dim' equal to "
                f"'model.hidden_dim'. Received: embedding_dim={model.embedding_dim}, "
                f"hidden_dim={model.hidden_dim}"
            )

    @classmethod
    def keys(cls):
        """Every dotted key, with its type, default and help, in declaration order."""
        rows = []
        for name, section_cls in _SECTIONS.items():
            types = field_types(section_cls)
            for f in dataclasses.fields(section_cls):
                rows.append((f"{name}.{f.name}", types[f.name], f.default, f.metadata["help"]))
        return rows

    @classmethod
    def from_dict(cls, data, base=None):
        """Applies a nested dict over `base` (default: the preset named in it, or the default).

        Raises:
            InputError: unknown sections or keys, wrong types, impossible values.
        """
        if not isinstance(data, dict):
            raise InputError(f"A config must be a mapping of sections. Received: {data!r}")
        unknown = sorted(set(data) - set(_SECTIONS) - {"preset"})
        if unknown:
            raise InputError(
                f"Unknown config section '{unknown[0]}'. Valid sections: preset, "
                + ", ".join(_SECTIONS)
            )
        if base is None or "preset" in data:
            base = cls.from_preset(data.get("preset", base.preset if base else DEFAULT_PRESET))
        changes = {}
        for name, section_cls in _SECTIONS.items():
            if name in data:
                merged = dataclasses.asdict(getattr(base, name))
                section_from_dict(section_cls, data[name], name)  # refuse bad keys/types
                merged.update(data[name])
                changes[name] = section_from_dict(section_cls, merged, name)
        return dataclasses.replace(base, **changes)

    @classmethod
    def from_preset(cls, name):
        """The defaults with preset `name` applied."""
        if not isinstance(name, str) or name not in PRESETS:
            raise InputError(
                f"Unknown preset '{name}'. Valid presets: {', '.join(sorted(PRESETS))}"
            )
        config = cls(preset=name)
        if PRESETS[name]:
            config = cls.from_dict(PRESETS[name], base=config)
        return config

    @classmethod
    def from_file(cls, path, base=None):
        """Reads a JSON (`.json`) or YAML (`.yaml`, `.yml`) config file."""
        return cls.from_dict(cls.file_data(path), base=base)

    @staticmethod
    def file_data(path):
        """The nested dict of a JSON or YAML config file, not yet checked."""
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise InputError(f"Config file not found: '{path}'")
        with open(path, encoding="utf-8") as f:
            text = f.read()
        try:
            if path.endswith((".yaml", ".yml")):
                import yaml

                data = yaml.safe_load(text)
            else:
                data = json.loads(text)
        except Exception as e:  # yaml.YAMLError, json.JSONDecodeError
            raise InputError(f"Config file '{path}' is not valid: {e}") from None
        return data if data is not None else {}

    def with_overrides(self, overrides):
        """Applies dotted overrides, each `"section.key=value"` (value parsed by the key's type)."""
        nested = {}
        for item in overrides:
            if "=" not in item:
                raise InputError(
                    f"Config override '{item}' must look like section.key=value "
                    "(for example data.block_size=128)"
                )
            key, text = item.split("=", 1)
            key = key.strip().lstrip("-")
            section, _, name = key.partition(".")
            if key == "preset":
                raise InputError("The preset cannot be overridden; use --preset NAME")
            if section not in _SECTIONS or not name:
                raise InputError(
                    f"Unknown config key '{key}'. Keys look like section.key with section "
                    f"one of: {', '.join(_SECTIONS)}"
                )
            types = field_types(_SECTIONS[section])
            if name not in types:
                valid = ", ".join(f"{section}.{n}" for n in types)
                raise InputError(f"Unknown config key '{key}'. Valid keys: {valid}")
            nested.setdefault(section, {})[name] = parse_value(key, text, types[name])
        return Config.from_dict(nested, base=self) if nested else self

    @classmethod
    def resolve(cls, preset=None, file=None, overrides=()):
        """preset, then file, then overrides: the order the CLI applies them."""
        config = cls.from_preset(preset or DEFAULT_PRESET)
        if file:
            config = cls.from_file(file, base=config)
        return config.with_overrides(overrides)

    def to_dict(self):
        return dataclasses.asdict(self)

    def to_flat_dict(self):
        """{"section.key": value} for every key (hparams, config differences)."""
        flat = {}
        for section, values in self.to_dict().items():
            if isinstance(values, dict):
                flat.update({f"{section}.{key}": value for key, value in values.items()})
            else:
                flat[section] = values
        return flat

    def to_json(self):
        return json.dumps(self.to_dict(), indent=2, sort_keys=False) + "\n"

    def save(self, path):
        """Writes the resolved config as JSON (to a temporary file, then renamed into place)."""
        tmp = f"{path}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(self.to_json())
        os.replace(tmp, path)

    def override_summary(self, other: Optional["Config"] = None):
        """Dotted keys whose values differ from `other` (default: the preset's defaults)."""
        other = other or Config.from_preset(self.preset)
        a, b = self.to_dict(), other.to_dict()
        return {
            f"{s}.{k}": v for s in _SECTIONS for k, v in a[s].items() if b[s][k] != v
        }
