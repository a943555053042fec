"""A real ``dagster dev`` (webserver + daemon) with the repository's workspace.yaml and
dagster.yaml (its queue polled every second): the code location loads, and a deploy_dev
launched over GraphQL succeeds."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from dagster import DagsterInstance, DagsterRunStatus
from dagster_graphql import DagsterGraphQLClient

pytestmark = pytest.mark.slow  # a real `dagster dev`

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.timeout(300)
def test_dagster_dev_loads_and_runs_deploy_dev_over_graphql(
    dagster_dev: tuple[int, Path],
) -> None:
    port, home = dagster_dev
    client = DagsterGraphQLClient("127.0.0.1", port_number=port)
    deadline = time.monotonic() + 60
    while True:  # the code location loads in the background
        try:
            run_id = client.submit_job_execution("deploy_dev")
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
    status = client.get_run_status(run_id)
    deadline = time.monotonic() + 180
    while (
        status
        not in (DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED)
        and time.monotonic() < deadline
    ):
        time.sleep(1)
        status = client.get_run_status(run_id)
    if status != DagsterRunStatus.SUCCESS:
        with DagsterInstance.from_config(str(home)) as instance:
            failures = [
                e.message
                for e in instance.all_logs(run_id)
                if e.level >= 40 or (e.dagster_event and e.dagster_event.is_failure)
            ]
        pytest.fail(f"run {run_id} ended {status}: {failures}")
