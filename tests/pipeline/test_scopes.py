"""The pipeline at every ARM scope on the local ARM through the official SDK clients:
subscription (the shipped ``landing`` example), management group and tenant — lint, plan
(what-if at that scope), gate, deploy (a retry re-attaching), verify (resources at any scope) —
the bad input that must stop a run before ARM is written to, and two environments in two
subscriptions deploying at once, each as its own principal."""

from __future__ import annotations

import json
import threading
from typing import Any

import dagster as dg
import pytest

from bicep_assets.armlocal import FaultRule
from bicep_assets.armlocal.engine.context import DEFAULT_TENANT
from bicep_assets.armlocal.service.principals import principal_id
from bicep_assets.audit.events import read_run_audit, run_records
from bicep_assets.environments import Scope
from bicep_assets.pipeline.scopes import (
    SCHEMAS,
    new_group_parameters,
    new_group_template,
    schema_diagnostics,
)
from bicep_assets.triggers.drift import judge_drift

from .conftest import SUB, Project, copy_example, step_events, step_warnings, storage, template

MG_PREFIX = "/providers/Microsoft.Management/managementGroups"
# the server's static token: the local ARM's system identity (a token without a client id)
BUILT_IN_PRINCIPAL = principal_id(DEFAULT_TENANT, None)


