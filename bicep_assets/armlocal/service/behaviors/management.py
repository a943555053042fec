"""Management groups (``Microsoft.Management/managementGroups``) written by a deployment,
completed as the Management Groups service returns them (Azure REST API reference,
"Management Groups - Get"): ``tenantId``, ``details.version``, ``updatedTime``,
``updatedBy``, and a parent — the Tenant Root Group (named for the tenant id) when the
request names none. The REST routes add the parent's display name, the path and the
children when they answer (``service.management_groups``).
"""

from __future__ import annotations

from typing import Any

from ...state.timestamps import iso
from . import values
from .model import Behavior, Runtime, properties_of

MANAGEMENT_GROUPS = "Microsoft.Management/managementGroups"
MG_PREFIX = "/providers/Microsoft.Management/managementGroups/"
UPDATED_BY = "00000000-0000-0000-0000-00000000d3b1"  # the local ARM's one principal


def _apply(body: dict[str, Any], rt: Runtime) -> None:
    props = properties_of(body)
    props.setdefault("displayName", rt.names[-1])
    props["tenantId"] = rt.ctx.tenant_id
    details = props.get("details")
    if not isinstance(details, dict):
        details = props["details"] = {}
    previous = ((rt.previous or {}).get("properties") or {}).get("details") or {}
    details["version"] = int(previous.get("version") or 0) + 1
    details["updatedTime"] = iso(rt.now)
    details["updatedBy"] = UPDATED_BY
    if rt.names[-1].lower() == rt.ctx.tenant_id.lower():
        details.pop("parent", None)  # the root group has no parent
        return
    parent = details.get("parent")
    parent_id = parent.get("id") if isinstance(parent, dict) else None
    if not isinstance(parent_id, str) or not parent_id.strip("/"):
        parent_id = f"{MG_PREFIX}{rt.ctx.tenant_id}"
    details["parent"] = {"id": parent_id, "name": parent_id.rstrip("/").rsplit("/", 1)[-1]}


READ_ONLY = frozenset(
    {
        "properties.tenantId",
        "properties.details.version",
        "properties.details.updatedTime",
        "properties.details.updatedBy",
        "properties.details.parent.name",
        "properties.details.parent.displayName",
    }
)

# filled in when a request leaves them out (the parent: the Tenant Root Group)
DEFAULTED = frozenset({"properties.displayName", "properties.details.parent.id"})

BEHAVIORS = [Behavior(MANAGEMENT_GROUPS, apply=_apply, read_only=READ_ONLY, defaulted=DEFAULTED)]


# -- subscription aliases (Microsoft.Subscription/aliases, a tenant-level resource) ---------
SUBSCRIPTION_ALIASES = "Microsoft.Subscription/aliases"


def alias_subscription_id(alias_id: str) -> str:
    """The subscription an alias creates: a stable GUID of the alias id."""
    return values.stable_guid("subscriptionId", alias_id)


def _apply_alias(body: dict[str, Any], rt: Runtime) -> None:
    """What the Subscription service returns for an alias (REST "Alias - Get"): the new
    subscription's id, given when the request names none, and the acceptance state."""
    props = properties_of(body)
    requested = props.get("subscriptionId")
    if not isinstance(requested, str) or not requested:
        props["subscriptionId"] = alias_subscription_id(rt.resource_id)
    props["acceptOwnershipState"] = "Completed"


ALIAS_READ_ONLY = frozenset({"properties.subscriptionId", "properties.acceptOwnershipState"})

BEHAVIORS.append(Behavior(SUBSCRIPTION_ALIASES, apply=_apply_alias, read_only=ALIAS_READ_ONLY))
