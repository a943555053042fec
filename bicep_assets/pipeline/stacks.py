"""``deployment.stack``: an environment deployed as an Azure deployment stack.

The stack is named after the environment (one stack per environment, at the environment's
scope) and created or updated through the official ``azure-mgmt-resource-deploymentstacks``
client (:meth:`ArmClient.stacks_client`). What this module adds to the steps:

- **plan** (:func:`with_unmanaged`): what-if shows what the template changes; the stack's
  current managed resources that the template no longer declares are what the update
  detaches or deletes (``action_on_unmanage``). Each becomes a change of the plan: ``Delete``
  (so the gate treats it as any deletion: listed, refused without approval) or ``Detach``.
  Azure's own what-if for stacks (``deploymentStacksWhatIfResults``) is not used: the local
  ARM does not serve it, and plan must show the same thing on both targets.
- **deploy** (:func:`deploy_stack`): PUT the stack, tagged with the run id, then watch it and
  its deployment's operations. A retried step re-attaches to the stack this run started
  (running or succeeded) instead of updating it again; a failed one is deployed again.
- **gate** (:func:`log_unmanaged`): names the deletions and detachments that come from the
  stack's unmanage actions.

Secure parameter values go into the PUT and nowhere else: nothing here records the stack's
``parameters``; what is kept is ids, non-secure outputs and resource lists.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from azure.core.exceptions import ResourceNotFoundError

from ..environments import EnvironmentSpec, StackOptions
from ..failures import DeploymentFailure, LogicFailure
from ..models import Plan, WhatIfChange
from ..resources.arm import ArmClient

RUN_ID_TAG = "bicep-assets-run-id"
TERMINAL = ("succeeded", "failed", "canceled")
_GROUP_ID = re.compile(r"^/subscriptions/[^/]+/resourceGroups/[^/]+$", re.IGNORECASE)
_MG_ID = re.compile(r"^/providers/Microsoft\.Management/managementGroups/[^/]+$", re.IGNORECASE)


def stack_name(spec: EnvironmentSpec) -> str:
    """One stack per environment, named after it (letters, digits, '-', '_': valid)."""
    return spec.name


def _options(spec: EnvironmentSpec) -> StackOptions:
    if spec.deployment.stack is None:
        raise ValueError(f"environment {spec.name} is not a deployment stack")
    return spec.deployment.stack


def stack_body(
    spec: EnvironmentSpec,
    template: dict[str, Any],
    parameters: dict[str, Any],
    tags: dict[str, str],
) -> dict[str, Any]:
    """The stack's PUT body (``parameters`` may hold secure values: only for the call)."""
    options = _options(spec)
    unmanage = options.action_on_unmanage
    action: dict[str, Any] = {"resources": unmanage.resources}
    for key, value in (
        ("resourceGroups", unmanage.resource_groups),
        ("managementGroups", unmanage.management_groups),
        ("resourcesWithoutDeleteSupport", unmanage.resources_without_delete_support),
    ):
        if value is not None:
            action[key] = value
    deny = options.deny_settings
    deny_settings: dict[str, Any] = {"mode": deny.mode}
    if deny.mode != "none":
        deny_settings["excludedPrincipals"] = list(deny.excluded_principals)
        deny_settings["excludedActions"] = list(deny.excluded_actions)
        deny_settings["applyToChildScopes"] = deny.apply_to_child_scopes
    properties: dict[str, Any] = {
        "template": template,
        "parameters": parameters,
        "actionOnUnmanage": action,
        "denySettings": deny_settings,
    }
    if options.description is not None:
        properties["description"] = options.description
    if options.bypass_stack_out_of_sync_error:
        properties["bypassStackOutOfSyncError"] = True
    body: dict[str, Any] = {"properties": properties, "tags": tags}
    if spec.scope.kind != "resourceGroup":
        body["location"] = spec.scope.location
    return body


