"""The event-log vocabulary (DESIGN.md) turned into one :class:`RunAudit`: run tags, each op's
output metadata, the failing step's metadata and the run config of the gate."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any, NamedTuple

import dagster as dg

from ..dagster_private import RunFailureReason
from ..failures import FailureFacts
from ..models import SavedPlan
from ..pipeline.deploy import deployment_name
from ..pipeline.jobs import ENVIRONMENT_TAG, TRIGGER_TAG
from ..pipeline.provenance import GIT_SHA_TAG, SCOPE_KIND_TAG, SCOPE_TAG, TARGET_TAG
from .records import ChangeRow, EventRow, ResourceRow, RunAudit

TEMPLATE_HASH_TAG = "bicep_assets/template_hash"  # added by lint
SCHEDULE_TAG = "dagster/schedule_name"
SENSOR_TAG = "dagster/sensor_name"
PARENT_RUN_TAG = "dagster/parent_run_id"
USER_TAGS = ("dagster/user", "bicep_assets/launched_by")
TRANSIENT_RUN_FAILURES = (RunFailureReason.UNEXPECTED_TERMINATION, RunFailureReason.START_TIMEOUT)


class StepFailure(NamedTuple):
    step: str
    metadata: dict[str, Any]
    description: str


class RunFacts(NamedTuple):
    """What one run's events said, before it is put into the vocabulary's terms."""

    outputs: dict[str, dict[str, Any]]  # step → its output metadata (plain values)
    failures: list[StepFailure]
    run_failure: tuple[str, RunFailureReason | None] | None  # a failure of no step
    events: list[EventRow]
    started_steps: set[str]
    retries: int
    started: float | None
    ended: float | None
    status: str
    saved_plan: SavedPlan | None = None  # what the plan step recorded (plans/<env>)


def utc(timestamp: float | None) -> datetime | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, tz=timezone.utc)


def first_line(text: str | None) -> str:
    lines = (text or "").strip().splitlines()
    return lines[0] if lines else ""


def failure_line(text: str) -> str:
    """The line of a failure description saying what failed (the classifier's verdict when
    there is one: "Logic failure (not retried): CODE: message …"), else its first line."""
    for line in text.splitlines():
        if line.startswith(("Logic failure", "Environmental failure")):
            return line
    return first_line(text)


def text_or_none(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _int_or_none(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _trigger(tags: Mapping[str, str]) -> tuple[str, str | None]:
    """ui / schedule / sensor / cli, and the schedule's or sensor's name. Dagster's own tags
    win over ``bicep_assets/trigger``, whose job-level default is ``ui``."""
    if tags.get(SCHEDULE_TAG):
        return "schedule", tags[SCHEDULE_TAG]
    if tags.get(SENSOR_TAG):
        return "sensor", tags[SENSOR_TAG]
    return tags.get(TRIGGER_TAG) or "ui", None


def _run_config(run: dg.DagsterRun, *path: str) -> Mapping[str, Any]:
    node: Any = run.run_config if isinstance(run.run_config, Mapping) else {}
    for key in path:
        node = node.get(key) if isinstance(node, Mapping) else None
    return node if isinstance(node, Mapping) else {}


def _target(run: dg.DagsterRun) -> str | None:
    """The ARM target: the tag lint records from the run's own ``arm`` resource, else (a run
    that never reached lint) the run config's ``resources.arm.config.target``."""
    target = _run_config(run, "resources", "arm", "config").get("target")
    return run.tags.get(TARGET_TAG) or target or None


def resource_type_of(resource_id: str) -> str:
    """``Microsoft.Web/sites`` (child types joined) from an ARM resource id."""
    lowered = resource_id.lower()
    if "/providers/" not in lowered:
        return "Microsoft.Resources/resourceGroups" if "/resourcegroups/" in lowered else ""
    tail = resource_id[lowered.rfind("/providers/") + len("/providers/") :].split("/")
    return "/".join([tail[0], *tail[1::2]])


def _health(detail: str) -> str:
    """The availability state of a verify ``resource_health`` detail ("Available: …")."""
    state = detail.split(":", 1)[0].strip()
    return state if state and " " not in state else detail


def deployed_resources(
    deployed: Iterable[str], checks: Sequence[Mapping[str, Any]]
) -> list[ResourceRow]:
    """The deploy step's output resources with what verify's checks saw of each."""
    by_target: dict[str, dict[str, Mapping[str, Any]]] = {}
    for check in checks:
        by_target.setdefault(str(check.get("target", "")).lower(), {})[str(check["kind"])] = check
    rows: list[ResourceRow] = []
    for resource_id in deployed:
        seen = by_target.get(resource_id.lower(), {})
        state, health = seen.get("provisioning_state"), seen.get("resource_health")
        oks = [bool(c.get("ok")) for c in seen.values()]
        rows.append(
            ResourceRow(
                resource_id=resource_id,
                resource_type=resource_type_of(resource_id),
                provisioning_state=str(state["detail"]) if state else None,
                health=_health(str(health["detail"])) if health else None,
                healthy=all(oks) if oks else None,
            )
        )
    return rows


def _failure(facts: RunFacts) -> tuple[str | None, FailureFacts | None, str | None]:
    """The failed step, what its failure carried, and its message (ARM's, else the
    failure's line)."""
    if facts.failures:
        step, metadata, description = facts.failures[-1]
        found = FailureFacts.from_metadata(metadata) or FailureFacts("logic")
        return step, found, found.arm_message or failure_line(description)
    if facts.status == "failure" and facts.run_failure is not None:
        text, reason = facts.run_failure
        kind = "environmental" if reason in TRANSIENT_RUN_FAILURES else "logic"
        return None, FailureFacts(kind), text or None
    return None, None, None


