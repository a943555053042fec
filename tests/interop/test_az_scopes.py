"""The official Azure CLI, unmodified, at management group and tenant scope: ``az account
management-group …``, ``az deployment mg|tenant …`` and ``az deployment operation mg|tenant
list``, with templates that nest across scopes as Bicep compiles modules (tenant → management
group → subscription → resource group: nested ``Microsoft.Resources/deployments`` with
``scope``, ``subscriptionId`` or ``resourceGroup``, ``expressionEvaluationOptions.scope:
inner``), asserting on az's JSON output and on its errors (stderr, exit code 1).

The emulator and the login are conftest.py's (one per xdist worker). Each test function makes
names of its own, so the functions pass in any order and the two workers share them.
"""

# ruff: noqa: E501  (ARM expressions in the templates are long and cannot be split)
from __future__ import annotations

import json
from typing import Any

import pytest

from .conftest import SUB, Az

pytestmark = pytest.mark.slow

MG_PREFIX = "/providers/Microsoft.Management/managementGroups/"
# az's management-group commands register Microsoft.Management first and then sleep 10 s
# (its own code, before it reads the registration state); --no-register, az's documented
# flag, skips that: the provider is registered in the local ARM anyway
MG = ("account", "management-group")
NR = "--no-register"
TENANT_SCHEMA = (
    "https://schema.management.azure.com/schemas/2019-08-01/tenantDeploymentTemplate.json#"
)
MG_SCHEMA = (
    "https://schema.management.azure.com/schemas/2019-08-01/managementGroupDeploymentTemplate.json#"
)

# A management group template: a policy definition on the group, and a module into a
# subscription that creates a resource group and deploys a storage account into it.
MG_TEMPLATE = """{
  // management group scope, as Bicep compiles a file with modules at subscription and group
  "$schema": "__MG_SCHEMA__",
  "contentVersion": "1.0.0.0",
  "parameters": {
    "subscriptionId": {"type": "string"},
    "groupName": {"type": "string"},
    "accountName": {"type": "string"}
  },
  "resources": [
    {"type": "Microsoft.Authorization/policyDefinitions", "apiVersion": "2021-06-01",
     "name": "audit-tags",
     "properties": {"policyType": "Custom", "mode": "All", "displayName": "Audit tags",
       "policyRule": {"if": {"field": "tags", "exists": "false"}, "then": {"effect": "audit"}}}},
    {"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "landing",
     "subscriptionId": "[parameters('subscriptionId')]",
     "location": "[deployment().location]",
     "properties": {
       "expressionEvaluationOptions": {"scope": "inner"},
       "mode": "Incremental",
       "parameters": {"groupName": {"value": "[parameters('groupName')]"},
                      "accountName": {"value": "[parameters('accountName')]"}},
       "template": {
         "$schema": "https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#",
         "contentVersion": "1.0.0.0",
         "parameters": {"groupName": {"type": "string"}, "accountName": {"type": "string"}},
         "resources": [
           {"type": "Microsoft.Resources/resourceGroups", "apiVersion": "2022-09-01",
            "name": "[parameters('groupName')]", "location": "westeurope",
            "tags": {"scope": "mg"}},
           {"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01",
            "name": "storage", "resourceGroup": "[parameters('groupName')]",
            "dependsOn": ["[subscriptionResourceId('Microsoft.Resources/resourceGroups', parameters('groupName'))]"],
            "properties": {
              "expressionEvaluationOptions": {"scope": "inner"},
              "mode": "Incremental",
              "parameters": {"accountName": {"value": "[parameters('accountName')]"}},
              "template": {
                "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
                "contentVersion": "1.0.0.0",
                "parameters": {"accountName": {"type": "string"}},
                "resources": [
                  {"type": "Microsoft.Storage/storageAccounts", "apiVersion": "2023-01-01",
                   "name": "[parameters('accountName')]", "location": "[resourceGroup().location]",
                   "sku": {"name": "Standard_LRS"}, "kind": "StorageV2"}],
                "outputs": {"accountId": {"type": "string",
                  "value": "[resourceId('Microsoft.Storage/storageAccounts', parameters('accountName'))]"}}}}}
         ],
         "outputs": {"accountId": {"type": "string",
           "value": "[reference(extensionResourceId(format('/subscriptions/{0}/resourceGroups/{1}', subscription().subscriptionId, parameters('groupName')), 'Microsoft.Resources/deployments', 'storage'), '2022-09-01').outputs.accountId.value]"}}}}}
  ],
  "outputs": {
    "policyId": {"type": "string",
      "value": "[extensionResourceId(managementGroup().id, 'Microsoft.Authorization/policyDefinitions', 'audit-tags')]"},
    "group": {"type": "string", "value": "[managementGroup().name]"},
    "accountId": {"type": "string",
      "value": "[reference(subscriptionResourceId(parameters('subscriptionId'), 'Microsoft.Resources/deployments', 'landing'), '2022-09-01').outputs.accountId.value]"}
  }
}
""".replace("__MG_SCHEMA__", MG_SCHEMA)

