"""plan: ARM what-if for the environment, with the noise suppressed, as a table and a diff."""

import json
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

import dagster as dg
from dagster import OpExecutionContext

from ..armlocal import (
    CHANGE_SYMBOLS,
    group_location_error,
    local_secret_values,
    preflight_error,
    read_only_matcher,
    what_if,
)
from ..armlocal.engine import DeploymentContext, ResourceGroup, TemplateError, expand
from ..environments import EnvironmentSpec, subscription_of
from ..failures import DeploymentFailure, FailureBoundary, failure_boundary
from ..models import CompiledTemplate, Plan, PropertyChange, WhatIfChange
from ..resources.arm import ArmClient
from ..resources.environment import DeploymentEnvironment
from .metadata import table
from .plan_review import value_leaves
from .provenance import GIT_DIRTY_TAG, GIT_SHA_TAG
from .review_link import APPLY_LINK_KEY, plan_review
from .saved_plans import plan_asset_key, saved_plan, saved_plan_metadata
from .secrets import parameters_with_secrets, run_secure_values
from .stacks import with_unmanaged

# Properties services change on their own: what-if shows them, they are never our change.
BUILTIN_NOISE = (
    "properties.provisioningState",
    "etag",
    "properties.etag",
    "properties.lastModifiedTimeUtc",
    "properties.lastModifiedTime",
    "properties.createdTime",
    "properties.creationTime",
    "properties.resourceGuid",
    "systemData",
)


def _property_changes(
    deltas: Iterable[dict[str, Any]], is_noise: Any, prefix: str = ""
) -> list[PropertyChange]:
    kept: list[PropertyChange] = []
    for delta in deltas:
        path = str(delta.get("path", ""))
        full = f"{prefix}[{path}]" if path.isdigit() else f"{prefix}.{path}" if prefix else path
        kind = delta.get("propertyChangeType", "Modify")
        if kind == "NoEffect" or is_noise(full):
            continue
        children = _property_changes(delta.get("children") or [], is_noise, full)
        if kind in ("Array", "Modify") and delta.get("children") and not children:
            continue  # every change inside was noise or ignored: nothing changes here
        if kind == "Array" and not children:
            continue
        kept.append(
            PropertyChange(
                path=path,
                change_type=kind,
                before=delta.get("before"),
                after=delta.get("after"),
                children=children,
            )
        )
    return kept


def plan_from_what_if(environment: str, result: dict[str, Any], ignore: Iterable[str] = ()) -> Plan:
    """The plan from a ``WhatIfOperationResult``: read-only (NoEffect) and ignored paths
    dropped; a Modify left with no property change is NoChange."""
    if result.get("error"):
        raise DeploymentFailure.from_error(result["error"])
    is_noise = read_only_matcher([*BUILTIN_NOISE, *ignore])
    changes: list[WhatIfChange] = []
    for change in (result.get("properties") or {}).get("changes") or []:
        resource_id = change.get("resourceId", "")
        kind = change.get("changeType", "Modify")
        delta = _property_changes(change.get("delta") or [], is_noise)
        if kind == "Modify" and not delta:
            kind = "NoChange"
        body = change.get("after") or change.get("before") or {}
        rtype = body.get("type") if isinstance(body, dict) else None
        changes.append(
            WhatIfChange(
                resource_id=resource_id,
                resource_type=rtype or _type_from_id(resource_id),
                change_type=kind,
                unsupported_reason=change.get("unsupportedReason"),
                delta=delta,
                after=_body(change.get("after"), is_noise) if kind == "Create" else None,
                before=_body(change.get("before"), is_noise) if kind == "Delete" else None,
            )
        )
    return Plan(environment=environment, changes=changes)


def _body(value: Any, is_noise: Any) -> dict[str, Any] | None:
    """A resource body of what-if (``after`` of a Create, ``before`` of a Delete) without its
    id and type (the change names them) and without noise or ignored paths."""
    if not isinstance(value, dict):
        return None
    kept = _without_noise({k: v for k, v in value.items() if k not in ("id", "type")}, is_noise)
    return kept if isinstance(kept, dict) else None


def _without_noise(value: Any, is_noise: Any, prefix: str = "") -> Any:
    if isinstance(value, dict):
        kept = {}
        for key, item in value.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if not is_noise(path):
                kept[key] = _without_noise(item, is_noise, path)
        return kept
    if isinstance(value, list):
        return [_without_noise(item, is_noise, f"{prefix}[{i}]") for i, item in enumerate(value)]
    return value


