"""A short sample from a model: prompt in, continuation out (used while training)."""

import numpy as np
import tensorflow as tf

from tf_lm.errors import InputError


def _steps(model):
    """One compiled decoding step per model, reused across calls (traced once per shape)."""
    step = getattr(model, "_tf_lm_sample_step", None)
    if step is None:
        @tf.function(jit_compile=True, reduce_retracing=True)
        def step(token_ids, cache, index, temperature, seed):
            logits, cache = model.call_with_cache(token_ids, cache, index)
            logits = tf.cast(logits[:, -1, :], tf.float32) / temperature  # (batch, vocab)
            next_ids = tf.random.stateless_categorical(logits, 1, seed=seed, dtype=tf.int32)
            return next_ids, cache

        model._tf_lm_sample_step = step
    return step


def sample_text(model, tokenizer, prompt="\n", num_tokens=200, temperature=0.8, seed=0):
    """Sample `num_tokens` tokens after `prompt` with temperature sampling; returns the text.

    The prompt and continuation are kept within the model's context (a GPT's position table):
    a longer prompt keeps its last tokens, and generation stops at the context's end.
    """
    ids = [int(i) for i in tokenizer.encode(prompt)]
    if not ids:
        raise InputError(f"The sample prompt encodes to no tokens. Received: prompt={prompt!r}")
    context = getattr(model.backbone, "sequence_length", None)
    if context is not None and getattr(model.backbone, "position_encoding", "") == "learned":
        ids = ids[-max(context // 2, 1):]
        num_tokens = min(num_tokens, context - len(ids))
    max_length = len(ids) + num_tokens
    cache = model.initial_cache(1, max_length)
    step = _steps(model)
    temperature = tf.constant(temperature, tf.float32)
    token_ids = tf.constant([ids], tf.int32)
    generated = []
    index = 0
    for i in range(num_tokens):
        next_ids, cache = step(token_ids, cache, tf.constant(index, tf.int32), temperature,
                               tf.constant([seed, i], tf.int32))
        index += int(token_ids.shape[1])
        token_ids = next_ids
        generated.append(int(next_ids[0, 0]))
    return tokenizer.decode(np.asarray(generated, dtype=np.int32))
