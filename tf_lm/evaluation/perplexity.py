"""Loss, perplexity, bits per character and accuracy over every token of a split, once.

Conventions (the number is meaningless without them; `tf_lm.evaluation.scoring`, which the
exported model's `score` signature follows too):

- Transformers see at most `context` tokens, so the split is read in sliding windows of
  `context` tokens moved by `stride` (default context / 2): the first window scores all its
  targets, every later window only those no earlier one did, so each token is predicted once
  and — after the first window — with at least `context - stride` tokens of context. Stride =
  context gives non-overlapping windows (nanoGPT-like, less context, higher loss).
- Recurrent models read the split as one sequence in chunks of `context` tokens, carrying their
  state across chunks: every token once, with its whole history.

The first token of the split is never a target (it has no history).
"""

import math

import numpy as np
import tensorflow as tf

from tf_lm.evaluation.scoring import (carried_log_likelihood, check_stride,
                                      target_log_likelihood, window, window_count,
                                      window_logits)


def _window_plan(num_tokens, context, stride):
    """[(start, first scored offset)] covering targets 1 .. num_tokens - 1 exactly once."""
    last = num_tokens - 1
    size = min(context, last)
    starts, scored = window(tf.range(window_count(last, size, stride)), last, size, stride)
    firsts = np.argmax(scored.numpy(), axis=1)  # every window scores a run up to its end
    return list(zip(starts.numpy().tolist(), firsts.tolist()))


def _token_losses(model):
    @tf.function(jit_compile=not model.is_recurrent, reduce_retracing=True)
    def losses(x, y):
        log_likelihood, correct = target_log_likelihood(window_logits(model, x), y,
                                                        accuracy=True)
        return -log_likelihood, correct
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
    @tf.function
    def score(tokens, lengths):
        return carried_log_likelihood(model, tokens, lengths, context, accuracy=True)

    total, correct = score(tf.constant(tokens[None], tf.int32),
                           tf.constant([tokens.size], tf.int32))
    return -float(total[0]), float(correct[0]), tokens.size - 1


def evaluate_tokens(model, tokens, context, stride=None, batch_size=16, per_character=False):
    """Evaluate a `CausalLM` on a 1-D array of token ids; returns a dict of metrics.

    Keys: `loss` (mean negative log-likelihood, nats per token), `perplexity` (exp(loss)),
    `token_accuracy` (argmax = next token), `tokens` (how many were scored), `convention`, and
    `bits_per_character` (loss / ln 2) when `per_character` (one token per character).
    """
    tokens = np.asarray(tokens, dtype=np.int32)
    if tokens.size < 2:
        raise ValueError(f"Need at least 2 tokens to evaluate. Received: {tokens.size}")
    if not model.built:  # the windows call the backbone and the head, not the model
        model.build((None, None))
    if not model.is_recurrent:
        stride = check_stride(stride, context)
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
