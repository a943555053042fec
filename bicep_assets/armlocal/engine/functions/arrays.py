"""Array functions, including those ARM shares between arrays, strings and objects.

``array``, ``concat``, ``contains``, ``createArray``, ``empty``, ``first``, ``flatten``,
``indexFromEnd``, ``indexOf``, ``last``, ``lastIndexOf``, ``length``, ``range``, ``skip``,
``take``, ``tryIndexFromEnd``. Each name is registered once and dispatches on the type of
its first argument, as ARM does:

* ``contains`` — an array holds an equal element (case-sensitive), an object has a key
  (case-insensitive), a string holds a substring (case-sensitive);
* ``indexOf``/``lastIndexOf`` — for strings the search is case-insensitive, for arrays it
  compares elements exactly; -1 when not found;
* ``first``/``last`` — of an empty array: null; of an empty string: the empty string;
* ``concat`` — all arrays, or strings (numbers and booleans are written as text).
"""

from __future__ import annotations

from typing import Any

from .. import limits
from ..errors import ExpressionError, type_name
from ..evaluator import EvalContext
from .conversion import (
    USAGE,
    arm_equals,
    expect_one_of,
    find_deferred,
    to_arm_string,
    to_lower_invariant,
    type_error,
)
from .registry import arm_function, expect_array, expect_int, get_property

RANGE_MAX_COUNT = 10000
RANGE_MAX_END = 2147483647


@arm_function("array", min_args=1)
def array(ctx: EvalContext, value: Any) -> list[Any]:
    """``value`` itself when it is an array, else a one-element array holding it."""
    return value if isinstance(value, list) else [value]


@arm_function("createArray", min_args=0, max_args=None)
def create_array(ctx: EvalContext, *values: Any) -> list[Any]:
    """An array of the arguments (no arguments: an empty array)."""
    return list(values)


@arm_function("concat", min_args=1, max_args=None)
def concat(ctx: EvalContext, *values: Any) -> Any:
    """Arrays joined into one array, or values joined into one string."""
    first = next((v for v in values if v is not None), None)
    if isinstance(first, list):
        result: list[Any] = []
        for position, value in enumerate(values):
            if value is None:
                continue
            if not isinstance(value, list):
                raise _concat_mix(position, value, "Array")
            result.extend(value)
            limits.check_length(len(result), "The template language function 'concat'")
        return result
    parts: list[str] = []
    for position, value in enumerate(values):
        if isinstance(value, (list, dict)):
            raise _concat_mix(position, value, "String")
        deferred = find_deferred(value)
        if deferred is not None:
            return deferred
        parts.append(to_arm_string(value))
    limits.check_length(sum(map(len, parts)), "The template language function 'concat'")
    return "".join(parts)


def _concat_mix(position: int, value: Any, expected: str) -> ExpressionError:
    return ExpressionError(
        "The template language function 'concat' expects all its parameters to be arrays or "
        f"all to be strings, integers or booleans; the first is of type '{expected}' but "
        f"parameter {position + 1} is of type '{type_name(value)}'. {USAGE}"
    )


@arm_function("contains", min_args=2)
def contains(ctx: EvalContext, container: Any, item: Any) -> Any:
    """Whether an array holds ``item``, an object has the key ``item``, or a string the text."""
    expect_one_of("contains", container, 0, "Array", "Object", "String")
    if isinstance(container, list):
        deferred = find_deferred(container, item)
        if deferred is not None:
            return deferred
        return any(arm_equals(element, item) for element in container)
    expect_one_of("contains", item, 1, "String", "Integer", "Boolean")
    text = to_arm_string(item)
    if isinstance(container, dict):
        return get_property(container, text)[0]
    return text in container


@arm_function("empty", min_args=1)
def empty(ctx: EvalContext, value: Any) -> bool:
    """Whether an array, object or string has nothing in it (null counts as empty)."""
    if value is None:
        return True
    expect_one_of("empty", value, 0, "Array", "Object", "String")
    return len(value) == 0


@arm_function("length", min_args=1)
def length(ctx: EvalContext, value: Any) -> int:
    """Elements of an array, characters of a string, or top-level properties of an object."""
    expect_one_of("length", value, 0, "Array", "Object", "String")
    return len(value)


@arm_function("first", min_args=1)
def first(ctx: EvalContext, value: Any) -> Any:
    """The first element of an array (null if empty) or first character of a string."""
    expect_one_of("first", value, 0, "Array", "String")
    if isinstance(value, str):
        return value[:1]
    return value[0] if value else None


