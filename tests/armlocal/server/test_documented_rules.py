"""Documented ARM rules through the official SDK over HTTPS: a child resource whose parent
does not exist (ParentResourceNotFound, at the resource's turn in the deployment, as ARM
does), and the engine's rules for dependsOn, nested scopes and template expressions as a
deployment runs them."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError

from .conftest import deploy_body, storage, template

SUB = "00000000-0000-0000-0000-000000000000"
CONTAINER = {
    "type": "Microsoft.Storage/storageAccounts/blobServices/containers",
    "apiVersion": "2023-01-01",
    "name": "stparent/default/cont1",
    "properties": {},
}
CONTAINER_ID = (
    f"/subscriptions/{SUB}/resourceGroups/rg-test/providers/Microsoft.Storage/storageAccounts/"
    "stparent/blobServices/default/containers/cont1"
)
PARENT_MESSAGE = (
    "Can not perform requested operation on nested resource. Parent resource 'stparent' not found."
)


def test_child_without_parent_fails_at_deployment_with_parent_resource_not_found(
    deployments: Any, group: str
) -> None:
    ops = deployments.deployments
    body = deploy_body(template([storage("stother"), CONTAINER]))
    # validate and what-if do not look for the parent: it may be created elsewhere first
    assert ops.begin_validate(group, "child", body).result().error is None
    changes = ops.begin_what_if(group, "child", body).result().changes
    assert {(c.resource_id, c.change_type) for c in changes} == {
        (CONTAINER_ID, "Create"),
        (CONTAINER_ID.split("/blobServices")[0].replace("stparent", "stother"), "Create"),
    }
    with pytest.raises(HttpResponseError) as info:
        ops.begin_create_or_update(group, "child", body).result()
    error = info.value.response.json()["error"]
    assert error["code"] == "DeploymentFailed"
    assert error["details"] == [{"code": "ParentResourceNotFound", "message": PARENT_MESSAGE}]
    failed = [
        o.properties
        for o in deployments.deployment_operations.list(group, "child")
        if o.properties.provisioning_state == "Failed"
    ]
    assert [(o.target_resource.id, o.status_code) for o in failed] == [(CONTAINER_ID, "NotFound")]
    assert failed[0].status_message.error.code == "ParentResourceNotFound"
    assert failed[0].status_message.error.message == PARENT_MESSAGE
    # the resource before it was deployed; the child was not
    record = ops.get(group, "child").properties
    assert [r.id.rsplit("/", 1)[-1] for r in record.output_resources] == ["stother"]


@pytest.mark.parametrize(
    "declared",
    [
        [storage("stparent"), CONTAINER],
        [CONTAINER, storage("stparent")],
    ],
    ids=["parent-deployed-first", "parent-in-same-deployment-declared-after"],
)
def test_child_whose_parent_the_same_deployment_deploys_succeeds(
    deployments: Any, declared: Any, group: str, resources: Any
) -> None:
    result = deployments.deployments.begin_create_or_update(
        group, "both", deploy_body(template(declared))
    ).result()
    assert result.properties.provisioning_state == "Succeeded"
    assert resources.resources.get_by_id(CONTAINER_ID, api_version="2023-01-01").id == CONTAINER_ID


def test_child_whose_parent_exists_already_succeeds(
    deployments: Any, group: str, resources: Any
) -> None:
    ops = deployments.deployments
    parent = ops.begin_create_or_update(
        group, "parent", deploy_body(template([storage("stparent")]))
    ).result()
    assert parent.properties.provisioning_state == "Succeeded"
    result = ops.begin_create_or_update(group, "child", deploy_body(template([CONTAINER]))).result()
    assert result.properties.provisioning_state == "Succeeded"


def test_put_of_a_child_by_id_without_its_parent_is_404(resources: Any, group: str) -> None:
    with pytest.raises(HttpResponseError) as info:
        resources.resources.begin_create_or_update_by_id(
            CONTAINER_ID, api_version="2023-01-01", parameters={"properties": {}}
        ).result()
    assert info.value.status_code == 404
    assert info.value.response.json() == {
        "error": {"code": "ParentResourceNotFound", "message": PARENT_MESSAGE}
    }


def test_deployment_runs_the_documented_engine_rules(deployments: Any, group: str) -> None:
    # a loop of count 0 and a conditioned-off resource are nothing to wait for; the nested
    # deployment's resourceGroup '' is this group; its template is given as an expression
    inner = template(
        [storage("stinner")],
        outputs={"group": {"type": "string", "value": "[resourceGroup().name]"}},
    )
    tpl = template(
        [
            {**storage("[format('st{0}', copyIndex())]"), "copy": {"name": "none", "count": 0}},
            storage("stoff", condition=False),
            {
                "type": "Microsoft.Resources/deployments",
                "apiVersion": "2022-09-01",
                "name": "inner",
                "resourceGroup": "",
                "dependsOn": ["none", "stoff"],
                "properties": {
                    "mode": "Incremental",
                    "expressionEvaluationOptions": {"scope": "inner"},
                    "template": "[variables('inner')]",
                },
            },
        ],
        variables={"inner": inner},
        outputs={"group": {"type": "string", "value": "[reference('inner').outputs.group.value]"}},
    )
    ops = deployments.deployments
    result = ops.begin_create_or_update(group, "rules", deploy_body(tpl)).result()
    assert result.properties.provisioning_state == "Succeeded"
    assert result.properties.outputs == {"group": {"type": "String", "value": group}}
    nested = ops.get(group, "inner")
    assert nested.properties.provisioning_state == "Succeeded"
    exported = ops.export_template(group, "inner").template
    assert exported["resources"][0]["name"] == "stinner"


def test_event_hubs_default_consumer_group_is_accepted(deployments: Any, group: str) -> None:
    # every event hub has the consumer group '$Default'; templates configure it with a PUT
    # (the Azure Verified Module for event hubs does) and Event Hubs accepts that
    def consumer_group(name: str) -> dict[str, Any]:
        return {
            "type": "Microsoft.EventHub/namespaces/eventhubs/consumergroups",
            "apiVersion": "2024-01-01",
            "name": f"ehns-test1/hub/{name}",
            "properties": {},
        }

    ops = deployments.deployments
    ok = ops.begin_validate(group, "cg", deploy_body(template([consumer_group("$Default")])))
    assert ok.result().error is None
    with pytest.raises(HttpResponseError) as info:
        ops.begin_validate(group, "cg", deploy_body(template([consumer_group("$Other")]))).result()
    (detail,) = info.value.response.json()["error"]["details"]
    assert detail["code"] == "InvalidResourceName"
    assert detail["message"].startswith(
        "The resource name '$Other' is invalid for resource type "
        "'Microsoft.EventHub/namespaces/eventhubs/consumergroups': it contains '$'."
    )
