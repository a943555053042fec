"""Subscription-scope deployments, and what-if results through the SDK."""

from __future__ import annotations

from typing import Any

from .conftest import deploy_body, storage, template

SUB = "00000000-0000-0000-0000-000000000000"
SUB_SCHEMA = (
    "https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#"
)


def test_subscription_scope_deployment_creates_a_group_and_deploys_into_it(
    deployments: Any, resources: Any
) -> None:
    tpl = {
        "$schema": SUB_SCHEMA,
        "contentVersion": "1.0.0.0",
        "resources": [
            {
                "type": "Microsoft.Resources/resourceGroups",
                "apiVersion": "2022-09-01",
                "name": "rg-from-sub",
                "location": "[deployment().location]",
                "tags": {"by": "sub"},
            },
            {
                "type": "Microsoft.Resources/deployments",
                "apiVersion": "2022-09-01",
                "name": "inner",
                "resourceGroup": "rg-from-sub",
                "dependsOn": [
                    "[subscriptionResourceId('Microsoft.Resources/resourceGroups', 'rg-from-sub')]"
                ],
                "properties": {
                    "mode": "Incremental",
                    "expressionEvaluationOptions": {"scope": "inner"},
                    "template": template(
                        [storage("stsub")],
                        outputs={"rg": {"type": "string", "value": "[resourceGroup().name]"}},
                    ),
                },
            },
        ],
        "outputs": {
            "innerRg": {"type": "string", "value": "[reference('inner').outputs.rg.value]"}
        },
    }
    body = {"location": "swedencentral", **deploy_body(tpl)}
    result = deployments.deployments.begin_create_or_update_at_subscription_scope(
        "sub-dep", body
    ).result()
    assert result.properties.provisioning_state == "Succeeded"
    assert result.properties.outputs["innerRg"]["value"] == "rg-from-sub"
    group = resources.resource_groups.get("rg-from-sub")
    assert (group.location, group.tags) == ("swedencentral", {"by": "sub"})
    assert [r.name for r in resources.resources.list_by_resource_group("rg-from-sub")] == ["stsub"]
    nested = deployments.deployments.get("rg-from-sub", "inner")
    assert nested.properties.provisioning_state == "Succeeded"
    assert deployments.deployments.get_at_subscription_scope("sub-dep").location == "swedencentral"


def test_what_if_modify_and_complete_mode_delete(deployments: Any, group: str) -> None:
    ops = deployments.deployments
    ops.begin_create_or_update(
        group,
        "base",
        deploy_body(template([storage("keep", tags={"env": "dev"}), storage("gone")])),
    ).result()
    body = deploy_body(template([storage("keep", tags={"env": "prod"})]), mode="Complete")
    result = ops.begin_what_if(group, "plan", body).result().as_dict()
    changes = {c["resourceId"].rsplit("/", 1)[-1]: c for c in result["properties"]["changes"]}
    assert changes["gone"]["changeType"] == "Delete"
    assert changes["keep"]["changeType"] == "Modify"
    tag_delta = [d for d in changes["keep"]["delta"] if d["path"] == "tags.env"]
    assert tag_delta == [
        {"path": "tags.env", "propertyChangeType": "Modify", "before": "dev", "after": "prod"}
    ]
    incremental = ops.begin_what_if(group, "plan", deploy_body(template([]))).result().as_dict()
    assert {c["changeType"] for c in incremental["properties"]["changes"]} == {"Ignore"}


def test_what_if_result_format_resource_id_only(deployments: Any, group: str) -> None:
    body = deploy_body(
        template([storage("onlyid")]), whatIfSettings={"resultFormat": "ResourceIdOnly"}
    )
    result = deployments.deployments.begin_what_if(group, "ids", body).result().as_dict()
    assert result["properties"]["changes"] == [
        {
            "resourceId": f"/subscriptions/{SUB}/resourceGroups/{group}/providers/"
            "Microsoft.Storage/storageAccounts/onlyid",
            "changeType": "Create",
        }
    ]


def test_what_if_unsupported_nested_deployment(deployments: Any, group: str) -> None:
    tpl = template(
        [
            storage("dep"),
            {
                "type": "Microsoft.Resources/deployments",
                "apiVersion": "2022-09-01",
                "name": "mod",
                "properties": {
                    "mode": "Incremental",
                    "expressionEvaluationOptions": {"scope": "inner"},
                    "parameters": {"blob": {"value": "[reference('dep').primaryEndpoints.blob]"}},
                    "template": template([], parameters={"blob": {"type": "string"}}),
                },
            },
        ]
    )
    result = deployments.deployments.begin_what_if(group, "n", deploy_body(tpl)).result().as_dict()
    unsupported = [c for c in result["properties"]["changes"] if c["changeType"] == "Unsupported"]
    assert len(unsupported) == 1
    assert (
        "its parameters depend on resources that this deployment creates"
        in (unsupported[0]["unsupportedReason"])
    )
