"""Deployment stacks through the official ``azure-mgmt-resource-deploymentstacks`` client over
HTTPS (the requests ``az stack group|sub|mg`` sends): create, update with a resource removed
(detach or delete), deny settings against other principals (tokens from the local ARM's
managed-identity endpoint, read by azure-identity), delete with each unmanage action,
validate, export, list at each scope, the state file across a restart, secure parameters."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.identity import ManagedIdentityCredential
from azure.mgmt.resource.deployments import DeploymentsMgmtClient
from azure.mgmt.resource.deploymentstacks import DeploymentStacksClient
from azure.mgmt.resource.locks import ManagementLockClient
from azure.mgmt.resource.resources import ResourceManagementClient

from bicep_assets.armlocal import FaultPlanSpec, FaultRule, LocalArm, LocalArmConfig

from .conftest import storage, template

SUB = "00000000-0000-0000-0000-000000000000"
SCHEMA = "https://schema.management.azure.com/schemas/"
SUB_SCHEMA = SCHEMA + "2018-05-01/subscriptionDeploymentTemplate.json#"
MG_SCHEMA = SCHEMA + "2019-08-01/managementGroupDeploymentTemplate.json#"
ARM_SCOPE = "https://management.azure.com/.default"
STORAGE_API = "2023-01-01"


@pytest.fixture
def stacks(arm: LocalArm) -> Any:
    return arm.connection.stacks_client().deployment_stacks


def stack_body(
    tpl: dict[str, Any],
    *,
    resources: str = "detach",
    deny: dict[str, Any] | None = None,
    location: str | None = None,
    **unmanage: str,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "properties": {
            "template": tpl,
            "parameters": {},
            "actionOnUnmanage": {"resources": resources, **unmanage},
            "denySettings": deny or {"mode": "none"},
        }
    }
    if location:
        body["location"] = location
    return body


def names(references: Any) -> list[str]:
    return sorted(r.id.rsplit("/", 1)[1] for r in references or [])


def storage_id(group: str, name: str) -> str:
    return f"/subscriptions/{SUB}/resourceGroups/{group}/providers/Microsoft.Storage/storageAccounts/{name}"  # noqa: E501


def as_principal(
    arm: LocalArm, monkeypatch: pytest.MonkeyPatch, client_id: str
) -> tuple[str, ResourceManagementClient, DeploymentStacksClient]:
    """(object id, resource client, stacks client) of the managed identity ``client_id``:
    azure-identity reads its token from the local ARM's App Service identity endpoint."""
    monkeypatch.setenv("IDENTITY_ENDPOINT", f"{arm.base_url}/msi/token")
    monkeypatch.setenv("IDENTITY_HEADER", arm.config.token)
    credential = ManagedIdentityCredential(client_id=client_id, connection_verify=str(arm.ca_file))
    token = credential.get_token(ARM_SCOPE).token
    payload = token.split(".")[1]
    oid = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["oid"]
    options = {
        "base_url": arm.base_url,
        "credential_scopes": [ARM_SCOPE],
        "connection_verify": str(arm.ca_file),
        "polling_interval": 0.05,
    }
    return (
        oid,
        ResourceManagementClient(credential, SUB, **options),
        DeploymentStacksClient(credential, SUB, **options),
    )


# --- create, get, update -------------------------------------------------------------------------
def test_a_resource_group_stack_deploys_and_manages_its_resources(
    stacks: Any, group: str, deployments: Any
) -> None:
    tpl = template(
        [storage("stacka1"), storage("stacka2")],
        outputs={"count": {"type": "int", "value": 2}},
    )
    stack = stacks.begin_create_or_update_at_resource_group(
        group, "web", stack_body(tpl, deny={"mode": "denyDelete"})
    ).result()
    props = stack.properties
    assert stack.id == (
        f"/subscriptions/{SUB}/resourceGroups/{group}/providers/Microsoft.Resources/"
        "deploymentStacks/web"
    )
    assert stack.type == "Microsoft.Resources/deploymentStacks"
    assert props.provisioning_state == "succeeded"
    assert names(props.resources) == ["stacka1", "stacka2"]
    assert {(r.status, r.deny_status) for r in props.resources} == {("managed", "denyDelete")}
    assert props.outputs == {"count": {"type": "Int", "value": 2}}
    assert props.detached_resources == [] and props.deleted_resources == []
    # the stack's deployment is an ordinary deployment, named after the stack
    deployment_name = props.deployment_id.rsplit("/", 1)[1]
    assert deployment_name.startswith("web-") and len(deployment_name) == len("web-20260101-abcde")
    deployment = deployments.deployments.get(group, deployment_name)
    assert deployment.properties.provisioning_state == "Succeeded"
    assert (
        stacks.get_at_resource_group(group, "web").properties.deployment_id == props.deployment_id
    )
    assert stack.system_data.created_by and stack.system_data.created_by_type == "Application"


