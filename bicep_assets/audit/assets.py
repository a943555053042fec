"""The audit assets: deployment history tables refreshed incrementally from the event log.

``deployment_history`` reads only the runs that finished since its previous materialization
(the cursor, a storage id of the event log's run-status index, is kept in each table's
materialization metadata). The three run tables receive the rows of those runs, which the IO
manager puts in place of any rows of the same runs; ``deployed_resources`` is merged with
its previous version; ``environment_status`` summarizes them. Their checks run in the same
steps, on the published tables.
"""

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pandas as pd

from ..project import find_project_dir
from .checks import (
    DUPLICATES_CHECK,
    GIT_SHA_CHECK,
    SECRETS_CHECK,
    SecureValues,
    check_spec,
    duplicates_check,
    git_sha_check,
)
from .events import read_finished_runs
from .schemas import HISTORY_TABLES, TABLES
from .storage import MERGE_KEY, AuditTables
from .tables import environment_status_frame, history_frames

GROUP = "audit"
KEY_PREFIX = "audit"
IO_MANAGER_KEY = "audit_io_manager"
CURSOR_KEY = "cursor"
# merged by run id (the plan tables by plan id, which is the run id of the plan's run)
RUN_TABLES = {
    "deployment_runs": "run_id",
    "deployment_events": "run_id",
    "planned_changes": "run_id",
    "plans": "plan_id",
    "planned_properties": "plan_id",
}
# environment_status reads only these columns of its inputs
STATUS_INPUTS = {
    "deployment_runs": [
        "run_id", "environment", "kind", "status", "ended_at", "failure_kind", "arm_code",
        "git_sha", "template_hash",
    ],
    "planned_changes": ["run_id", "resource_id", "change_type"],
}  # fmt: skip


def table_key(table: str) -> dg.AssetKey:
    return dg.AssetKey([KEY_PREFIX, table])


class AuditRefreshConfig(dg.Config):
    """Run config of the refresh."""

    full_rebuild: bool = False  # ignore the cursor: rebuild every table from the whole history


def stored_cursor(instance: dg.DagsterInstance) -> int | None:
    """The oldest cursor among the history tables' latest materializations (None when one of
    them has never been materialized: rebuild everything)."""
    cursors: list[int] = []
    for table in HISTORY_TABLES:
        event = instance.get_latest_materialization_event(table_key(table))
        materialization = event.asset_materialization if event is not None else None
        value = materialization.metadata.get(CURSOR_KEY) if materialization is not None else None
        if value is None or not isinstance(value.value, int):
            return None
        cursors.append(value.value)
    return min(cursors)


def audit_assets(project_dir: Path | None = None) -> list[dg.AssetsDefinition]:
    """The audit assets; ``project_dir`` (default: found when a refresh runs) holds the
    manifests whose secure parameters the ``no_secure_values`` checks look for."""
    runs_key = table_key("deployment_runs")

    @dg.multi_asset(
        outs={
            table: dg.AssetOut(
                key=table_key(table),
                io_manager_key=IO_MANAGER_KEY,
                description=TABLES[table].description,
                metadata={
                    "dagster/column_schema": TABLES[table].column_schema(),
                    **({MERGE_KEY: RUN_TABLES[table]} if table in RUN_TABLES else {}),
                },
                kinds={"duckdb", "pandas"},
            )
            for table in HISTORY_TABLES
        },
        check_specs=[
            check_spec(GIT_SHA_CHECK, runs_key),
            check_spec(DUPLICATES_CHECK, runs_key),
            *(check_spec(SECRETS_CHECK, table_key(t)) for t in HISTORY_TABLES),
        ],
        group_name=GROUP,
        required_resource_keys={IO_MANAGER_KEY},
    )
    def deployment_history(
        context: dg.AssetExecutionContext, config: AuditRefreshConfig
    ) -> Iterator[dg.Output[pd.DataFrame] | dg.AssetCheckResult]:
        """Who deployed what to which environment, from which commit, what the plan said and
        what happened: the history tables, refreshed from the runs finished since last time."""
        tables: AuditTables = getattr(context.resources, IO_MANAGER_KEY)
        with tables.refresh_lock():
            cursor = None if config.full_rebuild else stored_cursor(context.instance)
            stored = tables.table_columns()
            if cursor is not None and any(
                stored.get(t) != TABLES[t].column_names for t in HISTORY_TABLES
            ):
                context.log.warning(
                    f"{tables.path} lacks audit tables, or holds them with other columns (an "
                    "older version): rebuilding them from the whole history."
                )
                cursor = None
            previous = None
            if cursor is not None:
                previous = tables.read_tables(["deployed_resources"])["deployed_resources"]
            audits, new_cursor = read_finished_runs(
                context.instance, after_storage_id=cursor, on_unsettled=context.log.warning
            )
            frames = history_frames(previous, audits)
            refresh = "incremental" if cursor is not None else "full"
            context.log.info(
                f"Audit refresh ({refresh}): {len(audits)} deployment run(s) read from the "
                f"event log after cursor {cursor if cursor is not None else '(start)'}."
            )
            metadata = {
                CURSOR_KEY: new_cursor if new_cursor is not None else -1,
                "refresh": refresh,
                "runs_read": len(audits),
            }
            for table in HISTORY_TABLES:
                yield dg.Output(frames[table], output_name=table, metadata=metadata)
        secrets = SecureValues(project_dir or find_project_dir())
        with tables.read_only() as connection:
            results = [
                git_sha_check(connection, runs_key),
                duplicates_check(connection, runs_key),
                *(secrets.check(connection, t, table_key(t)) for t in HISTORY_TABLES),
            ]
        yield from results

    status_key = table_key("environment_status")

    @dg.asset(
        key=status_key,
        ins={
            name: dg.AssetIn(table_key(name), metadata={"columns": columns})
            for name, columns in STATUS_INPUTS.items()
        },
        io_manager_key=IO_MANAGER_KEY,
        group_name=GROUP,
        description=TABLES["environment_status"].description,
        metadata={"dagster/column_schema": TABLES["environment_status"].column_schema()},
        check_specs=[check_spec(SECRETS_CHECK, status_key)],
        required_resource_keys={IO_MANAGER_KEY},
        kinds={"duckdb", "pandas"},
    )
    def environment_status(
        context: dg.AssetExecutionContext,
        deployment_runs: pd.DataFrame,
        planned_changes: pd.DataFrame,
    ) -> Iterator[dg.Output[pd.DataFrame] | dg.AssetCheckResult]:
        """What is deployed where right now: per environment the last success and failure, the
        commit running, and open drift from the latest plan-only run."""
        yield dg.Output(environment_status_frame(deployment_runs, planned_changes))
        tables: AuditTables = getattr(context.resources, IO_MANAGER_KEY)
        secrets = SecureValues(project_dir or find_project_dir())
        with tables.read_only() as connection:
            result = secrets.check(connection, "environment_status", status_key)
        yield result

    return [deployment_history, environment_status]
