"""`tf-lm bench data`: the input pipeline alone, against what training consumes."""

from tf_lm.benchmarks.measure import timed


def bench_data(workload, batches=200, train_steps=20, repeats=3):
    """Tokens/s of iterating the training `tf.data` pipeline, and of `fit` on the config.

    Returns `data_tokens_per_s`, `train_tokens_per_s` and `ratio` (data / train: how many
    times faster the pipeline produces batches than training consumes them).
    """
    from tf_lm.benchmarks.train_benchmark import fit_speed
    from tf_lm.optimizers import build_optimizer
    from tf_lm.training.sliced_step import resolve_batch_slices

    config = workload.config
    tokens_per_batch = config.train.batch_size * config.data.block_size
    iterator = iter(workload.dataset())
    next(iterator)

    def read():
        for _ in range(batches):
            next(iterator)

    seconds, _ = timed(read, repeats)
    data_rate = batches * tokens_per_batch / seconds
    train = config.train
    slices = resolve_batch_slices(train.batch_slices, train.batch_size, stateful=False)
    train_rate, _ = fit_speed(workload.model(), workload.dataset(),
                              build_optimizer(train, train_steps * (1 + repeats), train_steps),
                              train_steps, repeats, tokens_per_batch, train.jit_compile,
                              train.steps_per_execution, batch_slices=slices)
    return {"data_tokens_per_s": data_rate, "train_tokens_per_s": train_rate,
            "ratio": data_rate / train_rate, "batches": batches}
