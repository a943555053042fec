"""Services that assign an endpoint or a host name: the value a template's output reads, in
the shape of the service's REST API GET response, the same on every write."""

from __future__ import annotations

import pytest

from bicep_assets.armlocal.service import behaviors

from .conftest import CTX, GUID, TENANT, resource, stored

CASES = [
    (
        "Microsoft.CognitiveServices/accounts",
        {"customSubDomainName": "myai"},
        "endpoint",
        "https://myai.cognitiveservices.azure.com/",
    ),
    (
        "Microsoft.CognitiveServices/accounts",
        {},
        "endpoint",
        "https://westeurope.api.cognitive.microsoft.com/",
    ),
    ("Microsoft.Search/searchServices", {}, "endpoint", "https://svc1.search.windows.net"),
    ("Microsoft.AppConfiguration/configurationStores", {}, "endpoint", "https://svc1.azconfig.io"),
    ("Microsoft.ApiManagement/service", {}, "gatewayUrl", "https://svc1.azure-api.net"),
    (
        "Microsoft.DBforMySQL/flexibleServers",
        {},
        "fullyQualifiedDomainName",
        "svc1.mysql.database.azure.com",
    ),
    (
        "Microsoft.DBforPostgreSQL/flexibleServers",
        {},
        "fullyQualifiedDomainName",
        "svc1.postgres.database.azure.com",
    ),
    (
        "Microsoft.DevCenter/devcenters",
        {},
        "devCenterUri",
        f"https://{TENANT}-svc1.westeurope.devcenter.azure.com/",
    ),
    (
        "Microsoft.Communication/communicationServices",
        {"dataLocation": "Europe"},
        "hostName",
        "svc1.europe.communication.azure.com",
    ),
]


@pytest.mark.parametrize(
    ("resource_type", "properties", "key", "expected"),
    CASES,
    ids=[f"{c[0].split('/')[1]}-{c[2]}" + ("-subdomain" if c[1] else "") for c in CASES],
)
def test_the_service_assigns_the_address_its_outputs_read(
    resource_type: str, properties: dict, key: str, expected: str
) -> None:
    props = stored(resource_type, "svc1", location="westeurope", properties=properties)
    assert props["properties"][key] == expected
    assert key in "|".join(behaviors.read_only_paths(resource_type))


def test_aks_cluster_fqdn_node_group_and_kubelet_identity() -> None:
    body = stored(
        "Microsoft.ContainerService/managedClusters",
        "aks1",
        location="westeurope",
        properties={"dnsPrefix": "app", "oidcIssuerProfile": {"enabled": True}},
    )
    props = body["properties"]
    assert props["fqdn"].startswith("app-") and props["fqdn"].endswith(".hcp.westeurope.azmk8s.io")
    assert props["nodeResourceGroup"] == "MC_rg-demo_aks1_westeurope"
    assert props["oidcIssuerProfile"]["issuerURL"].startswith(
        f"https://westeurope.oic.prod-aks.azure.com/{TENANT}/"
    )
    kubelet = props["identityProfile"]["kubeletidentity"]
    assert GUID.match(kubelet["objectId"]) and GUID.match(kubelet["clientId"])
    assert kubelet["resourceId"].endswith(
        "/MC_rg-demo_aks1_westeurope/providers/"
        "Microsoft.ManagedIdentity/userAssignedIdentities/aks1-agentpool"
    )
    again = behaviors.apply_runtime_properties(
        resource(
            "Microsoft.ContainerService/managedClusters",
            "aks1",
            location="westeurope",
            properties={"dnsPrefix": "app"},
        ),
        body,
        CTX,
    )
    assert again["properties"]["fqdn"] == props["fqdn"]  # deterministic per resource id


@pytest.mark.parametrize(
    ("resource_type", "key", "suffix"),
    [
        ("Microsoft.Web/staticSites", "defaultHostname", ".azurestaticapps.net"),
        ("Microsoft.DigitalTwins/digitalTwinsInstances", "hostName", ".digitaltwins.azure.net"),
        ("Microsoft.Databricks/workspaces", "workspaceUrl", ".azuredatabricks.net"),
    ],
    ids=["staticSites", "digitalTwins", "databricks"],
)
def test_host_names_are_in_the_service_domain(resource_type: str, key: str, suffix: str) -> None:
    props = stored(resource_type, "svc1", location="westeurope")["properties"]
    assert props[key].endswith(suffix)


def test_ai_services_account_names_its_endpoints() -> None:
    props = stored(
        "Microsoft.CognitiveServices/accounts",
        "ai1",
        kind="AIServices",
        location="westeurope",
        properties={"customSubDomainName": "ai1"},
    )["properties"]
    assert props["endpoints"]["AI Foundry API"] == "https://ai1.services.ai.azure.com/"
    assert props["endpoints"]["OpenAI Language Model Instance API"] == (
        "https://ai1.openai.azure.com/"
    )
