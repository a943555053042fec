"""The deploy and plan jobs end to end, through the real SDK into the local ARM."""

from __future__ import annotations

from typing import Any

import dagster as dg
import pytest
from azure.core.exceptions import HttpResponseError

from bicep_assets.armlocal import FaultRule

from .conftest import SUB, Project, copy_example, step_events, storage, template


def metadata_of(result: dg.ExecuteInProcessResult, step: str) -> dict[str, Any]:
    for event in step_events(result, step, "STEP_OUTPUT"):
        return {k: v.value for k, v in event.event_specific_data.metadata.items()}
    raise AssertionError(f"no output from {step}")


def failure_of(result: dg.ExecuteInProcessResult, step: str) -> Any:
    (event,) = step_events(result, step, "STEP_FAILURE")
    return event.step_failure_data.user_failure_data


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_shipped_example_deploys_and_verifies(
    project: Project, env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy_example(project)
    monkeypatch.setenv("DEV_APP_SECRET", "dev-canary-secret")
    monkeypatch.setenv("PROD_APP_SECRET", "prod-canary-secret")
    run_config = None
    if env == "prod":  # prod requires an approved plan: the plan of a plan_prod run
        plan_id = project.run("plan_prod").run_id
        run_config = {"ops": {"gate": {"config": {"approved_plan": plan_id}}}}
    result = project.run(f"deploy_{env}", run_config=run_config)
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    plan = metadata_of(result, "plan")
    assert plan["creates"] >= 4 and plan["deletes"] == 0
    deployed = result.output_for_node("deploy")
    assert deployed.provisioning_state == "Succeeded"
    assert deployed.outputs["webHost"]
    report = result.output_for_node("verify")
    assert report.ok and {c.kind for c in report.checks} >= {"provisioning_state", "http"}
    materialized = [
        e.event_specific_data.materialization.asset_key.path
        for e in result.all_events
        if e.event_type_value == "ASSET_MATERIALIZATION"
    ]
    assert materialized == [["plans", env], ["azure", env]]  # the saved plan, the deployment
    # the first plan had the new group's Create too (ARM planned it at subscription scope);
    # the group is the scope of the plans after it, not one of their changes
    group = f"/subscriptions/{SUB}/resourceGroups/rg-webapp-{env}"
    first = result.output_for_node("plan")
    assert [c.change_type for c in first.changes if c.resource_id == group] == ["Create"]
    if env == "prod":  # a deployment stack whose deny assignment refuses other writers
        assert deployed.stack_id and deployed.stack_id.endswith("/deploymentStacks/prod")
        site = next(r for r in deployed.output_resources if "/Microsoft.Web/sites/" in r)
        resources = project.arm.connection.resource_client().resources
        with pytest.raises(HttpResponseError) as denied:
            resources.begin_delete_by_id(site, api_version="2023-01-01").result()
        assert denied.value.error.code == "DenyAssignmentAuthorizationFailed"
    again = project.run(f"plan_{env}")
    assert again.success
    assert metadata_of(again, "plan")["no_change"] == plan["creates"] - 1


def test_destructive_plan_blocked_then_applied_with_the_flag(project: Project) -> None:
    path = project.write_template("main.json", template([storage("keep1"), storage("drop1")]))
    project.write_manifest("dev", template=path, deployment={"mode": "Complete"})
    assert project.run("deploy_dev").success
    project.write_template("main.json", template([storage("keep1")]))
    blocked = project.run("deploy_dev")
    assert not blocked.success
    failure = failure_of(blocked, "gate")
    assert "drop1" in failure.description
    assert failure.metadata["destructive"].value is True
    assert len(project.deployments("rg-dev")) == 1  # nothing was written to ARM
    applied = project.run(
        "deploy_dev", run_config={"ops": {"gate": {"config": {"allow_destructive": True}}}}
    )
    assert applied.success
    names = [
        r["name"]
        for r in project.arm.store.list_resources("00000000-0000-0000-0000-000000000000", "rg-dev")
    ]
    assert names == ["keep1"]


def test_lint_errors_halt_with_zero_arm_writes(project: Project) -> None:
    path = project.write_template("main.json", template([storage("[concat('a', nope())]")]))
    project.write_manifest("dev", template=path)
    result = project.run("deploy_dev")
    assert not result.success
    failure = failure_of(result, "lint")
    assert "nope" in failure.description
    assert failure.metadata["failure_kind"].value == "logic"
    assert project.arm.store.list_resource_groups("00000000-0000-0000-0000-000000000000") == []
    writes = [r for r in project.arm.app.requests if r[0] in ("PUT", "POST", "DELETE", "PATCH")]
    assert writes == []


def test_environmental_failures_are_retried_and_succeed(project: Project) -> None:
    path = project.write_template("main.json", template([storage("retry1")]))
    project.write_manifest("dev", template=path)
    # the group exists, so plan asks ARM's what-if (a missing group is planned locally)
    project.arm.connection.resource_client().resource_groups.create_or_update(
        "rg-dev", {"location": "westeurope"}
    )
    project.faults(
        FaultRule(kind="status", status=503, operation="Deployments_WhatIf", times=2),
        FaultRule(kind="status", status=429, operation="ResourceGroups_CheckExistence", times=1),
    )
    result = project.run("deploy_dev", sdk_retry_total=0, sdk_retry_status=0)
    assert result.success
    retries = step_events(result, "plan", "STEP_UP_FOR_RETRY")
    assert len(retries) == 3  # one 429, two 503s: each retried by the op's RetryPolicy


def test_policy_denial_fails_once_without_retry(project: Project) -> None:
    path = project.write_template("main.json", template([storage("denied1")]))
    project.write_manifest("dev", template=path)
    project.faults(
        FaultRule(
            kind="deployment_error",
            resource_name="denied1",
            arm_code="RequestDisallowedByPolicy",
            arm_message="Resource 'denied1' was disallowed by policy.",
        )
    )
    result = project.run("deploy_dev")
    assert not result.success
    assert step_events(result, "deploy", "STEP_UP_FOR_RETRY") == []
    failure = failure_of(result, "deploy")
    assert failure.metadata["failure_kind"].value == "logic"
    assert failure.metadata["arm_code"].value == "RequestDisallowedByPolicy"


def test_retry_reattaches_to_the_same_deployment(project: Project) -> None:
    path = project.write_template("main.json", template([storage("once1"), storage("once2")]))
    project.write_manifest("dev", template=path)
    project.faults(
        FaultRule(kind="status", status=503, operation="DeploymentOperations_List", times=1)
    )
    result = project.run("deploy_dev", sdk_retry_total=0, sdk_retry_status=0)
    assert result.success
    assert len(step_events(result, "deploy", "STEP_UP_FOR_RETRY")) == 1
    (deployment,) = project.deployments("rg-dev")
    assert deployment["name"] == f"dev-{result.run_id}"
    operations = project.arm.store.list_operations(deployment["id"])
    assert len(operations) == 2  # each resource deployed once: one ARM deployment run
    puts = [
        r
        for r in project.arm.app.requests
        if r[0] == "PUT" and "/providers/Microsoft.Resources/deployments/" in r[1]
    ]
    assert len(puts) == 1


def test_failing_probe_fails_verify(project: Project) -> None:
    site = {
        "type": "Microsoft.Web/sites",
        "apiVersion": "2022-09-01",
        "name": "probed",
        "location": "westeurope",
        "properties": {},
    }
    path = project.write_template(
        "main.json",
        template(
            [site],
            outputs={
                "webHost": {"type": "string", "value": "[reference('probed').defaultHostName]"}
            },
        ),
    )
    project.write_manifest(
        "dev",
        template=path,
        health_checks={
            "resource_health": True,
            "http": [{"url": "https://{outputs.webHost}/health", "retries": 1}],
        },
    )
    project.faults(FaultRule(kind="site_status", resource_name="probed", status=503))
    result = project.run("deploy_dev")
    assert not result.success
    failure = failure_of(result, "verify")
    assert failure.metadata["arm_code"].value == "HealthCheckFailed"
    assert "503" in failure.description


def test_parameter_overrides_are_type_checked(project: Project) -> None:
    tpl = template(
        [storage("[parameters('name')]")],
        parameters={"name": {"type": "string"}, "count": {"type": "int", "defaultValue": 1}},
    )
    project.write_manifest(
        "dev", template=project.write_template("main.json", tpl), parameters={"name": "ovr1"}
    )
    bad = project.run(
        "plan_dev",
        run_config={"ops": {"lint": {"config": {"parameter_overrides": {"count": "many"}}}}},
    )
    assert not bad.success
    assert "count" in failure_of(bad, "lint").description
    good = project.run(
        "plan_dev",
        run_config={"ops": {"lint": {"config": {"parameter_overrides": {"count": "3"}}}}},
    )
    assert good.success
    assert good.output_for_node("lint").parameters["count"] == {"value": 3}


def test_bicep_template_and_bicepparam_through_the_cli(project: Project) -> None:
    from bicep_assets.resources.bicep import BicepCli

    from ..resources.test_bicep import install_standin

    bicep = BicepCli(executable=str(install_standin(project.root / "bin")))
    (project.root / "infra" / "main.bicep").write_text(
        "param location string\nWARNING no-unused-params Parameter 'location' is unused.\n",
        encoding="utf-8",
    )
    (project.root / "parameters" / "dev.bicepparam").write_text(
        "using '../infra/main.bicep'\n", encoding="utf-8"
    )
    project.write_manifest("dev", template="../infra/main.bicep", parameters_file="dev.bicepparam")
    warned = project.run("plan_dev", bicep=bicep)
    assert not warned.success
    failure = failure_of(warned, "lint")
    assert "no-unused-params" in failure.description
    assert "allow_warnings" in failure.description
    allowed = project.run(
        "plan_dev", bicep=bicep, run_config={"ops": {"lint": {"config": {"allow_warnings": True}}}}
    )
    assert allowed.success
    compiled = allowed.output_for_node("lint")
    assert compiled.template["metadata"] == {"compiledFrom": "main.bicep"}
    assert [d.code for d in compiled.diagnostics] == ["no-unused-params"]
    # the stand-in's template declares no parameter, so the .bicepparam value is rejected by
    # the ARM-level checks: parameters from build-params really reach the template
    (project.root / "parameters" / "dev.bicepparam").write_text(
        "using '../infra/main.bicep'\nparam tier = \"gold\"\n", encoding="utf-8"
    )
    rejected = project.run(
        "plan_dev", bicep=bicep, run_config={"ops": {"lint": {"config": {"allow_warnings": True}}}}
    )
    assert not rejected.success
    assert "'tier'" in failure_of(rejected, "lint").description


def test_secure_values_echoed_by_arm_errors_are_scrubbed(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    canary = "canary-echoed-by-arm-4411"
    monkeypatch.setenv("ECHO_SECRET", canary)
    tpl = template([storage("echo1")], parameters={"pw": {"type": "securestring"}})
    project.write_manifest(
        "dev",
        template=project.write_template("main.json", tpl),
        secure_parameters={"pw": {"env": "ECHO_SECRET"}},
    )
    project.faults(
        FaultRule(
            kind="deployment_error",
            resource_name="echo1",
            arm_code="InvalidParameter",
            arm_message=f"The value '{canary}' of 'pw' is not valid.",
        )
    )
    result = project.run("deploy_dev")
    assert not result.success
    failure = failure_of(result, "deploy")
    assert "[secure value]" in failure.metadata["arm_message"].value
    texts = [failure.description, *(str(v.value) for v in failure.metadata.values())]
    texts += [e.message or "" for e in result.all_events]
    assert not [t for t in texts if canary in t]


@pytest.mark.parametrize(
    ("status", "code"), [(400, "InvalidParameter"), (503, "ServiceUnavailable")]
)
def test_secure_values_echoed_by_what_if_errors_are_scrubbed(
    project: Project, monkeypatch: pytest.MonkeyPatch, status: int, code: str
) -> None:
    canary = "canary-echoed-by-what-if-7731"
    monkeypatch.setenv("ECHO_SECRET", canary)
    tpl = template([storage("echo1")], parameters={"pw": {"type": "securestring"}})
    project.write_manifest(
        "dev",
        template=project.write_template("main.json", tpl),
        secure_parameters={"pw": {"env": "ECHO_SECRET"}},
        retry={"max_retries": 1, "base_delay_s": 0.01},
    )
    project.arm.connection.resource_client().resource_groups.create_or_update(
        "rg-dev", {"location": "westeurope"}
    )  # the group exists, so plan asks ARM's what-if
    project.faults(
        FaultRule(
            kind="status",
            status=status,
            operation="Deployments_WhatIf",
            arm_code=code,
            arm_message=f"The value '{canary}' of 'pw' is not valid.",
        )
    )
    result = project.run("plan_dev", sdk_retry_total=0, sdk_retry_status=0)
    assert not result.success
    failure = failure_of(result, "plan")
    assert failure.metadata["arm_code"].value == code
    assert (
        failure.metadata["arm_message"].value == "The value '[secure value]' of 'pw' is not valid."
    )
    stored = [repr(e) for e in project.instance.all_logs(result.run_id)]
    assert len(step_events(result, "plan", "STEP_UP_FOR_RETRY")) == (1 if status == 503 else 0)
    assert not [t for t in stored if canary in t]


def test_a_deployment_canceled_before_a_retry_is_not_deployed_again(project: Project) -> None:
    """A retry attempt that finds its run's deployment Canceled (an operator canceled it in
    ARM during the retry wait) fails at once as logic instead of deploying it again."""
    path = project.write_template("main.json", template([storage("slow1")]))
    project.write_manifest("dev", template=path)
    run_id = "c0ffee00-0000-4000-8000-000000000001"
    name = f"dev-{run_id}"
    client = project.arm.connection.deployments_client()
    project.arm.connection.resource_client().resource_groups.create_or_update(
        "rg-dev", {"location": "westeurope"}
    )
    project.arm.config.resource_delay_s = 2.0
    two = template([storage("slow1"), storage("slow2")])  # canceled between the two
    body = {"properties": {"mode": "Incremental", "template": two}}
    client.deployments.begin_create_or_update("rg-dev", name, body)
    client.deployments.cancel("rg-dev", name)
    project.arm.backend.runner.wait_idle()
    project.arm.config.resource_delay_s = 0.0
    assert client.deployments.get("rg-dev", name).properties.provisioning_state == "Canceled"
    project.arm.app.requests.clear()

    job = project.job("deploy_dev")
    result = job.execute_in_process(instance=project.instance, run_id=run_id, raise_on_error=False)

    assert not result.success
    assert step_events(result, "deploy", "STEP_UP_FOR_RETRY") == []
    (failure,) = step_events(result, "deploy", "STEP_FAILURE")
    metadata = failure.step_failure_data.user_failure_data.metadata
    assert metadata["failure_kind"].value == "logic"
    assert metadata["arm_code"].value == "DeploymentCanceled"
    assert f"Deployment {name} was canceled in ARM; it is not deployed again" in (
        failure.step_failure_data.user_failure_data.description + metadata["arm_message"].value
    )
    puts = [r for r in project.arm.app.requests if r[0] == "PUT" and name in r[1]]
    assert puts == []
    assert client.deployments.get("rg-dev", name).properties.provisioning_state == "Canceled"


def test_a_check_that_cannot_read_the_state_is_retried_not_failed(project: Project) -> None:
    """Resource Health answering 503 says nothing about the resource: verify is retried (an
    environmental failure), and passes once ARM answers."""
    path = project.write_template("main.json", template([storage("hlth1")]))
    project.write_manifest("dev", template=path)
    project.faults(
        FaultRule(
            kind="status",
            status=503,
            operation="AvailabilityStatuses_GetByResource",
            times=1,
            retry_after=None,
        )
    )
    result = project.run("deploy_dev", sdk_retry_total=0, sdk_retry_status=0)
    assert result.success
    assert len(step_events(result, "verify", "STEP_UP_FOR_RETRY")) == 1
    records = [
        entry.dagster_event.event_specific_data.metadata
        for entry in project.instance.all_logs(result.run_id)
        if entry.dagster_event is not None
        and entry.dagster_event.event_type_value == "ENGINE_EVENT"
        and entry.step_key == "verify"
        and "arm_code" in (entry.dagster_event.event_specific_data.metadata or {})
    ]
    assert [(r["failure_kind"].value, r["arm_code"].value) for r in records] == [
        ("environmental", "HealthCheckInconclusive")
    ]
