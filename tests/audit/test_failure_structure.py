"""The audit reads a failure from its structure — the failure's metadata on STEP_FAILURE and
the attempt record before each STEP_UP_FOR_RETRY — never from message text: a real run of
the pipeline through the local ARM with injected faults, refreshed into the audit tables."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pandas as pd

from bicep_assets.armlocal import FaultRule
from bicep_assets.audit.events import audit_from_events
from tests.pipeline.conftest import Project

from .conftest import GIT, read_tables, refresh, storage_env

ATTEMPTS = 3  # max_retries 2


def exhausted_plan(project: Project) -> dg.ExecuteInProcessResult:
    """deploy_flaky whose what-if is throttled once, then unavailable until retries run out."""
    storage_env(
        project, "flaky", "flaky1", retry={"max_retries": ATTEMPTS - 1, "base_delay_s": 0.01}
    )
    project.arm.connection.resource_client().resource_groups.create_or_update(
        "rg-flaky", {"location": "westeurope"}
    )  # the group exists, so plan asks ARM's what-if
    project.faults(
        FaultRule(kind="status", status=429, operation="Deployments_WhatIf", times=1),
        FaultRule(kind="status", status=503, operation="Deployments_WhatIf"),
    )
    result = project.run("deploy_flaky", tags=GIT, sdk_retry_total=0, sdk_retry_status=0)
    project.faults()
    assert not result.success
    return result


def failure_rows(events: pd.DataFrame, run_id: str) -> list[tuple[object, ...]]:
    marked = events[(events["run_id"] == run_id) & events["failure_kind"].notna()]
    return [
        (
            r.step,
            r.event_type,
            r.failure_kind,
            r.arm_code,
            None if pd.isna(r.http_status) else int(r.http_status),
        )
        for r in marked.sort_values("seq").itertuples()
    ]


def test_retried_attempts_and_the_final_failure_carry_their_own_structure(
    local_project: Project, tmp_path: Path
) -> None:
    run = exhausted_plan(local_project)
    refresh(local_project, tmp_path / "history.duckdb")
    tables = read_tables(tmp_path / "history.duckdb")
    assert failure_rows(tables["deployment_events"], run.run_id) == [
        ("plan", "STEP_UP_FOR_RETRY", "environmental", "TooManyRequests", 429),
        ("plan", "STEP_UP_FOR_RETRY", "environmental", "ServiceUnavailable", 503),
        ("plan", "STEP_FAILURE", "environmental", "ServiceUnavailable", 503),
    ]
    (row,) = tables["deployment_runs"].itertuples()
    assert (row.failed_step, row.failure_kind, row.arm_code, row.http_status, row.retries) == (
        "plan",
        "environmental",
        "ServiceUnavailable",
        503,
        ATTEMPTS - 1,
    )
    assert row.arm_message == "The service is temporarily unavailable."


def test_a_retry_without_its_attempt_record_has_no_code(local_project: Project) -> None:
    """The retry's message still names the ARM code; the audit does not read it from there."""
    run = exhausted_plan(local_project)
    instance = local_project.instance
    record = instance.get_run_record_by_id(run.run_id)
    assert record is not None
    entries = [r.event_log_entry for r in instance.get_records_for_run(run.run_id).records]
    retried = [
        e
        for e in entries
        if e.dagster_event and e.dagster_event.event_type_value == "STEP_UP_FOR_RETRY"
    ]
    assert "TooManyRequests" in str(retried[0].dagster_event.event_specific_data.error.to_string())
    without = [
        e
        for e in entries
        if not (e.step_key and e.dagster_event and e.dagster_event.is_engine_event)
    ]
    audit = audit_from_events(record.dagster_run, without)
    assert [
        (e.event_type, e.failure_kind, e.arm_code, e.http_status)
        for e in audit.events
        if e.failure_kind
    ] == [
        ("STEP_UP_FOR_RETRY", "environmental", None, None),
        ("STEP_UP_FOR_RETRY", "environmental", None, None),
        ("STEP_FAILURE", "environmental", "ServiceUnavailable", 503),
    ]