@pytest.mark.parametrize("action", ["detach", "delete"])
def test_an_update_without_a_resource_detaches_or_deletes_it(
    stacks: Any, group: str, resources: Any, action: str
) -> None:
    stacks.begin_create_or_update_at_resource_group(
        group, "web", stack_body(template([storage("stackb1"), storage("stackb2")]))
    ).result()
    updated = stacks.begin_create_or_update_at_resource_group(
        group, "web", stack_body(template([storage("stackb1")]), resources=action)
    ).result()
    props = updated.properties
    assert names(props.resources) == ["stackb1"]
    exists = resources.resources.check_existence_by_id(
        storage_id(group, "stackb2"), api_version=STORAGE_API
    )
    if action == "detach":
        assert names(props.detached_resources) == ["stackb2"] and props.deleted_resources == []
        assert exists
    else:
        assert names(props.deleted_resources) == ["stackb2"] and props.detached_resources == []
        assert not exists


def test_a_failed_deployment_fails_the_stack_with_the_deployment_error(
    stacks: Any, group: str
) -> None:
    bad = storage("stackc1", location="[parameters('nowhere')]")
    tpl = template([bad], parameters={"nowhere": {"type": "string", "defaultValue": "mars"}})
    with pytest.raises(HttpResponseError) as info:
        stacks.begin_create_or_update_at_resource_group(group, "bad", stack_body(tpl)).result()
    assert info.value.error is not None
    assert info.value.error.code in (
        "InvalidTemplateDeployment",
        "LocationNotAvailableForResourceType",
    )


