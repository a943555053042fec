"""Logical functions: ``and``, ``bool``, ``false``, ``if``, ``not``, ``or``, ``true``.

``if``, ``and`` and ``or`` are lazy, as in ARM: ``if`` evaluates only the branch it returns
(templates rely on this: ``if(empty(x), null(), x.foo)``), and ``and``/``or`` stop at the
first argument that decides the result. Every argument they do evaluate must be a boolean;
``true`` is never the same as ``1``.
"""

from __future__ import annotations

from typing import Any

from ..errors import ExpressionError
from ..evaluator import Deferred, EvalContext
from ..expressions import Node
from .conversion import USAGE, expect_one_of, ordinal, type_error
from .registry import arm_function


def _condition(ctx: EvalContext, fn: str, node: Node, position: int) -> Any:
    """Evaluate a boolean argument; a deployment-time (Deferred) value is returned as is."""
    value = ctx.evaluate(node)
    if type(value) is Deferred or isinstance(value, bool):
        return value
    raise type_error(fn, position, "Boolean", value)


def _short_circuit(ctx: EvalContext, fn: str, args: tuple[Node, ...], decisive: bool) -> Any:
    pending: Any = None
    for position, node in enumerate(args):
        value = _condition(ctx, fn, node, position)
        if type(value) is Deferred:
            pending = pending or value
        elif value is decisive:
            return decisive
    return pending if pending is not None else not decisive


@arm_function("and", min_args=2, max_args=None, lazy=True)
def and_(ctx: EvalContext, *args: Node) -> Any:
    """True when every argument is true; stops at the first false one."""
    return _short_circuit(ctx, "and", args, decisive=False)


@arm_function("or", min_args=2, max_args=None, lazy=True)
def or_(ctx: EvalContext, *args: Node) -> Any:
    """True when any argument is true; stops at the first true one."""
    return _short_circuit(ctx, "or", args, decisive=True)


@arm_function("if", min_args=3, lazy=True)
def if_(ctx: EvalContext, condition: Node, when_true: Node, when_false: Node) -> Any:
    """``trueValue`` when the condition is true, else ``falseValue``; only that one is evaluated."""
    decided = _condition(ctx, "if", condition, 0)
    if type(decided) is Deferred:
        return decided
    return ctx.evaluate(when_true if decided else when_false)


@arm_function("not", min_args=1)
def not_(ctx: EvalContext, value: Any) -> bool:
    """The opposite of a boolean."""
    if not isinstance(value, bool):
        raise type_error("not", 0, "Boolean", value)
    return not value


@arm_function("bool", min_args=1)
def bool_(ctx: EvalContext, value: Any) -> bool:
    """A boolean from ``'true'``/``'false'`` (any case) or an integer (0 is false)."""
    expect_one_of("bool", value, 0, "Boolean", "Integer", "String")
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    text = value.strip().lower()
    if text in ("true", "false"):
        return text == "true"
    raise ExpressionError(
        f"The template language function 'bool' cannot convert the {ordinal(0)} parameter "
        f"'{value}' to a boolean: the string must be 'true' or 'false'. {USAGE}"
    )


@arm_function("true")
def true_(ctx: EvalContext) -> bool:
    """The boolean true."""
    return True


@arm_function("false")
def false_(ctx: EvalContext) -> bool:
    """The boolean false."""
    return False
