"""Bodies and a settable clock shared by the store tests."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from bicep_assets.armlocal.state.store import deployment_id

SUB = "00000000-0000-0000-0000-0000000000aa"
OTHER_SUB = "00000000-0000-0000-0000-0000000000bb"
START = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def tick(self, seconds: float = 1.0) -> None:
        self.now += timedelta(seconds=seconds)


def group_id(name: str, sub: str = SUB) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{name}"


def site(group: str, name: str, *, state: str = "Succeeded", **extra: Any) -> dict[str, Any]:
    """A web app's ARM GET body in ``group``."""
    return {
        "id": f"{group_id(group)}/providers/Microsoft.Web/sites/{name}",
        "name": name,
        "type": "Microsoft.Web/sites",
        "apiVersion": "2022-09-01",
        "location": "westeurope",
        "tags": {},
        "properties": {"provisioningState": state},
        **extra,
    }


def deployment(
    scope: str, name: str, *, state: str = "Running", correlation: str = "run-1"
) -> dict[str, Any]:
    """A DeploymentExtended body of deployment ``name`` at ``scope``."""
    return {
        "id": deployment_id(scope, name),
        "name": name,
        "type": "Microsoft.Resources/deployments",
        "properties": {
            "provisioningState": state,
            "timestamp": "2026-01-02T03:04:05.0000000Z",
            "duration": "PT0S",
            "correlationId": correlation,
            "mode": "Incremental",
            "outputResources": [],
        },
    }


def operation(operation_id: str, target_id: str, *, state: str = "Running") -> dict[str, Any]:
    """A DeploymentOperation body creating ``target_id``."""
    return {
        "id": f".../operations/{operation_id}",
        "operationId": operation_id,
        "properties": {
            "provisioningOperation": "Create",
            "provisioningState": state,
            "timestamp": "2026-01-02T03:04:05.0000000Z",
            "duration": "PT0S",
            "targetResource": {
                "id": target_id,
                "resourceType": "Microsoft.Web/sites",
                "resourceName": target_id.rsplit("/", 1)[-1],
            },
        },
    }


TEMPLATE = {
    "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
    "contentVersion": "1.0.0.0",
    "resources": [],
}