# A tenant template: a management group under a parent, the subscription placed in it, a
# module into the new group (a policy definition), and a module into the subscription that
# creates a resource group and a managed identity in it.
TENANT_TEMPLATE = """{
  "$schema": "__TENANT_SCHEMA__",
  "contentVersion": "1.0.0.0",
  "parameters": {
    "parentName": {"type": "string"},
    "groupName": {"type": "string"},
    "subscriptionId": {"type": "string"},
    "resourceGroupName": {"type": "string"}
  },
  "resources": [
    {"type": "Microsoft.Management/managementGroups", "apiVersion": "2023-04-01",
     "name": "[parameters('groupName')]",
     "properties": {"displayName": "Landing zones",
       "details": {"parent": {"id": "[tenantResourceId('Microsoft.Management/managementGroups', parameters('parentName'))]"}}}},
    {"type": "Microsoft.Management/managementGroups/subscriptions", "apiVersion": "2023-04-01",
     "name": "[format('{0}/{1}', parameters('groupName'), parameters('subscriptionId'))]",
     "dependsOn": ["[tenantResourceId('Microsoft.Management/managementGroups', parameters('groupName'))]"]},
    {"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "policies",
     "scope": "[format('Microsoft.Management/managementGroups/{0}', parameters('groupName'))]",
     "location": "[deployment().location]",
     "dependsOn": ["[tenantResourceId('Microsoft.Management/managementGroups', parameters('groupName'))]"],
     "properties": {
       "expressionEvaluationOptions": {"scope": "inner"},
       "mode": "Incremental",
       "template": {
         "$schema": "__MG_SCHEMA__",
         "contentVersion": "1.0.0.0",
         "resources": [
           {"type": "Microsoft.Authorization/policyDefinitions", "apiVersion": "2021-06-01",
            "name": "deny-eastus",
            "properties": {"policyType": "Custom", "mode": "All",
              "policyRule": {"if": {"field": "location", "equals": "eastus"},
                             "then": {"effect": "deny"}}}}],
         "outputs": {"parent": {"type": "string",
           "value": "[managementGroup().properties.details.parent.name]"}}}}},
    {"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "vending",
     "subscriptionId": "[parameters('subscriptionId')]",
     "location": "[deployment().location]",
     "dependsOn": ["[tenantResourceId('Microsoft.Management/managementGroups/subscriptions', parameters('groupName'), parameters('subscriptionId'))]"],
     "properties": {
       "expressionEvaluationOptions": {"scope": "inner"},
       "mode": "Incremental",
       "parameters": {"resourceGroupName": {"value": "[parameters('resourceGroupName')]"}},
       "template": {
         "$schema": "https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#",
         "contentVersion": "1.0.0.0",
         "parameters": {"resourceGroupName": {"type": "string"}},
         "resources": [
           {"type": "Microsoft.Resources/resourceGroups", "apiVersion": "2022-09-01",
            "name": "[parameters('resourceGroupName')]", "location": "westeurope",
            "tags": {"scope": "tenant"}},
           {"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01",
            "name": "identity", "resourceGroup": "[parameters('resourceGroupName')]",
            "dependsOn": ["[subscriptionResourceId('Microsoft.Resources/resourceGroups', parameters('resourceGroupName'))]"],
            "properties": {
              "expressionEvaluationOptions": {"scope": "inner"},
              "mode": "Incremental",
              "template": {
                "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
                "contentVersion": "1.0.0.0",
                "resources": [
                  {"type": "Microsoft.ManagedIdentity/userAssignedIdentities",
                   "apiVersion": "2023-01-31", "name": "id-deployer",
                   "location": "[resourceGroup().location]"}],
                "outputs": {"principalId": {"type": "string",
                  "value": "[reference(resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', 'id-deployer'), '2023-01-31').principalId]"}}}}}
         ],
         "outputs": {"principalId": {"type": "string",
           "value": "[reference(extensionResourceId(format('/subscriptions/{0}/resourceGroups/{1}', subscription().subscriptionId, parameters('resourceGroupName')), 'Microsoft.Resources/deployments', 'identity'), '2022-09-01').outputs.principalId.value]"}}}}}
  ],
  "outputs": {
    "groupId": {"type": "string",
      "value": "[tenantResourceId('Microsoft.Management/managementGroups', parameters('groupName'))]"},
    "parent": {"type": "string",
      "value": "[reference(extensionResourceId(tenantResourceId('Microsoft.Management/managementGroups', parameters('groupName')), 'Microsoft.Resources/deployments', 'policies'), '2022-09-01').outputs.parent.value]"},
    "principalId": {"type": "string",
      "value": "[reference(subscriptionResourceId(parameters('subscriptionId'), 'Microsoft.Resources/deployments', 'vending'), '2022-09-01').outputs.principalId.value]"}
  }
}
""".replace("__TENANT_SCHEMA__", TENANT_SCHEMA).replace("__MG_SCHEMA__", MG_SCHEMA)

