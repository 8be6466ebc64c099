"""How a text longer than the model can see is scored: the plan and its TensorFlow ops.

`evaluate_tokens` (one long split, eagerly planned) and the exported model's `score` signature
(a batch of texts, in the graph) both read their windows and chunks from here, so a text gets
the same log-likelihood from either.

- A Transformer with a context sees windows of `context` tokens moved by `stride` (default
  context / 2), the last one moved back to end at the text's end; each window scores only the
  targets no earlier window did, so every target is scored once and, after the first window,
  with at least `context - stride` tokens before it.
- A model without a context (an RNN) reads the text in chunks with its state carried across
  them: every target once, with its whole history.

Targets are positions 1 .. last of each row (the first token has no history).
"""

import tensorflow as tf

from tf_lm.errors import InputError


def default_stride(context):
    """Half the context (at least 1): the stride when none is given."""
    return max(context // 2, 1)


def check_stride(stride, context):
    """`stride`, or `default_stride(context)` when it is None; refused outside [1, context]."""
    if stride is None:
        return default_stride(context)
    if not 1 <= stride <= context:
        raise InputError(f"`stride` must be in [1, {context}]. Received: stride={stride}")
    return stride


def window_count(last, context, stride):
    """How many windows score targets 1 .. `last`: one, then one per `stride` the text runs
    past `context` (rounded up)."""
    room = tf.maximum(last - context, 0)
    return 1 + (room + stride - 1) // stride


def window(k, last, context, stride):
    """Window `k` of a text whose last target is `last`: its start, and which of its `context`
    targets (positions start + 1 ...) it scores.

    `k` and `last` are int32 scalars or vectors that broadcast (the windows of one text, or
    window k of every row). Returns `start` of their shape and a bool `scored` of that shape
    plus `(context,)`.
    """
    k, last = tf.convert_to_tensor(k, tf.int32), tf.convert_to_tensor(last, tf.int32)
    room = tf.maximum(last - context, 0)
    start = tf.minimum(k * stride, room)
    previous_end = tf.minimum(tf.minimum((k - 1) * stride, room) + context, last)
    scored_until = tf.where(k > 0, previous_end, 0)  # targets 1 .. scored_until are done
    targets = start[..., None] + 1 + tf.range(context)
    scored = (targets > scored_until[..., None]) & (targets <= last[..., None])
    return start, scored


def window_logits(model, inputs):
    """Logits of every position of `inputs` (never probabilities, whatever the head)."""
    return model.logits(model.backbone(inputs, training=False))


def target_log_likelihood(logits, targets, accuracy=False):
    """log P(target) of each position, float32 (and 1.0 where argmax = target when
    `accuracy`)."""
    logits = tf.cast(logits, tf.float32)
    # log_softmax and a gather: the fused cross-entropy op also computes its gradient, which
    # the exported graph (no XLA to drop it) would pay for.
    log_likelihood = tf.gather(tf.nn.log_softmax(logits, axis=-1), targets,
                               batch_dims=len(targets.shape))
    if not accuracy:
        return log_likelihood
    hits = tf.cast(tf.argmax(logits, -1, output_type=tf.int32) == targets, tf.float32)
    return log_likelihood, hits


def windowed_log_likelihood(model, tokens, lengths, context):
    """Σ log P(token_t | tokens_<t), t = 1 .. length - 1 of each row: the windows of
    `window`, stride `default_stride(context)`, window k of every row per step.

    Args:
        tokens: `(batch, width)` int32, right-padded.
        lengths: `(batch,)` int32.
        context: the model's context (a Python int).

    Returns `(batch,)` float32.
    """
    batch, width = tf.shape(tokens)[0], tf.shape(tokens)[1]
    size = tf.maximum(tf.minimum(context, width - 1), 1)  # short texts: one shorter window
    stride = default_stride(context)
    last = lengths - 1
    count = tf.reduce_max(tf.concat([window_count(last, size, stride), [0]], axis=0))

    def body(k, total):
        start, scored = window(k, last, size, stride)
        positions = start[:, None] + tf.range(size)[None, :]
        inputs = tf.gather(tokens, tf.minimum(positions, width - 1), batch_dims=1)
        targets = tf.gather(tokens, tf.minimum(positions + 1, width - 1), batch_dims=1)
        picked = target_log_likelihood(window_logits(model, inputs), targets)
        return k + 1, total + tf.reduce_sum(tf.where(scored, picked, 0.0), axis=1)

    _, total = tf.while_loop(lambda k, total: k < count, body,
                             (tf.constant(0), tf.zeros([batch], tf.float32)))
    return total


def carried_log_likelihood(model, tokens, lengths, chunk, accuracy=False):
    """The same sum for a model read with its state carried: chunks of `chunk` tokens through
    `call_with_cache`, so memory grows with the chunk, not with the text.

    Sums are float64 (a split of millions of tokens is one row). Returns `(batch,)` sums, and
    the count of argmax hits when `accuracy`.
    """
    batch, width = tf.shape(tokens)[0], tf.shape(tokens)[1]
    inputs_width = width - 1  # inputs 0 .. n-2 predict targets 1 .. n-1
    last = lengths - 1

    def body(start, cache, total, hits):
        size = tf.minimum(chunk, inputs_width - start)
        positions = start + tf.range(size)
        inputs = tf.gather(tokens, positions, axis=1)
        targets = tf.gather(tokens, positions + 1, axis=1)
        logits, cache = model.call_with_cache(inputs, cache, start)
        scored = (positions + 1)[None, :] <= last[:, None]
        picked = target_log_likelihood(logits, targets, accuracy)
        if accuracy:
            picked, hit = picked
            hits += tf.cast(tf.reduce_sum(tf.where(scored, hit, 0.0), axis=1), tf.float64)
        total += tf.cast(tf.reduce_sum(tf.where(scored, picked, 0.0), axis=1), tf.float64)
        return start + size, cache, total, hits

    zeros = tf.zeros([batch], tf.float64)
    _, _, total, hits = tf.while_loop(
        lambda start, *_: start < inputs_width, body,
        (tf.constant(0), model.initial_cache(batch, inputs_width), zeros, zeros))
    return (total, hits) if accuracy else total
