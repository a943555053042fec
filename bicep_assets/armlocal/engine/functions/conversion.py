"""Conversions and checks shared by the pure template functions.

* :func:`to_arm_string` — how ARM turns a value into text (``string()``, ``concat()``,
  ``format()``): strings unchanged, booleans ``True``/``False`` (.NET's spelling), numbers
  in invariant culture, ``null`` as the empty string, arrays and objects as compact JSON.
* :func:`arm_equals` — ARM's deep equality (``equals()``, ``contains()``, ``union()`` …):
  case-sensitive strings, order-insensitive objects, and a boolean never equals a number.
* :func:`expect_one_of` and :func:`ordinal` — argument checks with ARM's wording for
  parameters that accept several types.
* :func:`find_deferred` — a value computed from a resource of this deployment, anywhere
  inside the arguments (functions that look inside values return it unchanged).
* :func:`checked_int64` — ARM integers are 64-bit; results outside that range are errors.
"""

from __future__ import annotations

import math
from typing import Any

from ..errors import ExpressionError, type_name
from ..evaluator import Deferred
from .json_text import to_json_text

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

_ORDINALS = (
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
    "tenth",
)

USAGE = "Please see https://aka.ms/arm-template-expressions for usage details."


def ordinal(position: int) -> str:
    """``0`` → ``'first'``, ``1`` → ``'second'`` … (ARM names parameters this way)."""
    return _ORDINALS[position] if position < len(_ORDINALS) else f"{position + 1}th"


def type_error(fn: str, position: int, expected: str, value: Any) -> ExpressionError:
    """ARM's message for an argument of the wrong type (``expected``: ``'Integer, String'``)."""
    return ExpressionError(
        f"The template language function '{fn}' expects its {ordinal(position)} parameter to "
        f"be of type '{expected}'. The provided value is of type '{type_name(value)}'. {USAGE}"
    )


def expect_one_of(fn: str, value: Any, position: int, *types: str) -> Any:
    """Check ``value`` is one of ARM's types (``'Array'``, ``'Object'``, ``'String'``,
    ``'Integer'``, ``'Boolean'``, ``'Null'``) and return it."""
    if type_name(value) not in types:
        raise type_error(fn, position, ", ".join(types), value)
    return value


def is_number(value: Any) -> bool:
    """An ARM integer or float (a Python ``bool`` is not a number here)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def checked_int64(fn: str, value: int) -> int:
    """Return ``value`` if it fits ARM's 64-bit integers, otherwise raise an ARM error."""
    if not INT64_MIN <= value <= INT64_MAX:
        raise ExpressionError(
            f"The template language function '{fn}' produced the value '{value}', which is "
            f"outside the range of a 64-bit integer ({INT64_MIN} to {INT64_MAX})."
        )
    return value


def format_float(value: float) -> str:
    """A float as .NET's ``double.ToString()`` writes it (invariant culture, round-trip)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    text = repr(value)
    if "e" in text:
        mantissa, exponent = text.split("e")
        sign = "-" if exponent.startswith("-") else "+"
        digits = exponent.lstrip("+-").zfill(2)
        mantissa = mantissa[:-2] if mantissa.endswith(".0") else mantissa
        return f"{mantissa}E{sign}{digits}"
    return text


def to_arm_string(value: Any) -> str:
    """The text ARM makes of ``value`` (see the module docs)."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_float(value)
    if isinstance(value, (list, dict)):
        return to_json_text(value)
    raise ExpressionError(f"A value of type '{type_name(value)}' cannot be converted to a string.")


def arm_equals(left: Any, right: Any) -> bool:
    """ARM's deep equality of two JSON values (see the module docs)."""
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if is_number(left) and is_number(right):
        return left == right
    if isinstance(left, str) or isinstance(right, str):
        return isinstance(left, str) and isinstance(right, str) and left == right
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(
            arm_equals(a, b) for a, b in zip(left, right, strict=True)
        )
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(arm_equals(v, right[k]) for k, v in left.items())
    if left is None or right is None:
        return left is None and right is None
    return left is right


def contains_value(items: list[Any], value: Any) -> bool:
    """Whether ``items`` holds an element ARM-equal to ``value``."""
    return any(arm_equals(item, value) for item in items)


def find_deferred(*values: Any) -> Any:
    """The first deployment-time value (``Deferred``) inside ``values``, or ``None``."""
    stack = list(values)
    while stack:
        value = stack.pop()
        if type(value) is Deferred:
            return value
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return None


def case_insensitive_key(text: str) -> str:
    """A sort key comparing like .NET's ``StringComparer.OrdinalIgnoreCase``."""
    return "".join(_upper_char(c) for c in text)


def _upper_char(ch: str) -> str:
    upper = ch.upper()
    return upper if len(upper) == 1 else ch


def to_lower_invariant(text: str) -> str:
    """``ToLowerInvariant``: one character in, one character out (unlike ``str.lower``)."""
    return "".join(_lower_char(c) for c in text)


def to_upper_invariant(text: str) -> str:
    """``ToUpperInvariant``: one character in, one character out (``ß`` stays ``ß``)."""
    return "".join(_upper_char(c) for c in text)


def _lower_char(ch: str) -> str:
    lower = ch.lower()
    return lower if len(lower) == 1 else ch
