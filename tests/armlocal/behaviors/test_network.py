"""Microsoft.Network: etags, inline sub-resources, resource GUIDs, public IPs."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from bicep_assets.armlocal.service import behaviors

from .conftest import (
    GUID,
    T1,
    ctx_at,
    resource,
    rid,
    stored,
)


def test_virtual_network_subnets() -> None:
    subnets = [
        {"name": "web", "properties": {"addressPrefix": "10.0.1.0/24"}},
        {"name": "data", "properties": {"addressPrefix": "10.0.2.0/24"}},
    ]
    result = stored("Microsoft.Network/virtualNetworks", "vnet", properties={"subnets": subnets})
    vnet_id = rid("Microsoft.Network/virtualNetworks", "vnet")
    assert GUID.match(result["properties"]["resourceGuid"])
    assert re.fullmatch(r'W/"[0-9a-f-]{36}"', result["etag"])
    assert [
        (s["name"], s["id"], s["type"], s["etag"], s["properties"])
        for s in result["properties"]["subnets"]
    ] == [
        (
            "web",
            f"{vnet_id}/subnets/web",
            "Microsoft.Network/virtualNetworks/subnets",
            result["etag"],
            {"addressPrefix": "10.0.1.0/24", "provisioningState": "Succeeded"},
        ),
        (
            "data",
            f"{vnet_id}/subnets/data",
            "Microsoft.Network/virtualNetworks/subnets",
            result["etag"],
            {"addressPrefix": "10.0.2.0/24", "provisioningState": "Succeeded"},
        ),
    ]


def test_network_etag_follows_the_content() -> None:
    body = {"properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}}}
    first = stored("Microsoft.Network/virtualNetworks", "vnet", **copy.deepcopy(body))
    again = behaviors.apply_runtime_properties(
        resource("Microsoft.Network/virtualNetworks", "vnet", **copy.deepcopy(body)),
        first,
        ctx_at(T1),
    )
    body["properties"]["addressSpace"]["addressPrefixes"] = ["10.1.0.0/16"]
    changed = stored("Microsoft.Network/virtualNetworks", "vnet", **body)
    assert again["etag"] == first["etag"]
    assert changed["etag"] != first["etag"]
    assert changed["properties"]["resourceGuid"] == first["properties"]["resourceGuid"]


def test_other_network_types_get_sub_resource_ids_but_no_guid() -> None:
    result = stored(
        "Microsoft.Network/privateEndpoints",
        "pe",
        properties={
            "privateLinkServiceConnections": [{"name": "c", "properties": {"groupIds": ["blob"]}}],
            "customDnsConfigs": [{"fqdn": "x"}],
        },
    )
    connection = result["properties"]["privateLinkServiceConnections"][0]
    assert (
        connection["id"]
        == rid("Microsoft.Network/privateEndpoints", "pe") + "/privateLinkServiceConnections/c"
    )
    assert "resourceGuid" not in result["properties"]
    assert result["properties"]["customDnsConfigs"] == [
        {"fqdn": "x"}
    ]  # no name: not a sub-resource
    assert "etag" in result


@pytest.mark.parametrize(
    ("sku", "allocation", "assigned"),
    [
        ("Standard", "Static", True),
        ("Standard", None, True),
        ("Basic", "Static", True),
        ("Basic", "Dynamic", False),
    ],
    ids=["standard-static", "standard-default", "basic-static", "basic-dynamic"],
)
def test_public_ip_address(sku: str, allocation: str | None, assigned: bool) -> None:
    props: dict[str, Any] = {"dnsSettings": {"domainNameLabel": "demo"}}
    if allocation:
        props["publicIPAllocationMethod"] = allocation
    result = stored(
        "Microsoft.Network/publicIPAddresses", "pip", sku={"name": sku}, properties=props
    )["properties"]
    assert ("ipAddress" in result) is assigned
    if assigned:
        assert re.fullmatch(r"203\.0\.113\.(\d+)", result["ipAddress"])
        assert 1 <= int(result["ipAddress"].rsplit(".", 1)[1]) <= 254
    assert result["dnsSettings"]["fqdn"] == "demo.westeurope.cloudapp.azure.com"


def test_public_ip_addresses_differ_between_resources() -> None:
    addresses = {
        stored("Microsoft.Network/publicIPAddresses", f"pip{i}", sku={"name": "Standard"})[
            "properties"
        ]["ipAddress"]
        for i in range(5)
    }
    assert len(addresses) > 1
