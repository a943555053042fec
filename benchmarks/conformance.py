"""The conformance suite: the request/response pairs Microsoft publishes with the REST API
specifications (``Azure/azure-rest-api-specs``, ``specification/resources/resource-manager``,
each operation's ``examples/*.json``), replayed against a local ARM.

Each case names the example it comes from and states what the example shows — the status
codes the operation answers, the keys of the response body, and the values that are enums or
fixed (types, levels, states) — as facts, in our own words; the request is the example's,
with its names, and with the prerequisites a fresh local ARM lacks created first (a resource
group, the resource a lock is put on, the template a ``templateLink`` names, served from a
local HTTP server). A case *matches* when the status is one the example lists and every key
and fixed value the example shows is in the answer.

    .venv/bin/python benchmarks/conformance.py          # prints the figures, and mismatches

``NOT_SERVED`` lists, honestly, the operations with published examples that the local ARM
does not serve.
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

SUB = "00000000-0000-0000-0000-000000000000"
S = f"/subscriptions/{SUB}"
RG = f"{S}/resourceGroups/my-resource-group"
SPECS = "Microsoft.Resources/stable"
LOCK_EXAMPLES = "Microsoft.Authorization/stable"
SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
SUB_SCHEMA = (
    "https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#"
)
VNET = f"{RG}/providers/Microsoft.Network/virtualNetworks/vnet1"
SITE = f"{RG}/providers/Microsoft.Web/sites/site1"
SPEC = f"{RG}/providers/Microsoft.Resources/templateSpecs/simpleTemplateSpec"
LINK = "{files}/exampleTemplate.json"  # the examples' https://example.com/exampleTemplate.json


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
    example: str  # the example file, under specification/resources/resource-manager/
    operation: str
    method: str
    path: str
    api_version: str
    statuses: tuple[int, ...]  # the status codes the example lists
    body: Any = None
    keys: tuple[str, ...] = ()  # dotted paths the example's body has ("value[].id": items)
    values: dict[str, Any] = field(default_factory=dict)  # fixed values the example shows
    setup: tuple[tuple[str, str, str, Any], ...] = ()  # (method, path, api-version, body)


GROUP = ("PUT", RG, "2025-04-01", {"location": "westeurope"})
SITE_PUT = ("PUT", SITE, "2023-01-01", {"location": "westeurope", "properties": {}})
DEPLOY = (
    "PUT",
    f"{RG}/providers/Microsoft.Resources/deployments/my-deployment",
    "2025-04-01",
    {"properties": {"mode": "Incremental", "templateLink": {"uri": LINK}, "parameters": {}}},
)
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
    "properties.providers[].namespace",
    "properties.providers[].resourceTypes[].resourceType",
    "properties.dependencies",
)
LOCK_KEYS = ("id", "name", "type", "properties.level")
LOCK_VALUES = {"type": "Microsoft.Authorization/locks"}
SPEC_KEYS = ("id", "name", "type", "location", "systemData.createdAt", "properties.description")
SPEC_VALUES = {"type": "Microsoft.Resources/templateSpecs", "name": "simpleTemplateSpec"}
VERSION_VALUES = {"type": "Microsoft.Resources/templateSpecs/versions", "name": "v1.0"}

CASES: list[Case] = [
    # -- resource groups ------------------------------------------------------------------
    Case(f"{SPECS}/2025-04-01/examples/CreateResourceGroup.json", "ResourceGroups_CreateOrUpdate",
         "PUT", RG, "2025-04-01", (200, 201), {"location": "eastus"},
         ("id", "name", "location", "properties.provisioningState"),
         {"name": "my-resource-group", "properties.provisioningState": "Succeeded"}),
    Case(f"{SPECS}/2024-03-01/examples/ForceDeleteVMsInResourceGroup.json",
         "ResourceGroups_Delete", "DELETE", RG, "2024-03-01", (200, 202), setup=(GROUP,)),
    # -- providers ------------------------------------------------------------------------
    Case(f"{SPECS}/2025-04-01/examples/GetProvider.json", "Providers_Get", "GET",
         f"{S}/providers/Microsoft.Web", "2025-04-01", (200,), None,
         ("id", "namespace", "registrationState", "registrationPolicy",
          "resourceTypes[].resourceType", "resourceTypes[].locations",
          "resourceTypes[].apiVersions", "resourceTypes[].capabilities"),
         {"namespace": "Microsoft.Web", "registrationPolicy": "RegistrationRequired"},
         setup=(GROUP, SITE_PUT)),
    Case(f"{SPECS}/2025-04-01/examples/GetProviders.json", "Providers_List", "GET",
         f"{S}/providers", "2025-04-01", (200,), None,
         ("value[].id", "value[].namespace", "value[].registrationState",
          "value[].resourceTypes[].resourceType")),
    # -- resources by id ------------------------------------------------------------------
    Case("Microsoft.Resources/stable/2025-04-01/resources.json#Resources_CreateOrUpdateById",
         "Resources_CreateOrUpdateById", "PUT", VNET, "2024-05-01", (200, 201, 202),
         {"location": "westeurope", "properties": {}},
         ("id", "name", "type", "location"), {"type": "Microsoft.Network/virtualNetworks"},
         setup=(GROUP,)),
    Case("Microsoft.Resources/stable/2025-04-01/resources.json#Resources_UpdateById",
         "Resources_UpdateById", "PATCH", SITE, "2023-01-01", (200, 202), {"tags": {"a": "b"}},
         ("id", "name", "type", "tags.a"), {"tags.a": "b"}, setup=(GROUP, SITE_PUT)),
    Case("Microsoft.Resources/stable/2025-04-01/resources.json#Resources_DeleteById",
         "Resources_DeleteById", "DELETE", SITE, "2023-01-01", (200, 202, 204),
         setup=(GROUP, SITE_PUT)),
    Case("Microsoft.Resources/stable/2025-04-01/resources.json#Resources_ListByResourceGroup",
         "Resources_ListByResourceGroup", "GET", f"{RG}/resources", "2025-04-01", (200,), None,
         ("value[].id", "value[].name", "value[].type", "value[].location"),
         setup=(GROUP, SITE_PUT)),
    # -- deployments ----------------------------------------------------------------------
    Case(f"{SPECS}/2025-04-01/examples/PutDeploymentWithExternalInputs.json",
         "Deployments_CreateOrUpdate", "PUT", DEPLOY[1], "2025-04-01", (200, 201), DEPLOY[3],
         DEPLOYMENT_KEYS, {"type": "Microsoft.Resources/deployments"}, setup=(GROUP,)),
    Case(f"{SPECS}/2024-03-01/examples/PutDeploymentAtTenant.json",
         "Deployments_CreateOrUpdateAtTenantScope", "PUT",
         "/providers/Microsoft.Resources/deployments/my-deployment", "2024-03-01", (200, 201),
         {"location": "eastus", "properties": {"mode": "Incremental",
          "templateLink": {"uri": "{files}/tenantTemplate.json"}, "parameters": {}}},
         ("id", "name", "type", "location", "properties.provisioningState",
          "properties.correlationId"), {"location": "eastus"}),
    Case(f"{SPECS}/2025-04-01/examples/PutDeploymentAtManagementGroup.json",
         "Deployments_CreateOrUpdateAtManagementGroupScope", "PUT",
         "/providers/Microsoft.Management/managementGroups/my-management-group-id/providers/"
         "Microsoft.Resources/deployments/my-deployment", "2025-04-01", (200, 201),
         {"location": "eastus", "properties": {"mode": "Incremental",
          "templateLink": {"uri": "{files}/mgTemplate.json"}, "parameters": {}}},
         ("id", "name", "type", "location", "properties.provisioningState"),
         {"type": "Microsoft.Resources/deployments"},
         setup=(("PUT", "/providers/Microsoft.Management/managementGroups/my-management-group-id",
                 "2023-04-01", {"properties": {"displayName": "mg"}}),)),
    Case(f"{SPECS}/2025-04-01/examples/PutDeploymentSubscriptionTemplateSpecsWithId.json",
         "Deployments_CreateOrUpdateAtSubscriptionScope", "PUT",
         f"{S}/providers/Microsoft.Resources/deployments/my-deployment", "2025-04-01",
         (200, 201), {"location": "eastus", "properties": {"mode": "Incremental",
          "templateLink": {"id": f"{SPEC}/versions/sub"}, "parameters": {}}},
         ("id", "name", "type", "location", "properties.provisioningState",
          "properties.templateLink.id"), {"properties.templateLink.id": f"{SPEC}/versions/sub"},
         setup=(GROUP, SPEC_PUT, ("PUT", f"{SPEC}/versions/sub", "2022-02-01",
                {"location": "eastus", "properties": {"mainTemplate": _template(SUB_SCHEMA)}}))),
    Case(f"{SPECS}/2025-04-01/examples/PostDeploymentValidateOnScope.json",
         "Deployments_ValidateAtScope", "POST", f"{DEPLOY[1]}/validate", "2025-04-01",
         (200, 202, 400), DEPLOY[3],
         ("id", "name", "type", "properties.provisioningState", "properties.providers",
          "properties.dependencies"), {"properties.provisioningState": "Succeeded"},
         setup=(GROUP,)),
    Case(f"{SPECS}/2024-03-01/examples/PostDeploymentWhatIfOnResourceGroup.json",
         "Deployments_WhatIf", "POST", f"{DEPLOY[1]}/whatIf", "2024-03-01", (200, 202),
         DEPLOY[3], ("status", "properties.changes[].resourceId",
                     "properties.changes[].changeType", "properties.changes[].after.apiVersion"),
         {"status": "Succeeded", "properties.changes[].changeType": "Create"}, setup=(GROUP,)),
    Case(f"{SPECS}/2024-03-01/examples/PostDeploymentWhatIfOnSubscription.json",
         "Deployments_WhatIfAtSubscriptionScope", "POST",
         f"{S}/providers/Microsoft.Resources/deployments/my-deployment/whatIf", "2024-03-01",
         (200, 202), {"location": "westus", "properties": {"mode": "Incremental",
          "templateLink": {"uri": "{files}/subTemplate.json"}, "parameters": {}}},
         ("status", "properties.changes"), {"status": "Succeeded"}),
    # -- management locks -----------------------------------------------------------------
    Case(f"{LOCK_EXAMPLES}/2016-09-01/examples/ManagementLocks_CreateOrUpdateAtSubscriptionLevel.json",
         "ManagementLocks_CreateOrUpdateAtSubscriptionLevel", "PUT",
         f"{S}/providers/Microsoft.Authorization/locks/testlock", "2016-09-01", (200, 201),
         {"properties": {"level": "ReadOnly"}}, LOCK_KEYS,
         {**LOCK_VALUES, "name": "testlock", "properties.level": "ReadOnly"}),
    Case(f"{LOCK_EXAMPLES}/2017-04-01/examples/ManagementLocks_CreateOrUpdateAtResourceGroupLevel.json",
         "ManagementLocks_CreateOrUpdateAtResourceGroupLevel", "PUT",
         f"{RG}/providers/Microsoft.Authorization/locks/testlock", "2016-09-01", (200, 201),
         {"properties": {"level": "CanNotDelete"}}, LOCK_KEYS,
         {**LOCK_VALUES, "properties.level": "CanNotDelete"}, setup=(GROUP,)),
    Case(f"{LOCK_EXAMPLES}/2017-04-01/examples/ManagementLocks_CreateOrUpdateAtResourceLevel.json",
         "ManagementLocks_CreateOrUpdateAtResourceLevel", "PUT",
         f"{SITE}/providers/Microsoft.Authorization/locks/testlock", "2016-09-01", (200, 201),
         {"properties": {"level": "ReadOnly"}}, LOCK_KEYS, LOCK_VALUES, setup=(GROUP, SITE_PUT)),
    Case(f"{LOCK_EXAMPLES}/2016-09-01/examples/ManagementLocks_GetAtSubscriptionLevel.json",
         "ManagementLocks_GetAtSubscriptionLevel", "GET",
         f"{S}/providers/Microsoft.Authorization/locks/testlock", "2016-09-01", (200,), None,
         LOCK_KEYS, LOCK_VALUES,
         setup=(("PUT", f"{S}/providers/Microsoft.Authorization/locks/testlock", "2016-09-01",
                 {"properties": {"level": "ReadOnly"}}),)),
    Case(f"{LOCK_EXAMPLES}/2016-09-01/examples/ManagementLocks_ListAtScope.json",
         "ManagementLocks_ListAtScope", "GET", f"{S}/providers/Microsoft.Authorization/locks",
         "2016-09-01", (200,), None,
         ("value[].id", "value[].name", "value[].type", "value[].properties.level"),
         {"value[].type": "Microsoft.Authorization/locks", "value[].properties.level": "ReadOnly"},
         setup=(("PUT", f"{S}/providers/Microsoft.Authorization/locks/testlock", "2016-09-01",
                 {"properties": {"level": "ReadOnly"}}),)),
    Case(f"{LOCK_EXAMPLES}/2017-04-01/examples/ManagementLocks_ListAtResourceLevel.json",
         "ManagementLocks_ListAtResourceLevel", "GET",
         f"{SITE}/providers/Microsoft.Authorization/locks", "2016-09-01", (200,), None,
         ("value[].id", "value[].name", "value[].properties.level"), setup=(
             GROUP, SITE_PUT, ("PUT", f"{SITE}/providers/Microsoft.Authorization/locks/l",
                               "2016-09-01", {"properties": {"level": "CanNotDelete"}}))),
    Case(f"{LOCK_EXAMPLES}/2016-09-01/examples/ManagementLocks_DeleteAtResourceGroupLevel.json",
         "ManagementLocks_DeleteAtResourceGroupLevel", "DELETE",
         f"{RG}/providers/Microsoft.Authorization/locks/testlock", "2016-09-01", (200, 204),
         setup=(GROUP,)),
    # -- template specs -------------------------------------------------------------------
    Case(f"{SPECS}/2022-02-01/examples/TemplateSpecsCreate.json",
         "TemplateSpecs_CreateOrUpdate", "PUT", SPEC, "2022-02-01", (200, 201),
         {"location": "eastus", "properties": {"description": "A very simple Template Spec"}},
         SPEC_KEYS, SPEC_VALUES, setup=(GROUP,)),
    Case(f"{SPECS}/2022-02-01/examples/TemplateSpecsGet.json", "TemplateSpecs_Get", "GET",
         SPEC, "2022-02-01", (200,), None, SPEC_KEYS, SPEC_VALUES, setup=(GROUP, SPEC_PUT)),
    Case(f"{SPECS}/2022-02-01/examples/TemplateSpecsPatch.json", "TemplateSpecs_Update",
         "PATCH", SPEC, "2022-02-01", (200,), {"tags": {"key1": "value1"}},
         (*SPEC_KEYS, "tags.key1"), SPEC_VALUES, setup=(GROUP, SPEC_PUT)),
    Case(f"{SPECS}/2022-02-01/examples/TemplateSpecsListByResourceGroup.json",
         "TemplateSpecs_ListByResourceGroup", "GET",
         f"{RG}/providers/Microsoft.Resources/templateSpecs", "2022-02-01", (200,), None,
         ("value[].id", "value[].name", "value[].type", "value[].location"),
         {"value[].type": "Microsoft.Resources/templateSpecs"}, setup=(GROUP, SPEC_PUT)),
    Case(f"{SPECS}/2022-02-01/examples/TemplateSpecsListBySubscription.json",
         "TemplateSpecs_ListBySubscription", "GET",
         f"{S}/providers/Microsoft.Resources/templateSpecs", "2022-02-01", (200,), None,
         ("value[].id", "value[].name", "value[].type"), setup=(GROUP, SPEC_PUT)),
    Case(f"{SPECS}/2022-02-01/examples/TemplateSpecsDelete.json", "TemplateSpecs_Delete",
         "DELETE", SPEC, "2022-02-01", (200, 204), setup=(GROUP, SPEC_PUT)),
    Case(f"{SPECS}/2022-02-01/examples/TemplateSpecVersionsCreate.json",
         "TemplateSpecVersions_CreateOrUpdate", "PUT", f"{SPEC}/versions/v1.0", "2022-02-01",
         (200, 201), VERSION_PUT[3],
         ("id", "name", "type", "location", "systemData.createdAt", "properties.mainTemplate"),
         VERSION_VALUES, setup=(GROUP, SPEC_PUT)),
    Case(f"{SPECS}/2022-02-01/examples/TemplateSpecVersionsGet.json",
         "TemplateSpecVersions_Get", "GET", f"{SPEC}/versions/v1.0", "2022-02-01", (200,), None,
         ("id", "name", "type", "location", "properties.mainTemplate"), VERSION_VALUES,
         setup=(GROUP, SPEC_PUT, VERSION_PUT)),
    Case(f"{SPECS}/2022-02-01/examples/TemplateSpecVersionsList.json",
         "TemplateSpecVersions_List", "GET", f"{SPEC}/versions", "2022-02-01", (200,), None,
         ("value[].id", "value[].name", "value[].type"),
         {"value[].name": "v1.0"}, setup=(GROUP, SPEC_PUT, VERSION_PUT)),
    Case(f"{SPECS}/2022-02-01/examples/TemplateSpecVersionsPatch.json",
         "TemplateSpecVersions_Update", "PATCH", f"{SPEC}/versions/v1.0", "2022-02-01", (200,),
         {"tags": {"key1": "value1"}}, ("id", "name", "type", "tags.key1"), VERSION_VALUES,
         setup=(GROUP, SPEC_PUT, VERSION_PUT)),
    Case(f"{SPECS}/2022-02-01/examples/TemplateSpecVersionsDelete.json",
         "TemplateSpecVersions_Delete", "DELETE", f"{SPEC}/versions/v1.0", "2022-02-01",
         (200, 204), setup=(GROUP, SPEC_PUT, VERSION_PUT)),
]  # fmt: skip

# operations with published examples under specification/resources/resource-manager that the
# local ARM does not serve
NOT_SERVED = (
    "Deployments_CalculateTemplateHash",
    "ResourceGroups_ExportTemplate",
    "Resources_MoveResources",
    "Resources_ValidateMoveResources",
    "Tags_* (tags at scope, tag names and values)",
    "Providers_Unregister, Providers_ProviderPermissions, Providers_*AtTenantScope, "
    "Providers_RegisterAtManagementGroupScope, ProviderResourceTypes_List",
    "TemplateSpecs built-in specs (TemplateSpecs_GetBuiltIn, ListBuiltIns)",
    "ResourceLinks_*",
    "DataBoundaries_*",
    "Operations_List",
    "Subscriptions_CheckZonePeers, Subscriptions_CheckResourceName",
)


class _Files:
    """The templates the cases' links name, served over HTTP."""

    def __init__(self) -> None:
        templates = {
            "/exampleTemplate.json": _template(),
            "/subTemplate.json": _template(SUB_SCHEMA),
            "/tenantTemplate.json": {**_template(SUB_SCHEMA), "$schema": SCHEMA.replace(
                "2019-04-01/deploymentTemplate", "2019-08-01/tenantDeploymentTemplate")},
            "/mgTemplate.json": {**_template(SUB_SCHEMA), "$schema": SCHEMA.replace(
                "2019-04-01/deploymentTemplate", "2019-08-01/managementGroupDeploymentTemplate")},
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
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


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


def run(arm: LocalArm) -> tuple[int, int, list[tuple[Case, list[str]]]]:
    """Replay every case against ``arm`` (reset between cases): (run, matched, mismatches)."""
    files = _Files()
    conn = arm.connection
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {conn.token}"

    def send(method: str, path: str, version: str, body: Any) -> requests.Response:
        url = f"{conn.base_url}{path}?api-version={version}"
        return session.request(
            method, url, json=_fill(body, files.base), verify=conn.ca_file, timeout=30
        )

    mismatches = []
    try:
        for case in CASES:
            arm.backend.runner.wait_idle()
            arm.store.reset()
            for method, path, version, body in case.setup:
                answer = send(method, path, version, body)
                if answer.status_code >= 300 and method != "DELETE":
                    raise RuntimeError(f"setup of {case.operation} failed: {answer.text}")
            answer = send(case.method, case.path, case.api_version, case.body)
            body = answer.json() if answer.content else None
            problems = check(case, answer.status_code, body)
            if problems:
                mismatches.append((case, problems))
    finally:
        files.server.shutdown()
        files.server.server_close()
    return len(CASES), len(CASES) - len(mismatches), mismatches


def main() -> int:
    started = time.perf_counter()
    with LocalArm(config=LocalArmConfig(retry_after=0)) as arm:
        total, matched, mismatches = run(arm)
    elapsed = time.perf_counter() - started
    operations = len({c.operation for c in CASES})
    print(f"conformance: {matched}/{total} examples matched ({operations} operations), "
          f"{elapsed:.1f} s")  # fmt: skip
    for case, problems in mismatches:
        print(f"  MISMATCH {case.operation} ({case.example}): {'; '.join(problems)}")
    print(f"operations with examples not served ({len(NOT_SERVED)}):")
    for name in NOT_SERVED:
        print(f"  - {name}")
    return 0 if not mismatches else 1


if __name__ == "__main__":
    sys.exit(main())
