"""Saved plans: every plan step records its plan, so that a person can review it and a
deployment can apply exactly it (``ops.gate.config.approved_plan``).

A plan is recorded as an ``AssetMaterialization`` of ``plans/<env>`` by the step that made it
(in a ``plan_<env>`` run or a ``deploy_<env>`` run): its id is that run's id, and its metadata
holds the counts, the hashes, the commit, the target, when it was made and the whole record
as JSON (``plan``: a :class:`~bicep_assets.models.SavedPlan`). The UI shows it on the asset's
page; ``bicep-assets audit export --plan ID`` prints it; the audit tables ``plans`` and
``planned_properties`` hold it as rows.

The record is bounded: when the changes' details (a Create's properties, a Modify's deltas, a
Delete's last state) would take more than :data:`MAX_DETAIL_CHARS` characters, the largest
are left out — the record says so (``truncated``, ``note``, each such change's
``detail_omitted``) and keeps every change's id, type and fingerprint, so an approval still
compares all of it. (ARM limits a template to 800 resources, which bounds the list itself.)
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

import dagster as dg

from ..models import Plan, SavedChange, SavedPlan
from .plan_review import fingerprint, value_leaves

PLANS_PREFIX = "plans"
MAX_DETAIL_CHARS = 200_000
PLAN_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def plan_asset_key(environment: str) -> dg.AssetKey:
    """``plans/<env>``: where an environment's plans are recorded."""
    return dg.AssetKey([PLANS_PREFIX, environment])


def is_plan_id(text: str) -> bool:
    """A plan id is a Dagster run id: 36 characters, lowercase hex and dashes."""
    return bool(PLAN_ID.fullmatch(text))


def _detail_size(change: SavedChange) -> int:
    detail = [[d.model_dump() for d in change.delta], change.after, change.before]
    return len(json.dumps(detail, default=str))


def saved_plan(
    plan: Plan,
    *,
    plan_id: str,
    job: str,
    created_at: datetime,
    git_sha: str = "",
    git_dirty: bool = False,
    template_path: str = "",
    max_detail_chars: int = MAX_DETAIL_CHARS,
) -> SavedPlan:
    """The record of ``plan`` (made by run ``plan_id`` of ``job``), its details bounded."""
    changes = [
        SavedChange(
            **change.model_dump(), fingerprint=fingerprint(change, plan.what_if_deployment_name)
        )
        for change in plan.changes
    ]
    sizes = [_detail_size(c) for c in changes]
    omitted = 0
    if sum(sizes) > max_detail_chars:
        # leave out the largest details first, until the rest fits
        budget = sum(sizes)
        for index in sorted(range(len(changes)), key=lambda i: -sizes[i]):
            if budget <= max_detail_chars:
                break
            budget -= sizes[index]
            changes[index] = changes[index].model_copy(
                update={"delta": [], "after": None, "before": None, "detail_omitted": True}
            )
            omitted += 1
    note = ""
    if omitted:
        note = (
            f"The details of {omitted} of {len(changes)} changes were left out to keep this "
            f"record under {max_detail_chars} characters; each change's fingerprint is kept, "
            "so applying this plan still compares every property."
        )
    counts = {
        kind: plan.count(kind)
        for kind in ("Create", "Modify", "Delete", "NoChange", "Ignore", "Unsupported", "Deploy")
    }
    return SavedPlan(
        plan_id=plan_id,
        environment=plan.environment,
        job=job,
        created_at=created_at.astimezone(timezone.utc).isoformat(timespec="seconds"),
        git_sha=git_sha,
        git_dirty=git_dirty,
        target=plan.target,
        template_path=template_path,
        template_hash=plan.template_hash,
        parameters_hash=plan.parameters_hash,
        what_if_deployment_name=plan.what_if_deployment_name,
        parameters=plan.parameters,
        counts=counts,
        changes=changes,
        truncated=bool(omitted),
        note=note,
    )