# the smallest tenant template: one management group (for --no-wait, cancel and delete)
TENANT_GROUP_ONLY = json.dumps(
    {
        "$schema": TENANT_SCHEMA,
        "contentVersion": "1.0.0.0",
        "parameters": {"name": {"type": "string"}},
        "resources": [
            {
                "type": "Microsoft.Management/managementGroups",
                "apiVersion": "2023-04-01",
                "name": "[parameters('name')]",
                "properties": {"displayName": "[toUpper(parameters('name'))]"},
            }
        ],
    }
)


@pytest.fixture(scope="module", autouse=True)
def _templates(az: Az) -> None:
    az.write("mg.json", MG_TEMPLATE)
    az.write("tenant.json", TENANT_TEMPLATE)
    az.write("tenant-group.json", TENANT_GROUP_ONLY)


def _by_id(changes: list[dict[str, Any]]) -> dict[str, str]:
    return {c["resourceId"]: c["changeType"] for c in changes}


def test_management_group_hierarchy(az: Az) -> None:
    created = az.json(*MG, "create", NR, "-n", "mg-h-top", "-d", "Top")
    assert (created["id"], created["displayName"]) == (f"{MG_PREFIX}mg-h-top", "Top")
    tenant = created["tenantId"]
    assert created["details"]["parent"] == {
        "id": f"{MG_PREFIX}{tenant}",
        "name": tenant,
        "displayName": "Tenant Root Group",
    }
    child = az.json(*MG, "create", NR, "-n", "mg-h-child", "-p", "mg-h-top")
    assert child["details"]["parent"]["id"] == f"{MG_PREFIX}mg-h-top"
    az.json(*MG, "create", NR, "-n", "mg-h-leaf", "-p", "mg-h-child")
    tree = az.json(*MG, "show", NR, "-n", "mg-h-top", "-e", "-r")
    assert [(c["name"], [g["name"] for g in c["children"]]) for c in tree["children"]] == [
        ("mg-h-child", ["mg-h-leaf"])
    ]
    shallow = az.json(*MG, "show", NR, "-n", "mg-h-top", "-e")
    assert [c["name"] for c in shallow["children"]] == ["mg-h-child"]
    assert shallow["children"][0]["children"] is None
    names = [g["name"] for g in az.json(*MG, "list", NR)]
    assert {tenant, "mg-h-top", "mg-h-child", "mg-h-leaf"} <= set(names)
    renamed = az.json(*MG, "update", "-n", "mg-h-leaf", "-d", "Leaf")
    assert renamed["displayName"] == "Leaf"
    # a group with children stays; the leaf goes, then its parent can go
    refused = az.fails(*MG, "delete", NR, "-n", "mg-h-child")
    assert "(BadRequest) The management group 'mg-h-child' has children" in refused
    az.json(*MG, "delete", NR, "-n", "mg-h-leaf")
    missing = az.fails(*MG, "show", NR, "-n", "mg-h-leaf", code=3)
    assert f"(NotFound) '{MG_PREFIX}mg-h-leaf' not found" in missing
    az.json(*MG, "delete", NR, "-n", "mg-h-child")
    assert az.json(*MG, "show", NR, "-n", "mg-h-top", "-e")["children"] in (
        None,
        [],
    )
    # a parent that does not exist
    orphan = az.fails(*MG, "create", NR, "-n", "mg-h-x", "-p", "mg-h-none", code=3)
    assert "(ManagementGroupNotFound) The management group 'mg-h-none' cannot be found." in orphan


