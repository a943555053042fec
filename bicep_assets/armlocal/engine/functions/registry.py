"""The registry of ARM template functions and the argument checks they share.

A function is a plain Python callable registered with :func:`arm_function`. It receives the
evaluation context first (see ``engine.evaluator.EvalContext``) and then its arguments,
already evaluated to JSON-like Python values (``str``, ``int``, ``bool``, ``None``, ``list``,
``dict``; lambdas as ``LambdaValue``). A *lazy* function receives unevaluated expression
nodes instead and evaluates them itself with ``ctx.evaluate(node)`` (``if``, ``lambda``).

Names are case-insensitive, as in ARM. Namespaced user-defined functions (``ns.fn``) are not
registered here; the evaluator resolves them from the template.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from ..errors import ExpressionError, type_name

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class ArmFunction:
    """One registered template function."""

    name: str
    impl: Callable[..., Any]
    min_args: int
    max_args: int | None  # None: unbounded
    lazy: bool = False

    def check_arity(self, count: int) -> None:
        if count < self.min_args or (self.max_args is not None and count > self.max_args):
            raise ExpressionError(
                f"The template language function '{self.name}' {arity_phrase(self)}, "
                f"but {count} {'was' if count == 1 else 'were'} provided."
            )


def arity_phrase(fn: ArmFunction) -> str:
    lo, hi = fn.min_args, fn.max_args
    if hi is None:
        return f"expects at least {lo} parameter{'s' if lo != 1 else ''}"
    if lo == hi:
        return f"expects exactly {lo} parameter{'s' if lo != 1 else ''}"
    return f"expects between {lo} and {hi} parameters"


FUNCTIONS: dict[str, ArmFunction] = {}


def arm_function(
    name: str, *, min_args: int = 0, max_args: int | None = -1, lazy: bool = False
) -> Callable[[F], F]:
    """Register ``impl(ctx, *args)`` as the template function ``name``.

    ``max_args=-1`` (the default) means "same as ``min_args``"; ``None`` means unbounded.
    """

    def register(impl: F) -> F:
        key = name.lower()
        if key in FUNCTIONS:
            raise RuntimeError(f"template function {name!r} registered twice")
        hi = min_args if max_args == -1 else max_args
        FUNCTIONS[key] = ArmFunction(name, impl, min_args, hi, lazy)
        return impl

    return register


def lookup(name: str) -> ArmFunction | None:
    return FUNCTIONS.get(name.lower())


# --- argument checks -------------------------------------------------------------------
# Each raises ExpressionError with ARM-like wording naming the function and the argument.


def _bad(fn: str, expected: str, value: Any, position: int | None) -> ExpressionError:
    where = f" parameter {position + 1}" if position is not None else " parameter"
    return ExpressionError(
        f"The template language function '{fn}' expects its{where} to be {expected}. "
        f"The provided value is of type '{type_name(value)}'."
    )


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def expect_str(fn: str, value: Any, position: int | None = None) -> str:
    if not isinstance(value, str):
        raise _bad(fn, "a string", value, position)
    return value


def expect_int(fn: str, value: Any, position: int | None = None) -> int:
    if not is_int(value):
        raise _bad(fn, "an integer", value, position)
    return value


def expect_bool(fn: str, value: Any, position: int | None = None) -> bool:
    if not isinstance(value, bool):
        raise _bad(fn, "a boolean", value, position)
    return value


def expect_array(fn: str, value: Any, position: int | None = None) -> list[Any]:
    if not isinstance(value, list):
        raise _bad(fn, "an array", value, position)
    return value


def expect_object(fn: str, value: Any, position: int | None = None) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _bad(fn, "an object", value, position)
    return value


def get_property(obj: dict[str, Any], name: str) -> tuple[bool, Any]:
    """ARM property lookup: exact key first, then case-insensitive. Returns (found, value)."""
    if name in obj:
        return True, obj[name]
    lowered = name.lower()
    for key, value in obj.items():
        if key.lower() == lowered:
            return True, value
    return False, None
