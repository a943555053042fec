"""Storage accounts and blob containers: endpoints, geo-replication, keys, SAS."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from bicep_assets.armlocal.service import behaviors

from .conftest import (
    CTX,
    T0_ISO,
    T1,
    T1_ISO,
    ctx_at,
    resource,
    stored,
)


def test_storage_account_runtime_properties() -> None:
    result = stored(
        "Microsoft.Storage/storageAccounts",
        "stdemo",
        kind="StorageV2",
        sku={"name": "Standard_LRS"},
    )
    assert result["sku"] == {"name": "Standard_LRS", "tier": "Standard"}
    assert result["properties"] == {
        "provisioningState": "Succeeded",
        "primaryEndpoints": {
            "dfs": "https://stdemo.dfs.core.windows.net/",
            "web": "https://stdemo.web.core.windows.net/",
            "blob": "https://stdemo.blob.core.windows.net/",
            "queue": "https://stdemo.queue.core.windows.net/",
            "table": "https://stdemo.table.core.windows.net/",
            "file": "https://stdemo.file.core.windows.net/",
        },
        "primaryLocation": "westeurope",
        "statusOfPrimary": "available",
        "creationTime": T0_ISO,
        "keyCreationTime": {"key1": T0_ISO, "key2": T0_ISO},
    }


@pytest.mark.parametrize(
    ("kind", "services"),
    [
        ("StorageV2", {"blob", "queue", "table", "file", "web", "dfs"}),
        ("Storage", {"blob", "queue", "table", "file"}),
        ("BlobStorage", {"blob", "dfs", "table"}),
        ("BlockBlobStorage", {"blob", "dfs", "web"}),
        ("FileStorage", {"file"}),
    ],
    ids=["StorageV2", "Storage", "BlobStorage", "BlockBlobStorage", "FileStorage"],
)
def test_storage_endpoints_follow_the_kind(kind: str, services: set[str]) -> None:
    result = stored(
        "Microsoft.Storage/storageAccounts", "st", kind=kind, sku={"name": "Premium_LRS"}
    )
    assert set(result["properties"]["primaryEndpoints"]) == services
    assert result["sku"]["tier"] == "Premium"


@pytest.mark.parametrize(
    ("sku", "secondary", "secondary_services"),
    [
        ("Standard_LRS", None, None),
        ("Standard_ZRS", None, None),
        ("Standard_GRS", "northeurope", None),
        ("Standard_RAGRS", "northeurope", {"blob", "queue", "table", "web", "dfs"}),
        ("Standard_RAGZRS", "northeurope", {"blob", "queue", "table", "web", "dfs"}),
    ],
    ids=["LRS", "ZRS", "GRS", "RAGRS", "RAGZRS"],
)
def test_storage_geo_replication(
    sku: str, secondary: str | None, secondary_services: set | None
) -> None:
    props = stored("Microsoft.Storage/storageAccounts", "st", kind="StorageV2", sku={"name": sku})[
        "properties"
    ]
    assert props.get("secondaryLocation") == secondary
    assert props.get("statusOfSecondary") == ("available" if secondary else None)
    endpoints = props.get("secondaryEndpoints")
    assert (set(endpoints) if endpoints else None) == secondary_services
    if endpoints:
        assert endpoints["blob"] == "https://st-secondary.blob.core.windows.net/"


def test_storage_creation_time_survives_redeployment() -> None:
    desired = resource("Microsoft.Storage/storageAccounts", "st", kind="StorageV2")
    first = behaviors.apply_runtime_properties(desired, None, CTX)
    second = behaviors.apply_runtime_properties(desired, first, ctx_at(T1))
    assert second["properties"]["creationTime"] == T0_ISO
    assert second["properties"]["keyCreationTime"] == {"key1": T0_ISO, "key2": T0_ISO}
    assert (
        behaviors.apply_runtime_properties(desired, None, ctx_at(T1))["properties"]["creationTime"]
        == T1_ISO
    )


def _keys(name: str) -> dict[str, str]:
    answer = behaviors.invoke_action(
        resource("Microsoft.Storage/storageAccounts", name), "listKeys", None, CTX
    )
    assert [(k["keyName"], k["permissions"]) for k in answer["keys"]] == [
        ("key1", "Full"),
        ("key2", "Full"),
    ]
    return {k["keyName"]: k["value"] for k in answer["keys"]}


def test_storage_list_keys() -> None:
    keys = _keys("st1")
    for value in keys.values():
        assert len(value) == 88
        assert len(base64.b64decode(value, validate=True)) == 64
    assert keys["key1"] != keys["key2"]
    assert _keys("st1") == keys  # the same account, the same keys
    assert _keys("st2")["key1"] != keys["key1"]
    lower_case_action = behaviors.invoke_action(
        resource("Microsoft.Storage/storageAccounts", "st1"), "listkeys", None, CTX
    )
    assert lower_case_action["keys"][0]["value"] == keys["key1"]


def _expected_signature(key: str, string_to_sign: str) -> str:
    digest = hmac.new(base64.b64decode(key), string_to_sign.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


@pytest.mark.parametrize("key_to_sign", ["key1", "key2"], ids=["key1", "key2"])
def test_storage_account_sas_is_signed_with_the_account_key(key_to_sign: str) -> None:
    body = {
        "signedServices": "b",
        "signedResourceTypes": "sco",
        "signedPermission": "rl",
        "signedProtocol": "https,http",
        "signedStart": "2024-05-01T10:42:03.1567373Z",
        "signedExpiry": "2024-05-01T11:42:03Z",
        "keyToSign": key_to_sign,
    }
    token = behaviors.invoke_action(
        resource("Microsoft.Storage/storageAccounts", "st1"), "listAccountSas", body, CTX
    )["accountSasToken"]
    head, signature = token.split("&sig=")
    assert head == (
        "sv=2015-04-05&ss=b&srt=sco&sp=rl&st=2024-05-01T10%3A42%3A03Z"
        "&se=2024-05-01T11%3A42%3A03Z&spr=https,http"
    )
    string_to_sign = (
        "st1\nrl\nb\nsco\n2024-05-01T10:42:03Z\n2024-05-01T11:42:03Z\n\nhttps,http\n2015-04-05\n"
    )
    expected = _expected_signature(_keys("st1")[key_to_sign], string_to_sign)
    assert base64.b64decode(
        signature.replace("%2B", "+").replace("%2F", "/").replace("%3D", "=")
    ) == (base64.b64decode(expected))


def test_storage_service_sas() -> None:
    body = {
        "canonicalizedResource": "/blob/st1/music",
        "signedResource": "c",
        "signedPermission": "l",
        "signedExpiry": "2030-01-01T00:00:00Z",
    }
    token = behaviors.invoke_action(
        resource("Microsoft.Storage/storageAccounts", "st1"), "listServiceSas", body, CTX
    )["serviceSasToken"]
    assert token.startswith("sv=2015-04-05&sr=c&sp=l&se=2030-01-01T00%3A00%3A00Z&sig=")


def test_blob_container_runtime_properties() -> None:
    props = stored(
        "Microsoft.Storage/storageAccounts/blobServices/containers", "st", "default", "c"
    )["properties"]
    assert props == {
        "provisioningState": "Succeeded",
        "lastModifiedTime": T0_ISO,
        "leaseStatus": "Unlocked",
        "leaseState": "Available",
        "hasImmutabilityPolicy": False,
        "hasLegalHold": False,
        "deleted": False,
        "remainingRetentionDays": 0,
    }