def test_management_group_deployment_nests_into_a_subscription_and_a_group(az: Az) -> None:
    az.json(*MG, "create", NR, "-n", "mg-d-platform", "-d", "Platform")
    placed = az.json(
        "account", "management-group", "subscription", "add", "-n", "mg-d-platform", "-s", SUB
    )
    assert placed["parent"]["id"] == f"{MG_PREFIX}mg-d-platform"
    under = az.json(
        "account", "management-group", "subscription", "show-sub-under-mg", "-n", "mg-d-platform"
    )
    assert [s["name"] for s in under] == [SUB]
    deploy = [
        *("-m", "mg-d-platform", "-l", "westeurope", "-f", "mg.json"),
        *("-p", f"subscriptionId={SUB}", "groupName=rg-mgscope", "accountName=stmgscope01"),
    ]
    policy = (
        f"{MG_PREFIX}mg-d-platform/providers/Microsoft.Authorization/policyDefinitions/audit-tags"
    )
    group = f"/subscriptions/{SUB}/resourceGroups/rg-mgscope"
    account = f"{group}/providers/Microsoft.Storage/storageAccounts/stmgscope01"

    validated = az.json("deployment", "mg", "validate", *deploy, "-n", "platform")
    assert validated["properties"]["provisioningState"] == "Succeeded"
    assert (
        validated["id"]
        == f"{MG_PREFIX}mg-d-platform/providers/Microsoft.Resources/deployments/platform"
    )
    plan = az.json("deployment", "mg", "what-if", *deploy, "-n", "platform", "--no-pretty-print")
    assert _by_id(plan["changes"]) == {policy: "Create", group: "Create", account: "Create"}
    pretty = az.run("deployment", "mg", "what-if", *deploy, "-n", "platform")
    assert pretty.returncode == 0, pretty.stderr
    assert "Scope: /providers/Microsoft.Management/ManagementGroups/mg-d-platform" in pretty.stdout
    assert f"Scope: {group}" in pretty.stdout
    assert "Resource changes: 3 to create." in pretty.stdout

    created = az.json("deployment", "mg", "create", *deploy, "-n", "platform")
    assert created["properties"]["provisioningState"] == "Succeeded"
    outputs = {k: v["value"] for k, v in created["properties"]["outputs"].items()}
    assert outputs == {"policyId": policy, "group": "mg-d-platform", "accountId": account}
    assert {r["id"] for r in created["properties"]["outputResources"]} == {policy, group, account}
    # the resources exist where they should
    assert az.json("resource", "show", "--ids", account)["location"] == "westeurope"
    assert az.json("group", "show", "-n", "rg-mgscope")["tags"] == {"scope": "mg"}
    # (az resource show --ids takes no id above subscriptions; az policy reads the group's)
    shown = az.json(
        "policy", "definition", "show", "-n", "audit-tags", "--management-group", "mg-d-platform"
    )
    assert (shown["id"], shown["policyRule"]["then"]) == (policy, {"effect": "audit"})
    # history, export and operations at the management group
    listed = az.json("deployment", "mg", "list", "-m", "mg-d-platform")
    assert [d["name"] for d in listed] == ["platform"]
    shown = az.json("deployment", "mg", "show", "-m", "mg-d-platform", "-n", "platform")
    assert shown["properties"]["correlationId"] == created["properties"]["correlationId"]
    exported = az.json("deployment", "mg", "export", "-m", "mg-d-platform", "-n", "platform")
    assert exported["$schema"] == MG_SCHEMA and "subscriptionId" in exported["parameters"]
    operations = az.json(
        "deployment", "operation", "mg", "list", "-m", "mg-d-platform", "-n", "platform"
    )
    assert sorted(
        (o["properties"]["targetResource"]["id"], o["properties"]["provisioningState"])
        for o in operations
    ) == [
        (policy, "Succeeded"),
        (f"/subscriptions/{SUB}/providers/Microsoft.Resources/deployments/landing", "Succeeded"),
    ]
    # the nested deployments are recorded at their own scopes
    assert "landing" in [d["name"] for d in az.json("deployment", "sub", "list")]
    inner = az.json("deployment", "group", "show", "-g", "rg-mgscope", "-n", "storage")
    assert inner["properties"]["outputs"]["accountId"]["value"] == account
    # --what-if on create shows the plan (az deploys only with --confirm-with-what-if)
    again = az.run("deployment", "mg", "create", *deploy, "-n", "platform2", "--what-if")
    assert again.returncode == 0, again.stderr
    assert "Resource changes: 3 no change." in again.stdout
    refused = az.fails("deployment", "mg", "cancel", "-m", "mg-d-platform", "-n", "platform")
    assert "(DeploymentCannotBeCancelled)" in refused
    # --no-wait returns at once; az's wait sees it done
    started = az.run("deployment", "mg", "create", *deploy, "-n", "later", "--no-wait")
    assert (started.returncode, started.stdout) == (0, ""), started.stderr
    az.json("deployment", "mg", "wait", "-m", "mg-d-platform", "-n", "later", "--created")
    for name in ("platform", "later"):
        az.json("deployment", "mg", "delete", "-m", "mg-d-platform", "-n", name)
    assert az.json("deployment", "mg", "list", "-m", "mg-d-platform") == []
    gone = az.fails("deployment", "mg", "show", "-m", "mg-d-platform", "-n", "platform", code=3)
    assert "(DeploymentNotFound) Deployment 'platform' could not be found." in gone


