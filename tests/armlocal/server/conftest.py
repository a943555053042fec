"""The session's local ARM (tests/conftest.py), reset before each test; the
official SDK clients pointed at it over HTTPS."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from bicep_assets.armlocal import LocalArm
from tests.conftest import fresh_arm

SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"


@pytest.fixture
def arm(session_arm: LocalArm) -> LocalArm:
    return fresh_arm(session_arm)


@pytest.fixture
def resources(arm: LocalArm) -> Any:
    return arm.connection.resource_client()


@pytest.fixture
def deployments(arm: LocalArm) -> Any:
    return arm.connection.deployments_client()


@pytest.fixture
def health(arm: LocalArm) -> Any:
    return arm.connection.health_client()


@pytest.fixture
def group(resources: Any) -> str:
    resources.resource_groups.create_or_update("rg-test", {"location": "westeurope"})
    return "rg-test"


def template(resources: Any = (), **sections: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "$schema": SCHEMA,
        "contentVersion": "1.0.0.0",
        "resources": list(resources),
    }
    body.update(sections)
    return body


def storage(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "Microsoft.Storage/storageAccounts",
        "apiVersion": "2023-01-01",
        "name": name,
        "location": "westeurope",
        "sku": {"name": "Standard_LRS"},
        "kind": "StorageV2",
        **extra,
    }


def deploy_body(
    tpl: dict[str, Any],
    parameters: dict[str, Any] | None = None,
    mode: str = "Incremental",
    **properties: Any,
) -> dict[str, Any]:
    return {
        "properties": {"mode": mode, "template": tpl, "parameters": parameters or {}, **properties}
    }


def raw(arm: LocalArm, method: str, path: str, version: str, body: Any = None) -> Any:
    """``METHOD path?api-version=version`` with ``body`` as JSON, as a client library would
    send it (the local ARM's token and CA), answered as it is."""
    conn = arm.connection
    return requests.request(
        method,
        f"{conn.base_url}{path}?api-version={version}",
        json=body,
        headers={"Authorization": f"Bearer {conn.token}"},
        verify=conn.ca_file,
        timeout=10,
    )
