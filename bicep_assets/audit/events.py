"""Reading finished deployment runs from Dagster's run storage and event log.

The pipeline writes a stable vocabulary (DESIGN.md, "The event log vocabulary"): run tags,
one metadata key set per op's ``STEP_OUTPUT``, the failure's structure
(:class:`~bicep_assets.failures.FailureFacts`) in the metadata of ``STEP_FAILURE``
and of the attempt record (an ``ENGINE_EVENT`` of the step) that precedes each
``STEP_UP_FOR_RETRY``, and the ``azure/<env>`` materialization.
Which runs finished since a cursor comes from the event log's run-status index; each run's
events are then read with one query and turned into a :class:`RunAudit`. Nothing here
writes anywhere.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import dagster as dg
from dagster import DagsterEventType, EventLogEntry, RunRecord

from ..dagster_private import SerializableErrorInfo, mark_shards_checked
from ..failures import FailureFacts
from ..instance import settled_storage_id
from ..models import SavedPlan
from ..pipeline.saved_plans import PLANS_PREFIX, saved_plan_from_metadata
from .records import EventRow, RunAudit, is_deployment_run
from .summary import RunFacts, StepFailure, failure_line, first_line, summarize_run, utc

RUN_END_EVENTS = {
    DagsterEventType.RUN_SUCCESS: "success",
    DagsterEventType.RUN_FAILURE: "failure",
    DagsterEventType.RUN_CANCELED: "canceled",
}
# the state transitions kept in deployment_events, by their display names
TRANSITIONS: dict[DagsterEventType, str] = {
    DagsterEventType.RUN_ENQUEUED: "RUN_ENQUEUED",
    DagsterEventType.RUN_DEQUEUED: "RUN_DEQUEUED",
    DagsterEventType.RUN_STARTING: "RUN_STARTING",
    DagsterEventType.RUN_START: "RUN_START",
    DagsterEventType.RUN_SUCCESS: "RUN_SUCCESS",
    DagsterEventType.RUN_FAILURE: "RUN_FAILURE",
    DagsterEventType.RUN_CANCELING: "RUN_CANCELING",
    DagsterEventType.RUN_CANCELED: "RUN_CANCELED",
    DagsterEventType.STEP_START: "STEP_START",
    DagsterEventType.STEP_SUCCESS: "STEP_SUCCESS",
    DagsterEventType.STEP_FAILURE: "STEP_FAILURE",
    DagsterEventType.STEP_SKIPPED: "STEP_SKIPPED",
    DagsterEventType.STEP_UP_FOR_RETRY: "STEP_UP_FOR_RETRY",
    DagsterEventType.STEP_RESTARTED: "STEP_RESTARTED",
    DagsterEventType.ASSET_MATERIALIZATION: "ASSET_MATERIALIZATION",
}
# STEP_OUTPUT: each op's metadata; ENGINE_EVENT: the attempt records of retried failures
READ_EVENT_TYPES = frozenset(
    {*TRANSITIONS, DagsterEventType.STEP_OUTPUT, DagsterEventType.ENGINE_EVENT}
)
# how long a refresh waits for PostgreSQL transactions open when it starts (docs/audit.md)
SETTLE_TIMEOUT_S = 30.0
_ERROR_PREFIX = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception|Failure|Failed)\w*: ")


def finished_run_changes(
    instance: dg.DagsterInstance,
    *,
    after_storage_id: int | None,
    up_to_storage_id: int | None = None,
    page_size: int = 1000,
) -> Iterator[tuple[int, str]]:
    """``(storage id, run id)`` of every run-end event (success, failure, canceled) stored
    after ``after_storage_id`` (all when None) and, when given, at or below
    ``up_to_storage_id``, from the event log's run-status index."""
    for event_type in RUN_END_EVENTS:
        records_filter = dg.RunStatusChangeRecordsFilter(
            event_type=event_type,  # type: ignore[arg-type]
            after_storage_id=after_storage_id,
            before_storage_id=None if up_to_storage_id is None else up_to_storage_id + 1,
        )
        cursor: str | None = None
        while True:
            result = instance.fetch_run_status_changes(
                records_filter, limit=page_size, cursor=cursor, ascending=True
            )
            for record in result.records:
                yield record.storage_id, record.event_log_entry.run_id
            if not result.has_more:
                break
            cursor = result.cursor