def test_tenant_deployment_nests_down_to_a_resource_group(az: Az) -> None:
    az.json(*MG, "create", NR, "-n", "mg-t-root", "-d", "Organisation")
    deploy = [
        *("-l", "westeurope", "-f", "tenant.json"),
        *("-p", "parentName=mg-t-root", "groupName=mg-t-lz", f"subscriptionId={SUB}"),
        "resourceGroupName=rg-tenantscope",
    ]
    new_group = f"{MG_PREFIX}mg-t-lz"
    placement = f"{new_group}/subscriptions/{SUB}"
    policy = f"{new_group}/providers/Microsoft.Authorization/policyDefinitions/deny-eastus"
    group = f"/subscriptions/{SUB}/resourceGroups/rg-tenantscope"
    identity = f"{group}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-deployer"

    validated = az.json("deployment", "tenant", "validate", *deploy, "-n", "lz")
    assert validated["id"] == "/providers/Microsoft.Resources/deployments/lz"
    plan = az.json("deployment", "tenant", "what-if", *deploy, "-n", "lz", "--no-pretty-print")
    assert _by_id(plan["changes"]) == {
        new_group: "Create",
        placement: "Create",
        policy: "Create",
        group: "Create",
        identity: "Create",
    }
    pretty = az.run("deployment", "tenant", "what-if", *deploy, "-n", "lz")
    assert pretty.returncode == 0, pretty.stderr
    assert "Scope: /\n" in pretty.stdout and "Resource changes: 5 to create." in pretty.stdout

    created = az.json("deployment", "tenant", "create", *deploy, "-n", "lz")
    assert created["properties"]["provisioningState"] == "Succeeded"
    outputs = {k: v["value"] for k, v in created["properties"]["outputs"].items()}
    principal = az.json("resource", "show", "--ids", identity)["properties"]["principalId"]
    assert outputs == {"groupId": new_group, "parent": "mg-t-root", "principalId": principal}
    assert az.json("group", "show", "-n", "rg-tenantscope")["tags"] == {"scope": "tenant"}
    shown = az.json(
        "policy", "definition", "show", "-n", "deny-eastus", "--management-group", "mg-t-lz"
    )
    assert (shown["id"], shown["policyRule"]["then"]) == (policy, {"effect": "deny"})
    # the hierarchy: mg-t-root > mg-t-lz > the subscription
    tree = az.json(*MG, "show", NR, "-n", "mg-t-root", "-e", "-r")
    assert [(c["name"], c["displayName"]) for c in tree["children"]] == [
        ("mg-t-lz", "Landing zones")
    ]
    assert [(s["type"], s["name"]) for s in tree["children"][0]["children"]] == [
        ("/subscriptions", SUB)
    ]
    assert "lz" in [d["name"] for d in az.json("deployment", "tenant", "list")]
    shown = az.json("deployment", "tenant", "show", "-n", "lz")
    assert shown["location"] == "westeurope"
    exported = az.json("deployment", "tenant", "export", "-n", "lz")
    assert exported["$schema"] == TENANT_SCHEMA
    operations = az.json("deployment", "operation", "tenant", "list", "-n", "lz")
    assert sorted(o["properties"]["targetResource"]["id"] for o in operations) == sorted(
        [
            new_group,
            placement,
            f"{new_group}/providers/Microsoft.Resources/deployments/policies",
            f"/subscriptions/{SUB}/providers/Microsoft.Resources/deployments/vending",
        ]
    )
    assert {o["properties"]["provisioningState"] for o in operations} == {"Succeeded"}
    # deployed again: nothing changes
    again = az.json("deployment", "tenant", "what-if", *deploy, "-n", "lz", "--no-pretty-print")
    assert set(_by_id(again["changes"]).values()) == {"NoChange"}


