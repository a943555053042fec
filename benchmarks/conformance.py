"""The conformance suite: the request/response pairs Microsoft publishes with the REST API
specifications (``Azure/azure-rest-api-specs``, under ``specification/``: each operation's
``examples/*.json``), replayed against a local ARM.

The examples are those of the newest stable version of each family the local ARM serves
(the folders below; an example the newest folder does not repeat is taken from the newest
version that has it), listed with the repository's file index and each read in full. Each
case names the example it comes from and states what the example shows — the status codes
the operation answers, the keys of the response body, and the values that are enums or
fixed (types, levels, states) — as facts, in our own words; the request is the example's,
with its names, and with the prerequisites a fresh local ARM lacks created first (a resource
group, the resource a lock is put on, the template a ``templateLink`` names, served from a
local HTTP server). A case *matches* when the status is one the example lists and every key
and fixed value the example shows is in the answer. Where an example contradicts its own
definition, the definition decides and the case says so.

    .venv/bin/python benchmarks/conformance.py          # figures per family and api-version
    .venv/bin/python benchmarks/conformance.py --quick  # only the examples' own versions

``NOT_SERVED_EXAMPLES`` lists, by file, every other example of the folders read: operations
the local ARM does not serve (``NOT_SERVED`` adds those of other folders);
``KNOWN_DIFFERENCES`` the examples that do not match, and why they are left.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

from bicep_assets.armlocal import LocalArm, LocalArmConfig
from bicep_assets.armlocal.http.api_versions import published_versions, supported_versions

SUB = "00000000-0000-0000-0000-000000000000"
S = f"/subscriptions/{SUB}"
RG = f"{S}/resourceGroups/my-resource-group"
# the folders the examples were read from (``specification/`` of Azure/azure-rest-api-specs):
# the newest stable version of each family the local ARM serves
RES = "resources/resource-manager/Microsoft.Resources/resources/examples/2025-04-01"
SUBS = "resources/resource-manager/Microsoft.Resources/stable/2022-12-01/examples"
DEP = "resources/resource-manager/Microsoft.Resources/deployments/stable/2026-06-01/examples"
DEPX = "resources/resource-manager/Microsoft.Resources/deployments/examples/2026-06-01"
TS = "resources/resource-manager/Microsoft.Resources/templateSpecs/stable/2022-02-01/examples"
LOCKS = "resources/resource-manager/Microsoft.Authorization/locks/stable"
LOCKS_OLD = "resources/resource-manager/Microsoft.Authorization/stable"
MGS = "managementgroups/resource-manager/Microsoft.Management/stable"
SWAGGER = "resources/resource-manager/Microsoft.Resources/stable/2025-04-01/resources.json"
SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
SUB_SCHEMA = (
    "https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#"
)
VNET = f"{RG}/providers/Microsoft.Network/virtualNetworks/vnet1"
SITE = f"{RG}/providers/Microsoft.Web/sites/site1"
SPEC = f"{RG}/providers/Microsoft.Resources/templateSpecs/simpleTemplateSpec"
MG_ROOT = "/providers/Microsoft.Management/managementGroups"
MG = f"{MG_ROOT}/my-management-group-id"
LINK = "{files}/exampleTemplate.json"  # the examples' https://example.com/exampleTemplate.json
SAS = "sv=2019-02-02&sr=b&sp=r&sig=xxxxxxxx0xxxxxxxxxxxxx%2bxxxxxxxxxxxxxxxxxxxx%3d"


def _template(schema: str = SCHEMA) -> dict[str, Any]:
    return {
        "$schema": schema,
        "contentVersion": "1.0.0.0",
        "resources": [
            {
                "type": "Microsoft.Storage/storageAccounts",
                "apiVersion": "2023-01-01",
                "name": "stconformance01",
                "location": "westeurope",
                "sku": {"name": "Standard_LRS"},
                "kind": "StorageV2",
            }
        ]
        if schema == SCHEMA
        else [],
        "outputs": {"out": {"type": "string", "value": "x"}},
    }


@dataclass
class Case:
    example: str  # the example file, under specification/ (or a definition, file#operation)
    operation: str
    method: str
    path: str
    api_version: str
    statuses: tuple[int, ...]  # the status codes the example lists
    body: Any = None
    keys: tuple[str, ...] = ()  # dotted paths the example's body has ("value[].id": items)
    values: dict[str, Any] = field(default_factory=dict)  # fixed values the example shows
    setup: tuple[tuple[str, str, str, Any], ...] = ()  # (method, path, api-version, body)
    query: str = ""  # the example's other query parameters ("$expand=path")

    @property
    def family(self) -> str:
        return family_of(self.operation)


def family_of(operation: str) -> str:
    """The service an operation belongs to (the figures are given per family)."""
    prefix = operation.split("_")[0]
    return {
        "Deployments": "deployments",
        "ManagementLocks": "locks",
        "AuthorizationOperations": "locks",
        "TemplateSpecs": "template specs",
        "TemplateSpecVersions": "template specs",
        "Subscriptions": "subscriptions",
        "Tenants": "subscriptions",
        "ManagementGroups": "management groups",
        "ManagementGroupSubscriptions": "management groups",
        "Entities": "management groups",
        "HierarchySettings": "management groups",
        "Operations": "management groups",
        "TenantBackfill": "management groups",
        "CheckNameAvailability": "management groups",
        "CheckResourceName": "subscriptions",
        "DeploymentStacks": "deployment stacks",
        "DeploymentStacksWhatIfResults": "deployment stacks",
    }.get(prefix, "resources")


GROUP = ("PUT", RG, "2025-04-01", {"location": "westeurope"})
SITE_PUT = ("PUT", SITE, "2023-01-01", {"location": "westeurope", "properties": {}})
MG_PUT = ("PUT", MG, "2023-04-01", {"properties": {"displayName": "mg"}})


def _mg(name: str, parent: str = "") -> tuple[str, str, str, Any]:
    details = {"parent": {"id": f"{MG_ROOT}/{parent}"}} if parent else {}
    body = {"properties": {"displayName": name, "details": details}}
    return ("PUT", f"{MG_ROOT}/{name}", "2023-04-01", body)


def _deploy(link: str = LINK) -> dict[str, Any]:
    return {"properties": {"mode": "Incremental", "templateLink": {"uri": link}, "parameters": {}}}


def _scoped(link: str) -> dict[str, Any]:
    return {"location": "eastus", **_deploy(link=link)}


DEPLOYMENTS = "providers/Microsoft.Resources/deployments"
DEPLOYMENT = f"{RG}/{DEPLOYMENTS}/my-deployment"
DEPLOY = ("PUT", DEPLOYMENT, "2025-04-01", _deploy())
SPEC_PUT = ("PUT", SPEC, "2022-02-01", {"location": "eastus", "properties": {"description": "d"}})
VERSION_PUT = (
    "PUT",
    f"{SPEC}/versions/v1.0",
    "2022-02-01",
    {"location": "eastus", "properties": {"mainTemplate": _template()}},
)
DEPLOYMENT_KEYS = (
    "id",
    "name",
    "type",
    "properties.provisioningState",
    "properties.correlationId",
    "properties.timestamp",
    "properties.mode",
    "properties.parameters",
    "properties.providers[].namespace",
    "properties.providers[].resourceTypes[].resourceType",
    "properties.providers[].resourceTypes[].locations",
    "properties.dependencies",
)
DEPLOYMENT_VALUES = {"type": "Microsoft.Resources/deployments", "name": "my-deployment"}
VALIDATE_KEYS = (
    *DEPLOYMENT_KEYS[:4],
    "properties.correlationId",
    "properties.mode",
    "properties.providers",
    "properties.dependencies",
    "properties.templateHash",
    "properties.validatedResources",
)
WHAT_IF_KEYS = ("status", "properties.changes[].resourceId", "properties.changes[].changeType",
                "properties.changes[].after.id", "properties.changes[].after.type",
                "properties.changes[].after.apiVersion")  # fmt: skip
LOCK_KEYS = ("id", "name", "type", "properties.level")
LOCK_VALUES = {"type": "Microsoft.Authorization/locks", "name": "testlock"}
LOCK_LIST_KEYS = ("value[].id", "value[].name", "value[].type", "value[].properties.level")
TAGS = "providers/Microsoft.Resources/tags/default"
TAGS_PUT = {"properties": {"tags": {"tagKey1": "tag-value-1", "tagKey2": "tag-value-2"}}}
TAGS_KEYS = ("id", "properties.tags.tagKey1", "properties.tags.tagKey2")
TAGS_VALUES = {"properties.tags.tagKey1": "tag-value-1", "properties.tags.tagKey2": "tag-value-2"}
SUB_LOCK = f"{S}/providers/Microsoft.Authorization/locks/testlock"
RG_LOCK = f"{RG}/providers/Microsoft.Authorization/locks/testlock"
SITE_LOCK = f"{SITE}/providers/Microsoft.Authorization/locks/testlock"
READ_ONLY = {"properties": {"level": "ReadOnly"}}
SPEC_KEYS = ("id", "name", "type", "location", "systemData.createdAt", "properties.description")
SPEC_VALUES = {"type": "Microsoft.Resources/templateSpecs", "name": "simpleTemplateSpec"}
VERSION_VALUES = {"type": "Microsoft.Resources/templateSpecs/versions", "name": "v1.0"}
MG_KEYS = ("id", "type", "name", "properties.tenantId", "properties.displayName",
           "properties.details.version", "properties.details.updatedTime",
           "properties.details.updatedBy", "properties.details.parent.id",
           "properties.details.parent.name", "properties.details.parent.displayName")  # fmt: skip
MG_VALUES = {"type": "Microsoft.Management/managementGroups"}
MG_SUB_KEYS = ("id", "name", "type", "properties.displayName", "properties.parent.id",
               "properties.state", "properties.tenant")  # fmt: skip

STACKS = (
    "resources/resource-manager/Microsoft.Resources/deploymentStacks/stable/2025-07-01/examples"
)
STACKS_PATH = "providers/Microsoft.Resources/deploymentStacks"


def _stack(schema: str = SCHEMA, location: str | None = None) -> dict[str, Any]:
    """The examples' stack: their unmanage actions, deny settings and parameter, over a
    template of that scope (with a storage account at resource group scope)."""
    template = {
        **_template(schema),
        "parameters": {"parameter1": {"type": "string"}},
        "outputs": {"myOut": {"type": "string", "value": "myVal"}},
    }
    return {
        **({"location": location} if location else {}),
        "tags": {"tagkey": "tagVal"},
        "properties": {
            "actionOnUnmanage": {"resources": "delete", "resourceGroups": "delete",
                                 "managementGroups": "detach"},
            "denySettings": {"mode": "denyDelete", "excludedPrincipals": ["principal"],
                             "excludedActions": ["action"], "applyToChildScopes": False},
            "parameters": {"parameter1": {"value": "a string"}},
            "template": template,
        },
    }  # fmt: skip


MG_SCHEMA = SCHEMA.replace(
    "2019-04-01/deploymentTemplate", "2019-08-01/managementGroupDeploymentTemplate"
)
RG_STACK = f"{RG}/{STACKS_PATH}/simpleDeploymentStack"
SUB_STACK = f"{S}/{STACKS_PATH}/simpleDeploymentStack"
MG_STACK = f"{MG_ROOT}/myMg/{STACKS_PATH}/simpleDeploymentStack"
RG_STACK_PUT = ("PUT", RG_STACK, "2025-07-01", _stack(location="eastus"))
SUB_STACK_PUT = ("PUT", SUB_STACK, "2025-07-01", _stack(SUB_SCHEMA, "eastus"))
MG_STACK_PUT = ("PUT", MG_STACK, "2025-07-01", _stack(MG_SCHEMA, "eastus"))
STACK_KEYS = ("id", "type", "name", "tags.tagkey", "systemData.createdBy",
              "systemData.createdByType", "systemData.createdAt", "systemData.lastModifiedBy",
              "systemData.lastModifiedByType", "systemData.lastModifiedAt",
              "properties.actionOnUnmanage.resources", "properties.actionOnUnmanage.resourceGroups",
              "properties.actionOnUnmanage.managementGroups", "properties.denySettings.mode",
              "properties.denySettings.excludedPrincipals",
              "properties.denySettings.excludedActions",
              "properties.denySettings.applyToChildScopes",
              "properties.parameters.parameter1.value", "properties.provisioningState")  # fmt: skip
STACK_VALUES = {"type": "Microsoft.Resources/deploymentStacks", "name": "simpleDeploymentStack",
                "properties.denySettings.mode": "denyDelete",
                "properties.actionOnUnmanage.managementGroups": "detach"}  # fmt: skip
STACK_DONE_KEYS = (*STACK_KEYS, "location", "properties.deploymentId", "properties.outputs",
                   "properties.duration")  # fmt: skip
STACK_VALIDATE_KEYS = ("id", "name", "type", "properties.correlationId",
                       "properties.denySettings.mode", "properties.deploymentScope",
                       "properties.parameters.parameter1.type",
                       "properties.parameters.parameter1.value",
                       "properties.validatedResources")  # fmt: skip

CASES: list[Case] = [
    # -- resources: resource groups, providers (Microsoft.Resources/resources, 2025-04-01) ---
    Case(f"{RES}/CreateResourceGroup.json", "ResourceGroups_CreateOrUpdate",
         "PUT", RG, "2025-04-01", (200, 201), {"location": "eastus"},
         ("id", "name", "location", "properties.provisioningState"),
         {"name": "my-resource-group", "properties.provisioningState": "Succeeded"}),
    Case(f"{RES}/ResourceGroups_Get.json", "ResourceGroups_Get", "GET", RG, "2025-04-01",
         (200,), None, ("id", "name", "type", "location", "properties.provisioningState"),
         {"type": "Microsoft.Resources/resourceGroups", "name": "my-resource-group",
          "properties.provisioningState": "Succeeded"}, setup=(GROUP,)),
    Case(f"{RES}/ForceDeleteVMsInResourceGroup.json", "ResourceGroups_Delete", "DELETE", RG,
         "2025-04-01", (200, 202), setup=(GROUP,),
         query="forceDeletionTypes=Microsoft.Compute/virtualMachines"),
    Case(f"{RES}/ForceDeleteVMsAndVMSSInResourceGroup.json", "ResourceGroups_Delete", "DELETE",
         RG, "2025-04-01", (200, 202), setup=(GROUP,),
         query="forceDeletionTypes=Microsoft.Compute/virtualMachines,"
               "Microsoft.Compute/virtualMachineScaleSets"),
    Case(f"{RES}/GetProvider.json", "Providers_Get", "GET",
         f"{S}/providers/Microsoft.Web", "2025-04-01", (200,), None,
         ("id", "namespace", "registrationState", "registrationPolicy",
          "resourceTypes[].resourceType", "resourceTypes[].locations",
          "resourceTypes[].apiVersions", "resourceTypes[].capabilities"),
         {"namespace": "Microsoft.Web", "registrationPolicy": "RegistrationRequired"},
         setup=(GROUP, SITE_PUT)),
    Case(f"{RES}/GetProviders.json", "Providers_List", "GET",
         f"{S}/providers", "2025-04-01", (200,), None,
         ("value[].id", "value[].namespace", "value[].registrationState",
          "value[].registrationPolicy", "value[].resourceTypes[].resourceType",
          "value[].resourceTypes[].locations", "value[].resourceTypes[].apiVersions",
          "value[].resourceTypes[].capabilities"),
         {"value[].namespace": "Microsoft.Resources",
          "value[].registrationPolicy": "RegistrationFree"}),
    # -- resources by id: the operations' definitions (no example file is published) ---------
    Case(f"{SWAGGER}#Resources_CreateOrUpdateById",
         "Resources_CreateOrUpdateById", "PUT", VNET, "2024-05-01", (200, 201, 202),
         {"location": "westeurope", "properties": {}},
         ("id", "name", "type", "location"), {"type": "Microsoft.Network/virtualNetworks"},
         setup=(GROUP,)),
    Case(f"{SWAGGER}#Resources_UpdateById",
         "Resources_UpdateById", "PATCH", SITE, "2023-01-01", (200, 202), {"tags": {"a": "b"}},
         ("id", "name", "type", "tags.a"), {"tags.a": "b"}, setup=(GROUP, SITE_PUT)),
    Case(f"{SWAGGER}#Resources_DeleteById",
         "Resources_DeleteById", "DELETE", SITE, "2023-01-01", (200, 202, 204),
         setup=(GROUP, SITE_PUT)),
    Case(f"{SWAGGER}#Resources_ListByResourceGroup",
         "Resources_ListByResourceGroup", "GET", f"{RG}/resources", "2025-04-01", (200,), None,
         ("value[].id", "value[].name", "value[].type", "value[].location"),
         setup=(GROUP, SITE_PUT)),
    # -- tags at a scope (Microsoft.Resources/resources, 2025-04-01): the examples' resource
    # -- (myPRNameSpace/VM/myVm) is a web app here. The examples show the scope as `id` and no
    # -- name or type; TagsResource defines id, name and type of the tags wrapper resource,
    # -- answered as {scope}/providers/Microsoft.Resources/tags/default, default,
    # -- Microsoft.Resources/tags: the cases hold the keys, not the example's id value ----------
    *[Case(f"{RES}/{name}.json", operation, method, f"{scope}/{TAGS}", "2025-04-01", statuses,
           body, keys, values, setup=setup)
      for name, operation, method, scope, statuses, body, keys, values, setup in (
          ("GetTagsResource", "Tags_GetAtScope", "GET", SITE, (200,), None, TAGS_KEYS,
           TAGS_VALUES, (GROUP, SITE_PUT, ("PUT", f"{SITE}/{TAGS}", "2025-04-01", TAGS_PUT))),
          ("PutTagsResource", "Tags_CreateOrUpdateAtScope", "PUT", SITE, (200, 202), TAGS_PUT,
           TAGS_KEYS, TAGS_VALUES, (GROUP, SITE_PUT)),
          ("PatchTagsResource", "Tags_UpdateAtScope", "PATCH", SITE, (200, 202),
           {"operation": "Replace", **TAGS_PUT}, TAGS_KEYS, TAGS_VALUES, (GROUP, SITE_PUT)),
          ("DeleteTagsResource", "Tags_DeleteAtScope", "DELETE", SITE, (200, 202), None, (), {},
           (GROUP, SITE_PUT, ("PUT", f"{SITE}/{TAGS}", "2025-04-01", TAGS_PUT))),
          ("GetTagsSubscription", "Tags_GetAtScope", "GET", S, (200,), None, TAGS_KEYS,
           TAGS_VALUES, (("PUT", f"{S}/{TAGS}", "2025-04-01", TAGS_PUT),)),
          ("PutTagsSubscription", "Tags_CreateOrUpdateAtScope", "PUT", S, (200, 202), TAGS_PUT,
           TAGS_KEYS, TAGS_VALUES, ()),
          ("PatchTagsSubscription", "Tags_UpdateAtScope", "PATCH", S, (200, 202),
           {"operation": "Replace", **TAGS_PUT}, TAGS_KEYS, TAGS_VALUES, ()),
          ("DeleteTagsSubscription", "Tags_DeleteAtScope", "DELETE", S, (200, 202), None, (), {},
           (("PUT", f"{S}/{TAGS}", "2025-04-01", TAGS_PUT),)))],
    # -- tag names of a subscription: the operations' definitions (no example file is
    # -- published): TagDetails, TagValue, TagCount ------------------------------------------
    Case(f"{SWAGGER}#Tags_List", "Tags_List", "GET", f"{S}/tagNames", "2025-04-01", (200,),
         None, ("value[].id", "value[].tagName", "value[].count.type", "value[].count.value",
                "value[].values[].id", "value[].values[].tagValue",
                "value[].values[].count.value"),
         {"value[].tagName": "tagKey1", "value[].values[].tagValue": "tag-value-1"},
         setup=(GROUP, ("PUT", f"{RG}/{TAGS}", "2025-04-01", TAGS_PUT))),
    Case(f"{SWAGGER}#Tags_CreateOrUpdate", "Tags_CreateOrUpdate", "PUT", f"{S}/tagNames/team",
         "2025-04-01", (200, 201), None, ("id", "tagName", "count.value"),
         {"tagName": "team", "count.value": 0}),
    Case(f"{SWAGGER}#Tags_CreateOrUpdateValue", "Tags_CreateOrUpdateValue", "PUT",
         f"{S}/tagNames/team/tagValues/blue", "2025-04-01", (200, 201), None,
         ("id", "tagValue", "count.value"), {"tagValue": "blue"},
         setup=(("PUT", f"{S}/tagNames/team", "2025-04-01", None),)),
    Case(f"{SWAGGER}#Tags_Delete", "Tags_Delete", "DELETE", f"{S}/tagNames/team", "2025-04-01",
         (200, 204), setup=(("PUT", f"{S}/tagNames/team", "2025-04-01", None),)),
    Case(f"{SWAGGER}#Tags_DeleteValue", "Tags_DeleteValue", "DELETE",
         f"{S}/tagNames/team/tagValues/blue", "2025-04-01", (200, 204),
         setup=(("PUT", f"{S}/tagNames/team", "2025-04-01", None),
                ("PUT", f"{S}/tagNames/team/tagValues/blue", "2025-04-01", None))),
    # -- subscriptions and tenants (Microsoft.Resources/stable/2022-12-01) -------------------
    Case(f"{SUBS}/GetSubscription.json", "Subscriptions_Get", "GET", S, "2022-12-01", (200,),
         None, ("id", "subscriptionId", "tenantId", "displayName", "state",
                "subscriptionPolicies.locationPlacementId", "subscriptionPolicies.quotaId",
                "subscriptionPolicies.spendingLimit", "authorizationSource"),
         {"subscriptionId": SUB, "state": "Enabled"}),
    Case(f"{SUBS}/GetSubscriptions.json", "Subscriptions_List", "GET", "/subscriptions",
         "2022-12-01", (200,), None,
         ("value[].id", "value[].subscriptionId", "value[].tenantId", "value[].displayName",
          "value[].state", "value[].subscriptionPolicies.locationPlacementId",
          "value[].subscriptionPolicies.quotaId", "value[].subscriptionPolicies.spendingLimit",
          "value[].authorizationSource"), {"value[].state": "Enabled"}),
    # the example shows the list bare; the definition (LocationListResult) puts it in `value`
    Case(f"{SUBS}/GetLocations.json", "Subscriptions_ListLocations", "GET", f"{S}/locations",
         "2022-12-01", (200,), None,
         ("value[].id", "value[].name", "value[].type", "value[].displayName",
          "value[].regionalDisplayName", "value[].metadata.regionType",
          "value[].metadata.regionCategory", "value[].metadata.geographyGroup",
          "value[].metadata.longitude", "value[].metadata.latitude",
          "value[].metadata.physicalLocation", "value[].metadata.pairedRegion[].name",
          "value[].metadata.pairedRegion[].id"),
         {"value[].type": "Region", "value[].name": "eastus",
          "value[].metadata.regionType": "Physical"}),
    Case(f"{SUBS}/GetLocationsWithExtendedLocations.json", "Subscriptions_ListLocations",
         "GET", f"{S}/locations", "2022-12-01", (200,), None,
         ("value[].id", "value[].name", "value[].type", "value[].displayName",
          "value[].metadata.regionType", "value[].metadata.regionCategory"),
         {"value[].type": "Region"}, query="includeExtendedLocations=true"),
    Case(f"{SUBS}/GetTenants.json", "Tenants_List", "GET", "/tenants", "2022-12-01", (200,),
         None, ("value[].id", "value[].tenantId", "value[].tenantCategory",
                "value[].countryCode", "value[].displayName", "value[].domains",
                "value[].defaultDomain", "value[].tenantType"),
         {"value[].tenantCategory": "Home", "value[].tenantType": "AAD"}),
    # -- deployments (Microsoft.Resources/deployments, 2026-06-01) ---------------------------
    Case(f"{DEP}/PutDeploymentResourceGroup.json", "Deployments_CreateOrUpdate", "PUT",
         DEPLOYMENT, "2026-06-01", (200, 201),
         {"properties": {"mode": "Incremental", "parameters": {},
                         "templateLink": {"uri": LINK, "queryString": SAS}}},
         (*DEPLOYMENT_KEYS, "properties.templateHash", "properties.templateLink.contentVersion"),
         DEPLOYMENT_VALUES, setup=(GROUP,)),
    Case(f"{DEP}/PutDeploymentWithExternalInputs.json", "Deployments_CreateOrUpdate", "PUT",
         DEPLOYMENT, "2026-06-01", (200, 201),
         {"properties": {
             "mode": "Incremental",
             "externalInputDefinitions": {"fooValue": {"kind": "sys.envVar",
                                                       "config": "FOO_VALUE"}},
             "externalInputs": {"fooValue": {"value": "baz"}},
             "parameters": {"inputObj": {
                 "expression": "[createObject('foo', externalInputs('fooValue'))]"}},
             "template": {"$schema": SCHEMA, "contentVersion": "1.0.0.0",
                          "parameters": {"inputObj": {"type": "object"}}, "resources": [],
                          "outputs": {"inputObj": {"type": "object",
                                                   "value": "[parameters('inputObj')]"}}}}},
         (*DEPLOYMENT_KEYS[:8], "properties.templateHash", "properties.parameters.inputObj.type"),
         {**DEPLOYMENT_VALUES, "properties.parameters.inputObj.value.foo": "baz"},
         setup=(GROUP,)),
    Case(f"{DEP}/PutDeploymentResourceGroupTemplateSpecsWithId.json",
         "Deployments_CreateOrUpdate", "PUT", DEPLOYMENT, "2026-06-01", (200, 201),
         {"properties": {"mode": "Incremental", "parameters": {},
                         "templateLink": {"id": f"{SPEC}/versions/v1.0"}}},
         (*DEPLOYMENT_KEYS, "properties.templateLink.id"),
         {"properties.templateLink.id": f"{SPEC}/versions/v1.0"},
         setup=(GROUP, SPEC_PUT, VERSION_PUT)),
    Case(f"{DEP}/PutDeploymentSubscriptionTemplateSpecsWithId.json",
         "Deployments_CreateOrUpdateAtSubscriptionScope", "PUT",
         f"{S}/{DEPLOYMENTS}/my-deployment", "2026-06-01",
         (200, 201), {"location": "eastus", "properties": {"mode": "Incremental",
          "templateLink": {"id": f"{SPEC}/versions/sub"}, "parameters": {}}},
         ("id", "name", "type", "location", "properties.provisioningState",
          "properties.templateLink.id"), {"properties.templateLink.id": f"{SPEC}/versions/sub"},
         setup=(GROUP, SPEC_PUT, ("PUT", f"{SPEC}/versions/sub", "2022-02-01",
                {"location": "eastus", "properties": {"mainTemplate": _template(SUB_SCHEMA)}}))),
    Case(f"{DEP}/PutDeploymentAtScope.json", "Deployments_CreateOrUpdateAtScope", "PUT",
         f"{MG}/{DEPLOYMENTS}/my-deployment", "2026-06-01", (200, 201),
         {**_scoped("{files}/mgTemplate.json"),
          "tags": {"tagKey1": "tag-value-1", "tagKey2": "tag-value-2"}},
         (*DEPLOYMENT_KEYS, "location", "tags.tagKey1"),
         {**DEPLOYMENT_VALUES, "location": "eastus", "tags.tagKey2": "tag-value-2"},
         setup=(MG_PUT,)),
    Case(f"{DEP}/PutDeploymentAtTenant.json", "Deployments_CreateOrUpdateAtTenantScope", "PUT",
         f"/{DEPLOYMENTS}/tenant-dep01", "2026-06-01", (200, 201),
         {**_scoped("{files}/tenantTemplate.json"),
          "tags": {"tagKey1": "tag-value-1", "tagKey2": "tag-value-2"}},
         (*DEPLOYMENT_KEYS, "location", "tags.tagKey1"),
         {"name": "tenant-dep01", "location": "eastus", "tags.tagKey1": "tag-value-1"}),
    Case(f"{DEPX}/PutDeploymentAtManagementGroup.json",
         "Deployments_CreateOrUpdateAtManagementGroupScope", "PUT",
         f"{MG}/{DEPLOYMENTS}/my-deployment", "2026-06-01", (200, 201),
         _scoped("{files}/mgTemplate.json"), (*DEPLOYMENT_KEYS, "location"),
         {**DEPLOYMENT_VALUES, "location": "eastus"}, setup=(MG_PUT,)),
    Case(f"{DEPX}/PutDeploymentWithOnErrorDeploymentLastSuccessful.json",
         "Deployments_CreateOrUpdate", "PUT", DEPLOYMENT, "2026-06-01", (200, 201),
         {"properties": {"mode": "Complete", "onErrorDeployment": {"type": "LastSuccessful"},
                         "parameters": {}, "templateLink": {"uri": LINK}}},
         (*DEPLOYMENT_KEYS, "properties.onErrorDeployment.type",
          "properties.onErrorDeployment.deploymentName", "properties.templateLink.uri"),
         {"properties.mode": "Complete", "properties.onErrorDeployment.type": "LastSuccessful"},
         setup=(GROUP, ("PUT", f"{RG}/{DEPLOYMENTS}/earlier", "2026-06-01", _deploy()))),
    Case(f"{DEPX}/PutDeploymentWithOnErrorDeploymentSpecificDeployment.json",
         "Deployments_CreateOrUpdate", "PUT", DEPLOYMENT, "2026-06-01", (200, 201),
         {"properties": {"mode": "Complete", "parameters": {}, "templateLink": {"uri": LINK},
                         "onErrorDeployment": {"type": "SpecificDeployment",
                                               "deploymentName": "name-of-deployment-to-use"}}},
         (*DEPLOYMENT_KEYS, "properties.onErrorDeployment.type",
          "properties.onErrorDeployment.deploymentName"),
         {"properties.onErrorDeployment.type": "SpecificDeployment",
          "properties.onErrorDeployment.deploymentName": "name-of-deployment-to-use"},
         setup=(GROUP, ("PUT", f"{RG}/{DEPLOYMENTS}/name-of-deployment-to-use", "2026-06-01",
                        _deploy()))),
    Case(f"{DEP}/PostDeploymentValidateOnResourceGroup.json", "Deployments_Validate", "POST",
         f"{DEPLOYMENT}/validate", "2026-06-01", (200, 202, 400),
         {"properties": {"mode": "Incremental", "parameters": {},
                         "templateLink": {"uri": LINK, "queryString": SAS}}},
         (*VALIDATE_KEYS, "properties.validatedResources[].id"),
         {**DEPLOYMENT_VALUES, "properties.provisioningState": "Succeeded"}, setup=(GROUP,)),
    Case(f"{DEP}/PostDeploymentValidateOnScope.json", "Deployments_ValidateAtScope", "POST",
         f"{DEPLOYMENT}/validate", "2026-06-01", (200, 202, 400), DEPLOY[3], VALIDATE_KEYS,
         {"properties.provisioningState": "Succeeded"}, setup=(GROUP,)),
    Case(f"{DEPX}/PostDeploymentValidateOnSubscription.json",
         "Deployments_ValidateAtSubscriptionScope", "POST",
         f"{S}/{DEPLOYMENTS}/my-deployment/validate", "2025-04-01", (200, 202, 400),
         _scoped("{files}/subTemplate.json"), VALIDATE_KEYS,
         {**DEPLOYMENT_VALUES, "properties.provisioningState": "Succeeded"}),
    Case(f"{DEPX}/PostDeploymentValidateOnManagementGroup.json",
         "Deployments_ValidateAtManagementGroupScope", "POST",
         f"{MG}/{DEPLOYMENTS}/my-deployment/validate", "2026-06-01", (200, 202, 400),
         _scoped("{files}/mgTemplate.json"), VALIDATE_KEYS,
         {**DEPLOYMENT_VALUES, "properties.provisioningState": "Succeeded"}, setup=(MG_PUT,)),
    Case(f"{DEPX}/PostDeploymentValidateOnTenant.json", "Deployments_ValidateAtTenantScope",
         "POST", f"/{DEPLOYMENTS}/my-deployment/validate", "2026-06-01", (200, 202, 400),
         _scoped("{files}/tenantTemplate.json"), VALIDATE_KEYS,
         {**DEPLOYMENT_VALUES, "properties.provisioningState": "Succeeded"}),
    Case(f"{DEP}/PostDeploymentWhatIfOnResourceGroup.json", "Deployments_WhatIf", "POST",
         f"{DEPLOYMENT}/whatIf", "2026-06-01", (200, 202), DEPLOY[3], WHAT_IF_KEYS,
         {"status": "Succeeded", "properties.changes[].changeType": "Create"}, setup=(GROUP,)),
    Case(f"{DEP}/PostDeploymentWhatIfOnSubscription.json",
         "Deployments_WhatIfAtSubscriptionScope", "POST",
         f"{S}/{DEPLOYMENTS}/my-deployment/whatIf", "2026-06-01", (200, 202),
         {"location": "westus", **_deploy(link="{files}/subTemplate.json")},
         ("status", "properties.changes"), {"status": "Succeeded"}),
    Case(f"{DEPX}/PostDeploymentWhatIfOnManagementGroup.json",
         "Deployments_WhatIfAtManagementGroupScope", "POST",
         f"{MG_ROOT}/myManagementGruop/{DEPLOYMENTS}/exampleDeploymentName/whatIf",
         "2026-06-01", (200, 202), _scoped("{files}/mgTemplate.json"),
         ("status", "properties.changes"), {"status": "Succeeded"},
         setup=(_mg("myManagementGruop"),)),
    Case(f"{DEPX}/PostDeploymentWhatIfOnTenant.json", "Deployments_WhatIfAtTenantScope", "POST",
         f"/{DEPLOYMENTS}/exampleDeploymentName/whatIf", "2026-06-01", (200, 202),
         _scoped("{files}/tenantMgTemplate.json"), WHAT_IF_KEYS,
         {"status": "Succeeded", "properties.changes[].changeType": "Create",
          "properties.changes[].after.type": "Microsoft.Management/managementGroups"}),
    # -- management locks (Microsoft.Authorization/locks: 2020-05-01, or the newest version
    # -- that publishes the example) -----------------------------------------------------------
    Case(f"{LOCKS_OLD}/2016-09-01/examples/ManagementLocks_CreateOrUpdateAtSubscriptionLevel.json",
         "ManagementLocks_CreateOrUpdateAtSubscriptionLevel", "PUT", SUB_LOCK, "2016-09-01",
         (200, 201), READ_ONLY, LOCK_KEYS, {**LOCK_VALUES, "properties.level": "ReadOnly"}),
    Case(f"{LOCKS}/2016-09-01/examples/ManagementLocks_CreateOrUpdateAtResourceGroupLevel.json",
         "ManagementLocks_CreateOrUpdateAtResourceGroupLevel", "PUT", RG_LOCK, "2016-09-01",
         (200, 201), {"properties": {"level": "CanNotDelete"}}, LOCK_KEYS,
         {**LOCK_VALUES, "properties.level": "CanNotDelete"}, setup=(GROUP,)),
    Case(f"{LOCKS}/2020-05-01/examples/ManagementLocks_CreateOrUpdateAtResourceLevel.json",
         "ManagementLocks_CreateOrUpdateAtResourceLevel", "PUT", SITE_LOCK, "2020-05-01",
         (200, 201), READ_ONLY, LOCK_KEYS, LOCK_VALUES, setup=(GROUP, SITE_PUT)),
    Case(f"{LOCKS}/2017-04-01/examples/ManagementLocks_CreateOrUpdateAtScope.json",
         "ManagementLocks_CreateOrUpdateByScope", "PUT", SUB_LOCK, "2017-04-01", (200, 201),
         READ_ONLY, LOCK_KEYS, {**LOCK_VALUES, "properties.level": "ReadOnly"}),
    Case(f"{LOCKS_OLD}/2016-09-01/examples/ManagementLocks_GetAtSubscriptionLevel.json",
         "ManagementLocks_GetAtSubscriptionLevel", "GET", SUB_LOCK, "2016-09-01", (200,), None,
         LOCK_KEYS, LOCK_VALUES, setup=(("PUT", SUB_LOCK, "2016-09-01", READ_ONLY),)),
    Case(f"{LOCKS_OLD}/2017-04-01/examples/ManagementLocks_GetAtResourceGroupLevel.json",
         "ManagementLocks_GetAtResourceGroupLevel", "GET", RG_LOCK, "2017-04-01", (200,), None,
         LOCK_KEYS, {**LOCK_VALUES, "properties.level": "ReadOnly"},
         setup=(GROUP, ("PUT", RG_LOCK, "2017-04-01", READ_ONLY))),
    Case(f"{LOCKS}/2017-04-01/examples/ManagementLocks_GetAtResourceLevel.json",
         "ManagementLocks_GetAtResourceLevel", "GET", SITE_LOCK, "2017-04-01", (200,), None,
         LOCK_KEYS, {**LOCK_VALUES, "properties.level": "ReadOnly"},
         setup=(GROUP, SITE_PUT, ("PUT", SITE_LOCK, "2017-04-01", READ_ONLY))),
    Case(f"{LOCKS}/2020-05-01/examples/ManagementLocks_GetAtScope.json",
         "ManagementLocks_GetByScope", "GET", SUB_LOCK, "2020-05-01", (200,), None,
         LOCK_KEYS, {**LOCK_VALUES, "properties.level": "ReadOnly"},
         setup=(("PUT", SUB_LOCK, "2020-05-01", READ_ONLY),)),
    Case(f"{LOCKS}/2020-05-01/examples/ManagementLocks_ListAtSubscriptionLevel.json",
         "ManagementLocks_ListAtSubscriptionLevel", "GET",
         f"{S}/providers/Microsoft.Authorization/locks", "2020-05-01", (200,), None,
         LOCK_LIST_KEYS, {"value[].type": "Microsoft.Authorization/locks",
                          "value[].properties.level": "ReadOnly"},
         setup=(GROUP, ("PUT", RG_LOCK, "2020-05-01", READ_ONLY))),
    Case(f"{LOCKS}/2020-05-01/examples/ManagementLocks_ListAtResourceGroupLevel.json",
         "ManagementLocks_ListAtResourceGroupLevel", "GET",
         f"{RG}/providers/Microsoft.Authorization/locks", "2020-05-01", (200,), None,
         LOCK_LIST_KEYS, {"value[].name": "testlock", "value[].properties.level": "ReadOnly"},
         setup=(GROUP, ("PUT", RG_LOCK, "2020-05-01", READ_ONLY))),
    Case(f"{LOCKS}/2020-05-01/examples/ManagementLocks_ListAtResourceLevel.json",
         "ManagementLocks_ListAtResourceLevel", "GET",
         f"{SITE}/providers/Microsoft.Authorization/locks", "2020-05-01", (200,), None,
         LOCK_LIST_KEYS, {"value[].properties.level": "CanNotDelete"}, setup=(
             GROUP, SITE_PUT, ("PUT", SITE_LOCK, "2020-05-01",
                               {"properties": {"level": "CanNotDelete"}}))),
    Case(f"{LOCKS}/2017-04-01/examples/ManagementLocks_ListAtScope.json",
         "ManagementLocks_ListByScope", "GET", f"{S}/providers/Microsoft.Authorization/locks",
         "2017-04-01", (200,), None, LOCK_LIST_KEYS,
         {"value[].type": "Microsoft.Authorization/locks", "value[].properties.level": "ReadOnly"},
         setup=(("PUT", SUB_LOCK, "2017-04-01", READ_ONLY),)),
    Case(f"{LOCKS}/2020-05-01/examples/ManagementLocks_DeleteAtSubscriptionLevel.json",
         "ManagementLocks_DeleteAtSubscriptionLevel", "DELETE", SUB_LOCK, "2020-05-01",
         (200, 204), setup=(("PUT", SUB_LOCK, "2020-05-01", READ_ONLY),)),
    Case(f"{LOCKS}/2020-05-01/examples/ManagementLocks_DeleteAtResourceGroupLevel.json",
         "ManagementLocks_DeleteAtResourceGroupLevel", "DELETE", RG_LOCK, "2020-05-01",
         (200, 204), setup=(GROUP, ("PUT", RG_LOCK, "2020-05-01", READ_ONLY))),
    Case(f"{LOCKS}/2020-05-01/examples/ManagementLocks_DeleteAtResourceLevel.json",
         "ManagementLocks_DeleteAtResourceLevel", "DELETE", SITE_LOCK, "2020-05-01",
         (200, 204), setup=(GROUP, SITE_PUT, ("PUT", SITE_LOCK, "2020-05-01", READ_ONLY))),
    Case(f"{LOCKS}/2017-04-01/examples/ManagementLocks_DeleteAtScope.json",
         "ManagementLocks_DeleteByScope", "DELETE", SUB_LOCK, "2017-04-01", (200, 204),
         setup=(("PUT", SUB_LOCK, "2017-04-01", READ_ONLY),)),
    # -- template specs (Microsoft.Resources/templateSpecs, 2022-02-01) ----------------------
    Case(f"{TS}/TemplateSpecsCreate.json",
         "TemplateSpecs_CreateOrUpdate", "PUT", SPEC, "2022-02-01", (200, 201),
         {"location": "eastus", "properties": {"description": "A very simple Template Spec"}},
         SPEC_KEYS, SPEC_VALUES, setup=(GROUP,)),
    Case(f"{TS}/TemplateSpecsGet.json", "TemplateSpecs_Get", "GET",
         SPEC, "2022-02-01", (200,), None, SPEC_KEYS, SPEC_VALUES, setup=(GROUP, SPEC_PUT)),
    Case(f"{TS}/TemplateSpecsPatch.json", "TemplateSpecs_Update",
         "PATCH", SPEC, "2022-02-01", (200,), {"tags": {"key1": "value1"}},
         (*SPEC_KEYS, "tags.key1"), SPEC_VALUES, setup=(GROUP, SPEC_PUT)),
    Case(f"{TS}/TemplateSpecsListByResourceGroup.json",
         "TemplateSpecs_ListByResourceGroup", "GET",
         f"{RG}/providers/Microsoft.Resources/templateSpecs", "2022-02-01", (200,), None,
         ("value[].id", "value[].name", "value[].type", "value[].location"),
         {"value[].type": "Microsoft.Resources/templateSpecs"}, setup=(GROUP, SPEC_PUT)),
    Case(f"{TS}/TemplateSpecsListBySubscription.json",
         "TemplateSpecs_ListBySubscription", "GET",
         f"{S}/providers/Microsoft.Resources/templateSpecs", "2022-02-01", (200,), None,
         ("value[].id", "value[].name", "value[].type"), setup=(GROUP, SPEC_PUT)),
    Case(f"{TS}/TemplateSpecsDelete.json", "TemplateSpecs_Delete",
         "DELETE", SPEC, "2022-02-01", (200, 204), setup=(GROUP, SPEC_PUT)),
    Case(f"{TS}/TemplateSpecVersionsCreate.json",
         "TemplateSpecVersions_CreateOrUpdate", "PUT", f"{SPEC}/versions/v1.0", "2022-02-01",
         (200, 201), VERSION_PUT[3],
         ("id", "name", "type", "location", "systemData.createdAt", "properties.mainTemplate"),
         VERSION_VALUES, setup=(GROUP, SPEC_PUT)),
    Case(f"{TS}/TemplateSpecVersionsGet.json",
         "TemplateSpecVersions_Get", "GET", f"{SPEC}/versions/v1.0", "2022-02-01", (200,), None,
         ("id", "name", "type", "location", "properties.mainTemplate"), VERSION_VALUES,
         setup=(GROUP, SPEC_PUT, VERSION_PUT)),
    Case(f"{TS}/TemplateSpecVersionsList.json",
         "TemplateSpecVersions_List", "GET", f"{SPEC}/versions", "2022-02-01", (200,), None,
         ("value[].id", "value[].name", "value[].type"),
         {"value[].name": "v1.0"}, setup=(GROUP, SPEC_PUT, VERSION_PUT)),
    Case(f"{TS}/TemplateSpecVersionsPatch.json",
         "TemplateSpecVersions_Update", "PATCH", f"{SPEC}/versions/v1.0", "2022-02-01", (200,),
         {"tags": {"key1": "value1"}}, ("id", "name", "type", "tags.key1"), VERSION_VALUES,
         setup=(GROUP, SPEC_PUT, VERSION_PUT)),
    Case(f"{TS}/TemplateSpecVersionsDelete.json",
         "TemplateSpecVersions_Delete", "DELETE", f"{SPEC}/versions/v1.0", "2022-02-01",
         (200, 204), setup=(GROUP, SPEC_PUT, VERSION_PUT)),
    # -- management groups (Microsoft.Management 2023-04-01, or 2021-04-01 for the examples
    # -- 2023-04-01 does not repeat) -----------------------------------------------------------
    *[Case(f"{MGS}/2023-04-01/examples/{name}", "ManagementGroups_CreateOrUpdate", "PUT",
           f"{MG_ROOT}/ChildGroup", "2023-04-01", (200, 202),
           {"properties": {"displayName": "ChildGroup",
                           "details": {"parent": {"id": f"{MG_ROOT}/RootGroup"}}}},
           ("id", "type", "name"), {**MG_VALUES, "name": "ChildGroup"},
           setup=(_mg("RootGroup"),))
      for name in ("PutManagementGroup.json", "ManagementGroups_CreateOrUpdate.json")],
    Case(f"{MGS}/2023-04-01/examples/GetManagementGroup.json", "ManagementGroups_Get", "GET",
         f"{MG_ROOT}/ChildGroup", "2023-04-01", (200,), None, MG_KEYS,
         {**MG_VALUES, "properties.details.parent.name": "RootGroup"},
         setup=(_mg("RootGroup"), _mg("ChildGroup", "RootGroup"))),
    *[Case(f"{MGS}/2023-04-01/examples/{name}", "ManagementGroups_Get", "GET",
           f"{MG_ROOT}/ChildGroup", "2023-04-01", (200,), None,
           (*MG_KEYS, "properties.details.path[].name", "properties.details.path[].displayName"),
           {**MG_VALUES, "properties.details.path[].name": "RootGroup"},
           setup=(_mg("RootGroup"), _mg("ChildGroup", "RootGroup")), query="$expand=path")
      for name in ("GetManagementGroupWithPath.json",
                   "ManagementGroups_Get_Get_Management_Group_With_Path.json")],
    Case(f"{MGS}/2021-04-01/examples/GetManagementGroupWithExpand.json",
         "ManagementGroups_Get", "GET", f"{MG_ROOT}/RootGroup", "2021-04-01", (200,), None,
         ("id", "type", "name", "properties.tenantId", "properties.displayName",
          "properties.children[].id", "properties.children[].type", "properties.children[].name",
          "properties.children[].displayName"),
         {"properties.children[].type": "Microsoft.Management/managementGroups"},
         setup=(_mg("RootGroup"), _mg("ChildGroup", "RootGroup")), query="$expand=children"),
    # the example lists objects in managementGroupAncestors; the definition
    # (ManagementGroupDetails) has the names there and the objects in …AncestorsChain
    Case(f"{MGS}/2021-04-01/examples/GetManagementGroupWithAncestors.json",
         "ManagementGroups_Get", "GET", f"{MG_ROOT}/ChildGroup", "2021-04-01", (200,), None,
         (*MG_KEYS, "properties.details.managementGroupAncestors",
          "properties.details.managementGroupAncestorsChain[].name",
          "properties.details.managementGroupAncestorsChain[].displayName"),
         {"properties.details.managementGroupAncestorsChain[].name": "RootGroup"},
         setup=(_mg("RootGroup"), _mg("ChildGroup", "RootGroup")), query="$expand=ancestors"),
    *[Case(f"{MGS}/2023-04-01/examples/{name}", "ManagementGroups_Update", "PATCH",
           f"{MG_ROOT}/ChildGroup", "2023-04-01", (200,),
           {"displayName": "AlternateDisplayName",
            "parentGroupId": f"{MG_ROOT}/AlternateRootGroup"}, MG_KEYS,
           {"properties.displayName": "AlternateDisplayName",
            "properties.details.parent.name": "AlternateRootGroup"},
           setup=(_mg("RootGroup"), _mg("AlternateRootGroup"), _mg("ChildGroup", "RootGroup")))
      for name in ("PatchManagementGroup.json", "ManagementGroups_Update.json")],
    Case(f"{MGS}/2023-04-01/examples/DeleteManagementGroup.json", "ManagementGroups_Delete",
         "DELETE", f"{MG_ROOT}/GroupToDelete", "2023-04-01", (202, 204),
         setup=(_mg("GroupToDelete"),)),
    Case(f"{MGS}/2021-04-01/examples/ListManagementGroups.json", "ManagementGroups_List",
         "GET", MG_ROOT, "2021-04-01", (200,), None,
         ("value[].id", "value[].type", "value[].name", "value[].properties.tenantId",
          "value[].properties.displayName"),
         {"value[].type": "Microsoft.Management/managementGroups"}, setup=(_mg("Group1"),)),
    Case(f"{MGS}/2023-04-01/examples/GetDescendants.json", "ManagementGroups_GetDescendants",
         "GET", f"{MG_ROOT}/RootGroup/descendants", "2023-04-01", (200,), None,
         ("value[].id", "value[].type", "value[].name", "value[].properties.displayName",
          "value[].properties.parent.id"),
         {"value[].type": "Microsoft.Management/managementGroups/subscriptions"},
         setup=(_mg("RootGroup"), _mg("ChildGroup", "RootGroup"),
                ("PUT", f"{MG_ROOT}/RootGroup/subscriptions/{SUB}", "2023-04-01", None))),
    Case(f"{MGS}/2023-04-01/examples/AddManagementGroupSubscription.json",
         "ManagementGroupSubscriptions_Create", "PUT", f"{MG_ROOT}/Group/subscriptions/{SUB}",
         "2023-04-01", (200, 201), None, MG_SUB_KEYS,
         {"type": "Microsoft.Management/managementGroups/subscriptions", "name": SUB,
          "properties.state": "Active"}, setup=(_mg("Group"),)),
    Case(f"{MGS}/2021-04-01/examples/GetAllSubscriptionsFromManagementGroup.json",
         "ManagementGroupSubscriptions_GetSubscriptionsUnderManagementGroup", "GET",
         f"{MG_ROOT}/Group/subscriptions", "2021-04-01", (200,), None,
         tuple(f"value[].{k}" for k in MG_SUB_KEYS),
         {"value[].type": "Microsoft.Management/managementGroups/subscriptions"},
         setup=(_mg("Group"), ("PUT", f"{MG_ROOT}/Group/subscriptions/{SUB}", "2021-04-01",
                               None))),
    Case(f"{MGS}/2021-04-01/examples/RemoveManagementGroupSubscription.json",
         "ManagementGroupSubscriptions_Delete", "DELETE", f"{MG_ROOT}/Group/subscriptions/{SUB}",
         "2021-04-01", (200, 204), setup=(_mg("Group"), ("PUT",
         f"{MG_ROOT}/Group/subscriptions/{SUB}", "2021-04-01", None))),
    *[Case(f"{MGS}/2023-04-01/examples/{name}", "CheckNameAvailability", "POST",
           "/providers/Microsoft.Management/checkNameAvailability", "2023-04-01", (200,),
           {"name": "nameTocheck", "type": "Microsoft.Management/managementGroups"},
           ("nameAvailable", "reason", "message"),
           {"nameAvailable": False, "reason": "AlreadyExists"}, setup=(_mg("nameTocheck"),))
      for name in ("CheckManagementGroupNameAvailability.json",
                   "ManagementGroups_CheckNameAvailability.json")],
    # -- deployment stacks (Microsoft.Resources/deploymentStacks, 2025-07-01) ----------------
    Case(f"{STACKS}/DeploymentStackResourceGroupGet.json", "DeploymentStacks_GetAtResourceGroup",
         "GET", RG_STACK, "2025-07-01", (200,), None,
         (*STACK_DONE_KEYS, "properties.deploymentScope", "properties.resources[].id",
          "properties.resources[].status", "properties.resources[].denyStatus"),
         {**STACK_VALUES, "properties.provisioningState": "succeeded",
          "properties.resources[].status": "managed",
          "properties.resources[].denyStatus": "denyDelete"}, setup=(GROUP, RG_STACK_PUT)),
    Case(f"{STACKS}/DeploymentStackSubscriptionGet.json", "DeploymentStacks_GetAtSubscription",
         "GET", SUB_STACK, "2025-07-01", (200,), None, STACK_DONE_KEYS,
         {**STACK_VALUES, "properties.provisioningState": "succeeded"},
         setup=(SUB_STACK_PUT,)),
    Case(f"{STACKS}/DeploymentStackSubscriptionList.json", "DeploymentStacks_ListAtSubscription",
         "GET", f"{S}/{STACKS_PATH}", "2025-07-01", (200,), None,
         tuple(f"value[].{k}" for k in STACK_DONE_KEYS),
         {"value[].type": "Microsoft.Resources/deploymentStacks"}, setup=(SUB_STACK_PUT,)),
    Case(f"{STACKS}/DeploymentStackManagementGroupCreate.json",
         "DeploymentStacks_CreateOrUpdateAtManagementGroup", "PUT", MG_STACK, "2025-07-01",
         (200, 201), MG_STACK_PUT[3], (*STACK_KEYS, "location"),
         {**STACK_VALUES, "location": "eastus"}, setup=(_mg("myMg"),)),
    Case(f"{STACKS}/DeploymentStackSubscriptionValidate.json",
         "DeploymentStacks_ValidateStackAtSubscription", "POST", f"{SUB_STACK}/validate",
         "2025-07-01", (200, 202, 400), SUB_STACK_PUT[3], STACK_VALIDATE_KEYS,
         {**STACK_VALUES, "properties.deploymentScope": S}),
    Case(f"{STACKS}/DeploymentStackManagementGroupValidate.json",
         "DeploymentStacks_ValidateStackAtManagementGroup", "POST", f"{MG_STACK}/validate",
         "2025-07-01", (200, 202, 400), MG_STACK_PUT[3], STACK_VALIDATE_KEYS,
         {**STACK_VALUES, "properties.deploymentScope": f"{MG_ROOT}/myMg"},
         setup=(_mg("myMg"),)),
    *[Case(f"{STACKS}/{name}", operation, "POST", f"{path}/exportTemplate", "2025-07-01", (200,),
           None, ("template.$schema", "template.contentVersion", "template.resources",
                  "template.outputs.myOut.type"), {"template.contentVersion": "1.0.0.0"},
           setup=setup)
      for name, operation, path, setup in (
          ("DeploymentStackExportTemplate.json", "DeploymentStacks_ExportTemplateAtResourceGroup",
           RG_STACK, (GROUP, RG_STACK_PUT)),
          ("DeploymentStackSubscriptionExportTemplate.json",
           "DeploymentStacks_ExportTemplateAtSubscription", SUB_STACK, (SUB_STACK_PUT,)),
          ("DeploymentStackManagementGroupExportTemplate.json",
           "DeploymentStacks_ExportTemplateAtManagementGroup", MG_STACK,
           (_mg("myMg"), MG_STACK_PUT)))],
    *[Case(f"{STACKS}/{name}", operation, "DELETE", path, "2025-07-01", (200, 202, 204),
           setup=setup)
      for name, operation, path, setup in (
          ("DeploymentStackResourceGroupDelete.json", "DeploymentStacks_DeleteAtResourceGroup",
           RG_STACK, (GROUP, RG_STACK_PUT)),
          ("DeploymentStackSubscriptionDelete.json", "DeploymentStacks_DeleteAtSubscription",
           SUB_STACK, (SUB_STACK_PUT,)),
          ("DeploymentStackManagementGroupDelete.json",
           "DeploymentStacks_DeleteAtManagementGroup", MG_STACK, (_mg("myMg"), MG_STACK_PUT)))],
]  # fmt: skip

# examples that do not match, and why the local ARM is left as it is
KNOWN_DIFFERENCES = {
    "GetLocations.json": "the regions' metadata lacks geographyGroup, longitude, latitude and "
    "physicalLocation (and regionalDisplayName is the display name): per-region facts the "
    "local ARM does not hold",
}

# every other example file in the folders read: the operations the local ARM does not serve
NOT_SERVED_EXAMPLES: tuple[tuple[str, str], ...] = (
    *[(f"{RES}/{n}.json", op) for n, op in (
        ("ExportResourceGroup", "ResourceGroups_ExportTemplate"),
        ("ExportResourceGroupAsBicep", "ResourceGroups_ExportTemplate"),
        ("ExportResourceGroupWithFiltering", "ResourceGroups_ExportTemplate"),
        ("GetNamedProviderAtTenant", "Providers_GetAtTenantScope"),
        ("GetProviderPermissions", "Providers_ProviderPermissions"),
        ("GetProviderResourceTypes", "ProviderResourceTypes_List"))],
    (f"{SUBS}/CheckResourceName.json", "CheckResourceName"),
    (f"{SUBS}/PostCheckZonePeers.json", "Subscriptions_CheckZonePeers"),
    (f"{DEPX}/CalculateTemplateHash.json", "Deployments_CalculateTemplateHash"),
    *[(f"{TS}/{n}.json", op) for n, op in (
        ("BuiltInTemplateSpecsGet", "TemplateSpecs_GetBuiltIn"),
        ("BuiltInTemplateSpecsList", "TemplateSpecs_ListBuiltIns"),
        ("BuiltInTemplateSpecVersionsGet", "TemplateSpecVersions_GetBuiltIn"),
        ("BuiltInTemplateSpecVersionsList", "TemplateSpecVersions_ListBuiltIns"))],
    (f"{LOCKS}/2020-05-01/examples/ListProviderOperations.json", "AuthorizationOperations_List"),
    *[(f"{MGS}/2023-04-01/examples/{n}.json", op) for n, op in (
        ("GetEntities", "Entities_List"),
        ("GetHierarchySettings", "HierarchySettings_Get"),
        ("ListHierarchySettings", "HierarchySettings_List"),
        ("PutHierarchySettings", "HierarchySettings_CreateOrUpdate"),
        ("PatchHierarchySettings", "HierarchySettings_Update"),
        ("DeleteHierarchySettings", "HierarchySettings_Delete"),
        ("ListOperations", "Operations_List"))],
    (f"{MGS}/2021-04-01/examples/StartTenantBackfillRequest.json", "TenantBackfill_Start"),
    *[(f"{STACKS}/DeploymentStackWhatIfResults{scope}{verb}.json",
       f"DeploymentStacksWhatIfResults_{verb}At{scope}")
      for scope in ("ResourceGroup", "Subscription", "ManagementGroup")
      for verb in ("Create", "Delete", "Get", "List", "WhatIf")],
)  # fmt: skip

# operations with published examples in other folders of specification/resources that the
# local ARM does not serve either
NOT_SERVED_ELSEWHERE = (
    "ResourceLinks_* (Microsoft.Resources/stable/2016-09-01)",
    "DataBoundaries_* (Microsoft.Resources/stable/2024-03-01)",
    "Operations_List of Microsoft.Resources",
    "Changes_*, DeletedResources_*, DeleteOptions_* (Microsoft.Resources/stable/2025-03-01)",
    "BatchOperations_* (resources/2025-08-01-preview)",
)
NOT_SERVED = tuple(sorted({op for _, op in NOT_SERVED_EXAMPLES})) + NOT_SERVED_ELSEWHERE


class _Files:
    """The templates the cases' links name, served over HTTP."""

    def __init__(self) -> None:
        def at(scope: str, resources: list[dict[str, Any]] | None = None) -> dict[str, Any]:
            return {
                **_template(SUB_SCHEMA),
                "resources": resources or [],
                "$schema": SCHEMA.replace(
                    "2019-04-01/deploymentTemplate", f"2019-08-01/{scope}DeploymentTemplate"
                ),
            }

        group = {
            "type": "Microsoft.Management/managementGroups",
            "apiVersion": "2021-04-01",
            "name": "myManagementGroup",
            "properties": {"displayName": "mg"},
        }
        rule = {"if": {"field": "location", "equals": "westus"}, "then": {"effect": "audit"}}
        policy = {
            "type": "Microsoft.Authorization/policyDefinitions",
            "apiVersion": "2021-06-01",
            "name": "policy-definition-name",
            "properties": {"policyRule": rule},
        }
        templates = {
            "/exampleTemplate.json": _template(),
            "/subTemplate.json": _template(SUB_SCHEMA),
            "/tenantTemplate.json": at("tenant", [policy]),
            "/tenantMgTemplate.json": at("tenant", [group]),
            "/mgTemplate.json": at("managementGroup", [policy]),
        }  # fmt: skip

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = templates.get(self.path.split("?")[0])
                data = json.dumps(body).encode()
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()


