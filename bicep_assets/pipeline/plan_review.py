"""Comparing a fresh plan with an approved (saved) one: what would be applied that was not
reviewed.

Each change is reduced to what it would do — its change type, and its property values: a
Modify's deltas (before and after of each changed path), a Create's properties, an
Unsupported change's reason, and the paths of the write-only values it writes again (never
their values: ARM cannot return them, so two plans of the same template agree on them). A
Delete is its resource id: the resource is deleted whatever its
properties are by then. Noise and ``what_if_ignore`` paths are gone already (the plan step
drops them), resources are matched by id ignoring case, so the order of changes never counts,
and a resource left alone in both plans (NoChange, Ignore, or not planned) is no difference.

``deployment().name`` during what-if is the plan's own name (``<env>-plan-<run id prefix>``),
different in every run: it is replaced by :data:`WHAT_IF_NAME` in what is compared, so a
template using it is not "changed" by being planned again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from ..models import Plan, PropertyChange, SavedChange, SavedPlan, WhatIfChange

WHAT_IF_NAME = "{what-if deployment name}"
# what-if's verdicts that change nothing: a resource that is one of these in one plan and one
# of these, or absent, in the other is not a difference
NOT_A_CHANGE = frozenset({"NoChange", "Ignore"})
SHOWN_VALUE = 80  # characters of a value quoted in a difference


def _delta_leaves(delta: Iterable[PropertyChange], prefix: str = "") -> dict[str, dict[str, Any]]:
    leaves: dict[str, dict[str, Any]] = {}
    for item in delta:
        path = item.path
        full = f"{prefix}[{path}]" if path.isdigit() else f"{prefix}.{path}" if prefix else path
        if item.children:
            leaves.update(_delta_leaves(item.children, full))
        else:
            leaves[full] = {"change": item.change_type, "before": item.before, "after": item.after}
    return leaves


def value_leaves(value: Any, prefix: str = "") -> dict[str, Any]:
    """``{"properties.sku.name": "P1v3", "tags.owner": "x", "properties.list[0]": 1}``: the
    leaves of a JSON value (an empty object or list is a leaf)."""
    if isinstance(value, dict) and value:
        leaves: dict[str, Any] = {}
        for key, item in value.items():
            leaves.update(value_leaves(item, f"{prefix}.{key}" if prefix else str(key)))
        return leaves
    if isinstance(value, list) and value:
        leaves = {}
        for index, item in enumerate(value):
            leaves.update(value_leaves(item, f"{prefix}[{index}]"))
        return leaves
    return {prefix: value}


def _normalized(value: Any, deployment_name: str) -> Any:
    if not deployment_name:
        return value
    text = json.dumps(value, sort_keys=True)
    return json.loads(text.replace(deployment_name, WHAT_IF_NAME))


def compared_content(change: WhatIfChange, deployment_name: str) -> dict[str, Any]:
    """What of ``change`` must match: ``{path: value}`` of its properties (see the module)."""
    content: dict[str, Any] = {}
    if change.change_type == "Create":
        content = {f"+{k}": v for k, v in value_leaves(change.after or {}).items()}
    elif change.change_type != "Delete":
        content = {f"~{k}": v for k, v in _delta_leaves(change.delta).items()}
    if change.unsupported_reason:
        content["unsupported_reason"] = change.unsupported_reason
    for path in change.write_only:  # its path: the value is never known, nor compared
        content[f"={path}"] = "write-only"
    return _normalized(content, deployment_name)  # type: ignore[no-any-return]


def fingerprint(change: WhatIfChange, deployment_name: str) -> str:
    """A short hash of the change type and :func:`compared_content` of ``change``."""
    material = {"change_type": change.change_type, **compared_content(change, deployment_name)}
    text = json.dumps(material, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _shown(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else json.dumps(value)
    return text if len(text) <= SHOWN_VALUE else text[: SHOWN_VALUE - 1] + "…"


def _describe(content: Any) -> str:
    if isinstance(content, dict) and "change" in content:
        return f"{content['change']} {_shown(content['before'])} → {_shown(content['after'])}"
    return _shown(content)


def _property_differences(
    saved: SavedChange, fresh: WhatIfChange, plan: SavedPlan, now: Plan
) -> list[str]:
    if saved.detail_omitted:
        return [
            f"{fresh.resource_id}: property values differ (the saved plan kept only a "
            "fingerprint of this change, to bound its size)"
        ]
    before = compared_content(saved, plan.what_if_deployment_name)
    after = compared_content(fresh, now.what_if_deployment_name)
    found: list[str] = []
    for key in sorted(set(before) | set(after)):
        if before.get(key, None) == after.get(key, None) and (key in before) == (key in after):
            continue
        path = key[1:] if key[:1] in "+~=" else key
        was = _describe(before[key]) if key in before else "(not in the plan)"
        now_ = _describe(after[key]) if key in after else "(not in the plan)"
        found.append(f"{fresh.resource_id}: {path}: approved {was}, now {now_}")
    return found or [f"{fresh.resource_id}: the change differs from the approved one"]


def _parameter_differences(approved: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """``parameters.NAME: approved X, now Y`` for each non-secure parameter that differs."""
    found = []
    for name in sorted(set(approved) | set(now)):
        if name in approved and name in now and approved[name] == now[name]:
            continue
        was = _shown(approved[name]) if name in approved else "not given"
        is_ = _shown(now[name]) if name in now else "not given"
        found.append(f"parameters.{name}: approved {was}, now {is_}")
    return found


def _is_new_group(change: WhatIfChange) -> bool:
    return (
        change.change_type == "Create"
        and change.resource_type.lower() == "microsoft.resources/resourcegroups"
    )


def plan_differences(saved: SavedPlan, fresh: Plan) -> list[str]:
    """What differs between the approved plan ``saved`` and the ``fresh`` one, one line each
    (empty: the fresh plan is exactly the approved one)."""
    found: list[str] = []
    if saved.template_hash != fresh.template_hash:
        found.append(
            f"template: hash {saved.template_hash} in the approved plan, {fresh.template_hash} now"
        )
    if saved.parameters_hash != fresh.parameters_hash:
        named = _parameter_differences(saved.parameters, fresh.parameters)
        found += named or [  # only a secure parameter's reference changed (or an old record)
            f"parameters: hash {saved.parameters_hash} in the approved plan, "
            f"{fresh.parameters_hash} now"
        ]
    if saved.target and fresh.target and saved.target != fresh.target:
        found.append(f"target: {saved.target} in the approved plan, {fresh.target} now")
    approved = {c.resource_id.lower(): c for c in saved.changes}
    current = {c.resource_id.lower(): c for c in fresh.changes}
    for key in sorted(set(approved) | set(current)):
        was, now = approved.get(key), current.get(key)
        if {was.change_type if was else "NoChange", now.change_type if now else "NoChange"} <= (
            NOT_A_CHANGE
        ):
            continue  # left alone in both (a resource added outside the template, say)
        if now is None and was is not None and _is_new_group(was):
            # planned as new (a subscription-scope what-if), and the environment's group now:
            # a plan made in an existing group does not list the group itself
            found.append(f"{was.resource_id}: Create in the approved plan, NoChange now")
        elif now is None:
            assert was is not None
            found.append(
                f"{was.resource_id}: {was.change_type} in the approved plan, not planned now"
            )
        elif was is None:
            found.append(f"{now.resource_id}: {now.change_type} now, not in the approved plan")
        elif was.change_type != now.change_type:
            found.append(
                f"{now.resource_id}: {was.change_type} in the approved plan, {now.change_type} now"
            )
        elif was.fingerprint != fingerprint(now, fresh.what_if_deployment_name):
            found.extend(_property_differences(was, now, saved, fresh))
    return found