def _type_from_id(resource_id: str) -> str:
    lowered = resource_id.lower()
    if "/providers/" not in lowered:
        return "Microsoft.Resources/resourceGroups" if "/resourcegroups/" in lowered else ""
    tail = resource_id[lowered.rfind("/providers/") + len("/providers/") :].split("/")
    return "/".join([tail[0], *tail[1::2]])


SYMBOLS = {**CHANGE_SYMBOLS, "Array": "~"}


def plan_markdown(plan: Plan) -> str:
    """A readable diff of the plan (markdown for the Dagster UI)."""
    lines = [
        f"### What-if for `{plan.environment}`",
        "",
        f"{plan.count('Create')} to create, {plan.count('Modify')} to modify, "
        f"{plan.count('Delete')} to delete, {plan.count('NoChange')} unchanged, "
        f"{plan.count('Ignore')} ignored, {plan.count('Unsupported')} unsupported.",
        "",
        "```diff",
    ]
    property_lines, left_out = 0, 0
    for change in plan.changes:
        if change.change_type in ("NoChange", "Ignore"):
            continue
        symbol = SYMBOLS.get(change.change_type, "~")
        marker = {"+": "+", "-": "-"}.get(symbol, "!")
        reason = f"  ({change.unsupported_reason})" if change.unsupported_reason else ""
        lines.append(f"{marker} {change.change_type:<11} {change.resource_id}{reason}")
        details = _delta_lines(change.delta, "      ")
        if change.change_type == "Create" and change.after:
            details = _property_lines(change.after, "      ") + details
        if property_lines + len(details) > SHOWN_PROPERTY_LINES:
            left_out += len(details)
            continue
        property_lines += len(details)
        lines.extend(details)
    lines.append("```")
    if left_out:
        lines.append(
            f"{left_out} property lines are left out of this diff (it shows at most "
            f"{SHOWN_PROPERTY_LINES}); the saved plan (plans/{plan.environment}) has them."
        )
    return "\n".join(lines)


SHOWN_PROPERTIES = 40  # per resource in the diff (the saved plan has them all)
SHOWN_PROPERTY_LINES = 2000  # in the whole diff: a resource's lines are shown whole or not
SHOWN_VALUE = 200  # characters of one value in the diff