def _values_at(body: Any, path: str) -> list[Any]:
    """The values at a dotted ``path`` (``a.b[].c``: ``c`` of every item of ``a.b``)."""
    found = [body]
    for part in path.split("."):
        each = part.endswith("[]")
        key = part[:-2] if each else part
        step = []
        for item in found:
            if isinstance(item, dict) and key in item:
                value = item[key]
                if each:
                    step.extend(value if isinstance(value, list) else [])
                else:
                    step.append(value)
        found = step
    return found


def _fill(value: Any, files: str) -> Any:
    return json.loads(json.dumps(value).replace("{files}", files)) if value is not None else None


def check(case: Case, status: int, body: Any) -> list[str]:
    """What of the example the answer lacks (empty: it matches)."""
    problems = []
    if status not in case.statuses:
        problems.append(f"status {status}, the example lists {list(case.statuses)}")
    for key in case.keys:
        if not _values_at(body, key):
            problems.append(f"no '{key}'")
    for key, wanted in case.values.items():
        got = _values_at(body, key)
        if wanted not in got:
            problems.append(f"'{key}' is {got[:3]!r}, the example shows {wanted!r}")
    return problems


def check_refused(version: str, status: int, body: Any) -> list[str]:
    """What ARM's answer to a version the operation does not have lacks: 400
    ``InvalidApiVersionParameter`` naming the version."""
    error = body.get("error", {}) if isinstance(body, dict) else {}
    message = error.get("message", "")
    if status == 400 and error.get("code") == "InvalidApiVersionParameter":
        return [] if f"'{version}'" in message else [f"the message does not name {version}"]
    return [f"api-version {version} answered {status} {error.get('code')!r}, not 400 "
            "'InvalidApiVersionParameter'"]  # fmt: skip


