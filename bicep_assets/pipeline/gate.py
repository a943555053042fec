"""gate: a plan that deletes anything stops here unless the run allows destruction."""

import dagster as dg
from dagster import OpExecutionContext

from ..failures import LogicFailure, failure_boundary
from ..models import Plan
from ..resources.environment import DeploymentEnvironment
from .confirmation import confirm_deletions
from .secrets import run_secure_values


class GateConfig(dg.Config):
    """Run config of the gate step."""

    allow_destructive: bool = False
    # the plan id (run id) the run must apply; its semantics are part A's (issue 12), the
    # field is here so that `bicep-assets apply --plan ID` has run config to pass
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


@dg.op(out=dg.Out(Plan))
def gate(
    context: OpExecutionContext,
    config: GateConfig,
    plan: Plan,
    environment: DeploymentEnvironment,
) -> dg.Output[Plan]:
    """Stop a plan with deletions unless allow_destructive; report what is not evaluated."""
    with failure_boundary(context) as boundary:
        boundary.add_secrets(run_secure_values(environment.load()))
        for change in plan.changes:
            if change.change_type == "Unsupported":
                boundary.log.warning(
                    f"Not evaluated by what-if: {change.resource_id} ({change.unsupported_reason})"
                )
            elif change.change_type == "Ignore":
                boundary.log.info(f"Left as it is (not in the template): {change.resource_id}")
        allowed, by = confirm_deletions(plan, allow_destructive=config.allow_destructive)
        approved, metadata = gate_plan(plan, allow_destructive=allowed)
        if approved.deletions:
            boundary.log.warning(
                f"Destructive plan approved {by}: {len(approved.deletions)} deletion(s)."
            )
        return boundary.output(approved, metadata)