def _destructive(
    run: dg.DagsterRun, facts: RunFacts, gate: Mapping[str, Any]
) -> tuple[bool | None, bool | None, bool | None, str | None]:
    """destructive, allow_destructive, destructive_approved and the run config that allowed
    it (the gate's section of the launched run config)."""
    destructive, allow = gate.get("destructive"), gate.get("allow_destructive")
    config = _run_config(run, "ops", "gate", "config")
    if allow is None and run.job_name.startswith("deploy_") and "allow_destructive" in config:
        allow = bool(config["allow_destructive"])
    if "gate" in facts.outputs:
        approved: bool | None = bool(destructive and allow)
    else:
        approved = False if any(f.step == "gate" for f in facts.failures) else None
    source = None
    if allow:
        gate_config = {"ops": {"gate": {"config": dict(config)}}}
        source = json.dumps(gate_config, sort_keys=True) if config else "(job default config)"
    return (
        None if destructive is None else bool(destructive),
        None if allow is None else bool(allow),
        approved,
        source,
    )


def _approved_plan(run: dg.DagsterRun, gate: Mapping[str, Any]) -> str | None:
    """The saved plan the run was to apply: what the gate recorded, else (a run that never
    reached the gate) its run config."""
    recorded = gate.get("approved_plan")
    if recorded is None:
        recorded = _run_config(run, "ops", "gate", "config").get("approved_plan")
    return str(recorded).strip().lower() or None if recorded else None


def summarize_run(run: dg.DagsterRun, facts: RunFacts) -> RunAudit:
    """The audit record of ``run`` from the facts its events gave."""
    tags, outputs = run.tags, facts.outputs
    environment = tags.get(ENVIRONMENT_TAG, "")
    trigger, trigger_name = _trigger(tags)
    failed_step, failure, arm_message = _failure(facts)
    failed = facts.failures[-1].metadata if facts.failures else {}
    lint = outputs.get("lint") or (failed if failed_step == "lint" else {})
    plan, deploy = outputs.get("plan", {}), outputs.get("deploy", {})
    gate = outputs.get("gate") or (failed if failed_step == "gate" else {})
    verify = outputs.get("verify") or (failed if failed_step == "verify" else {})
    destructive, allow, approved, allowed_by = _destructive(run, facts, gate)
    name = text_or_none(deploy.get("deployment_name"))
    if name is None and "deploy" in facts.started_steps:
        name = deployment_name(environment, run.run_id)  # deterministic, named before any PUT
    checks = list(verify.get("checks") or [])
    started, ended = facts.started, facts.ended
    return RunAudit(
        run_id=run.run_id,
        environment=environment,
        job=run.job_name,
        kind=run.job_name.partition("_")[0],
        trigger=trigger,
        trigger_name=trigger_name,
        launched_by=next((tags[t] for t in USER_TAGS if tags.get(t)), None),
        parent_run_id=tags.get(PARENT_RUN_TAG) or None,
        git_sha=tags.get(GIT_SHA_TAG) or None,
        template=text_or_none(lint.get("template")),
        template_hash=text_or_none(lint.get("template_hash")) or tags.get(TEMPLATE_HASH_TAG),
        parameters_hash=text_or_none(lint.get("parameters_hash")),
        target=_target(run),
        scope_kind=tags.get(SCOPE_KIND_TAG) or None,
        scope_id=tags.get(SCOPE_TAG) or None,
        status=facts.status,
        failed_step=failed_step,
        failure_kind=failure.failure_kind if failure else None,
        arm_code=failure.arm_code if failure else None,
        arm_message=arm_message,
        http_status=failure.http_status if failure else None,
        retries=facts.retries,
        started_at=utc(started),
        ended_at=utc(ended),
        duration_s=round(ended - started, 3) if started is not None and ended is not None else None,
        deployment_name=name,
        deployment_id=text_or_none(deploy.get("deployment_id")),
        stack_id=text_or_none(deploy.get("stack_id")),
        correlation_id=text_or_none(deploy.get("correlation_id")),
        creates=_int_or_none(plan.get("creates")),
        modifies=_int_or_none(plan.get("modifies")),
        deletes=_int_or_none(plan.get("deletes")),
        no_change=_int_or_none(plan.get("no_change")),
        destructive=destructive,
        allow_destructive=allow,
        destructive_approved=approved,
        allow_destructive_config=allowed_by,
        applied="deploy" in outputs,
        approved_plan=_approved_plan(run, gate),
        rollback=text_or_none(verify.get("rollback")),
        rolled_back_to_run=text_or_none(verify.get("rollback_to_run")),
        rolled_back_to_git_sha=text_or_none(verify.get("rollback_to_git_sha")),
        rollback_deployment=text_or_none(verify.get("rollback_deployment")),
        events=facts.events,
        changes=[
            ChangeRow(
                resource_id=str(c.get("resource_id", "")),
                resource_type=str(c.get("resource_type", "")),
                change_type=str(c.get("change_type", "")),
                changed_paths=[p for p in str(c.get("changed_paths") or "").split(", ") if p],
            )
            for c in plan.get("changes") or []
        ],
        resources=deployed_resources(
            [str(r) for r in deploy.get("output_resources") or []], checks
        ),
        diagnostics=list(lint.get("diagnostics") or []),
        checks=checks,
        outputs=dict(deploy.get("outputs") or {}),
        saved_plan=facts.saved_plan,
    )
