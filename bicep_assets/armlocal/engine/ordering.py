"""Deployment order: a stable topological sort that names the cycle when there is one."""

from __future__ import annotations

import heapq
from collections.abc import Hashable, Mapping, Sequence
from typing import TypeVar

from .errors import TemplateError

K = TypeVar("K", bound=Hashable)


def deployment_order(
    keys: Sequence[K], depends_on: Mapping[K, Sequence[K]], label: Mapping[K, str]
) -> list[K]:
    """Order ``keys`` so that each comes after everything it depends on.

    Ties keep declaration order (Kahn's algorithm over a ready list processed in order).
    A cycle raises ``TemplateError`` (``InvalidTemplate`` with a
    ``TemplateResourceCircularDependency`` detail) naming the resources in the cycle.
    """
    position = {k: i for i, k in enumerate(keys)}
    waiting = {k: 0 for k in keys}
    dependents: dict[K, list[K]] = {k: [] for k in keys}
    for key in keys:
        for dep in dict.fromkeys(depends_on.get(key, ())):
            if dep in waiting and dep != key:
                waiting[key] += 1
                dependents[dep].append(key)
            elif dep == key:
                raise_cycle([key, key], label)

    ready = [position[k] for k in keys if waiting[k] == 0]
    heapq.heapify(ready)
    order: list[K] = []
    while ready:
        key = keys[heapq.heappop(ready)]
        order.append(key)
        for child in dependents[key]:
            waiting[child] -= 1
            if waiting[child] == 0:
                heapq.heappush(ready, position[child])
    if len(order) != len(keys):
        remaining = {k for k in keys if waiting[k] > 0}
        raise_cycle(_find_cycle(remaining, depends_on, keys), label)
    return order


def _find_cycle(
    remaining: set[K], depends_on: Mapping[K, Sequence[K]], keys: Sequence[K]
) -> list[K]:
    """Walk dependencies among the unsorted keys until one repeats: that is a cycle."""
    start = next(k for k in keys if k in remaining)
    path: list[K] = []
    seen: dict[K, int] = {}
    node = start
    while node not in seen:
        seen[node] = len(path)
        path.append(node)
        node = next(d for d in depends_on.get(node, ()) if d in remaining)
    return [*path[seen[node] :], node]


def raise_cycle(cycle: list[K], label: Mapping[K, str]) -> None:
    names = " -> ".join(f"'{label[k]}'" for k in cycle)
    message = f"Circular dependency detected on resources: {names}."
    raise TemplateError(
        f"Deployment template validation failed: {message} Please see "
        "https://aka.ms/arm-syntax-resources for usage details.",
        code="InvalidTemplate",
        details=[TemplateError(message, code="TemplateResourceCircularDependency")],
    )