def test_tenant_deployment_no_wait_cancel_and_delete(az: Az) -> None:
    deploy = ["-l", "westeurope", "-f", "tenant-group.json", "-p", "name=mg-w-nowait"]
    started = az.run("deployment", "tenant", "create", *deploy, "-n", "nowait", "--no-wait")
    assert (started.returncode, started.stdout) == (0, ""), started.stderr
    az.json("deployment", "tenant", "wait", "-n", "nowait", "--created")
    assert az.json(*MG, "show", NR, "-n", "mg-w-nowait")["displayName"] == ("MG-W-NOWAIT")
    refused = az.fails("deployment", "tenant", "cancel", "-n", "nowait")
    assert (
        "(DeploymentCannotBeCancelled) The deployment 'nowait' cannot be canceled: its "
        "provisioning state is 'Succeeded'"
    ) in refused
    az.json("deployment", "tenant", "delete", "-n", "nowait")
    assert "nowait" not in [d["name"] for d in az.json("deployment", "tenant", "list")]
    # deleting a deployment leaves what it deployed
    assert az.json(*MG, "show", NR, "-n", "mg-w-nowait")["name"] == ("mg-w-nowait")
    # the same name in another location is refused, as ARM refuses it
    az.json("deployment", "tenant", "create", *deploy, "-n", "located")
    moved = az.fails(
        "deployment", "tenant", "create", "-l", "northeurope", "-f", "tenant-group.json",
        "-p", "name=mg-w-nowait", "-n", "located",
    )  # fmt: skip
    assert "InvalidDeploymentLocation" in moved


