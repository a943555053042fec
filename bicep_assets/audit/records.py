"""What the audit keeps about one deployment run: plain records, no Dagster storage calls."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

import dagster as dg

from ..models import SavedPlan
from ..pipeline.jobs import ENVIRONMENT_TAG

JOB_KINDS = ("deploy", "plan")
CHANGE_TYPES_THAT_CHANGE = ("Create", "Modify", "Delete")


class EventRow(NamedTuple):
    """One state transition of a run (a row of ``deployment_events``)."""

    run_id: str
    seq: int
    timestamp: datetime
    step: str | None
    event_type: str
    message: str
    failure_kind: str | None
    arm_code: str | None
    http_status: int | None


class ChangeRow(NamedTuple):
    """One what-if change of a run's plan (a row of ``planned_changes``, without the run)."""

    resource_id: str
    resource_type: str
    change_type: str
    changed_paths: list[str]


class ResourceRow(NamedTuple):
    """A resource a run deployed, with what verify saw of it."""

    resource_id: str
    resource_type: str
    provisioning_state: str | None
    health: str | None
    healthy: bool | None


class RunAudit(NamedTuple):
    """Everything the audit keeps about one finished deploy/plan run."""

    run_id: str
    environment: str
    job: str
    kind: str
    trigger: str
    trigger_name: str | None
    launched_by: str | None
    parent_run_id: str | None
    git_sha: str | None
    template: str | None
    template_hash: str | None
    parameters_hash: str | None
    target: str | None
    scope_kind: str | None
    scope_id: str | None
    status: str
    failed_step: str | None
    failure_kind: str | None
    arm_code: str | None
    arm_message: str | None
    http_status: int | None
    retries: int
    started_at: datetime | None
    ended_at: datetime | None
    duration_s: float | None
    deployment_name: str | None
    deployment_id: str | None
    stack_id: str | None  # the deployment stack's id, when deployed as one
    correlation_id: str | None
    creates: int | None
    modifies: int | None
    deletes: int | None
    no_change: int | None
    destructive: bool | None
    allow_destructive: bool | None
    destructive_approved: bool | None
    allow_destructive_config: str | None
    applied: bool
    approved_plan: str | None
    rollback: str | None  # rollback_on_verify_failure: what became of the rollback
    rolled_back_to_run: str | None
    rolled_back_to_git_sha: str | None
    rollback_deployment: str | None
    events: list[EventRow]
    changes: list[ChangeRow]
    resources: list[ResourceRow]
    diagnostics: list[dict[str, Any]]
    checks: list[dict[str, Any]]
    outputs: dict[str, Any]
    saved_plan: SavedPlan | None  # the plan its plan step recorded (plans/<env>)


DETAIL_FIELDS = (
    "events",
    "changes",
    "resources",
    "diagnostics",
    "checks",
    "outputs",
    "saved_plan",
)
RUN_FIELDS = tuple(f for f in RunAudit._fields if f not in DETAIL_FIELDS)


def is_deployment_run(run: dg.DagsterRun) -> bool:
    """A run of a ``deploy_<env>``/``plan_<env>`` job (never the audit's own runs)."""
    kind, _, environment = run.job_name.partition("_")
    return kind in JOB_KINDS and bool(environment) and bool(run.tags.get(ENVIRONMENT_TAG))
