"""Beam search over a `CausalLM`'s cache: keep the `num_beams` most likely continuations."""

import numpy as np
import tensorflow as tf

from tf_lm.generation.decoder import _bucket

_FUNCTIONS = "_tf_lm_beam_functions"


def _beam_function(model, prompt_length, output_length, num_beams, jit_compile,
                   state_shape=None):
    functions = getattr(model, _FUNCTIONS, None)
    if functions is None:
        functions = {}
        setattr(model, _FUNCTIONS, functions)
    key = (prompt_length, output_length, num_beams, state_shape)
    if key in functions:
        return functions[key]
    vocabulary_size = model.vocabulary_size
    recurrent = model.is_recurrent

    def search(prompt, length, max_new_tokens, length_penalty, stop_ids, initial_cache=None):
        width = num_beams
        prompts = tf.tile(prompt[None, :], [width, 1])  # (beams, prompt_length)
        if initial_cache is None:
            cache = model.initial_cache(width, prompt_length + output_length)
        else:  # (1, layers, states, hidden): every beam starts from the same states
            cache = tf.repeat(initial_cache, width, axis=0)
        padding = tf.sequence_mask(tf.fill([width], length), prompt_length)
        logits, cache = model.call_with_cache(prompts, cache, tf.zeros([width], tf.int32),
                                              padding_mask=padding if recurrent else None)
        logits = tf.cast(logits[:, length - 1, :], tf.float32)  # (beams, vocab)
        scores = tf.concat([[0.0], tf.fill([width - 1], float("-inf"))], axis=0)
        tokens = tf.zeros([width, output_length], tf.int32)
        finished = tf.zeros([width], tf.bool)
        lengths = tf.zeros([width], tf.int32)
        index = tf.fill([width], length)
        pad_only = tf.where(tf.range(vocabulary_size) == 0, 0.0, float("-inf"))

        def condition(step, *state):
            finished = state[3]
            return tf.logical_and(step < max_new_tokens,
                                  tf.logical_not(tf.reduce_all(finished)))

        def body(step, logits, cache, tokens, finished, lengths, scores, index):
            log_probs = tf.nn.log_softmax(logits, axis=-1)
            log_probs = tf.where(finished[:, None], pad_only[None, :], log_probs)
            candidates = tf.reshape(scores[:, None] + log_probs, [-1])  # (beams * vocab)
            scores, best = tf.math.top_k(candidates, k=width)
            parent, token = best // vocabulary_size, best % vocabulary_size
            tokens = tf.gather(tokens, parent)
            finished = tf.gather(finished, parent)
            lengths = tf.gather(lengths, parent)
            cache = model.reorder_cache(cache, parent)
            token = tf.where(finished, 0, token)
            tokens = tf.where(tf.range(output_length)[None, :] == step, token[:, None], tokens)
            lengths = lengths + tf.cast(tf.logical_not(finished), tf.int32)
            finished = finished | tf.reduce_any(token[:, None] == stop_ids[None, :], axis=-1)
            logits, cache = model.call_with_cache(token[:, None], cache, index)
            return (step + 1, tf.cast(logits[:, -1, :], tf.float32), cache, tokens, finished,
                    lengths, scores, index + 1)

        state = (tf.constant(0), logits, cache, tokens, finished, lengths, scores, index)
        _, _, _, tokens, _, lengths, scores, _ = tf.while_loop(
            condition, body, state, maximum_iterations=output_length)
        normalized = scores / tf.pow(tf.cast(tf.maximum(lengths, 1), tf.float32),
                                     length_penalty)
        best = tf.argmax(normalized, output_type=tf.int32)
        return tokens[best], lengths[best]

    signature = [tf.TensorSpec([prompt_length], tf.int32), tf.TensorSpec([], tf.int32),
                 tf.TensorSpec([], tf.int32), tf.TensorSpec([], tf.float32),
                 tf.TensorSpec([None], tf.int32)]
    if state_shape is not None:
        signature.append(tf.TensorSpec((1,) + state_shape, model.compute_dtype))
    functions[key] = tf.function(search, input_signature=signature, jit_compile=jit_compile)
    return functions[key]


def beam_search(model, prompt_ids, max_new_tokens, num_beams=4, length_penalty=1.0,
                stop_token_ids=(), jit_compile=None, initial_cache=None):
    """The most likely continuation of one prompt found by beam search.

    Each step every live beam is extended by every token; the `num_beams` best sums of log
    probabilities survive (the caches are reordered to follow their parents). A beam that emits
    a stop token is finished and keeps its score. The winner maximizes
    score / length**length_penalty. `num_beams=1` is greedy decoding. `initial_cache`: a
    recurrent model's starting states `(1, layers, states, hidden)` instead of zeros.

    Returns the new token ids (a list).
    """
    recurrent = model.is_recurrent
    jit_compile = (not recurrent) if jit_compile is None else jit_compile
    prompt_length = _bucket(len(prompt_ids))
    output_length = _bucket(max_new_tokens)
    context = getattr(model.backbone, "sequence_length", None)
    if context is not None and getattr(model.backbone, "position_encoding", "") == "learned":
        prompt_length = min(prompt_length, context - max_new_tokens)
        output_length = min(output_length, context - prompt_length)
    padded = np.zeros([prompt_length], np.int32)
    padded[:len(prompt_ids)] = prompt_ids
    state_shape = None
    if initial_cache is not None:
        if not recurrent:
            raise ValueError("`initial_cache` is for recurrent models.")
        initial_cache = tf.convert_to_tensor(initial_cache, model.compute_dtype)
        state_shape = tuple(initial_cache.shape[1:])
    function = _beam_function(model, prompt_length, output_length, num_beams, jit_compile,
                              state_shape)
    arguments = [tf.constant(padded), tf.constant(len(prompt_ids), tf.int32),
                 tf.constant(max_new_tokens, tf.int32), tf.constant(length_penalty, tf.float32),
                 tf.constant(list(stop_token_ids), tf.int32, shape=[len(stop_token_ids)])]
    if initial_cache is not None:
        arguments.append(initial_cache)
    tokens, length = function(*arguments)
    return tokens.numpy()[:int(length)].tolist()
