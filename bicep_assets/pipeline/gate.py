"""gate: apply only what was reviewed. With ``approved_plan`` the fresh plan must be exactly
the saved one (its deletions then count as approved); without it a plan that deletes anything
stops here unless the run allows destruction, and an environment that requires an approved
plan stops every deployment."""

from datetime import datetime, timezone

import dagster as dg
from dagster import OpExecutionContext

from ..environments import EnvironmentSpec
from ..failures import LogicFailure, failure_boundary
from ..models import Plan, SavedPlan
from ..resources.arm import ArmClient
from ..resources.environment import DeploymentEnvironment
from .confirmation import confirm_deletions
from .locks import refuse_locked_plan
from .plan_review import plan_differences
from .saved_plans import is_plan_id, load_saved_plan
from .secrets import run_secure_values
from .stacks import log_unmanaged

SHOWN_DIFFERENCES = 25


class GateConfig(dg.Config):
    """Run config of the gate step."""

    allow_destructive: bool = False
    # a plan id (the run id of the run whose plan step made it): apply exactly that plan
    approved_plan: str = ""


def gate_plan(plan: Plan, *, allow_destructive: bool) -> tuple[Plan, dict[str, object]]:
    """The approved plan and the gate's metadata, or a logic Failure listing the deletions."""
    deleted = [c.resource_id for c in plan.deletions]
    metadata: dict[str, object] = {
        "destructive": bool(deleted),
        "allow_destructive": allow_destructive,
        "deleted_resources": dg.MetadataValue.json(deleted),
    }
    if deleted and not allow_destructive:
        raise LogicFailure(
            f"The plan deletes {len(deleted)} resource(s); rerun with allow_destructive: true "
            "in the gate config (CLI: --allow-destructive) to apply it:\n"
            + "\n".join(f"  - {rid}" for rid in deleted),
            arm_code="DestructiveChange",
            arm_message=f"{len(deleted)} resource(s) would be deleted",
            metadata=metadata,
        )
    return plan.model_copy(update={"approved": True}), metadata


def _how_to_plan(env: str) -> str:
    return (
        f"make a plan (`bicep-assets plan {env}`, or launch plan_{env}), review it, then apply "
        f"it by its id (`bicep-assets apply {env} --plan ID`, or launch deploy_{env} with "
        "ops.gate.config.approved_plan: ID)"
    )


def _age(seconds: float) -> str:
    whole = int(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{n}{unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "m")) if n]
    return "".join(parts) + (f"{secs}s" if secs or not parts else "")


def saved_plan_refusal(
    saved: SavedPlan | None,
    *,
    plan_id: str,
    spec: EnvironmentSpec,
    now: datetime,
    metadata: dict[str, object] | None = None,
) -> tuple[str, str, str] | None:
    """Why the saved plan ``plan_id`` (``saved``: what was recorded under that id) cannot be
    applied to ``spec``'s environment at ``now`` whatever the fresh plan says — (ARM-style
    code, message, short message) — or None. The gate refuses on it, and ``bicep-assets
    apply`` before it creates a run. ``metadata`` receives the plan's creation time and age."""
    env, manifest = spec.name, f"parameters/{spec.name}.yaml"
    if not is_plan_id(plan_id):
        return (
            "InvalidPlanId",
            f"approved_plan: '{plan_id}' is not a plan id — a plan id is the Dagster run id of "
            "the run that made the plan (36 characters, e.g. "
            "0f8c2c4e-5b1a-4e8e-9a8e-3c1f2d4b5a6c); " + _how_to_plan(env) + ".",
            "not a plan id",
        )
    if saved is None:
        return (
            "PlanNotFound",
            f"approved_plan: no saved plan {plan_id} in this Dagster instance (no such run, or "
            "its plan step did not finish); " + _how_to_plan(env) + ".",
            f"no saved plan {plan_id}",
        )
    metadata = {} if metadata is None else metadata
    metadata["approved_plan_created_at"] = saved.created_at
    if saved.environment != env:
        return (
            "PlanOfAnotherEnvironment",
            f"approved_plan: plan {plan_id} is a plan of environment '{saved.environment}', not "
            f"of '{env}'; " + _how_to_plan(env) + ".",
            f"plan of environment {saved.environment}",
        )
    age = (now - datetime.fromisoformat(saved.created_at)).total_seconds()
    metadata["approved_plan_age_s"] = round(age, 1)
    limit = spec.deployment.max_plan_age_s
    if age > limit:
        return (
            "PlanExpired",
            f"approved_plan: plan {plan_id} was made {_age(age)} ago ({saved.created_at}), "
            f"longer ago than deployment.max_plan_age ({spec.deployment.max_plan_age}) of "
            f"{manifest} allows; " + _how_to_plan(env) + ".",
            f"plan older than {spec.deployment.max_plan_age}",
        )
    return None


