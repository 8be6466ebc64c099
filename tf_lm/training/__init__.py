"""Training: strategies, optimizers and schedules, callbacks, the run directory, `train()`."""

from tf_lm.training.run_directory import RunDirectory
from tf_lm.training.strategy import is_chief, resolve_strategy
from tf_lm.training.trainer import TrainResult, train

__all__ = ["train", "TrainResult", "RunDirectory", "resolve_strategy", "is_chief"]
