"""Deployments at resource-group scope through the official DeploymentsMgmtClient."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import requests
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from bicep_assets.armlocal import LocalArm

from .conftest import deploy_body, storage, template

SUB = "00000000-0000-0000-0000-000000000000"


def raw_put(arm: LocalArm, path: str, body: Any) -> requests.Response:
    conn = arm.connection
    return requests.put(
        f"{conn.base_url}{path}?api-version=2025-04-01",
        json=body,
        headers={"Authorization": f"Bearer {conn.token}"},
        verify=conn.ca_file,
        timeout=10,
    )


def rid(group: str, rtype: str, name: str) -> str:
    return f"/subscriptions/{SUB}/resourceGroups/{group}/providers/{rtype}/{name}"


WEB_TEMPLATE = template(
    [
        storage("[parameters('storageName')]"),
        {
            "type": "Microsoft.Web/serverfarms",
            "apiVersion": "2022-09-01",
            "name": "plan",
            "location": "westeurope",
            "sku": {"name": "B1"},
        },
        {
            "type": "Microsoft.Web/sites",
            "apiVersion": "2022-09-01",
            "name": "[parameters('siteName')]",
            "location": "westeurope",
            "dependsOn": ["[resourceId('Microsoft.Web/serverfarms', 'plan')]"],
            "properties": {
                "serverFarmId": "[resourceId('Microsoft.Web/serverfarms', 'plan')]",
                "siteConfig": {
                    "appSettings": [
                        {
                            "name": "BLOB",
                            "value": "[reference(parameters('storageName')).primaryEndpoints.blob]",
                        }
                    ]
                },
            },
        },
    ],
    parameters={
        "storageName": {"type": "string"},
        "siteName": {"type": "string"},
        "secret": {"type": "securestring", "defaultValue": ""},
    },
    outputs={
        "blob": {
            "type": "string",
            "value": "[reference(parameters('storageName')).primaryEndpoints.blob]",
        },
        "host": {"type": "string", "value": "[reference(parameters('siteName')).defaultHostName]"},
        "secretOut": {"type": "securestring", "value": "[parameters('secret')]"},
    },
)
PARAMS = {
    "storageName": {"value": "stweb"},
    "siteName": {"value": "web1"},
    "secret": {"value": "canary-Secret-123"},
}


def test_create_deployment_end_to_end(deployments: Any, arm: LocalArm, group: str) -> None:
    poller = deployments.deployments.begin_create_or_update(
        group, "web", deploy_body(WEB_TEMPLATE, PARAMS)
    )
    result = poller.result()
    props = result.properties
    assert props.provisioning_state == "Succeeded"
    assert props.mode == "Incremental"
    assert props.outputs["blob"] == {
        "type": "String",
        "value": "https://stweb.blob.core.windows.net/",
    }
    assert props.outputs["secretOut"] == {"type": "SecureString"}
    assert props.parameters["secret"] == {"type": "SecureString"}
    assert props.parameters["siteName"] == {"type": "String", "value": "web1"}
    assert sorted(r.id for r in props.output_resources) == sorted(
        [
            rid(group, "Microsoft.Storage/storageAccounts", "stweb"),
            rid(group, "Microsoft.Web/serverfarms", "plan"),
            rid(group, "Microsoft.Web/sites", "web1"),
        ]
    )
    assert props.correlation_id and props.template_hash and props.duration.startswith("PT")
    site = arm.store.get_resource(rid(group, "Microsoft.Web/sites", "web1"))
    assert site["properties"]["siteConfig"]["appSettings"] == [
        {"name": "BLOB", "value": "https://stweb.blob.core.windows.net/"}
    ]
    # the secret reached no stored record
    assert "canary-Secret-123" not in repr(
        arm.store.get_deployment(f"/subscriptions/{SUB}/resourceGroups/{group}", "web")
    )
    operations = list(deployments.deployment_operations.list(group, "web"))
    targets = [o.properties.target_resource.resource_name for o in operations]
    assert sorted(targets) == ["plan", "stweb", "web1"]
    assert all(o.properties.provisioning_state == "Succeeded" for o in operations)
    assert targets.index("plan") < targets.index("web1")
    one = deployments.deployment_operations.get(group, "web", operations[0].operation_id)
    assert one.operation_id == operations[0].operation_id


def test_get_head_list_and_delete(deployments: Any, group: str) -> None:
    ops = deployments.deployments
    ops.begin_create_or_update(group, "one", deploy_body(template([storage("sa1")]))).result()
    ops.begin_create_or_update(group, "two", deploy_body(template([storage("sa2")]))).result()
    assert ops.get(group, "one").name == "one"
    assert ops.check_existence(group, "two") is True
    assert ops.check_existence(group, "three") is False
    assert sorted(d.name for d in ops.list_by_resource_group(group)) == ["one", "two"]
    assert [d.name for d in ops.list_by_resource_group(group, top=1)] in (["one"], ["two"])
    failed = list(ops.list_by_resource_group(group, filter="provisioningState eq 'Failed'"))
    assert failed == []
    ops.begin_delete(group, "one").result()
    assert ops.check_existence(group, "one") is False
    with pytest.raises(ResourceNotFoundError) as info:
        ops.get(group, "one")
    assert info.value.error.code == "DeploymentNotFound"
    assert info.value.error.message == "Deployment 'one' could not be found."


@pytest.mark.slow
def test_list_pages_with_next_link(deployments: Any, group: str) -> None:
    ops = deployments.deployments
    tpl = template([])
    for i in range(105):
        ops.begin_create_or_update(group, f"d{i:03d}", deploy_body(tpl)).result()
    names = [d.name for d in ops.list_by_resource_group(group)]
    assert len(names) == 105 and len(set(names)) == 105


def test_complete_mode_deletes_what_the_template_no_longer_declares(
    deployments: Any, resources: Any, group: str
) -> None:
    ops = deployments.deployments
    ops.begin_create_or_update(
        group, "first", deploy_body(template([storage("keep"), storage("drop")]))
    ).result()
    result = ops.begin_create_or_update(
        group, "second", deploy_body(template([storage("keep")]), mode="Complete")
    ).result()
    assert result.properties.provisioning_state == "Succeeded"
    assert [r.name for r in resources.resources.list_by_resource_group(group)] == ["keep"]
    kinds = {
        (o.properties.provisioning_operation, o.properties.target_resource.resource_name)
        for o in deployments.deployment_operations.list(group, "second")
    }
    assert ("Delete", "drop") in kinds


def test_redeploying_a_finished_name_runs_again(
    deployments: Any, arm: LocalArm, group: str
) -> None:
    ops = deployments.deployments
    ops.begin_create_or_update(group, "same", deploy_body(template([storage("sta1")]))).result()
    second = ops.begin_create_or_update(
        group, "same", deploy_body(template([storage("sta2")]))
    ).result()
    assert second.properties.provisioning_state == "Succeeded"
    assert [r.id.rsplit("/", 1)[-1] for r in second.properties.output_resources] == ["sta2"]


def test_put_to_a_running_deployment_is_deployment_active(
    deployments: Any, arm: LocalArm, group: str
) -> None:
    arm.config.resource_delay_s = 0.5
    ops = deployments.deployments
    poller = ops.begin_create_or_update(
        group, "busy", deploy_body(template([storage("stb1"), storage("stb2")]))
    )
    with pytest.raises(HttpResponseError) as info:
        ops.begin_create_or_update(group, "busy", deploy_body(template([storage("stb3")])))
    assert info.value.status_code == 409
    assert info.value.error.code == "DeploymentActive"
    assert "Unable to edit or replace deployment 'busy'" in info.value.error.message
    assert poller.result().properties.provisioning_state == "Succeeded"


def test_long_running_deployment_takes_several_polls(
    deployments: Any, arm: LocalArm, group: str
) -> None:
    arm.config.resource_delay_s = 0.2
    deployments.deployments.begin_create_or_update(
        group, "slow", deploy_body(template([storage(f"sts{i}") for i in range(4)]))
    ).result()
    polls = [p for m, p, s in arm.app.requests if "/operationStatuses/" in p]
    assert len(polls) >= 3


def test_cancel_a_running_deployment(deployments: Any, arm: LocalArm, group: str) -> None:
    arm.config.resource_delay_s = 0.3
    ops = deployments.deployments
    poller = ops.begin_create_or_update(
        group, "stopme", deploy_body(template([storage(f"stc{i}") for i in range(6)]))
    )
    time.sleep(0.4)
    ops.cancel(group, "stopme")
    with pytest.raises(HttpResponseError):
        poller.result()
    record = ops.get(group, "stopme")
    assert record.properties.provisioning_state == "Canceled"
    assert 0 < len(record.properties.output_resources) < 6
    with pytest.raises(HttpResponseError) as info:
        ops.cancel(group, "stopme")
    assert info.value.status_code == 409
    assert info.value.error.code == "DeploymentCannotBeCancelled"


@pytest.mark.parametrize(
    ("name", "code", "message"),
    [
        (
            "x" * 65,
            "DeploymentNameLengthLimitExceeded",
            "has a length of '65' which exceeds the maximum length of '64'",
        ),
        ("bad name!", "InvalidDeploymentName", "may contain only letters, digits"),
    ],
    ids=["too-long", "bad-characters"],
)
def test_deployment_name_rules(
    deployments: Any, group: str, name: str, code: str, message: str
) -> None:
    with pytest.raises(HttpResponseError) as info:
        deployments.deployments.begin_create_or_update(group, name, deploy_body(template([])))
    assert info.value.status_code == 400
    assert info.value.error.code == code
    assert message in info.value.error.message


def test_deployment_into_missing_group(deployments: Any) -> None:
    with pytest.raises(ResourceNotFoundError) as info:
        deployments.deployments.begin_create_or_update("ghost-rg", "d", deploy_body(template([])))
    assert info.value.error.code == "ResourceGroupNotFound"


def test_invalid_template_is_400_with_arm_code(deployments: Any, group: str) -> None:
    bad = template([storage("[concat('a', nope())]")])
    with pytest.raises(HttpResponseError) as info:
        deployments.deployments.begin_create_or_update(group, "bad", deploy_body(bad))
    assert info.value.status_code == 400
    assert info.value.error.code == "InvalidTemplate"
    assert (
        "resources[0].name: The template function 'nope' is not valid" in info.value.error.message
    )
    assert deployments.deployments.check_existence(group, "bad") is False


def test_missing_parameter_is_rejected_before_any_write(
    deployments: Any, resources: Any, group: str
) -> None:
    with pytest.raises(HttpResponseError) as info:
        deployments.deployments.begin_create_or_update(group, "p", deploy_body(WEB_TEMPLATE, {}))
    assert info.value.error.code == "InvalidTemplate"
    assert "'storageName, siteName' are not provided" in info.value.error.message
    assert list(resources.resources.list_by_resource_group(group)) == []


def test_validate(deployments: Any, group: str) -> None:
    result = deployments.deployments.begin_validate(
        group, "v", deploy_body(WEB_TEMPLATE, PARAMS)
    ).result()
    assert result.properties.provisioning_state == "Succeeded"
    assert len(result.properties.validated_resources) == 3
    with pytest.raises(HttpResponseError) as info:
        deployments.deployments.begin_validate(group, "v", deploy_body(WEB_TEMPLATE, {})).result()
    assert info.value.status_code == 400
    assert info.value.error.code == "InvalidTemplate"


def test_export_template(deployments: Any, group: str) -> None:
    tpl = template([storage("ex1")])
    deployments.deployments.begin_create_or_update(group, "ex", deploy_body(tpl)).result()
    assert deployments.deployments.export_template(group, "ex").template == tpl


def test_resource_failure_fails_the_deployment_with_details(
    deployments: Any, arm: LocalArm, group: str
) -> None:
    from bicep_assets.armlocal import FaultPlanSpec, FaultRule

    arm.backend.faults.replace(
        FaultPlanSpec(
            rules=[
                FaultRule(
                    kind="deployment_error",
                    resource_type="Microsoft.Web/sites",
                    arm_code="ResourceQuotaExceeded",
                    arm_message="Quota of sites exceeded in westeurope.",
                )
            ]
        )
    )
    with pytest.raises(HttpResponseError) as info:
        deployments.deployments.begin_create_or_update(
            group, "quota", deploy_body(WEB_TEMPLATE, PARAMS)
        ).result()
    assert info.value.error.code == "DeploymentFailed"
    assert info.value.error.details[0].code == "ResourceQuotaExceeded"
    record = deployments.deployments.get(group, "quota")
    assert record.properties.provisioning_state == "Failed"
    assert record.properties.error.details[0].message == "Quota of sites exceeded in westeurope."
    failed_ops = [
        o
        for o in deployments.deployment_operations.list(group, "quota")
        if o.properties.provisioning_state == "Failed"
    ]
    assert [o.properties.target_resource.resource_name for o in failed_ops] == ["web1"]


def test_on_error_deployment_last_successful(
    deployments: Any, arm: LocalArm, resources: Any, group: str
) -> None:
    from bicep_assets.armlocal import FaultPlanSpec, FaultRule

    ops = deployments.deployments
    ops.begin_create_or_update(group, "good", deploy_body(template([storage("stg1")]))).result()
    arm.backend.faults.replace(
        FaultPlanSpec(
            rules=[
                FaultRule(
                    kind="deployment_error",
                    resource_name="stg2",
                    arm_code="AllocationFailed",
                    arm_message="Allocation failed.",
                )
            ]
        )
    )
    body = deploy_body(template([storage("stg2")]), onErrorDeployment={"type": "LastSuccessful"})
    # the PUT's own answer already names the deployment LastSuccessful stands for (the
    # specification's PutDeploymentWithOnErrorDeploymentLastSuccessful.json example)
    started = raw_put(arm, rid(group, "Microsoft.Resources/deployments", "bad"), body)
    assert started.status_code == 201
    assert started.json()["properties"]["onErrorDeployment"] == {
        "type": "LastSuccessful",
        "deploymentName": "good",
    }
    arm.backend.runner.wait_idle()
    with pytest.raises(HttpResponseError):
        ops.begin_create_or_update(group, "bad", body).result()
    arm.backend.runner.wait_idle()
    bad = ops.get(group, "bad")
    assert bad.properties.on_error_deployment.deployment_name == "good"
    assert ops.get(group, "good").properties.provisioning_state == "Succeeded"


def test_concurrent_deployments_of_different_names(deployments: Any, group: str) -> None:
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            deployments.deployments.begin_create_or_update(
                group, f"par{i}", deploy_body(template([storage(f"par{i}")]))
            ).result()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(list(deployments.deployments.list_by_resource_group(group))) == 6


def test_on_error_deployment_specific_deployment(
    deployments: Any, arm: LocalArm, group: str
) -> None:
    from bicep_assets.armlocal import FaultPlanSpec, FaultRule

    ops = deployments.deployments
    ops.begin_create_or_update(group, "v1", deploy_body(template([storage("v1sa")]))).result()
    ops.begin_create_or_update(group, "v2", deploy_body(template([storage("v2sa")]))).result()
    arm.backend.faults.replace(
        FaultPlanSpec(
            rules=[
                FaultRule(
                    kind="deployment_error", resource_name="v3sa", arm_code="AllocationFailed"
                )
            ]
        )
    )
    body = deploy_body(
        template([storage("v3sa")]),
        onErrorDeployment={"type": "SpecificDeployment", "deploymentName": "v1"},
    )
    with pytest.raises(HttpResponseError):
        ops.begin_create_or_update(group, "v3", body).result()
    arm.backend.runner.wait_idle()
    assert ops.get(group, "v3").properties.on_error_deployment.deployment_name == "v1"
    rerun = ops.get(group, "v1")
    assert rerun.properties.provisioning_state == "Succeeded"
    names = [d.name for d in ops.list_by_resource_group(group)]
    assert names[0] == "v1"  # the rollback is the newest run in the history


def test_racing_puts_of_one_name_start_exactly_one_deployment(
    deployments: Any, arm: LocalArm, group: str
) -> None:
    arm.config.resource_delay_s = 0.3
    outcomes: list[str] = []
    lock = threading.Lock()

    def put() -> None:
        try:
            deployments.deployments.begin_create_or_update(
                group, "race", deploy_body(template([storage("racer")]))
            )
            result = "accepted"
        except HttpResponseError as exc:
            result = exc.error.code
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=put) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["DeploymentActive"] * 4 + ["accepted"]
    arm.backend.runner.wait_idle()
    assert len(list(deployments.deployment_operations.list(group, "race"))) == 1


def test_parameters_given_as_expressions_read_the_external_inputs(
    deployments: Any, arm: LocalArm, group: str
) -> None:
    """The REST specification's PutDeploymentWithExternalInputs.json: a parameter given as
    an ``expression`` is evaluated first, ``externalInputs('name')`` reading the request's
    ``externalInputs``; the deployment records the value it deployed with."""
    body = {
        "properties": {
            "mode": "Incremental",
            "externalInputDefinitions": {"fooValue": {"kind": "sys.envVar", "config": "FOO"}},
            "externalInputs": {"fooValue": {"value": "baz"}},
            "parameters": {
                "inputObj": {"expression": "[createObject('foo', externalInputs('fooValue'))]"}
            },
            "template": template(
                parameters={"inputObj": {"type": "object"}},
                outputs={"inputObj": {"type": "object", "value": "[parameters('inputObj')]"}},
            ),
        }
    }
    path = rid(group, "Microsoft.Resources/deployments", "ext")
    started = raw_put(arm, path, body)
    assert started.status_code == 201
    assert started.json()["properties"]["parameters"] == {
        "inputObj": {"type": "Object", "value": {"foo": "baz"}}
    }
    arm.backend.runner.wait_idle()
    done = deployments.deployments.get(group, "ext").properties
    assert done.outputs == {"inputObj": {"type": "Object", "value": {"foo": "baz"}}}
    assert "externalInputs" not in started.json()["properties"]
    body["properties"]["parameters"]["inputObj"]["expression"] = "[externalInputs('other')]"
    refused = raw_put(arm, rid(group, "Microsoft.Resources/deployments", "ext2"), body)
    assert refused.status_code == 400
    assert refused.json()["error"] == {
        "code": "InvalidTemplate",
        "message": "The expression of parameter 'inputObj' could not be evaluated: "
        "The external input 'other' is not defined in the deployment.",
    }
