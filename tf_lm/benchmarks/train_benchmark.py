"""`tf-lm bench train`: training tokens/s of `fit`, tf_lm against keras-hub's GPT-2."""

import time

import keras

from tf_lm.benchmarks.measure import (flops_per_token, matmul_only_seconds, matmul_peak_flops,
                                      peak_rss_mb, training_matmuls)
from tf_lm.training.sliced_step import resolve_batch_slices, slice_batches


class _EpochTimer(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def fit_speed(model, dataset, optimizer, steps, repeats, tokens_per_step, jit_compile,
              steps_per_execution=1, batch_slices=1, **compile_options):
    """(tokens/s: the median epoch of `steps` steps, seconds of the first epoch beyond it).

    The first epoch traces and compiles; the next `repeats` epochs are timed.
    `batch_slices`: `tf_lm.training.slice_batches` (1: Keras' own step); `compile_options`:
    more `compile` arguments (a loss).
    """
    import statistics

    model.compile(optimizer=optimizer, jit_compile=jit_compile,
                  steps_per_execution=steps_per_execution, **compile_options)
    if batch_slices > 1:
        slice_batches(model, batch_slices)
    timer = _EpochTimer()
    model.fit(dataset, epochs=1 + repeats, steps_per_epoch=steps, callbacks=[timer], verbose=0,
              shuffle=False)
    median = statistics.median(timer.seconds[1:])
    return steps * tokens_per_step / median, max(timer.seconds[0] - median, 0.0)


def bench_train(workload, steps=50, repeats=3):
    """Train both models `1 + repeats` epochs of `steps` steps on the same batches.

    Returns the documented keys: `tf_lm_tokens_per_s`, `keras_hub_tokens_per_s`, `ratio`,
    `mfu` (tf_lm's, nanoGPT's FLOP estimate against `peak_flops`), `peak_flops` (a float32
    matmul measured in this run), `peak_rss_mb`; the compile seconds of each; `batch_slices`
    (`train.batch_slices` as `tf-lm train` resolves it) and, when it is above 1,
    `tf_lm_unsliced_tokens_per_s` (the same model with Keras' own `train_step`);
    `matmul_only_tokens_per_s`: the whole batch's matrix products alone, forward and backward,
    in the model's compute dtype, in one XLA program (`matmul_only_seconds`): the ceiling these
    products leave on this machine, whatever else the step does (None when their outputs
    would not fit in 2 GiB).
    """
    from tf_lm.benchmarks.peer_models import keras_hub_gpt2
    from tf_lm.optimizers import build_optimizer

    workload.check_gpt("train")
    config = workload.config
    train, block = config.train, config.data.block_size
    tokens_per_step = train.batch_size * block
    total = steps * (1 + repeats)
    slices = resolve_batch_slices(train.batch_slices, train.batch_size, stateful=False)
    model = workload.model()
    ours, ours_compile = fit_speed(
        model, workload.dataset(), build_optimizer(train, total, steps), steps, repeats,
        tokens_per_step, train.jit_compile, train.steps_per_execution, batch_slices=slices)
    unsliced = {}
    if slices > 1:  # the same model, Keras' own train_step: what the slicing is worth
        speed, _ = fit_speed(
            workload.model(), workload.dataset(), build_optimizer(train, total, steps), steps,
            repeats, tokens_per_step, train.jit_compile, train.steps_per_execution)
        unsliced = {"tf_lm_unsliced_tokens_per_s": speed}
    _, peer = keras_hub_gpt2(config.model, workload.vocabulary_size, block)
    theirs, theirs_compile = fit_speed(
        peer, workload.dataset(), build_optimizer(train, total, steps), steps, repeats,
        tokens_per_step, train.jit_compile, train.steps_per_execution,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    peak = matmul_peak_flops()
    products = training_matmuls(model.backbone, workload.vocabulary_size, train.batch_size,
                                block)
    matmul_only = matmul_only_seconds(products, model.compute_dtype)
    return {
        "preset": config.preset,
        "tf_lm_tokens_per_s": ours,
        "keras_hub_tokens_per_s": theirs,
        "ratio": ours / theirs,
        "mfu": ours * flops_per_token(model, block) / peak,
        "peak_flops": peak,
        "matmul_only_tokens_per_s": tokens_per_step / matmul_only if matmul_only else None,
        "peak_rss_mb": peak_rss_mb(),
        "tf_lm_parameters": model.count_params(),
        "keras_hub_parameters": peer.count_params(),
        "tf_lm_compile_s": ours_compile,
        "keras_hub_compile_s": theirs_compile,
        "batch_slices": slices,
        **unsliced,
        "steps": steps,
        "repeats": repeats,
    }
