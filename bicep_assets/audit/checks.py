"""Asset checks of the audit tables: every successful deployment has a git SHA, no run id is
duplicated, and no table holds a secure parameter value.

They run inside the refresh, right after the tables are published, as SQL on a read-only
connection to the published file: they check what analysts see, and stay fast (DuckDB
scans) on a long history.

``no_secure_values`` looks for partial echoes too, as the pipeline's scrubber masks them: a
cell fails the check when it holds any run of ``MIN_SECRET_RUN`` (8) consecutive characters
of a secure value — an error quoting the first characters of a password included."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import dagster as dg
import duckdb

from ..armlocal.engine import MIN_SECRET_RUN
from ..armlocal.engine.masking import windows
from ..environments import ManifestError, load_environment
from .schemas import TABLES, TableSpec
from .storage import SCHEMA

LISTED = 20
GIT_SHA_CHECK = "successful_deployments_have_git_sha"
DUPLICATES_CHECK = "no_duplicated_run_ids"
SECRETS_CHECK = "no_secure_values"
DESCRIPTIONS = {
    GIT_SHA_CHECK: "Every successful deployment records the git commit it deployed.",
    DUPLICATES_CHECK: "Each run appears once (the refresh replaces a re-read run's rows).",
    SECRETS_CHECK: "No cell contains a secure parameter value of any manifest, whole or in part "
    "(a run of 8 or more of its characters).",
}


def check_spec(name: str, asset: dg.AssetKey) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(name, asset=asset, description=DESCRIPTIONS[name])


def _run_ids(rows: list[tuple[object, ...]]) -> dg.MetadataValue:
    return dg.MetadataValue.json([str(r[0]) for r in rows[:LISTED]])


def git_sha_check(connection: duckdb.DuckDBPyConnection, asset: dg.AssetKey) -> dg.AssetCheckResult:
    """Traceability: a successful deploy run without a git SHA cannot be traced to a commit."""
    rows = connection.execute(
        f"SELECT run_id FROM {SCHEMA}.deployment_runs WHERE kind = 'deploy' "
        "AND status = 'success' AND coalesce(trim(git_sha), '') = '' ORDER BY ended_at, run_id"
    ).fetchall()
    return dg.AssetCheckResult(
        check_name=GIT_SHA_CHECK,
        asset_key=asset,
        passed=not rows,
        metadata={"runs_without_git_sha": len(rows), "run_ids": _run_ids(rows)},
    )


def duplicates_check(
    connection: duckdb.DuckDBPyConnection, asset: dg.AssetKey
) -> dg.AssetCheckResult:
    """Idempotence: re-reading a run replaces its row, never adds a second one."""
    rows = connection.execute(
        f"SELECT run_id FROM {SCHEMA}.deployment_runs GROUP BY run_id HAVING count(*) > 1 "
        "ORDER BY run_id"
    ).fetchall()
    return dg.AssetCheckResult(
        check_name=DUPLICATES_CHECK,
        asset_key=asset,
        passed=not rows,
        metadata={"duplicated_run_ids": len(rows), "run_ids": _run_ids(rows)},
    )


def known_secure_values(
    project_dir: Path, environ: Mapping[str, str] | None = None
) -> tuple[dict[str, str], list[str]]:
    """``{"dev.appSecret ({env: DEV_APP_SECRET})": value}`` for every environment-variable
    secure parameter of every manifest whose variable is set here (Key Vault secrets are never
    seen by this process), and the manifests that could not be read."""
    environ = os.environ if environ is None else environ
    values: dict[str, str] = {}
    unreadable: list[str] = []
    folder = project_dir / "parameters"
    manifests = sorted(folder.glob("*.y*ml")) if folder.is_dir() else []
    for path in manifests:
        try:
            spec = load_environment(path)
        except ManifestError:
            unreadable.append(path.name)
            continue
        for name, ref in spec.secure_references().items():
            value = environ.get(ref.env or "")
            # shorter values are refused by the pipeline (they would match ordinary text)
            if ref.env and value and len(value) >= MIN_SECRET_RUN:
                values[f"{spec.name}.{name} ({ref.describe()})"] = value
    return values, unreadable


def find_secure_values(
    connection: duckdb.DuckDBPyConnection,
    table: str,
    secrets: Mapping[str, str],
    spec: TableSpec | None = None,
) -> list[dict[str, object]]:
    """Where a secret — or a run of 8 or more of its characters — appears in ``table``:
    column, secure parameter reference, row count (one DuckDB scan; each secret's windows of
    8 characters travel as a list query parameter, never into SQL text or logs)."""
    probes: list[tuple[str, str]] = []
    aggregates: list[str] = []
    parameters: list[list[str]] = []
    for column in (spec or TABLES[table]).columns:
        if column.sql_type == "VARCHAR":
            text = f'"{column.name}"'
        elif column.sql_type == "VARCHAR[]":
            text = f'array_to_string("{column.name}", chr(10))'
        else:
            continue
        for reference, secret in secrets.items():
            probes.append((column.name, reference))
            aggregates.append(
                "count(*) FILTER (WHERE list_bool_or(list_transform(?::VARCHAR[], "
                f"lambda part: contains({text}, part))))"
            )
            parameters.append(sorted(windows(secret, MIN_SECRET_RUN)))
    if not aggregates:
        return []
    counts = connection.execute(
        f"SELECT {', '.join(aggregates)} FROM {SCHEMA}.{table}", parameters
    ).fetchall()[0]
    return [
        {"column": column, "secure_parameter": reference, "rows": int(rows)}
        for (column, reference), rows in zip(probes, counts or (), strict=True)
        if rows
    ]


class SecureValues:
    """The secure values of a project's manifests, read once per refresh (never logged)."""

    def __init__(self, project_dir: Path) -> None:
        self.values, self.unreadable = known_secure_values(project_dir)

    def check(
        self,
        connection: duckdb.DuckDBPyConnection,
        table: str,
        asset: dg.AssetKey,
        spec: TableSpec | None = None,
    ) -> dg.AssetCheckResult:
        """Secrets never reach the audit tables (values compared in DuckDB, never shown);
        ``spec`` describes a table that is not one of ``TABLES``."""
        hits = find_secure_values(connection, table, self.values, spec)
        return dg.AssetCheckResult(
            check_name=SECRETS_CHECK,
            asset_key=asset,
            passed=not hits,
            metadata={
                "secure_parameters_compared": dg.MetadataValue.json(sorted(self.values)),
                "unreadable_manifests": dg.MetadataValue.json(self.unreadable),
                "cells_found": dg.MetadataValue.json(hits),
            },
            description=None
            if self.values
            else "No secure parameter value is set in this process: nothing to compare.",
        )
