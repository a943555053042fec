"""A team's instance: one PostgreSQL, the code location in ``dagster code-server start``,
``dagster-webserver`` and ``dagster-daemon`` as their own processes, and one standalone local
ARM. Runs launched through the webserver's GraphQL API and ``bicep-assets deploy`` from
several processes (CI runners) at once: one deployment of an environment at a time, every run
in the audit tables, and the password nowhere the UI shows."""

from __future__ import annotations

import itertools
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from bicep_assets.armlocal import ArmStore
from bicep_assets.audit.definitions import audit_definitions

from .cli_helpers import project_in_git, start_bicep_assets
from .conftest import stop_sensor
from .postgres_cluster import PASSWORD
from .triggers.test_run_queue import deployment_window

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from team import TeamStack

pytestmark = pytest.mark.slow  # real processes

SUB = "00000000-0000-0000-0000-000000000000"
DONE = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}


@pytest.fixture
def team(tmp_path: Path, postgres_url: str) -> Iterator[TeamStack]:
    project = project_in_git(tmp_path / "project")
    stack = TeamStack(project, tmp_path / "home", postgres_url=postgres_url)
    try:
        stack.start(extra_env={"DEV_APP_SECRET": "team-dev-secret-value"})
        stop_sensor(stack.url, "audit_refresh")  # the test refreshes the audit itself
        yield stack
    finally:
        stack.stop()


STEP_ENDS = {
    dg.DagsterEventType.STEP_SUCCESS,
    dg.DagsterEventType.STEP_FAILURE,
    dg.DagsterEventType.STEP_SKIPPED,
}


def step_window(instance: dg.DagsterInstance, run_id: str) -> tuple[float, float]:
    """From the run's first step start to its last step's end (event timestamps)."""
    entries = instance.all_logs(run_id)
    starts = [
        e.timestamp for e in entries if e.dagster_event_type == dg.DagsterEventType.STEP_START
    ]
    ends = [e.timestamp for e in entries if e.dagster_event_type in STEP_ENDS]
    return min(starts), max(ends)


@pytest.mark.timeout(600)
def test_ui_runs_and_ci_runners_share_one_postgres_and_never_overlap(
    team: TeamStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the UI's configuration page: PostgreSQL storage, and no password
    info = team.graphql("{ instance { info } }")["instance"]["info"]
    assert "run_storage: PostgresRunStorage" in info and PASSWORD not in info

    launched = [team.launch("deploy_dev") for _ in range(2)]
    logs = [tmp_path / f"ci-runner-{n}.log" for n in range(2)]
    runners = [  # CI runners: `bicep-assets deploy dev` on this instance
        start_bicep_assets(
            ["deploy", "dev", "--wait-timeout", "300"], cwd=team.project, env=team.env, stdout=log
        )
        for log in logs
    ]
    for runner, log in zip(runners, logs, strict=True):
        assert runner.wait(timeout=400) == 0, log.read_text()[-3000:]
        assert PASSWORD not in log.read_text()

    monkeypatch.setenv("BICEP_ASSETS_POSTGRES_URL", team.env["BICEP_ASSETS_POSTGRES_URL"])
    with dg.DagsterInstance.from_config(str(team.home)) as instance:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            records = {r.dagster_run.run_id: r for r in instance.get_run_records()}
            if all(records[r].dagster_run.status in DONE for r in launched):
                break
            time.sleep(0.5)
        deploys = [r for r in records.values() if r.dagster_run.job_name == "deploy_dev"]
        assert len(deploys) == 4
        assert {r.dagster_run.status for r in deploys} == {dg.DagsterRunStatus.SUCCESS}
        assert {r.dagster_run.tags.get("bicep_assets/trigger") for r in deploys} == {"ui", "cli"}
        # one deployment of dev at a time: a run may start while another holds dev (it waits
        # for the hold before its first step: docs/operations.md), its steps never overlap
        windows = sorted(step_window(instance, r.dagster_run.run_id) for r in deploys)
        for (_, previous_end), (start, _) in itertools.pairwise(windows):
            assert start >= previous_end, windows

        # every run is in the audit, refreshed from the PostgreSQL event log
        job = audit_definitions(
            database=str(tmp_path / "history.duckdb"), project_dir=team.project
        ).resolve_job_def("audit_refresh")
        assert job.execute_in_process(instance=instance).success
    import duckdb

    with duckdb.connect(str(tmp_path / "history.duckdb"), read_only=True) as connection:
        audited = {
            row[0]
            for row in connection.execute(
                "SELECT run_id FROM audit.deployment_runs WHERE environment = 'dev'"
            ).fetchall()
        }
    assert audited == {r.dagster_run.run_id for r in deploys}

    # the one standalone local ARM ran the four deployments one after the other
    with ArmStore(tmp_path / "team-arm.sqlite") as store:
        deployments = store.list_deployments(f"/subscriptions/{SUB}/resourceGroups/rg-webapp-dev")
    assert {d["name"] for d in deployments} == {f"dev-{r.dagster_run.run_id}" for r in deploys}
    arm_windows = sorted(deployment_window(d) for d in deployments)
    for (_, previous_end), (start, _) in itertools.pairwise(arm_windows):
        assert start >= previous_end, arm_windows
