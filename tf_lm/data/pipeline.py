"""The tf.data input pipeline: token stream -> windows of block_size + 1 -> (x, y) batches.

Everything here is TensorFlow ops (no `py_function`), so the datasets can be distributed by
any `tf.distribute` strategy. Three samplers:

- `random` (nanoGPT, Transformers): every batch draws `batch_size` windows at uniformly
  random offsets, from a stateless RNG keyed by (seed, step): the same seed gives the same
  batches, the dataset is infinite, and a split smaller than a batch still works (windows
  are drawn with replacement).
- `contiguous` (Zaremba et al., stateful RNNs): the split is cut into `batch_size` rows
  laid side by side; batch i holds columns [i*T, (i+1)*T) of every row, so row r of batch
  i+1 continues row r of batch i and an RNN can carry its state across batches. A split
  shorter than one batch is cycled to fill the rows. One pass is one epoch.
- `sequential` (evaluation): non-overlapping windows in order, every token predicted once
  (the last partial window aside); one pass is one epoch.

`x` is `window[:-1]`, `y` is `window[1:]`, both int32 of shape (batch, block_size).
"""

import numpy as np
import tensorflow as tf

from tf_lm.errors import InputError

SAMPLERS = ("random", "contiguous", "sequential")
_LINES_PER_BATCH = 512


def tokenize_split(corpus, split, tokenizer):
    """The token ids of an in-memory split, as one int32 NumPy array."""
    return tokenizer.encode_lines(corpus.lines(split))


def token_chunks(corpus, split, tokenizer):
    """The token ids of a split as a `tf.data.Dataset` of 1-D int32 chunks (streams)."""
    lines = corpus.line_dataset(split).batch(_LINES_PER_BATCH)
    return lines.map(lambda batch: tokenizer.tokenize(batch).flat_values,
                     num_parallel_calls=tf.data.AUTOTUNE)


def _split_xy(windows):
    return windows[..., :-1], windows[..., 1:]


def check_length(num_tokens, block_size, name, source=None):
    """Refuses a split that cannot fill one window of block_size + 1 tokens (`source`: the
    corpus files, named in the message)."""
    if num_tokens < block_size + 1:
        of = f" of {source}" if source else ""
        raise InputError(
            f"Split '{name}'{of} has {num_tokens} tokens, shorter than one window of "
            f"data.block_size + 1 = {block_size + 1} tokens; use a longer corpus or a smaller "
            "data.block_size"
        )


def random_windows(tokens, block_size, batch_size, seed, name="train", start_step=0):
    """Infinite batches of windows at random offsets (see the module docstring).

    Batch `i` depends only on (seed, i): starting at `start_step` resumes the same stream.
    """
    tokens = np.asarray(tokens, dtype=np.int32)
    check_length(tokens.size, block_size, name)
    data = tf.constant(tokens)
    num_starts = tokens.size - block_size
    span = tf.range(block_size + 1, dtype=tf.int32)
    seed = tf.constant(seed, tf.int64)

    def batch(step):
        starts = tf.random.stateless_uniform(
            [batch_size], seed=tf.stack([seed, step]), minval=0, maxval=num_starts,
            dtype=tf.int32,
        )
        return _split_xy(tf.gather(data, starts[:, None] + span[None, :]))

    return tf.data.Dataset.counter(start_step).map(batch, num_parallel_calls=tf.data.AUTOTUNE)


