"""Where the audit tables live: one DuckDB file that analysts open read-only at any time.

DuckDB lets one process write a database file or any number of processes read it
(``read_only``), never both at once: a reader holding the file open would make a writer
fail, and a writer would lock readers out. So Dagster never writes the published file in
place. Each table write works on a private copy beside it (``.<file>.<pid>.<thread>.writing``),
checkpoints and closes it, and then ``os.replace``-s it over the published file — an atomic
rename on POSIX. A reader that has the file open keeps reading the snapshot it opened; a
reader that opens it afterwards sees the new one; nobody waits. Writers queue on a lock file
(``<file>.write.lock``), and whole refreshes on another (``<file>.refresh.lock``), so that two
refreshes never interleave.

Opening a DuckDB database costs ~15 ms of CPU (DuckDB 2.0: the instance and its catalog of
functions), and a refresh opens the file some 30 times (each table written, read back by the
steps after it, read by the checks). So a process opens one in-memory DuckDB instance (per
connection config) once, and each connection here is a cursor of it with the file ``ATTACH``-ed
under a name of its own and made its default (``USE``): ~3 ms. ``DETACH`` closes the file.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pandas as pd
from dagster_duckdb_pandas import DuckDBPandasIOManager, DuckDBPandasTypeHandler
from pydantic import Field

from ..dagster_private import DbIOManager, DbTypeHandler, DuckDbClient, TableSlice

# not "audit.duckdb": DuckDB names a file's catalog after it, and a catalog named like the
# schema makes every ``audit.<table>`` ambiguous
DEFAULT_FILE_NAME = "deployment_history.duckdb"
SCHEMA = "audit"
COLUMN_SCHEMA_KEY = "dagster/column_schema"
MERGE_KEY = "audit/replace_rows_by"
MERGE_COLUMNS = ("run_id", "plan_id")  # the columns MERGE_KEY may name


class AuditStorageError(RuntimeError):
    """The audit database cannot be found, opened or locked."""


def catalog_name(path: Path) -> str:
    """The catalog name DuckDB gives a database file (its name up to the first dot)."""
    return path.name.lstrip(".").split(".", 1)[0]


def audit_database_path(database: str = "", *, schema: str = SCHEMA) -> Path:
    """``database`` as a path, or ``$DAGSTER_HOME/deployment_history.duckdb`` when empty (read
    when called, i.e. when a run or command starts, never at import)."""
    if database:
        path = Path(database).expanduser().resolve()
    else:
        home = os.environ.get("DAGSTER_HOME")
        if not home:
            raise AuditStorageError(
                f"The audit database defaults to $DAGSTER_HOME/{DEFAULT_FILE_NAME}, but "
                "DAGSTER_HOME is not set: set it, or give the audit IO manager a database path."
            )
        path = (Path(home).expanduser() / DEFAULT_FILE_NAME).resolve()
    if catalog_name(path) == schema:
        raise AuditStorageError(
            f"{path}: DuckDB would name this file's catalog '{schema}', like the schema of the "
            f"audit tables, and '{schema}.<table>' would be ambiguous; choose another file name "
            f"(default: {DEFAULT_FILE_NAME})."
        )
    return path


@contextlib.contextmanager
def file_lock(path: Path, *, timeout_s: float = 600.0) -> Iterator[None]:
    """An exclusive ``flock`` on ``path`` (created if missing), shared by all processes (POSIX;
    the atomic replace this module relies on is POSIX too)."""

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise AuditStorageError(
                        f"{path}: still locked by another audit writer after {timeout_s:.0f} s"
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_instances: dict[tuple[int, str], duckdb.DuckDBPyConnection] = {}
_instances_lock = threading.Lock()


def _cursor(config: dict[str, Any] | None) -> duckdb.DuckDBPyConnection:
    """A new connection to this process's in-memory DuckDB instance for ``config`` (a forked
    child makes its own: an instance's threads do not survive a fork)."""
    key = (os.getpid(), repr(sorted((config or {}).items())))
    with _instances_lock:
        found = _instances.get(key)
        if found is None:
            found = _instances[key] = duckdb.connect(":memory:", config=config or {})
        return found.cursor()


