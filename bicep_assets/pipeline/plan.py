"""plan: ARM what-if for the environment, with the noise suppressed, as a table and a diff."""

import difflib
import json
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

import dagster as dg
from azure.core.exceptions import AzureError
from dagster import OpExecutionContext

from ..armlocal import CHANGE_SYMBOLS, read_only_matcher, write_only_paths
from ..armlocal.engine import MASK
from ..environments import EnvironmentSpec, Scope
from ..failures import DeploymentFailure, FailureBoundary, LogicFailure, failure_boundary
from ..models import CompiledTemplate, Plan, PropertyChange, WhatIfChange
from ..resources.arm import ArmClient
from ..resources.environment import DeploymentEnvironment
from .locks import lock_refusals
from .metadata import table
from .plan_review import value_leaves
from .provenance import GIT_DIRTY_TAG, GIT_SHA_TAG
from .review_link import APPLY_LINK_KEY, plan_review
from .saved_plans import plan_asset_key, saved_plan, saved_plan_metadata
from .scopes import new_group_parameters, new_group_template
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
    dropped; write-only paths of existing resources set apart (see :func:`_write_only`); a
    Modify left with no property change is NoChange."""
    if result.get("error"):
        raise DeploymentFailure.from_error(result["error"])
    is_noise = read_only_matcher([*BUILTIN_NOISE, *ignore])
    changes: list[WhatIfChange] = []
    for change in (result.get("properties") or {}).get("changes") or []:
        resource_id = change.get("resourceId", "")
        kind = change.get("changeType", "Modify")
        body = change.get("after") or change.get("before") or {}
        rtype = (body.get("type") if isinstance(body, dict) else None) or _type_from_id(resource_id)
        secret_paths = sorted(write_only_paths(rtype))
        raw_delta, write_only = _write_only(change, secret_paths, is_noise)
        delta = _property_changes(raw_delta, is_noise)
        if kind == "Modify" and not delta:
            kind = "NoChange"
        after = _body(change.get("after"), is_noise) if kind == "Create" else None
        changes.append(
            WhatIfChange(
                resource_id=resource_id,
                resource_type=rtype,
                change_type=kind,
                unsupported_reason=change.get("unsupportedReason"),
                delta=delta,
                after=_masked(after, secret_paths) if after else after,
                before=_body(change.get("before"), is_noise) if kind == "Delete" else None,
                write_only=write_only,
            )
        )
    return Plan(environment=environment, changes=changes)


def _write_only(
    change: dict[str, Any], patterns: list[str], is_noise: Any
) -> tuple[list[dict[str, Any]], list[str]]:
    """What-if's deltas of ``change`` without those at write-only paths, and those paths.

    A write-only path (``patterns``: a Key Vault secret's ``properties.value``, a SQL server's
    ``properties.administratorLoginPassword``) is one a GET never returns. What-if compares
    the template with the GET, so on an existing resource a value the template writes there
    is a ``Create`` on every plan (Azure's what-if), or is not reported at all; either way
    nothing can be compared. Such a path — a ``Create`` delta there, or a value there in
    ``after`` that ``before`` lacks — is listed by path (never by value) instead of counted as
    a change, so a redeploy of the same secret plans NoChange, drift checks pass and an
    approved plan matches its re-plan. A ``Modify`` or ``Delete`` there (a GET that did
    return a value) is a change like any other. Resources what-if creates or deletes, and
    paths the manifest ignores, are left as they are."""
    deltas = list(change.get("delta") or [])
    if not patterns or change.get("changeType") not in ("Modify", "NoChange"):
        return deltas, []
    is_write_only = read_only_matcher(patterns)
    found: list[str] = []
    kept: list[dict[str, Any]] = []
    for delta in deltas:
        path = str(delta.get("path", ""))
        if (
            delta.get("propertyChangeType") == "Create"
            and is_write_only(path)
            and not is_noise(path)
        ):
            found.append(path)
        else:
            kept.append(delta)
    before, after = change.get("before"), change.get("after")
    for pattern in patterns:
        present = _at(after, pattern) is not None and _at(before, pattern) is None
        if present and not is_noise(pattern):
            found.append(pattern)
    unique = {path.lower(): path for path in reversed(found)}  # what-if's spelling first
    return kept, sorted(unique.values(), key=str.lower)


def _at(body: Any, dotted: str) -> Any:
    """The value at a dotted path of a resource body (keys ignoring case), or None."""
    for key in dotted.split("."):
        if not isinstance(body, dict):
            return None
        body = next((v for k, v in body.items() if k.lower() == key.lower()), None)
    return body


def _masked(body: dict[str, Any], paths: Iterable[str]) -> dict[str, Any]:
    """``body`` with the value at each write-only path replaced by the mask: what-if may echo
    what it was sent (arm-template-whatif#309), and such a value is a secret by its path."""
    out = json.loads(json.dumps(body))
    for dotted in paths:
        *parents, last = dotted.split(".")
        node: Any = out
        for key in parents:
            node = (
                next((v for k, v in node.items() if k.lower() == key.lower()), None)
                if isinstance(node, dict)
                else None
            )
        if isinstance(node, dict):
            for key in list(node):
                if key.lower() == last.lower() and node[key] is not None:
                    node[key] = MASK
    return out  # type: ignore[no-any-return]


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
        f"{plan.count('Ignore')} ignored, {plan.count('Unsupported')} unsupported"
        + (f", {plan.count('Detach')} to detach from the stack" if plan.count("Detach") else "")
        + (f"; {len(plan.write_only)} write-only" if plan.write_only else "")
        + ".",
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
    lines.extend(_write_only_lines(plan))
    if left_out:
        lines.append(
            f"{left_out} property lines are left out of this diff (it shows at most "
            f"{SHOWN_PROPERTY_LINES}); the saved plan (plans/{plan.environment}) has them."
        )
    return "\n".join(lines)


WRITE_ONLY_TITLE = "Write-only: written on every deploy, cannot be compared"


def _write_only_lines(plan: Plan) -> list[str]:
    """The plan's write-only values, by path (never by value), after the diff."""
    if not plan.write_only:
        return []
    lines = [
        "",
        f"#### {WRITE_ONLY_TITLE}",
        "",
        "ARM never returns these values, so no plan can tell whether they differ: the "
        "deployment writes them again, and they are not counted as changes (nor as drift).",
        "",
    ]
    lines += [f"- {resource_id}: {path}" for resource_id, path in plan.write_only]
    return lines


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
                    "write_only_paths": ", ".join(c.write_only),
                }
                for c in plan.changes
            ),
            {
                "resource_id": "string",
                "resource_type": "string",
                "change_type": "string",
                "changed_paths": "string",
                "write_only_paths": "string",
            },
        ),
        "diff": dg.MetadataValue.md(plan_markdown(plan)),
        "creates": plan.count("Create"),
        "modifies": plan.count("Modify"),
        "deletes": plan.count("Delete"),
        "no_change": plan.count("NoChange"),
        "ignored": plan.count("Ignore"),
        "unsupported": plan.count("Unsupported"),
        "write_only": len(plan.write_only),
        **({"detaches": plan.count("Detach")} if plan.count("Detach") else {}),
    }


