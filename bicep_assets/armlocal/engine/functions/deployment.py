"""Deployment and scope functions: deployment(), deployer(), environment(), subscription(),
resourceGroup(), tenant(), managementGroup() — shaped as Microsoft documents them, each
available at the scopes Microsoft documents (``resourceGroup()`` at resource group scope,
``subscription()`` at resource group and subscription scope, ``managementGroup()`` at
management group scope, ``tenant()`` everywhere); elsewhere ARM's "is not expected at this
location".

They read the deployment context (``ctx.scope.deployment``, see ``engine.context``) and, for
``deployment()``, the template being deployed (``ctx.scope.template`` when the expansion
provides it, else the header it keeps in ``ctx.scope.template_header``).
"""

from __future__ import annotations

import copy
from typing import Any

from ..errors import ExpressionError
from ..evaluator import EvalContext, TemplateScope
from .registry import arm_function

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

TENANT_COUNTRY_CODE = "US"
TENANT_DISPLAY_NAME = "Local ARM tenant"

# ARM reports the declared types of a deployed template's outputs in this spelling
# (the documented deployment() example turns "object" into "Object").
_TYPE_NAMES = {
    name.lower(): name
    for name in ("String", "SecureString", "Int", "Bool", "Object", "SecureObject", "Array")
}


def _not_expected(function: str) -> ExpressionError:
    """ARM's error for a scope function used where its scope does not exist."""
    return ExpressionError(
        f"The template function '{function.upper()}' is not expected at this location. "
        "Please see https://aka.ms/arm-template-expressions for usage details."
    )


@arm_function("environment")
def environment(ctx: EvalContext) -> dict[str, Any]:
    """The Azure environment (endpoints and DNS suffixes) of the public cloud."""
    return copy.deepcopy(AZURE_CLOUD)


def _template(scope: TemplateScope) -> dict[str, Any]:
    return scope.template or scope.template_header


def _language_version(scope: TemplateScope, template: dict[str, Any]) -> str:
    version = template.get("languageVersion")
    if version is None:
        version = getattr(scope.resources, "language", None)
    return str(version or "1.0")


