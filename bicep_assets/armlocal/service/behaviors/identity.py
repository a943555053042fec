"""Managed identities: user-assigned identity resources, and the ``identity`` block of any
resource (system-assigned principal, user-assigned identities' principal and client ids).

An identity's ids derive from the identity resource's id alone, so a resource that assigns
a user-assigned identity reports the same ``principalId``/``clientId`` as the identity does.
"""

from __future__ import annotations

from typing import Any

from . import values
from .model import Behavior, Runtime, properties_of

USER_ASSIGNED = "Microsoft.ManagedIdentity/userAssignedIdentities"

# The identity paths the service owns, on every resource type.
IDENTITY_READ_ONLY = frozenset(
    {
        "identity.principalId",
        "identity.tenantId",
        "identity.userAssignedIdentities.*.principalId",
        "identity.userAssignedIdentities.*.clientId",
    }
)


def principal_id(identity_id: str) -> str:
    """The object id of a user-assigned identity's service principal."""
    return values.stable_guid("principalId", identity_id)


def client_id(identity_id: str) -> str:
    """The application (client) id of a user-assigned identity."""
    return values.stable_guid("clientId", identity_id)


def system_principal_id(resource_id: str) -> str:
    """The object id of the system-assigned identity of the resource ``resource_id``."""
    return values.stable_guid("systemAssignedPrincipalId", resource_id)


def _apply_user_assigned(body: dict[str, Any], rt: Runtime) -> None:
    props = properties_of(body)
    props["principalId"] = principal_id(rt.resource_id)
    props["clientId"] = client_id(rt.resource_id)
    props["tenantId"] = rt.ctx.tenant_id


def fill_identity(body: dict[str, Any], rt: Runtime) -> None:
    """Complete ``body["identity"]`` the way Microsoft Entra ID does when ARM creates it."""
    identity = body.get("identity")
    if not isinstance(identity, dict):
        return
    kinds = {part.strip().lower() for part in str(identity.get("type") or "").split(",")}
    if "systemassigned" in kinds:
        identity["principalId"] = system_principal_id(rt.resource_id)
        identity["tenantId"] = rt.ctx.tenant_id
    assigned = identity.get("userAssignedIdentities")
    if "userassigned" in kinds and isinstance(assigned, dict):
        for identity_id, entry in list(assigned.items()):
            filled = dict(entry) if isinstance(entry, dict) else {}
            filled["principalId"] = principal_id(identity_id)
            filled["clientId"] = client_id(identity_id)
            assigned[identity_id] = filled


BEHAVIORS = [
    Behavior(
        USER_ASSIGNED,
        apply=_apply_user_assigned,
        read_only=frozenset(
            {"properties.principalId", "properties.clientId", "properties.tenantId"}
        ),
    ),
]
