"""The gate reports a management lock that will refuse the deployment, before anything is
written (issue 16): a ReadOnly lock over what the template deploys, any lock over what the
plan deletes."""

from __future__ import annotations

from typing import Any

import dagster as dg
from azure.mgmt.resource.locks import ManagementLockClient

from bicep_assets.armlocal import FaultRule
from bicep_assets.models import Plan, WhatIfChange
from bicep_assets.pipeline.locks import refusing_locks
from bicep_assets.pipeline.plan import LOCKS_KEY

from .conftest import SUB, Project, step_events, step_warnings, storage, template

GROUP = f"/subscriptions/{SUB}/resourceGroups/rg-dev"


DROP1 = f"{GROUP}/providers/Microsoft.Storage/storageAccounts/drop1"


def deployed_with_drop1(project: Project) -> None:
    """dev deployed in Complete mode with storage accounts keep1 and drop1."""
    path = project.write_template("main.json", template([storage("keep1"), storage("drop1")]))
    project.write_manifest("dev", template=path, deployment={"mode": "Complete"})
    assert project.run("deploy_dev").success


def lock_drop1_and_plan_its_deletion(project: Project) -> ManagementLockClient:
    """A CanNotDelete lock 'keep' on drop1, and a template without it (a plan deletes it)."""
    locks = ManagementLockClient(**project.arm.connection.client_kwargs())
    locks.management_locks.create_or_update_by_scope(DROP1, "keep", {"level": "CanNotDelete"})
    project.write_template("main.json", template([storage("keep1")]))
    return locks


def failure_of(result: dg.ExecuteInProcessResult, step: str) -> Any:
    (event,) = step_events(result, step, "STEP_FAILURE")
    return event.step_failure_data.user_failure_data


def test_gate_stops_a_plan_a_lock_will_refuse(project: Project) -> None:
    deployed_with_drop1(project)
    locks = lock_drop1_and_plan_its_deletion(project)
    allowed = {"ops": {"gate": {"config": {"allow_destructive": True}}}}
    blocked = project.run("deploy_dev", run_config=allowed)
    assert not blocked.success
    failure = failure_of(blocked, "gate")
    assert "\nManagement locks will refuse this deployment (ScopeLocked)" in failure.description
    assert f"{DROP1}: lock 'keep'" in (failure.description)
    assert failure.metadata["arm_code"].value == "ScopeLocked"
    assert failure.metadata["failure_kind"].value == "logic"
    assert len(project.deployments("rg-dev")) == 1  # nothing was written to ARM
    # a ReadOnly lock on the group refuses even an unchanged redeploy
    locks.management_locks.delete_by_scope(DROP1, "keep")
    project.write_template("main.json", template([storage("keep1"), storage("drop1")]))
    locks.management_locks.create_or_update_at_resource_group_level(
        "rg-dev", "frozen", {"level": "ReadOnly"}
    )
    frozen = project.run("deploy_dev")
    assert "lock 'frozen' (ReadOnly)" in failure_of(frozen, "gate").description
    locks.management_locks.delete_at_resource_group_level("rg-dev", "frozen")
    assert project.run("deploy_dev").success


def test_which_changes_a_lock_refuses() -> None:
    rid = f"{GROUP}/providers/Microsoft.Web/sites/app"
    plan = Plan(
        environment="dev",
        changes=[
            WhatIfChange(resource_id=rid, resource_type="Microsoft.Web/sites", change_type=kind)
            for kind in ("Create", "Ignore", "Unsupported")
        ],
    )
    no_delete = {"id": f"{GROUP}/providers/Microsoft.Authorization/locks/a",
                 "name": "a", "properties": {"level": "CanNotDelete"}}  # fmt: skip
    read_only = {**no_delete, "properties": {"level": "ReadOnly"}}
    elsewhere = {**read_only, "id": f"{GROUP}2/providers/Microsoft.Authorization/locks/b"}
    assert refusing_locks(plan, [no_delete, elsewhere]) == []
    assert refusing_locks(plan, [read_only]) == [(read_only, rid)]


def test_locks_that_cannot_be_read_are_left_to_arm(project: Project) -> None:
    path = project.write_template("main.json", template([storage("keep1")]))
    project.write_manifest("dev", template=path)
    project.faults(
        FaultRule(kind="status", status=403, operation="ManagementLocks_ListByScope", times=20)
    )
    result = project.run("deploy_dev", sdk_retry_total=0)  # no backoff between retries
    assert result.success
    warnings = [
        e.user_message for e in project.instance.all_logs(result.run_id) if e.step_key == "gate"
    ]
    assert any("Could not read the management locks, so none was checked" in w for w in warnings)


def test_a_subscription_plan_is_checked_in_its_subscription(project: Project) -> None:
    schema = (
        "https://schema.management.azure.com/schemas/2018-05-01/"
        "subscriptionDeploymentTemplate.json#"
    )
    group = {
        "type": "Microsoft.Resources/resourceGroups",
        "apiVersion": "2022-09-01",
        "name": "rg-frozen",
        "location": "westeurope",
    }
    path = project.write_template("sub.json", {**template([group]), "$schema": schema})
    project.write_manifest(
        "sub", template=path, scope={"subscription_id": SUB, "location": "westeurope"}
    )
    locks = ManagementLockClient(**project.arm.connection.client_kwargs())
    locks.management_locks.create_or_update_at_subscription_level("frozen", {"level": "ReadOnly"})
    refused = project.run("deploy_sub")
    failure = failure_of(refused, "gate")
    assert f"/subscriptions/{SUB}/resourceGroups/rg-frozen: lock 'frozen' (ReadOnly)" in (
        failure.description
    )
    assert project.arm.store.list_resource_groups(SUB) == []


def test_the_plan_tells_the_reviewer_which_lock_the_gate_will_refuse_it_for(
    project: Project,
) -> None:
    """A reviewer reads the plan, not the gate: the plan step (which still succeeds — it
    changes nothing) warns in its log and records on the plan which lock will refuse it."""
    deployed_with_drop1(project)
    clean = project.run("plan_dev")
    (materialized,) = step_events(clean, "plan", "ASSET_MATERIALIZATION")
    assert LOCKS_KEY not in materialized.event_specific_data.materialization.metadata
    lock_drop1_and_plan_its_deletion(project)
    planned = project.run("plan_dev")
    assert planned.success
    warnings = step_warnings(project, planned, "plan")
    assert [w for w in warnings if w.startswith("The gate will refuse this plan. Management")]
    (materialized,) = step_events(planned, "plan", "ASSET_MATERIALIZATION")
    note = materialized.event_specific_data.materialization.metadata[LOCKS_KEY].value
    assert f"{DROP1}: lock 'keep'" in note
