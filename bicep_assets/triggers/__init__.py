"""What starts runs by itself, and what keeps them safe: the git-push sensor, drift schedules
and checks, failure alerts, one deployment per environment at a time for CLI runs, and CLI
runs whose process is gone marked failed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import dagster as dg

from ..environments import EnvironmentSpec
from .alerts import AlertWebhook, build_failure_alert_sensor
from .crashed import build_crashed_runs_sensor
from .drift import azure_asset_specs, build_drift_checks, build_drift_sensor, drift_schedules
from .push_sensor import build_push_sensor
from .repository import GitRepository

__all__ = ["AlertWebhook", "GitRepository", "trigger_definitions"]


def trigger_definitions(
    environments: Mapping[str, EnvironmentSpec],
    *,
    jobs: Iterable[dg.JobDefinition],
    repository: GitRepository | str | Path,
    alert_webhook: AlertWebhook | None = None,
) -> dg.Definitions:
    """Sensors, schedules and the ``azure/<env>`` assets with their drift check, for the
    environments' jobs. ``repository``: the deployment repository the push sensor watches (a
    local path, by default the project folder, or a :class:`GitRepository`)."""
    by_name = {job.name: job for job in jobs}
    if not isinstance(repository, GitRepository):
        repository = GitRepository(url=str(repository))
    sensors = [
        sensor
        for sensor in (
            build_push_sensor(environments, by_name),
            build_drift_sensor(environments, by_name),
            build_failure_alert_sensor(),
            build_crashed_runs_sensor(),
        )
        if sensor is not None
    ]
    return dg.Definitions(
        assets=azure_asset_specs(environments),
        asset_checks=build_drift_checks(environments),
        schedules=drift_schedules(environments, by_name),
        sensors=sensors,
        resources={"git_repository": repository, "alert_webhook": alert_webhook or AlertWebhook()},
    )