def _call(arm: ArmClient, spec: EnvironmentSpec, operation: str, *args: Any, **kwargs: Any) -> Any:
    """``deployment_stacks.<operation>_at_<scope>`` for the environment's scope."""
    stacks = arm.stacks_client(spec.scope.subscription, spec.identity).deployment_stacks
    kind = spec.scope.kind
    if kind == "resourceGroup":
        return getattr(stacks, f"{operation}_at_resource_group")(spec.scope.group, *args, **kwargs)
    if kind == "subscription":
        return getattr(stacks, f"{operation}_at_subscription")(*args, **kwargs)
    if kind == "managementGroup":
        group = spec.scope.management_group_id
        return getattr(stacks, f"{operation}_at_management_group")(group, *args, **kwargs)
    raise LogicFailure(
        f"deployment.stack: Azure serves deployment stacks at resource group, subscription "
        f"and management group scope, not at {kind} scope.",
        arm_code="InvalidDeploymentScope",
    )


def get_stack(arm: ArmClient, spec: EnvironmentSpec) -> dict[str, Any] | None:
    """The environment's stack as ARM answers it (``None`` when there is none)."""
    try:
        return dict(_call(arm, spec, "get", stack_name(spec)).as_dict())
    except ResourceNotFoundError:
        return None


def managed_ids(stack: dict[str, Any] | None) -> list[str]:
    if stack is None:
        return []
    resources = (stack.get("properties") or {}).get("resources") or []
    # deleteFailed: a resource the stack could not delete (a lock), still the stack's — its
    # next update tries the delete again (the specification's ResourceStatusMode)
    in_stack = ("managed", "deleteFailed")
    return [
        str(r["id"]) for r in resources if r.get("status", "managed") in in_stack and r.get("id")
    ]


def unmanage_action(resource_id: str, options: StackOptions) -> str:
    """What the stack's update does to a resource it no longer manages: delete or detach."""
    unmanage = options.action_on_unmanage
    if _GROUP_ID.match(resource_id):
        return unmanage.resource_groups or "detach"
    if _MG_ID.match(resource_id):
        return unmanage.management_groups or "detach"
    return unmanage.resources


# -- plan ------------------------------------------------------------------------------------
def with_unmanaged(arm: ArmClient, spec: EnvironmentSpec, plan: Plan) -> tuple[Plan, list[str]]:
    """``plan`` with the stack's managed resources the template no longer declares, as
    ``Delete`` or ``Detach`` changes (per ``action_on_unmanage``); and log lines saying so."""
    if spec.deployment.stack is None:
        return plan, []
    stack = get_stack(arm, spec)
    managed = managed_ids(stack)
    if not managed:
        return plan, []
    declared = {
        c.resource_id.lower() for c in plan.changes if c.change_type not in ("Ignore", "Delete")
    }
    by_id = {c.resource_id.lower(): c for c in plan.changes}
    options = _options(spec)
    unmanaged: dict[str, WhatIfChange] = {}
    for resource_id in managed:
        if resource_id.lower() in declared:
            continue
        change_type = "Delete" if unmanage_action(resource_id, options) == "delete" else "Detach"
        known = by_id.get(resource_id.lower())
        unmanaged[resource_id.lower()] = WhatIfChange(
            resource_id=known.resource_id if known else resource_id,
            resource_type=known.resource_type if known else _type_of(resource_id),
            change_type=change_type,
            before=known.before if known else None,
        )
    if not unmanaged:
        return plan, []
    changes = [unmanaged.pop(c.resource_id.lower(), c) for c in plan.changes]
    changes.extend(unmanaged.values())
    updated = plan.model_copy(update={"changes": changes})
    notes = [
        f"Deployment stack {stack_name(spec)}: {c.resource_id} is no longer in the template; "
        + (
            "the stack update deletes it (deployment.stack.action_on_unmanage)."
            if c.change_type == "Delete"
            else "the stack update detaches it (it stays, no longer managed)."
        )
        for c in changes
        if c.change_type in ("Delete", "Detach")
        and c.resource_id.lower() in {m.lower() for m in managed}
    ]
    return updated, notes


def _type_of(resource_id: str) -> str:
    if _GROUP_ID.match(resource_id):
        return "Microsoft.Resources/resourceGroups"
    if _MG_ID.match(resource_id):
        return "Microsoft.Management/managementGroups"
    _, _, tail = resource_id.rpartition("/providers/")
    parts = tail.split("/")
    return "/".join([parts[0], *parts[1::2]]) if len(parts) > 1 else tail


