"""`tf-lm bench generate`: new tokens/s of greedy decoding, against keras-hub and uncached."""

import numpy as np

from tf_lm.benchmarks.measure import timed


def _prompts(workload, batch, length):
    tokens = workload.tokens
    return [tokens[i * length:(i + 1) * length].tolist() for i in range(batch)]


def _uncached(model, length):
    """Greedy decoding by a full forward pass at every step over a buffer of the final
    `length` (prompt + new tokens), so one compiled function serves every step."""
    import tensorflow as tf

    @tf.function(jit_compile=True)
    def next_token(buffer, position):
        logits = model(buffer, training=False)
        return tf.argmax(logits[:, position - 1], axis=-1, output_type=tf.int32)

    def generate(prompts, new_tokens):
        buffer = np.zeros((len(prompts), length), np.int32)
        for row, ids in enumerate(prompts):
            buffer[row, :len(ids)] = ids
        position = len(prompts[0])
        for _ in range(new_tokens):
            token = next_token(tf.constant(buffer), tf.constant(position)).numpy()
            buffer[:, position] = token
            position += 1
        return buffer

    return generate


def _keras_hub(workload, context):
    import keras_hub

    from tf_lm.benchmarks.peer_models import keras_hub_gpt2

    backbone, _ = keras_hub_gpt2(workload.config.model, workload.vocabulary_size, context)
    causal_lm = keras_hub.models.GPT2CausalLM(backbone=backbone, preprocessor=None)
    causal_lm.compile(sampler="greedy")

    def generate(prompts, new_tokens):
        length = len(prompts[0])
        token_ids = np.zeros((len(prompts), length + new_tokens), np.int32)
        token_ids[:, :length] = prompts
        padding_mask = np.zeros_like(token_ids, bool)
        padding_mask[:, :length] = True
        return causal_lm.generate({"token_ids": token_ids, "padding_mask": padding_mask},
                                  stop_token_ids=None)

    return generate


def bench_generate(workload, new_tokens=255, batches=(1, 8), prompt_length=8, repeats=3):
    """Greedy decoding of `new_tokens` after `prompt_length`-token prompts, per batch size.

    Both models get a context of max(block_size, prompt + new tokens), so neither slides.
    Returns one dict per batch size with the documented keys `batch`, `tf_lm_tokens_per_s`,
    `keras_hub_tokens_per_s`, `ratio`, `uncached_tokens_per_s` (and compile seconds).
    """
    from tf_lm.generation.decoder import Decoder

    workload.check_gpt("generate")
    context = max(workload.config.data.block_size, prompt_length + new_tokens)
    model = workload.model(context)
    decoder = Decoder(model)
    uncached = _uncached(model, prompt_length + new_tokens)
    keras_hub = _keras_hub(workload, context)
    results = []
    for batch in batches:
        prompts = _prompts(workload, batch, prompt_length)
        ours, ours_compile = timed(lambda: decoder.generate_ids(prompts, new_tokens), repeats)
        theirs, theirs_compile = timed(lambda: keras_hub(prompts, new_tokens), repeats)
        slow, _ = timed(lambda: uncached(prompts, new_tokens), max(1, repeats // 2))
        count = batch * new_tokens
        results.append({
            "batch": batch,
            "tf_lm_tokens_per_s": count / ours,
            "keras_hub_tokens_per_s": count / theirs,
            "ratio": theirs / ours,
            "uncached_tokens_per_s": count / slow,
            "tf_lm_compile_s": max(ours_compile - ours, 0.0),
            "keras_hub_compile_s": max(theirs_compile - theirs, 0.0),
            "new_tokens": new_tokens,
            "context": context,
        })
    return results
