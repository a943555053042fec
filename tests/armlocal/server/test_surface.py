"""Issue 16: resources by id (PATCH, DELETE statuses, no apiVersion echo, asynchronous
provisioning per type) and management locks, through the official SDKs over HTTPS."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from azure.core.exceptions import HttpResponseError
from azure.mgmt.resource.locks import ManagementLockClient

from bicep_assets.armlocal import LocalArm
from bicep_assets.armlocal.http.api_versions import DEPLOYMENTS, LOCKS, RESOURCES

from .conftest import deploy_body, raw, storage, template

SUB = "00000000-0000-0000-0000-000000000000"
SUB_SCHEMA = (
    "https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#"
)
RG_ID = f"/subscriptions/{SUB}/resourceGroups/rg-test"
VNET_ID = f"{RG_ID}/providers/Microsoft.Network/virtualNetworks/vnet1"
SITE_PLAN_ID = f"{RG_ID}/providers/Microsoft.Web/serverfarms/plan1"
VNET = {
    "location": "westeurope",
    "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}},
}


@pytest.fixture
def locks(arm: LocalArm) -> ManagementLockClient:
    return ManagementLockClient(**arm.connection.client_kwargs())


# -- resources by id ----------------------------------------------------------------------
def test_synchronous_type_answers_without_api_version(arm: LocalArm, group: str) -> None:
    put = raw(
        arm, "PUT", SITE_PLAN_ID, "2023-01-01", {"location": "westeurope", "sku": {"name": "B1"}}
    )
    assert put.status_code == 201
    assert "apiVersion" not in put.json()
    assert "Azure-AsyncOperation" not in put.headers
    got = raw(arm, "GET", SITE_PLAN_ID, "2023-01-01").json()
    assert "apiVersion" not in got and got["properties"]["provisioningState"] == "Succeeded"
    listed = raw(arm, "GET", f"{RG_ID}/resources", "2025-04-01").json()["value"]
    assert [r["id"] for r in listed] == [SITE_PLAN_ID]
    assert "apiVersion" not in listed[0]
    # the provider still lists the api-version it was written with
    provider = raw(arm, "GET", f"/subscriptions/{SUB}/providers/Microsoft.Web", "2025-04-01")
    farms = [t for t in provider.json()["resourceTypes"] if t["resourceType"] == "serverfarms"]
    assert "2023-01-01" in farms[0]["apiVersions"]


def test_network_type_is_provisioned_asynchronously(
    arm: LocalArm, resources: Any, group: str
) -> None:
    put = raw(arm, "PUT", VNET_ID, "2024-05-01", VNET)
    assert put.status_code == 201
    assert put.json()["properties"]["provisioningState"] == "Updating"
    status_url = put.headers["Azure-AsyncOperation"]
    assert "/providers/Microsoft.Network/locations/westeurope/operationStatuses/" in status_url
    status = requests.get(
        status_url, headers={"Authorization": f"Bearer {arm.connection.token}"},
        verify=arm.connection.ca_file, timeout=10,
    )  # fmt: skip
    assert status.json()["status"] == "Succeeded"
    # the SDK's generic client polls it to the end
    poller = resources.resources.begin_create_or_update_by_id(
        VNET_ID, api_version="2024-05-01", parameters=VNET
    )
    assert poller.result().properties["provisioningState"] == "Succeeded"
    deleted = raw(arm, "DELETE", VNET_ID, "2024-05-01")
    assert deleted.status_code == 202
    assert "Azure-AsyncOperation" in deleted.headers and "Location" in deleted.headers
    assert raw(arm, "DELETE", VNET_ID, "2024-05-01").status_code == 204


def test_in_progress_state_lasts_the_resource_delay(arm: LocalArm, group: str) -> None:
    arm.config.resource_delay_s = 30.0
    put = raw(arm, "PUT", VNET_ID, "2024-05-01", VNET)
    got = raw(arm, "GET", VNET_ID, "2024-05-01").json()
    assert got["properties"]["provisioningState"] == "Updating"
    status = requests.get(
        put.headers["Azure-AsyncOperation"],
        headers={"Authorization": f"Bearer {arm.connection.token}"},
        verify=arm.connection.ca_file,
        timeout=10,
    )
    assert status.json()["status"] == "InProgress"
    assert status.headers["Retry-After"] == "0"


def test_storage_account_is_created_with_202_and_location(
    arm: LocalArm, resources: Any, group: str
) -> None:
    rid = f"{RG_ID}/providers/Microsoft.Storage/storageAccounts/stasync01"
    body = {"location": "westeurope", "sku": {"name": "Standard_LRS"}, "kind": "StorageV2"}
    put = raw(arm, "PUT", rid, "2023-01-01", body)
    assert put.status_code == 202 and put.content == b""
    result = requests.get(
        put.headers["Location"],
        headers={"Authorization": f"Bearer {arm.connection.token}"},
        verify=arm.connection.ca_file,
        timeout=10,
    )
    assert result.status_code == 200 and result.json()["id"] == rid
    # an update is answered at once, and the SDK meets both
    poller = resources.resources.begin_create_or_update_by_id(
        rid, api_version="2023-01-01", parameters=body
    )
    assert poller.result().name == "stasync01"
    assert raw(arm, "DELETE", rid, "2023-01-01").status_code == 200


def test_patch_merges_properties_and_replaces_tags(
    arm: LocalArm, resources: Any, group: str
) -> None:
    resources.resources.begin_create_or_update_by_id(
        SITE_PLAN_ID,
        api_version="2023-01-01",
        parameters={
            "location": "westeurope",
            "tags": {"a": "1"},
            "properties": {"x": 1, "y": {"z": 2}},
        },
    ).result()
    updated = resources.resources.begin_update_by_id(
        SITE_PLAN_ID,
        api_version="2023-01-01",
        parameters={"tags": {"b": "2"}, "properties": {"y": {"w": 3}}},
    ).result()
    assert updated.tags == {"b": "2"}
    assert updated.properties["x"] == 1 and updated.properties["y"] == {"z": 2, "w": 3}
    assert updated.location == "westeurope"
    missing = raw(
        arm, "PATCH", f"{RG_ID}/providers/Microsoft.Web/serverfarms/none", "2023-01-01", {}
    )
    assert missing.status_code == 404


# -- locks --------------------------------------------------------------------------------
def test_lock_lifecycle_at_every_scope(
    arm: LocalArm, locks: Any, resources: Any, group: str
) -> None:
    resources.resources.begin_create_or_update_by_id(
        SITE_PLAN_ID, api_version="2023-01-01", parameters={"location": "westeurope"}
    ).result()
    sub_lock = locks.management_locks.create_or_update_at_subscription_level(
        "no-delete-sub", {"level": "CanNotDelete", "notes": "platform"}
    )
    assert (
        sub_lock.id == f"/subscriptions/{SUB}/providers/Microsoft.Authorization/locks/no-delete-sub"
    )
    assert sub_lock.type == "Microsoft.Authorization/locks"
    rg_lock = locks.management_locks.create_or_update_at_resource_group_level(
        group, "ro", {"level": "ReadOnly"}
    )
    assert rg_lock.level == "ReadOnly"
    res_lock = locks.management_locks.create_or_update_at_resource_level(
        group, "Microsoft.Web", "", "serverfarms", "plan1", "keep", {"level": "CanNotDelete"}
    )
    assert res_lock.id == f"{SITE_PLAN_ID}/providers/Microsoft.Authorization/locks/keep"
    in_sub = sorted(lock.name for lock in locks.management_locks.list_at_subscription_level())
    assert in_sub == ["keep", "no-delete-sub", "ro"]
    in_group = sorted(
        lock.name for lock in locks.management_locks.list_at_resource_group_level(group)
    )
    assert in_group == ["keep", "ro"]
    applying = locks.management_locks.list_at_resource_level(
        group, "Microsoft.Web", "", "serverfarms", "plan1", filter="atScope()"
    )
    assert sorted(lock.name for lock in applying) == ["keep", "no-delete-sub", "ro"]
    assert locks.management_locks.get_at_resource_group_level(group, "ro").notes is None
    locks.management_locks.delete_at_resource_group_level(group, "ro")
    with pytest.raises(HttpResponseError) as caught:
        locks.management_locks.get_at_resource_group_level(group, "ro")
    assert caught.value.status_code == 404
    bad = raw(arm, "PUT", f"{RG_ID}/providers/Microsoft.Authorization/locks/x", "2016-09-01",
              {"properties": {"level": "Sometimes"}})  # fmt: skip
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "LockLevelInvalid"


def test_can_not_delete_refuses_deletes_not_writes(
    arm: LocalArm, locks: Any, resources: Any, group: str
) -> None:
    resources.resources.begin_create_or_update_by_id(
        SITE_PLAN_ID, api_version="2023-01-01", parameters={"location": "westeurope"}
    ).result()
    locks.management_locks.create_or_update_at_resource_group_level(
        group, "keep", {"level": "CanNotDelete"}
    )
    with pytest.raises(HttpResponseError) as caught:
        resources.resources.begin_delete_by_id(SITE_PLAN_ID, api_version="2023-01-01").result()
    assert caught.value.error.code == "ScopeLocked"
    assert caught.value.error.message == (
        f"The scope '{SITE_PLAN_ID}' cannot perform delete operation because following "
        f"scope(s) are locked: '{RG_ID}'. Please remove the lock and try again."
    )
    with pytest.raises(HttpResponseError) as caught:
        resources.resource_groups.begin_delete(group).result()
    assert caught.value.status_code == 409 and caught.value.error.code == "ScopeLocked"
    # writes go through
    resources.resources.begin_update_by_id(
        SITE_PLAN_ID, api_version="2023-01-01", parameters={"tags": {"a": "b"}}
    ).result()
    locks.management_locks.delete_at_resource_group_level(group, "keep")
    resources.resource_groups.begin_delete(group).result()


def test_lock_on_a_resource_refuses_deleting_its_group(
    arm: LocalArm, locks: Any, resources: Any, group: str
) -> None:
    resources.resources.begin_create_or_update_by_id(
        SITE_PLAN_ID, api_version="2023-01-01", parameters={"location": "westeurope"}
    ).result()
    locks.management_locks.create_or_update_by_scope(
        SITE_PLAN_ID, "keep", {"level": "CanNotDelete"}
    )
    with pytest.raises(HttpResponseError) as caught:
        resources.resource_groups.begin_delete(group).result()
    assert f"locked: '{SITE_PLAN_ID}'" in caught.value.error.message


def test_read_only_refuses_writes_actions_and_deployments(
    arm: LocalArm, locks: Any, resources: Any, deployments: Any, group: str
) -> None:
    deployments.deployments.begin_create_or_update(
        group, "first", deploy_body(template([storage("stlocked01")]))
    ).result()
    locks.management_locks.create_or_update_at_resource_group_level(
        group, "ro", {"level": "ReadOnly"}
    )
    account = f"{RG_ID}/providers/Microsoft.Storage/storageAccounts/stlocked01"
    listed = raw(arm, "POST", f"{account}/listKeys", "2023-01-01")
    assert listed.status_code == 409 and listed.json()["error"]["code"] == "ScopeLocked"
    patched = raw(arm, "PATCH", account, "2023-01-01", {"tags": {"a": "b"}})
    assert "cannot perform write operation" in patched.json()["error"]["message"]
    with pytest.raises(HttpResponseError) as caught:
        resources.resource_groups.update(group, {"tags": {"a": "b"}})
    assert caught.value.error.code == "ScopeLocked"
    with pytest.raises(HttpResponseError) as caught:
        deployments.deployments.begin_create_or_update(
            group, "second", deploy_body(template([storage("stlocked01", tags={"x": "y"})]))
        ).result()
    assert caught.value.error.code == "DeploymentFailed"
    assert caught.value.error.details[0].code == "ScopeLocked"
    # the lock itself stays manageable
    locks.management_locks.delete_at_resource_group_level(group, "ro")
    assert raw(arm, "POST", f"{account}/listKeys", "2023-01-01").status_code == 200


def test_complete_mode_cannot_delete_a_locked_resource(
    arm: LocalArm, locks: Any, deployments: Any, group: str
) -> None:
    deployments.deployments.begin_create_or_update(
        group, "first", deploy_body(template([storage("stkeep01")]))
    ).result()
    account = f"{RG_ID}/providers/Microsoft.Storage/storageAccounts/stkeep01"
    locks.management_locks.create_or_update_by_scope(account, "keep", {"level": "CanNotDelete"})
    with pytest.raises(HttpResponseError) as caught:
        deployments.deployments.begin_create_or_update(
            group, "empty", deploy_body(template([]), mode="Complete")
        ).result()
    assert caught.value.error.details[0].code == "ScopeLocked"
    assert raw(arm, "GET", account, "2023-01-01").status_code == 200
    # the lock survived complete mode too (locks are not deleted by it)
    assert locks.management_locks.get_by_scope(account, "keep").level == "CanNotDelete"


# -- api-versions -------------------------------------------------------------------------
def test_every_published_version_is_accepted_and_others_listed(arm: LocalArm, group: str) -> None:
    for version in RESOURCES:
        assert raw(arm, "GET", RG_ID, version).status_code == 200, version
    for version in LOCKS:
        listed = raw(arm, "GET", f"{RG_ID}/providers/Microsoft.Authorization/locks", version)
        assert listed.status_code == 200, version
    refused = raw(arm, "GET", f"{RG_ID}/providers/Microsoft.Authorization/locks", "2019-01-01")
    assert refused.status_code == 400
    assert refused.json()["error"] == {
        "code": "InvalidApiVersionParameter",
        "message": "The api-version '2019-01-01' is invalid. The supported versions are "
        "'2020-05-01,2017-04-01,2016-09-01,2015-01-01'.",
    }
    refused = raw(arm, "GET", RG_ID, "2018-07-01")
    assert refused.json()["error"]["message"].startswith(
        "The api-version '2018-07-01' is invalid. The supported versions are '2025-04-01,"
    )
    # a provider the local ARM does not model takes any well-formed version
    assert raw(arm, "GET", SITE_PLAN_ID, "2001-02-03").status_code == 404


def test_each_service_takes_its_own_versions_only(arm: LocalArm, group: str) -> None:
    """One list per service (http/api_versions.py): deployments have a newer version than
    resource groups, Resource Health versions of its own, and neither takes the other's."""
    deployment = f"{RG_ID}/providers/Microsoft.Resources/deployments/none"
    assert raw(arm, "GET", deployment, DEPLOYMENTS[-1]).json()["error"]["code"] == (
        "DeploymentNotFound"
    )
    refused = raw(arm, "GET", RG_ID, "2026-06-01").json()["error"]
    assert refused["code"] == "InvalidApiVersionParameter"
    assert refused["message"] == (
        "The api-version '2026-06-01' is invalid. The supported versions are '"
        + ",".join(sorted(RESOURCES, reverse=True))
        + "'."
    )
    health = f"{SITE_PLAN_ID}/providers/Microsoft.ResourceHealth/availabilityStatuses/current"
    refused = raw(arm, "GET", health, "2025-04-01-preview").json()["error"]
    assert refused["message"] == (
        "The api-version '2025-04-01-preview' is invalid. The supported versions are "
        "'2025-05-01-preview,2025-05-01,2025-04-01,2024-02-01,2023-10-01-preview,"
        "2022-10-01-preview,2022-10-01,2022-06-01,2022-05-01,2021-03-01,2020-05-01,2018-07-01,"
        "2017-07-01,2015-01-01-preview,2015-01-01'."
    )
    assert raw(arm, "GET", health, "2019-05-01").json()["error"]["code"] == (
        "InvalidApiVersionParameter"
    )  # a Microsoft.Resources version is not Resource Health's
    for version in ("2015-01-01", "2025-05-01"):
        assert raw(arm, "GET", health, version).status_code == 404, version  # no such site
    # a Microsoft.Resources type the local ARM does not model (deploymentScripts) takes any
    script = f"{RG_ID}/providers/Microsoft.Resources/deploymentScripts/s1"
    assert raw(arm, "GET", script, "2023-08-01").status_code == 404