def test_a_failed_deployment_is_an_error_for_az(az: Az) -> None:
    """A deployment that fails: az prints ARM's status with the error and exits 1."""
    az.json(*MG, "create", NR, "-n", "mg-f-fails")
    rule = {
        "kind": "deployment_error",
        "resource_type": "Microsoft.Authorization/policyDefinitions",
        "resource_name": "audit-tags",
        "arm_code": "RequestDisallowedByPolicy",
        "arm_message": "Policy definitions are disallowed here.",
    }
    faults = f"{az.base_url}/_localarm/faults"
    body = json.dumps({"rules": [rule]})
    az.json("rest", "--method", "put", "--url", faults, "--body", body)
    try:
        failed = az.fails(
            "deployment", "mg", "create", "-m", "mg-f-fails", "-l", "westeurope", "-f", "mg.json",
            "-p", f"subscriptionId={SUB}", "groupName=rg-fails", "accountName=stfails01",
            "-n", "fails",
        )  # fmt: skip
    finally:
        az.run("rest", "--method", "delete", "--url", faults)
    status = json.loads(failed.removeprefix("ERROR: ").strip())
    assert status["status"] == "Failed"
    assert status["error"]["code"] == "DeploymentFailed"
    assert [(d["code"], d["message"]) for d in status["error"]["details"]] == [
        ("RequestDisallowedByPolicy", "Policy definitions are disallowed here.")
    ]
    shown = az.json("deployment", "mg", "show", "-m", "mg-f-fails", "-n", "fails")
    assert shown["properties"]["provisioningState"] == "Failed"
    operations = az.json("deployment", "operation", "mg", "list", "-m", "mg-f-fails", "-n", "fails")
    failed_ops = [o for o in operations if o["properties"]["provisioningState"] == "Failed"]
    assert [o["properties"]["statusMessage"]["error"]["code"] for o in failed_ops] == [
        "RequestDisallowedByPolicy"
    ]


