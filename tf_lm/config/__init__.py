"""The typed config tree (model / data / train / export), presets and overrides."""

from tf_lm.config.config import Config
from tf_lm.config.data_config import DataConfig
from tf_lm.config.export_config import ExportConfig
from tf_lm.config.model_config import ModelConfig
from tf_lm.config.presets import DEFAULT_PRESET, PRESETS
from tf_lm.config.train_config import TrainConfig

__all__ = ["Config", "DataConfig", "ExportConfig", "ModelConfig", "TrainConfig", "PRESETS",
           "DEFAULT_PRESET"]
