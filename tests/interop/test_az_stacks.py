"""The official Azure CLI, unmodified, with deployment stacks: ``az stack group|sub|mg``
create (az validates first, then creates), update with a resource dropped, list, delete with
``--action-on-unmanage`` (refused by a lock on the group, failed by a lock on a managed
resource, then allowed), the error of a refused delete, and stacks from ``--template-uri``
(with ``--query-string``) and ``--template-spec``, asserting on az's JSON output,
stderr and exit codes. A handful of commands: each costs about half a second of CPU.

The emulator and the login are conftest.py's (one per xdist worker); names are this
module's own.
"""

from __future__ import annotations

import json

import pytest

from .conftest import SUB, Az
from .test_az_surface import STORAGE_TEMPLATE, web

__all__ = ["web"]  # the fixture, imported for this module's tests

pytestmark = pytest.mark.slow

RG_SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
SUB_SCHEMA = (
    "https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#"
)
MG_SCHEMA = (
    "https://schema.management.azure.com/schemas/2019-08-01/managementGroupDeploymentTemplate.json#"
)


def storage(name: str) -> dict[str, object]:
    return {
        "type": "Microsoft.Storage/storageAccounts",
        "apiVersion": "2023-01-01",
        "name": name,
        "location": "westeurope",
        "sku": {"name": "Standard_LRS"},
        "kind": "StorageV2",
    }


def write_template(az: Az, name: str, schema: str, resources: list[dict[str, object]]) -> None:
    body = {"$schema": schema, "contentVersion": "1.0.0.0", "resources": resources}
    az.write(name, json.dumps(body))


def test_az_stack_group_create_update_list_delete(az: Az) -> None:
    az.json("group", "create", "-n", "rg-azstack", "-l", "westeurope")
    write_template(az, "stack-two.json", RG_SCHEMA, [storage("azstack1"), storage("azstack2")])
    common = ("-g", "rg-azstack", "--deny-settings-mode", "denyDelete", "--yes")
    created = az.json(
        "stack", "group", "create", "-n", "web", "--template-file", "stack-two.json",
        "--action-on-unmanage", "detachAll", *common,
    )  # fmt: skip
    assert created["provisioningState"] == "succeeded"
    assert sorted(r["id"].rsplit("/", 1)[1] for r in created["resources"]) == [
        "azstack1",
        "azstack2",
    ]
    assert {r["denyStatus"] for r in created["resources"]} == {"denyDelete"}
    # the deny assignment refuses az's own delete of a managed resource
    stderr = az.fails("storage", "account", "delete", "-n", "azstack1", "-g", "rg-azstack", "-y")
    assert "(DenyAssignmentAuthorizationFailed) The client '" in stderr
    write_template(az, "stack-one.json", RG_SCHEMA, [storage("azstack1")])
    updated = az.json(
        "stack", "group", "create", "-n", "web", "--template-file", "stack-one.json",
        "--action-on-unmanage", "deleteResources", *common,
    )  # fmt: skip
    assert [r["id"] for r in updated["deletedResources"]] == [
        f"/subscriptions/{SUB}/resourceGroups/rg-azstack/providers/Microsoft.Storage/"
        "storageAccounts/azstack2"
    ]
    listed = az.json("stack", "group", "list", "-g", "rg-azstack")
    assert [s["name"] for s in listed] == ["web"]
    # a lock on the group covers the stack itself: its DELETE is refused, detach or not
    az.json("lock", "create", "-n", "keep", "-g", "rg-azstack", "--lock-type", "CanNotDelete")
    stderr = az.fails(
        "stack", "group", "delete", "-n", "web", "-g", "rg-azstack",
        "--action-on-unmanage", "detachAll", "--yes",
    )  # fmt: skip
    assert (
        f"(ScopeLocked) The scope '/subscriptions/{SUB}/resourceGroups/rg-azstack/providers/"
        "Microsoft.Resources/deploymentStacks/web' cannot perform delete operation because "
        f"following scope(s) are locked: '/subscriptions/{SUB}/resourceGroups/rg-azstack'."
    ) in stderr
    az.run("lock", "delete", "-n", "keep", "-g", "rg-azstack").check_returncode()
    # a lock on a managed resource: the stack's delete of it fails, and the stack stays
    on_account = ("-n", "keep", "-g", "rg-azstack", "--resource", "azstack1",
                  "--resource-type", "Microsoft.Storage/storageAccounts")  # fmt: skip
    az.json("lock", "create", *on_account, "--lock-type", "CanNotDelete")
    delete = (
        "stack", "group", "delete", "-n", "web", "-g", "rg-azstack",
        "--action-on-unmanage", "deleteAll", "--yes",
    )  # fmt: skip
    stderr = az.fails(*delete)
    assert "(DeploymentStackDeleteResourcesFailed) One or more resources could not be deleted." in (
        stderr
    )
    left = az.json("stack", "group", "show", "-n", "web", "-g", "rg-azstack")
    assert left["provisioningState"] == "failed"
    assert [r["error"]["code"] for r in left["failedResources"]] == ["ScopeLocked"]
    assert [r["status"] for r in left["resources"]] == ["deleteFailed"]
    az.run("lock", "delete", *on_account).check_returncode()
    az.run(*delete).check_returncode()
    assert az.json("resource", "list", "-g", "rg-azstack") == []