def run_records(instance: dg.DagsterInstance, run_ids: Sequence[str]) -> list[RunRecord]:
    """The run records of ``run_ids`` (in batches; unknown ids are left out)."""
    found: list[RunRecord] = []
    for start in range(0, len(run_ids), 500):
        batch = list(run_ids[start : start + 500])
        found.extend(instance.get_run_records(filters=dg.RunsFilter(run_ids=batch)))
    return found


def read_finished_runs(
    instance: dg.DagsterInstance,
    *,
    after_storage_id: int | None,
    settle_timeout_s: float | None = None,
    on_unsettled: Callable[[str], None] | None = None,
) -> tuple[list[RunAudit], int | None]:
    """The audit records of the deployment runs whose end (success, failure, canceled) was
    stored after ``after_storage_id`` (every finished run when None), in the order they
    ended, and the new cursor: the last run-end event's storage id read.

    On PostgreSQL, storage ids follow insertion, not commit: a run end with a lower id can
    commit after one with a higher id, and a cursor past it would skip it for ever. So the
    read stops at the settled id (:func:`~bicep_assets.instance.settled_storage_id`: every
    event up to it is committed); when a transaction stays open past ``settle_timeout_s``,
    the runs are read all the same but the cursor stays where it was (``on_unsettled`` is
    told why), so the next refresh reads them again and whatever committed late."""
    if settle_timeout_s is None:
        settle_timeout_s = SETTLE_TIMEOUT_S
    settled = settled_storage_id(instance, timeout_s=settle_timeout_s)
    up_to = settled.storage_id if settled is not None else None
    latest: dict[str, int] = {}
    cursor = after_storage_id
    for storage_id, run_id in finished_run_changes(
        instance, after_storage_id=after_storage_id, up_to_storage_id=up_to
    ):
        latest[run_id] = max(storage_id, latest.get(run_id, storage_id))
        cursor = storage_id if cursor is None else max(cursor, storage_id)
    if settled is not None and settled.still_open:
        cursor = after_storage_id
        if on_unsettled is not None:
            on_unsettled(
                f"PostgreSQL transactions open for more than {settle_timeout_s:g} s may still "
                f"add run ends below storage id {up_to}: {'; '.join(settled.still_open)}. The "
                "runs read are written, and the cursor stays, so the next refresh reads "
                "them again."
            )
    records = [r for r in run_records(instance, list(latest)) if is_deployment_run(r.dagster_run)]
    records.sort(key=lambda r: latest[r.dagster_run.run_id])
    skip_shard_schema_checks(instance, [r.dagster_run.run_id for r in records])
    return [read_run_audit(instance, r) for r in records], cursor


def skip_shard_schema_checks(instance: dg.DagsterInstance, run_ids: Iterable[str]) -> None:
    """Dagster's run-sharded SQLite event log checks each run's shard with alembic the first
    time a process opens it (15-30 ms: alembic re-reads every migration script), ten times
    the cost of reading the run's events. That check only creates and stamps a shard that
    has no schema yet; a shard file that exists was created by Dagster when the run stored
    its first event. So the existing shards of the runs about to be read are marked checked
    (other storages — Postgres, MySQL, consolidated SQLite — have no per-run shards)."""
    mark_shards_checked(instance, list(run_ids), os.path.exists)


def read_run_audit(instance: dg.DagsterInstance, record: RunRecord) -> RunAudit:
    """The audit record of one deployment run, from its events in the event log."""
    run = record.dagster_run
    connection = instance.get_records_for_run(run.run_id, of_type=set(READ_EVENT_TYPES))
    entries = [r.event_log_entry for r in connection.records]
    return audit_from_events(run, entries, start_time=record.start_time, end_time=record.end_time)


def _plain(value: Any) -> Any:
    """A metadata value as plain Python (tables as lists of dicts)."""
    if isinstance(value, dg.TableMetadataValue):
        return [dict(record.data) for record in value.records]
    if isinstance(value, dg.MetadataValue):
        return value.value
    return value


def _metadata(values: Mapping[str, Any] | None) -> dict[str, Any]:
    return {key: _plain(value) for key, value in (values or {}).items()}


