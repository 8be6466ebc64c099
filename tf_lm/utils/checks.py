"""Argument checks shared by layers, models and the config: each rule written once."""


def check_positive_int(name, value):
    """Raise a `ValueError` naming `name` unless `value` is an integer >= 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value!r}")


def check_rate(name, value):
    """Raise a `ValueError` naming `name` unless 0 <= value < 1."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ValueError(f"`{name}` must be a number in [0, 1). Received: {name}={value!r}")


def static_int(value):
    """`value` as a Python int when it is known now (an int, a NumPy or eager scalar), else None
    (a symbolic tensor inside a traced function)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def check_divisible(name, value, divisor_name, divisor):
    """Raise a `ValueError` naming both arguments unless `divisor` divides `value` (the hidden
    size must split evenly into attention heads)."""
    if value % divisor:
        raise ValueError(f"`{name}` must be divisible by `{divisor_name}`. Received: "
                         f"{name}={value}, {divisor_name}={divisor}")
