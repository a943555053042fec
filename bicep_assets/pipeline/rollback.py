"""Rollback on failed verification (``deployment.rollback_on_verify_failure``).

When verify fails after a successful deployment, verify redeploys the environment's last
*verified* deployment: the newest successful run of ``deploy_<env>`` (a run succeeds only when
its verify passed; a rollback run always fails, so it is never a rollback's target). What it
redeploys is what that run recorded, exactly:

- the template ARM ran for it (``exportTemplate`` of deployment ``<env>-<run id>``), checked
  against the ``template_hash`` of the plan the run saved;
- the non-secure parameter values of that saved plan (``plans/<env>``, id = the run id);
- secure values read again from where the manifest says (environment variable or Key Vault
  reference, only inside the ARM call: never stored);
- ARM's deployment mode as recorded for that deployment.

It is deployed through ARM as a new deployment, ``<env>-rollback-<run id>`` (re-attached on a
retry, as deploy does), then verified with the same checks. The run then fails with both
verdicts. Nothing loops: a rollback's own verification failing is reported, never rolled back.

Before the ARM call, the failed checks are recorded as an observation of ``azure/<env>``
(``rollback_started``): a retried verify finds it, resumes the rollback and reports those
checks instead of judging the half-restored environment again.
"""

import json
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import dagster as dg
from dagster import OpExecutionContext

from ..armlocal.engine.parameters import secure_parameter_names
from ..armlocal.engine.template_hash import template_hash
from ..environments import EnvironmentSpec
from ..failures import (
    DeploymentFailure,
    EnvironmentalFailure,
    FailureBoundary,
    LogicFailure,
)
from ..models import CheckResult, CompiledTemplate, DeploymentResult, SavedPlan
from ..resources.arm import ArmClient
from .deploy import MAX_NAME, deployment_name, deployment_result, watch_deployment
from .saved_plans import load_saved_plan
from .secrets import parameters_with_secrets

ROLLBACK_MARK = "rollback_started"  # the observation's metadata key: the failed checks (JSON)


def rollback_deployment_name(environment: str, run_id: str) -> str:
    """``<env>-rollback-<run id>`` (at most 64 characters, ARM's limit)."""
    middle = "-rollback-"
    return f"{environment[: MAX_NAME - len(run_id) - len(middle)]}{middle}{run_id}"


class GoodDeployment(NamedTuple):
    """What a verified run deployed, as it recorded it."""

    run_id: str
    git_sha: str
    plan: SavedPlan
    deployment_name: str
    template: dict[str, Any]
    mode: str


class RollbackOutcome(NamedTuple):
    """What the rollback did: ``status`` is ``restored`` (its verify passed), ``unhealthy``
    (deployed, verify failed), ``failed`` (not deployed: the reason in ``sentence``) or
    ``no_good_deployment``."""

    status: str
    sentence: str
    to_run: str = ""
    to_git_sha: str = ""
    deployment: str = ""
    checks: tuple[CheckResult, ...] = ()

    def metadata(self, table: Callable[[list[CheckResult]], Any]) -> dict[str, Any]:
        """The keys verify's failure carries (the audit reads them)."""
        entries: dict[str, Any] = {
            "rollback": self.status,
            "rollback_to_run": self.to_run,
            "rollback_to_git_sha": self.to_git_sha,
            "rollback_deployment": self.deployment,
        }
        if self.checks:
            entries["rollback_checks"] = table(list(self.checks))
        return entries


def last_verified_run(context: OpExecutionContext) -> dg.DagsterRun | None:
    """The newest successful run of this run's job (deploy, then verify, passed)."""
    records = context.instance.get_run_records(
        filters=dg.RunsFilter(
            job_name=context.run.job_name, statuses=[dg.DagsterRunStatus.SUCCESS]
        ),
        limit=5,
    )
    for record in records:
        if record.dagster_run.run_id != context.run_id:
            return record.dagster_run
    return None


def started_rollback(context: OpExecutionContext, environment: str) -> list[CheckResult] | None:
    """The failed checks an earlier attempt of this step recorded before it began a rollback
    (None: no rollback began in this run)."""
    records = context.instance.get_records_for_run(
        context.run_id, of_type=dg.DagsterEventType.ASSET_OBSERVATION
    ).records
    for record in reversed(records):
        observation = record.event_log_entry.asset_observation
        if observation is None or observation.asset_key != dg.AssetKey(["azure", environment]):
            continue
        value = observation.metadata.get(ROLLBACK_MARK)
        if value is not None:
            raw = value.value if isinstance(value, dg.MetadataValue) else value
            return [CheckResult.model_validate(c) for c in json.loads(str(raw))]
    return None