def test_az_stack_sub_and_mg(az: Az) -> None:
    write_template(
        az,
        "stack-sub.json",
        SUB_SCHEMA,
        [
            {
                "type": "Microsoft.Resources/resourceGroups",
                "apiVersion": "2022-09-01",
                "name": "rg-azstack-sub",
                "location": "westeurope",
            }
        ],
    )
    created = az.json(
        "stack", "sub", "create", "-n", "landing", "-l", "westeurope",
        "--template-file", "stack-sub.json", "--deny-settings-mode", "none",
        "--action-on-unmanage", "deleteAll", "--yes",
    )  # fmt: skip
    assert created["id"] == (
        f"/subscriptions/{SUB}/providers/Microsoft.Resources/deploymentStacks/landing"
    )
    assert [r["id"] for r in created["resources"]] == [
        f"/subscriptions/{SUB}/resourceGroups/rg-azstack-sub"
    ]
    az.run(
        "stack", "sub", "delete", "-n", "landing", "--action-on-unmanage", "deleteAll", "--yes"
    ).check_returncode()  # fmt: skip
    assert az.run("group", "exists", "-n", "rg-azstack-sub").stdout.strip() == "false"
    az.json("account", "management-group", "create", "-n", "mg-azstack", "--no-register")
    write_template(az, "stack-mg.json", MG_SCHEMA, [])
    mg = az.json(
        "stack", "mg", "create", "-n", "policies", "--management-group-id", "mg-azstack",
        "-l", "westeurope", "--template-file", "stack-mg.json", "--deny-settings-mode", "none",
        "--action-on-unmanage", "detachAll", "--yes",
    )  # fmt: skip
    assert mg["id"] == (
        "/providers/Microsoft.Management/managementGroups/mg-azstack/providers/"
        "Microsoft.Resources/deploymentStacks/policies"
    )
    assert mg["provisioningState"] == "succeeded"


def test_az_stack_group_create_from_a_template_uri_and_a_template_spec(
    az: Az, web: tuple[str, list[str]]
) -> None:
    """``--template-uri`` with ``--query-string`` (az sends ``templateLink``; the local ARM
    fetches it with the SAS) and ``--template-spec``: the SAS is in no answer az prints."""
    base, asked = web
    az.json("group", "create", "-n", "rg-azstack-links", "-l", "westeurope")
    common = ("-g", "rg-azstack-links", "--deny-settings-mode", "none",
              "--action-on-unmanage", "detachAll", "--yes")  # fmt: skip
    linked = az.run(
        "stack", "group", "create", "-n", "linked", *common,
        "--template-uri", f"{base}/templates/storage.json",
        "--query-string", "sv=2024&sig=azStackSecret0123456789", "-p", "name=stazstackl1",
    )  # fmt: skip
    assert linked.returncode == 0, linked.stderr
    stack = json.loads(linked.stdout)
    assert stack["provisioningState"] == "succeeded"
    assert [r["id"].rsplit("/", 1)[1] for r in stack["resources"]] == ["stazstackl1"]
    assert stack["templateLink"] is None  # write-only in the specification
    # az reads the template itself too; the local ARM fetched it at least once more
    assert asked.count("/templates/storage.json?sv=2024&sig=azStackSecret0123456789") >= 2
    exported = az.run("stack", "group", "export", "-n", "linked", "-g", "rg-azstack-links")
    assert json.loads(exported.stdout)["templateLink"]["uri"] == f"{base}/templates/storage.json"
    assert "azStackSecret" not in linked.stdout + linked.stderr + exported.stdout
    az.write("stack-spec.json", json.dumps(STORAGE_TEMPLATE))
    spec = az.json(
        "ts", "create", "-g", "rg-azstack-links", "-n", "stack-spec", "-v", "1.0",
        "-l", "westeurope", "-f", "stack-spec.json", "--yes",
    )  # fmt: skip
    from_spec = az.json(
        "stack", "group", "create", "-n", "from-spec", *common,
        "--template-spec", spec["id"], "-p", "name=stazstackl2",
    )  # fmt: skip
    assert from_spec["provisioningState"] == "succeeded"
    assert [r["id"].rsplit("/", 1)[1] for r in from_spec["resources"]] == ["stazstackl2"]
