"""Numeric functions: ``add``, ``div``, ``float``, ``int``, ``max``, ``min``, ``mod``, ``mul``,
``sub``.

ARM integers are 64-bit: a result outside that range is an error rather than a silently
wrapped number. ``div`` truncates toward zero and ``mod`` takes the sign of the dividend, as
.NET's ``/`` and ``%`` do (``div(-7, 2)`` is ``-3``, ``mod(-7, 2)`` is ``-1``); dividing by
zero is an error. ``float`` is for passing non-integers on to services such as Logic Apps.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import ExpressionError, type_name
from ..evaluator import EvalContext
from .conversion import USAGE, checked_int64, expect_one_of, is_number, type_error
from .registry import arm_function, is_int

_INTEGER_TEXT = re.compile(r"[+-]?[0-9]+")
_FLOAT_TEXT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _operands(fn: str, left: Any, right: Any) -> tuple[int, int]:
    if not is_int(left):
        raise type_error(fn, 0, "Integer", left)
    if not is_int(right):
        raise type_error(fn, 1, "Integer", right)
    return left, right


@arm_function("add", min_args=2)
def add(ctx: EvalContext, left: Any, right: Any) -> int:
    """The sum of two integers."""
    a, b = _operands("add", left, right)
    return checked_int64("add", a + b)


@arm_function("sub", min_args=2)
def sub(ctx: EvalContext, left: Any, right: Any) -> int:
    """The first integer minus the second."""
    a, b = _operands("sub", left, right)
    return checked_int64("sub", a - b)


@arm_function("mul", min_args=2)
def mul(ctx: EvalContext, left: Any, right: Any) -> int:
    """The product of two integers."""
    a, b = _operands("mul", left, right)
    return checked_int64("mul", a * b)


def _divisor(fn: str, divisor: int) -> None:
    if divisor == 0:
        raise ExpressionError(
            f"The template language function '{fn}' cannot divide by zero: its second "
            f"parameter must not be 0. {USAGE}"
        )


def truncated_div(a: int, b: int) -> int:
    """Integer division rounding toward zero, like .NET."""
    quotient = abs(a) // abs(b)
    return quotient if (a < 0) == (b < 0) else -quotient


@arm_function("div", min_args=2)
def div(ctx: EvalContext, left: Any, right: Any) -> int:
    """Integer division, truncated toward zero."""
    a, b = _operands("div", left, right)
    _divisor("div", b)
    return checked_int64("div", truncated_div(a, b))


@arm_function("mod", min_args=2)
def mod(ctx: EvalContext, left: Any, right: Any) -> int:
    """The remainder of the integer division; its sign is the dividend's."""
    a, b = _operands("mod", left, right)
    _divisor("mod", b)
    return a - b * truncated_div(a, b)


@arm_function("int", min_args=1)
def int_(ctx: EvalContext, value: Any) -> int:
    """An integer from an integer or a string of decimal digits (``'4'``, ``' -12 '``)."""
    expect_one_of("int", value, 0, "Integer", "String")
    if is_int(value):
        return value
    text = value.strip()
    if not _INTEGER_TEXT.fullmatch(text):
        raise ExpressionError(
            f"The template language function 'int' cannot convert '{value}' to an integer: "
            f"it is not a whole number. {USAGE}"
        )
    return checked_int64("int", int(text))


@arm_function("float", min_args=1)
def float_(ctx: EvalContext, value: Any) -> float:
    """A floating point number from a number or a numeric string (``'3.0'``)."""
    expect_one_of("float", value, 0, "Integer", "Float", "String")
    if is_number(value):
        return float(value)
    text = value.strip()
    if not _FLOAT_TEXT.fullmatch(text):
        raise ExpressionError(
            f"The template language function 'float' cannot convert '{value}' to a floating "
            f"point number. {USAGE}"
        )
    return float(text)


def _numbers(fn: str, args: tuple[Any, ...]) -> list[Any]:
    """``max``/``min`` take either one array of numbers or the numbers themselves."""
    values = args[0] if len(args) == 1 and isinstance(args[0], list) else list(args)
    if not values:
        raise ExpressionError(
            f"The template language function '{fn}' expects at least one number; the provided "
            f"array is empty. {USAGE}"
        )
    for position, value in enumerate(values):
        if not is_number(value):
            raise ExpressionError(
                f"The template language function '{fn}' expects integers, either as an array "
                f"or as a comma-separated list. The value at position {position} is of type "
                f"'{type_name(value)}'. {USAGE}"
            )
    return values


@arm_function("max", min_args=1, max_args=None)
def max_(ctx: EvalContext, *args: Any) -> Any:
    """The largest of an array of integers, or of the integers given."""
    return max(_numbers("max", args))


@arm_function("min", min_args=1, max_args=None)
def min_(ctx: EvalContext, *args: Any) -> Any:
    """The smallest of an array of integers, or of the integers given."""
    return min(_numbers("min", args))
