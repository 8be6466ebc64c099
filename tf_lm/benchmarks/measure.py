"""Timing, memory and FLOP estimates shared by the benchmarks."""

import resource
import statistics
import time


def durations(fn, repeats=5, warmup=1):
    """(seconds of each of `repeats` calls, seconds of the first `warmup` calls)."""
    start = time.perf_counter()
    for _ in range(warmup):
        fn()
    first = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times, first


def timed(fn, repeats=5, warmup=1):
    """(median seconds over `repeats` calls, seconds of the first `warmup` calls)."""
    times, first = durations(fn, repeats, warmup)
    return statistics.median(times), first


def peak_rss_mb():
    """This process's peak resident memory so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def matmul_peak_flops(size=2048, repeats=10):
    """The machine's float32 matmul rate in FLOP/s: a `size`² `tf.linalg.matmul`, the fastest
    of `repeats` (a peak is a best case; on a shared machine the median of a few runs swung
    from 150 to 280 GFLOP/s between runs, and MFU with it)."""
    import tensorflow as tf

    a = tf.random.normal([size, size])
    b = tf.random.normal([size, size])

    @tf.function
    def product():
        return tf.reduce_sum(tf.linalg.matmul(a, b))

    times, _ = durations(lambda: product().numpy(), repeats=repeats, warmup=2)
    return 2.0 * size ** 3 / min(times)


def flops_per_token(model, sequence_length):
    """nanoGPT's estimate of training FLOPs per token: 6N + 12·L·H·Q·T.

    N counts the parameters without a learned position table (as nanoGPT's
    `get_num_params`), L layers, H heads, Q the head size and T the context. A recurrent
    model has no attention term.
    """
    backbone = model.backbone
    parameters = model.count_params()
    table = getattr(backbone, "position_embedding", None)
    if table is not None and getattr(backbone, "position_encoding", None) == "learned":
        parameters -= table.count_params()
    if model.is_recurrent:
        return 6 * parameters
    head_size = backbone.hidden_dim // backbone.num_heads
    return (6 * parameters
            + 12 * backbone.num_layers * backbone.num_heads * head_size * sequence_length)
