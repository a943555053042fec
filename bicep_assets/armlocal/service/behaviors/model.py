"""The building blocks of a resource type's behavior: the service context, the per-resource
runtime view behaviors compute from, and the :class:`Behavior` record each type registers."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from ...engine.context import DEFAULT_TENANT
from ...engine.errors import ExpressionError
from ...engine.resource_ids import parse_resource_id
from ...state.timestamps import iso, utc_now
from . import values


@dataclass(frozen=True)
class ServiceContext:
    """What the emulated services know about the local ARM they run in.

    ``sites_base`` is ``host:port/path`` under which the local ARM answers web apps' HTTP
    requests (``127.0.0.1:8443/sites``); empty means "not served", and web apps then get
    Azure's ``{name}.azurewebsites.net`` host names. ``clock`` stamps creation times.
    """

    tenant_id: str = DEFAULT_TENANT
    sites_base: str = ""
    clock: Callable[[], datetime] = field(default=utc_now, compare=False)


@dataclass(frozen=True)
class Runtime:
    """One resource as a behavior sees it: its id taken apart, the previous stored body and
    the moment of the write."""

    resource_id: str
    resource_type: str
    names: tuple[str, ...]
    subscription_id: str
    resource_group: str
    location: str
    ctx: ServiceContext
    previous: Mapping[str, Any] | None
    now: datetime

    @classmethod
    def of(
        cls,
        resource: Mapping[str, Any],
        ctx: ServiceContext,
        previous: Mapping[str, Any] | None = None,
    ) -> Runtime:
        resource_id = str(resource.get("id") or "")
        resource_type = str(resource.get("type") or "")
        try:
            parts = parse_resource_id(resource_id)
            names = parts.names
            subscription_id = parts.subscription_id or ""
            resource_group = parts.resource_group or ""
        except ExpressionError:
            names = (str(resource.get("name") or ""),)
            subscription_id = resource_group = ""
        location = resource.get("location")
        return cls(
            resource_id=resource_id,
            resource_type=resource_type,
            names=tuple(names),
            subscription_id=subscription_id,
            resource_group=resource_group,
            location=location if isinstance(location, str) else "",
            ctx=ctx,
            previous=previous,
            now=ctx.clock(),
        )

    @property
    def name(self) -> str:
        """The resource's own name (the last name segment: ``default`` of ``sa/default``)."""
        return self.names[-1] if self.names else ""

    @property
    def now_iso(self) -> str:
        return iso(self.now)

    def kept(self, path: str, default: Any) -> Any:
        """The value at dotted ``path`` of the previous stored body, else ``default`` — how
        creation times survive later deployments."""
        value = get_path(self.previous, path)
        return default if value is None else value

    def created(self, path: str) -> str:
        """The creation timestamp stored at ``path`` before, or now (ARM's ISO format)."""
        return str(self.kept(path, self.now_iso))

    def guid(self, purpose: str, key: str | None = None) -> str:
        return values.stable_guid(purpose, self.resource_id if key is None else key)

    def key(self, purpose: str, length: int = 64) -> str:
        return values.stable_key(purpose, self.resource_id, length)


Apply = Callable[[dict[str, Any], Runtime], None]
Action = Callable[[Mapping[str, Any], Any, Runtime], Any]
Children = Callable[[Mapping[str, Any], Runtime], list[dict[str, Any]]]


@dataclass(frozen=True)
class Behavior:
    """What a resource provider does with one resource type.

    ``apply`` adds the runtime properties to the (copied) desired body in place;
    ``read_only`` are path patterns the service owns (see :func:`path_matches`);
    ``defaulted`` are paths the template may set, which the service fills in (``apply`` does)
    when the request leaves them out — a storage account's ``kind``, a Service Bus
    namespace's ``sku``: a GET always has them, but a template that sets them owns them;
    ``write_only`` are paths a GET never returns (secrets): they are not stored;
    ``actions`` answer POST actions (``listKeys`` …), keyed by lower-case action name;
    ``children`` lists the resources the service creates along with this one.
    """

    resource_type: str
    apply: Apply | None = None
    read_only: frozenset[str] = frozenset()
    defaulted: frozenset[str] = frozenset()
    write_only: frozenset[str] = frozenset()
    actions: Mapping[str, Action] = field(default_factory=dict)
    children: Children | None = None


def properties_of(body: dict[str, Any]) -> dict[str, Any]:
    """``body["properties"]``, created when missing (a GET always returns an object)."""
    found = body.get("properties")
    if isinstance(found, dict):
        return found
    if found is None:
        body["properties"] = {}
        return body["properties"]
    return {}  # a malformed value is left alone; runtime values go nowhere


def get_path(obj: Any, path: str) -> Any:
    """The value at a simple dotted ``path`` (``properties.keyCreationTime.key1``) or None."""
    for segment in path.split("."):
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(segment)
    return obj


def set_default(obj: dict[str, Any], path: str, value: Any) -> Any:
    """The value at a simple dotted ``path`` of ``obj``; ``value`` is stored there first when
    the path holds nothing (``None`` or absent), creating the objects on the way. A path
    through a non-object value is left alone (``value`` is returned)."""
    *parents, last = path.split(".")
    for segment in parents:
        child = obj.get(segment)
        if child is None:
            child = obj[segment] = {}
        if not isinstance(child, dict):
            return value
        obj = child
    if obj.get(last) is None:
        obj[last] = value
    return obj[last]


def remove_path(obj: Any, path: str) -> None:
    """Delete the value at a simple dotted ``path`` when it exists."""
    *parents, last = path.split(".")
    for segment in parents:
        if not isinstance(obj, dict):
            return
        obj = obj.get(segment)
    if isinstance(obj, dict):
        obj.pop(last, None)


# -- path patterns ----------------------------------------------------------------------
# A pattern is a dotted path that covers its whole subtree. ``*`` stands for one object key
# (which may itself contain dots, like a resource id), ``[*]`` for one array index.


def render_path(segments: Sequence[str | int]) -> str:
    """``["properties", "subnets", 0, "id"]`` → ``"properties.subnets[0].id"``."""
    text = ""
    for segment in segments:
        if isinstance(segment, int):
            text += f"[{segment}]"
        else:
            text += f".{segment}" if text else str(segment)
    return text


@lru_cache(maxsize=512)
def _pattern_regex(pattern: str) -> re.Pattern[str]:
    pieces: list[str] = []
    for token in re.split(r"(\[\*\]|\*)", pattern):
        if token == "[*]":
            pieces.append(r"\[\d+\]")
        elif token == "*":
            pieces.append(r"[^\[\]]+?")
        elif token:
            pieces.append(re.escape(token))
    return re.compile("".join(pieces) + r"(?:$|[.\[])", re.IGNORECASE)


def path_matches(patterns: Iterable[str], path: str | Sequence[str | int]) -> bool:
    """Whether ``path`` (dotted with ``[n]`` indices, or a sequence of keys and indices) lies
    in the subtree of one of ``patterns``. Keys are compared case-insensitively, as ARM
    compares property names."""
    text = path if isinstance(path, str) else render_path(path)
    return any(_pattern_regex(pattern).match(text) for pattern in patterns)
