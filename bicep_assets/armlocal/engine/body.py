"""Evaluating a JSON body (a resource's properties, an output): expressions, property copy
loops, and values that must wait for deployment.

``evaluate_body`` walks a JSON value, evaluates each expression string, expands ``copy``
arrays inside objects (ARM's property iteration) and, where a result depends on a resource
that this deployment has not created yet (:class:`~engine.evaluator.Deferred`), keeps the
original expression text — what ARM's what-if shows for such a property. Errors carry the
path of the property that failed, e.g. ``resources['sa'].properties.sku.name``.
"""

from __future__ import annotations

from typing import Any

from .errors import ExpressionError
from .evaluator import EvalContext, check_copy_count, contains_deferred
from .expressions import is_expression, parse, unescape_literal
from .functions.registry import expect_int


class BodyResult:
    """The evaluated value and whether any part of it had to be deferred."""

    __slots__ = ("deferred", "value")

    def __init__(self, value: Any, deferred: bool) -> None:
        self.value = value
        self.deferred = deferred


def evaluate_body(
    ctx: EvalContext, value: Any, location: str, *, property_copies: bool = True
) -> BodyResult:
    walker = _Walker(ctx, location, property_copies)
    result = walker.walk(ctx, value)
    return BodyResult(result, walker.deferred)


def format_path(location: str, path: list[str | int]) -> str:
    out = location
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.isidentifier():
            out += f".{part}"
        else:
            out += f"['{part}']"
    return out


class _Walker:
    __slots__ = ("copies", "deferred", "location", "path", "root")

    def __init__(self, root: EvalContext, location: str, copies: bool) -> None:
        self.root = root
        self.location = location
        self.copies = copies
        self.path: list[str | int] = []
        self.deferred = False

    def fail(self, exc: ExpressionError) -> ExpressionError:
        return exc.at(format_path(self.location, self.path))

    def walk(self, ctx: EvalContext, value: Any) -> Any:
        if isinstance(value, str):
            if not is_expression(value):
                return unescape_literal(value)
            try:
                result = ctx.evaluate(parse(value))
            except ExpressionError as exc:
                raise self.fail(exc) from None
            except RecursionError:
                raise self.fail(ExpressionError("The expression is nested too deeply.")) from None
            if contains_deferred(result):
                self.deferred = True
                return value
            return result
        if isinstance(value, dict):
            out: dict[str, Any] = {}
            path = self.path
            for key, item in value.items():
                if self.copies and key == "copy" and isinstance(item, list):
                    path.append(key)
                    out.update(self.property_copies(ctx, item))
                    path.pop()
                    continue
                path.append(key)
                out[key] = self.walk(ctx, item)
                path.pop()
            return out
        if isinstance(value, list):
            items: list[Any] = []
            path = self.path
            for index, item in enumerate(value):
                path.append(index)
                items.append(self.walk(ctx, item))
                path.pop()
            return items
        return value

    def property_copies(self, ctx: EvalContext, loops: list[Any]) -> dict[str, Any]:
        produced: dict[str, Any] = {}
        for i, loop in enumerate(loops):
            self.path.append(i)
            if not isinstance(loop, dict) or not isinstance(loop.get("name"), str):
                raise self.fail(
                    ExpressionError("A property copy loop needs a 'name', 'count' and 'input'.")
                )
            name = loop["name"]
            self.path.append("count")
            count = self.walk(ctx, loop.get("count"))
            try:
                if isinstance(count, str) and is_expression(count):
                    raise ExpressionError(
                        f"The copy count of '{name}' cannot depend on a resource of this "
                        "deployment."
                    )
                count = expect_int("copy", count)
                check_copy_count(name, count)
            except ExpressionError as exc:
                raise self.fail(exc) from None
            self.path[-1] = "input"
            values = []
            for index in range(count):
                self.path.append(index)
                values.append(self.walk(ctx.with_copy(name, index), loop.get("input")))
                self.path.pop()
            self.path.pop()
            self.path.pop()
            produced[name] = values
        return produced


def evaluate_copy_count(ctx: EvalContext, name: str, count: Any, location: str) -> int:
    """A resource copy loop's count, checked against ARM's limits."""
    result = evaluate_body(ctx, count, f"{location}.copy.count", property_copies=False)
    if result.deferred:
        raise ExpressionError(
            f"{location}.copy.count: The copy count of '{name}' cannot depend on a resource "
            "of this deployment."
        )
    try:
        value = expect_int("copy", result.value)
        check_copy_count(name, value)
    except ExpressionError as exc:
        raise exc.at(f"{location}.copy.count") from None
    return value
