"""The sampling parameters of a generation request: their defaults, their ranges, one check.

Each range is written once, as a test that works on a Python number and on a tensor alike:
`check_arguments` applies it to `TextGenerator`'s arguments (an `InputError`), `per_row` to
the exported model's request tensors (an `InvalidArgumentError` from the graph), and both
messages say the same "<name> must be <what>".
"""

import math
import numbers

import tensorflow as tf

from tf_lm.config.decoding import (DEFAULT_MAX_NEW_TOKENS, MAX_NEW_TOKENS_LIMIT,  # noqa: F401
                                   SAMPLERS)
from tf_lm.errors import InputError

# The value that turns each sampling parameter off: the one "not set" of every layer.
GREEDY_TEMPERATURE = 0.0  # the most likely token
TOP_K_OFF = 0  # every token stays a candidate
TOP_P_OFF = 1.0  # every token stays a candidate
REPETITION_PENALTY_OFF = 1.0


def _is_finite(value):
    return tf.math.is_finite(value) if tf.is_tensor(value) else math.isfinite(value)


# name: (an integer?, what it must be, the test of a value (number or tensor) and the limit)
RULES = {
    "max_new_tokens": (True, "an integer in [1, {limit}]",
                       lambda v, limit: (v >= 1) & (v <= limit)),
    "temperature": (False, "finite and >= 0", lambda v, limit: _is_finite(v) & (v >= 0)),
    "top_k": (True, "an integer >= 0", lambda v, limit: v >= 0),
    "top_p": (False, "in (0, 1]", lambda v, limit: (v > 0) & (v <= 1)),
    "repetition_penalty": (False, "finite and >= 1",
                           lambda v, limit: _is_finite(v) & (v >= 1)),
    "num_beams": (True, "an integer >= 1", lambda v, limit: v >= 1),
    "length_penalty": (False, "a finite number", lambda v, limit: _is_finite(v)),
}


def requirement(name, limit=None, rule=None):
    """The sentence both paths refuse a bad `name` with: "top_p must be in (0, 1]"."""
    return f"{name} must be {RULES[rule or name][1].format(limit=limit)}"


def check_argument(name, value, limit=None, rule=None):
    """Refuse a Python `value` outside `rule`'s range (default: the rule named `name`)."""
    integer, _, test = RULES[rule or name]
    kinds = numbers.Integral if integer else numbers.Real
    if not (isinstance(value, kinds) and test(value, limit)):
        raise InputError(f"{requirement(name, limit, rule)}. Received: {name}={value!r}")


def check_arguments(max_new_tokens_limit, max_new_tokens, sampler, temperature, top_k, top_p,
                    num_beams, repetition_penalty, length_penalty):
    """Refuse out-of-range `TextGenerator` arguments with an `InputError` naming the argument."""
    if sampler not in SAMPLERS:
        raise InputError(f"`sampler` must be one of {', '.join(SAMPLERS)}. "
                         f"Received: sampler={sampler!r}")
    check_argument("max_new_tokens", max_new_tokens, max_new_tokens_limit)
    check_argument("temperature", temperature)
    check_argument("top_p", top_p)
    if sampler == "top_k":  # the top_k sampler needs a cut: 0 would be plain temperature
        check_argument("top_k", top_k, rule="num_beams")
    check_argument("top_k", top_k)
    check_argument("num_beams", num_beams)
    check_argument("repetition_penalty", repetition_penalty)
    check_argument("length_penalty", length_penalty)


def per_row(name, value, batch, limit=None):
    """A request tensor as `(batch,)` (one value for every row, or one per row), checked in
    the graph against the rule of `name` when it has one."""
    flat = tf.reshape(value, [-1])
    size = tf.size(flat)
    checks = [tf.debugging.Assert(
        (size == 1) | (size == batch),
        [f"{name} must be one value or one per prompt. Received values, prompts:", size, batch])]
    if name in RULES:
        checks.append(tf.debugging.Assert(
            tf.reduce_all(RULES[name][2](flat, limit)),
            [f"{requirement(name, limit)}. Received:", flat], summarize=16))
    with tf.control_dependencies(checks):
        return tf.broadcast_to(flat, [batch])


def sampler_options(sampler, temperature, top_k, top_p):
    """The decoder's sampling arguments for a sampler: greedy turns every one of them off."""
    if sampler == "greedy":
        return {"temperature": GREEDY_TEMPERATURE, "top_k": TOP_K_OFF, "top_p": TOP_P_OFF}
    return {"temperature": float(temperature), "top_k": int(top_k), "top_p": float(top_p)}
