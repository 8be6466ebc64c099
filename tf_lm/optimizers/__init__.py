"""Optimizers and learning-rate schedules: Keras' own, clipped by the reduced gradient's norm."""

from tf_lm.optimizers.builder import build_optimizer, build_schedule
from tf_lm.optimizers.epoch_decay import EpochDecay
from tf_lm.optimizers.global_norm_clipping import SGD, Adam, AdamW, GlobalNormClipping
from tf_lm.optimizers.warmup_cosine_decay import WarmupCosineDecay

__all__ = ["build_optimizer", "build_schedule", "Adam", "AdamW", "SGD", "GlobalNormClipping",
           "EpochDecay", "WarmupCosineDecay"]