def _as_deployed(template: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``template`` as deployment() shows it (output types in ARM's spelling)."""
    result = copy.deepcopy(template)
    outputs = result.get("outputs")
    if isinstance(outputs, dict):
        for output in outputs.values():
            declared = output.get("type") if isinstance(output, dict) else None
            if isinstance(declared, str) and declared.lower() in _TYPE_NAMES:
                output["type"] = _TYPE_NAMES[declared.lower()]
    return result


def _link_shown(link: dict[str, Any]) -> dict[str, Any]:
    """The ``templateLink`` ``deployment()`` shows ("Deployment functions": ``{"uri": …}`` for
    a remote template, ``{"id": …}`` for a template spec): never a SAS token — no
    ``queryString``, and the ``uri`` without a query written into it (the deployment still
    fetches its ``relativePath`` links with it)."""
    shown = {k: copy.deepcopy(v) for k, v in link.items() if k != "queryString"}
    if isinstance(shown.get("uri"), str):
        shown["uri"] = shown["uri"].split("?", 1)[0].split("#", 1)[0]
    return shown


@arm_function("deployment")
def deployment(ctx: EvalContext) -> dict[str, Any]:
    """The current deployment: name, (location at subscription scope) and properties.

    A languageVersion 2.0 template sees only a subset: the template's ``contentVersion`` and
    ``metadata``, and ``templateLink`` when the template was linked.
    """
    scope = ctx.scope
    dep = scope.deployment
    template = _template(scope)
    result: dict[str, Any] = {"name": dep.deployment_name}
    if dep.resource_group is None and dep.location is not None:
        result["location"] = dep.location
    properties: dict[str, Any] = {}
    if _language_version(scope, template).startswith("2"):
        subset = {k: template[k] for k in ("contentVersion", "metadata") if k in template}
        properties["template"] = copy.deepcopy(subset)
        if dep.template_link:
            properties["templateLink"] = _link_shown(dep.template_link)
    else:
        if dep.template_link:
            properties["templateLink"] = _link_shown(dep.template_link)
        properties["template"] = _as_deployed(template)
        properties["templateHash"] = scope.template_hash
        properties["parameters"] = copy.deepcopy(scope.deployment_parameters)
        properties["mode"] = dep.mode
        properties["provisioningState"] = "Accepted"
    result["properties"] = properties
    return result


@arm_function("deployer")
def deployer(ctx: EvalContext) -> dict[str, Any]:
    """The principal running the deployment (the user principal name may be empty)."""
    dep = ctx.scope.deployment
    return {
        "objectId": dep.deployer_object_id,
        "tenantId": dep.tenant_id,
        "userPrincipalName": getattr(dep, "deployer_user_principal_name", None) or "",
    }


@arm_function("subscription")
def subscription(ctx: EvalContext) -> dict[str, Any]:
    """The subscription of the deployment: resource group and subscription deployments only
    ("The subscription() function is supported for resource group and subscription
    deployments", Microsoft's "ARM template functions in deployment scopes")."""
    dep = ctx.scope.deployment
    if dep.level in ("managementGroup", "tenant"):
        raise _not_expected("subscription")
    return {
        "id": dep.subscription_resource_id,
        "subscriptionId": dep.subscription_id,
        "tenantId": dep.tenant_id,
        "displayName": dep.subscription_display_name,
    }


@arm_function("resourceGroup")
def resource_group(ctx: EvalContext) -> dict[str, Any]:
    """The resource group of a resource group deployment.

    ``managedBy`` appears only for a managed group and ``tags`` only when the group has
    tags (ARM omits both otherwise, so ``resourceGroup().tags`` fails on an untagged group).
    """
    dep = ctx.scope.deployment
    group = dep.resource_group
    if group is None:
        raise _not_expected("resourceGroup")
    result: dict[str, Any] = {
        "id": dep.resource_group_id,
        "name": group.name,
        "type": "Microsoft.Resources/resourceGroups",
        "location": group.location,
    }
    if group.managed_by:
        result["managedBy"] = group.managed_by
    if group.tags:
        result["tags"] = dict(group.tags)
    result["properties"] = {"provisioningState": "Succeeded"}
    return result


@arm_function("externalInputs", min_args=1)
def external_inputs(ctx: EvalContext, name: Any) -> Any:
    """The value of one of the deployment's ``externalInputs``: what a parameter given as an
    ``expression`` reads (the REST specification's PutDeploymentWithExternalInputs.json)."""
    inputs = {str(k).lower(): v for k, v in ctx.scope.external_inputs.items()}
    if not isinstance(name, str) or name.lower() not in inputs:
        raise ExpressionError(f"The external input '{name}' is not defined in the deployment.")
    return copy.deepcopy(inputs[name.lower()])


@arm_function("tenant")
def tenant(ctx: EvalContext) -> dict[str, Any]:
    """The tenant of the deployment (any scope)."""
    dep = ctx.scope.deployment
    return {
        "countryCode": TENANT_COUNTRY_CODE,
        "displayName": TENANT_DISPLAY_NAME,
        "id": f"/tenants/{dep.tenant_id}",
        "tenantId": dep.tenant_id,
    }


@arm_function("managementGroup")
def management_group(ctx: EvalContext) -> dict[str, Any]:
    """The management group of a management group deployment, shaped as Microsoft's
    template-functions-scope example shows it (``type`` with its leading ``/providers/``;
    the parent of a group directly under the root is the Tenant Root Group)."""
    dep = ctx.scope.deployment
    group = dep.management_group
    if group is None:
        raise _not_expected("managementGroup")
    parent_name = group.parent_name or dep.tenant_id
    if group.parent_name is None and group.name == dep.tenant_id:
        parent: dict[str, Any] | None = None  # the root group has no parent
    else:
        parent = {
            "displayName": group.parent_display_name
            or ("Tenant Root Group" if parent_name == dep.tenant_id else parent_name),
            "id": f"/providers/Microsoft.Management/managementGroups/{parent_name}",
            "name": parent_name,
        }
    details: dict[str, Any] = {}
    if parent is not None:
        details["parent"] = parent
    details.update(
        updatedBy=group.updated_by or dep.deployer_object_id,
        updatedTime=group.updated_time,
        version=str(group.version),
    )
    return {
        "id": group.id,
        "name": group.name,
        "properties": {
            "details": details,
            "displayName": group.display_name or group.name,
            "tenantId": dep.tenant_id,
        },
        "type": "/providers/Microsoft.Management/managementGroups",
    }
