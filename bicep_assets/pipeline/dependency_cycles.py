"""Finding ``dependsOn`` cycles in a template without evaluating it.

Each ``dependsOn`` entry that can be resolved from the text alone is matched to a resource
declaration: a symbolic name (``sa``, ``sa[0]``, ``[format('sa[{0}]', copyIndex())]``), a copy
loop name, a literal name or ``type/name``, or a ``resourceId('Type', name…)`` call whose
arguments are written the same way as the declaration's name (``parameters('x')``,
``format('{0}/default', parameters('x'))``, ``concat(a, '/', b)`` …, compared case-insensitively).
A 1.0 nested child resource also depends on its parent, as in ARM. Entries that need
evaluation are skipped; the engine's full expansion catches the rest.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator
from typing import Any

from ..armlocal.engine.errors import ExpressionError
from ..armlocal.engine.expressions import Access, Call, Literal, Node, is_expression, parse
from ..armlocal.engine.expressions import unescape_literal as _unescape
from ..armlocal.engine.template import Declaration, is_relative_type

_RESOURCE_ID_FUNCTIONS = {"resourceid", "subscriptionresourceid", "tenantresourceid"}
_SYMBOL_INDEX = re.compile(r"^(?P<symbol>[A-Za-z_$][\w$]*)\[(?:\d+|\{0\})\]$")
_PLACEHOLDER = re.compile(r"^\{(\d+)\}$")


def label(decl: Declaration) -> str:
    """How a finding names a declaration: its symbolic name, its name, or its location."""
    return decl.symbolic_name or decl.name or decl.location


def find_cycles(decls: list[Declaration]) -> list[list[Declaration]]:
    """Each dependency cycle once, as ``[a, b, …, a]`` starting at its first declaration.

    ``decls`` are one template's declarations as the engine's walker finds them
    (``walk_declarations(template, lenient=True)``), parents before their nested children.
    """
    index = _Index(decls)
    edges: list[list[int]] = []
    position = {id(d): i for i, d in enumerate(decls)}
    for i, decl in enumerate(decls):
        targets: dict[int, None] = {}
        if decl.parent is not None:  # ARM deploys a nested child after its parent
            targets[position[id(decl.parent)]] = None
        for entry in decl.depends_on:
            for target in index.resolve(entry):
                j = position[id(target)]
                if j == i and decl.copy_name:
                    continue  # an instance of a copy loop naming its own loop: not a cycle
                targets[j] = None
        edges.append(list(targets))
    cycles: list[list[Declaration]] = []
    for component in _strongly_connected(edges):
        first = min(component)
        if len(component) == 1 and first not in edges[first]:
            continue
        path = _cycle_through(first, set(component), edges)
        cycles.append([decls[k] for k in path])
    cycles.sort(key=lambda c: position[id(c[0])])
    return cycles


class _Index:
    def __init__(self, decls: list[Declaration]) -> None:
        self.by_symbol: dict[str, list[Declaration]] = {}
        self.by_loop: dict[str, list[Declaration]] = {}
        self.by_name: dict[str, list[Declaration]] = {}
        self.by_key: dict[tuple[str, tuple[str, ...]], list[Declaration]] = {}
        names = _written_names(decls)
        for d in decls:
            segments, literal_name = names[id(d)]
            full_type = d.full_type
            if d.symbolic_name:
                self.by_symbol.setdefault(d.symbolic_name.lower(), []).append(d)
            if d.copy_name:
                self.by_loop.setdefault(d.copy_name.lower(), []).append(d)
            if literal_name:
                self.by_name.setdefault(literal_name.lower(), []).append(d)
                if full_type:
                    key = f"{full_type}/{literal_name}".lower()
                    self.by_name.setdefault(key, []).append(d)
            if full_type and segments is not None:
                self.by_key.setdefault((full_type.lower(), segments), []).append(d)

    def resolve(self, entry: Any) -> list[Declaration]:
        if not isinstance(entry, str):
            return []
        if not is_expression(entry):
            text = _unescape(entry).lower()
            indexed = _SYMBOL_INDEX.match(text)
            for table, key in (
                (self.by_symbol, text),
                (self.by_symbol, indexed["symbol"] if indexed else None),
                (self.by_loop, text),
                (self.by_name, text),
            ):
                if key is not None and key in table:
                    return table[key]
            return []
        try:
            node = parse(entry)
        except ExpressionError:
            return []
        if not isinstance(node, Call):
            return []
        function = node.name.lower()
        pattern = _text(node.args[0]) if node.args else None
        if function == "format" and pattern is not None:
            indexed = _SYMBOL_INDEX.match(pattern.lower())
            if indexed and indexed["symbol"] in self.by_symbol:
                return self.by_symbol[indexed["symbol"]]
            return []
        if function in _RESOURCE_ID_FUNCTIONS:
            return self._resource_id(node.args)
        return []

    def _resource_id(self, args: tuple[Node, ...]) -> list[Declaration]:
        for i, arg in enumerate(args):
            rtype = _text(arg)
            if rtype is None or "/" not in rtype or rtype.startswith("/"):
                continue
            segments: list[str] = []
            for name in args[i + 1 :]:
                text = _text(name)
                if text is None:
                    segments.append(_canon(name))
                else:
                    segments.extend(_canon(Literal(part)) for part in text.split("/"))
            return self.by_key.get((rtype.lower(), tuple(segments)), [])
        return []


# -- names as canonical text -----------------------------------------------------------------------


_Names = tuple[tuple[str, ...] | None, str | None]  # canonical segments, literal name


def _written_names(decls: list[Declaration]) -> dict[int, _Names]:
    """Each declaration's name as segments and as literal text, a nested child's (whose type is
    relative to its parent's, as ARM reads it) after its parent's."""
    names: dict[int, _Names] = {}
    for d in decls:  # parents come before their children
        segments, literal = _name_segments(d.name), _literal(d.name)
        if d.parent is not None and d.type is not None and is_relative_type(d.type):
            above, above_literal = names.get(id(d.parent), (None, None))
            segments = above + segments if above is not None and segments is not None else None
            literal = f"{above_literal}/{literal}" if above_literal and literal else None
        names[id(d)] = (segments, literal)
    return names


def _literal(name: str | None) -> str | None:
    if name is None or is_expression(name):
        return None
    return _unescape(name)


def _name_segments(name: str | None) -> tuple[str, ...] | None:
    """The canonical text of each ``/``-separated segment of a declared name, when knowable."""
    if name is None:
        return None
    if not is_expression(name):
        return tuple(_canon(Literal(part)) for part in _unescape(name).split("/"))
    try:
        node = parse(name)
    except ExpressionError:
        return None
    if isinstance(node, Call) and node.name.lower() == "format" and node.args:
        pattern = _text(node.args[0])
        if pattern is not None:
            return _format_segments(pattern, node.args[1:])
    if isinstance(node, Call) and node.name.lower() == "concat":
        return _concat_segments(node.args)
    return (_canon(node),)


def _format_segments(pattern: str, args: tuple[Node, ...]) -> tuple[str, ...] | None:
    segments: list[str] = []
    for part in pattern.split("/"):
        placeholder = _PLACEHOLDER.match(part)
        if placeholder:
            position = int(placeholder.group(1))
            if position >= len(args):
                return None
            segments.append(_canon(args[position]))
        elif "{" not in part:
            segments.append(_canon(Literal(part)))
        else:
            segments.append(_canon(Call("format", (Literal(part), *args))))
    return tuple(segments)


def _concat_segments(args: tuple[Node, ...]) -> tuple[str, ...]:
    groups: list[list[Node]] = [[]]
    for arg in args:
        text = _text(arg)
        if text is not None and "/" in text:
            for k, part in enumerate(text.split("/")):
                if k:
                    groups.append([])
                if part:
                    groups[-1].append(Literal(part))
        else:
            groups[-1].append(arg)
    return tuple(_canon(g[0]) if len(g) == 1 else _canon(Call("concat", tuple(g))) for g in groups)


def _canon(node: Node) -> str:
    """Expression text that compares equal for equal expressions (case-insensitively)."""
    if isinstance(node, Literal):
        value = node.value
        if isinstance(value, str):
            return "'" + value.replace("'", "''").lower() + "'"
        return str(value).lower()
    if isinstance(node, Call):
        return f"{node.name.lower()}({','.join(_canon(a) for a in node.args)})"
    assert isinstance(node, Access)
    return f"{_canon(node.target)}[{_canon(node.key)}]"


def _text(node: Node) -> str | None:
    """A string literal's value (``None`` for anything else)."""
    return node.value if isinstance(node, Literal) and isinstance(node.value, str) else None


# -- graph ---------------------------------------------------------------------------------------


def _strongly_connected(edges: list[list[int]]) -> Iterator[list[int]]:
    """Tarjan's algorithm, iteratively (templates may declare hundreds of resources)."""
    counter = 0
    number: dict[int, int] = {}
    low: dict[int, int] = {}
    stack: list[int] = []
    on_stack: set[int] = set()
    for root in range(len(edges)):
        if root in number:
            continue
        work: list[tuple[int, int]] = [(root, 0)]
        while work:
            node, child = work.pop()
            if child == 0:
                number[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            for k in range(child, len(edges[node])):
                target = edges[node][k]
                if target not in number:
                    work.append((node, k + 1))
                    work.append((target, 0))
                    break
                if target in on_stack:
                    low[node] = min(low[node], number[target])
            else:
                if low[node] == number[node]:
                    component: list[int] = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    yield component
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])


def _cycle_through(start: int, members: set[int], edges: list[list[int]]) -> list[int]:
    """The shortest path ``start → … → start`` inside one strongly connected component."""
    previous: dict[int, int] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for target in edges[node]:
            if target not in members:
                continue
            if target == start:
                path = [node]
                while path[-1] != start:
                    path.append(previous[path[-1]])
                return [*reversed(path), start]
            if target not in previous:
                previous[target] = node
                queue.append(target)
    return [start, start]
