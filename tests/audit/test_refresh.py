"""Incremental, idempotent refreshes; checks that fail when they should; readers holding the
DuckDB file open while Dagster writes it; the sensor that batches refreshes after deployments."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest

from bicep_assets.armlocal import FaultRule
from bicep_assets.audit import storage as storage_module
from bicep_assets.audit.definitions import audit_definitions
from bicep_assets.audit.schemas import HISTORY_TABLES
from bicep_assets.audit.sensors import refresh_sensors
from bicep_assets.audit.storage import (
    AuditFrameHandler,
    AuditStorageError,
    audit_database_path,
    publishing,
)
from tests.pipeline.conftest import Project, storage, template

from .conftest import (
    GIT,
    check_metadata,
    checks_by_name,
    output_metadata,
    read_tables,
    refresh,
    storage_env,
)

LEAKED = "leaky-Db-Password-93c1"


def with_secret(project: Project) -> None:
    """Environment dev: one storage account and a secure parameter read from AUDIT_DB_PASSWORD."""
    body = template([storage("inc1")], parameters={"dbPassword": {"type": "securestring"}})
    project.write_manifest(
        "dev",
        template=project.write_template("dev.json", body),
        secure_parameters={"dbPassword": {"env": "AUDIT_DB_PASSWORD"}},
    )


def of_runs(frame: pd.DataFrame, run_ids: list[str]) -> pd.DataFrame:
    return frame[frame["run_id"].isin(run_ids)].reset_index(drop=True)


def sorted_frames(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    keys = {"deployment_events": ["run_id", "seq"], "deployed_resources": ["resource_id"]}
    return {
        name: frame.sort_values(keys.get(name, list(frame.columns[:4]))).reset_index(drop=True)
        for name, frame in tables.items()
        if name != "environment_status"
    }


def assert_same_tables(left: dict[str, pd.DataFrame], right: dict[str, pd.DataFrame]) -> None:
    for name, frame in sorted_frames(left).items():
        pd.testing.assert_frame_equal(frame, sorted_frames(right)[name], obj=name)


@pytest.mark.slow
def test_incremental_refresh_adds_exactly_the_new_runs_and_is_idempotent(
    local_project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, database = local_project, tmp_path / "history.duckdb"
    monkeypatch.setenv("AUDIT_DB_PASSWORD", LEAKED)
    with_secret(project)
    first = project.run("deploy_dev", tags=GIT).run_id
    initial = refresh(project, database)
    refreshes = {t: output_metadata(initial, t)["refresh"] for t in HISTORY_TABLES}
    assert refreshes == dict.fromkeys(HISTORY_TABLES, "full")
    before = read_tables(database)
    new = [project.run("plan_dev", tags=GIT).run_id, project.run("deploy_dev", tags=GIT).run_id]
    incremental = refresh(project, database)
    after = read_tables(database)
    meta = output_metadata(incremental, "deployment_runs")
    assert (meta["refresh"], meta["runs_read"]) == ("incremental", 2)
    assert meta["cursor"] > output_metadata(initial, "deployment_runs")["cursor"]
    assert list(after["deployment_runs"]["run_id"]) == [first, *new]
    for table in ("deployment_runs", "deployment_events", "planned_changes"):
        pd.testing.assert_frame_equal(of_runs(after[table], [first]), before[table], obj=table)
        added = len(after[table]) - len(before[table])
        assert added == len(of_runs(after[table], new)) > 0, table
    assert len(after["deployed_resources"]) == 1
    assert after["deployed_resources"].loc[0, "last_run_id"] == new[1]

    unchanged = refresh(project, database)
    assert output_metadata(unchanged, "deployment_runs")["runs_read"] == 0
    assert_same_tables(read_tables(database), after)
    rebuilt = refresh(project, database, full_rebuild=True)
    assert output_metadata(rebuilt, "deployment_events")["refresh"] == "full"
    assert_same_tables(read_tables(database), after)
    assert all(checks_by_name(rebuilt).values())
    with publishing(database) as connection:  # a table written by an older version
        connection.execute("ALTER TABLE audit.deployment_runs DROP COLUMN launched_by")
    upgraded = refresh(project, database)
    assert output_metadata(upgraded, "planned_changes")["refresh"] == "full"
    assert_same_tables(read_tables(database), after)


@pytest.mark.slow
def test_checks_fail_on_a_missing_sha_and_a_leaked_secret(
    local_project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, database = local_project, tmp_path / "history.duckdb"
    # the deploy step scrubs the secret it sent from what ARM echoes; to see the check catch a
    # leak anyway, the runs use another value and the refresh then knows LEAKED as the secret
    monkeypatch.setenv("AUDIT_DB_PASSWORD", "the-value-the-runs-used")
    with_secret(project)
    project.faults(
        FaultRule(
            kind="deployment_error",
            resource_name="inc1",
            arm_code="InvalidParameter",
            arm_message=f"The value '{LEAKED}' of parameter 'dbPassword' is not valid.",
        )
    )
    assert not project.run("deploy_dev", tags=GIT).success  # ARM's message carries LEAKED
    project.faults()
    unsourced = project.run("deploy_dev", tags={"bicep_assets/git_sha": ""})
    assert unsourced.success
    monkeypatch.setenv("AUDIT_DB_PASSWORD", LEAKED)
    result = refresh(project, database)
    failed = sorted(k for k, passed in checks_by_name(result).items() if not passed)
    assert failed == [
        ("deployment_events", "no_secure_values"),  # the STEP_FAILURE message
        ("deployment_runs", "no_secure_values"),
        ("deployment_runs", "successful_deployments_have_git_sha"),
    ]
    reference = "dev.dbPassword ({env: AUDIT_DB_PASSWORD})"
    for table, column in (("deployment_runs", "arm_message"), ("deployment_events", "message")):
        leak = check_metadata(result, table, "no_secure_values")
        assert leak["cells_found"] == [{"column": column, "secure_parameter": reference, "rows": 1}]
        assert LEAKED not in json.dumps(leak)
    sha = check_metadata(result, "deployment_runs", "successful_deployments_have_git_sha")
    assert sha["run_ids"] == [unsourced.run_id]


def fail_writing(monkeypatch: pytest.MonkeyPatch, table: str) -> None:
    """Make the IO manager fail when it writes ``table`` (the tables before it are written)."""
    original = AuditFrameHandler.handle_output

    def handle_output(self: Any, context: Any, table_slice: Any, obj: Any, connection: Any) -> None:
        if table_slice.table == table:
            raise OSError(f"disk full while writing {table}")
        original(self, context, table_slice, obj, connection)

    monkeypatch.setattr(AuditFrameHandler, "handle_output", handle_output)


@pytest.mark.slow
def test_a_refresh_that_failed_half_way_is_completed_without_duplicates(
    local_project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, database = local_project, tmp_path / "history.duckdb"
    storage_env(project, "dev", "half1")
    first = project.run("deploy_dev", tags=GIT).run_id
    refresh(project, database)
    second = project.run("deploy_dev", tags=GIT).run_id
    with monkeypatch.context() as patch:
        fail_writing(patch, "deployed_resources")
        job = audit_definitions(database=str(database), project_dir=project.root)
        broken = job.resolve_job_def("audit_refresh").execute_in_process(
            instance=project.instance, raise_on_error=False
        )
    assert not broken.success
    assert list(read_tables(database)["deployment_runs"]["run_id"]) == [first, second]
    resumed = refresh(project, database)  # deployed_resources' cursor is behind: reread second
    assert output_metadata(resumed, "deployment_runs")["runs_read"] == 1
    tables = read_tables(database)
    assert list(tables["deployment_runs"]["run_id"]) == [first, second]
    assert tables["deployed_resources"].loc[0, "last_run_id"] == second
    assert checks_by_name(resumed)[("deployment_runs", "no_duplicated_run_ids")] is True

    third = project.run("deploy_dev", tags=GIT).run_id
    with monkeypatch.context() as patch:
        fail_writing(patch, "deployed_resources")
        job.resolve_job_def("audit_refresh").execute_in_process(
            instance=project.instance, raise_on_error=False
        )
    # a merge that forgot to delete the re-read run's old rows: the check catches it
    monkeypatch.setattr(
        storage_module, "delete_rows_of_runs", lambda connection, table, column: None
    )
    duplicated = refresh(project, database)
    assert checks_by_name(duplicated)[("deployment_runs", "no_duplicated_run_ids")] is False
    assert check_metadata(duplicated, "deployment_runs", "no_duplicated_run_ids")["run_ids"] == [
        third
    ]


READER = """
import duckdb, json, pathlib, sys, time
database, stop, mode = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3]
def count(connection):
    return connection.execute("SELECT count(*) FROM audit.deployment_runs").fetchall()[0][0]