def contiguous_batches(tokens, block_size, batch_size, name="train", repeat=False,
                       start_step=0):
    """Batches whose rows continue each other (see the module docstring): one epoch, or with
    `repeat` an endless cycle of epochs starting at batch `start_step` (for resuming)."""
    tokens = np.asarray(tokens, dtype=np.int32)
    check_length(tokens.size, block_size, name)
    needed = batch_size * block_size + 1
    if tokens.size < needed:
        tokens = np.tile(tokens, -(-needed // tokens.size))
    row_len = (tokens.size - 1) // batch_size
    x = tf.constant(tokens[: batch_size * row_len].reshape(batch_size, row_len))
    y = tf.constant(tokens[1: batch_size * row_len + 1].reshape(batch_size, row_len))
    num_batches = row_len // block_size

    def batch(i):
        i = i % num_batches
        return x[:, i * block_size:(i + 1) * block_size], y[:, i * block_size:(i + 1) * block_size]

    steps = (tf.data.Dataset.counter(start_step) if repeat
             else tf.data.Dataset.range(start_step, num_batches))
    return steps.map(batch, num_parallel_calls=tf.data.AUTOTUNE)


def batches_per_epoch(num_tokens, block_size, batch_size):
    """Batches in one pass over `num_tokens` tokens (the contiguous sampler's epoch)."""
    return max(((max(num_tokens, batch_size * block_size + 1) - 1) // batch_size) // block_size,
               1)


def sequential_windows(tokens, block_size, batch_size, drop_remainder=False, name="valid"):
    """One epoch of non-overlapping windows in order (see the module docstring)."""
    tokens = np.asarray(tokens, dtype=np.int32)
    check_length(tokens.size, block_size, name)
    count = (tokens.size - 1) // block_size
    starts = np.arange(count, dtype=np.int64)[:, None] * block_size
    windows = tokens[starts + np.arange(block_size + 1)]
    dataset = tf.data.Dataset.from_tensor_slices(windows)
    return dataset.batch(batch_size, drop_remainder=drop_remainder).map(_split_xy)


def streamed_windows(chunks, block_size):
    """Non-overlapping windows of block_size + 1 tokens from a stream of 1-D token chunks.

    Window k is the last token of block k-1 followed by block k, so consecutive windows
    share one token and every token after the first is a target exactly once.
    """
    blocks = chunks.rebatch(block_size, drop_remainder=True)

    def step(previous, block):
        window = tf.concat([previous[tf.newaxis], block], axis=0)
        return block[-1], (window, previous >= 0)

    def is_valid(window, valid):
        return valid

    def window_only(window, valid):
        return window

    windows = blocks.scan(tf.constant(-1, tf.int32), step)
    return windows.filter(is_valid).map(window_only)


def make_dataset(source, block_size, batch_size, sampler="random", seed=0, name="train",
                 shuffle_buffer=10000, cache=True, drop_remainder=False, start_step=0,
                 repeat=False):
    """A batched `(x, y)` dataset from tokens in memory or streamed.

    Args:
        source: a 1-D array of token ids (in memory) or a `tf.data.Dataset` of 1-D int32
            chunks (streamed, from `token_chunks`).
        block_size: tokens of context; windows hold block_size + 1 tokens.
        batch_size: windows per batch (global batch under a distribution strategy).
        sampler: "random", "contiguous" or "sequential".
        seed: seed of the random sampler and of the streaming shuffle buffer.
        name: the split's name, for error messages.
        shuffle_buffer: streamed random sampling shuffles through this many windows.
        cache: cache streamed sequential windows in memory after the first pass.
        drop_remainder: sequential sampler: drop the last partial batch.
        start_step: the first batch (resuming a run): random and contiguous samplers.
        repeat: contiguous sampler: cycle through epochs endlessly (training).

    Returns:
        A prefetching `tf.data.Dataset` of `(x, y)`, int32, shape (batch, block_size).
    """
    if sampler not in SAMPLERS:
        raise InputError(f"`sampler` must be one of {list(SAMPLERS)}. Received: {sampler!r}")
    if block_size < 1 or batch_size < 1:
        raise InputError(
            f"block_size and batch_size must be >= 1. Received: block_size={block_size}, "
            f"batch_size={batch_size}"
        )
    if isinstance(source, tf.data.Dataset):
        windows = streamed_windows(source, block_size)
        if sampler == "contiguous":
            raise InputError(
                "The contiguous sampler needs the split in memory; this corpus is streamed "
                "(raise data.in_memory_max_mb or use data.sampler=random)"
            )
        if sampler == "random":
            dataset = (windows.shuffle(shuffle_buffer, seed=seed).repeat()
                       .batch(batch_size, drop_remainder=True).skip(start_step))
        else:
            dataset = windows.batch(batch_size, drop_remainder=drop_remainder)
            dataset = dataset.cache() if cache else dataset
        dataset = dataset.map(_split_xy, num_parallel_calls=tf.data.AUTOTUNE)
    elif sampler == "random":
        dataset = random_windows(source, block_size, batch_size, seed, name, start_step)
    elif sampler == "contiguous":
        dataset = contiguous_batches(source, block_size, batch_size, name, repeat, start_step)
    else:
        dataset = sequential_windows(source, block_size, batch_size, drop_remainder, name)
    return dataset.prefetch(tf.data.AUTOTUNE)


def build_datasets(data_config, corpus, tokenizer, batch_size):
    """{split: dataset} for a run: the training sampler on train, sequential on the others."""
    datasets = {}
    for split in corpus.split_names:
        source = (token_chunks(corpus, split, tokenizer) if corpus.streaming
                  else tokenize_split(corpus, split, tokenizer))
        sampler = data_config.sampler if split == "train" else "sequential"
        datasets[split] = make_dataset(
            source, data_config.block_size, batch_size, sampler=sampler, seed=data_config.seed,
            name=split, shuffle_buffer=data_config.shuffle_buffer, cache=data_config.cache,
        )
    return datasets


def batched_texts(dataset, count, batch_size, seed=None, repeat=False, start_step=0):
    """Batches of a dataset of `count` texts (a classifier's or a VAE's).

    Args:
        seed: shuffle with this seed, a new order every epoch (training); None keeps the
            order (evaluation).
        repeat: cycle endlessly, full batches only (training).
        start_step: the first batch (resuming a run): the same seed gives the same stream.
    """
    if seed is not None:
        dataset = dataset.shuffle(count, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        return dataset.repeat().batch(batch_size, drop_remainder=True).skip(start_step)
    return dataset.batch(batch_size)
