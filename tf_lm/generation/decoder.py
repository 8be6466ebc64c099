"""One decoding loop for every `CausalLM`: GPT with its KV cache, RNNs with their state."""

import numpy as np
import tensorflow as tf

from tf_lm.generation.parameter_rules import (DEFAULT_MAX_NEW_TOKENS, GREEDY_TEMPERATURE,
                                              REPETITION_PENALTY_OFF, TOP_K_OFF, TOP_P_OFF)
from tf_lm.generation.sampling import next_tokens


def _bucket(length, minimum=8):
    """The padded length for `length`: the next power of two >= minimum (few retraces)."""
    size = minimum
    while size < length:
        size *= 2
    return size


def _smaller(a, b):
    """min(a, b) for Python ints (static shapes, XLA) and scalar tensors (the served graph)."""
    if isinstance(a, int) and isinstance(b, int):
        return min(a, b)
    return tf.minimum(a, b)


def _width(tensor, axis):
    """A static dimension as a Python int, else the dynamic one."""
    size = tensor.shape[axis]
    return size if size is not None else tf.shape(tensor)[axis]


def _per_row(value, batch, dtype):
    """A scalar, `[1]` or `(batch,)` value as `(batch,)`."""
    return tf.broadcast_to(tf.reshape(tf.cast(value, dtype), [-1]), [batch])


def _window(tokens, lengths, room, width):
    """The last `min(lengths, room)` tokens of each row, left-aligned in `(batch, width)`."""
    window_lengths = tf.clip_by_value(tf.minimum(lengths, room), 1, width)
    start = lengths - window_lengths
    positions = tf.range(width)[None, :]
    indices = tf.minimum(start[:, None] + positions, tf.shape(tokens)[1] - 1)
    window = tf.gather(tokens, indices, batch_dims=1)
    return tf.where(positions < window_lengths[:, None], window, 0), window_lengths


def _place(output, tokens, counts, offsets):
    """`output` with row i's first `counts[i]` `tokens` written from column `offsets[i]`."""
    column = tf.range(tf.shape(output)[1])[None, :] - offsets[:, None]
    valid = (column >= 0) & (column < counts[:, None])
    column = tf.clip_by_value(column, 0, tf.shape(tokens)[1] - 1)
    return tf.where(valid, tf.gather(tokens, column, batch_dims=1), output)


def _seen(prompts, padding, vocabulary_size):
    """`(batch, vocab)` bool: the tokens of each row's prompt (a scatter: O(batch·vocab),
    where a one-hot would be O(batch·prompt·vocab))."""
    batch, width = tf.shape(prompts)[0], tf.shape(prompts)[1]
    rows = tf.broadcast_to(tf.range(batch)[:, None], [batch, width])
    columns = tf.where(padding, prompts, vocabulary_size)  # padding goes to a spare column
    indices = tf.reshape(tf.stack([rows, columns], axis=-1), [-1, 2])
    seen = tf.tensor_scatter_nd_update(tf.zeros([batch, vocabulary_size + 1], tf.bool),
                                       indices, tf.ones([batch * width], tf.bool))
    return seen[:, :vocabulary_size]


def _ends_with_stop(tokens, counts, stop_ids):
    last = tf.gather(tokens, tf.maximum(counts - 1, 0), batch_dims=1)
    hit = tf.reduce_any(last[:, None] == tf.cast(stop_ids, tf.int32)[None, :], axis=-1)
    return (counts > 0) & hit