def check_management_group(spec: EnvironmentSpec, arm: ArmClient) -> None:
    """A management group scope whose group does not exist (or that this identity cannot
    see) fails before anything is asked of ARM: a logic failure naming the manifest key."""
    scope = spec.scope
    if scope.kind != "managementGroup" or scope.management_group_id is None:
        return
    if not arm.management_group_exists(name=scope.management_group_id, identity=spec.identity):
        raise LogicFailure(
            f"parameters/{spec.name}.yaml: scope.management_group_id: management group "
            f"'{scope.management_group_id}' does not exist (or the deploying identity cannot "
            "read it); create it, or name an existing one",
            arm_code="ManagementGroupNotFound",
            arm_message=f"Management group '{scope.management_group_id}' not found.",
        )


def check_location(spec: EnvironmentSpec, arm: ArmClient, log: Any) -> None:
    """A ``scope.location`` that is none of the subscription's locations fails before ARM is
    asked to plan: a logic failure naming the manifest key and the closest location (ARM's
    own error lists every region and names no file). Names and display names are both taken,
    in any case and spacing, as ARM takes them; locations that cannot be read are left to
    ARM (a warning says so)."""
    scope = spec.scope
    if scope.kind not in ("resourceGroup", "subscription"):
        return
    try:
        locations = arm.list_locations(subscription_id=scope.subscription, identity=spec.identity)
    except AzureError as exc:
        log.warning(f"Could not read the subscription's locations, so none was checked: {exc}")
        return

    def canonical(text: str) -> str:
        return text.replace(" ", "").lower()

    names = [str(entry.get("name")) for entry in locations if entry.get("name")]
    known = {
        canonical(str(entry.get(key)))
        for entry in locations
        for key in ("name", "displayName")
        if entry.get(key)
    }
    if not known or canonical(scope.location) in known:
        return
    close = difflib.get_close_matches(canonical(scope.location), names, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    raise LogicFailure(
        f"parameters/{spec.name}.yaml: scope.location: '{scope.location}' is not a location of "
        f"subscription {scope.subscription}; {hint}(`az account list-locations -o table` lists "
        "them)",
        arm_code="LocationNotAvailableForDeployment",
        arm_message=f"The provided location '{scope.location}' is not available for deployment.",
    )


def what_if_at_scope(
    spec: EnvironmentSpec,
    compiled: CompiledTemplate,
    parameters: dict[str, Any],
    arm: ArmClient,
    what_if_name: str,
) -> tuple[dict[str, Any], bool]:
    """ARM's what-if at the environment's scope, and whether the resource group is new. A
    resource group that does not exist yet is planned through ARM too: a subscription-scope
    what-if of the group's creation plus the deployment into it (``new_group_template``),
    which shows the group's Create and its resources' Creates — and writes nothing."""
    scope = spec.scope
    new_group = scope.kind == "resourceGroup" and not arm.resource_group_exists(
        subscription_id=scope.subscription, name=scope.group, identity=spec.identity
    )
    if not new_group:
        result = arm.what_if(
            scope=scope,
            deployment_name=what_if_name,
            template=compiled.template,
            parameters=parameters,
            mode=spec.deployment.mode,
            identity=spec.identity,
        )
        return result, False
    wrapper = new_group_template(
        scope,
        template=compiled.template,
        parameters=parameters,
        mode=spec.deployment.mode,
        tags=spec.tags,
        nested_name=what_if_name,
    )
    subscription = Scope(subscription_id=scope.subscription, location=scope.location)
    result = arm.what_if(
        scope=subscription,
        deployment_name=what_if_name,
        template=wrapper,
        parameters=new_group_parameters(compiled.template, parameters),
        mode="Incremental",
        identity=spec.identity,
    )
    return result, True


# the plan's metadata key naming the management locks that will refuse it at the gate
LOCKS_KEY = "refused by locks"


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
        check_management_group(spec, arm)
        check_location(spec, arm, boundary.log)
        parameters = parameters_with_secrets(compiled)
        what_if_name = f"{spec.name}-plan-{context.run_id[:8]}"
        result, new_group = what_if_at_scope(spec, compiled, parameters, arm, what_if_name)
        del parameters
        if new_group:
            boundary.log.info(
                f"Resource group {spec.scope.group} does not exist yet: ARM planned its "
                "creation and the deployment into it (a subscription-scope what-if); the "
                "deploy step creates the group."
            )
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
        # what the gate will refuse, said to the reviewer now rather than at deploy
        refused, locked = lock_refusals(result_plan, spec, arm, boundary.log)
        extra: dict[str, Any] = {}
        if refused:
            boundary.log.warning(f"The gate will refuse this plan. {locked}")
            extra[LOCKS_KEY] = dg.MetadataValue.md(locked)
        review = plan_review(boundary, spec.name, result_plan)  # summary line, apply link
        record_plan(
            context,
            boundary,
            result_plan,
            compiled,
            {APPLY_LINK_KEY: review[APPLY_LINK_KEY], **extra},
        )
        return boundary.output(result_plan, {**review, **plan_metadata(result_plan), **extra})


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
