"""Helpers for the behavior tests: fixed clock, ids, resources as the local ARM hands them over."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

from bicep_assets.armlocal.service import behaviors
from bicep_assets.armlocal.service.behaviors import ServiceContext

SUB = "11111111-2222-3333-4444-555555555555"
TENANT = "99999999-8888-7777-6666-555555555555"
GROUP = f"/subscriptions/{SUB}/resourceGroups/rg-demo"
T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
T0_ISO = "2024-05-01T12:00:00.0000000Z"
T1 = T0 + timedelta(days=3, seconds=5)
T1_ISO = "2024-05-04T12:00:05.0000000Z"
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def ctx_at(moment: datetime = T0, sites_base: str = "127.0.0.1:8443/sites") -> ServiceContext:
    return ServiceContext(tenant_id=TENANT, sites_base=sites_base, clock=lambda: moment)


CTX = ctx_at()


def rid(resource_type: str, *names: str, group: str = GROUP) -> str:
    namespace, *types = resource_type.split("/")
    path = "/".join(f"{t}/{n}" for t, n in zip(types, names, strict=True))
    return f"{group}/providers/{namespace}/{path}"


def resource(resource_type: str, *names: str, **body: Any) -> dict[str, Any]:
    """A resource as the local ARM hands it over on PUT."""
    result: dict[str, Any] = {
        "id": rid(resource_type, *names),
        "name": "/".join(names),
        "type": resource_type,
        "apiVersion": "2023-01-01",
        "location": "westeurope",
    }
    result.update(body)
    return result


def stored(resource_type: str, *names: str, **body: Any) -> dict[str, Any]:
    return behaviors.apply_runtime_properties(resource(resource_type, *names, **body), None, CTX)


def leaf_changes(before: Any, after: Any, path: tuple = ()) -> list[tuple]:
    """Paths (as key/index tuples) where ``after`` adds or changes a value of ``before``."""
    if isinstance(after, dict):
        before = {} if before is None else before
        if not isinstance(before, dict):
            return [path]
        found: list[tuple] = []
        for key, value in after.items():
            found += leaf_changes(before.get(key), value, (*path, key))
        return found
    if isinstance(after, list) and isinstance(before, list) and len(before) == len(after):
        found = []
        for index, (old, new) in enumerate(zip(before, after, strict=True)):
            found += leaf_changes(old, new, (*path, index))
        return found
    return [] if before == after else [path]


UAI_ID = rid("Microsoft.ManagedIdentity/userAssignedIdentities", "id-app")