def recorded_deployment(
    context: OpExecutionContext, spec: EnvironmentSpec, arm: ArmClient, run: dg.DagsterRun
) -> GoodDeployment:
    """What ``run`` deployed, from its saved plan and ARM's record of its deployment; a
    missing or changed record is a logic failure that says which."""
    plan = load_saved_plan(context.instance, run.run_id)
    if plan is None:
        raise LogicFailure(
            f"run {run.run_id} recorded no plan (plans/{spec.name}), so what it deployed "
            "cannot be restored exactly",
            arm_code="RollbackRecordMissing",
        )
    name = deployment_name(spec.name, run.run_id)
    where: dict[str, Any] = {"scope": spec.scope, "identity": spec.identity}
    record = arm.get_deployment(name=name, **where)
    template = arm.export_template(name=name, **where) if record is not None else None
    if record is None or template is None:
        raise LogicFailure(
            f"ARM no longer has deployment {name} of run {run.run_id} (ARM keeps at most 800 "
            "deployments per scope and deletes the oldest), so its template cannot be restored",
            arm_code="RollbackRecordMissing",
        )
    if template_hash(template) != plan.template_hash:
        raise LogicFailure(
            f"the template ARM recorded for deployment {name} (hash {template_hash(template)}) "
            f"is not the one run {run.run_id} planned (hash {plan.template_hash})",
            arm_code="RollbackRecordChanged",
        )
    return GoodDeployment(
        run_id=run.run_id,
        git_sha=plan.git_sha or run.tags.get("bicep_assets/git_sha", ""),
        plan=plan,
        deployment_name=name,
        template=template,
        mode=str(record["properties"].get("mode") or spec.deployment.mode),
    )


def _compiled(spec: EnvironmentSpec, good: GoodDeployment) -> CompiledTemplate:
    """The recorded deployment as lint would have passed it on: non-secure values as the plan
    recorded them, secure parameters as the manifest references them now."""
    declared = {name.lower() for name in secure_parameter_names(good.template)}
    secure = {
        name: ref.to_reference()
        for name, ref in spec.secure_parameters.items()
        if name.lower() in declared
    }
    return CompiledTemplate(
        environment=spec.name,
        template_path=good.plan.template_path,
        template=good.template,
        parameters={name: {"value": value} for name, value in good.plan.parameters.items()},
        secure_parameters=secure,
        template_hash=good.plan.template_hash,
        parameters_hash=good.plan.parameters_hash,
    )


def redeploy(
    context: OpExecutionContext,
    boundary: FailureBoundary,
    spec: EnvironmentSpec,
    arm: ArmClient,
    good: GoodDeployment,
) -> tuple[CompiledTemplate, DeploymentResult]:
    """Deploy ``good`` again as ``<env>-rollback-<run id>``, re-attaching on a retry."""
    compiled = _compiled(spec, good)
    name = rollback_deployment_name(spec.name, context.run_id)
    where: dict[str, Any] = {"scope": spec.scope, "identity": spec.identity}
    started = time.monotonic()
    existing = arm.get_deployment(name=name, **where)
    state = existing["properties"].get("provisioningState") if existing else None
    if state == "Canceled":
        raise LogicFailure(
            f"rollback deployment {name} was canceled in ARM; it is not deployed again",
            arm_code="DeploymentCanceled",
        )
    if existing is None or state == "Failed":
        parameters = parameters_with_secrets(compiled)
        arm.start_deployment(
            name=name,
            template=compiled.template,
            parameters=parameters,
            mode=good.mode,
            tags={
                **spec.tags,
                "bicep-assets-environment": spec.name,
                "bicep-assets-git-sha": good.git_sha,
                "bicep-assets-run-id": context.run_id,
                "bicep-assets-rollback-to-run": good.run_id,
            },
            rollback_on_error=False,
            **where,
        )
        del parameters
        boundary.log.info(
            f"Started rollback deployment {name} (if this run stops now, it goes on in ARM; "
            "a retry of this step re-attaches to it)."
        )
    else:
        boundary.log.info(f"Re-attaching to rollback deployment {name} ({state}).")
    interval = arm.polling_interval_s or (0.2 if arm.target == "local" else 5.0)
    record = watch_deployment(
        arm,
        name=name,
        interval_s=interval,
        on_operation=lambda op: boundary.log.info(_operation_line(op)),
        **where,
    )
    props = record["properties"]
    if props.get("provisioningState") != "Succeeded":
        error = props.get("error") or {"code": "DeploymentCanceled", "message": "canceled"}
        raise DeploymentFailure.from_error(error, description=f"rollback deployment {name} failed")
    result = boundary.scrub(deployment_result(spec.name, name, record, started))
    return compiled, result


def _operation_line(operation: dict[str, Any]) -> str:
    props = operation.get("properties") or {}
    target = props.get("targetResource") or {}
    what = f"{target.get('resourceType', '?')}/{target.get('resourceName', '?')}"
    return f"Rollback {what}: {props.get('provisioningState')}"


