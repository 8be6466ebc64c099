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
    # Passes over the training split instead of `steps` (Zaremba-style training); 0: use steps.
    epochs: int = option(0, "passes over the training split (0: use train.steps)", minimum=0)
    optimizer: str = option("adamw", "optimizer", choices=("adam", "adamw", "sgd"))
    # Peak learning rate, reached after the warmup. nanoGPT's CPU recipe uses 1e-3; for this
    # 0.8 M-parameter model 4e-3 is much better in 2000 steps (full validation split: 1.777 and
    # 1.770 for seeds 1337 and 42, against 1.913 at 1e-3; nanoGPT itself: 1.898 and 1.913).
    learning_rate: float = option(4e-3, "peak learning rate", minimum=0.0, exclusive_minimum=True)
    # Learning rate at the end of the cosine decay (a tenth of the peak, as nanoGPT).
    min_learning_rate: float = option(4e-4, "final learning rate of the cosine decay",
                                      minimum=0.0)
    warmup_steps: int = option(100, "linear warmup steps", minimum=0)
    # `cosine`: linear warmup, cosine decay to min_learning_rate (nanoGPT). `epoch_decay`:
    # constant, then multiplied by decay_factor every epoch from decay_start_epoch (Zaremba).
    # `plateau`: constant, multiplied by decay_factor after each validation that does not
    # lower the best val_loss (pytorch/examples' word_language_model: / 4).
    lr_schedule: str = option("cosine", "learning-rate schedule",
                              choices=("cosine", "epoch_decay", "plateau", "constant"))
    decay_start_epoch: int = option(4, "epoch_decay: first epoch (1-based) with a lower rate",
                                    minimum=1)
    decay_factor: float = option(0.5, "epoch_decay/plateau: rate multiplier per decay",
                                 minimum=0.0, maximum=1.0, exclusive_minimum=True)
    beta_1: float = option(0.9, "Adam beta_1", minimum=0.0, maximum=1.0)
    beta_2: float = option(0.99, "Adam beta_2", minimum=0.0, maximum=1.0)
    weight_decay: float = option(0.1, "decoupled weight decay (adamw)", minimum=0.0)
    # Norms and biases are never decayed; embeddings are decayed too unless this is false.
    decay_embeddings: bool = option(True, "apply weight decay to embeddings (adamw)")
    # Sum gradients over this many batches before each update (Keras optimizer argument).
    gradient_accumulation_steps: int = option(1, "batches per optimizer update", minimum=1)
    # Clip gradients to this global norm; null disables clipping.
    clip_norm: Optional[float] = option(1.0, "global gradient-norm clip (null: none)",
                                        minimum=0.0, exclusive_minimum=True)
    # Validate every this many steps, on eval_steps batches. 0 (with train.epochs): after every
    # pass over the training split, which is then also the checkpoint interval.
    eval_interval: int = option(250, "steps between validations (0: every epoch)", minimum=0)
    eval_steps: int = option(20, "validation batches per validation", minimum=1)
    # Steps between backups for resume; also the Keras epoch (progress bar) and the interval
    # of the TensorBoard scalars. Rounded down to divide train.steps and eval_interval.
    checkpoint_interval: int = option(125, "steps between resumable backups", minimum=1)
    # The validation figure that picks checkpoints/best.weights.h5 and early stopping: a
    # classifier's loss keeps rising while its accuracy still improves, so it may pick
    # val_accuracy or val_f1 (macro F1) instead.
    monitor: str = option("val_loss", "validation figure that picks the best weights",
                          choices=("val_loss", "val_accuracy", "val_f1"))
    # Stop after this many validations without a better train.monitor; 0: never.
    early_stopping_patience: int = option(0, "validations without improvement before stopping",
                                          minimum=0)
    # At the end, go back to the weights of the best train.monitor (checkpoints/
    # best.weights.h5) before the final evaluation and model.keras, as Keras' EarlyStopping
    # does with restore_best_weights. A classifier overfits in a few epochs.
    restore_best: bool = option(False, "end with the best validation weights, not the last")
    # Tokens sampled at each validation (TensorBoard) and after training; 0: none.
    sample_tokens: int = option(200, "length of the generated samples", minimum=0)
    # Keras steps_per_execution: train steps per host round trip.
    steps_per_execution: int = option(1, "train steps per compiled call", minimum=1)
    # Each step's gradient as the mean over this many equal slices of the batch, computed in
    # one compiled step: the same update, in independent chains that XLA runs on several CPU
    # cores at once. 0: 2 on a machine without GPUs/TPUs (even batch, no carried state), else 1.
    batch_slices: int = option(0, "slices of each batch computed in parallel (0: auto)",
                               minimum=0)
    # VAE: the weight of the KL term, from 0 to 1 over training. `logistic`: 1/(1 + exp(-k
    # (step - kl_anneal_steps))) with k = kl_logistic_rate; `linear`: step / kl_anneal_steps;
    # `none`: 1 throughout (the plain ELBO, which lets the posterior collapse).
    kl_schedule: str = option("logistic", "vae: KL weight schedule",
                              choices=("logistic", "linear", "none"))
    # VAE: the linear schedule's length, or the logistic one's midpoint, in steps.
    kl_anneal_steps: int = option(2500, "vae: KL annealing steps (linear) or midpoint",
                                  minimum=1)
    kl_logistic_rate: float = option(0.0025, "vae: steepness k of the logistic schedule",
                                     minimum=1e-9)
    # VAE: free bits λ (Kingma et al., 2016), nats per latent dimension: each dimension's KL
    # counts as at least λ while training, so the optimizer gains nothing by closing it.
    free_bits: float = option(0.0, "vae: free bits, nats per latent dimension", minimum=0.0)
    seed: int = option(1337, "seed of weights and dropout", minimum=0)
    jit_compile: bool = option(True, "compile train steps with XLA")
    # `mixed_bfloat16` (CPU/TPU) or `mixed_float16` (GPU); null keeps float32.
    mixed_precision: Optional[str] = option(
        None, "Keras dtype policy", choices=(None, "mixed_bfloat16", "mixed_float16")
    )
    deterministic: bool = option(False, "op determinism and fixed seeds")
    # Trace profile_steps steps, from step profile_start (after the compile), with the TensorFlow
    # profiler into the run's logs/ (TensorBoard's Profile tab); 0: off.
    profile_steps: int = option(0, "steps traced by the TensorFlow profiler (0: off)", minimum=0)
    profile_start: int = option(10, "first profiled step", minimum=0)
    # Fine-tuning. A run directory or export whose weights, tokenizer and model section start
    # this run (`tf-lm train --init-from RUN_OR_EXPORT`); empty: random weights.
    init_from: str = option(
        "", "run directory or export whose weights start this run (fine-tuning)")
    # Freeze the token/position embeddings (tied: the output layer too) and/or the bottom N
    # Transformer blocks.
    freeze_embeddings: bool = option(False, "freeze the embeddings")
    freeze_blocks: int = option(0, "freeze the bottom N Transformer blocks", minimum=0)
    # LoRA (Hu et al. 2021) through Keras' Dense.enable_lora on each block's attention
    # projections (and feed-forward layers): only the adapters train; exports merge them.
    lora_rank: int = option(0, "LoRA rank (0: off)", minimum=0)
    lora_alpha: float = option(0.0, "LoRA alpha (0: equal to the rank)", minimum=0.0)
    lora_feed_forward: bool = option(False, "LoRA on the feed-forward layers too")
    # Discriminative fine-tuning and gradual unfreezing (Howard and Ruder, 2018: ULMFiT), over
    # layer groups from the top: the head, each Transformer block or recurrent layer, the
    # embeddings. Group g learns at layer_lr_decay ** g times the rate (ULMFiT: 1 / 2.6) and is
    # held still for its first g * unfreeze_epochs epochs (0: every group trains from the start).
    layer_lr_decay: float = option(1.0, "learning-rate factor from one layer group to the next "
                                   "one down", minimum=0.0, maximum=1.0, exclusive_minimum=True)
    unfreeze_epochs: float = option(0.0, "gradual unfreezing: epochs between one layer group "
                                    "joining training and the next one down (0: off)",
                                    minimum=0.0)
