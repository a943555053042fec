"""The automatic refresh for real: the daemon's ``audit_refresh`` sensor (``dagster-daemon
run``, as ``dagster dev`` starts it) sees a CLI deployment end and launches one
``audit_refresh`` run in a process of its own, which writes the DuckDB file."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterEventType, DagsterInstance, DagsterRun, DagsterRunStatus

pytestmark = pytest.mark.slow  # a real daemon


def wait_for(what: str, probe, timeout_s: float = 120.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while (found := probe()) is None:
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.5)
    return found


def deployed_run_id(home: Path) -> str:
    with DagsterInstance.from_config(str(home)) as instance:
        (run,) = [r for r in instance.get_runs() if r.job_name == "deploy_dev"]
    return run.run_id


@pytest.mark.timeout(300)
def test_daemon_refreshes_the_audit_after_a_cli_deploy(
    dagster_dev_home: Path,
    start_dagster_daemon: Callable[[], None],
    cli_here: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    """The deployment ends before the daemon starts, so the sensor's first tick finds it
    (rather than one a minute later): the daemon catches up on what ended while it was down."""
    home = dagster_dev_home
    project = home.parent / "project"
    deploy = cli_here(
        project,
        "deploy",
        "dev",
        "--git-sha",
        "d" * 40,
        home=home,
        env={"DEV_APP_SECRET": "daemon-test-secret"},
    )
    assert deploy.returncode == 0, deploy.stderr[-3000:]
    start_dagster_daemon()

    def audit_run() -> DagsterRun | None:
        with DagsterInstance.from_config(str(home)) as instance:
            runs = instance.get_runs()
        finished = [r for r in runs if r.job_name == "audit_refresh" and r.is_finished]
        return finished[0] if finished else None

    run = wait_for("the audit_refresh run", audit_run, timeout_s=180)
    assert run.status == DagsterRunStatus.SUCCESS
    assert run.tags["bicep_assets/audit_runs"] == "1"  # the deployment, not the refresh
    assert run.tags["dagster/sensor_name"] == "audit_refresh"
    with DagsterInstance.from_config(str(home)) as instance:
        kinds = {entry.dagster_event_type for entry in instance.all_logs(run.run_id)}
    # its steps ran in the run's own process: no step worker process was started
    assert DagsterEventType.STEP_START in kinds
    assert DagsterEventType.STEP_WORKER_STARTING not in kinds
    deployed_run_id(home)  # exactly one deploy_dev run
    with duckdb.connect(str(home / "deployment_history.duckdb"), read_only=True) as connection:
        rows = connection.execute(
            "SELECT job, status, trigger, git_sha FROM audit.deployment_runs"
        ).fetchall()
    assert rows == [("deploy_dev", "success", "cli", "d" * 40)]
