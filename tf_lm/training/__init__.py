"""Training: strategies, callbacks, `train()`: the one path, `model.fit` under a strategy."""

from tf_lm.training.strategy import is_chief, resolve_strategy
from tf_lm.training.trainer import TrainResult, train

__all__ = ["train", "TrainResult", "resolve_strategy", "is_chief"]
