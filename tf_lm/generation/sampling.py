"""Choosing the next token from logits, with every parameter a tensor chosen per request.

keras-hub's samplers (`keras_hub.samplers`) cannot be used inside the exported decode loop:
they write tokens with `ops.slice_update` (`XlaDynamicUpdateSlice` on TensorFlow, which TF
Serving cannot run) and take temperature, k and p as Python numbers fixed when the graph is
traced, where a served model must read them from each request. These functions compute the
same distributions with core TensorFlow ops only; every parameter may differ per call.

Randomness comes from a counter-based hash of (row seed, step, token id), so a row's samples
depend on its own seed and nothing else: a prompt decoded in a batch gives the text it gives
alone with the same seed.
"""

import tensorflow as tf

from tf_lm.generation.parameter_rules import REPETITION_PENALTY_OFF

_MASK32 = 0xFFFFFFFF


def _mix(x):
    """A 32-bit integer finalizer (murmur-style xor-shift-multiply) on int64 holding uint32."""
    x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, 16))
    x = tf.bitwise.bitwise_and(x * 0x7FEB352D, _MASK32)
    x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, 15))
    x = tf.bitwise.bitwise_and(x * 0x2C1B3C6D, _MASK32)
    return tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, 16))


def uniform_noise(row_seeds, step, vocabulary_size):
    """Uniform (0, 1) numbers `(batch, vocabulary_size)`, a pure function of seed, step, id.

    Every product stays below 2**63 (factors below 2**32 and 2**31), so int64 never overflows.
    """
    seeds = tf.bitwise.bitwise_and(tf.cast(row_seeds, tf.int64), _MASK32)[:, None]
    step = tf.reshape(tf.bitwise.bitwise_and(tf.cast(step, tf.int64), _MASK32), [-1, 1])
    ids = tf.range(vocabulary_size, dtype=tf.int64)[None, :]
    x = (tf.bitwise.bitwise_and(_mix(seeds) * 0x27D4EB2F, _MASK32)
         + tf.bitwise.bitwise_and(_mix(step + 0x165667B1) * 0x61C88647, _MASK32)
         + ids * 0x3C6EF372)
    x = _mix(_mix(tf.bitwise.bitwise_and(x, _MASK32)))
    return (tf.cast(x, tf.float64) + 0.5) / 4294967296.0


def penalize_repetition(logits, seen, penalty):
    """CTRL's repetition penalty: logits of tokens already seen are divided by `penalty` when
    positive and multiplied by it when negative (penalty 1: unchanged)."""
    penalized = tf.where(logits > 0, logits / penalty, logits * penalty)
    return tf.where(seen, penalized, logits)


def next_tokens(logits, seen, temperature, top_k, top_p, repetition_penalty, row_seeds, step):
    """The next token of each row: `(batch,)` int32.

    Args:
        logits: `(batch, vocab)` float32.
        seen: `(batch, vocab)` bool, tokens of the prompt and of the text so far.
        temperature: 0 means greedy (argmax), otherwise logits / temperature.
        top_k: keep the k most likely tokens (0: all).
        top_p: keep the smallest set of most likely tokens whose probability reaches p
            (nucleus sampling; 1: all).
        repetition_penalty: >= 1 (1: off).

        Each of these four is a scalar or one value per row `(batch,)`: a served model batches
        requests that asked for different parameters.
        row_seeds: `(batch,)` int, the seed of each row.
        step: int, the position in the generated text: a scalar, or `(batch,)`.

    Sampling is Gumbel-max: argmax(logits/T + g) with g = -log(-log(u)) draws exactly from
    softmax(logits/T) restricted to the kept tokens. Ties at the k-th or the p boundary keep
    every tied token.
    """
    logits = tf.cast(logits, tf.float32)
    batch = tf.shape(logits)[0]

    def per_row(value, dtype):  # a scalar or (batch,) -> (batch,)
        return tf.broadcast_to(tf.reshape(tf.cast(value, dtype), [-1]), [batch])

    temperature = per_row(temperature, tf.float32)
    penalty = per_row(repetition_penalty, tf.float32)
    sampling = temperature > 0

    def choose():
        penalized = penalize_repetition(logits, seen, penalty[:, None])
        greedy = tf.argmax(penalized, axis=-1, output_type=tf.int32)

        def sample():
            return tf.where(sampling, _sample(penalized, temperature, per_row(top_k, tf.int32),
                                              per_row(top_p, tf.float32), row_seeds, step),
                            greedy)

        return tf.cond(tf.reduce_any(sampling), sample, lambda: greedy)

    # Every row greedy without a penalty (the default) is one argmax: in the exported graph,
    # which runs op by op, the sampler's sort and noise and the penalty's selects would cost
    # more than the model's step.
    plain = tf.reduce_all(tf.logical_not(sampling) & tf.equal(penalty, REPETITION_PENALTY_OFF))
    return tf.cond(plain, lambda: tf.argmax(logits, axis=-1, output_type=tf.int32), choose)


def _sample(logits, temperature, top_k, top_p, row_seeds, step):
    """Gumbel-max sampling from softmax(logits / T) restricted to the top-k / top-p tokens."""
    vocabulary_size = tf.shape(logits)[1]
    scaled = logits / tf.maximum(temperature, 1e-6)[:, None]
    ordered = tf.sort(scaled, axis=-1, direction="DESCENDING")  # (batch, vocab)
    k = tf.where(top_k > 0, tf.minimum(top_k, vocabulary_size), vocabulary_size)
    kth = tf.gather(ordered, k - 1, axis=1, batch_dims=1)  # (batch,)
    probabilities = tf.nn.softmax(ordered, axis=-1)
    before = tf.cumsum(probabilities, axis=-1, exclusive=True)  # mass of more likely tokens
    kept = tf.reduce_sum(tf.cast(before < top_p[:, None], tf.int32), axis=-1)
    pth = tf.gather(ordered, tf.maximum(kept, 1) - 1, axis=1, batch_dims=1)
    threshold = tf.maximum(kth, pth)[:, None]
    masked = tf.where(scaled >= threshold, scaled, tf.fill(tf.shape(scaled), float("-inf")))
    noise = uniform_noise(row_seeds, step, vocabulary_size)
    gumbel = tf.cast(-tf.math.log(-tf.math.log(noise)), tf.float32)
    return tf.argmax(masked + gumbel, axis=-1, output_type=tf.int32)
