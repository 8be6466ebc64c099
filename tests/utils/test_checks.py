import pytest

from tf_lm.utils.checks import check_divisible, check_positive_int, check_rate, static_int


@pytest.mark.parametrize("value", [0, -1, 1.0, True, "2", None])
def test_check_positive_int_names_the_argument_and_value(value):
    with pytest.raises(ValueError, match=rf"`units` must be a positive integer. Received: "
                                         rf"units={value!r}"):
        check_positive_int("units", value)


def test_check_positive_int_accepts_integers_from_one():
    check_positive_int("units", 1)
    check_positive_int("units", 10 ** 6)


@pytest.mark.parametrize("value", [-0.1, 1, 1.5, "0.1", False])
def test_check_rate_wants_a_number_in_zero_one(value):
    with pytest.raises(ValueError, match="`dropout` must be a number in"):
        check_rate("dropout", value)


def test_check_rate_accepts_zero_and_below_one():
    check_rate("dropout", 0)
    check_rate("dropout", 0.999)


def test_check_divisible_names_both_arguments():
    check_divisible("hidden_dim", 12, "num_heads", 4)
    with pytest.raises(ValueError, match="`hidden_dim` must be divisible by `num_heads`. "
                                         "Received: hidden_dim=10, num_heads=4"):
        check_divisible("hidden_dim", 10, "num_heads", 4)


def test_static_int_knows_python_and_numpy_values_only():
    import numpy as np

    assert static_int(3) == 3 and static_int(np.int32(4)) == 4
    assert static_int(None) is None and static_int("x") is None
