"""ARM resource ids: building them from scope + type + names, and taking them apart.

An id is ``{scope}/providers/{Namespace}/{type1}/{name1}[/{type2}/{name2}...]`` where scope
is ``""`` (tenant), ``/subscriptions/{sub}``, ``/subscriptions/{sub}/resourceGroups/{rg}``,
a management group, or another resource's id (extension resources).
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ExpressionError


def split_type(resource_type: str) -> tuple[str, list[str]]:
    """``Microsoft.Network/virtualNetworks/subnets`` → (``Microsoft.Network``, [vnets, subnets])."""
    parts = resource_type.strip("/").split("/")
    if len(parts) < 2 or not all(parts):
        raise ExpressionError(
            f"The resource type '{resource_type}' is not valid: expected "
            "'{Namespace}/{type}[/{childType}...]'."
        )
    return parts[0], parts[1:]


def build_resource_id(scope_id: str, resource_type: str, names: list[str]) -> str:
    """The id of a resource of ``resource_type`` named ``names`` (one per type segment)."""
    namespace, types = split_type(resource_type)
    segments: list[str] = []
    for name in names:
        segments.extend(str(name).strip("/").split("/"))
    if len(segments) != len(types):
        raise ExpressionError(
            f"The resource type '{resource_type}' requires {len(types)} resource name "
            f"segment{'s' if len(types) != 1 else ''}, but "
            f"'{'/'.join(segments)}' has {len(segments)}."
        )
    if namespace.lower() == "microsoft.resources" and [t.lower() for t in types] == [
        "resourcegroups"
    ]:
        # resource groups live at /subscriptions/{id}/resourceGroups/{name}, no provider
        return f"{scope_id.rstrip('/')}/resourceGroups/{segments[0]}"
    path = "/".join(f"{t}/{n}" for t, n in zip(types, segments, strict=True))
    return f"{scope_id.rstrip('/')}/providers/{namespace}/{path}"


def full_name(names: list[str]) -> str:
    return "/".join(str(n).strip("/") for n in names)


@dataclass(frozen=True)
class ResourceIdParts:
    scope: str  # the id of the parent scope (resource group, subscription, resource, "")
    namespace: str
    types: tuple[str, ...]
    names: tuple[str, ...]

    @property
    def resource_type(self) -> str:
        return "/".join([self.namespace, *self.types])

    @property
    def name(self) -> str:
        return "/".join(self.names)

    @property
    def subscription_id(self) -> str | None:
        parts = self.scope.split("/")
        for i, part in enumerate(parts[:-1]):
            if part.lower() == "subscriptions":
                return parts[i + 1]
        return None

    @property
    def resource_group(self) -> str | None:
        parts = self.scope.split("/")
        for i, part in enumerate(parts[:-1]):
            if part.lower() == "resourcegroups":
                return parts[i + 1]
        return None


def parse_resource_id(resource_id: str) -> ResourceIdParts:
    """Take a resource id apart at its *last* ``/providers/`` segment."""
    lowered = resource_id.lower()
    marker = lowered.rfind("/providers/")
    if marker < 0:
        raise ExpressionError(f"The resource id '{resource_id}' is not a valid resource id.")
    scope = resource_id[:marker]
    rest = resource_id[marker + len("/providers/") :].strip("/").split("/")
    if len(rest) < 3 or len(rest) % 2 == 0 or not all(rest):
        raise ExpressionError(f"The resource id '{resource_id}' is not a valid resource id.")
    return ResourceIdParts(scope, rest[0], tuple(rest[1::2]), tuple(rest[2::2]))


def is_resource_id(text: str) -> bool:
    try:
        parse_resource_id(text)
    except ExpressionError:
        return False
    return text.startswith("/")
