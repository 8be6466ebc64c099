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


def alternated(functions, repeats=5, warmup=1):
    """Median seconds of each of `functions`, called in turn `repeats` times after `warmup`
    calls of each: machine drift falls on all of them alike."""
    for _ in range(warmup):
        for fn in functions:
            fn()
    times = [[] for _ in functions]
    for _ in range(repeats):
        for fn, record in zip(functions, times):
            start = time.perf_counter()
            fn()
            record.append(time.perf_counter() - start)
    return [statistics.median(record) for record in times]


def timed(fn, repeats=5, warmup=1):
    """(median seconds over `repeats` calls, seconds of the first `warmup` calls)."""
    times, first = durations(fn, repeats, warmup)
    return statistics.median(times), first


def peak_rss_mb():
    """This process's peak resident memory so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb():
    """This process's resident memory now, in MiB (Linux's /proc/self/statm)."""
    with open("/proc/self/statm", encoding="ascii") as handle:
        pages = int(handle.read().split()[1])
    return pages * resource.getpagesize() / 2 ** 20


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
    head_size = backbone.head_dim
    return (6 * parameters
            + 12 * backbone.num_layers * backbone.num_heads * head_size * sequence_length)


def training_matmuls(backbone, vocabulary_size, batch_size, sequence_length):
    """The matrix products of one training step of a GPT, forward and backward, as
    `(batch, m, k, n)`: `batch` independent (m, k) · (k, n) products.

    A dense layer x · W over the step's tokens has one product forward and two backward
    (dY · Wᵀ and xᵀ · dY); each of the two attention products (Q Kᵀ and weights · V, one per
    sequence and head) likewise has two backward. The head counts once, tied or not; the input
    embedding is a lookup. Their FLOPs (2·batch·m·k·n each) are nanoGPT's 6N + 12·L·H·Q·T per
    token less 6 per parameter that no product multiplies: LayerNorms, biases, the position
    table and, with an untied head, the input embedding table.
    """
    tokens = batch_size * sequence_length
    hidden, heads, head_size = backbone.hidden_dim, backbone.num_heads, backbone.head_dim
    length = sequence_length
    widths = [(hidden, 3 * hidden), (hidden, hidden), (hidden, backbone.intermediate_dim),
              (backbone.intermediate_dim, hidden)] * backbone.num_layers
    products = []
    for k, n in widths + [(hidden, vocabulary_size)]:
        products += [(1, tokens, k, n), (1, tokens, n, k), (1, k, tokens, n)]
    pairs = batch_size * heads
    for _ in range(backbone.num_layers):
        products += [(pairs, length, head_size, length),   # Q Kᵀ; its backward:
                     (pairs, length, length, head_size),   # dQ = dS K
                     (pairs, length, length, head_size),   # dK = dSᵀ Q
                     (pairs, length, length, head_size),   # weights · V; its backward:
                     (pairs, length, head_size, length),   # dW = dO Vᵀ
                     (pairs, length, length, head_size)]   # dV = Wᵀ dO
    return products


def matmul_only_seconds(products, dtype="float32", repeats=10, memory_limit=2 ** 31):
    """`products` (from `training_matmuls`) alone, in `dtype`, in one XLA program, all
    independent so that XLA may run several at once: the fastest of `repeats` runs, a floor
    under the time of a training step with these shapes on this machine (nothing else of the
    step is counted). Every product's output is returned, so none can be shrunk away (a slice
    of a product lets XLA compute only the slice).

    Every product has operands of its own: XLA would compute identical products once.
    Returns None when operands and outputs would need more than `memory_limit` bytes (a
    gpt2-small step's would take tens of GB).
    """
    import tensorflow as tf

    size = sum(batch * (m * k + k * n + m * n) for batch, m, k, n in products)
    if size * tf.as_dtype(dtype).size > memory_limit:
        return None
    operands = [(tf.random.normal([batch, m, k], dtype=dtype),
                 tf.random.normal([batch, k, n], dtype=dtype)) for batch, m, k, n in products]

    @tf.function(jit_compile=True)
    def run():
        return [tf.linalg.matmul(a, b) for a, b in operands]

    times, _ = durations(lambda: run()[0].numpy(), repeats=repeats, warmup=2)
    return min(times)
