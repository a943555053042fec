"""The Dagster APIs outside Dagster's public API that bicep_assets relies on, in one place.

Dagster's public API is what ``import dagster as dg`` (and each integration package's top
level) exports. Where Dagster offers a public equivalent the project uses it
(``dg.DagsterEvent``, ``dg.DagsterEventType``, ``dg.DagsterExecutionInterruptedError``,
``dg.RunStatusChangeRecordsFilter``, ``instance.fetch_run_status_changes``). What has no public
equivalent is imported here and nowhere else — except :data:`IMPORTED_ELSEWHERE`, imported
where it is used so that a command not needing Dagster does not load it — and
``tests/test_dagster_private.py`` holds that list complete and each name importable.

Checked against the Dagster versions of :data:`CHECKED_WITH`; ``pyproject.toml`` pins the
range. When Dagster moves one of them, this module is the one to change.
"""

from __future__ import annotations

from typing import Any

# private to Dagster: names below dagster._ or an integration's submodule
from dagster._core.events import EngineEventData, JobFailureData, RunFailureReason
from dagster._core.storage.compute_log_manager import CapturedLogContext
from dagster._core.storage.db_io_manager import DbIOManager, DbTypeHandler, TableSlice
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.local_compute_log_manager import LocalComputeLogManager
from dagster._utils.error import SerializableErrorInfo
from dagster_duckdb.io_manager import DuckDbClient
from dagster_msteams.adaptive_card import AdaptiveCard

# dagster, dagster-webserver 1.13.x; dagster-postgres, dagster-duckdb(-pandas) 0.29.x
CHECKED_WITH = {
    "dagster": "1.13.27",
    "dagster-postgres": "0.29.27",
    "dagster-duckdb": "0.29.27",
    "dagster-msteams": "0.29.27",
}

# name → (where it lives in Dagster, what bicep_assets uses it for)
PRIVATE_APIS: dict[str, tuple[str, str]] = {
    "EngineEventData": (
        "dagster._core.events",
        "the attempt record of a retried failure, and the 'run process gone' event",
    ),
    "JobFailureData": ("dagster._core.events", "the RUN_FAILURE of a run whose process is gone"),
    "RunFailureReason": ("dagster._core.events", "reading and writing a run failure's reason"),
    "DbIOManager": (
        "dagster._core.storage.db_io_manager",
        "the audit's IO manager (atomic DuckDB publishing)",
    ),
    "DbTypeHandler": ("dagster._core.storage.db_io_manager", "the audit IO manager's handlers"),
    "TableSlice": ("dagster._core.storage.db_io_manager", "the audit IO manager's table slices"),
    "SqliteEventLogStorage": (
        "dagster._core.storage.event_log.sqlite.sqlite_event_log",
        "skipping the per-run shard schema check before the audit reads runs (SQLite only)",
    ),
    "SerializableErrorInfo": ("dagster._utils.error", "a failure's error chain in the audit"),
    "LocalComputeLogManager": (
        "dagster._core.storage.local_compute_log_manager",
        "compute logs whose helper processes ignore Ctrl-C (compute_logs.py)",
    ),
    "CapturedLogContext": (
        "dagster._core.storage.compute_log_manager",
        "what that manager's capture_logs yields",
    ),
    "ComputeLogManager.register_instance": (
        "dagster._core.storage.compute_log_manager (method)",
        "that manager's default folder, the instance's own",
    ),
    "DuckDbClient": ("dagster_duckdb.io_manager", "the audit IO manager's DuckDB client"),
    "AdaptiveCard": ("dagster_msteams.adaptive_card", "the Teams failure alert's card"),
    # attributes and methods of Dagster's storage classes, not importable names
    "PostgresEventLogStorage.postgres_url": (
        "dagster_postgres.PostgresEventLogStorage (attribute)",
        "the audit's wait for open transactions on PostgreSQL (docs/audit.md#refresh)",
    ),
    "EventLogStorage.get_maximum_record_id": (
        "dagster._core.storage.event_log.base (method, not on DagsterInstance)",
        "the largest committed storage id, from which the audit's refresh waits",
    ),
    "SqliteEventLogStorage._initialized_dbs": (
        "dagster._core.storage.event_log.sqlite.sqlite_event_log (attribute)",
        "see SqliteEventLogStorage",
    ),
    "is_valid_cron_string": (
        "dagster._utils.schedules",
        "checking a manifest's drift_schedule (imported in environments.py)",
    ),
}
# imported where they are used, not through this module (lazily, inside the function)
IMPORTED_ELSEWHERE = {"is_valid_cron_string": "bicep_assets/environments.py"}


def postgres_url_of(instance: Any) -> str | None:
    """The PostgreSQL URL of ``instance``'s event log, None when it is not on PostgreSQL."""
    storage = instance.event_log_storage
    try:
        from dagster_postgres import PostgresEventLogStorage
    except ImportError:  # dagster-postgres not installed: not on PostgreSQL
        return None
    if not isinstance(storage, PostgresEventLogStorage):
        return None
    return storage.postgres_url


def maximum_storage_id(instance: Any) -> int | None:
    """The largest storage id committed to ``instance``'s event log (None when empty)."""
    return instance.event_log_storage.get_maximum_record_id()


def mark_shards_checked(instance: Any, run_ids: list[str], exists: Any) -> None:
    """Tell Dagster's run-sharded SQLite event log that the shards of ``run_ids`` for which
    ``exists(path)`` holds need no schema check (see audit/events.py)."""
    storage = instance.event_log_storage
    checked = getattr(storage, "_initialized_dbs", None)
    if not isinstance(storage, SqliteEventLogStorage) or not isinstance(checked, set):
        return
    checked.update(r for r in run_ids if exists(storage.path_for_shard(r)))


__all__ = [
    "CHECKED_WITH",
    "IMPORTED_ELSEWHERE",
    "PRIVATE_APIS",
    "AdaptiveCard",
    "CapturedLogContext",
    "DbIOManager",
    "DbTypeHandler",
    "DuckDbClient",
    "EngineEventData",
    "JobFailureData",
    "LocalComputeLogManager",
    "RunFailureReason",
    "SerializableErrorInfo",
    "SqliteEventLogStorage",
    "TableSlice",
    "mark_shards_checked",
    "maximum_storage_id",
    "postgres_url_of",
]