def stable_versions(case: Case) -> list[str]:
    """The stable api-versions the service at the case's path publishes, oldest first (only
    the case's own version for services whose versions the local ARM does not list)."""
    published = [v for v in published_versions(case.path) if "preview" not in v]
    return sorted(published) or [case.api_version]


@dataclass
class Results:
    run: int = 0
    matched: int = 0
    mismatches: list[tuple[Case, str, list[str]]] = field(default_factory=list)
    by_family: dict[str, list[int]] = field(default_factory=dict)  # family: [run, matched]
    by_version: dict[str, list[int]] = field(default_factory=dict)  # version: [run, matched]
    refused: int = 0  # versions before the operation existed, answered as ARM answers them


def run(
    arm: LocalArm,
    *,
    every_version: bool = False,
    cases: list[Case] | None = None,
    versions: list[str] | None = None,
) -> Results:
    """Replay every case (or ``cases``) against ``arm``, reset between cases; with
    ``every_version``, at every stable api-version of its service (or at ``versions``)
    instead of the example's: where the operation exists at that version the example must
    match, before it ARM's ``InvalidApiVersionParameter``."""
    files = _Files()
    conn = arm.connection
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {conn.token}"
    results = Results()

    def send(method: str, path: str, version: str, body: Any, query: str = "") -> Any:
        url = f"{conn.base_url}{path}?api-version={version}" + (f"&{query}" if query else "")
        return session.request(
            method, url, json=_fill(body, files.base), verify=conn.ca_file, timeout=30
        )

    def replay(case: Case, version: str) -> None:
        arm.backend.runner.wait_idle()
        arm.store.reset()
        for method, path, setup_version, body in case.setup:
            answer = send(method, path, setup_version, body)
            if answer.status_code >= 300 and method != "DELETE":
                raise RuntimeError(f"setup of {case.operation} failed: {answer.text}")
            arm.backend.runner.wait_idle()
        answer = send(case.method, case.path, version, case.body, case.query)
        body = answer.json() if answer.content else None
        accepted = supported_versions(case.path)
        if accepted and version not in accepted:
            results.refused += 1
            problems = check_refused(version, answer.status_code, body)
        else:
            problems = check(case, answer.status_code, body)
        results.run += 1
        family = results.by_family.setdefault(case.family, [0, 0])
        at = results.by_version.setdefault(version, [0, 0])
        family[0] += 1
        at[0] += 1
        if problems:
            results.mismatches.append((case, version, problems))
        else:
            results.matched += 1
            family[1] += 1
            at[1] += 1

    try:
        for case in CASES if cases is None else cases:
            at = (versions or stable_versions(case)) if every_version else [case.api_version]
            for version in at:
                replay(case, version)
    finally:
        files.server.shutdown()
        files.server.server_close()
    return results


