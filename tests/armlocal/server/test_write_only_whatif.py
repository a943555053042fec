"""What-if of a write-only property (one a GET never returns: a Key Vault secret's ``value``),
through the official SDK: compared as Azure compares it, against the GET, so a redeploy is a
``Modify`` whose only change is a ``Create`` at that path — and the value, secure parameter or
plain literal, is masked wherever the answer would show it."""

from __future__ import annotations

import json
from typing import Any

from bicep_assets.armlocal.engine import MASK

from .conftest import template

SECURE = "Written-Only-Secret-4e8b1c"
PLAIN = "plain-literal-9d2f7a"  # not a secure parameter: the path alone makes it secret
VAULT = {
    "type": "Microsoft.KeyVault/vaults",
    "apiVersion": "2023-07-01",
    "name": "kv1",
    "location": "westeurope",
    "properties": {
        "tenantId": "[subscription().tenantId]",
        "sku": {"family": "A", "name": "standard"},
    },
}


def secret(name: str, value: str) -> dict[str, Any]:
    return {
        "type": "Microsoft.KeyVault/vaults/secrets",
        "apiVersion": "2023-07-01",
        "name": f"kv1/{name}",
        "dependsOn": ["kv1"],
        "properties": {"value": value, "contentType": "text/plain"},
    }


BODY = {
    "properties": {
        "mode": "Incremental",
        "template": template(
            [VAULT, secret("s1", "[parameters('pw')]"), secret("s2", PLAIN)],
            parameters={"pw": {"type": "securestring"}},
        ),
        "parameters": {"pw": {"value": SECURE}},
    }
}


def changes_of(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["resourceId"].rsplit("/", 1)[-1]: c for c in answer["properties"]["changes"]}


def test_a_secret_redeploy_is_a_modify_creating_its_masked_value(
    deployments: Any, group: str
) -> None:
    ops = deployments.deployments
    created = changes_of(ops.begin_what_if(group, "kv", BODY).result().as_dict())
    assert created["s1"]["changeType"] == "Create"
    assert created["s1"]["after"]["properties"]["value"] == MASK
    ops.begin_create_or_update(group, "kv", BODY).result()
    answer = ops.begin_what_if(group, "kv", BODY).result().as_dict()
    changes = changes_of(answer)
    assert changes["kv1"]["changeType"] == "NoChange"
    for name in ("s1", "s2"):
        change = changes[name]
        assert change["changeType"] == "Modify"
        assert "value" not in change["before"]["properties"]  # the GET never returns it
        assert change["after"]["properties"]["value"] == MASK
        significant = [d for d in change["delta"] if d["propertyChangeType"] != "NoEffect"]
        assert significant == [
            {"path": "properties.value", "propertyChangeType": "Create", "after": MASK}
        ]
    text = json.dumps(answer)
    assert SECURE not in text and PLAIN not in text


VM = {
    "type": "Microsoft.Compute/virtualMachines",
    "apiVersion": "2024-07-01",
    "name": "vm1",
    "location": "westeurope",
    "properties": {
        "hardwareProfile": {"vmSize": "Standard_D1_v2"},
        "osProfile": {
            "computerName": "vm1",
            "adminUsername": "azureuser",
            "adminPassword": "[parameters('pw')]",
        },
    },
}


def test_a_nested_write_only_path_is_compared_and_masked_the_same(
    deployments: Any, group: str
) -> None:
    """A VM's ``properties.osProfile.adminPassword``: the rest of ``osProfile`` is compared
    (unchanged), the password is a masked Create."""
    body = {
        "properties": {
            "mode": "Incremental",
            "template": template([VM], parameters={"pw": {"type": "securestring"}}),
            "parameters": {"pw": {"value": SECURE}},
        }
    }
    ops = deployments.deployments
    ops.begin_create_or_update(group, "vm", body).result()
    (change,) = ops.begin_what_if(group, "vm", body).result().as_dict()["properties"]["changes"]
    assert change["changeType"] == "Modify"
    assert change["before"]["properties"]["osProfile"] == {
        "computerName": "vm1",
        "adminUsername": "azureuser",
    }
    assert change["after"]["properties"]["osProfile"]["adminPassword"] == MASK
    significant = [d for d in change["delta"] if d["propertyChangeType"] != "NoEffect"]
    assert significant == [
        {
            "path": "properties.osProfile.adminPassword",
            "propertyChangeType": "Create",
            "after": MASK,
        }
    ]
    assert SECURE not in json.dumps(change)
