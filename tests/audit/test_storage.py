"""The audit file's connections (bicep_assets/audit/storage.py): a file attached to one
in-memory DuckDB instance per process, so several files open at once in one process never see
each other's tables, and the file is closed again when the block ends."""

from __future__ import annotations

import threading
from pathlib import Path

import duckdb
import pytest

from bicep_assets.audit.storage import AuditStorageError, AuditTables, publishing, reading


def write_table(path: Path, table: str, value: int) -> None:
    with publishing(path) as connection:
        connection.execute("CREATE SCHEMA IF NOT EXISTS audit")
        connection.execute(f"CREATE OR REPLACE TABLE audit.{table} AS SELECT {value} AS v")


def test_files_open_at_once_see_only_their_own_tables(tmp_path: Path) -> None:
    first, second = tmp_path / "first.duckdb", tmp_path / "second.duckdb"
    write_table(first, "runs", 1)
    write_table(second, "plans", 2)
    with reading(first) as one, reading(second) as two:  # both attached to one instance
        assert one.execute("SELECT v FROM audit.runs").fetchall() == [(1,)]
        assert two.execute("SELECT v FROM audit.plans").fetchall() == [(2,)]
        with pytest.raises(duckdb.CatalogException):
            one.execute("SELECT v FROM audit.plans")
        tables = AuditTables(path=first, schema="audit", config={})
        assert tables.table_columns() == {"runs": ["v"]}  # not second's plans
        assert list(tables.read_tables(["runs", "plans"]).values())[1] is None


def test_threads_publish_and_read_files_at_once(tmp_path: Path) -> None:
    errors: list[BaseException] = []

    def work(n: int) -> None:
        path = tmp_path / f"t{n}.duckdb"
        try:
            for value in range(5):
                write_table(path, "t", value)
                with reading(path) as connection:
                    assert connection.execute("SELECT v FROM audit.t").fetchall() == [(value,)]
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_the_file_is_closed_when_the_block_ends(tmp_path: Path) -> None:
    path = tmp_path / "history.duckdb"
    write_table(path, "t", 1)
    with reading(path) as connection:
        assert connection.execute("SELECT v FROM audit.t").fetchall() == [(1,)]
    # another DuckDB instance (an analyst's, a writer's) may open the file read-write: this
    # process holds it no more
    with duckdb.connect(str(path)) as other:
        other.execute("UPDATE audit.t SET v = 7")
    with reading(path) as connection:
        assert connection.execute("SELECT v FROM audit.t").fetchall() == [(7,)]
    assert sorted(p.name for p in tmp_path.iterdir() if "writing" in p.name) == []


@pytest.mark.parametrize("transaction", [False, True], ids=["autocommit", "in-a-transaction"])
def test_a_failed_write_leaves_the_published_file_as_it_was(
    tmp_path: Path, transaction: bool
) -> None:
    path = tmp_path / "history.duckdb"
    write_table(path, "t", 1)
    before = path.read_bytes()
    with pytest.raises(duckdb.CatalogException), publishing(path) as connection:
        if transaction:
            connection.execute("BEGIN")
        connection.execute("UPDATE audit.t SET v = 2")
        connection.execute("SELECT * FROM audit.missing")
    assert path.read_bytes() == before
    write_table(path, "t", 3)  # the next write works: nothing of the failed one stays attached
    with reading(path) as connection:
        assert connection.execute("SELECT v FROM audit.t").fetchall() == [(3,)]
    # the private copy and its WAL are gone; the writers' lock file stays
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "history.duckdb",
        "history.duckdb.write.lock",
    ]
    missing = reading(tmp_path / "none.duckdb")
    with pytest.raises(AuditStorageError, match="no audit database yet"), missing:
        pass


def test_a_file_that_is_not_a_database_is_refused_and_leaves_nothing_attached(
    tmp_path: Path,
) -> None:
    path = tmp_path / "history.duckdb"
    path.write_bytes(b"not a DuckDB file, a text a user put here\n" * 100)
    with pytest.raises(duckdb.Error), reading(path):
        pass
    path.unlink()
    write_table(path, "t", 5)  # the same path, a database now: attached afresh
    with reading(path) as connection:
        assert connection.execute("SELECT v FROM audit.t").fetchall() == [(5,)]
        files = connection.execute(
            "SELECT path FROM duckdb_databases() WHERE path IS NOT NULL"
        ).fetchall()
    assert files == [(str(path),)]  # nothing of the failed attach