held = duckdb.connect(database, read_only=True) if mode == "held" else None
print(json.dumps({"ready": True}), flush=True)
seen, errors = [], []
while True:
    last = stop.exists()
    try:
        if held is not None:
            seen.append(count(held))
        else:
            with duckdb.connect(database, read_only=True) as connection:
                seen.append(count(connection))
    except Exception as error:
        errors.append(repr(error))
    if last:
        break
    time.sleep(0.02)  # ~50 reads a second: many during each refresh
print(json.dumps({"seen": seen, "errors": errors}), flush=True)
"""


def reader(database: Path, stop: Path, mode: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", READER, str(database), str(stop), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert json.loads(process.stdout.readline()) == {"ready": True}, process.stderr
    return process


def finish(process: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.slow
def test_analysts_read_the_file_while_dagster_writes_it(
    local_project: Project, tmp_path: Path
) -> None:
    """One reader keeps a read-only connection open the whole time; another opens and closes
    connections in a loop; meanwhile Dagster refreshes the tables twice. Nobody fails, the
    open connection keeps its snapshot, new connections see each refresh."""
    project, database, stop = local_project, tmp_path / "history.duckdb", tmp_path / "stop"
    storage_env(project, "dev", "read1")
    project.run("deploy_dev", tags=GIT)
    refresh(project, database)
    held, looping = reader(database, stop, "held"), reader(database, stop, "loop")
    try:
        for _ in range(2):
            project.run("plan_dev", tags=GIT)
            refresh(project, database)
    finally:
        stop.touch()
    kept, fresh = finish(held), finish(looping)
    assert (kept["errors"], fresh["errors"]) == ([], [])
    assert set(kept["seen"]) == {1}
    assert fresh["seen"] == sorted(fresh["seen"]) and fresh["seen"][-1] == 3
    assert len(read_tables(database)["deployment_runs"]) == 3


def test_database_path_is_resolved_when_used_and_named_apart_from_the_schema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    assert audit_database_path() == tmp_path / "deployment_history.duckdb"
    with pytest.raises(AuditStorageError, match=r"audit\.duckdb: DuckDB would name"):
        audit_database_path(str(tmp_path / "audit.duckdb"))
    monkeypatch.delenv("DAGSTER_HOME")
    with pytest.raises(AuditStorageError, match="DAGSTER_HOME is not set"):
        audit_database_path()


def tick(project: Project) -> dg.SensorExecutionData:
    (sensor,) = refresh_sensors
    return sensor.evaluate_tick(dg.build_sensor_context(instance=project.instance))


def test_sensor_requests_one_refresh_for_every_run_ended_since_the_last(
    local_project: Project, tmp_path: Path
) -> None:
    """Two runs end (a success and a lint failure): one refresh covers both; after it, and
    after the refresh's own run ended, nothing is requested until another deployment ends."""
    project = local_project
    assert tick(project).skip_message == "no deploy/plan run ended since the last refresh"
    project.write_manifest(
        "dev", template=project.write_template("dev.json", template([storage("sensed1")]))
    )
    first = project.run("deploy_dev", tags=GIT)
    project.write_manifest(
        "dev",
        template=project.write_template("bad.json", template([storage("[concat('a', nope())]")])),
    )
    second = project.run("deploy_dev", tags=GIT)
    assert (first.success, second.success) == (True, False)
    (request,) = tick(project).run_requests
    assert request.tags["bicep_assets/audit_runs"] == "2"
    assert request.run_key == f"audit-up-to-{request.tags['bicep_assets/audit_up_to']}"
    refreshed = refresh(project, tmp_path / "history.duckdb")
    assert set(read_tables(tmp_path / "history.duckdb")["deployment_runs"]["run_id"]) == {
        first.run_id,
        second.run_id,
    }
    assert refreshed.success
    assert tick(project).skip_message == "no deploy/plan run ended since the last refresh"
    third = project.run("plan_dev", tags=GIT)
    (request,) = tick(project).run_requests
    assert request.tags["bicep_assets/audit_runs"] == "1", third.run_id


def test_sensor_waits_while_a_refresh_is_in_progress(local_project: Project) -> None:
    project = local_project
    project.write_manifest(
        "dev", template=project.write_template("dev.json", template([storage("queued1")]))
    )
    project.run("plan_dev", tags=GIT)
    job = audit_definitions(database=str(project.root / "h.duckdb")).resolve_job_def(
        "audit_refresh"
    )
    queued = project.instance.create_run_for_job(job, status=dg.DagsterRunStatus.STARTED)
    assert tick(project).skip_message == "an audit_refresh run is queued or in progress"
    project.instance.report_run_canceled(queued)
    (request,) = tick(project).run_requests
    assert request.tags["bicep_assets/audit_runs"] == "1"
