"""The audit part of the code location: assets with their checks, the refresh job and the
sensors that run it, and the IO manager."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from .assets import IO_MANAGER_KEY, audit_assets
from .metrics_assets import metrics_assets
from .sensors import audit_refresh_job, refresh_sensors
from .storage import SCHEMA, AuditDuckDBIOManager


def audit_definitions(
    *, database: str | None = None, project_dir: Path | None = None
) -> dg.Definitions:
    """The audit tables and the delivery metrics in group ``audit`` (schema ``audit`` of
    ``database``, default ``$DAGSTER_HOME/deployment_history.duckdb`` resolved when a run
    starts), their checks,
    the ``audit_refresh`` job and the sensors that run it after each deploy/plan run.
    ``project_dir`` (default: found when a refresh runs) holds the manifests whose secure
    parameters the ``no_secure_values`` checks look for."""
    return dg.Definitions(
        assets=[*audit_assets(project_dir), *metrics_assets(project_dir)],
        jobs=[audit_refresh_job],
        sensors=refresh_sensors,
        resources={IO_MANAGER_KEY: audit_io_manager(database)},
    )


def audit_io_manager(database: str | None = None) -> AuditDuckDBIOManager:
    """The DuckDB pandas IO manager of the audit tables."""
    return AuditDuckDBIOManager(database=database or "", schema=SCHEMA)
