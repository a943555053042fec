"""The official Azure CLI, unmodified, against ``bicep-assets emulator serve``: the documented
setup (serve, ``eval "$(bicep-assets emulator az-env …)"``, ``az login --identity``), then a
deployment workflow at resource-group and subscription scope, asserting on az's JSON output.

The emulator and the login are conftest.py's (one per xdist worker); the test functions are
split so both workers take part. Every az command costs about half a second of start-up.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .conftest import SUB, Az

pytestmark = pytest.mark.slow

EXAMPLE = Path(__file__).resolve().parents[2] / "infra" / "main.json"
SECRET = "Interop-Secret-Value-42!"

SUB_TEMPLATE = """{
  // subscription scope: a resource group, and a storage account in it (nested deployment)
  "$schema": "https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#",
  "contentVersion": "1.0.0.0",
  "parameters": {"groupName": {"type": "string"}},
  "resources": [
    {"type": "Microsoft.Resources/resourceGroups", "apiVersion": "2022-09-01",
     "name": "[parameters('groupName')]", "location": "westeurope"},
    {"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "inner",
     "resourceGroup": "[parameters('groupName')]",
     "dependsOn": [
"[subscriptionResourceId('Microsoft.Resources/resourceGroups', parameters('groupName'))]"],
     "properties": {"mode": "Incremental", "template": {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "resources": [{"type": "Microsoft.Storage/storageAccounts", "apiVersion": "2023-01-01",
          "name": "stazinterop01", "location": "westeurope", "sku": {"name": "Standard_LRS"},
          "kind": "StorageV2"}]}}}
  ],
  "outputs": {"group": {"type": "string", "value": "[parameters('groupName')]"}}
}
"""


@pytest.fixture(scope="module", autouse=True)
def _templates(az: Az) -> None:
    az.write("main.json", EXAMPLE.read_text(encoding="utf-8"))
    az.write("sub.json", SUB_TEMPLATE)


def test_account_and_cloud_registration(az: Az) -> None:
    account = az.json("account", "show")
    assert account["id"] == SUB and account["state"] == "Enabled"
    assert account["user"]["type"] == "servicePrincipal"
    assert [a["id"] for a in az.json("account", "list")] == [SUB]
    locations = {x["name"]: x for x in az.json("account", "list-locations")}
    assert locations["westeurope"]["displayName"] == "West Europe"
    # endpoint discovery: az reads /metadata/endpoints?api-version=2022-09-01
    endpoint = az.env["IDENTITY_ENDPOINT"].removesuffix("msi/token")
    az.json("cloud", "register", "-n", "Rehearsal", "--endpoint-resource-manager", endpoint)
    cloud = az.json("cloud", "show", "-n", "Rehearsal")
    assert cloud["endpoints"]["resourceManager"] == endpoint
    assert cloud["endpoints"]["activeDirectoryResourceId"] == "https://management.core.windows.net/"


def test_groups(az: Az) -> None:
    created = az.json("group", "create", "-n", "rg-groups", "-l", "westeurope", "--tags", "a=1")
    assert (created["name"], created["location"], created["tags"]) == (
        "rg-groups",
        "westeurope",
        {"a": "1"},
    )
    assert az.json("group", "exists", "-n", "rg-groups") is True
    assert az.json("group", "show", "-n", "rg-groups")["properties"]["provisioningState"] == (
        "Succeeded"
    )
    assert "rg-groups" in [g["name"] for g in az.json("group", "list")]
    updated = az.json("group", "update", "-n", "rg-groups", "--tags", "b=2")
    assert updated["tags"] == {"b": "2"}
    az.json("group", "delete", "-n", "rg-groups", "--yes")
    assert az.json("group", "exists", "-n", "rg-groups") is False
    assert "ResourceGroupNotFound" in az.fails("group", "show", "-n", "rg-groups", code=3)


def test_group_deployment_validate_what_if_create(az: Az) -> None:
    az.json("group", "create", "-n", "rg-deploy", "-l", "westeurope")
    params = ["-p", "environmentName=dev", f"appSecret={SECRET}"]
    deploy = ["-g", "rg-deploy", "-f", "main.json", *params]
    validated = az.json("deployment", "group", "validate", *deploy)
    assert validated["properties"]["provisioningState"] == "Succeeded"
    plan = az.json("deployment", "group", "what-if", *deploy, "--no-pretty-print")
    assert sorted({c["changeType"] for c in plan["changes"]}) == ["Create"]
    pretty = az.run("deployment", "group", "what-if", *deploy)
    assert pretty.returncode == 0, pretty.stderr
    assert "Resource changes: 6 to create." in pretty.stdout
    assert SECRET not in pretty.stdout
    created = az.json("deployment", "group", "create", *deploy, "-n", "web")
    assert created["properties"]["provisioningState"] == "Succeeded"
    assert created["properties"]["outputs"]["webHost"]["value"]
    shown = az.json("deployment", "group", "show", "-g", "rg-deploy", "-n", "web")
    assert shown["properties"]["correlationId"] == created["properties"]["correlationId"]
    assert [d["name"] for d in az.json("deployment", "group", "list", "-g", "rg-deploy")] == ["web"]
    exported = az.json("deployment", "group", "export", "-g", "rg-deploy", "-n", "web")
    assert exported["contentVersion"] == "1.0.0.0"
    operations = az.json("deployment", "operation", "group", "list", "-g", "rg-deploy", "-n", "web")
    assert {o["properties"]["provisioningState"] for o in operations} == {"Succeeded"}
    assert len(operations) == 6
    # --what-if on create shows the plan only (az deploys after it with --confirm-with-what-if)
    again = az.run("deployment", "group", "create", *deploy, "-n", "web2", "--what-if")
    assert again.returncode == 0, again.stderr
    # the Key Vault secret's value is write-only (a GET never returns it): a Modify creating
    # it, masked, as Azure's what-if shows a redeployed secret; the role assignment's
    # principalId is a reference what-if cannot resolve
    assert "Resource changes: 2 to modify, 4 no change." in again.stdout
    assert re.search(r'\+ properties\.value: +"\[secure value\]"', again.stdout)
    assert SECRET not in again.stdout


def test_group_deployment_no_wait_cancel_delete(az: Az) -> None:
    az.json("group", "create", "-n", "rg-nowait", "-l", "westeurope")
    deploy = [
        "-g",
        "rg-nowait",
        "-f",
        "main.json",
        "-p",
        "environmentName=dev",
        f"appSecret={SECRET}",
    ]
    assert az.json("deployment", "group", "create", *deploy, "-n", "nw", "--no-wait") is None
    az.json("deployment", "group", "wait", "-g", "rg-nowait", "-n", "nw", "--created")
    shown = az.json("deployment", "group", "show", "-g", "rg-nowait", "-n", "nw")
    assert shown["properties"]["provisioningState"] == "Succeeded"
    refused = az.fails("deployment", "group", "cancel", "-g", "rg-nowait", "-n", "nw")
    assert "DeploymentCannotBeCancelled" in refused
    az.json("deployment", "group", "delete", "-g", "rg-nowait", "-n", "nw")
    assert az.json("deployment", "group", "list", "-g", "rg-nowait") == []


def test_resources_and_providers(az: Az) -> None:
    az.json("group", "create", "-n", "rg-res", "-l", "westeurope")
    az.json(
        "deployment",
        "group",
        "create",
        "-g",
        "rg-res",
        "-f",
        "main.json",
        "-n",
        "res",
        "-p",
        "environmentName=prod",
        f"appSecret={SECRET}",
    )
    listed = az.json("resource", "list", "-g", "rg-res")
    by_type = {r["type"]: r for r in listed}
    account = by_type["Microsoft.Storage/storageAccounts"]
    typed = az.json(
        "resource", "list", "-g", "rg-res", "--resource-type", "Microsoft.Web/serverfarms"
    )
    assert [r["name"] for r in typed] == ["plan-webapp-prod"]
    assert [r["id"] for r in az.json("resource", "list", "-n", account["name"])] == [account["id"]]
    shown = az.json("resource", "show", "--ids", account["id"])
    assert shown["id"] == account["id"] and shown["properties"]["provisioningState"] == "Succeeded"
    plan = az.json(
        "resource",
        "show",
        "-g",
        "rg-res",
        "-n",
        "plan-webapp-prod",
        "--resource-type",
        "Microsoft.Web/serverfarms",
    )
    assert plan["sku"]["name"] == "B1"
    tagged = az.json("resource", "tag", "--ids", account["id"], "--tags", "team=interop")
    assert tagged["tags"] == {"team": "interop"}
    assert [r["name"] for r in az.json("resource", "list", "--tag", "team=interop")] == [
        account["name"]
    ]
    sites = az.json("webapp", "list", "-g", "rg-res")
    assert [s["name"] for s in sites] == [by_type["Microsoft.Web/sites"]["name"]]
    az.json("resource", "delete", "--ids", account["id"])
    assert "ResourceNotFound" in az.fails("resource", "show", "--ids", account["id"], code=3)
    storage = az.json("provider", "show", "-n", "Microsoft.Web")
    assert "sites" in [t["resourceType"] for t in storage["resourceTypes"]]
    assert az.run("provider", "register", "-n", "Microsoft.Web").returncode == 0
    assert "Microsoft.Web" in [p["namespace"] for p in az.json("provider", "list")]


def test_subscription_deployment_creates_a_group_and_deploys_into_it(az: Az) -> None:
    deploy = ["-l", "westeurope", "-f", "sub.json", "-p", "groupName=rg-fromsub"]
    assert (
        az.json("deployment", "sub", "validate", *deploy)["properties"]["provisioningState"]
        == "Succeeded"
    )
    plan = az.json("deployment", "sub", "what-if", *deploy, "--no-pretty-print")
    assert sorted(c["changeType"] for c in plan["changes"]) == ["Create", "Create"]
    created = az.json("deployment", "sub", "create", *deploy, "-n", "fromsub")
    assert created["properties"]["outputs"]["group"]["value"] == "rg-fromsub"
    assert "fromsub" in [d["name"] for d in az.json("deployment", "sub", "list")]
    assert (
        az.json("deployment", "sub", "show", "-n", "fromsub")["properties"]["provisioningState"]
        == "Succeeded"
    )
    operations = az.json("deployment", "operation", "sub", "list", "-n", "fromsub")
    assert len(operations) == 2
    assert az.json("deployment", "sub", "export", "-n", "fromsub")["parameters"] == {
        "groupName": {"type": "string"}
    }
    assert [r["name"] for r in az.json("resource", "list", "-g", "rg-fromsub")] == ["stazinterop01"]
    az.json("deployment", "sub", "delete", "-n", "fromsub")
    assert "DeploymentNotFound" in az.fails("deployment", "sub", "show", "-n", "fromsub", code=3)


def test_bad_input_gets_arm_errors(az: Az) -> None:
    az.json("group", "create", "-n", "rg-bad", "-l", "westeurope")
    url = (
        f"/subscriptions/{SUB}/resourcegroups/rg-bad/providers/Microsoft.Resources/"
        "deployments/x?api-version=2025-04-01"
    )
    broken = az.fails("rest", "--method", "put", "--url", url, "--body", '{"properties": {"a": }}')
    assert "InvalidRequestContent" in broken
    assert "could not be deserialized: unexpected '}' at line 1, column 22" in broken
    missing = az.fails("deployment", "group", "show", "-g", "rg-bad", "-n", "nothing", code=3)
    assert "DeploymentNotFound" in missing
