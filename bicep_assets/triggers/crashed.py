"""Runs whose process is gone are marked failed, so that they stop holding their environment.

``bicep-assets deploy|plan`` executes a job inside its own process: no run launcher, no run
worker that Dagster could watch. When that process dies without a word — ``kill -9``, the
out-of-memory killer, a CI runner torn down — nothing records the end of the run: it stays
STARTED, and every later deploy of the environment waits for it (see ``exclusive.py``).

So a CLI run records the process that executes it in the run tag ``bicep_assets/process``
(:func:`process_tags`: host, PID namespace, pid and the process's start time, the local
ARM's :class:`~bicep_assets.armlocal.ProcessIdentity`), and :func:`fail_crashed_runs` marks
failed — with an engine event carrying the facts, then ``RUN_FAILURE`` with a message saying
what died, when and how it was found out — every unfinished run whose process is gone:

- **same host** (and PID namespace): no process has that pid any more, or the pid now belongs
  to a process started at another time (a recycled pid), or it is a zombie. A live process's
  run is never touched, however long it takes.
- **another host or container** (or a platform where processes cannot be inspected): its
  liveness cannot be known from here, so the run is failed only once it has recorded no
  event for :data:`UNREACHABLE_AFTER` (24 hours).

A run that was CANCELING is marked canceled instead. Every ``bicep-assets`` command that
opens the instance calls it first (deploy, plan, ui, audit export), a waiting deploy calls it
on every poll, and the sensor ``crashed_runs`` calls it from the daemon every 30 seconds.
Runs without the tag (launched by the daemon through the run launcher) are Dagster's own to
watch: see docs/operations.md.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import dagster as dg

from ..armlocal import ProcessIdentity, process_liveness
from ..dagster_private import EngineEventData, JobFailureData, RunFailureReason
from ..pipeline.jobs import ENVIRONMENT_TAG

try:  # POSIX; elsewhere two detectors may both report a run (harmless: the first wins)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "PROCESS_TAG",
    "UNREACHABLE_AFTER",
    "CrashedRun",
    "build_crashed_runs_sensor",
    "fail_crashed_runs",
    "process_tags",
]

PROCESS_TAG = "bicep_assets/process"
UNREACHABLE_AFTER = timedelta(hours=24)
UNFINISHED = [
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]
_STEP_STARTS = {dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_RESTARTED}
_STEP_ENDS = {
    dg.DagsterEventType.STEP_SUCCESS,
    dg.DagsterEventType.STEP_FAILURE,
    dg.DagsterEventType.STEP_SKIPPED,
    dg.DagsterEventType.STEP_UP_FOR_RETRY,
}


def process_tags() -> dict[str, str]:
    """The run tag naming this process, for a run it executes itself."""
    return {PROCESS_TAG: ProcessIdentity.current().to_json()}


@dataclass(frozen=True)
class CrashedRun:
    """A run :func:`fail_crashed_runs` marked failed (or canceled)."""

    run_id: str
    job_name: str
    process: ProcessIdentity
    status: dg.DagsterRunStatus
    message: str

    def describe(self) -> str:
        """``run 1b1b… (deploy_dev) marked FAILURE: its process (pid 12 on host) is gone``."""
        return (
            f"run {self.run_id} ({self.job_name}) marked {self.status.value}: its process "
            f"({self.process.describe()}) is gone"
        )


def fail_crashed_runs(
    instance: dg.DagsterInstance,
    *,
    detected_by: str,
    environment: str | None = None,
    now: datetime | None = None,
    unreachable_after: timedelta = UNREACHABLE_AFTER,
) -> list[CrashedRun]:
    """Mark failed the unfinished runs (of ``environment``, or all) whose process is gone.

    ``detected_by`` names the caller in the run's event log (``bicep-assets deploy (pid 5)``).
    Safe to call from any number of processes at once: on one host they take turns, and a
    run is reported only while it is still unfinished.
    """
    tags = {ENVIRONMENT_TAG: environment} if environment else {}
    records = instance.get_run_records(dg.RunsFilter(statuses=UNFINISHED, tags=tags))
    suspects = []
    for record in records:
        process = _process_of(record.dagster_run)
        if process is not None and process_liveness(process) != "alive":
            suspects.append((record, process))
    if not suspects:
        return []
    crashed: list[CrashedRun] = []
    with _turn(instance):
        for record, process in suspects:
            found = _fail_if_gone(instance, record, process, detected_by, now, unreachable_after)
            if found is not None:
                crashed.append(found)
    return crashed


def _process_of(run: dg.DagsterRun) -> ProcessIdentity | None:
    text = run.tags.get(PROCESS_TAG)
    if text is None:
        return None
    try:
        return ProcessIdentity.from_json(text)
    except ValueError:
        return None  # not written by bicep-assets: left to Dagster's run monitoring


def _fail_if_gone(
    instance: dg.DagsterInstance,
    record: dg.RunRecord,
    process: ProcessIdentity,
    detected_by: str,
    now: datetime | None,
    unreachable_after: timedelta,
) -> CrashedRun | None:
    """Report ``record``'s run failed (canceled) if it is still unfinished and its process is
    gone — judged again here, in this caller's turn."""
    run = instance.get_run_by_id(record.dagster_run.run_id)
    if run is None or run.status not in UNFINISHED:
        return None  # finished meanwhile, or another detector reported it
    verdict = process_liveness(process)
    if verdict == "alive":
        return None
    moment = now or datetime.now(timezone.utc)
    last = _last_event_time(instance, run.run_id) or record.create_timestamp
    if verdict == "unknown" and moment - last < unreachable_after:
        return None
    ended, steps = _steps(instance, run.run_id)
    where = (
        f"while step {', '.join(repr(s) for s in steps)} was running"
        if steps
        else f"after step {ended!r} ended"
        if ended
        else "before its first step started"
    )
    canceled = run.status == dg.DagsterRunStatus.CANCELING
    outcome = "canceled" if canceled else "failed"
    if verdict == "dead":
        what = (
            f"is gone (killed or crashed): no process with that pid and the start time "
            f"recorded in the run tag {PROCESS_TAG} runs on {process.host} any more"
        )
    else:
        hours = unreachable_after.total_seconds() / 3600
        what = (
            "is presumed gone: it ran on another host or container, which cannot be checked "
            f"from here, and the run has recorded no event for more than {hours:g} hours"
        )
    message = (
        f"The process running this run ({process.describe()}) {what}. It stopped {where}, "
        f"after its last event at {_utc(last)}. Detected at {_utc(moment)} by {detected_by}; "
        f"the run is marked {outcome}, so the environment is free for the next deployment."
    )
    instance.report_engine_event(
        f"Run process gone: {process.describe()}",
        run,
        EngineEventData(
            metadata={
                "host": process.host,
                "pid": process.pid,
                "process_started": process.started or "",
                "verdict": verdict,
                "running_steps": ", ".join(steps),
                "last_event_at": _utc(last),
                "detected_at": _utc(moment),
                "detected_by": detected_by,
            }
        ),
    )
    if canceled:
        instance.report_run_canceled(run, message)
        status = dg.DagsterRunStatus.CANCELED
    else:
        instance.report_run_failed(
            run,
            message,
            JobFailureData(error=None, failure_reason=RunFailureReason.UNEXPECTED_TERMINATION),
        )
        status = dg.DagsterRunStatus.FAILURE
    return CrashedRun(run.run_id, run.job_name, process, status, message)