def _error_text(error: SerializableErrorInfo | None) -> str:
    """What a failure said: a retry request's cause, without the exception class prefix."""
    while error is not None and error.cls_name == "RetryRequestedFromPolicy" and error.cause:
        error = error.cause
    return "" if error is None else _ERROR_PREFIX.sub("", error.message.strip(), count=1)


def audit_from_events(
    run: dg.DagsterRun,
    entries: Sequence[EventLogEntry],
    *,
    start_time: float | None = None,
    end_time: float | None = None,
) -> RunAudit:
    """The audit record of ``run`` from its event log entries (any order; any extra types).
    The status comes from the run's end event (the run record may lag behind it)."""
    outputs: dict[str, dict[str, Any]] = {}
    failures: list[StepFailure] = []
    events: list[EventRow] = []
    started_steps: set[str] = set()
    run_failure = None
    retries = 0
    first_ts = end_ts = None
    status = run.status.value.lower()
    attempts: dict[str, FailureFacts] = {}  # step → the record of its latest failed attempt
    saved_plan: SavedPlan | None = None
    for entry in sorted(entries, key=lambda e: e.timestamp):
        event = entry.dagster_event
        if event is None:
            continue
        kind, step, data = event.event_type, entry.step_key, event.event_specific_data
        if kind == DagsterEventType.ENGINE_EVENT:
            record = FailureFacts.from_metadata(getattr(data, "metadata", None))
            if step and record is not None:
                attempts[step] = record
            continue
        message, failed = entry.message or "", None
        first_ts = entry.timestamp if first_ts is None else first_ts
        if kind == DagsterEventType.ASSET_MATERIALIZATION:
            materialization = getattr(data, "materialization", None)
            if materialization is not None and materialization.asset_key.path[:1] == [PLANS_PREFIX]:
                recorded = saved_plan_from_metadata(materialization.metadata)
                if recorded is not None and recorded.plan_id == run.run_id:  # its id is the run's
                    saved_plan = recorded
        if kind == DagsterEventType.STEP_OUTPUT and step:
            outputs[step] = _metadata(getattr(data, "metadata", None))
            continue
        if kind == DagsterEventType.STEP_START and step:
            started_steps.add(step)
        elif kind == DagsterEventType.STEP_FAILURE and step:
            user = getattr(data, "user_failure_data", None)
            metadata = _metadata(user.metadata) if user is not None else {}
            description = getattr(user, "description", None) or _error_text(
                getattr(data, "error", None)
            )
            failures.append(StepFailure(step, metadata, description))
            attempts.pop(step, None)
            # no structure: not raised by an op (Dagster's own error), judged logic as before
            failed = FailureFacts.from_metadata(metadata) or FailureFacts("logic")
            message = f"{message} {failure_line(description)}".strip()
        elif kind == DagsterEventType.STEP_UP_FOR_RETRY:
            retries += 1
            # Dagster keeps no metadata here: the attempt record logged just before says it
            failed = (attempts.pop(step, None) if step else None) or FailureFacts("environmental")
            message = f"{message} {failure_line(_error_text(getattr(data, 'error', None)))}"
            message = message.strip()
        elif kind == DagsterEventType.RUN_FAILURE:
            text = first_line(_error_text(getattr(data, "error", None))) or message
            run_failure = (text, getattr(data, "failure_reason", None))
        if kind in RUN_END_EVENTS:
            end_ts, status = entry.timestamp, RUN_END_EVENTS[kind]
        if kind in TRANSITIONS:
            events.append(
                EventRow(
                    run_id=run.run_id,
                    seq=len(events) + 1,
                    timestamp=utc(entry.timestamp),  # type: ignore[arg-type]
                    step=step,
                    event_type=TRANSITIONS[kind],
                    message=message,
                    failure_kind=failed.failure_kind if failed else None,
                    arm_code=failed.arm_code if failed else None,
                    http_status=failed.http_status if failed else None,
                )
            )
    facts = RunFacts(
        outputs=outputs,
        failures=failures,
        run_failure=run_failure,
        events=events,
        started_steps=started_steps,
        retries=retries,
        started=start_time if start_time is not None else first_ts,
        ended=end_time if end_time is not None else end_ts,
        status=status,
        saved_plan=saved_plan,
    )
    return summarize_run(run, facts)
