"""Services whose resource provider assigns an address when it creates the resource:
the endpoint or host name a template's outputs read (``reference(account).endpoint``).

The shapes are those of each service's REST API GET response (the Azure REST API
reference): a Cognitive Services account's ``endpoint`` (its custom subdomain's, else the
region's), an AI Search service's and an App Configuration store's ``endpoint``, an API
Management service's gateway, portal, management and SCM URLs, a MySQL or PostgreSQL
flexible server's ``fullyQualifiedDomainName``, an AKS cluster's API server ``fqdn`` and
node resource group, a static web app's ``defaultHostname``, a Communication Services
resource's and a Digital Twins instance's ``hostName``, a Dev Center's ``devCenterUri``, a
Databricks workspace's URL. Values are deterministic functions of the resource id, like every
runtime value of the local ARM; they are read-only, so a redeploy is ``NoChange``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import regions
from .model import Behavior, Runtime, properties_of


def _region(rt: Runtime) -> str:
    return regions.normalize(rt.location) or "westeurope"


def _suffix(rt: Runtime, length: int = 8) -> str:
    return rt.guid("host").replace("-", "")[:length]


def _cognitive_services(body: dict[str, Any], rt: Runtime) -> None:
    props = properties_of(body)
    subdomain = props.get("customSubDomainName")
    props["endpoint"] = (
        f"https://{subdomain}.cognitiveservices.azure.com/"
        if isinstance(subdomain, str) and subdomain
        else f"https://{_region(rt)}.api.cognitive.microsoft.com/"
    )
    props["endpoints"] = _cognitive_endpoints(str(body.get("kind") or ""), subdomain)
    props["dateCreated"] = rt.created("properties.dateCreated")


def _cognitive_endpoints(kind: str, subdomain: Any) -> dict[str, str]:
    """The named endpoints of an Azure OpenAI or AI Services (Foundry) account, the ones
    templates read by name (``endpoints['AI Foundry API']``); other kinds list none here."""
    if kind.lower() not in ("aiservices", "openai") or not isinstance(subdomain, str):
        return {}
    found = {"OpenAI Language Model Instance API": f"https://{subdomain}.openai.azure.com/"}
    if kind.lower() == "aiservices":
        found["AI Foundry API"] = f"https://{subdomain}.services.ai.azure.com/"
        found["Azure AI Model Inference API"] = f"https://{subdomain}.services.ai.azure.com/"
        found["Content Safety"] = f"https://{subdomain}.cognitiveservices.azure.com/"
    return found


def _endpoint(template: str) -> Callable[[dict[str, Any], Runtime], None]:
    def apply(body: dict[str, Any], rt: Runtime) -> None:
        properties_of(body)["endpoint"] = template.format(name=rt.name.lower())

    return apply


def _api_management(body: dict[str, Any], rt: Runtime) -> None:
    props = properties_of(body)
    name = rt.name.lower()
    props["gatewayUrl"] = f"https://{name}.azure-api.net"
    props["gatewayRegionalUrl"] = f"https://{name}-{_region(rt)}-01.regional.azure-api.net"
    props["portalUrl"] = f"https://{name}.portal.azure-api.net"
    props["developerPortalUrl"] = f"https://{name}.developer.azure-api.net"
    props["managementApiUrl"] = f"https://{name}.management.azure-api.net"
    props["scmUrl"] = f"https://{name}.scm.azure-api.net"
    octets = [int(_suffix(rt, 6)[i : i + 2], 16) for i in (0, 2, 4)]
    props["publicIPAddresses"] = [f"20.{octets[0]}.{octets[1]}.{octets[2]}"]
    props["createdAtUtc"] = rt.created("properties.createdAtUtc")


def _flexible_server(domain: str) -> Callable[[dict[str, Any], Runtime], None]:
    def apply(body: dict[str, Any], rt: Runtime) -> None:
        properties_of(body)["fullyQualifiedDomainName"] = f"{rt.name.lower()}.{domain}"

    return apply


def _managed_cluster(body: dict[str, Any], rt: Runtime) -> None:
    props = properties_of(body)
    prefix = props.get("dnsPrefix") if isinstance(props.get("dnsPrefix"), str) else rt.name
    host = f"{prefix}-{_suffix(rt)}"
    props["fqdn"] = f"{host}.hcp.{_region(rt)}.azmk8s.io"
    props["azurePortalFQDN"] = f"{host}.portal.hcp.{_region(rt)}.azmk8s.io"
    if not props.get("nodeResourceGroup"):
        props["nodeResourceGroup"] = f"MC_{rt.resource_group}_{rt.name}_{_region(rt)}"
    oidc = props.get("oidcIssuerProfile")
    if isinstance(oidc, dict) and oidc.get("enabled"):
        oidc["issuerURL"] = (
            f"https://{_region(rt)}.oic.prod-aks.azure.com/{rt.ctx.tenant_id}/{rt.guid('oidc')}/"
        )
    kubelet_group = (
        f"/subscriptions/{rt.subscription_id}/resourceGroups/{props['nodeResourceGroup']}"
    )
    profile = props.setdefault("identityProfile", {})
    if isinstance(profile, dict) and "kubeletidentity" not in profile:
        profile["kubeletidentity"] = {
            "resourceId": f"{kubelet_group}/providers/Microsoft.ManagedIdentity/"
            f"userAssignedIdentities/{rt.name}-agentpool",
            "clientId": rt.guid("kubelet-client"),
            "objectId": rt.guid("kubelet-object"),
        }


def _static_site(body: dict[str, Any], rt: Runtime) -> None:
    properties_of(body)["defaultHostname"] = (
        f"{rt.name.lower()}-{_suffix(rt, 9)}.azurestaticapps.net"
    )


def _communication(body: dict[str, Any], rt: Runtime) -> None:
    props = properties_of(body)
    location = str(props.get("dataLocation") or "unitedstates").replace(" ", "").lower()
    props["hostName"] = f"{rt.name.lower()}.{location}.communication.azure.com"
    props["immutableResourceId"] = rt.guid("immutableResourceId")


def _digital_twins(body: dict[str, Any], rt: Runtime) -> None:
    props = properties_of(body)
    props["hostName"] = f"{rt.name.lower()}.api.{_region(rt)}.digitaltwins.azure.net"
    props["createdTime"] = rt.created("properties.createdTime")


def _dev_center(body: dict[str, Any], rt: Runtime) -> None:
    properties_of(body)["devCenterUri"] = (
        f"https://{rt.ctx.tenant_id}-{rt.name.lower()}.{_region(rt)}.devcenter.azure.com/"
    )


def _databricks(body: dict[str, Any], rt: Runtime) -> None:
    props = properties_of(body)
    workspace_id = str(int(_suffix(rt, 12), 16))[:16]
    props["workspaceId"] = workspace_id
    props["workspaceUrl"] = f"adb-{workspace_id}.{int(_suffix(rt, 2), 16) % 20}.azuredatabricks.net"


BEHAVIORS = [
    Behavior(
        "Microsoft.CognitiveServices/accounts",
        apply=_cognitive_services,
        read_only=frozenset(
            {"properties.endpoint", "properties.endpoints", "properties.dateCreated"}
        ),
    ),
    Behavior(
        "Microsoft.Search/searchServices",
        apply=_endpoint("https://{name}.search.windows.net"),
        read_only=frozenset({"properties.endpoint"}),
    ),
    Behavior(
        "Microsoft.AppConfiguration/configurationStores",
        apply=_endpoint("https://{name}.azconfig.io"),
        read_only=frozenset({"properties.endpoint"}),
    ),
    Behavior(
        "Microsoft.ApiManagement/service",
        apply=_api_management,
        read_only=frozenset(
            {
                "properties.gatewayUrl",
                "properties.gatewayRegionalUrl",
                "properties.portalUrl",
                "properties.developerPortalUrl",
                "properties.managementApiUrl",
                "properties.scmUrl",
                "properties.publicIPAddresses",
                "properties.createdAtUtc",
            }
        ),
    ),
    Behavior(
        "Microsoft.DBforMySQL/flexibleServers",
        apply=_flexible_server("mysql.database.azure.com"),
        read_only=frozenset({"properties.fullyQualifiedDomainName"}),
    ),
    Behavior(
        "Microsoft.DBforPostgreSQL/flexibleServers",
        apply=_flexible_server("postgres.database.azure.com"),
        read_only=frozenset({"properties.fullyQualifiedDomainName"}),
        # the specification's ServerCreate example answers without it
        write_only=frozenset({"properties.administratorLoginPassword"}),
    ),
    Behavior(
        "Microsoft.ContainerService/managedClusters",
        apply=_managed_cluster,
        read_only=frozenset(
            {
                "properties.fqdn",
                "properties.azurePortalFQDN",
                "properties.oidcIssuerProfile.issuerURL",
                "properties.identityProfile.kubeletidentity",
            }
        ),
        defaulted=frozenset({"properties.nodeResourceGroup", "properties.identityProfile"}),
    ),
    Behavior(
        "Microsoft.Web/staticSites",
        apply=_static_site,
        read_only=frozenset({"properties.defaultHostname"}),
    ),
    Behavior(
        "Microsoft.Communication/communicationServices",
        apply=_communication,
        read_only=frozenset({"properties.hostName", "properties.immutableResourceId"}),
    ),
    Behavior(
        "Microsoft.DigitalTwins/digitalTwinsInstances",
        apply=_digital_twins,
        read_only=frozenset({"properties.hostName", "properties.createdTime"}),
    ),
    Behavior(
        "Microsoft.DevCenter/devcenters",
        apply=_dev_center,
        read_only=frozenset({"properties.devCenterUri"}),
    ),
    Behavior(
        "Microsoft.Databricks/workspaces",
        apply=_databricks,
        read_only=frozenset({"properties.workspaceId", "properties.workspaceUrl"}),
    ),
]
