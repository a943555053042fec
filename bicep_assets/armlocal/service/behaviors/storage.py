"""Microsoft.Storage: storage accounts (endpoints, locations, keys, SAS tokens) and blob
containers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from . import regions
from .model import Behavior, Runtime, properties_of, set_default

ACCOUNTS = "Microsoft.Storage/storageAccounts"
SAS_VERSION = "2015-04-05"  # the signed version ARM puts in the SAS tokens it lists

# Which services a kind of account exposes (ARM returns an endpoint per service).
_SERVICES_BY_KIND = {
    "storagev2": ("dfs", "web", "blob", "queue", "table", "file"),
    "storage": ("blob", "queue", "table", "file"),
    "blobstorage": ("dfs", "blob", "table"),
    "blockblobstorage": ("dfs", "web", "blob"),
    "filestorage": ("file",),
}
_GEO_REDUNDANT = ("grs", "ragrs", "gzrs", "ragzrs")


def endpoints(account: str, kind: str | None) -> dict[str, str]:
    """The primary endpoints of an account: ``{"blob": "https://NAME.blob.core.windows.net/"…}``."""
    services = _SERVICES_BY_KIND.get((kind or "StorageV2").lower(), _SERVICES_BY_KIND["storagev2"])
    return {service: f"https://{account}.{service}.core.windows.net/" for service in services}


def _replication(body: Mapping[str, Any]) -> str:
    sku = body.get("sku")
    name = sku.get("name") if isinstance(sku, Mapping) else None
    return str(name or "Standard_LRS").split("_")[-1].lower()


def _apply_account(body: dict[str, Any], rt: Runtime) -> None:
    # Azure requires both in a PUT; the local ARM accepts a bare account (a parent a test
    # creates) and reports the defaults the portal proposes.
    set_default(body, "kind", "StorageV2")
    set_default(body, "sku", {"name": "Standard_LRS"})
    props = properties_of(body)
    sku = body.get("sku")
    if isinstance(sku, dict) and isinstance(sku.get("name"), str):
        sku["tier"] = "Premium" if sku["name"].lower().startswith("premium") else "Standard"
    kind = body.get("kind") if isinstance(body.get("kind"), str) else None
    props["primaryEndpoints"] = endpoints(rt.name, kind)
    props["primaryLocation"] = regions.normalize(rt.location)
    props["statusOfPrimary"] = "available"
    replication = _replication(body)
    secondary = regions.paired_region(rt.location)
    if replication in _GEO_REDUNDANT and secondary:
        props["secondaryLocation"] = secondary
        props["statusOfSecondary"] = "available"
        if replication.startswith("ra"):
            props["secondaryEndpoints"] = {
                service: url
                for service, url in endpoints(f"{rt.name}-secondary", kind).items()
                if service != "file"
            }
    created = rt.created("properties.creationTime")
    props["creationTime"] = created
    props["keyCreationTime"] = {
        key: rt.created(f"properties.keyCreationTime.{key}") for key in ("key1", "key2")
    }


def account_key(rt: Runtime, key_name: str) -> str:
    """The value of ``key1``/``key2`` of the account ``rt`` (88 base64 characters)."""
    return rt.key(f"storage-{key_name.lower()}")


def _list_keys(resource: Mapping[str, Any], body: Any, rt: Runtime) -> dict[str, Any]:
    return {
        "keys": [
            {"keyName": name, "value": account_key(rt, name), "permissions": "Full"}
            for name in ("key1", "key2")
        ]
    }


def _sas_time(value: Any) -> str:
    """SAS times carry whole seconds: ``2017-05-24T10:42:03.1567373Z`` → ``…T10:42:03Z``."""
    text = str(value or "")
    return re.sub(r"\.\d+(?=Z$|[+-]\d\d:\d\d$)", "", text)


def _sign(rt: Runtime, key_name: Any, string_to_sign: str) -> str:
    name = key_name if key_name in ("key1", "key2") else "key1"
    secret = base64.b64decode(account_key(rt, name))
    digest = hmac.new(secret, string_to_sign.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def _query(fields: list[tuple[str, str]]) -> str:
    return "&".join(f"{key}={quote(value, safe=',')}" for key, value in fields if value)


def _list_account_sas(resource: Mapping[str, Any], body: Any, rt: Runtime) -> dict[str, Any]:
    """An account SAS signed (HMAC-SHA256) with the account key, as the storage service
    computes it for signed version 2015-04-05."""
    p = body if isinstance(body, Mapping) else {}
    fields = [
        ("sv", SAS_VERSION),
        ("ss", str(p.get("signedServices") or "")),
        ("srt", str(p.get("signedResourceTypes") or "")),
        ("sp", str(p.get("signedPermission") or "")),
        ("st", _sas_time(p.get("signedStart"))),
        ("se", _sas_time(p.get("signedExpiry"))),
        ("sip", str(p.get("signedIp") or "")),
        ("spr", str(p.get("signedProtocol") or "")),
    ]
    values = dict(fields)
    string_to_sign = "\n".join(
        [rt.name] + [values[k] for k in ("sp", "ss", "srt", "st", "se", "sip", "spr", "sv")] + [""]
    )
    signature = _sign(rt, p.get("keyToSign"), string_to_sign)
    return {"accountSasToken": _query(fields) + "&sig=" + quote(signature, safe="")}


def _list_service_sas(resource: Mapping[str, Any], body: Any, rt: Runtime) -> dict[str, Any]:
    """A service SAS for ``canonicalizedResource``, signed with the account key."""
    p = body if isinstance(body, Mapping) else {}
    fields = [
        ("sv", SAS_VERSION),
        ("sr", str(p.get("signedResource") or "")),
        ("sp", str(p.get("signedPermission") or "")),
        ("st", _sas_time(p.get("signedStart"))),
        ("se", _sas_time(p.get("signedExpiry"))),
        ("si", str(p.get("signedIdentifier") or "")),
        ("sip", str(p.get("signedIp") or "")),
        ("spr", str(p.get("signedProtocol") or "")),
    ]
    values = dict(fields)
    string_to_sign = "\n".join(
        [values["sp"], values["st"], values["se"], str(p.get("canonicalizedResource") or "")]
        + [values[k] for k in ("si", "sip", "spr", "sv")]
    )
    signature = _sign(rt, p.get("keyToSign"), string_to_sign)
    return {"serviceSasToken": _query(fields) + "&sig=" + quote(signature, safe="")}


def _apply_container(body: dict[str, Any], rt: Runtime) -> None:
    props = properties_of(body)
    props["lastModifiedTime"] = rt.now_iso
    props["leaseStatus"] = "Unlocked"
    props["leaseState"] = "Available"
    props["hasImmutabilityPolicy"] = False
    props["hasLegalHold"] = False
    props["deleted"] = False
    props["remainingRetentionDays"] = 0


BEHAVIORS = [
    Behavior(
        ACCOUNTS,
        apply=_apply_account,
        read_only=frozenset(
            {
                "sku.tier",
                "properties.primaryEndpoints",
                "properties.primaryLocation",
                "properties.statusOfPrimary",
                "properties.secondaryEndpoints",
                "properties.secondaryLocation",
                "properties.statusOfSecondary",
                "properties.creationTime",
                "properties.keyCreationTime",
            }
        ),
        defaulted=frozenset({"kind", "sku"}),
        actions={
            "listkeys": _list_keys,
            "listaccountsas": _list_account_sas,
            "listservicesas": _list_service_sas,
        },
    ),
    Behavior(
        f"{ACCOUNTS}/blobServices/containers",
        apply=_apply_container,
        read_only=frozenset(
            {
                f"properties.{name}"
                for name in (
                    "lastModifiedTime",
                    "leaseStatus",
                    "leaseState",
                    "hasImmutabilityPolicy",
                    "hasLegalHold",
                    "deleted",
                    "remainingRetentionDays",
                )
            }
        ),
    ),
]