def _last_event_time(instance: dg.DagsterInstance, run_id: str) -> datetime | None:
    records = instance.get_records_for_run(run_id, limit=1, ascending=False).records
    if not records:
        return None
    return datetime.fromtimestamp(records[0].event_log_entry.timestamp, tz=timezone.utc)


def _steps(instance: dg.DagsterInstance, run_id: str) -> tuple[str | None, list[str]]:
    """The step that ended last, and the steps that started and did not end (in order)."""
    ended: str | None = None
    running: dict[str, None] = {}
    for entry in instance.all_logs(run_id, of_type=_STEP_STARTS | _STEP_ENDS):
        event = entry.dagster_event
        if event is None or event.step_key is None:
            continue
        if event.event_type in _STEP_STARTS:
            running[event.step_key] = None
        else:
            running.pop(event.step_key, None)
            ended = event.step_key
    return ended, list(running)


def _utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


@contextmanager
def _turn(instance: dg.DagsterInstance) -> Iterator[None]:
    """One detector at a time on this host (a lock file under DAGSTER_HOME/locks/)."""
    root = instance.root_directory or os.environ.get("DAGSTER_HOME")
    if fcntl is None or not root:
        yield
        return
    path = Path(root) / "locks" / "crashed-runs.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)  # held for milliseconds; freed if we die
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def build_crashed_runs_sensor() -> dg.SensorDefinition:
    """``crashed_runs``: the daemon's side of :func:`fail_crashed_runs`."""

    @dg.sensor(
        name="crashed_runs",
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Marks failed the bicep-assets CLI runs whose process is gone (killed, "
        "crashed), so that they no longer hold their environment.",
    )
    def crashed_runs(context: dg.SensorEvaluationContext) -> dg.SkipReason:
        """Fail the runs whose bicep-assets process is gone; say which in the tick."""
        found = fail_crashed_runs(
            context.instance, detected_by=f"the sensor crashed_runs (pid {os.getpid()})"
        )
        for run in found:
            context.log.warning(run.describe())
        if not found:
            return dg.SkipReason("no run of a gone process")
        return dg.SkipReason("; ".join(run.describe() for run in found))

    return crashed_runs
