"""Management locks (``Microsoft.Authorization/locks``), stored and enforced as ARM does.

A lock is an extension resource at a subscription, a resource group or a resource:
``{scope}/providers/Microsoft.Authorization/locks/{name}`` with ``properties.level``
``CanNotDelete`` or ``ReadOnly`` ("Lock your resources to protect your infrastructure";
the Management Locks REST API, 2016-09-01 and 2020-05-01). A lock applies to its scope and
everything below it, and the most restrictive lock wins:

- ``CanNotDelete`` refuses deletes: of the locked resource or group, of anything under it,
  and of a group or resource that holds a locked resource; complete-mode deployments
  cannot delete what it covers.
- ``ReadOnly`` refuses deletes and writes (PUT, PATCH, POST actions such as ``listKeys``),
  the resources a deployment writes there included.

ARM answers both with 409 ``ScopeLocked``. Locks themselves are managed whatever the locks
say (that is what removing a lock needs), and complete mode does not delete them (the type
is not deleted in complete mode, "Deletion of Azure resources for deployments in complete
mode").
"""

from __future__ import annotations

import re
from typing import Any

from ..state.store import ArmStore
from .errors import ArmHttpError

LOCK_TYPE = "Microsoft.Authorization/locks"
LEVELS = ("CanNotDelete", "ReadOnly", "NotSpecified")
_LOCK_SUFFIX = re.compile(r"/providers/Microsoft\.Authorization/locks/[^/]+$", re.IGNORECASE)
# a lock's name: at most 260 characters, none of < > % & : \ ? / nor control characters
_BAD_NAME = re.compile(r"[<>%&:\\?/\x00-\x1f]")


def is_lock(resource_id: str) -> bool:
    return _LOCK_SUFFIX.search(resource_id) is not None


def lock_scope(lock_id: str) -> str:
    """The scope a lock protects: its id without ``/providers/Microsoft.Authorization/…``."""
    return _LOCK_SUFFIX.sub("", lock_id)


def check_lock_body(name: str, body: dict[str, Any]) -> dict[str, Any]:
    """The ``properties`` of a lock PUT, or ARM's 400 saying what is wrong."""
    if len(name) > 260 or _BAD_NAME.search(name):
        raise ArmHttpError(
            400,
            "LockNameInvalid",
            f"The lock name '{name}' is invalid. It can be at most 260 characters and cannot "
            "contain <, >, %, &, :, \\, ?, / or control characters.",
        )
    properties = body.get("properties")
    if not isinstance(properties, dict):
        raise ArmHttpError(
            400,
            "InvalidRequestContent",
            "The request content was invalid: a lock needs a 'properties' object.",
        )
    level = properties.get("level")
    text = level.lower() if isinstance(level, str) else None
    match = next((v for v in LEVELS[:2] if v.lower() == text), None)
    if match is None:
        raise ArmHttpError(
            400,
            "LockLevelInvalid",
            f"The lock level '{level}' is invalid. The valid values are 'CanNotDelete' and "
            "'ReadOnly'.",
        )
    notes = properties.get("notes")
    if notes is not None and (not isinstance(notes, str) or len(notes) > 512):
        raise ArmHttpError(
            400, "LockNotesInvalid", "The lock notes must be a string of at most 512 characters."
        )
    cleaned: dict[str, Any] = {"level": match}
    if notes is not None:
        cleaned["notes"] = notes
    owners = properties.get("owners")
    if isinstance(owners, list):
        cleaned["owners"] = [o for o in owners if isinstance(o, dict)]
    return cleaned


def _subscription_of(scope_id: str) -> str | None:
    parts = scope_id.strip("/").split("/")
    return parts[1] if len(parts) >= 2 and parts[0].lower() == "subscriptions" else None


def all_locks(store: ArmStore, subscription_id: str) -> list[dict[str, Any]]:
    """Every lock in a subscription (at it, its groups and their resources)."""
    return store.list_resources(subscription_id, resource_type=LOCK_TYPE)


def _covers(scope: str, target: str) -> bool:
    """Whether a lock at ``scope`` covers ``target`` (the scope itself or below it)."""
    scope, target = scope.lower().rstrip("/"), target.lower().rstrip("/")
    return target == scope or target.startswith(scope + "/")


def locks_on(store: ArmStore, target_id: str, *, below: bool = False) -> list[dict[str, Any]]:
    """The locks that apply to ``target_id`` — at it or above it, and with ``below`` also
    those on what lies under it (a group's resources)."""
    subscription = _subscription_of(target_id)
    if subscription is None:
        return []
    found = []
    for lock in all_locks(store, subscription):
        scope = lock_scope(lock["id"])
        if _covers(scope, target_id) or (below and _covers(target_id, scope)):
            found.append(lock)
    return found


def scope_locked(target_id: str, operation: str, locks: list[dict[str, Any]]) -> ArmHttpError:
    """ARM's 409 ``ScopeLocked`` for ``operation`` ('write' or 'delete') on ``target_id``."""
    scopes = ", ".join(f"'{s}'" for s in dict.fromkeys(lock_scope(lock["id"]) for lock in locks))
    return ArmHttpError(
        409,
        "ScopeLocked",
        f"The scope '{target_id}' cannot perform {operation} operation because following "
        f"scope(s) are locked: {scopes}. Please remove the lock and try again.",
    )


def blocking_locks(
    store: ArmStore, target_id: str, operation: str, *, below: bool = False
) -> list[dict[str, Any]]:
    """The locks that refuse ``operation`` ('write' or 'delete') on ``target_id``: any lock
    refuses a delete, a ReadOnly one a write. Operations on locks are never refused."""
    if is_lock(target_id):
        return []
    locks = locks_on(store, target_id, below=below and operation == "delete")
    if operation == "write":
        locks = [lock for lock in locks if _level(lock) == "ReadOnly"]
    return locks


def check_unlocked(store: ArmStore, target_id: str, operation: str, *, below: bool = False) -> None:
    """Raise ARM's ``ScopeLocked`` when a lock refuses ``operation`` on ``target_id``."""
    locks = blocking_locks(store, target_id, operation, below=below)
    if locks:
        raise scope_locked(target_id, operation, locks)


def _level(lock: dict[str, Any]) -> str:
    return str((lock.get("properties") or {}).get("level", ""))