@contextlib.contextmanager
def attached(
    path: Path, config: dict[str, Any] | None = None, *, read_only: bool
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection whose default database is the file ``path`` — as ``duckdb.connect(path,
    read_only=…)`` gives, for a few milliseconds instead of ~15 (see the module's docstring);
    the file is closed when the block ends. Queries name tables ``schema.table``, and queries
    of ``information_schema`` must filter on ``table_catalog = current_database()``: the
    instance may have other files attached meanwhile."""
    alias = f"file_{uuid.uuid4().hex}"
    where = str(path).replace("'", "''")
    connection = _cursor(config)
    try:
        connection.execute(f"ATTACH '{where}' AS {alias}" + (" (READ_ONLY)" if read_only else ""))
        try:
            connection.execute(f"USE {alias}")
            yield connection
        finally:
            # a block that failed inside a transaction left it aborted: end it first, so the
            # file is detached and the block's own error is the one raised
            with contextlib.suppress(duckdb.Error):
                connection.rollback()
            connection.execute("USE memory")
            connection.execute(f"DETACH {alias}")
    finally:
        connection.close()


@contextlib.contextmanager
def publishing(
    path: Path, config: dict[str, Any] | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection to a private copy of ``path``; when the block succeeds the copy
    atomically replaces ``path`` (on error ``path`` is left as it was)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(path.with_name(path.name + ".write.lock")):
        work = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.writing")
        wal = work.with_name(work.name + ".wal")
        _remove(work)
        _remove(wal)
        if path.exists():
            shutil.copyfile(path, work)
        try:
            with attached(work, config, read_only=False) as connection:
                yield connection
                connection.execute("CHECKPOINT")
        except BaseException:
            _remove(work)
            _remove(wal)
            raise
        _fsync(work)
        os.replace(work, path)
        _fsync(path.parent)


@contextlib.contextmanager
def reading(
    path: Path, config: dict[str, Any] | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the published audit database."""
    if not path.is_file():
        raise AuditStorageError(
            f"{path}: no audit database yet; materialize the audit assets (job audit_refresh) first"
        )
    with attached(path, config, read_only=True) as connection:
        yield connection


class PublishingDuckDbClient(DuckDbClient):
    """dagster-duckdb's client, writing through :func:`publishing` and reading read-only."""

    def __init__(self, path: Path, config: dict[str, Any]) -> None:
        self.path = path
        self.config = config

    @contextlib.contextmanager
    def connect(  # type: ignore[override]
        self, context: dg.OutputContext | dg.InputContext, table_slice: TableSlice
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        if isinstance(context, dg.OutputContext):
            with publishing(self.path, self.config) as connection:
                yield connection
        else:
            with reading(self.path, self.config) as connection:
                yield connection

    @staticmethod
    def delete_table_slice(
        context: dg.OutputContext, table_slice: TableSlice, connection: Any
    ) -> None:
        """Nothing here: :class:`AuditFrameHandler` replaces the table or merges into it."""


def _column_schema(context: dg.OutputContext) -> dg.TableSchema | None:
    value = (context.definition_metadata or {}).get(COLUMN_SCHEMA_KEY)
    if isinstance(value, dg.TableSchemaMetadataValue):
        return value.schema
    return value if isinstance(value, dg.TableSchema) else None


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, dg.MetadataValue) else value


def delete_rows_of_runs(connection: Any, table: str, column: str = "run_id") -> None:
    """Delete the rows of the runs in ``audit_frame`` (they are about to be inserted again),
    ``column`` naming the run (``run_id``, or ``plan_id`` in the plan tables)."""
    connection.execute(
        f'DELETE FROM {table} WHERE "{column}" IN (SELECT DISTINCT "{column}" FROM audit_frame)'
    )


class AuditFrameHandler(DuckDBPandasTypeHandler):
    """Stores a DataFrame in a table typed by the asset's ``dagster/column_schema`` (so empty
    tables exist and list columns keep their type).

    A table whose definition metadata has ``audit/replace_rows_by: run_id`` (or ``plan_id``) is
    merged when
    the output's metadata says ``refresh: incremental``: the DataFrame holds the runs read
    since the last refresh, and their rows replace any rows of the same runs (re-reading a
    run never duplicates it). Otherwise the DataFrame replaces the whole table."""

    def handle_output(
        self,
        context: dg.OutputContext,
        table_slice: TableSlice,
        obj: pd.DataFrame,
        connection: Any,
    ) -> None:
        table = f'{table_slice.schema}."{table_slice.table}"'
        schema = _column_schema(context)
        merge_column = (context.definition_metadata or {}).get(MERGE_KEY)
        merge = (
            merge_column in MERGE_COLUMNS
            and _plain((context.output_metadata or {}).get("refresh")) == "incremental"
        )
        if schema is None:
            columns = ""
        else:
            columns = ", ".join(f'"{c.name}" {c.type}' for c in schema.columns)
        connection.register("audit_frame", obj)
        try:
            if merge and schema is not None:
                connection.execute(f"CREATE TABLE IF NOT EXISTS {table} ({columns})")
                delete_rows_of_runs(connection, table, str(merge_column))
            elif schema is not None:
                connection.execute(f"CREATE OR REPLACE TABLE {table} ({columns})")
            else:
                connection.execute(f"CREATE OR REPLACE TABLE {table} AS FROM audit_frame LIMIT 0")
            connection.execute(f"INSERT INTO {table} BY NAME SELECT * FROM audit_frame")
            ((rows,),) = connection.execute(f"SELECT count(*) FROM {table}").fetchall()
        finally:
            connection.unregister("audit_frame")
        context.add_output_metadata(
            {"dagster/row_count": rows, "rows_written": len(obj), "storage_kind": "duckdb"}
        )


class AuditTables(DbIOManager):
    """The IO manager a run uses (see :class:`AuditDuckDBIOManager`)."""

    def __init__(self, *, path: Path, schema: str, config: dict[str, Any]) -> None:
        super().__init__(
            type_handlers=[AuditFrameHandler()],
            db_client=PublishingDuckDbClient(path, config),
            database=str(path),
            schema=schema,
            io_manager_name="AuditDuckDBIOManager",
            default_load_type=pd.DataFrame,
        )
        self.path = path
        self.schema = schema
        self.config = config

    def read_only(self) -> contextlib.AbstractContextManager[duckdb.DuckDBPyConnection]:
        """A read-only connection to the published file (what analysts see)."""
        return reading(self.path, self.config)

    def table_columns(self) -> dict[str, list[str]]:
        """The columns of each audit table the published file holds."""
        if not self.path.is_file():
            return {}
        with self.read_only() as connection:
            rows = connection.execute(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_catalog = current_database() AND table_schema = ? "
                "ORDER BY table_name, ordinal_position",
                [self.schema],
            ).fetchall()
        columns: dict[str, list[str]] = {}
        for table, column in rows:
            columns.setdefault(table, []).append(column)
        return columns

    def read_tables(self, tables: Sequence[str]) -> dict[str, pd.DataFrame | None]:
        """The published tables (None for a table, or all, that does not exist yet)."""
        if not self.path.is_file():
            return dict.fromkeys(tables)
        with reading(self.path, self.config) as connection:
            found = {
                row[0]
                for row in connection.execute(
                    "SELECT table_name FROM information_schema.tables "
                    "WHERE table_catalog = current_database() AND table_schema = ?",
                    [self.schema],
                ).fetchall()
            }
            return {
                table: connection.execute(f'SELECT * FROM {self.schema}."{table}"').fetchdf()
                if table in found
                else None
                for table in tables
            }

    def refresh_lock(self) -> contextlib.AbstractContextManager[None]:
        """Held for a whole refresh, so that two refreshes never interleave their writes."""
        return file_lock(self.path.with_name(self.path.name + ".refresh.lock"))


class AuditDuckDBIOManager(DuckDBPandasIOManager):
    """dagster-duckdb-pandas' IO manager for the audit tables: each write publishes the file
    atomically, so analysts can keep it open read-only while Dagster refreshes it."""

    database: str = Field(
        default="",
        description="Path of the DuckDB file; empty: $DAGSTER_HOME/deployment_history.duckdb "
        "(resolved when "
        "a run starts).",
    )

    @staticmethod
    def type_handlers() -> Sequence[DbTypeHandler]:
        return [AuditFrameHandler()]

    def create_io_manager(self, context: dg.InitResourceContext) -> AuditTables:  # type: ignore[override]
        return AuditTables(
            path=audit_database_path(self.database, schema=self.schema_ or SCHEMA),
            schema=self.schema_ or SCHEMA,
            config=dict(self.connection_config),
        )
