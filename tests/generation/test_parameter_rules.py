import math

import pytest
import tensorflow as tf

from tf_lm.errors import InputError
from tf_lm.generation.parameter_rules import (RULES, check_argument, check_arguments, per_row,
                                              requirement)

LIMIT = 40
# (name, value, accepted): each range at and around its edges.
CASES = [
    ("max_new_tokens", 1, True), ("max_new_tokens", 40, True), ("max_new_tokens", 0, False),
    ("max_new_tokens", 41, False), ("max_new_tokens", -3, False),
    ("temperature", 0.0, True), ("temperature", 2.5, True), ("temperature", -0.5, False),
    ("temperature", math.nan, False), ("temperature", math.inf, False),
    ("top_k", 0, True), ("top_k", 7, True), ("top_k", -1, False),
    ("top_p", 1.0, True), ("top_p", 0.25, True), ("top_p", 0.0, False), ("top_p", 1.5, False),
    ("top_p", math.nan, False),
    ("repetition_penalty", 1.0, True), ("repetition_penalty", 1.3, True),
    ("repetition_penalty", 0.5, False), ("repetition_penalty", math.inf, False),
]


def graph_check(name, value):
    """The exported model's check of one request value: None, or the error message."""
    dtype = tf.int32 if RULES[name][0] else tf.float32

    @tf.function
    def check(value):
        return per_row(name, value, 2, LIMIT)

    try:
        check(tf.constant(value, dtype))
    except tf.errors.InvalidArgumentError as error:
        return error.message
    return None


@pytest.mark.parametrize("name,value,accepted", CASES,
                         ids=[f"{n}={v}" for n, v, _ in CASES])
def test_python_and_the_graph_accept_and_refuse_the_same_values(name, value, accepted):
    message = graph_check(name, value)
    if accepted:
        check_argument(name, value, LIMIT)
        assert message is None
    else:
        with pytest.raises(InputError) as error:
            check_argument(name, value, LIMIT)
        sentence = requirement(name, LIMIT)
        assert str(error.value).startswith(f"{sentence}. Received: {name}=")
        assert f"{sentence}. Received:" in message


def test_python_refuses_what_the_graph_cannot_be_sent():
    for name, value in (("max_new_tokens", 2.5), ("top_k", 1.5), ("top_p", "0.5"),
                        ("temperature", None)):
        with pytest.raises(InputError, match=f"{name}="):
            check_argument(name, value, LIMIT)


def test_every_argument_is_checked():
    good = dict(max_new_tokens=4, sampler="top_k", temperature=1.0, top_k=3, top_p=1.0,
                num_beams=1, repetition_penalty=1.0, length_penalty=1.0)
    check_arguments(LIMIT, **good)
    for name, bad in (("sampler", "nucleus"), ("max_new_tokens", 41), ("temperature", -1.0),
                      ("top_k", 0), ("top_p", 0.0), ("num_beams", 0),
                      ("repetition_penalty", 0.9), ("length_penalty", math.nan)):
        with pytest.raises(InputError, match=f"Received: {name}="):
            check_arguments(LIMIT, **{**good, name: bad})


def test_a_request_value_is_one_value_or_one_per_row():
    assert per_row("top_k", tf.constant([3]), 2).numpy().tolist() == [3, 3]
    assert per_row("seed", tf.constant([1, 2]), 2).numpy().tolist() == [1, 2]
    with pytest.raises(tf.errors.InvalidArgumentError, match="seed must be one value or one"):
        per_row("seed", tf.constant([1, 2, 3]), 2)
