"""Data services: Azure SQL servers and databases, Cosmos DB accounts, Azure Cache for
Redis. Administrator passwords are write-only, as in Azure."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from . import regions
from .model import Behavior, Runtime, properties_of, set_default

SQL_SERVERS = "Microsoft.Sql/servers"
COSMOS_ACCOUNTS = "Microsoft.DocumentDB/databaseAccounts"
REDIS = "Microsoft.Cache/redis"


def _apply_sql_server(body: dict[str, Any], rt: Runtime) -> None:
    props = properties_of(body)
    props["fullyQualifiedDomainName"] = f"{rt.name}.database.windows.net"
    props["state"] = "Ready"


# Single-database SKU names: DTU tiers by letter ("S3"), vCore ones as
# "{GP|BC|HS}[_S]_{family}_{vCores}" ("GP_Gen5_2", "GP_S_Gen5_1" serverless).
_DTU_TIERS = {"S": "Standard", "P": "Premium"}
_VCORE_TIERS = {"GP": "GeneralPurpose", "BC": "BusinessCritical", "HS": "Hyperscale"}
_NAMED_TIERS = {"basic": "Basic", "free": "Free", "system": "System"}
# What Azure creates when a database names no SKU: General Purpose, Gen5, 2 vCores.
DEFAULT_DATABASE_SKU = {
    "name": "GP_Gen5_2",
    "tier": "GeneralPurpose",
    "family": "Gen5",
    "capacity": 2,
}


def database_sku(name: str) -> dict[str, Any]:
    """What the service reports beside a database SKU name: ``"GP_Gen5_2"`` →
    ``{"tier": "GeneralPurpose", "family": "Gen5"}``, ``"S1"`` → ``{"tier": "Standard"}``;
    names it does not know give ``{}``."""
    vcore = re.fullmatch(r"(GP|BC|HS)(?:_S)?_([A-Za-z0-9]+)_(\d+)", name, re.IGNORECASE)
    if vcore:
        return {"tier": _VCORE_TIERS[vcore.group(1).upper()], "family": vcore.group(2)}
    if re.fullmatch(r"[SP]\d+", name, re.IGNORECASE):
        return {"tier": _DTU_TIERS[name[0].upper()]}
    if re.fullmatch(r"DW\d+c?", name, re.IGNORECASE):
        return {"tier": "DataWarehouse"}
    tier = _NAMED_TIERS.get(name.lower())
    return {"tier": tier} if tier else {}


def _apply_sql_database(body: dict[str, Any], rt: Runtime) -> None:
    sku = set_default(body, "sku", dict(DEFAULT_DATABASE_SKU))
    if isinstance(sku, dict) and isinstance(sku.get("name"), str):
        for key, value in database_sku(sku["name"]).items():
            sku.setdefault(key, value)
    props = properties_of(body)
    props["status"] = "Online"
    props["databaseId"] = rt.guid("databaseId")
    props["creationDate"] = rt.created("properties.creationDate")
    if isinstance(sku, Mapping) and isinstance(sku.get("name"), str):
        props["currentServiceObjectiveName"] = sku["name"]


def cosmos_endpoint(account: str, region: str | None = None) -> str:
    label = f"{account}-{regions.normalize(region)}" if region else account
    return f"https://{label}.documents.azure.com:443/"


def _apply_cosmos(body: dict[str, Any], rt: Runtime) -> None:
    props = properties_of(body)
    set_default(props, "capabilities", [])  # a GET always lists them, often none
    props["documentEndpoint"] = cosmos_endpoint(rt.name)
    props["instanceId"] = rt.guid("instanceId")
    requested = props.get("locations")
    if not isinstance(requested, list) or not requested:
        requested = [{"locationName": rt.location, "failoverPriority": 0}]
    regions_out: list[dict[str, Any]] = []
    for entry in requested:
        if not isinstance(entry, dict) or not isinstance(entry.get("locationName"), str):
            continue
        region = regions.normalize(entry["locationName"])
        entry["id"] = f"{rt.name}-{region}"
        entry["documentEndpoint"] = cosmos_endpoint(rt.name, region)
        entry["provisioningState"] = "Succeeded"
        regions_out.append(
            {
                "id": entry["id"],
                "locationName": regions.display_name(region),
                "documentEndpoint": entry["documentEndpoint"],
                "provisioningState": "Succeeded",
                "failoverPriority": entry.get("failoverPriority", 0),
                "isZoneRedundant": bool(entry.get("isZoneRedundant", False)),
            }
        )
    props["writeLocations"] = [r for r in regions_out if r["failoverPriority"] == 0][:1]
    props["readLocations"] = regions_out


def _cosmos_keys(rt: Runtime) -> dict[str, str]:
    return {
        "primaryMasterKey": rt.key("cosmos-primaryMasterKey"),
        "secondaryMasterKey": rt.key("cosmos-secondaryMasterKey"),
        "primaryReadonlyMasterKey": rt.key("cosmos-primaryReadonlyMasterKey"),
        "secondaryReadonlyMasterKey": rt.key("cosmos-secondaryReadonlyMasterKey"),
    }


def _cosmos_list_keys(resource: Mapping[str, Any], body: Any, rt: Runtime) -> dict[str, str]:
    return _cosmos_keys(rt)


def _cosmos_readonly_keys(resource: Mapping[str, Any], body: Any, rt: Runtime) -> dict[str, str]:
    keys = _cosmos_keys(rt)
    return {k: keys[k] for k in ("primaryReadonlyMasterKey", "secondaryReadonlyMasterKey")}


def _cosmos_connection_strings(
    resource: Mapping[str, Any], body: Any, rt: Runtime
) -> dict[str, Any]:
    keys = _cosmos_keys(rt)
    endpoint = cosmos_endpoint(rt.name)
    described = [
        ("primaryMasterKey", "Primary SQL Connection String", "Primary"),
        ("secondaryMasterKey", "Secondary SQL Connection String", "Secondary"),
        ("primaryReadonlyMasterKey", "Primary Read-Only SQL Connection String", "PrimaryReadonly"),
        (
            "secondaryReadonlyMasterKey",
            "Secondary Read-Only SQL Connection String",
            "SecondaryReadonly",
        ),
    ]
    return {
        "connectionStrings": [
            {
                "connectionString": f"AccountEndpoint={endpoint};AccountKey={keys[key]};",
                "description": description,
                "keyKind": kind,
                "type": "Sql",
            }
            for key, description, kind in described
        ]
    }


def _apply_redis(body: dict[str, Any], rt: Runtime) -> None:
    props = properties_of(body)
    props["hostName"] = f"{rt.name}.redis.cache.windows.net"
    props["port"] = 6379
    props["sslPort"] = 6380


def _redis_keys(resource: Mapping[str, Any], body: Any, rt: Runtime) -> dict[str, str]:
    return {
        "primaryKey": rt.key("redis-primaryKey", 32),
        "secondaryKey": rt.key("redis-secondaryKey", 32),
    }


BEHAVIORS = [
    Behavior(
        SQL_SERVERS,
        apply=_apply_sql_server,
        read_only=frozenset({"properties.fullyQualifiedDomainName", "properties.state"}),
        write_only=frozenset({"properties.administratorLoginPassword"}),
    ),
    Behavior(
        f"{SQL_SERVERS}/databases",
        apply=_apply_sql_database,
        read_only=frozenset(
            {
                "properties.status",
                "properties.databaseId",
                "properties.creationDate",
                "properties.currentServiceObjectiveName",
                "sku.tier",
                "sku.family",
            }
        ),
        defaulted=frozenset({"sku"}),
    ),
    Behavior(
        COSMOS_ACCOUNTS,
        apply=_apply_cosmos,
        read_only=frozenset(
            {
                "properties.documentEndpoint",
                "properties.instanceId",
                "properties.writeLocations",
                "properties.readLocations",
                "properties.locations[*].id",
                "properties.locations[*].documentEndpoint",
                "properties.locations[*].provisioningState",
            }
        ),
        defaulted=frozenset({"properties.capabilities"}),
        actions={
            "listkeys": _cosmos_list_keys,
            "readonlykeys": _cosmos_readonly_keys,
            "listreadonlykeys": _cosmos_readonly_keys,
            "listconnectionstrings": _cosmos_connection_strings,
        },
    ),
    Behavior(
        REDIS,
        apply=_apply_redis,
        read_only=frozenset({"properties.hostName", "properties.port", "properties.sslPort"}),
        actions={"listkeys": _redis_keys},
    ),
]
