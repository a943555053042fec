"""ARM's what-if: the changes a deployment would make, predicted from its expanded template
(the desired state) and the resources that exist now (the current state).

``what_if`` answers what ``POST .../deployments/{name}/whatIf`` returns once done — the
``WhatIfOperationResult`` JSON ``{"status": "Succeeded", "properties": {"changes": [...]}}``;
``diff`` is the property comparison on its own. How changes are decided, following ARM:

- **Create**: the resource does not exist; ``after`` is the desired resource, no ``delta``.
- **Modify** / **NoChange**: it exists; the desired body is compared with the current one.
  Paths are flattened (``properties.siteConfig.alwaysOn``, ``tags.owner``) down to the first
  value that differs, is created or deleted. Arrays are aligned element by element (longest
  common subsequence of equal elements): an ``Array`` change whose ``children`` are ``Create``
  / ``Delete`` at an index, or ``Modify`` with nested children where an object element was
  changed in place. A property the current resource has and the template does not set is
  ``Delete`` (the PUT replaces it) — unless the service sets it at runtime (a *read-only* path,
  e.g. ``properties.provisioningState``; see :func:`read_only_matcher` for the patterns naming
  them): then it is ``NoEffect`` with its current value, as is a read-only property
  the template sets (the service ignores it). ``NoEffect`` means "will not be set or updated",
  so a resource whose only differences are ``NoEffect`` is ``NoChange`` (its ``NoEffect``
  deltas kept unless ``suppress_noise``). A *write-only* path (one a GET never returns: a
  Key Vault secret's ``value``) is not special here: the current resource lacks it, so a
  value the template sets there is ``Create`` on every what-if, as in Azure's (the HTTP
  route masks the value). Values the engine deferred (``[reference(...)]``)
  are compared as their expression text, like ARM, which cannot resolve them during what-if.
- **Delete** (Complete mode) / **Ignore** (Incremental mode): a top-level resource in a target
  resource group that the template does not deploy. Resources the template only references
  (``existing``) are always **Ignore**.
- **Unsupported**: a nested deployment the engine could not expand (e.g. a ``templateLink``).
  Expanded nested deployments contribute their resources; the
  ``Microsoft.Resources/deployments`` resource itself is not a change.
- **Deploy**: with ``resultFormat`` ``ResourceIdOnly`` ARM does not compare properties, so an
  existing resource the template deploys is ``Deploy``; changes carry only ``resourceId``,
  ``changeType`` (and ``unsupportedReason``).

Comparison rules: ``null`` means "not set", and so do ``{}`` and ``[]`` where the other
side has nothing (services return empty collections for unset ones); property names match
ignoring case; ``location`` ignores case and spaces (``West Europe`` = ``westeurope``);
strings that are resource ids ignore case; the envelope (``id``, ``name``, ``type``,
``apiVersion``, ``etag``, ``systemData``) is not compared. Changes are sorted by resource id,
ignoring case.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from ..engine.context import ResourceState
from ..engine.errors import ExpressionError
from ..engine.expansion import Expansion
from ..engine.models import ExpandedResource
from ..engine.resource_ids import parse_resource_id
from ..engine.types import json_equal

ResourceLookup = Callable[[str], "dict[str, Any] | None"]
ReadOnlyPaths = Callable[[str], Iterable[str]]

CHANGE_TYPES = ("Create", "Delete", "Ignore", "Deploy", "NoChange", "Modify", "Unsupported")
PROPERTY_CHANGE_TYPES = ("Create", "Delete", "Modify", "Array", "NoEffect")
RESULT_FORMATS = ("FullResourcePayloads", "ResourceIdOnly")
MODES = ("Incremental", "Complete")
ENVELOPE_KEYS = frozenset({"id", "name", "type", "apiversion", "etag", "systemdata"})
ALWAYS_READ_ONLY = frozenset({"properties.provisioningState"})  # every resource provider's

_MISSING: Any = object()
Path = tuple[str | int, ...]  # object keys and array indices from the resource's root


def what_if(
    expansion: Expansion,
    current: ResourceLookup | ResourceState,
    *,
    mode: str | None = None,
    existing_in_scope: Iterable[dict[str, Any]] = (),
    read_only_paths: ReadOnlyPaths | None = None,
    result_format: str = "FullResourcePayloads",
    suppress_noise: bool = False,
    defaulted_paths: ReadOnlyPaths | None = None,
) -> dict[str, Any]:
    """The ``WhatIfOperationResult`` of deploying ``expansion`` (see the module docs).

    ``current(resource_id)`` (or a :class:`ResourceState`) returns a resource's ARM GET body or
    ``None``. ``existing_in_scope`` lists the resources that exist in the target resource
    group(s) (GET bodies with ``id``; others are ignored). ``mode`` overrides the expansion's
    deployment mode. ``read_only_paths(resource_type)`` gives patterns of the property paths
    the service sets at runtime (see :func:`read_only_matcher`); ``defaulted_paths`` those it
    fills with a default when the template leaves them out (e.g. a web app's ``kind``): a
    template that omits them changes nothing there (NoEffect), one that sets them is compared.
    """
    fmt = _choice("resultFormat", result_format, RESULT_FORMATS)
    top_mode = _choice("mode", mode or expansion.context.mode, MODES)
    lookup = _lookup(current)
    planner = _Planner(lookup, read_only_paths, suppress_noise, defaulted_paths)
    planner.visit(expansion, top_mode)
    planner.add_untouched(existing_in_scope)
    changes = sorted(planner.changes.values(), key=lambda c: c["resourceId"].lower())
    if fmt == "ResourceIdOnly":
        changes = [_id_only(change) for change in changes]
    return {"status": "Succeeded", "properties": {"changes": changes}}


def diff(
    before: Any,
    after: Any,
    *,
    read_only: Iterable[str] = (),
    suppress_noise: bool = False,
) -> list[dict[str, Any]]:
    """The property changes (``WhatIfPropertyChange`` list) from ``before`` (current) to
    ``after`` (desired); paths matching ``read_only`` patterns (or :data:`ALWAYS_READ_ONLY`)
    are ``NoEffect``.
    Bodies compare without their envelope keys; see the module docs."""
    deltas, _ = _Differ({*ALWAYS_READ_ONLY, *read_only}, suppress_noise).resource(before, after)
    return deltas


class _Planner:
    """Walks an expansion (and its nested expansions) and collects one change per resource."""

    def __init__(
        self,
        lookup: ResourceLookup,
        read_only_paths: ReadOnlyPaths | None,
        suppress: bool,
        defaulted_paths: ReadOnlyPaths | None = None,
    ) -> None:
        self.lookup = lookup
        self.read_only_paths = read_only_paths
        self.defaulted_paths = defaulted_paths
        self.suppress = suppress
        self.changes: dict[str, dict[str, Any]] = {}  # lowercase id → change
        self.referenced: set[str] = set()  # ids of `existing` resources
        self.scopes: dict[str, str] = {}  # lowercase target resource group id → mode
        self._read_only: dict[str, frozenset[str]] = {}

    def visit(self, expansion: Expansion, mode: str) -> None:
        group = expansion.context.resource_group_id
        if group is not None:
            known = self.scopes.get(group.lower())
            self.scopes[group.lower()] = "Complete" if "Complete" in (known, mode) else mode
        self.referenced.update(r.id.lower() for r in expansion.existing)
        for resource in expansion.resources:
            if not resource.is_deployment:
                self.changes[resource.id.lower()] = self.resource_change(resource)
            elif resource.nested is not None:
                nested_mode = _choice("mode", resource.nested.context.mode, MODES)
                self.visit(resource.nested, nested_mode)
            else:
                self.changes[resource.id.lower()] = _unsupported(resource)

    def resource_change(self, resource: ExpandedResource) -> dict[str, Any]:
        desired = resource.to_arm()
        existing = self.lookup(resource.id)
        if existing is None:
            return {"resourceId": resource.id, "changeType": "Create", "after": desired}
        defaulted = self.defaulted_paths(resource.type) if self.defaulted_paths else ()
        differ = _Differ(self.read_only(resource.type), self.suppress, defaulted)
        deltas, predicted = differ.resource(existing, desired)
        envelope = {k: v for k, v in desired.items() if k.lower() in ENVELOPE_KEYS}
        significant = any(d["propertyChangeType"] != "NoEffect" for d in deltas)
        change: dict[str, Any] = {
            "resourceId": resource.id,
            "changeType": "Modify" if significant else "NoChange",
            "before": existing,
            "after": {**envelope, **predicted},
        }
        if deltas:
            change["delta"] = deltas
        return change

    def read_only(self, resource_type: str) -> frozenset[str]:
        key = resource_type.lower()
        if key not in self._read_only:
            extra = self.read_only_paths(resource_type) if self.read_only_paths else ()
            self._read_only[key] = frozenset({*ALWAYS_READ_ONLY, *extra})
        return self._read_only[key]

    def add_untouched(self, resources: Iterable[dict[str, Any]]) -> None:
        """Resources of the target groups that the template does not deploy."""
        for resource in resources:
            resource_id = resource.get("id")
            if not isinstance(resource_id, str) or resource_id.lower() in self.changes:
                continue
            mode = self.scopes.get(_top_level_scope(resource_id))
            if mode is None:
                continue  # not directly in a target resource group (child, extension, other)
            delete = mode == "Complete" and resource_id.lower() not in self.referenced
            self.changes[resource_id.lower()] = {
                "resourceId": resource_id,
                "changeType": "Delete" if delete else "Ignore",
                "before": resource,
            }


def read_only_matcher(patterns: Iterable[str]) -> Callable[[str], bool]:
    """Whether a property path (``properties.subnets[0].id``) lies in the subtree of one of
    ``patterns``: dotted paths where ``*`` stands for one object key (which may contain dots)
    and ``[*]`` for any array index, compared ignoring case (the pattern language of the
    resource behaviors, e.g. ``properties.*[*].etag``)."""
    regexes = []
    for pattern in set(patterns):
        pieces = []
        for token in re.split(r"(\[\*\]|\*)", pattern.strip()):
            if token == "[*]":
                pieces.append(r"\[\d+\]")
            elif token == "*":
                pieces.append(r"[^\[\]]+?")
            elif token:
                pieces.append(re.escape(token))
        regexes.append(re.compile("".join(pieces) + r"(?:$|[.\[])", re.IGNORECASE))
    return lambda path: any(regex.match(path) for regex in regexes)


class _Differ:
    """Compares a current and a desired JSON value under one resource type's read-only paths."""

    def __init__(
        self, read_only: Iterable[str], suppress: bool, defaulted: Iterable[str] = ()
    ) -> None:
        self.is_read_only = read_only_matcher(read_only)
        self.is_defaulted = read_only_matcher(defaulted)
        self.suppress = suppress

    def resource(self, before: Any, after: Any) -> tuple[list[dict[str, Any]], Any]:
        if isinstance(before, dict) and isinstance(after, dict):
            before = {k: v for k, v in before.items() if k.lower() not in ENVELOPE_KEYS}
            after = {k: v for k, v in after.items() if k.lower() not in ENVELOPE_KEYS}
        before = _MISSING if before is None else before
        after = _MISSING if after is None else after
        deltas, predicted = self.value(before, after, "", ())
        return self._finish(deltas), (None if predicted is _MISSING else predicted)

    def _finish(self, deltas: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not self.suppress:
            return deltas
        kept = []
        for delta in deltas:
            if delta["propertyChangeType"] == "NoEffect":
                continue
            if "children" in delta:
                delta = {**delta, "children": self._finish(delta["children"])}
            kept.append(delta)
        return kept

    def value(self, old: Any, new: Any, rel: str, path: Path) -> tuple[list[dict[str, Any]], Any]:
        """``(deltas, predicted value)`` for one value; ``_MISSING`` stands for "not set"."""
        if old is _MISSING and new is _MISSING:
            return [], _MISSING
        if old is _MISSING and _empty(new):
            return [], new  # {} or [] against nothing: not set
        if new is _MISSING and _empty(old):
            return [], old
        read_only = bool(path) and self.is_read_only(_render(path))
        if new is _MISSING:
            if read_only or (bool(path) and self.is_defaulted(_render(path))):
                return [_delta(rel, "NoEffect", old, old)], old
            if isinstance(old, dict):  # deleted, except for the parts the service owns
                deltas, predicted = self.object(old, {}, rel, path)
                if predicted:
                    return deltas, predicted
            return [_delta(rel, "Delete", before=old)], _MISSING
        if old is _MISSING:
            if read_only:
                return [_delta(rel, "NoEffect", after=new)], _MISSING
            return [_delta(rel, "Create", after=new)], new
        if read_only:
            if self.equal(old, new, path):
                return [], old
            return [_delta(rel, "NoEffect", old, new)], old
        if isinstance(old, dict) and isinstance(new, dict):
            return self.object(old, new, rel, path)
        if isinstance(old, list) and isinstance(new, list):
            children, predicted = self.array(old, new, path)
            return ([_delta(rel, "Array", old, new, children)] if children else []), predicted
        if self.equal(old, new, path):
            return [], new
        return [_delta(rel, "Modify", old, new)], new

    def object(
        self, old: dict[str, Any], new: dict[str, Any], rel: str, path: Path
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        by_name = {key.lower(): key for key, value in old.items() if value is not None}
        deltas: list[dict[str, Any]] = []
        predicted: dict[str, Any] = {}
        for key, value in new.items():
            if value is None:
                continue  # null: the template does not set it
            old_key = by_name.pop(key.lower(), None)
            before = old[old_key] if old_key is not None else _MISSING
            found, kept = self.value(before, value, _join(rel, key), (*path, key))
            deltas.extend(found)
            if kept is not _MISSING:
                predicted[key] = kept
        for old_key in by_name.values():
            found, kept = self.value(old[old_key], _MISSING, _join(rel, old_key), (*path, old_key))
            deltas.extend(found)
            if kept is not _MISSING:
                predicted[old_key] = kept
        return deltas, predicted

    def array(
        self, old: list[Any], new: list[Any], path: Path
    ) -> tuple[list[dict[str, Any]], list[Any]]:
        """Children of an ``Array`` change, and the predicted array."""
        n, m = len(old), len(new)
        head = 0
        while head < min(n, m) and json_equal(old[head], new[head]):
            head += 1
        tail = 0
        while tail < min(n, m) - head and json_equal(old[n - 1 - tail], new[m - 1 - tail]):
            tail += 1
        if head + tail == n == m:
            return [], list(new)
        olds, news = range(head, n - tail), range(head, m - tail)
        pairs = {(i, j): self.value(old[i], new[j], "", (*path, j)) for i in olds for j in news}
        same = {key for key, (deltas, _) in pairs.items() if not _significant(deltas)}
        matched = [
            *((k, k) for k in range(head)),
            *_common_subsequence(olds, news, same),
            *((n - tail + k, m - tail + k) for k in range(tail)),
            (n, m),  # the end, to flush the last gap
        ]
        children: list[dict[str, Any]] = []
        predicted: list[Any] = []
        last_i = last_j = 0
        for i, j in matched:
            deleted, created = list(range(last_i, i)), list(range(last_j, j))
            paired = min(len(deleted), len(created))
            for bi, aj in zip(deleted[:paired], created[:paired], strict=True):
                if isinstance(old[bi], dict) and isinstance(new[aj], dict):
                    deltas, kept = pairs[bi, aj]
                    children.append(_delta(str(aj), "Modify", old[bi], new[aj], deltas))
                    predicted.append(kept)
                else:
                    children.append(_delta(str(bi), "Delete", before=old[bi]))
                    children.append(_delta(str(aj), "Create", after=new[aj]))
                    predicted.append(new[aj])
            children.extend(_delta(str(bi), "Delete", before=old[bi]) for bi in deleted[paired:])
            for aj in created[paired:]:
                children.append(_delta(str(aj), "Create", after=new[aj]))
                predicted.append(new[aj])
            if j < m:
                predicted.append(pairs.get((i, j), ((), new[j]))[1])
            last_i, last_j = i + 1, j + 1
        return children, predicted

    def equal(self, old: Any, new: Any, path: Path) -> bool:
        """Equality of two leaves (or two read-only values, compared as JSON)."""
        if isinstance(old, str) and isinstance(new, str):
            if path == ("location",):
                return _location(old) == _location(new)
            if old[:15].lower() == "/subscriptions/":
                return old.lower() == new.lower()
        return json_equal(old, new)


def _common_subsequence(
    olds: range, news: range, same: set[tuple[int, int]]
) -> list[tuple[int, int]]:
    """Index pairs of a longest common subsequence of ``olds`` and ``news``, given which index
    pairs hold equal elements."""
    n, m = len(olds), len(news)
    lengths = [[0] * (m + 1) for _ in range(n + 1)]
    for a in range(n - 1, -1, -1):
        for b in range(m - 1, -1, -1):
            if (olds[a], news[b]) in same:
                lengths[a][b] = lengths[a + 1][b + 1] + 1
            else:
                lengths[a][b] = max(lengths[a + 1][b], lengths[a][b + 1])
    result: list[tuple[int, int]] = []
    a = b = 0
    while a < n and b < m:
        if (olds[a], news[b]) in same and lengths[a][b] == lengths[a + 1][b + 1] + 1:
            result.append((olds[a], news[b]))
            a, b = a + 1, b + 1
        elif lengths[a + 1][b] >= lengths[a][b + 1]:
            a += 1
        else:
            b += 1
    return result


def _delta(
    path: str,
    kind: str,
    before: Any = _MISSING,
    after: Any = _MISSING,
    children: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    delta: dict[str, Any] = {"path": path, "propertyChangeType": kind}
    if before is not _MISSING:
        delta["before"] = before
    if after is not _MISSING:
        delta["after"] = after
    if children is not None:
        delta["children"] = children
    return delta


def _empty(value: Any) -> bool:
    return isinstance(value, (dict, list)) and not value


def _significant(deltas: list[dict[str, Any]]) -> bool:
    return any(d["propertyChangeType"] != "NoEffect" for d in deltas)


def _join(rel: str, key: str) -> str:
    return f"{rel}.{key}" if rel else key


def _render(path: Path) -> str:
    """``("properties", "subnets", 0, "id")`` → ``properties.subnets[0].id``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _location(value: str) -> str:
    return "".join(value.split()).lower()


def _top_level_scope(resource_id: str) -> str | None:
    """The resource group id of a resource directly in a group, else ``None``."""
    try:
        parts = parse_resource_id(resource_id)
    except ExpressionError:
        return None
    if len(parts.types) != 1 or parts.resource_group is None:
        return None
    scope = parts.scope.lower()
    return scope if scope.count("/") == 4 else None


def _unsupported(resource: ExpandedResource) -> dict[str, Any]:
    reason = resource.nested_deferred_reason or "its template could not be expanded"
    return {
        "resourceId": resource.id,
        "changeType": "Unsupported",
        "unsupportedReason": (
            f"The changes of nested deployment '{resource.name}' cannot be predicted: {reason}."
        ),
    }


def _id_only(change: dict[str, Any]) -> dict[str, Any]:
    kind = change["changeType"]
    result = {
        "resourceId": change["resourceId"],
        "changeType": "Deploy" if kind in ("Modify", "NoChange") else kind,
    }
    if "unsupportedReason" in change:
        result["unsupportedReason"] = change["unsupportedReason"]
    return result


def _lookup(current: ResourceLookup | ResourceState) -> ResourceLookup:
    get_resource = getattr(current, "get_resource", None)
    if callable(get_resource):
        return get_resource  # type: ignore[no-any-return]
    if callable(current):
        return current
    raise TypeError("what_if: 'current' must be a callable or have get_resource(resource_id).")


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    for option in allowed:
        if value.lower() == option.lower():
            return option
    raise ValueError(
        f"The what-if {name} '{value}' is not valid: expected one of {', '.join(allowed)}."
    )


__all__ = [
    "ALWAYS_READ_ONLY",
    "CHANGE_TYPES",
    "PROPERTY_CHANGE_TYPES",
    "ResourceLookup",
    "diff",
    "read_only_matcher",
    "what_if",
]