class Decoder:
    """Generate token ids from a `CausalLM`: one compiled loop per (prompt, output) bucket.

    The loop, for a batch of prompts of different lengths (right-padded):

    1. prefill: one `call_with_cache` over the padded prompts, each row's cache index starting
       at 0; the logits of each row's last real token pick its first new token. (A GPT's
       padding slots are overwritten before any query can see them; an RNN's padding steps are
       masked, so its state stops at the last real token.)
    2. then one token per step: `next_tokens` chooses, the token is written into the output, and
       `call_with_cache` feeds it at each row's own index (`cache_index` of shape (batch,)).

    A row stops at a stop token or after its `max_new_tokens`; the loop when every row has.

    A GPT with a learned position table sees at most `context` tokens. A row whose prompt and
    continuation fit is decoded in one go. Otherwise it slides, in the graph: chunks of up to
    context/2 new tokens, each decoded after the last `context - chunk` tokens of prompt and
    text so far (nanoGPT crops the same way), the step count continuing so sampling is
    unchanged. Each row decides for itself, so a row's text never depends on the other rows.

    Every argument is a tensor (prompts, lengths, and per row or shared: max_new_tokens,
    temperature, top_k, top_p, repetition_penalty, seeds, first step; stop ids), so one
    trace serves every request of a shape bucket. The traced loop contains only core
    TensorFlow ops (no `Xla*`) and works with unknown shapes: it is also the loop the exported
    SavedModel runs. In Python it is compiled with XLA (`jit_compile=True`).

    Args:
        model: a built `CausalLM`.
        jit_compile: compile the loop with XLA. Default: True for GPT models; False for
            recurrent ones (on a GPU their cuDNN kernels cannot be XLA-compiled).
    """

    def __init__(self, model, jit_compile=None):
        self.model = model
        recurrent = model.is_recurrent
        self.jit_compile = (not recurrent) if jit_compile is None else jit_compile
        self.context = None  # None: no limit (an RNN, a GPT without a position table)
        if not recurrent and model.backbone.position_encoding == "learned":
            self.context = model.backbone.sequence_length
        # Past the context, new tokens come in chunks of this many (None without a context).
        self.slide = max(self.context // 2, 1) if self.context is not None else None
        self.vocabulary_size = model.vocabulary_size
        self._functions = {}

    # The graph ----------------------------------------------------------------------------

    def decode(self, prompts, lengths, max_new_tokens, temperature, top_k, top_p,
               repetition_penalty, seeds, stop_ids, first_step, output_length,
               initial_cache=None):
        """The whole generation as TensorFlow ops (trace it in a `tf.function`).

        Args:
            prompts: `(batch, prompt_width)` int32, right-padded; the width may be unknown.
            lengths: `(batch,)` int32, real prompt lengths (>= 1).
            max_new_tokens: int32, scalar or `(batch,)`, each in [0, output_length].
            temperature, top_k, top_p, repetition_penalty: scalars or `(batch,)` (see
                `next_tokens`).
            seeds: `(batch,)` int, one seed per row.
            stop_ids: `(num_stop,)` int32 (may be empty).
            first_step: scalar or `(batch,)` int32, the step number of the first new token
                (continuing a generation in pieces draws the same random numbers).
            output_length: the width of the output: a Python int, or a scalar tensor.
            initial_cache: a recurrent model's starting states `(batch, layers, states,
                hidden)` instead of zeros (a sentence VAE's decoder starts from z's).

        Returns:
            `(tokens (batch, output_length) int32, num_tokens (batch,) int32)`; positions past a
            row's `num_tokens` hold 0. A stop token that ended a row is included.
        """
        batch = tf.shape(prompts)[0]
        max_new = tf.minimum(_per_row(max_new_tokens, batch, tf.int32), output_length)
        first_step = _per_row(first_step, batch, tf.int32)
        sampling = (temperature, top_k, top_p, repetition_penalty, seeds, stop_ids)
        prompt_width = _width(prompts, 1)
        if self.context is None:
            return self._chunk(prompts, lengths, max_new, first_step, sampling, output_length,
                               prompt_width + output_length, initial_cache)
        if initial_cache is not None:
            raise ValueError("`initial_cache` is for models without a context limit (recurrent "
                             "ones); this model slides over a context of "
                             f"{self.context} tokens.")
        context, half = self.context, self.slide
        # The first chunk: a row that fits decodes everything, the others context/2 tokens.
        count = tf.where(lengths + max_new <= context, max_new, tf.minimum(half, max_new))
        width = _smaller(prompt_width, context - 1)
        chunk_width = _smaller(output_length, context - 1)
        window, window_lengths = _window(prompts, lengths, context - count, width)
        tokens, generated = self._chunk(window, window_lengths, count, first_step, sampling,
                                        chunk_width, _smaller(width + chunk_width, context))
        output = _place(tf.zeros([batch, output_length], tf.int32), tokens, generated,
                        tf.zeros([batch], tf.int32))
        active = ((generated == count) & ~_ends_with_stop(tokens, generated, stop_ids)
                  & (generated < max_new))
        # Later chunks slide over prompt + text so far.
        width = _smaller(prompt_width + output_length, context - 1)
        chunk_width = _smaller(output_length, half)
        cache_length = _smaller(width + chunk_width, context)

        def condition(output, generated, active):
            return tf.reduce_any(active)

        def body(output, generated, active):
            history = self._history(prompts, lengths, output, generated)
            count = tf.where(active, tf.minimum(half, max_new - generated), 0)
            window, window_lengths = _window(history, lengths + generated, context - count,
                                             width)
            tokens, new = self._chunk(window, window_lengths, count, first_step + generated,
                                      sampling, chunk_width, cache_length)
            output = _place(output, tokens, new, generated)
            generated = generated + new
            active = (active & (new == count) & ~_ends_with_stop(tokens, new, stop_ids)
                      & (generated < max_new))
            return output, generated, active

        output, generated, _ = tf.while_loop(condition, body, (output, generated, active),
                                             maximum_iterations=output_length)
        return output, generated

    @staticmethod
    def _history(prompts, lengths, output, generated):
        """Each row's prompt followed by its text so far, left-aligned."""
        prompt_width = tf.shape(prompts)[1]
        both = tf.concat([prompts, output], axis=1)  # (batch, prompt_width + output_length)
        position = tf.range(tf.shape(both)[1])[None, :]
        source = tf.where(position < lengths[:, None], position,
                          prompt_width + position - lengths[:, None])
        history = tf.gather(both, tf.minimum(source, tf.shape(both)[1] - 1), batch_dims=1)
        return tf.where(position < (lengths + generated)[:, None], history, 0)

    def _chunk(self, prompts, lengths, max_new, first_step, sampling, output_length,
               cache_length, initial_cache=None):
        """Prefill `prompts`, then decode up to `max_new[i]` tokens of row i (may be 0).

        `lengths + max_new` must fit `cache_length`; a finished row stops moving its index.
        """
        temperature, top_k, top_p, repetition_penalty, seeds, stop_ids = sampling
        model = self.model
        batch = tf.shape(prompts)[0]
        cache = (model.initial_cache(batch, cache_length) if initial_cache is None
                 else initial_cache)
        padding = tf.sequence_mask(lengths, tf.shape(prompts)[1])  # (batch, prompt_width)
        recurrent_mask = padding if model.is_recurrent else None
        logits, cache = model.call_with_cache(prompts, cache, tf.zeros([batch], tf.int32),
                                              padding_mask=recurrent_mask)
        logits = tf.gather(logits, lengths - 1, axis=1, batch_dims=1)  # (batch, vocab)
        seen = _seen(prompts, padding, self.vocabulary_size)
        output = tf.zeros([batch, output_length], tf.int32)
        done = max_new <= 0
        num_tokens = tf.zeros([batch], tf.int32)
        steps = tf.reduce_max(tf.concat([max_new, [0]], axis=0))

        def condition(step, logits, cache, index, output, done, num_tokens, seen):
            return tf.logical_and(step < steps, tf.logical_not(tf.reduce_all(done)))

        def body(step, logits, cache, index, output, done, num_tokens, seen):
            token = next_tokens(logits, seen, temperature, top_k, top_p, repetition_penalty,
                                seeds, step + first_step)
            token = tf.where(done, 0, token)
            output = tf.where(tf.range(output_length)[None, :] == step, token[:, None], output)
            num_tokens = num_tokens + tf.cast(tf.logical_not(done), tf.int32)
            stopped = tf.reduce_any(token[:, None] == tf.cast(stop_ids, tf.int32)[None, :],
                                    axis=-1)
            done = done | stopped | (step + 1 >= max_new)
            seen = seen | tf.one_hot(token, self.vocabulary_size, on_value=True,
                                     off_value=False)
            logits, cache = model.call_with_cache(token[:, None], cache, index)
            index = tf.minimum(index + 1, cache_length - 1)
            return (step + 1, tf.cast(logits[:, -1, :], tf.float32), cache, index, output,
                    done, num_tokens, seen)

        state = (tf.constant(0), tf.cast(logits, tf.float32), cache, lengths, output, done,
                 num_tokens, seen)
        state = tf.while_loop(condition, body, state, maximum_iterations=output_length)
        return state[4], state[6]

    def function(self, prompt_length, output_length, batch_size=None):
        """The traced loop for one (prompt, output) bucket: a `tf.function`."""
        key = (prompt_length, output_length, batch_size)
        if key not in self._functions:
            signature = [
                tf.TensorSpec([batch_size, prompt_length], tf.int32, name="prompts"),
                tf.TensorSpec([batch_size], tf.int32, name="lengths"),
                tf.TensorSpec([], tf.int32, name="max_new_tokens"),
                tf.TensorSpec([], tf.float32, name="temperature"),
                tf.TensorSpec([], tf.int32, name="top_k"),
                tf.TensorSpec([], tf.float32, name="top_p"),
                tf.TensorSpec([], tf.float32, name="repetition_penalty"),
                tf.TensorSpec([batch_size], tf.int32, name="seeds"),
                tf.TensorSpec([None], tf.int32, name="stop_ids"),
                tf.TensorSpec([], tf.int32, name="first_step"),
            ]

            def run(*args):
                return self.decode(*args, output_length=output_length)

            self._functions[key] = tf.function(run, input_signature=signature,
                                               jit_compile=self.jit_compile)
        return self._functions[key]

    # Python -------------------------------------------------------------------------------

    def generate_ids(self, prompts, max_new_tokens=DEFAULT_MAX_NEW_TOKENS,
                     temperature=GREEDY_TEMPERATURE, top_k=TOP_K_OFF, top_p=TOP_P_OFF,
                     repetition_penalty=REPETITION_PENALTY_OFF, seed=0, stop_token_ids=(),
                     first_step=0):
        """New token ids for each prompt (a list of lists of ids, each non-empty).

        Row i samples with seed `seed + i`, so a prompt decoded alone with seed s gives what it
        gives at row i of a batch decoded with seed s - i. Prompts longer than a GPT's context
        and long continuations slide (see the class docstring).
        """
        prompts = [list(p) for p in prompts]
        prompt_length = _bucket(max(len(p) for p in prompts))
        output_length = _bucket(max_new_tokens)
        padded = np.zeros((len(prompts), prompt_length), np.int32)
        for row, ids in enumerate(prompts):
            padded[row, :len(ids)] = ids
        function = self.function(prompt_length, output_length)
        tokens, counts = function(
            tf.constant(padded), tf.constant([len(p) for p in prompts], tf.int32),
            tf.constant(max_new_tokens, tf.int32), tf.constant(temperature, tf.float32),
            tf.constant(top_k, tf.int32), tf.constant(top_p, tf.float32),
            tf.constant(repetition_penalty, tf.float32),
            tf.constant([seed + i for i in range(len(prompts))], tf.int32),
            tf.constant(list(stop_token_ids), tf.int32, shape=[len(stop_token_ids)]),
            tf.constant(first_step, tf.int32))
        tokens, counts = tokens.numpy(), counts.numpy()
        return [tokens[row, :counts[row]].tolist() for row in range(len(prompts))]

    def dropped_prompt_tokens(self, prompt_length, max_new_tokens):
        """How many leading prompt tokens the context cannot hold (0 without a limit)."""
        if self.context is None or prompt_length + max_new_tokens <= self.context:
            return 0
        count = min(self.slide, max_new_tokens)
        return max(prompt_length - (self.context - count), 0)
