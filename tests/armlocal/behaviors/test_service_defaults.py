"""What a service fills in when a PUT leaves it out (defaulted paths), private endpoints'
network interfaces, and DevTest Labs labs."""

from __future__ import annotations

from typing import Any

import pytest

from bicep_assets.armlocal.service import behaviors
from bicep_assets.armlocal.service.behaviors.databases import database_sku

from .conftest import CTX, SUB, T0_ISO, T1, ctx_at, resource, stored

GROUP_PATH = f"/subscriptions/{SUB}/resourceGroups/rg-demo/providers"


def test_bare_storage_account_is_a_general_purpose_v2_lrs_account() -> None:
    account = stored("Microsoft.Storage/storageAccounts", "stbare", properties={})
    assert account["kind"] == "StorageV2"
    assert account["sku"] == {"name": "Standard_LRS", "tier": "Standard"}
    assert set(account["properties"]["primaryEndpoints"]) == {
        "dfs",
        "web",
        "blob",
        "queue",
        "table",
        "file",
    }
    assert behaviors.defaulted_paths("Microsoft.Storage/storageAccounts") == {"kind", "sku"}


def test_bare_site_is_a_web_app() -> None:
    assert stored("Microsoft.Web/sites", "app", properties={})["kind"] == "app"
    assert stored("Microsoft.Web/sites/slots", "app", "staging")["kind"] == "app"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("GP_Gen5_2", {"tier": "GeneralPurpose", "family": "Gen5"}),
        ("GP_S_Gen5_1", {"tier": "GeneralPurpose", "family": "Gen5"}),
        ("BC_Gen5_8", {"tier": "BusinessCritical", "family": "Gen5"}),
        ("HS_PRMS_4", {"tier": "Hyperscale", "family": "PRMS"}),
        ("S3", {"tier": "Standard"}),
        ("P11", {"tier": "Premium"}),
        ("Basic", {"tier": "Basic"}),
        ("Free", {"tier": "Free"}),
        ("DW100c", {"tier": "DataWarehouse"}),
        ("ElasticPool", {}),
    ],
    ids=[
        "gp",
        "gp-serverless",
        "bc",
        "hyperscale",
        "dtu-standard",
        "dtu-premium",
        "basic",
        "free",
        "dw",
        "unknown",
    ],
)
def test_database_sku_details(name: str, expected: dict[str, Any]) -> None:
    assert database_sku(name) == expected


def test_sql_database_sku() -> None:
    bare = stored("Microsoft.Sql/servers/databases", "sql", "db", properties={})
    named = stored("Microsoft.Sql/servers/databases", "sql", "db", sku={"name": "HS_Gen5_2"})
    explicit = stored(
        "Microsoft.Sql/servers/databases", "sql", "db", sku={"name": "S1", "tier": "Standard"}
    )
    assert bare["sku"] == {
        "name": "GP_Gen5_2",
        "tier": "GeneralPurpose",
        "family": "Gen5",
        "capacity": 2,
    }
    assert bare["properties"]["currentServiceObjectiveName"] == "GP_Gen5_2"
    assert named["sku"] == {"name": "HS_Gen5_2", "tier": "Hyperscale", "family": "Gen5"}
    assert explicit["sku"] == {"name": "S1", "tier": "Standard"}
    assert behaviors.is_read_only_path("Microsoft.Sql/servers/databases", "sku.tier")
    assert not behaviors.is_read_only_path("Microsoft.Sql/servers/databases", "sku.name")


def test_cosmos_account_lists_its_capabilities() -> None:
    bare = stored("Microsoft.DocumentDB/databaseAccounts", "cosmos", properties={})
    assert bare["properties"]["capabilities"] == []


# -- private endpoints --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("properties", "nic"),
    [
        ({}, "pe-st.nic.b4b99f40-26ec-5cf3-af31-811f7264527f"),
        ({"customNetworkInterfaceName": "nic-pe-st"}, "nic-pe-st"),
    ],
    ids=["generated-name", "custom-name"],
)
def test_private_endpoint_network_interface(properties: dict[str, Any], nic: str) -> None:
    props = stored(
        "Microsoft.Network/privateEndpoints",
        "pe-st",
        properties={"subnet": {"id": "/subscriptions/x/subnets/s"}, **properties},
    )["properties"]
    assert props["networkInterfaces"] == [
        {"id": f"{GROUP_PATH}/Microsoft.Network/networkInterfaces/{nic}"}
    ]
    assert props["customDnsConfigs"] == []
    assert "resourceGuid" not in props


# -- DevTest Labs ------------------------------------------------------------------------


def test_lab_runtime_properties() -> None:
    props = stored("Microsoft.DevTestLab/labs", "Lab_Demo-1", properties={})["properties"]
    storage = f"{GROUP_PATH}/Microsoft.Storage/storageAccounts/alabdemo1653794"
    assert props == {
        "provisioningState": "Succeeded",
        "uniqueIdentifier": "ceed183f-462b-5a63-bc0d-97c4b27d8095",
        "createdDate": T0_ISO,
        "vaultName": f"{GROUP_PATH}/Microsoft.KeyVault/vaults/labdemo1653794",
        "defaultStorageAccount": storage,
        "defaultPremiumStorageAccount": storage,
        "premiumDataDiskStorageAccount": storage,
        "artifactsStorageAccount": storage,
    }


def test_lab_resource_names_fit_their_limits() -> None:
    long_name = "0-" + "x" * 60
    props = stored("Microsoft.DevTestLab/labs", long_name, properties={})["properties"]
    account = props["defaultStorageAccount"].rsplit("/", 1)[1]
    vault = props["vaultName"].rsplit("/", 1)[1]
    assert len(account) == len(vault) == 24
    assert account.startswith("a0x") and account.isalnum()
    assert vault.startswith("kv0x") and vault.isalnum()


def test_lab_keeps_its_own_artifacts_account_and_creation_date() -> None:
    mine = f"{GROUP_PATH}/Microsoft.Storage/storageAccounts/mine"
    desired = resource(
        "Microsoft.DevTestLab/labs", "lab", properties={"artifactsStorageAccount": mine}
    )
    first = behaviors.apply_runtime_properties(desired, None, CTX)
    later = behaviors.apply_runtime_properties(desired, first, ctx_at(T1))
    assert first["properties"]["artifactsStorageAccount"] == mine
    assert later == first
    assert later["properties"]["createdDate"] == T0_ISO


def test_lab_read_only_and_defaulted_paths() -> None:
    lab = "Microsoft.DevTestLab/labs"
    assert behaviors.is_read_only_path(lab, "properties.uniqueIdentifier")
    assert behaviors.is_read_only_path(lab, "properties.vaultName")
    assert not behaviors.is_read_only_path(lab, "properties.artifactsStorageAccount")
    assert not behaviors.is_read_only_path(lab, "properties.labStorageType")
    assert behaviors.defaulted_paths(lab) == {"properties.artifactsStorageAccount"}


def test_unknown_types_have_no_defaulted_paths() -> None:
    assert behaviors.defaulted_paths("Contoso.Widgets/gadgets") == set()
