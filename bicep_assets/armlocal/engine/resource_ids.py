"""ARM resource ids: building them from scope + type + names, and taking them apart.

An id is ``{scope}/providers/{Namespace}/{type1}/{name1}[/{type2}/{name2}...]`` where scope
is ``""`` (tenant), ``/subscriptions/{sub}``, ``/subscriptions/{sub}/resourceGroups/{rg}``,
a management group, or another resource's id (extension resources).

Resource groups and subscriptions are the exception: their ids carry no ``providers``
segment (``/subscriptions/{sub}/resourceGroups/{rg}``), also when built from the type
``Microsoft.Resources/resourceGroups``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ExpressionError

_RESOURCES_NAMESPACE = "microsoft.resources"


def split_type(resource_type: str) -> tuple[str, list[str]]:
    """``Microsoft.Network/virtualNetworks/subnets`` → (``Microsoft.Network``, [vnets, subnets]).

    Leading and trailing slashes are ignored (ARM accepts ``'Microsoft.Web/sites/'``).
    """
    parts = resource_type.strip("/").split("/")
    if len(parts) < 2 or not all(parts):
        raise ExpressionError(
            f"The resource type '{resource_type}' is not valid: expected a fully qualified "
            "type including the resource provider namespace, such as "
            "'Microsoft.Storage/storageAccounts'."
        )
    return parts[0], parts[1:]


def name_segments(names: list[str]) -> list[str]:
    """The name segments of ``names``; a name may itself be ``'parent/child'``."""
    segments: list[str] = []
    for name in names:
        segments.extend(str(name).strip("/").split("/"))
    return segments


def build_resource_id(
    scope_id: str, resource_type: str, names: list[str], *, function: str | None = None
) -> str:
    """The id of a resource of ``resource_type`` named ``names`` (one per type segment).

    ``scope_id`` is the id of the parent scope (``""`` for the tenant). Without
    ``function`` the names may be ``'parent/child'`` strings (a resource declaration's
    ``name``); with it, each name is one segment and errors are worded as that template
    function reports them.
    """
    namespace, types = split_type(resource_type)
    segments = name_segments(names) if function is None else [str(n) for n in names]
    if len(segments) != len(types):
        if function is not None:
            raise ExpressionError(
                f"Unable to evaluate template language function '{function}': the type "
                f"'{resource_type}' requires '{len(types)}' resource name argument(s). "
                f"Please see https://aka.ms/arm-resource-functions/#{function.lower()} for "
                "usage details."
            )
        raise ExpressionError(
            f"The resource name '{'/'.join(segments)}' and type '{resource_type}' have "
            "incorrect segment lengths. A nested resource type must have identical number "
            "of segments as its resource name. A root resource type must have segment "
            "length one greater than its resource name."
        )
    scope = scope_id.rstrip("/")
    special = _scope_resource_id(scope, namespace, types, segments)
    if special is not None:
        return special
    path = "/".join(f"{t}/{n}" for t, n in zip(types, segments, strict=True))
    return f"{scope}/providers/{namespace}/{path}"


def _scope_resource_id(
    scope: str, namespace: str, types: list[str], names: list[str]
) -> str | None:
    """Ids of subscriptions and resource groups, which have no ``providers`` segment."""
    if namespace.lower() != _RESOURCES_NAMESPACE:
        return None
    lowered = [t.lower() for t in types]
    if lowered == ["resourcegroups"] and _is_subscription_scope(scope):
        return f"{scope}/resourceGroups/{names[0]}"
    if scope == "" and lowered == ["subscriptions"]:
        return f"/subscriptions/{names[0]}"
    if scope == "" and lowered == ["subscriptions", "resourcegroups"]:
        return f"/subscriptions/{names[0]}/resourceGroups/{names[1]}"
    return None


def _is_subscription_scope(scope: str) -> bool:
    parts = scope.strip("/").split("/")
    return len(parts) == 2 and parts[0].lower() == "subscriptions"


def split_scope_id(scope_id: str) -> tuple[str | None, str | None]:
    """(subscription id, resource group name) of a scope id that is exactly
    ``/subscriptions/{s}`` or ``/subscriptions/{s}/resourceGroups/{g}``; (None, None) else."""
    parts = scope_id.strip().strip("/").split("/")
    if len(parts) in (2, 4) and parts[0].lower() == "subscriptions" and all(parts):
        if len(parts) == 2:
            return parts[1], None
        if parts[2].lower() == "resourcegroups":
            return parts[1], parts[3]
    return None, None


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


def ancestors(resource_id: str) -> list[tuple[str, str, str]]:
    """``(id, type, name)`` of the resources ``resource_id`` lives under, outermost first:
    the parents of a child resource, and the resource an extension resource is scoped to."""
    try:
        parts = parse_resource_id(resource_id)
    except ExpressionError:
        return []
    found: list[tuple[str, str, str]] = []
    if "/providers/" in parts.scope.lower():
        found.extend(ancestors(parts.scope))
        scope = parse_resource_id(parts.scope)
        found.append((parts.scope, scope.resource_type, scope.name))
    for depth in range(1, len(parts.types)):
        path = "/".join(
            f"{t}/{n}" for t, n in zip(parts.types[:depth], parts.names[:depth], strict=True)
        )
        parent_id = f"{parts.scope}/providers/{parts.namespace}/{path}"
        parent_type = "/".join([parts.namespace, *parts.types[:depth]])
        found.append((parent_id, parent_type, "/".join(parts.names[:depth])))
    return found
