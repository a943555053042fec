"""App Service plans, web apps and slots, and the local web app addresses."""

from __future__ import annotations

import re

import pytest

from bicep_assets.armlocal.service import behaviors
from bicep_assets.armlocal.service.behaviors.web import plan_sku

from .conftest import (
    CTX,
    SUB,
    T0_ISO,
    ctx_at,
    resource,
    rid,
    stored,
)

PLAN_ID = rid("Microsoft.Web/serverfarms", "plan")


def test_site_runtime_properties() -> None:
    props = stored("Microsoft.Web/sites", "app1", kind="app", properties={"serverFarmId": PLAN_ID})[
        "properties"
    ]
    host = f"127.0.0.1:8443/sites/{SUB}/rg-demo/app1"
    assert {k: props[k] for k in ("defaultHostName", "hostNames", "enabledHostNames")} == {
        "defaultHostName": host,
        "hostNames": [host],
        "enabledHostNames": [host],
    }
    assert {k: props[k] for k in ("state", "usageState", "availabilityState")} == {
        "state": "Running",
        "usageState": "Normal",
        "availabilityState": "Normal",
    }
    assert props["repositorySiteName"] == "app1"
    assert props["resourceGroup"] == "rg-demo"
    assert props["lastModifiedTimeUtc"] == T0_ISO
    assert props["serverFarmId"] == PLAN_ID
    assert re.fullmatch(r"[0-9A-F]{64}", props["customDomainVerificationId"])
    outbound = props["outboundIpAddresses"].split(",")
    possible = props["possibleOutboundIpAddresses"].split(",")
    assert len(outbound) == len(set(outbound)) == 4
    assert len(possible) == len(set(possible)) == 8
    assert possible[:4] == outbound
    assert all(re.fullmatch(r"192\.0\.2\.(\d+)", ip) for ip in possible)


def test_sites_share_subscription_verification_id_and_plan_addresses() -> None:
    one = stored("Microsoft.Web/sites", "app1", properties={"serverFarmId": PLAN_ID})["properties"]
    two = stored("Microsoft.Web/sites", "app2", properties={"serverFarmId": PLAN_ID})["properties"]
    alone = stored("Microsoft.Web/sites", "app3", properties={})["properties"]
    other_sub = behaviors.apply_runtime_properties(
        {
            **resource("Microsoft.Web/sites", "app1"),
            "id": rid("Microsoft.Web/sites", "app1", group="/subscriptions/x/resourceGroups/rg"),
        },
        None,
        CTX,
    )["properties"]
    assert one["customDomainVerificationId"] == two["customDomainVerificationId"]
    assert other_sub["customDomainVerificationId"] != one["customDomainVerificationId"]
    assert one["outboundIpAddresses"] == two["outboundIpAddresses"]
    assert alone["outboundIpAddresses"] != one["outboundIpAddresses"]


