"""One deployment per environment at a time, through a real ``dagster dev`` (webserver and
daemon, shared with tests/test_dagster_dev.py) with this repository's dagster.yaml (its queue
polled every second): three deploy_dev and one deploy_prod launched over GraphQL at once, each
resource taking 0.3 s in the local ARM. The dev deployments never overlap (the local ARM's own
deployment records say so), prod runs alongside, all succeed."""

from __future__ import annotations

import datetime as dt
import itertools
import sys
import time
from pathlib import Path
from typing import Any

import isodate
import pytest
from dagster import DagsterInstance, DagsterRunStatus
from dagster_graphql import DagsterGraphQLClient

from bicep_assets.armlocal import ArmStore

pytestmark = pytest.mark.slow  # a real `dagster dev`

REPO = Path(__file__).resolve().parents[2]
SUB = "00000000-0000-0000-0000-000000000000"
SLOW_ARM = {"resources": {"arm": {"config": {"local_resource_delay_s": 0.3}}}}
DAGSTER = str(Path(sys.executable).with_name("dagster"))
DONE = (DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED)


@pytest.fixture
def queue_client(shared_dagster_dev: tuple[int, Path]) -> tuple[DagsterGraphQLClient, Path]:
    port, home = shared_dagster_dev
    return DagsterGraphQLClient("127.0.0.1", port_number=port), home


def submit(client: DagsterGraphQLClient, job: str, **gate: str) -> str:
    config = {**SLOW_ARM, "ops": {"gate": {"config": gate}}} if gate else SLOW_ARM
    deadline = time.monotonic() + 60
    while True:  # the code location loads in the background
        try:
            return client.submit_job_execution(job, run_config=config)
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def deployment_window(deployment: dict[str, Any]) -> tuple[dt.datetime, dt.datetime]:
    """When the local ARM ran a deployment: (start, end) from its timestamp and duration."""
    props = deployment["properties"]
    end = dt.datetime.fromisoformat(props["timestamp"].replace("Z", "+00:00"))
    return end - isodate.parse_duration(props["duration"]), end


@pytest.mark.timeout(420)
def test_runs_of_one_environment_never_overlap_and_other_environments_run_alongside(
    queue_client: tuple[DagsterGraphQLClient, Path],
) -> None:
    client, home = queue_client
    # prod deploys reviewed plans only: plan it first (before the runs whose overlap counts)
    plan_run = submit(client, "plan_prod")
    deadline = time.monotonic() + 120
    while client.get_run_status(plan_run) not in DONE and time.monotonic() < deadline:
        time.sleep(0.5)
    assert client.get_run_status(plan_run) == DagsterRunStatus.SUCCESS
    dev_runs = [submit(client, "deploy_dev") for _ in range(2)]
    prod_run = submit(client, "deploy_prod", approved_plan=plan_run)
    deadline = time.monotonic() + 360
    status: dict[str, DagsterRunStatus] = {}
    while time.monotonic() < deadline:
        status = {run_id: client.get_run_status(run_id) for run_id in [*dev_runs, prod_run]}
        if all(s in DONE for s in status.values()):
            break
        time.sleep(0.5)
    assert all(s == DagsterRunStatus.SUCCESS for s in status.values()), status

    with DagsterInstance.from_config(str(home)) as instance:
        records = {r.dagster_run.run_id: r for r in instance.get_run_records()}
    runs = sorted((records[run_id].start_time, records[run_id].end_time) for run_id in dev_runs)
    for (_, previous_end), (start, _) in itertools.pairwise(runs):
        assert start >= previous_end  # the queue started each dev run after the last ended
    # prod was not queued behind dev: it started before the second dev run could
    assert records[prod_run].start_time < runs[1][0]

    with ArmStore(home / "localarm" / "state.sqlite") as store:
        dev = store.list_deployments(f"/subscriptions/{SUB}/resourceGroups/rg-webapp-dev")
        prod = store.list_deployments(f"/subscriptions/{SUB}/resourceGroups/rg-webapp-prod")
        stack = store.get_stack(
            f"/subscriptions/{SUB}/resourceGroups/rg-webapp-prod/providers/"
            "Microsoft.Resources/deploymentStacks/prod"
        )
    # (the dagster dev is shared: other tests' deployments may be there too, one at a time)
    assert {f"dev-{run_id}" for run_id in dev_runs} <= {d["name"] for d in dev}
    # prod is a deployment stack: its latest update is prod's run, through the stack's deployment
    assert stack is not None and stack["tags"]["bicep-assets-run-id"] == prod_run
    assert stack["properties"]["deploymentId"] in [d["id"] for d in prod]
    windows = sorted(deployment_window(d) for d in dev)
    for (_, previous_end), (start, _) in itertools.pairwise(windows):
        assert start >= previous_end, windows
    ours = [deployment_window(d) for d in dev if d["name"] in {f"dev-{r}" for r in dev_runs}]
    assert all(
        end - start >= dt.timedelta(seconds=1.5) for start, end in ours
    )  # 6 resources, 0.3 s each