def saved_plan_metadata(saved: SavedPlan) -> dict[str, Any]:
    """The metadata of the ``plans/<env>`` materialization (what the asset page shows)."""
    counts = saved.counts
    write_only = sum(len(c.write_only) for c in saved.changes)
    return {
        "plan_id": saved.plan_id,
        "created_at": saved.created_at,
        "summary": (
            f"{counts.get('Create', 0)} to create, {counts.get('Modify', 0)} to modify, "
            f"{counts.get('Delete', 0)} to delete, {counts.get('NoChange', 0)} unchanged"
            + (f"; {write_only} write-only (written again, not compared)" if write_only else "")
        ),
        "creates": counts.get("Create", 0),
        "modifies": counts.get("Modify", 0),
        "deletes": counts.get("Delete", 0),
        "no_change": counts.get("NoChange", 0),
        "write_only": write_only,
        "git_sha": saved.git_sha,
        "target": saved.target,
        "template_hash": saved.template_hash,
        "parameters_hash": saved.parameters_hash,
        "truncated": saved.truncated,
        "plan": dg.MetadataValue.json(saved.model_dump(mode="json")),
    }


def saved_plan_from_metadata(metadata: Any) -> SavedPlan | None:
    """The record in a ``plans/<env>`` materialization's metadata (None when it has none)."""
    value = (metadata or {}).get("plan")
    data = value.value if isinstance(value, dg.MetadataValue) else value
    if not isinstance(data, dict):
        return None
    try:
        return SavedPlan.model_validate(data)
    except ValueError:
        return None


def load_saved_plan(instance: dg.DagsterInstance, plan_id: str) -> SavedPlan | None:
    """The plan recorded by run ``plan_id`` (the latest, when its plan step ran more than
    once), or None: no such run, or it recorded no plan."""
    if not is_plan_id(plan_id) or instance.get_run_by_id(plan_id) is None:
        return None
    records = instance.get_records_for_run(
        plan_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
    ).records
    found: SavedPlan | None = None
    for record in records:
        materialization = record.event_log_entry.asset_materialization
        if materialization is None or materialization.asset_key.path[:1] != [PLANS_PREFIX]:
            continue
        saved = saved_plan_from_metadata(materialization.metadata)
        if saved is not None and saved.plan_id == plan_id:
            found = saved
    return found


def property_rows(saved: SavedPlan) -> list[dict[str, Any]]:
    """One row per property a saved plan changes: a Create's properties (``Create``), a
    Modify's changed paths (``Modify``, ``Create``, ``Delete`` or ``Array`` item changes), a
    Delete's last state (``Delete``), and the write-only paths written again (``WriteOnly``,
    without values); values as JSON text."""
    rows: list[dict[str, Any]] = []

    def add(change: SavedChange, path: str, kind: str, before: Any, after: Any) -> None:
        rows.append(
            {
                "resource_id": change.resource_id,
                "resource_change_type": change.change_type,
                "path": path,
                "change_type": kind,
                "before": None if before is None else json.dumps(before, default=str),
                "after": None if after is None else json.dumps(after, default=str),
            }
        )

    for change in saved.changes:
        if change.change_type == "Create" and change.after:
            for path, value in value_leaves(change.after).items():
                add(change, path, "Create", None, value)
        elif change.change_type == "Delete" and change.before:
            for path, value in value_leaves(change.before).items():
                add(change, path, "Delete", value, None)
        else:
            stack = [("", d) for d in change.delta]
            while stack:
                prefix, item = stack.pop(0)
                path = item.path
                full = (
                    f"{prefix}[{path}]"
                    if path.isdigit()
                    else (f"{prefix}.{path}" if prefix else path)
                )
                if item.children:
                    stack[:0] = [(full, child) for child in item.children]
                else:
                    add(change, full, item.change_type, item.before, item.after)
        for path in change.write_only:  # by path only: the value is never in a plan
            add(change, path, "WriteOnly", None, None)
    return rows


def plan_asset_specs(environments: Iterable[str]) -> list[dg.AssetSpec]:
    """One external asset per environment (``environments``: name → spec), so that its
    saved plans have a page in the UI; every plan step materializes it."""
    return [
        dg.AssetSpec(
            plan_asset_key(name),
            description=(
                f"The saved plans of {name}: each materialization is one plan, made by the plan "
                f"step of plan_{name} or deploy_{name}, its id the run's. Apply one with "
                f"`bicep-assets apply {name} --plan ID` or deploy_{name}'s "
                "ops.gate.config.approved_plan."
            ),
            group_name=PLANS_PREFIX,
            kinds={"azure"},
        )
        for name in environments
    ]