# -- deployments and what-if --------------------------------------------------------------
def test_deployment_record_lists_providers_and_omits_absent_outputs(
    arm: LocalArm, deployments: Any, group: str
) -> None:
    path = f"{RG_ID}/providers/Microsoft.Resources/deployments"
    empty = raw(arm, "PUT", f"{path}/nothing", "2025-04-01", deploy_body(template([])))
    assert empty.status_code == 201
    arm.backend.runner.wait_idle()  # accepted: it runs in the background, as in ARM
    props = raw(arm, "GET", f"{path}/nothing", "2025-04-01").json()["properties"]
    assert props["provisioningState"] == "Succeeded"
    # the specification's PutDeploymentWithExternalInputs.json: a succeeded deployment of no
    # resource answers "outputResources": []; one without outputs has no "outputs"
    assert "outputs" not in props and props["outputResources"] == []
    deployments.deployments.begin_create_or_update(
        group, "one", deploy_body(template([storage("stprov01")]))
    ).result()
    props = raw(arm, "GET", f"{path}/one", "2025-04-01").json()["properties"]
    assert props["providers"] == [
        {
            "namespace": "Microsoft.Storage",
            "resourceTypes": [{"resourceType": "storageAccounts", "locations": ["westeurope"]}],
        }
    ]
    assert props["outputResources"] == [
        {"id": f"{RG_ID}/providers/Microsoft.Storage/storageAccounts/stprov01"}
    ]
    assert "outputs" not in props
    # a resource without a location is listed with a null one, as ARM lists a policy
    # definition (the specification's PutDeploymentAtScope.json: "locations": [null])
    policy = {
        "type": "Microsoft.Authorization/policyDefinitions",
        "apiVersion": "2021-06-01",
        "name": "audit-west",
        "properties": {"policyRule": {"if": {"field": "location", "equals": "westus"},
                                      "then": {"effect": "audit"}}},
    }  # fmt: skip
    body = {"location": "westeurope", **deploy_body({**template([policy]), "$schema": SUB_SCHEMA})}
    at_sub = f"/subscriptions/{SUB}/providers/Microsoft.Resources/deployments/policies"
    started = raw(arm, "PUT", at_sub, "2025-04-01", body)
    assert started.status_code == 201
    assert started.json()["properties"]["providers"] == [
        {
            "namespace": "Microsoft.Authorization",
            "resourceTypes": [{"resourceType": "policyDefinitions", "locations": [None]}],
        }
    ]


