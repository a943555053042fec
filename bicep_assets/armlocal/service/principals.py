"""Who a caller is: the principal (object id, a token's ``oid``) the local ARM derives from a
managed identity's client id, or the local ARM's own system identity without one.

The token endpoint puts this id in the tokens it issues; a request with the server's static
token is the system identity's (see docs/local-arm.md, "Deployment stacks").
"""

from __future__ import annotations

import uuid

SYSTEM_CLIENT = "system"


def principal_id(tenant_id: str, client_id: str | None) -> str:
    """A stable object id per tenant and client id (the system identity without one)."""
    seed = f"{tenant_id}/{client_id or SYSTEM_CLIENT}"
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"localarm-identity:{seed}"))
