"""Deployment and scope functions: deployment(), environment(), subscription(), tenant()…"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import ExpressionError
from .registry import arm_function, expect_str

if TYPE_CHECKING:
    from ..evaluator import EvalContext

# Azure public cloud endpoints, as environment() documents them for 'AzureCloud'.
AZURE_CLOUD: dict[str, Any] = {
    "name": "AzureCloud",
    "gallery": "https://gallery.azure.com/",
    "graph": "https://graph.windows.net/",
    "portal": "https://portal.azure.com",
    "graphAudience": "https://graph.windows.net/",
    "activeDirectoryDataLake": "https://datalake.azure.net/",
    "batch": "https://batch.core.windows.net/",
    "media": "https://rest.media.azure.net",
    "sqlManagement": "https://management.core.windows.net:8443/",
    "vmImageAliasDoc": (
        "https://raw.githubusercontent.com/Azure/azure-rest-api-specs/master/"
        "arm-compute/quickstart-templates/aliases.json"
    ),
    "resourceManager": "https://management.azure.com/",
    "authentication": {
        "loginEndpoint": "https://login.microsoftonline.com/",
        "audiences": ["https://management.core.windows.net/", "https://management.azure.com/"],
        "tenant": "common",
        "identityProvider": "AAD",
    },
    "suffixes": {
        "acrLoginServer": ".azurecr.io",
        "azureDatalakeAnalyticsCatalogAndJob": "azuredatalakeanalytics.net",
        "azureDatalakeStoreFileSystem": "azuredatalakestore.net",
        "azureFrontDoorEndpointSuffix": "azurefd.net",
        "keyvaultDns": ".vault.azure.net",
        "sqlServerHostname": ".database.windows.net",
        "storage": "core.windows.net",
    },
}


@arm_function("environment")
def environment(ctx: EvalContext) -> dict[str, Any]:
    import copy

    return copy.deepcopy(AZURE_CLOUD)


@arm_function("deployment")
def deployment(ctx: EvalContext) -> dict[str, Any]:
    dep = ctx.scope.deployment
    template = ctx.scope.template_header if hasattr(ctx.scope, "template_header") else {}
    properties: dict[str, Any] = {
        "template": dict(template),
        "templateHash": getattr(ctx.scope, "template_hash", ""),
        "parameters": {},
        "mode": dep.mode,
        "provisioningState": "Accepted",
    }
    if dep.template_link:
        properties["templateLink"] = dict(dep.template_link)
    result: dict[str, Any] = {"name": dep.deployment_name, "properties": properties}
    if dep.resource_group is None:
        result["location"] = dep.location
    return result


@arm_function("subscription")
def subscription(ctx: EvalContext) -> dict[str, Any]:
    dep = ctx.scope.deployment
    return {
        "id": dep.subscription_resource_id,
        "subscriptionId": dep.subscription_id,
        "tenantId": dep.tenant_id,
        "displayName": dep.subscription_display_name,
    }


@arm_function("resourceGroup")
def resource_group(ctx: EvalContext) -> dict[str, Any]:
    dep = ctx.scope.deployment
    group = dep.resource_group
    if group is None:
        raise ExpressionError(
            "The template function 'resourceGroup' is not expected at this location: the "
            "deployment is at subscription scope."
        )
    result: dict[str, Any] = {
        "id": dep.resource_group_id,
        "name": group.name,
        "type": "Microsoft.Resources/resourceGroups",
        "location": group.location,
        "tags": dict(group.tags),
        "properties": {"provisioningState": "Succeeded"},
    }
    if group.managed_by:
        result["managedBy"] = group.managed_by
    return result


@arm_function("tenant")
def tenant(ctx: EvalContext) -> dict[str, Any]:
    dep = ctx.scope.deployment
    return {
        "countryCode": "US",
        "displayName": "Local ARM tenant",
        "id": f"/tenants/{dep.tenant_id}",
        "tenantId": dep.tenant_id,
    }


@arm_function("managementGroup", min_args=0, max_args=1)
def management_group(ctx: EvalContext, *args: Any) -> dict[str, Any]:
    name = expect_str("managementGroup", args[0], 0) if args else ctx.scope.deployment.tenant_id
    return {
        "id": f"/providers/Microsoft.Management/managementGroups/{name}",
        "name": name,
        "type": "Microsoft.Management/managementGroups",
        "properties": {"tenantId": ctx.scope.deployment.tenant_id, "displayName": name},
    }


@arm_function("deployer")
def deployer(ctx: EvalContext) -> dict[str, Any]:
    dep = ctx.scope.deployment
    return {"objectId": dep.deployer_object_id, "tenantId": dep.tenant_id}
