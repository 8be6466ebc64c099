"""Loss, perplexity, bits per character and accuracy over every token of a split, once.

Conventions (the number is meaningless without them):

- Transformers see at most `context` tokens, so the split is read in sliding windows of
  `context` tokens moved by `stride` (default context / 2): the first window scores all its
  targets, every later window only its last `stride` targets, so each token is predicted once
  and — after the first window — with at least `context - stride` tokens of context. Stride =
  context gives non-overlapping windows (nanoGPT-like, less context, higher loss).
- Recurrent models read the split as one sequence in chunks of `context` tokens, carrying their
  state across chunks: every token once, with its whole history.

The first token of the split is never a target (it has no history).
"""

import math

import numpy as np
import tensorflow as tf


def _window_plan(num_tokens, context, stride):
    """[(start, first scored offset)] covering targets 1 .. num_tokens - 1 exactly once."""
    plan, scored_until = [], 0  # targets [1, scored_until] are done
    start = 0
    while scored_until < num_tokens - 1:
        start = min(start, max(num_tokens - 1 - context, 0))
        end = min(start + context, num_tokens - 1)  # last target index
        first = max(scored_until + 1, start + 1) - (start + 1)  # offset in the window
        plan.append((start, first))
        scored_until = end
        start += stride
    return plan


def _token_losses(model):
    @tf.function(jit_compile=not model.is_recurrent, reduce_retracing=True)
    def losses(x, y):
        logits = tf.cast(model(x, training=False), tf.float32)
        if model.head_activation == "softmax":
            logits = tf.math.log(tf.maximum(logits, 1e-30))
        nll = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
        correct = tf.cast(tf.argmax(logits, -1, output_type=tf.int32) == y, tf.float32)
        return nll, correct
    return losses


def _transformer(model, tokens, context, stride, batch_size):
    plan = _window_plan(tokens.size, context, stride)
    losses = _token_losses(model)
    total, correct, count = 0.0, 0.0, 0
    for begin in range(0, len(plan), batch_size):
        chunk = plan[begin:begin + batch_size]
        length = min(context, tokens.size - 1)
        x = np.stack([tokens[s:s + length] for s, _ in chunk])
        y = np.stack([tokens[s + 1:s + 1 + length] for s, _ in chunk])
        mask = np.stack([np.arange(length) >= first for _, first in chunk])
        nll, hit = losses(tf.constant(x, tf.int32), tf.constant(y, tf.int32))
        total += float(np.sum(nll.numpy() * mask))
        correct += float(np.sum(hit.numpy() * mask))
        count += int(mask.sum())
    return total, correct, count


def _recurrent(model, tokens, context):
    @tf.function(reduce_retracing=True)
    def step(x, y, state):
        logits, state = model.call_with_cache(x, state, 0)
        logits = tf.cast(logits, tf.float32)
        nll = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
        correct = tf.cast(tf.argmax(logits, -1, output_type=tf.int32) == y, tf.float32)
        return tf.reduce_sum(nll), tf.reduce_sum(correct), state

    state = model.initial_cache(1, None)
    total, correct, count = 0.0, 0.0, 0
    for start in range(0, tokens.size - 1, context):
        x = tokens[start:min(start + context, tokens.size - 1)]
        y = tokens[start + 1:start + 1 + x.size]
        nll, hit, state = step(tf.constant(x[None], tf.int32), tf.constant(y[None], tf.int32),
                               state)
        total, correct, count = total + float(nll), correct + float(hit), count + x.size
    return total, correct, count


def evaluate_tokens(model, tokens, context, stride=None, batch_size=16, per_character=False):
    """Evaluate a `CausalLM` on a 1-D array of token ids; returns a dict of metrics.

    Keys: `loss` (mean negative log-likelihood, nats per token), `perplexity` (exp(loss)),
    `token_accuracy` (argmax = next token), `tokens` (how many were scored), `convention`, and
    `bits_per_character` (loss / ln 2) when `per_character` (one token per character).
    """
    tokens = np.asarray(tokens, dtype=np.int32)
    if tokens.size < 2:
        raise ValueError(f"Need at least 2 tokens to evaluate. Received: {tokens.size}")
    if not model.is_recurrent:
        stride = stride or max(context // 2, 1)
        if not 1 <= stride <= context:
            raise ValueError(f"`stride` must be in [1, {context}]. Received: stride={stride}")
        total, correct, count = _transformer(model, tokens, context, stride, batch_size)
        convention = f"sliding windows of {context} tokens, stride {stride}"
    else:
        total, correct, count = _recurrent(model, tokens, context)
        convention = f"one sequence, state carried across chunks of {context} tokens"
    loss = total / count
    result = {"loss": loss, "perplexity": math.exp(loss), "token_accuracy": correct / count,
              "tokens": count, "convention": convention}
    if per_character:
        result["bits_per_character"] = loss / math.log(2)
    return result
