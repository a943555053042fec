"""Microsoft.Authorization: role assignments (the scope and times ARM records)."""

from __future__ import annotations

from typing import Any

from .model import Behavior, Runtime, properties_of

ROLE_ASSIGNMENTS = "Microsoft.Authorization/roleAssignments"


def _apply_role_assignment(body: dict[str, Any], rt: Runtime) -> None:
    props = properties_of(body)
    marker = rt.resource_id.lower().rfind("/providers/microsoft.authorization/roleassignments/")
    props["scope"] = rt.resource_id[:marker] if marker > 0 else "/"
    props["createdOn"] = rt.created("properties.createdOn")
    props["updatedOn"] = rt.now_iso


BEHAVIORS = [
    Behavior(
        ROLE_ASSIGNMENTS,
        apply=_apply_role_assignment,
        read_only=frozenset({"properties.scope", "properties.createdOn", "properties.updatedOn"}),
    ),
]