# -- gate ------------------------------------------------------------------------------------
def log_unmanaged(spec: EnvironmentSpec, plan: Plan, log: Callable[[str], None]) -> None:
    """Name what the stack's update detaches (left in place) and deletes (the gate's usual
    deletion rules apply to those)."""
    if spec.deployment.stack is None:
        return
    for change in plan.changes:
        if change.change_type == "Detach":
            log(f"Stack {stack_name(spec)} will detach, leaving it as it is: {change.resource_id}")
    deletions = plan.deletions
    if deletions:
        log(
            f"Deployment stack {stack_name(spec)} would delete {len(deletions)} resource(s) it "
            "no longer declares (deployment.stack.action_on_unmanage: delete): like any "
            "deletion, they need approval at the gate."
        )


# -- deploy ----------------------------------------------------------------------------------
def deploy_stack(
    arm: ArmClient,
    spec: EnvironmentSpec,
    *,
    template: dict[str, Any],
    parameters: dict[str, Any],
    tags: dict[str, str],
    run_id: str,
    log: Callable[[str], None],
    on_operation: Callable[[dict[str, Any]], None],
    interval_s: float,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Create or update the environment's stack (or re-attach to this run's), watch it to the
    end; the stack as ARM answers it, or a failure with the stack's error."""
    name = stack_name(spec)
    existing = get_stack(arm, spec)
    state = ((existing or {}).get("properties") or {}).get("provisioningState")
    ours = existing is not None and (existing.get("tags") or {}).get(RUN_ID_TAG) == run_id
    if ours and state == "canceled":
        raise DeploymentFailure.from_error(
            {
                "code": "DeploymentStackCanceled",
                "message": f"Deployment stack {name}'s update by this run was canceled in ARM; "
                "it is not deployed again. Launch a new run to deploy.",
            },
            description=f"deployment stack {name} was canceled",
        )
    if ours and state != "failed":
        log(f"Re-attaching to deployment stack {name} ({state}), updated by this run.")
    else:
        if ours:
            log(f"Deployment stack {name} ended {state} in this run: deploying it again.")
        body = stack_body(spec, template, parameters, {**tags, RUN_ID_TAG: run_id})
        _call(arm, spec, "begin_create_or_update", name, body, polling=False)
        del body
        log(f"Started deployment stack {name} ({'update' if existing else 'create'}).")
    seen: dict[str, str] = {}
    while True:
        stack = get_stack(arm, spec)
        if stack is None:
            raise DeploymentFailure.from_error(
                {"code": "DeploymentStackNotFound", "message": f"Deployment stack {name} "
                 "disappeared while it ran."},
                description=f"deployment stack {name} disappeared",
            )  # fmt: skip
        props = stack.get("properties") or {}
        deployment_id = str(props.get("deploymentId") or "")
        if deployment_id:
            for operation in arm.list_operations(
                scope=spec.scope, identity=spec.identity, name=deployment_id.rsplit("/", 1)[1]
            ):
                op_state = (operation.get("properties") or {}).get("provisioningState", "")
                if seen.get(operation.get("operationId", "")) != op_state:
                    seen[operation.get("operationId", "")] = op_state
                    on_operation(operation)
        if str(props.get("provisioningState", "")).lower() in TERMINAL:
            break
        sleep(interval_s)
    if str(props.get("provisioningState")).lower() != "succeeded":
        error = props.get("error") or {
            "code": "DeploymentStackFailed",
            "message": f"Deployment stack {name} ended {props.get('provisioningState')}.",
        }
        raise DeploymentFailure.from_error(error, description=f"deployment stack {name} failed")
    for key, verb in (("detachedResources", "Detached"), ("deletedResources", "Deleted")):
        for resource in props.get(key) or []:
            log(f"{verb} by deployment stack {name}: {resource.get('id')}")
    return stack


def stack_outputs(stack: dict[str, Any]) -> dict[str, Any]:
    """The stack's non-secure outputs (secure ones come without a value; dropped by type)."""
    outputs = (stack.get("properties") or {}).get("outputs") or {}
    return {
        name: output.get("value")
        for name, output in outputs.items()
        if isinstance(output, dict) and not str(output.get("type", "")).lower().startswith("secure")
    }
