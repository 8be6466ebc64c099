"""One decoding loop for every `CausalLM`: GPT with its KV cache, RNNs with their state."""

import numpy as np
import tensorflow as tf

from tf_lm.generation.sampling import next_tokens


def _bucket(length, minimum=8):
    """The padded length for `length`: the next power of two >= minimum (few retraces)."""
    size = minimum
    while size < length:
        size *= 2
    return size


class Decoder:
    """Generate token ids from a `CausalLM`, compiled once per (prompt, output) length bucket.

    The loop, for a batch of prompts of different lengths (right-padded to a bucket):

    1. prefill: one `call_with_cache` over the padded prompts, each row's cache index starting
       at 0; the logits of each row's last real token pick its first new token. (A GPT's
       padding slots are overwritten before any query can see them; an RNN's padding steps are
       masked, so its state stops at the last real token.)
    2. then one token per step: `next_tokens` chooses, the token is written into the output, and
       `call_with_cache` feeds it at each row's own index (`cache_index` of shape (batch,)).

    A row stops at a stop token or after `max_new_tokens`; the loop stops when every row has.
    Everything is a tensor argument (prompts, lengths, max_new_tokens, temperature, top_k,
    top_p, repetition_penalty, seeds, stop ids), so one trace serves every request of a shape
    bucket, and the traced loop contains only core TensorFlow ops (no `Xla*`): it is the loop
    the exported SavedModel runs. In Python it is compiled with XLA (`jit_compile=True`).

    Args:
        model: a built `CausalLM`.
        jit_compile: compile the loop with XLA. Default: True for GPT models; False for
            recurrent ones (on a GPU their cuDNN kernels cannot be XLA-compiled).
    """

    def __init__(self, model, jit_compile=None):
        self.model = model
        recurrent = model.is_recurrent
        self.jit_compile = (not recurrent) if jit_compile is None else jit_compile
        self.context = None
        if not recurrent and model.backbone.position_encoding == "learned":
            self.context = model.backbone.sequence_length
        self.vocabulary_size = model.vocabulary_size
        self._functions = {}

    # The graph ----------------------------------------------------------------------------

    def decode(self, prompts, lengths, max_new_tokens, temperature, top_k, top_p,
               repetition_penalty, seeds, stop_ids, first_step, output_length):
        """The loop as TensorFlow ops (trace it in a `tf.function`).

        Args:
            prompts: `(batch, prompt_length)` int32, right-padded.
            lengths: `(batch,)` int32, real prompt lengths (>= 1).
            max_new_tokens: scalar int32 <= output_length.
            temperature, top_k, top_p, repetition_penalty: scalars (see `next_tokens`).
            seeds: `(batch,)` int, one seed per row.
            stop_ids: `(num_stop,)` int32 (may be empty).
            first_step: scalar int32, the step number of the first new token (continuing a
                generation in chunks draws the same random numbers as in one go).
            output_length: Python int, the static width of the output.

        Returns:
            `(tokens (batch, output_length) int32, num_tokens (batch,) int32)`; positions past a
            row's `num_tokens` hold 0. A stop token that ended a row is included.
        """
        model = self.model
        batch = tf.shape(prompts)[0]
        prompt_length = prompts.shape[1]
        cache = model.initial_cache(batch, prompt_length + output_length)
        padding = tf.sequence_mask(lengths, prompt_length)  # (batch, prompt_length)
        recurrent_mask = padding if model.is_recurrent else None
        logits, cache = model.call_with_cache(prompts, cache, tf.zeros([batch], tf.int32),
                                              padding_mask=recurrent_mask)
        logits = tf.gather(logits, lengths - 1, axis=1, batch_dims=1)  # (batch, vocab)
        seen = tf.reduce_any(tf.one_hot(tf.where(padding, prompts, -1), self.vocabulary_size,
                                        on_value=True, off_value=False), axis=1)
        output = tf.zeros([batch, output_length], tf.int32)
        done = tf.zeros([batch], tf.bool)
        num_tokens = tf.zeros([batch], tf.int32)
        max_new_tokens = tf.minimum(tf.cast(max_new_tokens, tf.int32), output_length)

        def condition(step, logits, cache, index, output, done, num_tokens, seen):
            return tf.logical_and(step < max_new_tokens, tf.logical_not(tf.reduce_all(done)))

        def body(step, logits, cache, index, output, done, num_tokens, seen):
            token = next_tokens(logits, seen, temperature, top_k, top_p, repetition_penalty,
                                seeds, step + first_step)
            token = tf.where(done, 0, token)
            output = tf.where(tf.range(output_length)[None, :] == step, token[:, None], output)
            num_tokens = num_tokens + tf.cast(tf.logical_not(done), tf.int32)
            stopped = tf.reduce_any(token[:, None] == tf.cast(stop_ids, tf.int32)[None, :],
                                    axis=-1)
            done = done | stopped | (step + 1 >= max_new_tokens)
            seen = seen | tf.one_hot(token, self.vocabulary_size, on_value=True,
                                     off_value=False)
            logits, cache = model.call_with_cache(token[:, None], cache, index)
            return (step + 1, tf.cast(logits[:, -1, :], tf.float32), cache, index + 1, output,
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

    def generate_ids(self, prompts, max_new_tokens=64, temperature=0.0, top_k=0, top_p=1.0,
                     repetition_penalty=1.0, seed=0, stop_token_ids=(), first_step=0):
        """New token ids for each prompt (a list of lists of ids, each non-empty).

        Row i samples with seed `seed + i`, so a prompt decoded alone with seed s gives what it
        gives at row i of a batch decoded with seed s - i.

        A GPT with a learned position table sees at most `context` tokens. When prompt and
        continuation do not fit, generation slides: chunks of up to context/2 new tokens, each
        decoded after the last `context - chunk` tokens of prompt and text so far (nanoGPT
        crops the same way), the step count continuing so sampling is unchanged.
        """
        prompts = [list(p) for p in prompts]
        options = dict(temperature=temperature, top_k=top_k, top_p=top_p,
                       repetition_penalty=repetition_penalty, stop_token_ids=stop_token_ids)
        seeds = [seed + i for i in range(len(prompts))]
        longest = max(len(p) for p in prompts)
        if self.context is None or longest + max_new_tokens <= self.context:
            return self._decode(prompts, max_new_tokens, seeds, first_step, **options)
        chunk = max(self.context // 2, 1)
        generated = [[] for _ in prompts]
        active = list(range(len(prompts)))
        while active:
            done = len(generated[active[0]])
            count = min(chunk, max_new_tokens - done)
            contexts = [(prompts[r] + generated[r])[-(self.context - count):] for r in active]
            new = self._decode(contexts, count, [seeds[r] for r in active], first_step + done,
                               **options)
            still = []
            for row, tokens in zip(active, new):
                generated[row] += tokens
                stopped = len(tokens) < count or (tokens and tokens[-1] in stop_token_ids)
                if not stopped and len(generated[row]) < max_new_tokens:
                    still.append(row)
            active = still
        return generated

    def _decode(self, prompts, max_new_tokens, seeds, first_step, temperature, top_k, top_p,
                repetition_penalty, stop_token_ids):
        """One call of the compiled loop (prompt + continuation fit the context)."""
        longest = max(len(p) for p in prompts)
        prompt_length = _bucket(longest)
        output_length = _bucket(max_new_tokens)
        if self.context is not None:
            prompt_length = min(prompt_length, self.context - max_new_tokens)
            output_length = min(output_length, self.context - prompt_length)
        padded = np.zeros((len(prompts), prompt_length), np.int32)
        for row, ids in enumerate(prompts):
            padded[row, :len(ids)] = ids
        function = self.function(prompt_length, output_length)
        tokens, counts = function(
            tf.constant(padded), tf.constant([len(p) for p in prompts], tf.int32),
            tf.constant(max_new_tokens, tf.int32), tf.constant(temperature, tf.float32),
            tf.constant(top_k, tf.int32), tf.constant(top_p, tf.float32),
            tf.constant(repetition_penalty, tf.float32), tf.constant(seeds, tf.int32),
            tf.constant(list(stop_token_ids), tf.int32, shape=[len(stop_token_ids)]),
            tf.constant(first_step, tf.int32))
        tokens, counts = tokens.numpy(), counts.numpy()
        return [tokens[row, :counts[row]].tolist() for row in range(len(prompts))]

    def dropped_prompt_tokens(self, prompt_length, max_new_tokens):
        """How many leading prompt tokens the context cannot hold (0 without a limit)."""
        if self.context is None or prompt_length + max_new_tokens <= self.context:
            return 0
        count = min(max(self.context // 2, 1), max_new_tokens)
        return max(prompt_length - (self.context - count), 0)
