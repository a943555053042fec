"""Drift: schedules run plan_<env>; a successful plan is judged against the last deploy and
the verdict recorded on azure/<env> (asset check 'drift') — with real runs against the local
ARM and a real instance."""

from __future__ import annotations

import datetime as dt
from typing import Any

import dagster as dg
import pytest

from bicep_assets.armlocal import FaultRule
from bicep_assets.triggers.drift import judge_drift
from tests.pipeline.conftest import SUB, Project, storage, template

from .conftest import SensorTicks, pipeline_definitions

CHECK = dg.AssetCheckKey(dg.AssetKey(["azure", "dev"]), "drift")


def deploy_and_plan(pipeline: Project, *names: str) -> None:
    path = pipeline.write_template("main.json", template([storage(n) for n in names]))
    pipeline.write_manifest("dev", template=path, triggers={"drift_schedule": "0 6 * * 1-5"})


def run(pipeline: Project, job: str, **kwargs: Any) -> str:
    result = pipeline.run(job, **kwargs)
    return result.run_id


@pytest.mark.slow
def test_a_plan_with_changes_after_a_successful_deploy_is_drift_on_azure_env(
    pipeline: Project, instance: dg.DagsterInstance
) -> None:
    deploy_and_plan(pipeline, "drift1", "drift2")
    ticks = SensorTicks(pipeline_definitions(pipeline), "drift_checks", instance)
    cursor = ticks.tick(None).cursor  # starts watching from here
    assert pipeline.run("deploy_dev").success
    in_sync = run(pipeline, "plan_dev")
    # someone deletes a resource behind the pipeline's back
    group = f"/subscriptions/{SUB}/resourceGroups/rg-dev"
    pipeline.arm.store.delete_resource(
        f"{group}/providers/Microsoft.Storage/storageAccounts/drift2"
    )
    drifted = run(pipeline, "plan_dev")

    verdicts = []
    for _ in range(3):  # a run-status sensor judges one finished run per tick
        result = ticks.tick(cursor)
        cursor = result.cursor
        verdicts += list(result.asset_events or [])
    assert [(v.check_name, v.passed) for v in verdicts] == [("drift", True), ("drift", False)]
    passed, failed = verdicts
    assert passed.metadata["plan_run"].value == in_sync
    assert failed.asset_key == dg.AssetKey(["azure", "dev"])
    assert failed.severity == dg.AssetCheckSeverity.WARN
    assert failed.description.startswith("drift: 1 creates since the last successful deploy")
    assert failed.metadata["plan_run"].value == drifted
    assert failed.metadata["creates"].value == 1
    assert "drift2" in failed.metadata["diff"].value

    # what the daemon does with them: recorded on azure/dev, shown in the UI
    for verdict in verdicts:
        instance.report_runless_asset_event(verdict)
    latest = instance.get_latest_asset_check_evaluation_record(CHECK)
    assert latest is not None and latest.status.value == "FAILED"


@pytest.mark.parametrize("case", ["never-deployed", "last-deploy-failed", "template-changed"])
def test_expected_changes_are_not_drift(
    pipeline: Project, instance: dg.DagsterInstance, case: str
) -> None:
    deploy_and_plan(pipeline, "calm1")
    if case == "last-deploy-failed":
        pipeline.faults(
            FaultRule(
                kind="deployment_error",
                resource_name="calm1",
                arm_code="RequestDisallowedByPolicy",
                arm_message="Disallowed by policy.",
            )
        )
        assert not pipeline.run("deploy_dev").success
        pipeline.faults()
    if case == "template-changed":
        assert pipeline.run("deploy_dev").success
        deploy_and_plan(pipeline, "calm1", "calm2")  # pushed, not deployed yet
    plan = run(pipeline, "plan_dev")
    verdict = judge_drift(instance, "dev", plan)
    assert verdict.passed is None
    reason = {
        "never-deployed": "2 creates, but dev was never deployed",  # the group, the account
        "last-deploy-failed": "1 creates, expected: the last deploy (run ",
        "template-changed": "1 creates, expected: the template changed since the last deploy",
    }[case]
    assert verdict.reason.startswith(reason)


def test_the_drift_schedule_runs_plan_with_the_schedule_trigger(pipeline: Project) -> None:
    path = pipeline.write_template("main.json", template([storage("sched1")]))
    pipeline.write_manifest(
        "dev",
        template=path,
        triggers={"drift_schedule": "30 5 * * 1-5", "drift_timezone": "Europe/Amsterdam"},
    )
    pipeline.write_manifest("prod", template=path)  # no schedule
    defs = pipeline_definitions(pipeline)
    assert [s.name for s in defs.schedules] == ["drift_dev"]
    schedule = defs.resolve_schedule_def("drift_dev")
    assert (schedule.cron_schedule, schedule.execution_timezone) == (
        "30 5 * * 1-5",
        "Europe/Amsterdam",
    )
    assert schedule.job_name == "plan_dev"
    context = dg.build_schedule_context(
        scheduled_execution_time=dt.datetime(2026, 3, 2, 5, 30, tzinfo=dt.timezone.utc)
    )
    (request,) = schedule.evaluate_tick(context).run_requests
    assert request.tags["bicep_assets/trigger"] == "schedule"


@pytest.mark.slow
def test_the_drift_check_can_be_executed_from_the_ui(
    pipeline: Project, instance: dg.DagsterInstance
) -> None:
    deploy_and_plan(pipeline, "exec1")
    assert pipeline.run("deploy_dev").success
    assert pipeline.run("plan_dev").success
    defs = pipeline_definitions(pipeline)
    job = defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection=set(), asset_check_selection={CHECK}
    )
    result = job.execute_in_process(instance=instance)
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.passed and evaluation.description == "in sync: the plan changes nothing"