def failure_of(result: dg.ExecuteInProcessResult) -> tuple[str | None, Any]:
    (event,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    return event.step_key, event.step_failure_data.user_failure_data


def plan_changes(result: dg.ExecuteInProcessResult) -> list[tuple[str, str]]:
    plan = result.output_for_node("plan")
    return [(c.change_type, c.resource_type) for c in plan.changes]


def deployment_puts(project: Project) -> list[str]:
    return [
        path
        for method, path, _status in project.arm.app.requests
        if method == "PUT" and "/providers/Microsoft.Resources/deployments/" in path
    ]


def group(name: str, location: str = "westeurope") -> dict[str, Any]:
    return {
        "type": "Microsoft.Resources/resourceGroups",
        "apiVersion": "2022-09-01",
        "name": name,
        "location": location,
    }


def at(kind: str, resources: list[dict[str, Any]], **sections: Any) -> dict[str, Any]:
    return {**template(resources, **sections), "$schema": SCHEMAS[kind]}  # type: ignore[index]


# -- subscription scope: the shipped landing example ------------------------------------------


def test_landing_deploys_at_subscription_scope_and_plans_no_change_after(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy_example(project)
    monkeypatch.setenv("DEV_APP_SECRET", "unused-by-landing")
    result = project.run("deploy_landing")
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    assert sorted(plan_changes(result)) == [
        ("Create", "Microsoft.Authorization/policyAssignments"),
        ("Create", "Microsoft.Authorization/roleAssignments"),
        ("Create", "Microsoft.ManagedIdentity/userAssignedIdentities"),
        ("Create", "Microsoft.Network/virtualNetworks"),
        ("Create", "Microsoft.Resources/resourceGroups"),
        ("Create", "Microsoft.Resources/resourceGroups"),
    ]
    deployed = result.output_for_node("deploy")
    # one deployment at subscription scope, named after the run
    assert deployed.deployment_id == (
        f"/subscriptions/{SUB}/providers/Microsoft.Resources/deployments/landing-{result.run_id}"
    )
    assert deployed.outputs["deployedBy"] == BUILT_IN_PRINCIPAL
    logged = [e.user_message for e in project.instance.all_logs(result.run_id)]
    assert (
        "Deploy Microsoft.Resources/deployments/shared: Succeeded (a nested deployment: its "
        "resources are in the plan)"
    ) in logged
    # verify read every output resource, whatever its scope: groups, subscription-level
    # assignments, resources in two groups
    checked = {
        c.target.rsplit("/", 2)[-2]: c.ok
        for c in result.output_for_node("verify").checks
        if c.kind == "provisioning_state"
    }
    assert checked == {
        "resourceGroups": True,
        "policyAssignments": True,
        "roleAssignments": True,
        "userAssignedIdentities": True,
        "virtualNetworks": True,
    }
    assert len(result.output_for_node("verify").checks) == 6
    # the audit's row of the run says where it deployed (the tags lint adds)
    (record,) = run_records(project.instance, [result.run_id])
    audit = read_run_audit(project.instance, record)
    assert (audit.scope_kind, audit.scope_id) == ("subscription", f"/subscriptions/{SUB}")
    assert sorted(r.resource_type for r in audit.resources)[:2] == [
        "Microsoft.Authorization/policyAssignments",
        "Microsoft.Authorization/roleAssignments",
    ]
    again = project.run("plan_landing")
    assert again.success
    assert {c.change_type for c in again.output_for_node("plan").changes} == {"NoChange"}


def test_a_reviewed_plan_at_subscription_scope_is_applied_and_then_refused_as_applied(
    project: Project,
) -> None:
    path = project.write_template("sub.json", at("subscription", [group("rg-reviewed")]))
    project.write_manifest(
        "sub", template=path, scope={"subscription_id": SUB, "location": "westeurope"}
    )
    plan_id = project.run("plan_sub").run_id
    approved = {"ops": {"gate": {"config": {"approved_plan": plan_id}}}}
    applied = project.run("deploy_sub", run_config=approved)
    assert applied.success, [e.message for e in applied.all_events if e.is_failure]
    assert applied.output_for_node("gate").approved_plan == plan_id
    again = project.run("deploy_sub", run_config=approved)
    step, failure = failure_of(again)
    assert (step, failure.metadata["arm_code"].value) == ("gate", "PlanChanged")
    assert f"Plan {plan_id} looks applied already" in failure.description


def test_a_retry_at_subscription_scope_reattaches_to_its_deployment(project: Project) -> None:
    path = project.write_template("sub.json", at("subscription", [group("rg-retry")]))
    project.write_manifest(
        "sub", template=path, scope={"subscription_id": SUB, "location": "westeurope"}
    )
    project.faults(
        FaultRule(kind="status", status=503, operation="DeploymentOperations_List", times=1)
    )
    result = project.run("deploy_sub", sdk_retry_total=0, sdk_retry_status=0)
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    assert len(step_events(result, "deploy", "STEP_UP_FOR_RETRY")) == 1
    (deployment,) = project.arm.store.list_deployments(f"/subscriptions/{SUB}")
    assert deployment["name"] == f"sub-{result.run_id}"
    assert deployment_puts(project) == [
        f"/subscriptions/{SUB}/providers/Microsoft.Resources/deployments/sub-{result.run_id}"
    ]
    assert project.arm.store.get_resource_group(SUB, "rg-retry") is not None


def test_drift_at_subscription_scope_is_judged_from_the_subscription_plan(
    project: Project,
) -> None:
    tagged = {**group("rg-drift"), "tags": {"owner": "platform"}}
    path = project.write_template("sub.json", at("subscription", [tagged]))
    project.write_manifest(
        "sub", template=path, scope={"subscription_id": SUB, "location": "westeurope"}
    )
    assert project.run("deploy_sub").success
    in_sync = project.run("plan_sub")
    assert judge_drift(project.instance, "sub", in_sync.run_id).passed is True
    # someone changes the group by hand
    groups = project.arm.connection.resource_client().resource_groups
    groups.update("rg-drift", {"tags": {"owner": "someone-else"}})
    drifted = project.run("plan_sub")
    (change,) = drifted.output_for_node("plan").changes
    assert (change.change_type, change.changed_paths) == ("Modify", ["tags.owner"])
    verdict = judge_drift(project.instance, "sub", drifted.run_id)
    assert verdict.passed is False


# -- management group and tenant scope --------------------------------------------------------


def policy_definition(name: str) -> dict[str, Any]:
    return {
        "type": "Microsoft.Authorization/policyDefinitions",
        "apiVersion": "2021-06-01",
        "name": name,
        "properties": {
            "policyType": "Custom",
            "mode": "All",
            "policyRule": {"if": {"field": "tags", "exists": "false"}, "then": {"effect": "audit"}},
        },
    }


def test_management_group_scope_deploys_and_verifies(project: Project) -> None:
    groups = project.arm.connection.management_groups_client()
    groups.management_groups.begin_create_or_update(
        "mg-platform", {"properties": {"displayName": "Platform"}}
    ).result()
    path = project.write_template("mg.json", at("managementGroup", [policy_definition("tags")]))
    project.write_manifest(
        "mg", template=path, scope={"management_group_id": "mg-platform", "location": "westeurope"}
    )
    result = project.run("deploy_mg")
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    policy = f"{MG_PREFIX}/mg-platform/providers/Microsoft.Authorization/policyDefinitions/tags"
    assert [(c.change_type, c.resource_id) for c in result.output_for_node("plan").changes] == [
        ("Create", policy)
    ]
    deployed = result.output_for_node("deploy")
    assert deployed.deployment_id == (
        f"{MG_PREFIX}/mg-platform/providers/Microsoft.Resources/deployments/mg-{result.run_id}"
    )
    checks = [(c.kind, c.target, c.ok, c.detail) for c in result.output_for_node("verify").checks]
    assert checks == [
        ("provisioning_state", policy, True, "Succeeded"),
        ("resource_health", policy, True, "not reported by Resource Health"),
    ]


def test_a_management_group_that_does_not_exist_stops_the_plan_before_arm_is_asked(
    project: Project,
) -> None:
    path = project.write_template("mg.json", at("managementGroup", [policy_definition("tags")]))
    project.write_manifest(
        "mg", template=path, scope={"management_group_id": "mg-missing", "location": "westeurope"}
    )
    result = project.run("deploy_mg")
    step, failure = failure_of(result)
    assert step == "plan"
    assert failure.metadata["arm_code"].value == "ManagementGroupNotFound"
    assert failure.metadata["failure_kind"].value == "logic"
    assert failure.description.startswith(
        "Logic failure, ManagementGroupNotFound: Management group 'mg-missing' not found."
    )
    assert (
        "parameters/mg.yaml: scope.management_group_id: management group 'mg-missing' does "
        "not exist (or the deploying identity cannot read it); create it, or name an existing "
        "one"
    ) in failure.description
    assert len(step_events(result, "plan", "STEP_UP_FOR_RETRY")) == 0  # not retried
    assert not [p for _m, p, _s in project.arm.app.requests if "/deployments/" in p]


def test_a_misspelt_location_stops_the_plan_naming_the_manifest_key(project: Project) -> None:
    path = project.write_template("main.json", template([storage("loc1")]))
    project.write_manifest(
        "dev", template=path, scope={"resource_group": "rg-dev", "location": "westeuropee"}
    )
    result = project.run("plan_dev")
    step, failure = failure_of(result)
    assert step == "plan"
    assert failure.metadata["arm_code"].value == "LocationNotAvailableForDeployment"
    assert failure.metadata["failure_kind"].value == "logic"
    assert (
        f"parameters/dev.yaml: scope.location: 'westeuropee' is not a location of subscription "
        f"{SUB}; did you mean 'westeurope'? (`az account list-locations -o table` lists them)"
    ) in failure.description
    assert len(step_events(result, "plan", "STEP_UP_FOR_RETRY")) == 0  # not retried
    assert not [p for _m, p, _s in project.arm.app.requests if "/deployments/" in p]
    # a display name, in any case and spacing, is a location as ARM takes it
    project.write_manifest(
        "dev", template=path, scope={"resource_group": "rg-dev", "location": "West  europe"}
    )
    assert project.run("plan_dev").success


def test_locations_that_cannot_be_read_are_left_to_arm(project: Project) -> None:
    """An identity that may not list the subscription's locations (403): a warning, and the
    plan goes on — ARM still judges the location."""
    path = project.write_template("main.json", template([storage("loc2")]))
    project.write_manifest("dev", template=path)
    project.faults(FaultRule(kind="status", status=403, operation="Subscriptions_ListLocations"))
    result = project.run("plan_dev")
    assert result.success
    warnings = step_warnings(project, result, "plan")
    assert [w for w in warnings if w.startswith("Could not read the subscription's locations")]


def test_tenant_scope_creates_a_management_group(project: Project) -> None:
    created = {
        "type": "Microsoft.Management/managementGroups",
        "apiVersion": "2023-04-01",
        "name": "mg-from-tenant",
        "properties": {"displayName": "Made at tenant scope"},
    }
    path = project.write_template("tenant.json", at("tenant", [created]))
    project.write_manifest("root", template=path, scope={"tenant": True, "location": "westeurope"})
    result = project.run("deploy_root")
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    assert plan_changes(result) == [("Create", "Microsoft.Management/managementGroups")]
    deployed = result.output_for_node("deploy")
    assert deployed.deployment_id == (
        f"/providers/Microsoft.Resources/deployments/root-{result.run_id}"
    )
    checks = [(c.kind, c.target, c.ok) for c in result.output_for_node("verify").checks]
    assert ("provisioning_state", f"{MG_PREFIX}/mg-from-tenant", True) in checks
    assert all(ok for _kind, _target, ok in checks)
    groups = project.arm.connection.management_groups_client()
    assert groups.management_groups.get("mg-from-tenant").display_name == "Made at tenant scope"


# -- bad input ----------------------------------------------------------------------------------


def test_a_template_for_another_scope_fails_lint_before_arm_is_asked(project: Project) -> None:
    path = project.write_template("rg.json", template([storage("wrongscope1")]))
    project.write_manifest(
        "sub", template=path, scope={"subscription_id": SUB, "location": "westeurope"}
    )
    result = project.run("deploy_sub")
    step, failure = failure_of(result)
    assert step == "lint"
    assert failure.metadata["arm_code"].value == "arm-schema-scope"
    (row,) = [
        r
        for r in failure.metadata["diagnostics"].value.records
        if r.data["code"] == "arm-schema-scope"
    ]
    assert row.data["message"] == (
        f"The template's $schema {SCHEMAS['resourceGroup']} is for resource group deployments, "
        f"but the manifest's scope is a subscription (subscription {SUB} (westeurope)): use "
        f"$schema {SCHEMAS['subscription']}, or change scope: in the manifest to a resource "
        "group."
    )
    assert row.data["location"].endswith("infra/rg.json:$schema")
    assert not [p for _m, p, _s in project.arm.app.requests if "/deployments/" in p]


# -- many subscriptions, one principal each ------------------------------------------------------

SUB_A = "11111111-1111-1111-1111-111111111111"
SUB_B = "22222222-2222-2222-2222-222222222222"
CLIENT_A = "aaaaaaaa-0000-4000-8000-00000000000a"
CLIENT_B = "bbbbbbbb-0000-4000-8000-00000000000b"


def test_two_subscriptions_deploy_together_each_as_its_own_principal(project: Project) -> None:
    outputs = {"deployedBy": {"type": "string", "value": "[deployer().objectId]"}}
    for env, sub, client in (("team-a", SUB_A, CLIENT_A), ("team-b", SUB_B, CLIENT_B)):
        path = project.write_template(
            f"{env}.json", at("subscription", [group(f"rg-{env}")], outputs=outputs)
        )
        project.write_manifest(
            env,
            template=path,
            scope={"subscription_id": sub, "location": "westeurope"},
            identity={"kind": "managed_identity", "client_id": client},
        )
    job_a, job_b = project.job("deploy_team_a"), project.job("deploy_team_b")
    results: dict[str, dg.ExecuteInProcessResult] = {}

    def launch(job: dg.JobDefinition) -> None:
        with dg.DagsterInstance.ephemeral() as instance:
            results[job.name] = job.execute_in_process(instance=instance, raise_on_error=False)

    threads = [threading.Thread(target=launch, args=(job,)) for job in (job_a, job_b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    authority = project.arm.app.authority
    for job, sub, client in (
        ("deploy_team_a", SUB_A, CLIENT_A),
        ("deploy_team_b", SUB_B, CLIENT_B),
    ):
        result = results[job]
        assert result.success, [e.message for e in result.all_events if e.is_failure]
        deployed = result.output_for_node("deploy")
        assert deployed.deployment_id.startswith(f"/subscriptions/{sub}/providers/")
        assert deployed.outputs["deployedBy"] == authority.principal_id(client)
        assert project.arm.store.get_resource_group(sub, f"rg-{job[7:].replace('_', '-')}")
    principals = {results[j].output_for_node("deploy").outputs["deployedBy"] for j in results}
    assert len(principals) == 2 and BUILT_IN_PRINCIPAL not in principals
    assert authority.principal_id(CLIENT_A) != authority.principal_id(None)
    assert project.arm.backend.config.tenant_id == DEFAULT_TENANT


def test_a_new_groups_plan_hands_parameters_over_without_writing_them_into_the_template() -> None:
    inner = template(
        [],
        parameters={
            "name": {"type": "string"},
            "pw": {"type": "securestring"},
            "shape": {"$ref": "#/definitions/shape"},
        },
    )
    given = {
        "name": {"value": "web"},
        "pw": {"value": "a-secure-value-for-the-plan"},
        "shape": {"value": {"sides": 4}},
    }
    scope = Scope(resource_group="rg-new", location="westeurope")
    outer = new_group_template(
        scope, template=inner, parameters=given, mode="Incremental", tags={}, nested_name="x"
    )
    assert "a-secure-value" not in json.dumps(outer)
    assert outer["parameters"] == {"name": {"type": "string"}, "pw": {"type": "securestring"}}
    nested = outer["resources"][1]
    assert (nested["resourceGroup"], nested["properties"]["parameters"]) == (
        "rg-new",
        {
            "shape": {"value": {"sides": 4}},  # a user-defined type: given as it is
            "name": {"value": "[parameters('name')]"},
            "pw": {"value": "[parameters('pw')]"},
        },
    )
    assert new_group_parameters(inner, given) == {"name": given["name"], "pw": given["pw"]}


def test_a_bicep_file_for_another_scope_is_told_which_target_scope_to_set() -> None:
    compiled = at("resourceGroup", [])
    scope = Scope(management_group_id="mg-platform", location="westeurope")
    (finding,) = schema_diagnostics(compiled, scope, source="infra/policy.bicep", is_bicep=True)
    assert (finding.severity, finding.code, finding.location) == (
        "error",
        "arm-schema-scope",
        "infra/policy.bicep:$schema",
    )
    assert finding.message == (
        f"The template's $schema {SCHEMAS['resourceGroup']} is for resource group deployments, "
        "but the manifest's scope is a management group (management group mg-platform "
        "(westeurope)): set targetScope = 'managementGroup' in the Bicep file, or change "
        "scope: in the manifest to a resource group."
    )
    fitting = at("managementGroup", [])
    assert schema_diagnostics(fitting, scope, source="x.bicep", is_bicep=True) == []
