"""Finding expressions inside template values, and the function calls inside expressions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..armlocal.engine.errors import ExpressionError
from ..armlocal.engine.expressions import Access, Call, Literal, Node, is_expression, parse


def expressions_in(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """Every expression string inside ``value``, with its path."""
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        current, where = stack.pop()
        if isinstance(current, str):
            if is_expression(current):
                yield current, where
        elif isinstance(current, dict):
            stack.extend((v, child_path(where, k)) for k, v in reversed(list(current.items())))
        elif isinstance(current, list):
            stack.extend((v, f"{where}[{i}]") for i, v in reversed(list(enumerate(current))))


def calls_in(text: str) -> Iterator[Call]:
    """Every call in the expression ``text`` (none when it does not parse)."""
    try:
        node = parse(text)
    except ExpressionError:
        return
    yield from calls_of(node)


def calls_of(node: Node) -> Iterator[Call]:
    """Every call in an expression tree, outermost first."""
    stack: list[Node] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, Call):
            yield current
            stack.extend(reversed(current.args))
        elif isinstance(current, Access):
            stack.extend((current.key, current.target))


def literal_argument(call: Call) -> str | None:
    """The name in ``parameters('x')``-like calls: a single string literal argument."""
    if len(call.args) == 1 and isinstance(call.args[0], Literal):
        value = call.args[0].value
        return value if isinstance(value, str) else None
    return None


def child_path(path: str, key: str) -> str:
    """``path.key``, or ``path['key']`` when the key is not an identifier (as the engine)."""
    return f"{path}.{key}" if key.isidentifier() else f"{path}['{key}']"
