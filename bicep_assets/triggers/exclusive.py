"""One deployment per environment at a time, for runs that do not pass through the run queue.

Runs launched from the UI, a sensor or a schedule are queued by ``dagster.yaml``'s tag
concurrency limit (one in-progress run per ``bicep_assets/environment`` value).
``bicep-assets deploy`` executes in its own process and bypasses that queue, so it **waits**:
first for a lock file per environment under ``DAGSTER_HOME/locks/`` (two CLI deploys on one
instance), then until no run of the environment is in progress on the instance (launched by
the daemon, or by another host sharing the instance's storage). A run whose bicep-assets
process is gone does not count: each check first marks such runs failed (``crashed.py``).
Its own run then shows as in progress, so the queue holds back any run of that environment
until it ends. After ``timeout_s`` it gives up with :class:`EnvironmentBusy`
(``timeout_s=0``: refuse at once).

Between the last check and this run's start the daemon could still dequeue a run of the
same environment: every deployment run therefore also holds its environment while it runs
(``instance.environment_held``, through the job's ``environment_hold`` resource), and the
later of the two waits.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from dagster import DagsterInstance, DagsterRunStatus, RunRecord, RunsFilter

from ..pipeline.jobs import ENVIRONMENT_TAG
from .crashed import fail_crashed_runs

try:  # POSIX; elsewhere only the instance check applies
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["ACTIVE", "EnvironmentBusy", "active_runs", "exclusive_environment"]

ACTIVE = [DagsterRunStatus.STARTING, DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING]


class EnvironmentBusy(RuntimeError):
    """Another run kept the environment busy for longer than the caller would wait."""


def active_runs(instance: DagsterInstance, environment: str) -> list[RunRecord]:
    """Runs of ``environment`` that have started and not finished, on ``instance``."""
    return list(
        instance.get_run_records(
            RunsFilter(statuses=ACTIVE, tags={ENVIRONMENT_TAG: environment}), limit=10
        )
    )


def _describe(record: RunRecord) -> str:
    run = record.dagster_run
    return f"run {run.run_id} ({run.job_name}, {run.status.value})"


@contextmanager
def exclusive_environment(
    instance: DagsterInstance,
    environment: str,
    *,
    timeout_s: float,
    poll_s: float = 1.0,
    report: Callable[[str], None] = print,
) -> Iterator[None]:
    """Hold ``environment`` for a deployment run by this process (see the module docstring)."""
    deadline = time.monotonic() + max(0.0, timeout_s)
    root = Path(instance.root_directory or os.environ.get("DAGSTER_HOME") or ".")
    lock_path = root / "locks" / f"{environment}.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a+") as lock:
        announced = False
        while fcntl is not None:
            try:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise EnvironmentBusy(
                        f"{environment}: another bicep-assets deploy on this instance holds "
                        f"{lock_path}; gave up after {timeout_s:g} s"
                    ) from None
                if not announced:
                    report(f"waiting: another bicep-assets deploy of {environment} is running")
                    announced = True
                time.sleep(poll_s)
        shown: set[str] = set()
        detected_by = f"bicep-assets deploy {environment} (pid {os.getpid()}), waiting to deploy"
        while True:
            for crashed in fail_crashed_runs(
                instance, detected_by=detected_by, environment=environment
            ):
                report(f"recovered: {crashed.describe()}")
            busy = active_runs(instance, environment)
            if not busy:
                break
            if time.monotonic() >= deadline:
                raise EnvironmentBusy(
                    f"{environment} is busy: {_describe(busy[0])} is in progress; gave up after "
                    f"{timeout_s:g} s (--wait-timeout)"
                )
            for record in busy:
                if record.dagster_run.run_id not in shown:
                    shown.add(record.dagster_run.run_id)
                    report(f"waiting: {_describe(record)} is in progress for {environment}")
            time.sleep(poll_s)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