@pytest.mark.parametrize(
    ("resource_type", "names", "sites_base", "host"),
    [
        (
            "Microsoft.Web/sites",
            ("app1",),
            "127.0.0.1:8443/sites",
            f"127.0.0.1:8443/sites/{SUB}/rg-demo/app1",
        ),
        (
            "Microsoft.Web/sites/slots",
            ("app1", "staging"),
            "127.0.0.1:8443/sites/",
            f"127.0.0.1:8443/sites/{SUB}/rg-demo/app1/slots/staging",
        ),
        ("Microsoft.Web/sites", ("App1",), "", "app1.azurewebsites.net"),
        ("Microsoft.Web/sites/slots", ("app1", "staging"), "", "app1-staging.azurewebsites.net"),
        ("Microsoft.Storage/storageAccounts", ("st",), "127.0.0.1:8443/sites", None),
    ],
    ids=["site", "slot", "site-azure-shape", "slot-azure-shape", "not-a-site"],
)
def test_site_host(resource_type: str, names: tuple, sites_base: str, host: str | None) -> None:
    ctx = ctx_at(sites_base=sites_base)
    assert behaviors.site_host(resource(resource_type, *names), ctx) == host
    if host is not None:
        body = behaviors.apply_runtime_properties(resource(resource_type, *names), None, ctx)
        assert body["properties"]["defaultHostName"] == host


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        (
            f"https://127.0.0.1:8443/sites/{SUB}/rg-demo/app1/api/health?probe=1",
            (SUB, "rg-demo", "app1", None, "/api/health"),
        ),
        (f"/sites/{SUB}/rg-demo/app1", (SUB, "rg-demo", "app1", None, "/")),
        (f"/SITES/{SUB}/rg-demo/app1/", (SUB, "rg-demo", "app1", None, "/")),
        (
            f"/sites/{SUB}/rg-demo/app1/slots/staging/healthz?x=1",
            (SUB, "rg-demo", "app1", "staging", "/healthz"),
        ),
        (f"/sites/{SUB}/rg-demo/app1/slots", (SUB, "rg-demo", "app1", None, "/slots")),
        (f"/other/{SUB}/rg-demo/app1", None),
        (f"/sitesX/{SUB}/rg-demo/app1", None),
        (f"/sites/{SUB}/rg-demo", None),
        ("/sites", None),
    ],
    ids=[
        "url",
        "path",
        "case",
        "slot",
        "slots-without-name",
        "other-prefix",
        "prefix-lookalike",
        "too-short",
        "base-only",
    ],
)
def test_parse_site_address(address: str, expected: tuple | None) -> None:
    found = behaviors.parse_site_address(address, CTX)
    if expected is None:
        assert found is None
    else:
        assert found is not None
        assert (
            found.subscription_id,
            found.resource_group,
            found.site,
            found.slot,
            found.path,
        ) == expected


def test_site_address_round_trip() -> None:
    for resource_type, names in (
        ("Microsoft.Web/sites", ("app1",)),
        ("Microsoft.Web/sites/slots", ("app1", "blue")),
    ):
        site = resource(resource_type, *names)
        url = f"https://{behaviors.site_host(site, CTX)}/health"
        found = behaviors.parse_site_address(url, CTX)
        assert found is not None
        assert found.resource_id == site["id"]
        assert found.path == "/health"


def test_parse_site_address_without_a_base_path() -> None:
    ctx = ctx_at(sites_base="127.0.0.1:9000")
    found = behaviors.parse_site_address(f"https://127.0.0.1:9000/{SUB}/rg/app/x", ctx)
    assert found is not None
    assert (found.site, found.path) == ("app", "/x")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("F1", {"tier": "Free", "size": "F1", "family": "F"}),
        ("B1", {"tier": "Basic", "size": "B1", "family": "B"}),
        ("S1", {"tier": "Standard", "size": "S1", "family": "S"}),
        ("P1v3", {"tier": "PremiumV3", "size": "P1v3", "family": "Pv3"}),
        ("P2v2", {"tier": "PremiumV2", "size": "P2v2", "family": "Pv2"}),
        ("Y1", {"tier": "Dynamic", "size": "Y1", "family": "Y"}),
        ("EP1", {"tier": "ElasticPremium", "size": "EP1", "family": "EP"}),
        ("I1v2", {"tier": "IsolatedV2", "size": "I1v2", "family": "Iv2"}),
        ("Z9", {"size": "Z9", "family": "Z"}),
        ("custom", {"size": "custom"}),
    ],
    ids=["F1", "B1", "S1", "P1v3", "P2v2", "Y1", "EP1", "I1v2", "unknown-family", "unparsable"],
)
def test_plan_sku(name: str, expected: dict) -> None:
    assert plan_sku(name) == expected


def test_plan_runtime_properties() -> None:
    result = stored("Microsoft.Web/serverfarms", "plan", sku={"name": "P1v3", "capacity": 3})
    assert result["sku"] == {
        "name": "P1v3",
        "capacity": 3,
        "size": "P1v3",
        "family": "Pv3",
        "tier": "PremiumV3",
    }
    assert result["properties"] == {
        "provisioningState": "Succeeded",
        "status": "Ready",
        "geoRegion": "West Europe",
        "numberOfWorkers": 3,
        "maximumNumberOfWorkers": 30,
    }


def test_plan_keeps_a_tier_the_template_gives() -> None:
    result = stored("Microsoft.Web/serverfarms", "plan", sku={"name": "B1", "tier": "basic"})
    assert result["sku"]["tier"] == "basic"
    assert result["properties"]["numberOfWorkers"] == 1
    assert result["properties"]["maximumNumberOfWorkers"] == 3
