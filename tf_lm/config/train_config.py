"""The `train` section: optimization and distribution."""

import dataclasses
from typing import Optional

from tf_lm.config.fields import option

STRATEGIES = ("auto", "default", "mirrored", "multi_worker", "tpu")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """How `model.fit` runs: strategy, batch, schedule and regularization."""

    # `auto` picks TPU, multi-worker, mirrored or default from what it finds.
    strategy: str = option("auto", "tf.distribute strategy", choices=STRATEGIES)
    # Global batch (all replicas together), in windows of data.block_size tokens.
    batch_size: int = option(12, "global batch size in windows", minimum=1)
    # Optimizer steps in total.
    steps: int = option(2000, "optimizer steps", minimum=1)
    optimizer: str = option("adamw", "optimizer", choices=("adam", "adamw", "sgd"))
    # Peak learning rate, reached after the warmup.
    learning_rate: float = option(1e-3, "peak learning rate", minimum=0.0, exclusive_minimum=True)
    # Learning rate at the end of the cosine decay.
    min_learning_rate: float = option(1e-4, "final learning rate of the cosine decay",
                                      minimum=0.0)
    warmup_steps: int = option(100, "linear warmup steps", minimum=0)
    beta_1: float = option(0.9, "Adam beta_1", minimum=0.0, maximum=1.0)
    beta_2: float = option(0.99, "Adam beta_2", minimum=0.0, maximum=1.0)
    weight_decay: float = option(0.1, "decoupled weight decay (adamw)", minimum=0.0)
    # Clip gradients to this global norm; null disables clipping.
    clip_norm: Optional[float] = option(1.0, "global gradient-norm clip (null: none)",
                                        minimum=0.0, exclusive_minimum=True)
    # Validate every this many steps, on eval_steps batches.
    eval_interval: int = option(250, "steps between validations", minimum=1)
    eval_steps: int = option(20, "validation batches per validation", minimum=1)
    seed: int = option(1337, "seed of weights and dropout", minimum=0)
    jit_compile: bool = option(True, "compile train steps with XLA")
    # `mixed_bfloat16` (CPU/TPU) or `mixed_float16` (GPU); null keeps float32.
    mixed_precision: Optional[str] = option(
        None, "Keras dtype policy", choices=(None, "mixed_bfloat16", "mixed_float16")
    )
    deterministic: bool = option(False, "op determinism and fixed seeds")
