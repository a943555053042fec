"""Automatic refresh: one sensor, ``audit_refresh``, launches one ``audit_refresh`` run for
every deploy/plan run that ended since the audit tables' cursor — a batch per interval, not a
run per deployment (docs/audit.md#refresh)."""

import dagster as dg

from .assets import GROUP, stored_cursor
from .events import finished_run_changes, run_records
from .records import is_deployment_run

REFRESH_JOB = "audit_refresh"
REFRESH_SENSOR = "audit_refresh"
AUDIT_TAG = "bicep_assets/audit"
UP_TO_TAG = "bicep_assets/audit_up_to"  # storage id of the newest run end the refresh covers
RUNS_TAG = "bicep_assets/audit_runs"  # how many deployment runs ended since the last refresh
# How often the daemon looks for finished deployment runs: every run that ended within one
# interval is covered by one refresh run, so the run list gets at most one per interval.
REFRESH_INTERVAL_S = 60
IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]

# One process for the whole refresh (the in-process executor): Dagster's default would start
# a fresh interpreter for each of its four steps, which import Dagster and the code location
# again (~2 s of CPU each) to write tables that queue on one write lock anyway — an empty
# refresh took 16 s and 19.5 s of CPU that way, 6.4 s and 5.9 s of CPU in one process.
audit_refresh_job = dg.define_asset_job(
    REFRESH_JOB,
    selection=dg.AssetSelection.groups(GROUP),
    description="Refresh the audit tables from the runs finished since the last refresh "
    "(run config: full_rebuild to rebuild them from the whole history).",
    tags={AUDIT_TAG: "refresh"},
    executor_def=dg.in_process_executor,
)


def unrefreshed_runs(instance: dg.DagsterInstance) -> tuple[list[str], int | None]:
    """The deploy/plan runs that ended after the audit tables' cursor (every one when the
    tables were never refreshed), and the storage id of the newest run end seen."""
    ended: dict[str, int] = {}
    newest: int | None = None
    for storage_id, run_id in finished_run_changes(
        instance, after_storage_id=stored_cursor(instance)
    ):
        ended[run_id] = storage_id
        newest = storage_id if newest is None else max(newest, storage_id)
    runs = [r.dagster_run for r in run_records(instance, list(ended))]
    return sorted(r.run_id for r in runs if is_deployment_run(r)), newest


def refresh_request(instance: dg.DagsterInstance) -> dg.RunRequest | dg.SkipReason:
    """One refresh covering every deploy/plan run that ended since the last refresh; nothing
    while a refresh is queued or running (the next tick sees what it did not cover) or when
    only other runs (the audit's own) ended."""
    in_flight = instance.get_runs_count(dg.RunsFilter(job_name=REFRESH_JOB, statuses=IN_FLIGHT))
    if in_flight:
        return dg.SkipReason("an audit_refresh run is queued or in progress")
    pending, newest = unrefreshed_runs(instance)
    if not pending or newest is None:
        return dg.SkipReason("no deploy/plan run ended since the last refresh")
    return dg.RunRequest(
        run_key=f"audit-up-to-{newest}",  # a failed refresh is not repeated every tick
        tags={AUDIT_TAG: "refresh", UP_TO_TAG: str(newest), RUNS_TAG: str(len(pending))},
    )


@dg.sensor(
    name=REFRESH_SENSOR,
    job=audit_refresh_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=REFRESH_INTERVAL_S,
    description="Refresh the audit tables once per interval when deploy/plan runs (UI, "
    "schedule, sensor or CLI) ended since the last refresh.",
)
def refresh_sensor(context: dg.SensorEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    """Keep the deployment history current, one refresh run per batch of finished runs."""
    return refresh_request(context.instance)


refresh_sensors = [refresh_sensor]
