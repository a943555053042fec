"""The gate's look at management locks: a lock that will refuse the deployment stops the run
before it starts, as a logic failure naming the lock — not as a ``ScopeLocked`` surprise
halfway through the deployment.

ARM refuses (409 ``ScopeLocked``) every write under a ``ReadOnly`` lock — a deployment
writes each resource of its template, changed or not — and every delete under any lock
("Lock your resources to protect your infrastructure"). So the plan is refused when a
``ReadOnly`` lock covers a resource the template deploys, or any lock covers a resource the
plan deletes (complete mode). The locks are read with one request per subscription the plan
touches (``GET /subscriptions/{id}/providers/Microsoft.Authorization/locks``), with the
environment's identity; a plan at management group or tenant scope is checked in the
subscriptions its resources lie in.
"""

from __future__ import annotations

import logging
from typing import Any

import dagster as dg
from azure.core.exceptions import AzureError

from ..environments import EnvironmentSpec
from ..failures import LogicFailure
from ..models import Plan
from ..resources.arm import ArmClient

WRITES = ("Create", "Modify", "NoChange", "Deploy")
_SUFFIX = "/providers/microsoft.authorization/locks/"


def refusing_locks(plan: Plan, locks: list[dict[str, Any]]) -> list[tuple[dict[str, Any], str]]:
    """``(lock, resource id)`` for each change of ``plan`` a lock will refuse."""
    found = []
    for change in plan.changes:
        deleting = change.change_type == "Delete"
        if not deleting and change.change_type not in WRITES:
            continue
        target = change.resource_id.lower()
        for lock in locks:
            lock_id = str(lock.get("id", "")).lower()
            scope = lock_id.split(_SUFFIX)[0] if _SUFFIX in lock_id else ""
            level = str((lock.get("properties") or {}).get("level", ""))
            covers = bool(scope) and (target == scope or target.startswith(scope + "/"))
            if covers and (deleting or level == "ReadOnly"):
                found.append((lock, change.resource_id))
    return found


def lock_refusals(
    plan: Plan, spec: EnvironmentSpec, arm: ArmClient, log: logging.Logger | Any
) -> tuple[list[tuple[dict[str, Any], str]], str]:
    """The changes of ``plan`` that management locks will refuse (``(lock, resource id)``)
    and the message that says so, naming each; ``([], "")`` when none will (or the locks
    cannot be read: ARM still enforces them, and a warning says they were not checked)."""
    subscriptions = {
        parts[2].lower(): parts[2]
        for parts in (change.resource_id.split("/") for change in plan.changes)
        if len(parts) > 2 and parts[1].lower() == "subscriptions"
    }
    try:
        locks = [
            lock
            for subscription in sorted(subscriptions.values())
            for lock in arm.list_locks(subscription_id=subscription, identity=spec.identity)
        ]
    except AzureError as exc:  # e.g. no permission to read locks: ARM still enforces them
        log.warning(f"Could not read the management locks, so none was checked: {exc}")
        return [], ""
    refused = refusing_locks(plan, locks)
    if not refused:
        return [], ""
    lines = []
    for lock, resource_id in refused:
        level = (lock.get("properties") or {}).get("level")
        lines.append(f"  - {resource_id}: lock '{lock.get('name')}' ({level}) at {lock.get('id')}")
    names = sorted({str(lock.get("name")) for lock, _ in refused})
    message = (
        f"Management locks will refuse this deployment (ScopeLocked): a ReadOnly lock refuses "
        f"every resource the template deploys under it, any lock refuses a deletion. Remove "
        f"the lock(s) {', '.join(repr(n) for n in names)} or change the plan:\n" + "\n".join(lines)
    )
    return refused, message


def refuse_locked_plan(
    plan: Plan, spec: EnvironmentSpec, arm: ArmClient, log: logging.Logger | Any
) -> None:
    """Stop the run (a logic failure) when a management lock will refuse the plan."""
    refused, message = lock_refusals(plan, spec, arm, log)
    if not refused:
        return
    raise LogicFailure(
        message,
        arm_code="ScopeLocked",
        arm_message=f"{len(refused)} change(s) refused by management locks",
        metadata={
            "locked_resources": dg.MetadataValue.json([rid for _, rid in refused]),
            "locks": dg.MetadataValue.json(sorted({str(lock.get("name")) for lock, _ in refused})),
        },
    )
