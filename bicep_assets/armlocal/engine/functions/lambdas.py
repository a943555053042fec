"""Lambda functions: filter, groupBy, map, mapValues, reduce, sort, toObject.

Each takes a ``lambda(...)`` value (made by the evaluator) and calls it through
``ctx.invoke``. Where Microsoft documents an optional index parameter (``filter``, ``map``:
``lambda('item', 'i', ...)``; ``reduce``: ``lambda('acc', 'item', 'i', ...)``) the lambda
may declare it; otherwise the lambda must declare exactly the documented parameters.

A lambda result that depends on a resource of this deployment (a ``Deferred``) makes the
whole result Deferred where the function must inspect it (a filter condition, a sort order,
an object key); ``map``-like results simply carry it.
"""

from __future__ import annotations

from functools import cmp_to_key
from typing import Any

from ..errors import ExpressionError, type_name
from ..evaluator import Deferred, EvalContext
from ..values import LambdaValue
from .registry import arm_function, expect_array, expect_object

_ABSENT = object()  # an optional argument that was not given (null is a given value)


class _DeferredResult(Exception):
    """Raised inside a sort comparison to abandon the sort with a Deferred value."""

    def __init__(self, value: Deferred) -> None:
        super().__init__(value.reason)
        self.value = value


def _expect_lambda(fn: str, value: Any, position: int, arities: tuple[int, ...]) -> LambdaValue:
    """Check that ``value`` is a lambda declaring one of the allowed parameter counts."""
    if not isinstance(value, LambdaValue):
        raise ExpressionError(
            f"The template language function '{fn}' expects its parameter {position + 1} to "
            f"be a lambda function. The provided value is of type '{type_name(value)}'."
        )
    if len(value.params) not in arities:
        if len(arities) == 1:
            wanted = f"{arities[0]} parameter{'s' if arities[0] != 1 else ''}"
        else:
            wanted = f"{' or '.join(str(a) for a in arities)} parameters"
        raise ExpressionError(
            f"The template language function '{fn}' expects the lambda function of its "
            f"parameter {position + 1} to declare {wanted}, but it declares "
            f"{len(value.params)}: {value!r}."
        )
    return value


def _call(ctx: EvalContext, fn: LambdaValue, args: list[Any]) -> Any:
    """Invoke ``fn`` with as many of ``args`` as it declares (the index is optional)."""
    return ctx.invoke(fn, args[: len(fn.params)])


def _expect_bool_result(fn: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ExpressionError(
            f"The template language function '{fn}' expects its lambda function to return a "
            f"boolean. The lambda returned a value of type '{type_name(value)}'."
        )
    return value


def _expect_key(fn: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ExpressionError(
            f"The template language function '{fn}' expects its key lambda function to return "
            f"a string. The lambda returned a value of type '{type_name(value)}'."
        )
    return value


@arm_function("filter", min_args=2)
def filter_(ctx: EvalContext, input_array: Any, predicate: Any) -> Any:
    """The elements for which ``lambda(item[, index])`` returns true, in order."""
    items = expect_array("filter", input_array, 0)
    fn = _expect_lambda("filter", predicate, 1, (1, 2))
    kept: list[Any] = []
    for index, item in enumerate(items):
        keep = _call(ctx, fn, [item, index])
        if type(keep) is Deferred:
            return keep
        if _expect_bool_result("filter", keep):
            kept.append(item)
    return kept


@arm_function("map", min_args=2)
def map_(ctx: EvalContext, input_array: Any, mapper: Any) -> list[Any]:
    """``lambda(item[, index])`` applied to each element."""
    items = expect_array("map", input_array, 0)
    fn = _expect_lambda("map", mapper, 1, (1, 2))
    return [_call(ctx, fn, [item, index]) for index, item in enumerate(items)]


@arm_function("mapValues", min_args=2)
def map_values(ctx: EvalContext, input_object: Any, mapper: Any) -> dict[str, Any]:
    """An object with the same keys and ``lambda(value)`` applied to each value."""
    obj = expect_object("mapValues", input_object, 0)
    fn = _expect_lambda("mapValues", mapper, 1, (1,))
    return {key: _call(ctx, fn, [value]) for key, value in obj.items()}


@arm_function("groupBy", min_args=2)
def group_by(ctx: EvalContext, input_array: Any, key_selector: Any) -> Any:
    """An object mapping each ``lambda(item)`` key to the elements with that key, in order."""
    items = expect_array("groupBy", input_array, 0)
    fn = _expect_lambda("groupBy", key_selector, 1, (1,))
    groups: dict[str, list[Any]] = {}
    for item in items:
        key = _call(ctx, fn, [item])
        if type(key) is Deferred:
            return key
        groups.setdefault(_expect_key("groupBy", key), []).append(item)
    return groups


@arm_function("reduce", min_args=3)
def reduce_(ctx: EvalContext, input_array: Any, initial_value: Any, reducer: Any) -> Any:
    """Fold the array: ``lambda(accumulated, item[, index])``, starting from ``initial_value``."""
    items = expect_array("reduce", input_array, 0)
    fn = _expect_lambda("reduce", reducer, 2, (2, 3))
    accumulated = initial_value
    for index, item in enumerate(items):
        accumulated = _call(ctx, fn, [accumulated, item, index])
    return accumulated


@arm_function("sort", min_args=2)
def sort_(ctx: EvalContext, input_array: Any, comparer: Any) -> Any:
    """The elements sorted by ``lambda(a, b)``, true when ``a`` comes before ``b`` (stable)."""
    items = expect_array("sort", input_array, 0)
    fn = _expect_lambda("sort", comparer, 1, (2,))

    def compare(a: Any, b: Any) -> int:
        before = _call(ctx, fn, [a, b])
        if type(before) is Deferred:
            raise _DeferredResult(before)
        # list.sort only asks "a < b?", so one lambda call per comparison is enough
        return -1 if _expect_bool_result("sort", before) else 1

    try:
        return sorted(items, key=cmp_to_key(compare))
    except _DeferredResult as deferred:
        return deferred.value


@arm_function("toObject", min_args=2, max_args=3)
def to_object(
    ctx: EvalContext, input_array: Any, key_selector: Any, value_selector: Any = _ABSENT
) -> Any:
    """An object keyed by ``lambda(item)``; values are the items or ``lambda(item)`` of them.

    A later element with the same key replaces the earlier one's value.
    """
    items = expect_array("toObject", input_array, 0)
    key_fn = _expect_lambda("toObject", key_selector, 1, (1,))
    value_fn = None
    if value_selector is not _ABSENT:
        value_fn = _expect_lambda("toObject", value_selector, 2, (1,))
    result: dict[str, Any] = {}
    for item in items:
        key = _call(ctx, key_fn, [item])
        if type(key) is Deferred:
            return key
        value = item if value_fn is None else _call(ctx, value_fn, [item])
        result[_expect_key("toObject", key)] = value
    return result