def test_bad_input_at_management_group_and_tenant_scope(az: Az) -> None:
    params = ["-p", f"subscriptionId={SUB}", "groupName=rg-bad", "accountName=stbad01"]
    # a management group that does not exist
    for command in ("validate", "create"):
        missing = az.fails(
            "deployment", "mg", command, "-m", "mg-b-none", "-l", "westeurope", "-f", "mg.json",
            *params,
        )  # fmt: skip
        assert (
            'ERROR: {"code": "ManagementGroupNotFound", "message": "The management group '
            "'mg-b-none' cannot be found.\"}"
        ) in missing
    assert az.json("deployment", "mg", "list", "-m", "mg-b-none") == []
    # a template of one scope sent to another
    az.json(*MG, "create", NR, "-n", "mg-b-scope")
    wrong = az.fails(
        "deployment", "mg", "create", "-m", "mg-b-scope", "-l", "westeurope", "-f", "tenant.json",
        "-p", "parentName=x", "groupName=y", f"subscriptionId={SUB}", "resourceGroupName=z",
    )  # fmt: skip
    assert (
        f"Template schema '{TENANT_SCHEMA}' is not supported. Supported versions are '2019-08-01'."
    ) in wrong
    assert '"code": "InvalidTemplate"' in wrong
    wrong = az.fails(
        "deployment", "tenant", "validate", "-l", "westeurope", "-f", "mg.json", *params
    )
    assert f"Template schema '{MG_SCHEMA}' is not supported." in wrong
    # what-if reports a refused template in its result, which az prints as CODE - message
    wrong = az.fails(
        "deployment", "mg", "what-if", "-m", "mg-b-scope", "-l", "westeurope", "-f", "tenant.json",
        "-p", "parentName=x", "groupName=y", f"subscriptionId={SUB}", "resourceGroupName=z",
    )  # fmt: skip
    assert wrong.startswith(
        "ERROR: InvalidTemplate - Deployment template validation failed: 'Template schema "
        f"'{TENANT_SCHEMA}' is not supported."
    )
    # a tenant template whose module targets a management group that neither exists nor is
    # created by the template: refused by the preflight, before anything is written
    az.write(
        "tenant-to-nowhere.json",
        json.dumps(
            {
                "$schema": TENANT_SCHEMA,
                "contentVersion": "1.0.0.0",
                "resources": [
                    {
                        "type": "Microsoft.Resources/deployments",
                        "apiVersion": "2022-09-01",
                        "name": "nowhere",
                        "scope": "Microsoft.Management/managementGroups/mg-b-nowhere",
                        "location": "westeurope",
                        "properties": {
                            "mode": "Incremental",
                            "expressionEvaluationOptions": {"scope": "inner"},
                            "template": json.loads(TENANT_GROUP_ONLY) | {"$schema": MG_SCHEMA},
                            "parameters": {"name": {"value": "mg-b-unused"}},
                        },
                    }
                ],
            }
        ),
    )
    nowhere = az.fails(
        "deployment", "tenant", "create", "-l", "westeurope", "-f", "tenant-to-nowhere.json",
        "-n", "nowhere",
    )  # fmt: skip
    assert '"code": "InvalidTemplateDeployment"' in nowhere
    assert "ManagementGroupNotFound" in nowhere and "mg-b-nowhere" in nowhere
    assert "nowhere" not in [d["name"] for d in az.json("deployment", "tenant", "list")]
    # a malformed template file: az reads it first and names it
    az.write("broken.json", f'{{"$schema": "{TENANT_SCHEMA}", "resources": [ {{"type": ')
    broken = az.fails("deployment", "tenant", "create", "-l", "westeurope", "-f", "broken.json")
    assert "Failed to parse 'broken.json', please check whether it is a valid JSON format" in (
        broken
    )
    # a malformed body sent as it is: ARM's reader names the line and column
    url = (
        f"{MG_PREFIX}mg-b-scope/providers/Microsoft.Resources/deployments/x?api-version=2025-04-01"
    )
    raw = az.fails(
        "rest",
        "--method",
        "put",
        "--url",
        url,
        "--body",
        '{"location": "westeurope", "properties": }',
    )
    assert "InvalidRequestContent" in raw and "line 1, column 42" in raw
    # a deployment above resource groups needs a location
    url = (
        f"{MG_PREFIX}mg-b-scope/providers/Microsoft.Resources/deployments/y?api-version=2025-04-01"
    )
    body = json.dumps(
        {"properties": {"mode": "Incremental", "template": json.loads(TENANT_GROUP_ONLY)}}
    )
    located = az.fails("rest", "--method", "put", "--url", url, "--body", body)
    assert "LocationRequired" in located
