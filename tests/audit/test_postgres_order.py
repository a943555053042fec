"""The audit's incremental refresh on PostgreSQL, where storage ids are handed out when an
event is inserted, not when it commits: a run end that commits after a later id was read is
never skipped, and a full rebuild gives the incremental tables row for row."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from bicep_assets.armlocal import LocalArm, LocalArmConfig
from bicep_assets.audit import events as audit_events
from bicep_assets.instance import with_driver
from tests.pipeline.conftest import Project

from .conftest import GIT, read_tables, refresh, storage_env
from .test_refresh import assert_same_tables

HOLD_LOCK = 4242
# In the test database only: a RUN_SUCCESS of job deploy_held waits, inside its insert — after
# the sequence handed out its storage id, before it commits — until the test lets it go.
HOLD_TRIGGER = f"""
CREATE OR REPLACE FUNCTION hold_run_end() RETURNS trigger AS $$
BEGIN
  -- Dagster stores RUN_SUCCESS under its older name
  IF NEW.dagster_event_type = 'PIPELINE_SUCCESS' AND position('deploy_held' in NEW.event) > 0 THEN
    PERFORM pg_advisory_xact_lock_shared({HOLD_LOCK});
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER hold_run_end BEFORE INSERT ON event_logs
  FOR EACH ROW EXECUTE FUNCTION hold_run_end();
"""


@pytest.fixture
def pg_project(tmp_path: Path, postgres_url: str) -> Iterator[Project]:
    """A project on a Dagster instance stored in PostgreSQL, with two environments."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(
        f"storage:\n  postgres:\n    postgres_url: '{with_driver(postgres_url)}'\n"
        "telemetry:\n  enabled: false\n"
    )
    with (
        LocalArm(state=tmp_path / "arm.sqlite", config=LocalArmConfig(retry_after=0)) as arm,
        dg.DagsterInstance.from_config(str(home)) as instance,
    ):
        project = Project(tmp_path / "project", arm, instance)
        storage_env(project, "held", "stheld1")
        storage_env(project, "dev", "stdev1")
        yield project


def run_end_ids(instance: dg.DagsterInstance) -> dict[str, int]:
    return {
        run_id: storage_id
        for storage_id, run_id in audit_events.finished_run_changes(instance, after_storage_id=None)
    }


class HeldRun:
    """``deploy_held`` in a thread, its RUN_SUCCESS stopped inside its insert until released."""

    def __init__(self, project: Project, url: str) -> None:
        self.engine = sa.create_engine(with_driver(url), poolclass=sa.pool.NullPool)
        self.lock = self.engine.connect()
        self.lock.execute(sa.text(HOLD_TRIGGER))
        self.lock.commit()
        self.lock.execute(sa.text(f"SELECT pg_advisory_lock({HOLD_LOCK})"))
        self.lock.commit()
        self.result: dg.ExecuteInProcessResult | None = None
        self.thread = threading.Thread(target=self._run, args=(project,), daemon=True)
        self.thread.start()

    def _run(self, project: Project) -> None:
        self.result = project.run("deploy_held", tags=GIT)

    def wait_until_holding(self, timeout_s: float = 60) -> None:
        with self.engine.connect() as connection:
            for _ in range(int(timeout_s / 0.05)):
                waiting = connection.execute(
                    sa.text(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                        "AND NOT granted AND objid = :lock"
                    ),
                    {"lock": HOLD_LOCK},
                ).scalar()
                if waiting:
                    return
                threading.Event().wait(0.05)
        raise AssertionError("deploy_held never reached its RUN_SUCCESS")

    def release(self) -> dg.ExecuteInProcessResult:
        self.lock.execute(sa.text(f"SELECT pg_advisory_unlock({HOLD_LOCK})"))
        self.lock.commit()
        self.thread.join(timeout=60)
        self.lock.close()
        self.engine.dispose()
        assert self.result is not None and self.result.success
        return self.result


@pytest.mark.slow
def test_a_run_end_committed_out_of_id_order_is_not_skipped(
    pg_project: Project, postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, database = pg_project, tmp_path / "history.duckdb"
    held = HeldRun(project, postgres_url)
    held.wait_until_holding()
    later = project.run("deploy_dev", tags=GIT)  # ends after the held run took its id
    assert later.success
    # the refresh waits only briefly for the open transaction, then goes on without it
    monkeypatch.setattr(audit_events, "SETTLE_TIMEOUT_S", 0.5)
    first = refresh(project, database)
    assert read_tables(database)["deployment_runs"]["run_id"].tolist() == [later.run_id]
    logged = [e.user_message for e in project.instance.all_logs(first.run_id)]
    assert any(m.startswith("PostgreSQL transactions open for more than 0.5 s") for m in logged)

    held_result = held.release()
    ends = run_end_ids(project.instance)
    # the held run's end has the lower id, yet committed after the later run's end was read
    assert ends[held_result.run_id] < ends[later.run_id]

    monkeypatch.setattr(audit_events, "SETTLE_TIMEOUT_S", 30.0)
    refresh(project, database)
    incremental = read_tables(database)
    assert sorted(incremental["deployment_runs"]["run_id"]) == sorted(
        [held_result.run_id, later.run_id]
    )
    refresh(project, tmp_path / "rebuilt.duckdb", full_rebuild=True)
    assert_same_tables(incremental, read_tables(tmp_path / "rebuilt.duckdb"))


@pytest.mark.slow
def test_the_refresh_waits_for_a_run_end_being_committed(
    pg_project: Project, postgres_url: str, tmp_path: Path
) -> None:
    project, database = pg_project, tmp_path / "history.duckdb"
    held = HeldRun(project, postgres_url)
    held.wait_until_holding()
    later = project.run("deploy_dev", tags=GIT)
    assert later.success
    outcome: list[dg.ExecuteInProcessResult] = []
    timer = threading.Timer(0.5, lambda: outcome.append(held.release()))
    timer.start()  # while the refresh waits for the open transaction
    refresh(project, database)
    timer.join()
    ids = sorted(read_tables(database)["deployment_runs"]["run_id"])
    assert ids == sorted([outcome[0].run_id, later.run_id])