def _shown(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= SHOWN_VALUE else f"{text[: SHOWN_VALUE - 1]}…"


def _property_lines(body: dict[str, Any], indent: str) -> list[str]:
    """A Create's properties, one ``+ path: value`` line each."""
    leaves = list(value_leaves(body).items())
    out = [f"+{indent}+ {path}: {_shown(value)}" for path, value in leaves[:SHOWN_PROPERTIES]]
    if len(leaves) > SHOWN_PROPERTIES:
        out.append(
            f"+{indent}  … {len(leaves) - SHOWN_PROPERTIES} more properties (in the saved plan)"
        )
    return out


def _delta_lines(delta: list[PropertyChange], indent: str) -> list[str]:

    out: list[str] = []
    for item in delta:
        symbol = SYMBOLS.get(item.change_type, "~")
        if item.change_type == "Create":
            text = f"{item.path}: {_shown(item.after)}"
        elif item.change_type == "Delete":
            text = f"{item.path}: {_shown(item.before)}"
        elif item.change_type == "Array":
            text = f"{item.path}: ["
        elif item.children:
            text = f"{item.path}:"
        else:
            text = f"{item.path}: {_shown(item.before)} → {_shown(item.after)}"
        marker = {"+": "+", "-": "-"}.get(symbol, "!")
        out.append(f"{marker}{indent}{symbol} {text}")
        out.extend(_delta_lines(item.children, indent + "    "))
    return out


def plan_metadata(plan: Plan) -> dict[str, Any]:
    """The plan step's metadata (the event-log vocabulary the audit assets read)."""
    return {
        "changes": table(
            (
                {
                    "resource_id": c.resource_id,
                    "resource_type": c.resource_type,
                    "change_type": c.change_type,
                    "changed_paths": ", ".join(c.changed_paths),
                }
                for c in plan.changes
            ),
            {
                "resource_id": "string",
                "resource_type": "string",
                "change_type": "string",
                "changed_paths": "string",
            },
        ),
        "diff": dg.MetadataValue.md(plan_markdown(plan)),
        "creates": plan.count("Create"),
        "modifies": plan.count("Modify"),
        "deletes": plan.count("Delete"),
        "no_change": plan.count("NoChange"),
        "ignored": plan.count("Ignore"),
        "unsupported": plan.count("Unsupported"),
    }


def local_what_if(
    spec: EnvironmentSpec,
    compiled: CompiledTemplate,
    parameters: dict[str, Any],
    *,
    check_locations: bool = True,
) -> dict[str, Any]:
    """What-if for a resource group that does not exist yet: nothing exists, so the engine
    alone answers (every resource Create) — and the plan writes nothing to ARM. The local
    ARM's preflight checks run first (resource names; with ``check_locations`` the group's
    and the resources' locations, which only the local target knows all of: a sovereign
    cloud has regions of its own), so the plan refuses what the deployment would."""
    if check_locations:
        location_problem = group_location_error(spec.scope.location)
        if location_problem is not None:
            raise DeploymentFailure.from_error(location_problem)
    context = DeploymentContext(
        subscription_id=subscription_of(spec),
        resource_group=ResourceGroup(spec.scope.resource_group, spec.scope.location),
        deployment_name=f"{spec.name}-plan",
        mode=spec.deployment.mode,
    )
    try:
        expansion = expand(compiled.template, local_secret_values(parameters), context)
    except TemplateError as exc:
        raise DeploymentFailure.from_error(exc.to_arm()) from None
    refused = preflight_error(expansion, context.deployment_name, check_locations=check_locations)
    if refused is not None:
        raise DeploymentFailure.from_error(refused)
    return what_if(expansion, lambda _id: None, mode=spec.deployment.mode)


@dg.op(out=dg.Out(Plan))
def plan(
    context: OpExecutionContext,
    compiled: CompiledTemplate,
    environment: DeploymentEnvironment,
    arm: ArmClient,
) -> dg.Output[Plan]:
    """Ask ARM what the deployment would change (what-if), without changing anything."""
    with failure_boundary(context) as boundary:
        spec = environment.load()
        boundary.add_secrets(run_secure_values(spec))  # what-if's errors can echo them
        scope = spec.scope
        parameters = parameters_with_secrets(compiled)
        if arm.resource_group_exists(
            subscription_id=subscription_of(spec), name=scope.resource_group
        ):
            what_if_name = f"{spec.name}-plan-{context.run_id[:8]}"
            result = arm.what_if(
                subscription_id=subscription_of(spec),
                resource_group=scope.resource_group,
                deployment_name=what_if_name,
                template=compiled.template,
                parameters=parameters,
                mode=spec.deployment.mode,
            )
        else:
            boundary.log.info(
                f"Resource group {scope.resource_group} does not exist yet: every resource is "
                "planned as Create (the group is created by the deploy step)."
            )
            what_if_name = f"{spec.name}-plan"  # local_what_if's deployment name
            result = local_what_if(
                spec, compiled, parameters, check_locations=arm.target == "local"
            )
        del parameters
        # what-if echoes what it was sent (a Key Vault secret's value, say): its values are
        # masked; ids, paths and change types are kept, so what_if_ignore still matches
        result = boundary.scrub(result)
        result_plan = plan_from_what_if(
            spec.name, result, spec.deployment.what_if_ignore
        ).model_copy(
            update={
                "template_hash": compiled.template_hash,
                "parameters_hash": compiled.parameters_hash,
                "what_if_deployment_name": what_if_name,
                "target": arm.target,
                "parameters": {  # non-secure ones only: secure values travel as references
                    name: entry.get("value") if isinstance(entry, dict) else entry
                    for name, entry in compiled.parameters.items()
                },
            }
        )
        # a deployment stack also detaches or deletes what it no longer declares (stacks.py)
        result_plan, notes = with_unmanaged(arm, spec, result_plan)
        for note in notes:
            boundary.log.info(note)
        review = plan_review(boundary, spec.name, result_plan)  # summary line, apply link
        record_plan(
            context, boundary, result_plan, compiled, {APPLY_LINK_KEY: review[APPLY_LINK_KEY]}
        )
        return boundary.output(result_plan, {**review, **plan_metadata(result_plan)})


def record_plan(
    context: OpExecutionContext,
    boundary: FailureBoundary,
    result_plan: Plan,
    compiled: CompiledTemplate,
    links: dict[str, Any],
) -> None:
    """Save the plan for review: a materialization of ``plans/<env>`` whose id is the run's
    (see ``saved_plans.py``), with ``links`` (the apply link) beside its record."""
    run = context.instance.get_run_by_id(context.run_id)
    tags = run.tags if run is not None else context.run.tags
    saved = saved_plan(
        result_plan,
        plan_id=context.run_id,
        job=context.job_name,
        created_at=datetime.now(timezone.utc),
        git_sha=tags.get(GIT_SHA_TAG, ""),
        git_dirty=tags.get(GIT_DIRTY_TAG) == "true",
        template_path=compiled.template_path,
    )
    summary = saved_plan_metadata(saved)["summary"]
    boundary.materialize(
        plan_asset_key(result_plan.environment),
        f"Plan {saved.plan_id} of {result_plan.environment}: {summary}.",
        {**saved_plan_metadata(saved), **links},
    )