def roll_back(
    context: OpExecutionContext,
    boundary: FailureBoundary,
    spec: EnvironmentSpec,
    arm: ArmClient,
    failed_checks: list[CheckResult],
    verify_again: Callable[[CompiledTemplate, DeploymentResult], list[CheckResult]],
) -> RollbackOutcome:
    """Redeploy the last verified deployment and verify it. A logic failure on the way (no
    record, ARM refusing) is an outcome; an environmental one is raised (the step retries and
    re-attaches)."""
    run = last_verified_run(context)
    if run is None:
        sentence = (
            f"No rollback: {spec.name} has no earlier deployment that succeeded and passed "
            "verify, so nothing was changed."
        )
        boundary.log.warning(sentence)
        return RollbackOutcome("no_good_deployment", sentence)
    try:
        good = recorded_deployment(context, spec, arm, run)
    except Exception as exc:  # an ARM error reading the record, or the record missing
        failure = DeploymentFailure.from_error(exc)
        if isinstance(failure, EnvironmentalFailure):
            raise failure from None  # the step retries: nothing was sent yet
        first = (failure.description or "").splitlines()[0]
        sentence = f"No rollback to run {run.run_id}: {first}; nothing was changed."
        boundary.log.error(sentence)
        return RollbackOutcome("failed", sentence, to_run=run.run_id)
    boundary.log.warning(
        f"Rolling back {spec.name}: redeploying what run {good.run_id} deployed and verified "
        f"— plan {good.plan.plan_id}, git SHA {good.git_sha or 'unknown'}, template "
        f"{good.plan.template_path} (hash {good.plan.template_hash}), deployment "
        f"{good.deployment_name}, mode {good.mode}."
    )
    if started_rollback(context, spec.name) is None:
        boundary.observe(
            dg.AssetKey(["azure", spec.name]),
            f"verify failed; rolling back to run {good.run_id}",
            {
                ROLLBACK_MARK: json.dumps([c.model_dump() for c in failed_checks]),
                "rollback_to_run": good.run_id,
                "rollback_to_git_sha": good.git_sha,
            },
        )
    name = rollback_deployment_name(spec.name, context.run_id)
    facts = {"to_run": good.run_id, "to_git_sha": good.git_sha, "deployment": name}
    try:
        compiled, result = redeploy(context, boundary, spec, arm, good)
    except EnvironmentalFailure:
        raise
    except Exception as exc:  # a logic failure: ARM refused or failed the rollback
        failure = DeploymentFailure.from_error(exc)
        if isinstance(failure, EnvironmentalFailure):
            raise failure from None
        why = failure.facts
        cause = (failure.description or "").splitlines()[0].rstrip(".")
        if why.arm_code or why.arm_message:  # ARM's own reason, not only that it failed
            cause = f"{cause} ({why.arm_code or 'no ARM code'}: {why.arm_message or ''})"
        sentence = (
            f"The rollback to run {good.run_id} (git SHA {good.git_sha or 'unknown'}) failed: "
            f"{cause}; health is NOT restored."
        )
        boundary.log.error(sentence)
        return RollbackOutcome("failed", sentence, **facts)
    checks = verify_again(compiled, result)
    for check in checks:
        log = boundary.log.info if check.ok else boundary.log.error
        log(
            f"after rollback: {check.kind} {check.target}: "
            f"{'ok' if check.ok else 'FAILED'} ({check.detail})"
        )
    boundary.materialize(
        dg.AssetKey(["azure", spec.name]),
        f"{spec.name} rolled back by run {context.run_id} to run {good.run_id}",
        {
            "git_sha": good.git_sha,
            "template_hash": good.plan.template_hash,
            "deployment_id": result.deployment_id,
            "output_resources": dg.MetadataValue.json(result.output_resources),
            "outputs": dg.MetadataValue.json(result.outputs),
            "rollback_to_run": good.run_id,
        },
    )
    failed = [c for c in checks if not c.ok]
    if failed:
        sentence = (
            f"Rolled back to run {good.run_id} (git SHA {good.git_sha or 'unknown'}) as "
            f"deployment {name}, but its verify failed too ({len(failed)} of {len(checks)}: "
            + "; ".join(f"{c.kind} {c.target}: {c.detail}" for c in failed[:5])
            + "): health is NOT restored."
        )
        return RollbackOutcome("unhealthy", sentence, checks=tuple(checks), **facts)
    sentence = (
        f"Rolled back to run {good.run_id} (git SHA {good.git_sha or 'unknown'}) as deployment "
        f"{name}: its {len(checks)} check(s) passed, health restored."
    )
    boundary.log.info(sentence)
    return RollbackOutcome("restored", sentence, checks=tuple(checks), **facts)
