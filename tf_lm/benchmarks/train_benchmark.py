"""`tf-lm bench train`: training tokens/s of `fit`, tf_lm against keras-hub's GPT-2."""

import time

import keras

from tf_lm.benchmarks.measure import flops_per_token, matmul_peak_flops, peak_rss_mb


class _EpochTimer(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def fit_speed(model, dataset, optimizer, steps, repeats, tokens_per_step, jit_compile,
              steps_per_execution=1, loss=None):
    """(tokens/s: the median epoch of `steps` steps, seconds of the first epoch beyond it).

    The first epoch traces and compiles; the next `repeats` epochs are timed.
    """
    import statistics

    model.compile(optimizer=optimizer, jit_compile=jit_compile,
                  steps_per_execution=steps_per_execution,
                  **({"loss": loss} if loss is not None else {}))
    timer = _EpochTimer()
    model.fit(dataset, epochs=1 + repeats, steps_per_epoch=steps, callbacks=[timer], verbose=0,
              shuffle=False)
    median = statistics.median(timer.seconds[1:])
    return steps * tokens_per_step / median, max(timer.seconds[0] - median, 0.0)


def bench_train(workload, steps=50, repeats=3):
    """Train both models `1 + repeats` epochs of `steps` steps on the same batches.

    Returns the documented keys: `tf_lm_tokens_per_s`, `keras_hub_tokens_per_s`, `ratio`,
    `mfu` (tf_lm's, nanoGPT's FLOP estimate against `peak_flops`), `peak_flops` (a float32
    matmul measured in this run), `peak_rss_mb`; and the compile seconds of each.
    """
    from tf_lm.benchmarks.peer_models import keras_hub_gpt2
    from tf_lm.training.optimizers import build_optimizer

    workload.check_gpt("train")
    config = workload.config
    train, block = config.train, config.data.block_size
    tokens_per_step = train.batch_size * block
    total = steps * (1 + repeats)
    model = workload.model()
    ours, ours_compile = fit_speed(
        model, workload.dataset(), build_optimizer(train, total, steps), steps, repeats,
        tokens_per_step, train.jit_compile, train.steps_per_execution)
    _, peer = keras_hub_gpt2(config.model, workload.vocabulary_size, block)
    theirs, theirs_compile = fit_speed(
        peer, workload.dataset(), build_optimizer(train, total, steps), steps, repeats,
        tokens_per_step, train.jit_compile, train.steps_per_execution,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    peak = matmul_peak_flops()
    return {
        "preset": config.preset,
        "tf_lm_tokens_per_s": ours,
        "keras_hub_tokens_per_s": theirs,
        "ratio": ours / theirs,
        "mfu": ours * flops_per_token(model, block) / peak,
        "peak_flops": peak,
        "peak_rss_mb": peak_rss_mb(),
        "tf_lm_parameters": model.count_params(),
        "keras_hub_parameters": peer.count_params(),
        "tf_lm_compile_s": ours_compile,
        "keras_hub_compile_s": theirs_compile,
        "steps": steps,
        "repeats": repeats,
    }