def test_validate_carries_the_request_correlation_id(arm: LocalArm, group: str) -> None:
    """Microsoft's PostDeploymentValidateOn*.json examples show ``properties.correlationId``
    in every validate result: the request's, as in the deployment it would start."""
    correlation = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
    conn = arm.connection
    answer = requests.post(
        f"{conn.base_url}{RG_ID}/providers/Microsoft.Resources/deployments/v/validate"
        "?api-version=2025-04-01",
        json=deploy_body(template([storage("stvalid01")])),
        headers={
            "Authorization": f"Bearer {conn.token}",
            "x-ms-correlation-request-id": correlation,
        },
        verify=conn.ca_file,
        timeout=10,
    )
    assert answer.status_code == 200
    assert answer.json()["properties"]["correlationId"] == correlation
    assert answer.json()["properties"]["validatedResources"] == [
        {"id": f"{RG_ID}/providers/Microsoft.Storage/storageAccounts/stvalid01"}
    ]


def test_what_if_carries_the_request_correlation_id(arm: LocalArm, group: str) -> None:
    correlation = "0f8fad5b-d9cb-469f-a165-70867728950e"
    conn = arm.connection
    answer = requests.post(
        f"{conn.base_url}{RG_ID}/providers/Microsoft.Resources/deployments/w/whatIf"
        "?api-version=2025-04-01",
        json=deploy_body(template([storage("stwhatif01")])),
        headers={
            "Authorization": f"Bearer {conn.token}",
            "x-ms-correlation-request-id": correlation,
        },
        verify=conn.ca_file,
        timeout=10,
    )
    assert answer.json()["properties"]["correlationId"] == correlation
    assert answer.json()["properties"]["changes"][0]["changeType"] == "Create"
    assert answer.headers["x-ms-correlation-request-id"] == correlation
    assert answer.headers["x-ms-request-id"]
    made = raw(arm, "GET", RG_ID, "2025-04-01")
    assert len(made.headers["x-ms-correlation-request-id"]) == 36