# --- deny settings -------------------------------------------------------------------------------
def test_deny_write_and_delete_refuses_other_principals_and_allows_excluded_ones(
    arm: LocalArm, stacks: Any, group: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    excluded_oid, excluded, _ = as_principal(arm, monkeypatch, "client-ops")
    other_oid, other, _ = as_principal(arm, monkeypatch, "client-dev")
    assert excluded_oid != other_oid
    deny = {"mode": "denyWriteAndDelete", "excludedPrincipals": [excluded_oid]}
    stacks.begin_create_or_update_at_resource_group(
        group, "locked", stack_body(template([storage("stackd1")]), deny=deny)
    ).result()
    rid = storage_id(group, "stackd1")
    body = {"location": "westeurope", "sku": {"name": "Standard_GRS"}, "kind": "StorageV2"}
    with pytest.raises(HttpResponseError) as write:
        other.resources.begin_create_or_update_by_id(
            rid, api_version=STORAGE_API, parameters=body
        ).result()
    assert write.value.status_code == 403
    assert write.value.error.code == "DenyAssignmentAuthorizationFailed"
    message = write.value.error.message
    assert message.startswith(
        f"The client '{other_oid}' with object id '{other_oid}' has permission to perform action "
        f"'Microsoft.Storage/storageAccounts/write' on scope '{rid}'; however, the access is "
        "denied because of the deny assignment with name 'Deny assignment '"
    )
    assert message.endswith(f"at scope '{rid}'.")
    with pytest.raises(HttpResponseError) as delete:
        other.resources.begin_delete_by_id(rid, api_version=STORAGE_API).result()
    assert delete.value.error.code == "DenyAssignmentAuthorizationFailed"
    assert "'Microsoft.Storage/storageAccounts/delete'" in delete.value.error.message
    # reads stay allowed ('*/read' is always excluded)
    assert other.resources.get_by_id(rid, api_version=STORAGE_API).name == "stackd1"
    # the excluded principal writes
    written = excluded.resources.begin_create_or_update_by_id(
        rid, api_version=STORAGE_API, parameters=body
    ).result()
    assert written.sku.name == "Standard_GRS"
    # deleting the group would delete the resource: refused too
    with pytest.raises(HttpResponseError) as group_delete:
        other.resource_groups.begin_delete(group).result()
    assert group_delete.value.error.code == "DenyAssignmentAuthorizationFailed"


def test_a_deployment_by_another_principal_cannot_write_a_denied_resource(
    arm: LocalArm, stacks: Any, group: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A deployment acts as its caller: writing a managed resource through one is refused as
    a direct write is (validate too), while the stack's own updates go on."""
    excluded_oid, _, _ = as_principal(arm, monkeypatch, "client-ops")
    deny = {"mode": "denyWriteAndDelete", "excludedPrincipals": [excluded_oid]}
    stacks.begin_create_or_update_at_resource_group(
        group, "locked", stack_body(template([storage("stackn1")]), deny=deny)
    ).result()
    options = {
        "base_url": arm.base_url,
        "credential_scopes": [ARM_SCOPE],
        "connection_verify": str(arm.ca_file),
        "polling_interval": 0.05,
    }
    body = {"properties": {"mode": "Incremental", "template": template([storage("stackn1")])}}
    for client_id, allowed in (("client-dev", False), ("client-ops", True)):
        credential = ManagedIdentityCredential(
            client_id=client_id, connection_verify=str(arm.ca_file)
        )
        deployments = DeploymentsMgmtClient(credential, SUB, **options).deployments
        if allowed:
            done = deployments.begin_create_or_update(group, "by-ops", body).result()
            assert done.properties.provisioning_state == "Succeeded"
            continue
        with pytest.raises(HttpResponseError) as validate:
            deployments.begin_validate(group, "by-dev", body).result()
        assert validate.value.error.code == "DenyAssignmentAuthorizationFailed"
        with pytest.raises(HttpResponseError) as put:
            deployments.begin_create_or_update(group, "by-dev", body).result()
        assert put.value.status_code == 403
        assert put.value.error.code == "DenyAssignmentAuthorizationFailed"
        with pytest.raises(ResourceNotFoundError):  # refused before anything was recorded
            deployments.get(group, "by-dev")


def test_deny_delete_allows_writes_and_excluded_actions(
    arm: LocalArm, stacks: Any, group: str, resources: Any
) -> None:
    deny = {"mode": "denyDelete"}
    stacks.begin_create_or_update_at_resource_group(
        group, "nodelete", stack_body(template([storage("stacke1")]), deny=deny)
    ).result()
    rid = storage_id(group, "stacke1")
    body = {"location": "westeurope", "sku": {"name": "Standard_GRS"}, "kind": "StorageV2"}
    # the static token is the local ARM's system principal: not excluded, so refused too
    assert resources.resources.begin_create_or_update_by_id(
        rid, api_version=STORAGE_API, parameters=body
    ).result()
    with pytest.raises(HttpResponseError) as info:
        resources.resources.begin_delete_by_id(rid, api_version=STORAGE_API).result()
    assert info.value.error.code == "DenyAssignmentAuthorizationFailed"
    deny = {"mode": "denyDelete", "excludedActions": ["Microsoft.Storage/storageAccounts/delete"]}
    stacks.begin_create_or_update_at_resource_group(
        group, "nodelete", stack_body(template([storage("stacke1")]), deny=deny)
    ).result()
    resources.resources.begin_delete_by_id(rid, api_version=STORAGE_API).result()
    assert not resources.resources.check_existence_by_id(rid, api_version=STORAGE_API)


@pytest.mark.parametrize("child_scopes", [False, True])
def test_apply_to_child_scopes_extends_the_deny_to_child_resources(
    stacks: Any, group: str, resources: Any, child_scopes: bool
) -> None:
    deny = {"mode": "denyWriteAndDelete", "applyToChildScopes": child_scopes}
    stacks.begin_create_or_update_at_resource_group(
        group, "parent", stack_body(template([storage("stackf1")]), deny=deny)
    ).result()
    container = storage_id(group, "stackf1") + "/blobServices/default/containers/data"
    put = resources.resources.begin_create_or_update_by_id
    if child_scopes:
        with pytest.raises(HttpResponseError) as info:
            put(container, api_version=STORAGE_API, parameters={"properties": {}}).result()
        assert info.value.error.code == "DenyAssignmentAuthorizationFailed"
    else:
        assert put(container, api_version=STORAGE_API, parameters={"properties": {}}).result().name


def test_the_stacks_own_update_is_not_denied(stacks: Any, group: str, resources: Any) -> None:
    deny = {"mode": "denyWriteAndDelete"}
    stacks.begin_create_or_update_at_resource_group(
        group, "own", stack_body(template([storage("stackg1"), storage("stackg2")]), deny=deny)
    ).result()
    updated = stacks.begin_create_or_update_at_resource_group(
        group, "own", stack_body(template([storage("stackg1")]), resources="delete", deny=deny)
    ).result()
    assert updated.properties.provisioning_state == "succeeded"
    assert names(updated.properties.deleted_resources) == ["stackg2"]
    # deleted with the stack (unmanage: delete) although the deny assignment stood
    stacks.begin_delete_at_resource_group(group, "own", unmanage_action_resources="delete").result()
    assert not resources.resources.check_existence_by_id(
        storage_id(group, "stackg1"), api_version=STORAGE_API
    )


# --- delete --------------------------------------------------------------------------------------
@pytest.mark.parametrize("action", [None, "detach", "delete"])
def test_delete_applies_the_unmanage_action_to_resources(
    stacks: Any, group: str, resources: Any, action: str | None
) -> None:
    stacks.begin_create_or_update_at_resource_group(
        group, "gone", stack_body(template([storage("stackh1")]), resources="delete")
    ).result()
    options = {"unmanage_action_resources": action} if action else {}
    stacks.begin_delete_at_resource_group(group, "gone", **options).result()
    with pytest.raises(ResourceNotFoundError) as info:
        stacks.get_at_resource_group(group, "gone")
    assert info.value.error.code == "DeploymentStackNotFound"
    exists = resources.resources.check_existence_by_id(
        storage_id(group, "stackh1"), api_version=STORAGE_API
    )
    assert exists is (action != "delete")  # an absent unmanage action detaches


@pytest.mark.parametrize("action", ["detach", "delete"])
def test_a_subscription_stack_deletes_or_detaches_its_resource_groups(
    stacks: Any, resources: Any, action: str
) -> None:
    tpl = {
        "$schema": SUB_SCHEMA,
        "contentVersion": "1.0.0.0",
        "resources": [
            {
                "type": "Microsoft.Resources/resourceGroups",
                "apiVersion": "2022-09-01",
                "name": "rg-stacked",
                "location": "westeurope",
            }
        ],
    }
    stack = stacks.begin_create_or_update_at_subscription(
        "landing", stack_body(tpl, location="westeurope")
    ).result()
    assert names(stack.properties.resources) == ["rg-stacked"]
    assert [s.name for s in stacks.list_at_subscription()] == ["landing"]
    stacks.begin_delete_at_subscription(
        "landing", unmanage_action_resources="delete", unmanage_action_resource_groups=action
    ).result()
    assert resources.resource_groups.check_existence("rg-stacked") is (action == "detach")
    assert list(stacks.list_at_subscription()) == []


@pytest.mark.parametrize("action", ["detach", "delete"])
def test_a_management_group_stack_deletes_or_detaches_its_management_groups(
    arm: LocalArm, stacks: Any, action: str
) -> None:
    groups = arm.connection.management_groups_client().management_groups
    groups.begin_create_or_update("mg-stacks", {"properties": {"displayName": "S"}}).result()
    parent = "/providers/Microsoft.Management/managementGroups/mg-stacks"
    tpl = {
        "$schema": MG_SCHEMA,
        "contentVersion": "1.0.0.0",
        "resources": [
            {
                "type": "Microsoft.Management/managementGroups",
                "apiVersion": "2021-04-01",
                "name": "mg-team",
                "scope": "/",
                "properties": {"details": {"parent": {"id": parent}}},
            }
        ],
    }
    stack = stacks.begin_create_or_update_at_management_group(
        "mg-stacks", "teams", stack_body(tpl, location="westeurope")
    ).result()
    assert names(stack.properties.resources) == ["mg-team"]
    assert [s.name for s in stacks.list_at_management_group("mg-stacks")] == ["teams"]
    stacks.begin_delete_at_management_group(
        "mg-stacks", "teams", unmanage_action_management_groups=action
    ).result()
    left = {g.name for g in groups.list()}
    assert ("mg-team" in left) is (action == "detach")


# --- management locks ----------------------------------------------------------------------------
DELETE_FAILED_DETAIL = (
    "An error occurred while deleting resources. These resources are still present in the "
    "stack but can be deleted manually. Please see the FailedResources property for specific "
    "error information."
)


def locked(operation: str, target: str, lock_scope: str) -> str:
    return (
        f"The scope '{target}' cannot perform {operation} operation because following scope(s) "
        f"are locked: '{lock_scope}'. Please remove the lock and try again."
    )


def scope_locked(target: str, lock_scope: str) -> str:
    return locked("delete", target, lock_scope)


def test_an_update_leaves_a_locked_resource_it_should_delete_and_fails(
    arm: LocalArm, stacks: Any, group: str, resources: Any
) -> None:
    locks = ManagementLockClient(**arm.connection.client_kwargs()).management_locks
    stacks.begin_create_or_update_at_resource_group(
        group,
        "web",
        stack_body(template([storage("stackl1"), storage("stackl2"), storage("stackl3")])),
    ).result()
    kept = storage_id(group, "stackl2")
    locks.create_or_update_by_scope(kept, "keep", {"level": "CanNotDelete"})
    with pytest.raises(HttpResponseError) as info:
        stacks.begin_create_or_update_at_resource_group(
            group, "web", stack_body(template([storage("stackl1")]), resources="delete")
        ).result()
    stack = stacks.get_at_resource_group(group, "web")
    props = stack.properties
    assert info.value.error.code == "DeploymentStackDeleteResourcesFailed"
    assert info.value.error.message == (
        f"One or more resources could not be deleted. Correlation id: '{props.correlation_id}'."
    )
    assert [(d.code, d.message) for d in info.value.error.details] == [
        ("DeploymentStackDeleteResourcesFailed", DELETE_FAILED_DETAIL)
    ]
    assert props.provisioning_state == "failed"
    assert names(props.deleted_resources) == ["stackl3"]  # the unlocked one went
    [failed] = props.failed_resources
    assert failed.id == kept
    assert (failed.error.code, failed.error.message) == ("ScopeLocked", scope_locked(kept, kept))
    # still the stack's, as deleteFailed; the resource is still there
    assert sorted((r.id.rsplit("/", 1)[1], r.status) for r in props.resources) == [
        ("stackl1", "managed"),
        ("stackl2", "deleteFailed"),
    ]
    assert resources.resources.check_existence_by_id(kept, api_version=STORAGE_API)
    # an update whose deployment fails unmanages nothing: still deleteFailed
    rule = FaultRule(kind="deployment_error", resource_name="stackl1", arm_code="AllocationFailed")
    arm.backend.faults.replace(FaultPlanSpec(rules=[rule]))
    with pytest.raises(HttpResponseError) as info:
        stacks.begin_create_or_update_at_resource_group(
            group, "web", stack_body(template([storage("stackl1")]), resources="delete")
        ).result()
    assert info.value.error.code == "DeploymentFailed"
    arm.backend.faults.replace(FaultPlanSpec())
    statuses = stacks.get_at_resource_group(group, "web").properties.resources
    assert sorted((r.id.rsplit("/", 1)[1], r.status) for r in statuses) == [
        ("stackl1", "managed"),
        ("stackl2", "deleteFailed"),
    ]
    # the lock gone, the next update deletes it
    locks.delete_by_scope(kept, "keep")
    updated = stacks.begin_create_or_update_at_resource_group(
        group, "web", stack_body(template([storage("stackl1")]), resources="delete")
    ).result()
    assert updated.properties.provisioning_state == "succeeded"
    assert names(updated.properties.deleted_resources) == ["stackl2"]
    assert updated.properties.failed_resources == []
    assert not resources.resources.check_existence_by_id(kept, api_version=STORAGE_API)


@pytest.mark.parametrize("level", ["CanNotDelete", "ReadOnly"])
def test_a_lock_on_the_group_refuses_the_stacks_own_delete(
    arm: LocalArm, stacks: Any, group: str, resources: Any, level: str
) -> None:
    """The stack is a resource of its group: a lock there refuses its DELETE at once (409
    ``ScopeLocked`` naming the stack), whatever the unmanage action, and touches nothing; a
    ReadOnly lock refuses its update too, a CanNotDelete one does not."""
    locks = ManagementLockClient(**arm.connection.client_kwargs()).management_locks
    stacks.begin_create_or_update_at_resource_group(
        group, "gone", stack_body(template([storage("stackm1")]))
    ).result()
    locks.create_or_update_at_resource_group_level(group, "keep", {"level": level})
    sid = f"/subscriptions/{SUB}/resourceGroups/{group}/providers/Microsoft.Resources/deploymentStacks/gone"  # noqa: E501
    group_id = f"/subscriptions/{SUB}/resourceGroups/{group}"
    account = storage_id(group, "stackm1")
    for action in ("delete", "detach"):
        with pytest.raises(HttpResponseError) as info:
            stacks.begin_delete_at_resource_group(
                group, "gone", unmanage_action_resources=action
            ).result()
        assert (info.value.status_code, info.value.error.code) == (409, "ScopeLocked")
        assert info.value.error.message == locked("delete", sid, group_id)
    stack = stacks.get_at_resource_group(group, "gone")
    assert stack.properties.provisioning_state == "succeeded"
    assert [(r.id, r.status) for r in stack.properties.resources] == [(account, "managed")]
    assert stack.properties.failed_resources in (None, [])
    assert resources.resources.check_existence_by_id(account, api_version=STORAGE_API)
    update = stack_body(template([storage("stackm1"), storage("stackm2")]))
    if level == "ReadOnly":
        with pytest.raises(HttpResponseError) as info:
            stacks.begin_create_or_update_at_resource_group(group, "gone", update).result()
        assert (info.value.status_code, info.value.error.code) == (409, "ScopeLocked")
        assert info.value.error.message == locked("write", sid, group_id)
        assert not resources.resources.check_existence_by_id(
            storage_id(group, "stackm2"), api_version=STORAGE_API
        )
    else:
        updated = stacks.begin_create_or_update_at_resource_group(group, "gone", update).result()
        assert updated.properties.provisioning_state == "succeeded"
    # the lock gone, the stack goes (detached: its resources stay)
    locks.delete_at_resource_group_level(group, "keep")
    detach(stacks, resources, group, "gone", account)


def detach(stacks: Any, resources: Any, group: str, name: str, account: str) -> None:
    """Delete the group's stack ``name`` detaching its resources: the stack is gone, the
    storage ``account`` it managed stays."""
    stacks.begin_delete_at_resource_group(group, name, unmanage_action_resources="detach").result()
    with pytest.raises(ResourceNotFoundError):
        stacks.get_at_resource_group(group, name)
    assert resources.resources.check_existence_by_id(account, api_version=STORAGE_API)


def test_a_lock_on_the_subscription_refuses_a_subscription_stacks_delete(
    arm: LocalArm, stacks: Any
) -> None:
    locks = ManagementLockClient(**arm.connection.client_kwargs()).management_locks
    empty = {"$schema": SUB_SCHEMA, "contentVersion": "1.0.0.0", "resources": []}
    stacks.begin_create_or_update_at_subscription(
        "landing", stack_body(empty, location="westeurope")
    ).result()
    locks.create_or_update_at_subscription_level("keep", {"level": "CanNotDelete"})
    with pytest.raises(HttpResponseError) as info:
        stacks.begin_delete_at_subscription("landing", unmanage_action_resources="detach").result()
    sid = f"/subscriptions/{SUB}/providers/Microsoft.Resources/deploymentStacks/landing"
    assert (info.value.status_code, info.value.error.code) == (409, "ScopeLocked")
    assert info.value.error.message == locked("delete", sid, f"/subscriptions/{SUB}")
    assert stacks.get_at_subscription("landing").properties.provisioning_state == "succeeded"
    locks.delete_at_subscription_level("keep")
    stacks.begin_delete_at_subscription("landing").result()
    with pytest.raises(ResourceNotFoundError):
        stacks.get_at_subscription("landing")


def test_a_lock_on_a_managed_resource_fails_the_stacks_delete_and_keeps_it(
    arm: LocalArm, stacks: Any, group: str, resources: Any
) -> None:
    """A lock on a managed resource does not cover the stack: the DELETE is accepted, its
    delete of that resource fails, and the stack stays, failed; detaching is not refused."""
    locks = ManagementLockClient(**arm.connection.client_kwargs()).management_locks
    stacks.begin_create_or_update_at_resource_group(
        group, "gone", stack_body(template([storage("stackm1")]))
    ).result()
    account = storage_id(group, "stackm1")
    locks.create_or_update_by_scope(account, "keep", {"level": "CanNotDelete"})
    with pytest.raises(HttpResponseError) as info:
        stacks.begin_delete_at_resource_group(
            group, "gone", unmanage_action_resources="delete"
        ).result()
    assert info.value.status_code == 409
    assert info.value.error.code == "DeploymentStackDeleteResourcesFailed"
    stack = stacks.get_at_resource_group(group, "gone")
    assert stack.properties.provisioning_state == "failed"
    assert info.value.error.message == (
        "One or more resources could not be deleted. Correlation id: "
        f"'{stack.properties.correlation_id}'."
    )
    [failed] = stack.properties.failed_resources
    assert (failed.id, failed.error.code) == (account, "ScopeLocked")
    assert failed.error.message == scope_locked(account, account)
    assert [(r.id, r.status) for r in stack.properties.resources] == [(account, "deleteFailed")]
    assert resources.resources.check_existence_by_id(account, api_version=STORAGE_API)
    # detaching is not a delete: no lock stands in its way
    detach(stacks, resources, group, "gone", account)


def test_a_subscription_stack_leaves_a_group_holding_a_locked_resource(
    arm: LocalArm, stacks: Any, resources: Any
) -> None:
    tpl = {
        "$schema": SUB_SCHEMA,
        "contentVersion": "1.0.0.0",
        "resources": [
            {
                "type": "Microsoft.Resources/resourceGroups",
                "apiVersion": "2022-09-01",
                "name": name,
                "location": "westeurope",
            }
            for name in ("rg-locked", "rg-free")
        ],
    }
    stacks.begin_create_or_update_at_subscription(
        "landing", stack_body(tpl, location="westeurope")
    ).result()
    plan = f"/subscriptions/{SUB}/resourceGroups/rg-locked/providers/Microsoft.Web/serverfarms/p1"
    resources.resources.begin_create_or_update_by_id(
        plan, api_version="2023-01-01", parameters={"location": "westeurope"}
    ).result()
    locks = ManagementLockClient(**arm.connection.client_kwargs()).management_locks
    locks.create_or_update_by_scope(plan, "keep", {"level": "CanNotDelete"})
    with pytest.raises(HttpResponseError) as info:
        stacks.begin_delete_at_subscription(
            "landing", unmanage_action_resources="delete", unmanage_action_resource_groups="delete"
        ).result()
    assert info.value.error.code == "DeploymentStackDeleteResourcesFailed"
    [failed] = stacks.get_at_subscription("landing").properties.failed_resources
    group_id = f"/subscriptions/{SUB}/resourceGroups/rg-locked"
    assert (failed.id, failed.error.message) == (group_id, scope_locked(group_id, plan))
    assert resources.resource_groups.check_existence("rg-locked")
    assert not resources.resource_groups.check_existence("rg-free")


# --- validate, export, errors ---------------------------------------------------------------------
def test_validate_answers_the_validated_resources_and_refuses_a_bad_template(
    stacks: Any, group: str
) -> None:
    result = stacks.begin_validate_stack_at_resource_group(
        group, "check", stack_body(template([storage("stacki1")]))
    ).result()
    assert names(result.properties.validated_resources) == ["stacki1"]
    assert result.properties.action_on_unmanage.resources == "detach"
    bad = template([storage("stacki1", properties="[parameters('missing')]")])
    with pytest.raises(HttpResponseError) as info:
        stacks.begin_validate_stack_at_resource_group(group, "check", stack_body(bad)).result()
    assert info.value.status_code == 400
    assert info.value.error.code == "InvalidTemplate"
    with pytest.raises(ResourceNotFoundError):  # validate creates nothing
        stacks.get_at_resource_group(group, "check")


def test_export_template_answers_the_deployed_template(stacks: Any, group: str) -> None:
    tpl = template([storage("stackj1")], outputs={"x": {"type": "string", "value": "y"}})
    stacks.begin_create_or_update_at_resource_group(group, "exp", stack_body(tpl)).result()
    exported = stacks.export_template_at_resource_group(group, "exp")
    assert exported.template["outputs"] == {"x": {"type": "string", "value": "y"}}
    assert exported.template["resources"][0]["name"] == "stackj1"


def test_secure_parameters_never_come_back(stacks: Any, group: str) -> None:
    secret = "Sup3r-Secret-Value-42"
    tpl = template(
        [storage("stackk1", tags={"t": "[length(parameters('pw'))]"})],
        parameters={"pw": {"type": "securestring"}},
    )
    body = stack_body(tpl)
    body["properties"]["parameters"] = {"pw": {"value": secret}}
    stack = stacks.begin_create_or_update_at_resource_group(group, "sec", body).result()
    assert stack.properties.parameters["pw"].value is None
    everything = json.dumps(
        [stacks.get_at_resource_group(group, "sec").as_dict(), list(map(lambda s: s.as_dict(),
         stacks.list_at_resource_group(group)))]
    )  # fmt: skip
    assert secret[:8] not in everything


def test_request_errors_name_the_property(stacks: Any, group: str) -> None:
    body = stack_body(template())
    del body["properties"]["actionOnUnmanage"]
    with pytest.raises(HttpResponseError) as info:
        stacks.begin_create_or_update_at_resource_group(group, "x", body).result()
    assert info.value.status_code == 400
    assert "'properties.actionOnUnmanage' is required" in info.value.error.message
    body = stack_body(template(), deny={"mode": "lockEverything"})
    with pytest.raises(HttpResponseError) as info:
        stacks.begin_create_or_update_at_resource_group(group, "x", body).result()
    assert info.value.error.target == "properties.denySettings.mode"
    with pytest.raises(HttpResponseError) as info:  # a subscription stack needs a location
        stacks.begin_create_or_update_at_subscription("x", stack_body(template())).result()
    assert info.value.error.code == "LocationRequired"
    with pytest.raises(ResourceNotFoundError) as missing:
        stacks.begin_create_or_update_at_resource_group("rg-none", "x", stack_body(template()))
    assert missing.value.error.code == "ResourceGroupNotFound"
    with pytest.raises(HttpResponseError) as query:
        stacks.begin_delete_at_resource_group(group, "x", unmanage_action_resources="keep")
    assert query.value.error.code == "InvalidQueryParameterValue"


def test_older_stable_api_version_is_accepted_and_others_are_not(arm: LocalArm, group: str) -> None:
    older = arm.connection.stacks_client(api_version="2024-03-01").deployment_stacks
    older.begin_create_or_update_at_resource_group(
        group, "old", stack_body(template([storage("stackl1")]))
    ).result()
    assert [s.name for s in older.list_at_resource_group(group)] == ["old"]
    preview = arm.connection.stacks_client(api_version="2022-08-01-preview").deployment_stacks
    with pytest.raises(HttpResponseError) as info:
        preview.get_at_resource_group(group, "old")
    assert info.value.error.code == "InvalidApiVersionParameter"
    assert "'2025-07-01,2024-03-01'" in info.value.error.message


def test_stacks_survive_a_restart_of_the_local_arm(tmp_path: Path) -> None:
    state = tmp_path / "arm.sqlite"
    config = LocalArmConfig(retry_after=0, token="stacks-restart-token")
    with LocalArm(state=state, config=config) as arm:
        arm.connection.resource_client().resource_groups.create_or_update(
            "rg-keep", {"location": "westeurope"}
        )
        arm.connection.stacks_client().deployment_stacks.begin_create_or_update_at_resource_group(
            "rg-keep",
            "kept",
            stack_body(template([storage("stackm1")]), deny={"mode": "denyDelete"}),
        ).result()
    with LocalArm(state=state, config=config) as arm:
        stacks = arm.connection.stacks_client().deployment_stacks
        kept = stacks.get_at_resource_group("rg-keep", "kept")
        assert kept.properties.provisioning_state == "succeeded"
        assert names(kept.properties.resources) == ["stackm1"]
        with pytest.raises(HttpResponseError) as info:  # its deny assignment too
            arm.connection.resource_client().resources.begin_delete_by_id(
                storage_id("rg-keep", "stackm1"), api_version=STORAGE_API
            ).result()
        assert info.value.error.code == "DenyAssignmentAuthorizationFailed"
