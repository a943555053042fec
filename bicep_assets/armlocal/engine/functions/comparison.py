"""Comparison functions: ``coalesce``, ``equals``, ``greater``, ``greaterOrEquals``, ``less``,
``lessOrEquals``.

``equals`` is deep and case-sensitive. The ordering functions take two numbers or two
strings. Strings are ordered the way .NET's invariant culture orders them, which is what
ARM does: alphabetically without regard to case first, and only then lower case before upper
case — so Microsoft's documented ``greater('A', 'a')`` is ``true`` (an ordinal comparison
would say ``false``).

``coalesce`` is lazy: it evaluates its arguments in order and stops at the first that is not
null, so later arguments that would fail are never evaluated.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Any

from ..errors import ExpressionError, type_name
from ..evaluator import Deferred, EvalContext
from ..expressions import Node
from .conversion import USAGE, arm_equals, find_deferred, is_number
from .registry import arm_function


@arm_function("coalesce", min_args=1, max_args=None, lazy=True)
def coalesce(ctx: EvalContext, *args: Node) -> Any:
    """The first argument that is not null (later ones are not evaluated); else null."""
    for node in args:
        value = ctx.evaluate(node)
        if type(value) is Deferred:
            return value  # whether it is null is known only at deployment time
        if value is not None:
            return value
    return None


@arm_function("equals", min_args=2)
def equals(ctx: EvalContext, left: Any, right: Any) -> Any:
    """Deep, case-sensitive equality of any two values."""
    deferred = find_deferred(left, right)
    if deferred is not None:
        return deferred
    return arm_equals(left, right)


def compare_values(fn: str, left: Any, right: Any) -> int:
    """-1, 0 or 1 comparing two numbers or two strings (see the module docs)."""
    if is_number(left) and is_number(right):
        return (left > right) - (left < right)
    if isinstance(left, str) and isinstance(right, str):
        return compare_strings(left, right)
    raise ExpressionError(
        f"The template language function '{fn}' expects two parameters of the same type, "
        "both integers or both strings. The provided values are of type "
        f"'{type_name(left)}' and '{type_name(right)}'. {USAGE}"
    )


def compare_strings(left: str, right: str) -> int:
    """Compare like .NET's invariant culture: letters case-insensitively, then case."""
    primary = _cmp(_primary_key(left), _primary_key(right))
    if primary:
        return primary
    for a, b in zip(left, right, strict=False):
        if a != b and a.lower() == b.lower():
            return -1 if a.islower() else 1  # lower case sorts first
    return _cmp(left, right)


def _primary_key(text: str) -> list[tuple[int, str]]:
    # punctuation and symbols before digits before letters; letters without case or accents
    key: list[tuple[int, str]] = []
    for ch in text:
        base = unicodedata.normalize("NFD", ch)[0].lower()
        if base.isdigit():
            key.append((1, base))
        elif base.isalpha():
            key.append((2, base))
        else:
            key.append((0, base))
    return key


def _cmp(left: Any, right: Any) -> int:
    return (left > right) - (left < right)


def _ordering(name: str, accept: Callable[[int], bool]) -> None:
    def impl(ctx: EvalContext, left: Any, right: Any) -> bool:
        return accept(compare_values(name, left, right))

    impl.__name__ = name
    impl.__doc__ = f"ARM's ``{name}(arg1, arg2)`` for two numbers or two strings."
    arm_function(name, min_args=2)(impl)


_ordering("greater", lambda c: c > 0)
_ordering("greaterOrEquals", lambda c: c >= 0)
_ordering("less", lambda c: c < 0)
_ordering("lessOrEquals", lambda c: c <= 0)