def examples_found() -> dict[str, list[int]]:
    """Per family: [example files found in the folders read, of them served]."""
    found: dict[str, list[int]] = {}
    for case in CASES:
        if "#" not in case.example:
            counts = found.setdefault(case.family, [0, 0])
            counts[0] += 1
            counts[1] += 1
    for _, operation in NOT_SERVED_EXAMPLES:
        found.setdefault(family_of(operation), [0, 0])[0] += 1
    return found


def unexpected(results: Results) -> list[tuple[Case, str, list[str]]]:
    """The mismatches that are not :data:`KNOWN_DIFFERENCES`."""
    return [
        m for m in results.mismatches if m[0].example.rsplit("/", 1)[1] not in KNOWN_DIFFERENCES
    ]


def main() -> int:
    started = time.perf_counter()
    with LocalArm(config=LocalArmConfig(retry_after=0)) as arm:
        base = run(arm)
        versions = run(arm, every_version="--quick" not in sys.argv[1:])
    elapsed = time.perf_counter() - started
    found = examples_found()
    total = sum(n for n, _ in found.values())
    served = sum(s for _, s in found.values())
    operations = len({c.operation for c in CASES})
    definitions = sum(1 for c in CASES if "#" in c.example)
    print(
        f"conformance: {total} example files found in the folders read, {served} of "
        f"operations the local ARM serves; {base.matched} of {base.run} cases matched "
        f"({base.run - definitions} examples and {definitions} operation definitions that "
        f"publish none; {operations} operations), {elapsed:.1f} s"
    )
    for family, (count, of_served) in sorted(found.items()):
        run_, matched = base.by_family.get(family, [0, 0])
        print(f"  {family:18} {count:3} found, {of_served:3} served, {matched:3}/{run_} matched")
    print(
        f"per api-version: {versions.matched} of {versions.run} matched, {versions.refused} of "
        "them at versions before the operation existed (InvalidApiVersionParameter)"
    )
    for version, (run_, matched) in sorted(versions.by_version.items()):
        print(f"  {version:20} {matched:3}/{run_}")
    for name, why in KNOWN_DIFFERENCES.items():
        print(f"  known difference, {name}: {why}")
    wrong = unexpected(base) + unexpected(versions)
    for case, version, problems in wrong:
        print(f"  MISMATCH {case.operation} @{version} ({case.example}): {'; '.join(problems)}")
    print(f"operations with examples not served ({len(NOT_SERVED)}):")
    for name in NOT_SERVED:
        print(f"  - {name}")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
