"""Automatic refresh: after every deploy/plan run ends, a run-status sensor launches the
``audit_refresh`` job (the audit assets and their checks)."""

import dagster as dg

from .assets import GROUP
from .records import is_deployment_run

REFRESH_JOB = "audit_refresh"
AUDIT_TAG = "bicep_assets/audit"
AFTER_RUN_TAG = "bicep_assets/audit_after_run"
WATCHED_STATUSES = (
    dg.DagsterRunStatus.SUCCESS,
    dg.DagsterRunStatus.FAILURE,
    dg.DagsterRunStatus.CANCELED,
)

audit_refresh_job = dg.define_asset_job(
    REFRESH_JOB,
    selection=dg.AssetSelection.groups(GROUP),
    description="Refresh the audit tables from the runs finished since the last refresh "
    "(run config: full_rebuild to rebuild them from the whole history).",
    tags={AUDIT_TAG: "refresh"},
)


def refresh_request(run: dg.DagsterRun) -> dg.RunRequest | dg.SkipReason:
    """A refresh after a deployment run; nothing after any other run (the audit's own)."""
    if not is_deployment_run(run):
        return dg.SkipReason(f"run {run.run_id} of {run.job_name} is not a deploy/plan run")
    return dg.RunRequest(
        run_key=f"audit-after-{run.run_id}",
        tags={AUDIT_TAG: "refresh", AFTER_RUN_TAG: run.run_id},
    )


def _refresh_sensor(status: dg.DagsterRunStatus) -> dg.SensorDefinition:
    @dg.run_status_sensor(
        name=f"audit_refresh_after_{status.value.lower()}",
        run_status=status,
        request_job=audit_refresh_job,
        monitor_all_code_locations=True,  # CLI runs (no code location origin) included
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=5,
        description=f"Refresh the audit tables when a deploy/plan run ends ({status.value}).",
    )
    def refresh_after_run(context: dg.RunStatusSensorContext) -> dg.RunRequest | dg.SkipReason:
        """Keep the deployment history current: refresh it when a deployment run ends."""
        return refresh_request(context.dagster_run)

    return refresh_after_run


refresh_sensors = [_refresh_sensor(status) for status in WATCHED_STATUSES]
