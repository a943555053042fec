"""Object functions: ``createObject``, ``intersection``, ``items``, ``json``, ``null``,
``objectKeys``, ``shallowMerge``, ``tryGet``, ``union``.

``union`` and ``intersection`` take all arrays or all objects. For arrays, ``union`` keeps
each distinct value once in first-seen order; for objects, later arguments win and nested
objects are merged recursively (nested arrays are replaced, not merged), as Microsoft
documents. ``shallowMerge`` merges only the top level.

``items`` and ``objectKeys`` list keys alphabetically without regard to case (a stable sort,
so keys differing only in case keep their order), as ARM does.

``tryGet(value, key, ...)`` follows a path of property names and array indices and returns
null as soon as a step is missing (or the value is null) instead of failing — the function
behind Bicep's ``.?`` operator.
"""

from __future__ import annotations

from typing import Any

from ..errors import ExpressionError, type_name
from ..evaluator import Deferred, EvalContext
from .conversion import (
    USAGE,
    arm_equals,
    case_insensitive_key,
    contains_value,
    expect_one_of,
    find_deferred,
    ordinal,
    type_error,
)
from .json_text import JsonTextError, parse_json_text
from .registry import arm_function, expect_array, expect_object, expect_str, get_property, is_int


@arm_function("createObject", min_args=0, max_args=None)
def create_object(ctx: EvalContext, *args: Any) -> dict[str, Any]:
    """An object from alternating keys and values."""
    if len(args) % 2:
        raise ExpressionError(
            "The template language function 'createObject' expects an even number of "
            f"parameters (key, value, key, value …), but {len(args)} were provided. {USAGE}"
        )
    result: dict[str, Any] = {}
    for position in range(0, len(args), 2):
        key = args[position]
        if not isinstance(key, str):
            raise type_error("createObject", position, "String", key)
        if key in result:
            raise ExpressionError(
                f"The template language function 'createObject' was given the key '{key}' "
                f"more than once. {USAGE}"
            )
        result[key] = args[position + 1]
    return result


@arm_function("null")
def null(ctx: EvalContext) -> None:
    """The null value."""
    return None


@arm_function("json", min_args=1)
def json_(ctx: EvalContext, text: Any) -> Any:
    """The value a JSON string describes (``json('null')`` is null)."""
    return parse_json_argument("json", expect_str("json", text, 0))


def parse_json_argument(fn: str, text: str) -> Any:
    """Parse JSON text for ``fn``, reporting bad JSON as ARM does."""
    try:
        return parse_json_text(text)
    except JsonTextError as exc:
        raise ExpressionError(
            f"The template language function '{fn}' expects its parameter to be a valid JSON "
            f"string: {exc}. {USAGE}"
        ) from None


def sorted_keys(obj: dict[str, Any]) -> list[str]:
    """Keys in ARM's order for ``items``/``objectKeys`` (see the module docs)."""
    return sorted(obj, key=case_insensitive_key)


@arm_function("items", min_args=1)
def items(ctx: EvalContext, obj: Any) -> list[dict[str, Any]]:
    """``[{"key": k, "value": v}, ...]`` for an object's properties, ordered by key."""
    source = expect_object("items", obj, 0)
    return [{"key": key, "value": source[key]} for key in sorted_keys(source)]


@arm_function("objectKeys", min_args=1)
def object_keys(ctx: EvalContext, obj: Any) -> list[str]:
    """An object's property names, ordered alphabetically without regard to case."""
    return sorted_keys(expect_object("objectKeys", obj, 0))


@arm_function("shallowMerge", min_args=1)
def shallow_merge(ctx: EvalContext, objects: Any) -> dict[str, Any]:
    """One object from an array of objects; later top-level properties replace earlier ones."""
    result: dict[str, Any] = {}
    for position, element in enumerate(expect_array("shallowMerge", objects, 0)):
        if not isinstance(element, dict):
            raise ExpressionError(
                "The template language function 'shallowMerge' expects an array of objects; "
                f"the element at index {position} is of type '{type_name(element)}'. {USAGE}"
            )
        result.update(element)
    return result


def _same_kind(fn: str, values: tuple[Any, ...]) -> type:
    expect_one_of(fn, values[0], 0, "Array", "Object")
    kind = list if isinstance(values[0], list) else dict
    for position, value in enumerate(values[1:], start=1):
        if not isinstance(value, kind):
            raise ExpressionError(
                f"The template language function '{fn}' expects all its parameters to be arrays "
                f"or all to be objects; the first is of type '{type_name(values[0])}' but "
                f"the {ordinal(position)} is of type '{type_name(value)}'. {USAGE}"
            )
    return kind


def deep_union(base: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``other``'s properties; nested objects are merged recursively."""
    result = dict(base)
    for key, value in other.items():
        current = result.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            result[key] = deep_union(current, value)
        else:
            result[key] = value
    return result


@arm_function("union", min_args=2, max_args=None)
def union(ctx: EvalContext, *values: Any) -> Any:
    """All distinct elements of the arrays, or all properties of the objects (later wins)."""
    kind = _same_kind("union", values)
    if kind is dict:
        merged: dict[str, Any] = {}
        for value in values:
            merged = deep_union(merged, value)
        return merged
    deferred = find_deferred(*values)
    if deferred is not None:
        return deferred
    result: list[Any] = []
    for value in values:
        for element in value:
            if not contains_value(result, element):
                result.append(element)
    return result


@arm_function("intersection", min_args=2, max_args=None)
def intersection(ctx: EvalContext, *values: Any) -> Any:
    """The elements (or key/value pairs) that every argument has."""
    kind = _same_kind("intersection", values)
    deferred = find_deferred(*values)
    if deferred is not None:
        return deferred
    first, rest = values[0], values[1:]
    if kind is dict:
        return {
            key: value
            for key, value in first.items()
            if all(key in other and arm_equals(other[key], value) for other in rest)
        }
    result: list[Any] = []
    for element in first:
        if contains_value(result, element):
            continue
        if all(contains_value(other, element) for other in rest):
            result.append(element)
    return result


@arm_function("tryGet", min_args=2, max_args=None)
def try_get(ctx: EvalContext, value: Any, *path: Any) -> Any:
    """The value at a path of keys/indices, or null where the path does not exist."""
    current = value
    for position, key in enumerate(path, start=1):
        if current is None:
            return None
        if type(current) is Deferred:
            return current
        if isinstance(current, dict):
            if not isinstance(key, str):
                if is_int(key):
                    return None
                raise type_error("tryGet", position, "String, Integer", key)
            found, current = get_property(current, key)
            if not found:
                return None
        elif isinstance(current, list):
            if not is_int(key):
                if isinstance(key, str):
                    return None
                raise type_error("tryGet", position, "String, Integer", key)
            if not 0 <= key < len(current):
                return None
            current = current[key]
        else:
            raise type_error("tryGet", 0, "Array, Object", current)
    return current