def check_approved_plan(
    plan: Plan,
    saved: SavedPlan | None,
    *,
    plan_id: str,
    spec: EnvironmentSpec,
    now: datetime,
    metadata: dict[str, object],
) -> Plan:
    """``plan`` approved as the saved plan ``plan_id`` (``saved``: what was recorded under
    that id), or a logic Failure saying why it cannot be applied."""
    env = spec.name

    def refuse(code: str, message: str, short: str) -> LogicFailure:
        return LogicFailure(message, arm_code=code, arm_message=short, metadata=metadata)

    refusal = saved_plan_refusal(saved, plan_id=plan_id, spec=spec, now=now, metadata=metadata)
    if refusal is not None:
        raise refuse(*refusal)
    assert saved is not None  # saved_plan_refusal refuses a missing plan
    differences = plan_differences(saved, plan)
    if differences:
        shown = differences[:SHOWN_DIFFERENCES]
        more = len(differences) - len(shown)
        metadata["differences"] = dg.MetadataValue.json(differences)
        applied = all(line.endswith(" in the approved plan, NoChange now") for line in differences)
        why = (  # every change it planned is in place: what was reviewed has happened
            f"Plan {plan_id} looks applied already: each of its {len(differences)} change(s) "
            "is in place now, so there is nothing of it left to apply"
            if applied
            else f"The plan made now differs from the approved plan {plan_id} in "
            f"{len(differences)} place(s), so it is not applied"
        )
        raise refuse(
            "PlanChanged",
            f"{why}; "
            + _how_to_plan(env)
            + ":\n"
            + "\n".join(f"  - {line}" for line in shown)
            + (f"\n  … and {more} more (the gate's metadata lists them all)" if more else ""),
            f"{len(differences)} difference(s) from the approved plan",
        )
    return plan.model_copy(update={"approved": True, "approved_plan": plan_id})


@dg.op(out=dg.Out(Plan))
def gate(
    context: OpExecutionContext,
    config: GateConfig,
    plan: Plan,
    environment: DeploymentEnvironment,
    arm: ArmClient,
) -> dg.Output[Plan]:
    """Apply only a reviewed plan: match it to approved_plan, or stop deletions unless
    allow_destructive; report what is not evaluated."""
    with failure_boundary(context) as boundary:
        spec = environment.load()
        boundary.add_secrets(run_secure_values(spec))
        for change in plan.changes:
            if change.change_type == "Unsupported":
                boundary.log.warning(
                    f"Not evaluated by what-if: {change.resource_id} ({change.unsupported_reason})"
                )
            elif change.change_type == "Ignore":
                boundary.log.info(f"Left as it is (not in the template): {change.resource_id}")
        log_unmanaged(spec, plan, boundary.log.info)  # a deployment stack's unmanage actions
        refuse_locked_plan(plan, spec, arm, boundary.log)
        plan_id = config.approved_plan.strip().lower()
        if plan_id:
            deleted = [c.resource_id for c in plan.deletions]
            metadata: dict[str, object] = {
                "destructive": bool(deleted),
                "allow_destructive": config.allow_destructive,
                "deleted_resources": dg.MetadataValue.json(deleted),
                "approved_plan": plan_id,
            }
            saved = load_saved_plan(context.instance, plan_id) if is_plan_id(plan_id) else None
            approved = check_approved_plan(
                plan,
                saved,
                plan_id=plan_id,
                spec=spec,
                now=datetime.now(timezone.utc),
                metadata=metadata,
            )
            boundary.log.info(
                f"The plan matches the approved plan {plan_id} (made {saved and saved.created_at})"
                + (f"; its {len(deleted)} deletion(s) were approved with it." if deleted else ".")
            )
            return boundary.output(approved, metadata)
        if spec.deployment.require_approved_plan:
            raise LogicFailure(
                f"Environment '{spec.name}' requires an approved plan "
                f"(deployment.require_approved_plan in parameters/{spec.name}.yaml), and this "
                f"run names none: {_how_to_plan(spec.name)}.",
                arm_code="ApprovedPlanRequired",
                arm_message="an approved plan is required",
                metadata={
                    "destructive": bool(plan.deletions),
                    "allow_destructive": config.allow_destructive,
                    "approved_plan": "",
                },
            )
        allowed, by = confirm_deletions(plan, allow_destructive=config.allow_destructive)
        approved, metadata = gate_plan(plan, allow_destructive=allowed)
        metadata["approved_plan"] = ""
        if approved.deletions:
            boundary.log.warning(
                f"Destructive plan approved {by}: {len(approved.deletions)} deletion(s)."
            )
        return boundary.output(approved, metadata)