def test_group_delete_is_long_running(arm: LocalArm, resources: Any, group: str) -> None:
    arm.config.resource_delay_s = 30.0
    deleted = raw(arm, "DELETE", RG_ID, "2025-04-01")
    assert deleted.status_code == 202 and deleted.headers["Retry-After"] == "0"
    location = deleted.headers["Location"]
    assert "/providers/Microsoft.Resources/locations/westeurope/operationResults/" in location
    auth = {"Authorization": f"Bearer {arm.connection.token}"}
    poll = requests.get(location, headers=auth, verify=arm.connection.ca_file, timeout=10)
    assert poll.status_code == 202 and poll.headers["Location"] == location
    arm.config.resource_delay_s = 0.0
    resources.resource_groups.create_or_update("rg-quick", {"location": "westeurope"})
    resources.resource_groups.begin_delete("rg-quick").result()  # the SDK polls it to 200
    assert resources.resource_groups.check_existence("rg-quick") is False


def test_operations_are_refused_at_versions_before_they_existed(arm: LocalArm, group: str) -> None:
    body = deploy_body(template([]))
    old = raw(arm, "POST", f"{RG_ID}/providers/Microsoft.Resources/deployments/d/whatIf",
              "2019-05-10", body)  # fmt: skip
    assert old.status_code == 400
    message = old.json()["error"]["message"]
    assert message.startswith("The api-version '2019-05-10' is invalid. The supported versions")
    assert message.endswith(",2019-08-01,2019-07-01'.")
    tenant = raw(arm, "GET", "/providers/Microsoft.Resources/deployments", "2019-05-01")
    assert tenant.json()["error"]["code"] == "InvalidApiVersionParameter"
    # subscription deployments: from 2018-05-01, the first specification defining them
    at_sub = f"/subscriptions/{SUB}/providers/Microsoft.Resources/deployments"
    sub_old = raw(arm, "GET", at_sub, "2018-02-01")
    assert sub_old.status_code == 400
    assert sub_old.json()["error"]["message"].endswith(",2018-05-01'.")
    assert raw(arm, "GET", at_sub, "2018-05-01").ok
    # the same versions serve the operations that existed then
    assert raw(arm, "POST", f"{RG_ID}/providers/Microsoft.Resources/deployments/d/validate",
               "2016-09-01", body).status_code == 200  # fmt: skip
    assert raw(arm, "GET", "/providers/Microsoft.Resources/deployments", "2019-07-01").ok
