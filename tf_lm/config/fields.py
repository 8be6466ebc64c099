"""Typed config fields: declaration, checking and parsing of dotted overrides.

Every config dataclass declares its fields with `option(...)`, which stores the help
text (the field's comment) and its constraints in the field metadata. `check_value`
and `parse_value` read that metadata, so validation is written once for all fields.
"""

import dataclasses
import json
import math
import typing

from tf_lm.errors import InputError


def option(default, help, choices=None, minimum=None, maximum=None, exclusive_minimum=False):
    """Declares a config field.

    Args:
        default: the default value (immutable).
        help: one line that says what the field means; shown in `--help` and errors.
        choices: allowed values, or None.
        minimum: smallest allowed value for numbers, or None.
        maximum: largest allowed value for numbers, or None.
        exclusive_minimum: if True, the value must be strictly greater than `minimum`.
    """
    metadata = {
        "help": help,
        "choices": tuple(choices) if choices is not None else None,
        "minimum": minimum,
        "maximum": maximum,
        "exclusive_minimum": exclusive_minimum,
    }
    return dataclasses.field(default=default, metadata=metadata)


def field_types(cls):
    """Maps each field name of dataclass `cls` to its resolved type."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _base_type(tp):
    """Returns (type, optional) for `T` or `Optional[T]`."""
    args = typing.get_args(tp)
    if typing.get_origin(tp) is typing.Union and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return rest[0], True
    return tp, False


def type_name(tp):
    base, optional = _base_type(tp)
    name = getattr(base, "__name__", str(base))
    return f"{name} or null" if optional else name


def check_value(key, value, tp, metadata):
    """Checks a typed value against a field's type and constraints; returns it normalized."""
    base, optional = _base_type(tp)
    if value is None:
        if optional:
            return None
        raise InputError(f"Config key '{key}' expects {type_name(tp)}. Received: None")
    if base is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    ok = isinstance(value, base) and not (base is not bool and isinstance(value, bool))
    if not ok:
        raise InputError(
            f"Config key '{key}' expects {type_name(tp)}. "
            f"Received: {value!r} ({type(value).__name__})"
        )
    if base is float and not math.isfinite(value):
        raise InputError(f"Config key '{key}' expects a finite number. Received: {value!r}")
    choices = metadata.get("choices")
    if choices is not None and value not in choices:
        raise InputError(
            f"Config key '{key}' expects one of {list(choices)}. Received: {value!r}"
        )
    minimum = metadata.get("minimum")
    if minimum is not None:
        if metadata.get("exclusive_minimum") and not value > minimum:
            raise InputError(f"Config key '{key}' must be > {minimum}. Received: {value!r}")
        if value < minimum:
            raise InputError(f"Config key '{key}' must be >= {minimum}. Received: {value!r}")
    maximum = metadata.get("maximum")
    if maximum is not None and value > maximum:
        raise InputError(f"Config key '{key}' must be <= {maximum}. Received: {value!r}")
    return value


def parse_value(key, text, tp):
    """Parses the text of a command-line override (`--data.block_size=128`) into `tp`."""
    base, optional = _base_type(tp)
    if optional and text.strip().lower() in ("none", "null"):
        return None
    try:
        if base is bool:
            lowered = text.strip().lower()
            if lowered in ("true", "1", "yes", "on"):
                return True
            if lowered in ("false", "0", "no", "off"):
                return False
            raise ValueError(text)
        if base is int:
            return int(text)
        if base is float:
            return float(text)
        if base is str:
            return text
        return json.loads(text)
    except ValueError:
        raise InputError(
            f"Config key '{key}' expects {type_name(tp)}. Received: {text!r}"
        ) from None


def section_from_dict(cls, data, prefix):
    """Builds config section `cls` from a plain dict, refusing unknown keys and wrong types."""
    if not isinstance(data, dict):
        raise InputError(
            f"Config section '{prefix}' expects a mapping of keys to values. "
            f"Received: {data!r}"
        )
    types = field_types(cls)
    unknown = sorted(set(data) - set(types))
    if unknown:
        valid = ", ".join(f"{prefix}.{name}" for name in types)
        raise InputError(
            f"Unknown config key '{prefix}.{unknown[0]}'. Valid keys: {valid}"
        )
    values = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            values[f.name] = check_value(
                f"{prefix}.{f.name}", data[f.name], types[f.name], f.metadata
            )
    return cls(**values)


def validate_section(section, prefix):
    """Checks every field of a section instance (used after overrides)."""
    types = field_types(type(section))
    for f in dataclasses.fields(section):
        check_value(f"{prefix}.{f.name}", getattr(section, f.name), types[f.name], f.metadata)
