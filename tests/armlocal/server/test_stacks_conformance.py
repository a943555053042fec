"""The stacks API against facts read from the REST specification's examples
(``deploymentStacks/stable/2025-07-01/examples``: ``DeploymentStackResourceGroupCreate``,
``…Get``, ``…List``, ``…Delete``, ``DeploymentStackSubscriptionValidate``,
``DeploymentStackManagementGroupCreate``, ``DeploymentStackExportTemplate``): the status codes
each operation may answer, the keys its body carries, and the enums its values come from. Raw
requests through the official client's ``send_request``, so that statuses and headers show."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.rest import HttpRequest

from bicep_assets.armlocal import LocalArm

from .conftest import storage, template

SUB = "00000000-0000-0000-0000-000000000000"
API = "?api-version=2025-07-01"
PROVISIONING_STATES = {
    "creating", "validating", "waiting", "deploying", "canceling", "updatingDenyAssignments",
    "deletingResources", "succeeded", "failed", "canceled", "deleting", "initializing", "running",
}  # fmt: skip
DENY_STATUS = {
    "denyDelete", "notSupported", "inapplicable", "denyWriteAndDelete", "removedBySystem",
    "none", "unknown",
}  # fmt: skip
RESOURCE_STATUS = {"managed", "removeDenyFailed", "deleteFailed"}
SYSTEM_DATA = {
    "createdBy", "createdByType", "createdAt", "lastModifiedBy", "lastModifiedByType",
    "lastModifiedAt",
}  # fmt: skip
CREATED_BY_TYPES = {"User", "Application", "ManagedIdentity", "Key"}
DENY_SETTINGS = {"mode", "excludedPrincipals", "excludedActions", "applyToChildScopes"}


@pytest.fixture
def client(arm: LocalArm) -> Any:
    return arm.connection.stacks_client()


def send(client: Any, method: str, path: str, body: Any = None) -> Any:
    return client.send_request(HttpRequest(method, path + API, json=body))


def body(**extra: Any) -> dict[str, Any]:
    return {
        "tags": {"tagkey": "tagVal"},
        **extra,
        "properties": {
            "actionOnUnmanage": {"resources": "delete", "resourceGroups": "delete",
                                 "managementGroups": "detach"},
            "denySettings": {"mode": "denyDelete", "excludedPrincipals": ["principal"],
                             "excludedActions": ["action"], "applyToChildScopes": False},
            "parameters": {"parameter1": {"value": "a string"}},
            "template": template(
                [storage("stackconf1")],
                parameters={"parameter1": {"type": "string"}},
                outputs={"myOut": {"type": "string", "value": "myVal"}},
            ),
        },
    }  # fmt: skip


def wait(client: Any, created: Any) -> None:
    status_url = created.headers.get("Azure-AsyncOperation")
    while status_url:
        status = client.send_request(HttpRequest("GET", status_url)).json()
        assert status["status"] in ("Running", "Succeeded", "Failed", "Canceled")
        if status["status"] != "Running":
            return


def check_stack(stack: dict[str, Any], stack_id: str) -> None:
    assert stack["id"] == stack_id
    assert stack["type"] == "Microsoft.Resources/deploymentStacks"
    assert stack["name"] == stack_id.rsplit("/", 1)[1]
    assert stack["tags"] == {"tagkey": "tagVal"}
    assert set(stack["systemData"]) == SYSTEM_DATA
    assert stack["systemData"]["createdByType"] in CREATED_BY_TYPES
    props = stack["properties"]
    assert props["provisioningState"] in PROVISIONING_STATES
    assert props["actionOnUnmanage"] == {
        "resources": "delete", "resourceGroups": "delete", "managementGroups": "detach"
    }  # fmt: skip
    assert set(props["denySettings"]) == DENY_SETTINGS
    assert props["parameters"] == {"parameter1": {"type": "String", "value": "a string"}}


def test_resource_group_create_get_list_export_delete(client: Any, group: str) -> None:
    scope = f"/subscriptions/{SUB}/resourceGroups/{group}"
    stack_id = f"{scope}/providers/Microsoft.Resources/deploymentStacks/simpleDeploymentStack"
    created = send(client, "PUT", stack_id, body())
    assert created.status_code == 201  # "Resource 'DeploymentStack' create operation succeeded"
    assert created.headers["Azure-AsyncOperation"].startswith("https://")
    assert created.headers["Retry-After"].isdigit()
    check_stack(created.json(), stack_id)
    wait(client, created)
    got = send(client, "GET", stack_id)
    assert got.status_code == 200
    stack = got.json()
    check_stack(stack, stack_id)
    props = stack["properties"]
    assert props["provisioningState"] == "succeeded"
    assert props["deploymentId"].startswith(f"{scope}/providers/Microsoft.Resources/deployments/")
    assert props["deploymentScope"] == scope
    assert props["outputs"] == {"myOut": {"type": "String", "value": "myVal"}}
    assert props["duration"].startswith("PT")
    for resource in props["resources"]:
        assert set(resource) == {"id", "status", "denyStatus"}
        assert resource["status"] in RESOURCE_STATUS and resource["denyStatus"] in DENY_STATUS
    again = send(client, "PUT", stack_id, body())
    assert again.status_code == 200  # "Resource 'DeploymentStack' update operation succeeded"
    wait(client, again)
    listed = send(client, "GET", f"{scope}/providers/Microsoft.Resources/deploymentStacks")
    assert listed.status_code == 200 and [s["id"] for s in listed.json()["value"]] == [stack_id]
    exported = send(client, "POST", f"{stack_id}/exportTemplate")
    assert exported.status_code == 200 and set(exported.json()) == {"template"}
    deleted = send(client, "DELETE", stack_id)
    assert deleted.status_code == 202  # "Resource deletion accepted."
    assert deleted.headers["Location"].startswith("https://")
    assert client.send_request(HttpRequest("GET", deleted.headers["Location"])).status_code in (
        200,
        204,
    )
    assert send(client, "DELETE", stack_id).status_code == 204  # "Resource does not exist."
    missing = send(client, "GET", stack_id)
    assert missing.status_code == 404 and set(missing.json()["error"]) >= {"code", "message"}


def test_subscription_validate_answers_the_result_or_the_error(client: Any) -> None:
    stack_id = f"/subscriptions/{SUB}/providers/Microsoft.Resources/deploymentStacks/validated"
    request = body(location="eastus")
    request["properties"]["template"]["$schema"] = (
        "https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#"
    )
    request["properties"]["template"]["resources"] = []
    answer = send(client, "POST", f"{stack_id}/validate", request)
    assert answer.status_code == 200  # the result: "Successful validation result."
    result = answer.json()
    assert (result["id"], result["name"], result["type"]) == (
        stack_id,
        "validated",
        "Microsoft.Resources/deploymentStacks",
    )
    assert set(result["properties"]) >= {
        "correlationId", "denySettings", "deploymentScope", "parameters", "validatedResources",
    }  # fmt: skip
    assert result["properties"]["deploymentScope"] == f"/subscriptions/{SUB}"
    assert result["properties"]["parameters"]["parameter1"] == {
        "type": "String", "value": "a string"
    }  # fmt: skip
    request["properties"]["parameters"] = {}
    failed = send(client, "POST", f"{stack_id}/validate", request)
    assert failed.status_code == 400  # "Failed validation result."
    assert set(failed.json()["error"]) >= {"code", "message"}


def test_management_group_create_answers_the_stack_with_its_location(
    arm: LocalArm, client: Any
) -> None:
    groups = arm.connection.management_groups_client().management_groups
    groups.begin_create_or_update("myMg", {"properties": {"displayName": "My"}}).result()
    stack_id = (
        "/providers/Microsoft.Management/managementGroups/myMg/providers/"
        "Microsoft.Resources/deploymentStacks/simpleDeploymentStack"
    )
    request = body(location="eastus")
    request["properties"]["template"]["$schema"] = (
        "https://schema.management.azure.com/schemas/2019-08-01/"
        "managementGroupDeploymentTemplate.json#"
    )
    request["properties"]["template"]["resources"] = []
    created = send(client, "PUT", stack_id, request)
    assert created.status_code in (200, 201)
    check_stack(created.json(), stack_id)
    assert created.json()["location"] == "eastus"
    wait(client, created)
    assert send(client, "GET", stack_id).json()["properties"]["provisioningState"] == "succeeded"
