"""The CLI's progress lines (bicep_assets/progress.py) from a real run's events as the
instance stores them: retries, a failure after retries, Ctrl-C."""

from __future__ import annotations

import io
import os
import re
import signal
import uuid
from typing import Any

from bicep_assets.armlocal import FaultRule
from bicep_assets.progress import Progress, failure_report
from bicep_assets.runs import was_interrupted
from tests.pipeline.conftest import Project, storage, template


def test_a_retried_step_says_so_and_the_last_failure_comes_first(project: Project) -> None:
    path = project.write_template("main.json", template([storage("progress1")]))
    project.write_manifest("dev", template=path, retry={"max_retries": 1, "base_delay_s": 0.01})
    project.arm.connection.resource_client().resource_groups.create_or_update(
        "rg-dev", {"location": "westeurope"}
    )
    project.faults(FaultRule(kind="status", status=503, operation="Deployments_WhatIf"))
    out, err = io.StringIO(), io.StringIO()
    progress = Progress(out=out, err=err)
    run_id = str(uuid.uuid4())
    project.instance.add_event_listener(run_id, progress.on_event)
    job = project.job("plan_dev", sdk_retry_total=0, sdk_retry_status=0)
    result = job.execute_in_process(instance=project.instance, run_id=run_id, raise_on_error=False)
    assert not result.success
    lines = err.getvalue().splitlines()
    assert lines[:3] == ["lint    started", lines[1], "plan    started"]
    assert re.fullmatch(
        r"plan    retrying in \d+\.\d s: Environmental failure, ServiceUnavailable: The "
        r"service is temporarily unavailable\.",
        lines[3],
    ), lines
    assert lines[4:6] == ["plan    started again", lines[5]]
    assert lines[5].startswith("plan    failed: environmental failure, ServiceUnavailable: ")
    assert out.getvalue() == ""  # no plan was made
    (failure,) = progress.failures
    report = failure_report(failure)
    assert report[0] == lines[5].replace("plan    ", "plan ", 1)
    assert report[1].startswith("  what to do: it is about the moment and was retried")


def test_ctrl_c_during_the_deployment_stops_the_run_and_is_not_retried(project: Project) -> None:
    """SIGINT while the deploy step runs (sent from inside it, as a terminal would): Dagster
    raises its interrupt there; the step fails as Interrupted instead of being retried, the
    rest is skipped, and the command sees an interrupted run (exit 130)."""
    path = project.write_template("main.json", template([storage("ctrlc1")]))
    project.write_manifest("dev", template=path, retry={"max_retries": 3, "base_delay_s": 0.01})
    progress = Progress(out=io.StringIO(), err=io.StringIO())
    run_id = str(uuid.uuid4())

    def on_event(entry: Any) -> None:
        progress.on_event(entry)
        if (entry.user_message or "").startswith("Started ARM deployment"):
            os.kill(os.getpid(), signal.SIGINT)

    project.instance.add_event_listener(run_id, on_event)
    job = project.job("deploy_dev")
    result = job.execute_in_process(instance=project.instance, run_id=run_id, raise_on_error=False)
    assert not result.success
    kinds = [(e.event_type_value, e.step_key) for e in result.all_events]
    assert ("STEP_UP_FOR_RETRY", "deploy") not in kinds
    assert ("STEP_FAILURE", "deploy") in kinds and ("STEP_START", "verify") not in kinds
    (failure,) = progress.failures
    assert failure.facts is not None and failure.facts.arm_code == "Interrupted"
    assert failure_report(failure)[0] == (
        "deploy failed: logic failure, Interrupted: interrupted while deploy was running"
    )
    assert was_interrupted(result, progress)


def test_ctrl_c_between_steps_stops_the_run_too(project: Project) -> None:
    """SIGINT as the plan step ends (Dagster's own event, outside the op's body): the run
    stops before the deployment, and the command sees it as interrupted."""
    path = project.write_template("main.json", template([storage("ctrlc2")]))
    project.write_manifest("dev", template=path)
    progress = Progress(out=io.StringIO(), err=io.StringIO())
    run_id = str(uuid.uuid4())

    def on_event(entry: Any) -> None:
        progress.on_event(entry)
        event = entry.dagster_event
        if (
            event is not None
            and event.event_type_value == "STEP_SUCCESS"
            and entry.step_key == "plan"
        ):
            os.kill(os.getpid(), signal.SIGINT)

    project.instance.add_event_listener(run_id, on_event)
    result = project.job("deploy_dev").execute_in_process(
        instance=project.instance, run_id=run_id, raise_on_error=False
    )
    assert not result.success
    started = [e.step_key for e in result.all_events if e.event_type_value == "STEP_START"]
    assert "deploy" not in started, started
    assert was_interrupted(result, progress)
