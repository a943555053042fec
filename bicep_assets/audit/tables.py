"""The audit tables as pandas DataFrames: rows from :class:`RunAudit` records, and the
aggregates (deployed resources, environment status) merged from earlier ones."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from ..pipeline.saved_plans import property_rows
from .records import CHANGE_TYPES_THAT_CHANGE, RunAudit
from .schemas import (
    DEPLOYED_RESOURCES,
    DEPLOYMENT_EVENTS,
    DEPLOYMENT_RUNS,
    ENVIRONMENT_STATUS,
    PLANNED_CHANGES,
    PLANNED_PROPERTIES,
    PLANS,
)

_OBSERVED = ["environment", "resource_id", "resource_type", "run_id", "at"]
_SEEN = ["provisioning_state", "health", "healthy"]
_KEYS = ["environment", "key"]


def runs_frame(audits: Sequence[RunAudit]) -> pd.DataFrame:
    names = DEPLOYMENT_RUNS.column_names
    return DEPLOYMENT_RUNS.frame([tuple(getattr(a, n) for n in names) for a in audits])


def events_frame(audits: Sequence[RunAudit]) -> pd.DataFrame:
    # EventRow is (run_id, seq, timestamp, …); the table puts environment and job after seq
    rows = [(*e[:2], a.environment, a.job, *e[2:]) for a in audits for e in a.events]
    return DEPLOYMENT_EVENTS.frame(rows)


def changes_frame(audits: Sequence[RunAudit]) -> pd.DataFrame:
    rows = [(a.run_id, a.environment, a.job, *c, a.applied) for a in audits for c in a.changes]
    return PLANNED_CHANGES.frame(rows)


def plans_frame(audits: Sequence[RunAudit]) -> pd.DataFrame:
    rows = []
    for audit in audits:
        saved = audit.saved_plan
        if saved is None:
            continue
        counts = saved.counts
        rows.append(
            (
                saved.plan_id,
                saved.environment,
                saved.job,
                pd.Timestamp(saved.created_at),
                saved.git_sha or None,
                saved.git_dirty,
                saved.target or None,
                saved.template_path or None,
                saved.template_hash,
                saved.parameters_hash,
                counts.get("Create", 0),
                counts.get("Modify", 0),
                counts.get("Delete", 0),
                counts.get("NoChange", 0),
                saved.truncated,
            )
        )
    return PLANS.frame(rows)


def planned_properties_frame(audits: Sequence[RunAudit]) -> pd.DataFrame:
    columns = PLANNED_PROPERTIES.column_names[2:]
    rows = [
        (saved.plan_id, saved.environment, *(row[c] for c in columns))
        for saved in (a.saved_plan for a in audits)
        if saved is not None
        for row in property_rows(saved)
    ]
    return PLANNED_PROPERTIES.frame(rows)


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """``pd.concat`` of the non-empty frames (empty ones would blur the column dtypes)."""
    kept = [f for f in frames if not f.empty]
    return pd.concat(kept, ignore_index=True) if kept else frames[-1]


def _pick(frame: pd.DataFrame, *, keep: str, names: dict[str, str]) -> pd.DataFrame:
    """One row per environment and resource id (ignoring case): the earliest or the latest
    by time, then by run id; ``names`` renames run_id and at."""
    frame = frame.assign(
        key=frame["resource_id"].astype("string").str.lower(),
        at=pd.to_datetime(frame["at"], utc=True),
    )
    ordered = frame.sort_values(["at", "run_id"], kind="stable", na_position="first")
    return ordered.drop_duplicates(_KEYS, keep=keep).rename(columns=names)  # type: ignore[arg-type]


def resources_frame(previous: pd.DataFrame | None, audits: Sequence[RunAudit]) -> pd.DataFrame:
    """``deployed_resources`` merged from the previous table and ``audits``: the earliest and
    latest deploying runs by end time win, so re-reading a run changes nothing."""
    prev = DEPLOYED_RESOURCES.frame([]) if previous is None else DEPLOYED_RESOURCES.coerce(previous)
    observed = pd.DataFrame.from_records(
        [
            (a.environment, r.resource_id, r.resource_type, a.run_id, a.ended_at, *r[2:])
            for a in audits
            if a.applied
            for r in a.resources
        ],
        columns=[*_OBSERVED, *_SEEN],
    )
    deleted = pd.DataFrame.from_records(
        [
            (a.environment, c.resource_id, c.resource_type, a.run_id, a.ended_at)
            for a in audits
            if a.applied
            for c in a.changes
            if c.change_type == "Delete"
        ],
        columns=_OBSERVED,
    )
    base = _OBSERVED[:3]
    earlier = prev[[*base, "first_run_id", "first_deployed_at"]].set_axis(_OBSERVED, axis=1)
    latest = prev[[*base, "last_run_id", "last_deployed_at", *_SEEN]].set_axis(
        [*_OBSERVED, *_SEEN], axis=1
    )
    gone_before = prev.loc[prev["deleted_run_id"].notna()]
    gone_before = gone_before[[*base, "deleted_run_id", "deleted_at"]].set_axis(_OBSERVED, axis=1)
    first = _pick(
        _concat([earlier, observed[_OBSERVED]]),
        keep="first",
        names={"run_id": "first_run_id", "at": "first_deployed_at"},
    )
    last = _pick(
        _concat([latest, observed]),
        keep="last",
        names={"run_id": "last_run_id", "at": "last_deployed_at"},
    )
    gone = _pick(
        _concat([gone_before, deleted]),
        keep="last",
        names={"run_id": "deleted_run_id", "at": "deleted_at"},
    )
    merged = last.merge(first[[*_KEYS, "first_run_id", "first_deployed_at"]], on=_KEYS)
    merged = merged.merge(gone[[*_KEYS, "deleted_run_id", "deleted_at"]], on=_KEYS, how="left")
    merged = DEPLOYED_RESOURCES.coerce(merged.sort_values(_KEYS, kind="stable"))
    deployed_again = merged["last_deployed_at"] > merged["deleted_at"]
    merged["exists"] = (merged["deleted_at"].isna() | deployed_again).astype("boolean")
    return merged


def history_frames(
    previous_resources: pd.DataFrame | None, audits: Sequence[RunAudit]
) -> dict[str, pd.DataFrame]:
    """The four history tables' DataFrames after reading ``audits``: for the three run tables
    the rows of those runs (the IO manager replaces their rows, or the whole table on a full
    rebuild), and ``deployed_resources`` merged with its previous version."""
    runs = runs_frame(audits).sort_values(["ended_at", "run_id"], kind="stable", ignore_index=True)
    return {
        "deployment_runs": runs,
        "deployment_events": events_frame(audits),
        "planned_changes": changes_frame(audits),
        "plans": plans_frame(audits),
        "planned_properties": planned_properties_frame(audits),
        "deployed_resources": resources_frame(previous_resources, audits),
    }


def _value(row: pd.Series | None, column: str) -> Any:
    if row is None:
        return None
    value = row[column]
    return None if not isinstance(value, list) and pd.isna(value) else value


def _latest(frame: pd.DataFrame) -> pd.Series | None:
    return frame.iloc[-1] if len(frame) else None


def environment_status_frame(runs: pd.DataFrame, changes: pd.DataFrame) -> pd.DataFrame:
    """One row per environment, from ``deployment_runs`` and ``planned_changes``. Open drift:
    the latest successful plan-only run planned changes, and no deploy succeeded after it."""
    runs = DEPLOYMENT_RUNS.coerce(runs).sort_values(["ended_at", "run_id"], kind="stable")
    changes = PLANNED_CHANGES.coerce(changes)
    changing = changes[changes["change_type"].isin(CHANGE_TYPES_THAT_CHANGE)]
    rows: list[dict[str, Any]] = []
    for environment, group in runs.groupby("environment", sort=True):
        deploys = group[group["kind"] == "deploy"]
        ok = _latest(deploys[deploys["status"] == "success"])
        bad = _latest(deploys[deploys["status"] == "failure"])
        drift = _latest(group[(group["kind"] == "plan") & (group["status"] == "success")])
        row: dict[str, Any] = {
            "environment": environment,
            "last_run_id": group.iloc[-1]["run_id"],
            "last_run_at": group.iloc[-1]["ended_at"],
            "last_deploy_status": _value(_latest(deploys), "status"),
            "last_success_run_id": _value(ok, "run_id"),
            "last_success_at": _value(ok, "ended_at"),
            "last_failure_run_id": _value(bad, "run_id"),
            "last_failure_at": _value(bad, "ended_at"),
            "last_failure_kind": _value(bad, "failure_kind"),
            "last_failure_code": _value(bad, "arm_code"),
            "current_git_sha": _value(ok, "git_sha"),
            "current_template_hash": _value(ok, "template_hash"),
            "drift_run_id": _value(drift, "run_id"),
            "drift_checked_at": _value(drift, "ended_at"),
        }
        if drift is not None:
            planned = [
                str(r) for r in changing[changing["run_id"] == drift["run_id"]]["resource_id"]
            ]
            deployed_since = ok is not None and ok["ended_at"] > drift["ended_at"]
            row["drift_changes"] = len(planned)
            row["drift_resources"] = planned
            row["open_drift"] = bool(planned) and not deployed_since
        rows.append(row)
    names = ENVIRONMENT_STATUS.column_names
    return ENVIRONMENT_STATUS.frame([[row.get(c) for c in names] for row in rows])
