"""Managed identities and Key Vault."""

from __future__ import annotations

import re

import pytest

from bicep_assets.armlocal.service import behaviors

from .conftest import (
    CTX,
    GUID,
    T1,
    TENANT,
    UAI_ID,
    ctx_at,
    resource,
    rid,
    stored,
)


def test_vault_uri() -> None:
    props = stored("Microsoft.KeyVault/vaults", "kv-demo", properties={"tenantId": TENANT})[
        "properties"
    ]
    assert props == {
        "tenantId": TENANT,
        "provisioningState": "Succeeded",
        "vaultUri": "https://kv-demo.vault.azure.net/",
    }


def test_secret_value_is_never_stored() -> None:
    desired = resource(
        "Microsoft.KeyVault/vaults/secrets", "kv-demo", "db", properties={"value": "s3cr3t"}
    )
    first = behaviors.apply_runtime_properties(desired, None, CTX)
    props = first["properties"]
    assert "value" not in props
    assert "s3cr3t" not in repr(first)
    assert props["secretUri"] == "https://kv-demo.vault.azure.net/secrets/db"
    assert re.fullmatch(
        r"https://kv-demo\.vault\.azure\.net/secrets/db/[0-9a-f]{32}", props["secretUriWithVersion"]
    )
    assert props["attributes"] == {"created": 1714564800, "updated": 1714564800}
    assert behaviors.write_only_paths("Microsoft.KeyVault/vaults/secrets") == {"properties.value"}
    again = behaviors.apply_runtime_properties(desired, first, ctx_at(T1))["properties"]
    # Each write is a new version; the creation time stays.
    assert again["secretUriWithVersion"] != props["secretUriWithVersion"]
    assert again["attributes"] == {"created": 1714564800, "updated": 1714824005}


def test_key_uri() -> None:
    props = stored(
        "Microsoft.KeyVault/vaults/keys",
        "kv-demo",
        "signing",
        properties={"kty": "RSA", "attributes": {"enabled": True}},
    )["properties"]
    assert props["keyUri"] == "https://kv-demo.vault.azure.net/keys/signing"
    assert props["keyUriWithVersion"].startswith("https://kv-demo.vault.azure.net/keys/signing/")
    assert props["attributes"]["enabled"] is True


# -- identities ---------------------------------------------------------------------------


def test_user_assigned_identity() -> None:
    props = stored("Microsoft.ManagedIdentity/userAssignedIdentities", "id-app")["properties"]
    assert set(props) == {"provisioningState", "principalId", "clientId", "tenantId"}
    assert props["tenantId"] == TENANT
    assert GUID.match(props["principalId"]) and GUID.match(props["clientId"])
    assert props["principalId"] != props["clientId"]
    other = stored("Microsoft.ManagedIdentity/userAssignedIdentities", "id-other")["properties"]
    assert other["principalId"] != props["principalId"]
    assert other["clientId"] != props["clientId"]


def test_assigned_identity_matches_the_identity_resource() -> None:
    uai = stored("Microsoft.ManagedIdentity/userAssignedIdentities", "id-app")["properties"]
    # ARM ids are case-insensitive: the assignment may spell the id differently.
    identity = {"type": "UserAssigned", "userAssignedIdentities": {UAI_ID.upper(): {}}}
    site = stored("Microsoft.Web/sites", "app", identity=identity)["identity"]
    assert site["userAssignedIdentities"] == {
        UAI_ID.upper(): {"principalId": uai["principalId"], "clientId": uai["clientId"]}
    }
    assert "principalId" not in site


@pytest.mark.parametrize(
    ("identity_type", "system", "user"),
    [
        ("SystemAssigned", True, False),
        ("SystemAssigned, UserAssigned", True, True),
        ("SystemAssigned,UserAssigned", True, True),
        ("userassigned", False, True),
        ("None", False, False),
    ],
    ids=["system", "both", "both-no-space", "user-lower-case", "none"],
)
def test_identity_block(identity_type: str, system: bool, user: bool) -> None:
    identity = {"type": identity_type, "userAssignedIdentities": {UAI_ID: {}}}
    if not user:
        identity.pop("userAssignedIdentities")
    site_id = rid("Microsoft.Web/sites", "app")
    result = stored("Microsoft.Web/sites", "app", identity=identity)["identity"]
    assert ("principalId" in result) is system
    assert ("tenantId" in result) is system
    if system:
        assert result["tenantId"] == TENANT
        assert GUID.match(result["principalId"])
        other = stored("Microsoft.Web/sites", "app2", identity=identity)["identity"]
        assert other["principalId"] != result["principalId"]
        assert behaviors.identity.system_principal_id(site_id) == result["principalId"]
    if user:
        entry = result["userAssignedIdentities"][UAI_ID]
        assert set(entry) == {"principalId", "clientId"}
