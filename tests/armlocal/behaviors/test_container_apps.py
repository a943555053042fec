"""Container Apps environments and container apps: domains, ingress, revisions, addresses."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from bicep_assets.armlocal.service import behaviors

from .conftest import CTX, SUB, T1, ctx_at, resource, rid, stored

ENV_ID = rid("Microsoft.App/managedEnvironments", "cae-demo")
DOMAIN = "quietforest-3ff7728f.westeurope.azurecontainerapps.io"  # of ENV_ID
VERIFICATION_ID = "0928983F7F259FD2D8CC7E3ECEE4258BE3175EC26CA0C90503AAE09E7081AB18"  # of SUB
TEMPLATE = {"containers": [{"name": "web", "image": "nginx:1.27"}]}


def _app(ingress: dict[str, Any] | None = None, **properties: Any) -> dict[str, Any]:
    props: dict[str, Any] = {"environmentId": ENV_ID, "template": copy.deepcopy(TEMPLATE)}
    if ingress is not None:
        props["configuration"] = {"ingress": ingress}
    props.update(properties)
    return stored("Microsoft.App/containerApps", "ca-web", properties=props)["properties"]


def test_managed_environment() -> None:
    props = stored("Microsoft.App/managedEnvironments", "cae-demo", properties={})["properties"]
    assert props == {
        "provisioningState": "Succeeded",
        "defaultDomain": DOMAIN,
        "staticIp": "198.51.100.170",
        "eventStreamEndpoint": "https://westeurope.azurecontainerapps.dev/subscriptions/"
        f"{SUB}/resourceGroups/rg-demo/managedEnvironments/cae-demo/eventstream",
        "customDomainConfiguration": {"customDomainVerificationId": VERIFICATION_ID},
    }


def test_environment_keeps_its_custom_domain_settings() -> None:
    props = stored(
        "Microsoft.App/managedEnvironments",
        "cae-demo",
        properties={"customDomainConfiguration": {"dnsSuffix": "apps.contoso.com"}},
    )["properties"]
    assert props["customDomainConfiguration"] == {
        "dnsSuffix": "apps.contoso.com",
        "customDomainVerificationId": VERIFICATION_ID,
    }


def test_default_domains_differ_between_environments_and_follow_the_region() -> None:
    other = stored("Microsoft.App/managedEnvironments", "cae-other", properties={})
    northern = stored(
        "Microsoft.App/managedEnvironments", "cae-demo", location="North Europe", properties={}
    )
    assert other["properties"]["defaultDomain"] != DOMAIN
    assert re.fullmatch(
        r"[a-z]+-[0-9a-f]{8}\.westeurope\.azurecontainerapps\.io",
        other["properties"]["defaultDomain"],
    )
    assert northern["properties"]["defaultDomain"] == DOMAIN.replace("westeurope", "northeurope")


def test_container_app_with_external_ingress() -> None:
    props = _app({"external": True, "targetPort": 80})
    assert props["configuration"]["ingress"] == {
        "external": True,
        "targetPort": 80,
        "fqdn": f"ca-web.{DOMAIN}",
    }
    assert props["latestRevisionName"] == props["latestReadyRevisionName"] == "ca-web--ntpbd7k"
    assert props["latestRevisionFqdn"] == f"ca-web--ntpbd7k.{DOMAIN}"
    assert props["environmentId"] == props["managedEnvironmentId"] == ENV_ID
    assert props["outboundIpAddresses"] == ["198.51.100.206", "198.51.100.207"]
    assert props["customDomainVerificationId"] == VERIFICATION_ID
    assert props["eventStreamEndpoint"] == (
        f"https://westeurope.azurecontainerapps.dev/subscriptions/{SUB}/resourceGroups/rg-demo"
        "/containerApps/ca-web/eventstream"
    )
    assert props["runningStatus"] == "Running"


@pytest.mark.parametrize(
    "ingress",
    [{"external": False, "targetPort": 8080}, {"targetPort": 8080}],
    ids=["external-false", "external-unset"],
)
def test_internal_ingress_is_under_the_internal_domain(ingress: dict[str, Any]) -> None:
    props = _app(ingress)
    assert props["configuration"]["ingress"]["fqdn"] == f"ca-web.internal.{DOMAIN}"
    assert props["latestRevisionFqdn"] == f"ca-web--ntpbd7k.internal.{DOMAIN}"


def test_app_without_ingress_has_no_fqdn() -> None:
    props = _app()
    assert "configuration" not in props
    assert props["latestRevisionFqdn"] == ""
    assert props["latestRevisionName"] == "ca-web--ntpbd7k"


def test_revision_suffix_from_the_template() -> None:
    props = _app({"external": True}, template={**TEMPLATE, "revisionSuffix": "v42"})
    assert props["latestRevisionName"] == "ca-web--v42"
    assert props["latestRevisionFqdn"] == f"ca-web--v42.{DOMAIN}"


def test_a_new_revision_exactly_when_the_template_changes() -> None:
    first = _app({"external": True})
    scaled = _app({"external": False})  # configuration is not revision-scoped
    changed = _app(
        {"external": True}, template={"containers": [{"name": "web", "image": "nginx:1.28"}]}
    )
    assert scaled["latestRevisionName"] == first["latestRevisionName"]
    assert changed["latestRevisionName"] != first["latestRevisionName"]
    assert re.fullmatch(r"ca-web--[a-z0-9]{7}", changed["latestRevisionName"])


def test_apps_in_one_environment_share_outbound_addresses() -> None:
    other = stored("Microsoft.App/containerApps", "ca-api", properties={"environmentId": ENV_ID})[
        "properties"
    ]
    elsewhere = stored(
        "Microsoft.App/containerApps",
        "ca-api",
        properties={"environmentId": rid("Microsoft.App/managedEnvironments", "cae-other")},
    )["properties"]
    assert other["outboundIpAddresses"] == _app()["outboundIpAddresses"]
    assert elsewhere["outboundIpAddresses"] != other["outboundIpAddresses"]


def test_the_deprecated_environment_id_is_echoed_both_ways() -> None:
    props = stored(
        "Microsoft.App/containerApps",
        "ca-web",
        properties={
            "managedEnvironmentId": ENV_ID,
            "configuration": {"ingress": {"external": True}},
        },
    )["properties"]
    assert props["environmentId"] == ENV_ID
    assert props["configuration"]["ingress"]["fqdn"] == f"ca-web.{DOMAIN}"


def test_container_app_redeploy_keeps_every_runtime_value() -> None:
    desired = resource(
        "Microsoft.App/containerApps",
        "ca-web",
        properties={"environmentId": ENV_ID, "configuration": {"ingress": {"external": True}}},
    )
    first = behaviors.apply_runtime_properties(desired, None, CTX)
    assert behaviors.apply_runtime_properties(desired, first, ctx_at(T1)) == first


@pytest.mark.parametrize(
    ("resource_type", "path", "read_only"),
    [
        ("Microsoft.App/managedEnvironments", "properties.defaultDomain", True),
        ("Microsoft.App/managedEnvironments", "properties.staticIp", True),
        (
            "Microsoft.App/managedEnvironments",
            "properties.customDomainConfiguration.customDomainVerificationId",
            True,
        ),
        (
            "Microsoft.App/managedEnvironments",
            "properties.customDomainConfiguration.dnsSuffix",
            False,
        ),
        ("Microsoft.App/containerApps", "properties.configuration.ingress.fqdn", True),
        ("Microsoft.App/containerApps", "properties.configuration.ingress.targetPort", False),
        ("Microsoft.App/containerApps", "properties.latestRevisionFqdn", True),
        ("Microsoft.App/containerApps", "properties.outboundIpAddresses[1]", True),
        ("Microsoft.App/containerApps", "properties.template.revisionSuffix", False),
        ("Microsoft.App/containerApps", "properties.managedEnvironmentId", False),
    ],
    ids=[
        "env-domain",
        "env-static-ip",
        "env-verification-id",
        "env-dns-suffix",
        "app-fqdn",
        "app-target-port",
        "app-revision-fqdn",
        "app-outbound-ip",
        "app-revision-suffix",
        "app-environment-id",
    ],
)
def test_read_only_paths(resource_type: str, path: str, read_only: bool) -> None:
    assert behaviors.is_read_only_path(resource_type, path) is read_only


def test_defaulted_paths() -> None:
    assert behaviors.defaulted_paths("Microsoft.App/containerApps") == {
        "properties.environmentId",
        "properties.managedEnvironmentId",
    }
    assert behaviors.defaulted_paths("Microsoft.App/managedEnvironments") == set()


def test_verification_id_is_per_subscription() -> None:
    in_other_subscription = behaviors.apply_runtime_properties(
        {
            **resource("Microsoft.App/managedEnvironments", "cae-demo"),
            "id": ENV_ID.replace(SUB, "22222222-2222-2222-2222-222222222222"),
        },
        None,
        CTX,
    )["properties"]
    verification = in_other_subscription["customDomainConfiguration"]
    assert verification["customDomainVerificationId"] != VERIFICATION_ID
