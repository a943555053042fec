"""deploy: one ARM deployment per run — re-attached, never duplicated, on a retry."""

import json
import time
from collections.abc import Callable
from typing import Any

import dagster as dg
from dagster import OpExecutionContext

from ..environments import EnvironmentSpec, Identity, Scope
from ..failures import (
    DeploymentFailure,
    EnvironmentalFailure,
    FailureBoundary,
    failure_boundary,
)
from ..models import CompiledTemplate, DeploymentResult, Plan
from ..resources.arm import ArmClient
from ..resources.environment import DeploymentEnvironment, EnvironmentHold
from .plan import check_management_group
from .secrets import parameters_with_secrets, run_secure_values
from .stacks import deploy_stack, managed_ids

TERMINAL = ("Succeeded", "Failed", "Canceled")
MAX_NAME = 64


def deployment_name(environment: str, run_id: str) -> str:
    """Deterministic per run: ``<env>-<run id>`` (at most 64 characters, ARM's limit)."""
    return f"{environment[: MAX_NAME - len(run_id) - 1]}-{run_id}"


def watch_deployment(
    arm: ArmClient,
    *,
    scope: Scope,
    identity: Identity | None = None,
    name: str,
    on_operation: Callable[[dict[str, Any]], None],
    interval_s: float,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Poll a deployment until it finishes; report each operation whose state changed."""
    seen: dict[str, str] = {}
    while True:
        record = arm.get_deployment(scope=scope, identity=identity, name=name)
        if record is None:  # ARM answered 404 DeploymentNotFound
            raise EnvironmentalFailure(
                f"Deployment {name} disappeared while it ran.",
                arm_code="DeploymentNotFound",
                http_status=404,
            )
        for operation in arm.list_operations(scope=scope, identity=identity, name=name):
            state = (operation.get("properties") or {}).get("provisioningState", "")
            if seen.get(operation.get("operationId", "")) != state:
                seen[operation.get("operationId", "")] = state
                on_operation(operation)
        if record["properties"].get("provisioningState") in TERMINAL:
            return record
        sleep(interval_s)


def public_outputs(record: dict[str, Any]) -> dict[str, Any]:
    """Outputs without secure ones (ARM gives those no value; we drop them by type too)."""
    outputs = (record.get("properties") or {}).get("outputs") or {}
    return {
        name: output.get("value")
        for name, output in outputs.items()
        if isinstance(output, dict) and not str(output.get("type", "")).lower().startswith("secure")
    }


def deployment_result(
    environment: str,
    name: str,
    record: dict[str, Any],
    started: float,
    *,
    stack_id: str | None = None,
) -> DeploymentResult:
    """What a finished ARM deployment ``record`` says, the run's clock started at ``started``
    (``time.monotonic()``); secure outputs left out."""
    props = record.get("properties") or {}
    return DeploymentResult(
        environment=environment,
        deployment_name=name,
        deployment_id=record["id"],
        correlation_id=props.get("correlationId"),
        provisioning_state=props["provisioningState"],
        duration_s=round(time.monotonic() - started, 3),
        outputs=public_outputs(record),
        output_resources=[r["id"] for r in props.get("outputResources") or []],
        stack_id=stack_id,
    )


def output_entries(outputs: dict[str, Any]) -> dict[str, dg.MetadataValue]:
    """One text entry per output (``output webHost: app-….azurewebsites.net``): the UI's event
    list shows each value inline; ``outputs`` (JSON) stays for the audit and the API."""
    return {
        f"output {name}": dg.MetadataValue.text(
            value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        )
        for name, value in outputs.items()
    }


def describe_operation(operation: dict[str, Any], planned: dict[str, str]) -> str:
    """One deployment operation as a log line, led by the plan's change type for its resource
    (``planned``: lower-cased resource id → change type), so that a resource the plan found
    unchanged is not reported as created: ARM applies every resource of the template again and
    calls each of those operations ``Create``. A resource the plan did not list (what-if could
    not see it) is led by ARM's operation and says so."""
    props = operation.get("properties") or {}
    target = props.get("targetResource") or {}
    what = f"{target.get('resourceType', '?')}/{target.get('resourceName', '?')}"
    state = props.get("provisioningState")
    change = planned.get(str(target.get("id", "")).lower())
    if change is None and target.get("resourceType") == "Microsoft.Resources/deployments":
        # what-if lists a nested deployment's resources, not the deployment itself
        line = f"Deploy {what}: {state} (a nested deployment: its resources are in the plan)"
    elif change is None:
        line = f"{props.get('provisioningOperation', 'Create')} {what}: {state} (not in the plan)"
    elif change == "NoChange":
        line = f"NoChange {what}: {state} (applied again, the plan found nothing to change)"
    else:
        line = f"{change} {what}: {state}"
    error = (
        (props.get("statusMessage") or {}).get("error")
        if isinstance(props.get("statusMessage"), dict)
        else None
    )
    if error:
        line += f" ({error.get('code')}: {error.get('message')})"
    return line


@dg.op(out=dg.Out(DeploymentResult))
def deploy(
    context: OpExecutionContext,
    compiled: CompiledTemplate,
    plan: Plan,
    environment: DeploymentEnvironment,
    arm: ArmClient,
    environment_hold: EnvironmentHold,
) -> dg.Output[DeploymentResult]:
    """Deploy the approved plan with ARM and stream its progress into the event log.
    (``environment_hold``: a run that deploys holds its environment from its start to its end.)"""
    del environment_hold  # held by being initialised, at the run's start
    with failure_boundary(context) as boundary:
        spec = environment.load()
        # ARM's error messages can echo what they were sent: the boundary masks these values
        boundary.add_secrets(run_secure_values(spec))
        scope = spec.scope
        name = deployment_name(spec.name, context.run_id)
        git_sha = context.run.tags.get("bicep_assets/git_sha", "")
        tags = {
            **spec.tags,
            "bicep-assets-environment": spec.name,
            "bicep-assets-git-sha": git_sha,
            "bicep-assets-run-id": context.run_id,
        }
        started = time.monotonic()
        where: dict[str, Any] = {"scope": scope, "identity": spec.identity}
        check_management_group(spec, arm)
        parameters = parameters_with_secrets(compiled)
        if scope.kind == "resourceGroup" and arm.ensure_resource_group(
            name=scope.group,
            location=scope.location,
            tags=spec.tags,
            subscription_id=scope.subscription,
            identity=spec.identity,
        ):
            boundary.log.info(f"Created resource group {scope.group} ({scope.location}).")
        interval = arm.polling_interval_s or (0.2 if arm.target == "local" else 5.0)
        planned = {c.resource_id.lower(): c.change_type for c in plan.changes}
        if spec.deployment.stack is not None:  # deployed as a deployment stack (stacks.py)
            stack = deploy_stack(
                arm,
                spec,
                template=compiled.template,
                parameters=parameters,
                tags=tags,
                run_id=context.run_id,
                log=boundary.log.info,
                on_operation=lambda op: boundary.log.info(describe_operation(op, planned)),
                interval_s=interval,
            )
            del parameters
            return _deployed(context, boundary, spec, compiled, stack_record(stack), started)
        existing = arm.get_deployment(name=name, **where)
        state = existing["properties"].get("provisioningState") if existing else None
        if state == "Canceled":  # by a person, during an earlier attempt or its retry wait
            raise DeploymentFailure.from_error(
                {
                    "code": "DeploymentCanceled",
                    "message": f"Deployment {name} was canceled in ARM; it is not deployed "
                    "again. Launch a new run to deploy.",
                },
                description=f"ARM deployment {name} was canceled",
            )
        if existing is None or state == "Failed":
            if existing is not None:
                boundary.log.info(f"Deployment {name} ended {state}: deploying it again.")
            arm.start_deployment(
                name=name,
                template=compiled.template,
                parameters=parameters,
                mode=spec.deployment.mode,
                tags=tags,
                rollback_on_error=spec.deployment.rollback_on_error,
                **where,
            )
            where_to = scope.group if scope.kind == "resourceGroup" else f"the {scope.describe()}"
            boundary.log.info(f"Started ARM deployment {name} in {where_to}.")
        else:
            boundary.log.info(f"Re-attaching to ARM deployment {name} ({state}).")
        del parameters
        record = watch_deployment(
            arm,
            name=name,
            interval_s=interval,
            on_operation=lambda op: boundary.log.info(describe_operation(op, planned)),
            **where,
        )
        props = record["properties"]
        if props.get("provisioningState") != "Succeeded":
            error = props.get("error") or {
                "code": "DeploymentCanceled",
                "message": f"Deployment {name} was canceled.",
            }
            raise DeploymentFailure.from_error(error, description=f"ARM deployment {name} failed")
        return _deployed(context, boundary, spec, compiled, record, started)


def stack_record(stack: dict[str, Any]) -> dict[str, Any]:
    """A succeeded stack as the deployment record the result is built from: its deployment's
    id and name, its managed resources, non-secure outputs, and the stack's own id."""
    props = stack.get("properties") or {}
    deployment_id = str(props.get("deploymentId") or stack["id"])
    return {
        "id": deployment_id,
        "name": deployment_id.rsplit("/", 1)[1],
        "stack_id": stack["id"],
        "properties": {
            "provisioningState": "Succeeded",
            "correlationId": props.get("correlationId"),
            "outputs": props.get("outputs") or {},
            "outputResources": [{"id": i} for i in managed_ids(stack)],
            "detachedResources": props.get("detachedResources") or [],
            "deletedResources": props.get("deletedResources") or [],
        },
    }


def _deployed(
    context: OpExecutionContext,
    boundary: FailureBoundary,
    spec: EnvironmentSpec,
    compiled: CompiledTemplate,
    record: dict[str, Any],
    started: float,
) -> dg.Output[DeploymentResult]:
    """The deploy step's result, materialization and output for a succeeded deployment (or
    deployment stack: ``record["stack_id"]``)."""
    props = record["properties"]
    git_sha = context.run.tags.get("bicep_assets/git_sha", "")
    stack_id = record.get("stack_id")
    name = record.get("name") or deployment_name(spec.name, context.run_id)
    result = boundary.scrub(deployment_result(spec.name, name, record, started, stack_id=stack_id))
    stack_entries: dict[str, Any] = {}
    if stack_id:
        stack_entries = {
            "stack_id": stack_id,
            "stack_detached": dg.MetadataValue.json(
                [r.get("id") for r in props.get("detachedResources") or []]
            ),
            "stack_deleted": dg.MetadataValue.json(
                [r.get("id") for r in props.get("deletedResources") or []]
            ),
        }
    boundary.materialize(
        dg.AssetKey(["azure", spec.name]),
        f"{spec.name} deployed by run {context.run_id}",
        {
            "git_sha": git_sha,
            "template_hash": compiled.template_hash,
            "deployment_id": result.deployment_id,
            "output_resources": dg.MetadataValue.json(result.output_resources),
            "outputs": dg.MetadataValue.json(result.outputs),
            **stack_entries,
            **output_entries(result.outputs),
        },
    )
    return boundary.output(
        result,
        {
            "deployment_name": result.deployment_name,
            "deployment_id": result.deployment_id,
            "correlation_id": result.correlation_id or "",
            "provisioning_state": result.provisioning_state,
            "duration_s": result.duration_s,
            "output_resources": dg.MetadataValue.json(result.output_resources),
            "outputs": dg.MetadataValue.json(result.outputs),
            **stack_entries,
            **output_entries(result.outputs),
        },
    )