@arm_function("last", min_args=1)
def last(ctx: EvalContext, value: Any) -> Any:
    """The last element of an array (null if empty) or last character of a string."""
    expect_one_of("last", value, 0, "Array", "String")
    if isinstance(value, str):
        return value[-1:]
    return value[-1] if value else None


@arm_function("skip", min_args=2)
def skip(ctx: EvalContext, value: Any, count: Any) -> Any:
    """All but the first ``count`` elements or characters (count ≤ 0: everything)."""
    expect_one_of("skip", value, 0, "Array", "String")
    n = expect_int("skip", count, 1)
    return value[max(n, 0) :]


@arm_function("take", min_args=2)
def take(ctx: EvalContext, value: Any, count: Any) -> Any:
    """The first ``count`` elements or characters (count ≤ 0: none)."""
    expect_one_of("take", value, 0, "Array", "String")
    n = expect_int("take", count, 1)
    return value[: max(n, 0)]


def _search(fn: str, container: Any, item: Any, *, last: bool) -> Any:
    expect_one_of(fn, container, 0, "Array", "String")
    if isinstance(container, list):
        deferred = find_deferred(container, item)
        if deferred is not None:
            return deferred
        positions = range(len(container) - 1, -1, -1) if last else range(len(container))
        return next((i for i in positions if arm_equals(container[i], item)), -1)
    if not isinstance(item, str):
        raise type_error(fn, 1, "String", item)
    haystack, needle = to_lower_invariant(container), to_lower_invariant(item)
    return haystack.rfind(needle) if last else haystack.find(needle)


@arm_function("indexOf", min_args=2)
def index_of(ctx: EvalContext, container: Any, item: Any) -> Any:
    """Position of the first occurrence (strings: case-insensitive), or -1."""
    return _search("indexOf", container, item, last=False)


@arm_function("lastIndexOf", min_args=2)
def last_index_of(ctx: EvalContext, container: Any, item: Any) -> Any:
    """Position of the last occurrence (strings: case-insensitive), or -1."""
    return _search("lastIndexOf", container, item, last=True)


@arm_function("flatten", min_args=1)
def flatten(ctx: EvalContext, arrays: Any) -> list[Any]:
    """An array of arrays made into one array, one level deep, in order."""
    result: list[Any] = []
    for position, element in enumerate(expect_array("flatten", arrays, 0)):
        if not isinstance(element, list):
            raise ExpressionError(
                "The template language function 'flatten' expects an array of arrays; the "
                f"element at index {position} is of type '{type_name(element)}'. {USAGE}"
            )
        result.extend(element)
    return result


@arm_function("range", min_args=2)
def range_(ctx: EvalContext, start: Any, count: Any) -> list[int]:
    """``count`` consecutive integers from ``start``."""
    first_value = expect_int("range", start, 0)
    n = expect_int("range", count, 1)
    if not 0 <= n <= RANGE_MAX_COUNT:
        raise ExpressionError(
            f"The template language function 'range' expects its count to be between 0 and "
            f"{RANGE_MAX_COUNT}; the provided count is {n}. {USAGE}"
        )
    if first_value + n > RANGE_MAX_END:
        raise ExpressionError(
            "The template language function 'range' expects the sum of its start index and "
            f"count to be at most {RANGE_MAX_END}; the provided sum is {first_value + n}. {USAGE}"
        )
    return list(range(first_value, first_value + n))


def _from_end(fn: str, values: Any, reverse_index: Any, *, strict: bool) -> Any:
    items = expect_array(fn, values, 0)
    n = expect_int(fn, reverse_index, 1)
    if 1 <= n <= len(items):
        return items[len(items) - n]
    if not strict:
        return None
    raise ExpressionError(
        f"The template language function '{fn}' cannot take element {n} from the end of an "
        f"array of {len(items)} element{'s' if len(items) != 1 else ''}: the index must be "
        f"between 1 and the array's length. {USAGE}"
    )


@arm_function("indexFromEnd", min_args=2)
def index_from_end(ctx: EvalContext, values: Any, reverse_index: Any) -> Any:
    """``array[length(array) - n]`` (``n`` = 1 is the last element); out of range: error."""
    return _from_end("indexFromEnd", values, reverse_index, strict=True)


@arm_function("tryIndexFromEnd", min_args=2)
def try_index_from_end(ctx: EvalContext, values: Any, reverse_index: Any) -> Any:
    """Like ``indexFromEnd`` but null when the index is out of range."""
    if values is None:
        return None
    return _from_end("tryIndexFromEnd", values, reverse_index, strict=False)
