"""The limits of template evaluation: ARM's documented ones, and the engine's own bounds.

Microsoft documents these template limits ("ARM template best practices — Template limits" and
"Resolve errors for job size exceeded"): a template of at most 4 MB and each resource
definition at most 1 MB *after* expansion (copy loops, variables and parameters resolved), and
at most 24,576 characters in one template expression. The engine enforces them, and from them
bounds what Microsoft does not spell out, so that no template can make it use unbounded memory
or time:

- **a value** — any string, array or object that an expression produces — is at most
  ``MAX_VALUE_CHARS`` (4 MB) measured as compact JSON: no value can be larger than the
  template it would have to fit in. Arrays and objects that share parts are measured as they
  would be written out, so a value doubled forty times by reference is caught as well;
- **an evaluation** — one expansion, one evaluation of outputs — may produce at most
  ``MAX_EVALUATION_BYTES`` (128 MB, estimated as functions return values). That bounds memory
  and, because every function result counts, the work done: a template that builds many
  large values one after another fails instead of running for minutes;
- **JSON nesting** — templates, parameters and values nest at most ``MAX_JSON_DEPTH`` (256)
  levels.

A breach is an :class:`~bicep_assets.armlocal.engine.errors.ExpressionError`, which the
expansion reports as ARM's ``InvalidTemplate`` at the location it happened.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from .errors import ExpressionError

MAX_TEMPLATE_BYTES = 4 * 1024 * 1024  # Microsoft: a template, after expansion
MAX_RESOURCE_BYTES = 1024 * 1024  # Microsoft: one resource definition, after expansion
MAX_EXPRESSION_CHARS = 24_576  # Microsoft: characters in one template expression
MAX_VALUE_CHARS = MAX_TEMPLATE_BYTES  # the engine: one value, as compact JSON
MAX_EVALUATION_BYTES = 128 * 1024 * 1024  # the engine: all values one evaluation produces
MAX_JSON_DEPTH = 256  # the engine: nesting of JSON arrays and objects

_MEGABYTE = 1024 * 1024
_RESULT_COST = 32  # every function result counts at least this much (an object's overhead)


class _Budget:
    """What one evaluation has produced so far, and the sizes of values it has measured."""

    def __init__(self) -> None:
        self.spent = 0
        # id → (value, size): the value is kept so that its id cannot be reused meanwhile
        self.sizes: dict[int, tuple[Any, int]] = {}


_BUDGET: ContextVar[_Budget | None] = ContextVar("bicep_assets_evaluation_budget", default=None)


@contextlib.contextmanager
def evaluation() -> Iterator[None]:
    """Count what the code inside produces against one budget (nested calls share the outer
    one, so a nested deployment counts toward its parent's evaluation)."""
    if _BUDGET.get() is not None:
        yield
        return
    token = _BUDGET.set(_Budget())
    try:
        yield
    finally:
        _BUDGET.reset(token)


def json_size(value: Any, limit: int = MAX_VALUE_CHARS) -> int:
    """About how many characters ``value`` takes as compact JSON; stops counting, and returns
    a number above ``limit``, as soon as it is known to be larger. Inside an evaluation, the
    size of every array and object measured is remembered, so a value built from earlier
    results costs only its own new parts."""
    budget = _BUDGET.get()
    sizes = budget.sizes if budget is not None else None
    total = 0
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item) + 2
        elif isinstance(item, list | dict):
            known = sizes.get(id(item)) if sizes is not None else None
            if known is not None and known[0] is item:
                total += known[1]
            elif isinstance(item, dict):
                total += 2 + len(item) + sum(len(key) + 3 for key in item)
                stack.extend(item.values())
            else:
                total += 2 + len(item)
                stack.extend(item)
        else:
            total += 5  # numbers, booleans, null (a fair average of what they print as)
        if total > limit:
            return total
    if sizes is not None and isinstance(value, list | dict):
        sizes[id(value)] = (value, total)
    return total


def check_value(value: Any, what: str) -> None:
    """Refuse a value larger than ``MAX_VALUE_CHARS`` (``what`` names where it came from)."""
    if isinstance(value, str):
        size = len(value)
    elif isinstance(value, list | dict):
        size = json_size(value)
    else:
        return
    if size > MAX_VALUE_CHARS:
        raise _too_large(what)


def check_length(length: int, what: str) -> None:
    """Refuse to build a string of ``length`` characters when it would exceed the limit."""
    if length > MAX_VALUE_CHARS:
        raise ExpressionError(
            f"{what} would produce a string of {length:,} characters; a template may hold at "
            f"most {MAX_VALUE_CHARS // _MEGABYTE} MB after expansion."
        )


def account(result: Any, function: str) -> None:
    """Check a function's result against the value limit and count it against the
    evaluation's budget (outside an evaluation, only the limit applies)."""
    if isinstance(result, str):
        size = cost = len(result)
    elif isinstance(result, list | dict):
        size, cost = json_size(result), 8 * len(result)
    else:
        size = cost = 0
    if size > MAX_VALUE_CHARS:
        raise _too_large(f"The template language function '{function}'")
    budget = _BUDGET.get()
    if budget is None:
        return
    budget.spent += cost if cost > _RESULT_COST else _RESULT_COST
    if budget.spent > MAX_EVALUATION_BYTES:
        raise ExpressionError(
            f"The template language function '{function}': evaluating this template produces "
            f"more than {MAX_EVALUATION_BYTES // _MEGABYTE} MB of values, the most the local ARM "
            "evaluates for one deployment."
        )


def _too_large(what: str) -> ExpressionError:
    return ExpressionError(
        f"{what} produces a value larger than {MAX_VALUE_CHARS // _MEGABYTE} MB, the most a "
        "template may hold after expansion."
    )


def json_depth_error() -> str:
    return f"the JSON is nested more than {MAX_JSON_DEPTH} levels deep"


def too_deep(value: Any) -> bool:
    """Whether ``value`` nests arrays and objects more than ``MAX_JSON_DEPTH`` levels
    (walked without recursion, so any depth can be asked about)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if not isinstance(item, dict | list):
            continue
        if depth > MAX_JSON_DEPTH:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children)
    return False


def check_json_depth(value: Any, what: str) -> None:
    """Refuse JSON nested more than ``MAX_JSON_DEPTH`` levels."""
    if too_deep(value):
        raise ExpressionError(f"{what}: {json_depth_error()}.")
