"""The local ARM's state: resource groups, resources, deployments and operations in SQLite.

Every record is the JSON body ARM returns for it, kept beside the columns it is found by.
Scopes exist implicitly (a subscription is whatever ids name; a resource group is a row);
the store is safe to share between the HTTP server's threads, and ``transaction()`` groups
writes atomically::

    store = ArmStore(path)                  # or ArmStore() for a private in-memory store
    store.recover_interrupted()             # when a local ARM starts: fails dead owners' work
    with store.transaction():               # one deployment step, all or nothing
        store.put_resource(body)
        store.put_operation(deployment_id(scope, name), operation)
        store.update_deployment(scope, name, progress)

The store is the engine's ``ResourceState`` too (``get_resource``, ``invoke_action``).
Several processes may share the file. How it uses SQLite (one locked connection, WAL,
``synchronous``, ``busy_timeout``) is in :mod:`.sqlite_state`; the deployment history rules
in :mod:`.deployment_history`; which unfinished work belongs to a process that is gone, and
starting a deployment atomically across processes, in :mod:`.recovery`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from typing import Any, Literal

from .history import (
    DEPLOYMENT_HISTORY_LIMIT,
    PRUNE_ABOVE,
    PRUNE_TO,
    deployment_active,
    deployment_id,
)
from .owners import ProcessOwner
from .recovery import (
    RESOURCE_STATES_IN_PROGRESS,
    STALE_AFTER,
    InterruptedWork,
    WorkRecovery,
)
from .sqlite import (
    BUSY_TIMEOUT_S,
    ArmStoreError,
    descendant_bounds,
    normalize_scope,
    provisioning_state_of,
    resource_group_id,
    split_scope,
    to_json,
)
from .stacks import StackRecords
from .timestamps import utc_now

__all__ = [
    "DEPLOYMENT_HISTORY_LIMIT",
    "PRUNE_ABOVE",
    "PRUNE_TO",
    "RESOURCE_STATES_IN_PROGRESS",
    "STALE_AFTER",
    "ActionHandler",
    "ArmStore",
    "ArmStoreError",
    "InterruptedWork",
    "ProcessOwner",
    "deployment_active",
    "deployment_id",
    "normalize_location",
    "resource_group_id",
]

ActionHandler = Callable[[str, str, "str | None", Any], Any]
RESOURCE_EXPAND_FIELDS = ("createdTime", "changedTime", "provisioningState")
_GROUP_ID = re.compile(r"^/subscriptions/[^/]+/resourcegroups/[^/]+$")
_DEPLOYMENT_ID = re.compile(r"/providers/microsoft\.resources/deployments/[^/]+$")


def normalize_location(location: str) -> str:
    """``West Europe`` → ``westeurope``, the form ARM answers with."""
    return location.replace(" ", "").lower()


def resource_type_of(resource_id: str) -> str:
    """``.../providers/Microsoft.Web/sites/a/slots/b`` → ``Microsoft.Web/sites/slots``."""
    lowered = resource_id.lower()
    tail = resource_id[lowered.rfind("/providers/") + len("/providers/") :].split("/")
    return "/".join([tail[0], *tail[1::2]])


class ArmStore(WorkRecovery, StackRecords):
    """The local ARM's state in an SQLite file (``path``) or a private in-memory database.

    ``synchronous`` is SQLite's: ``NORMAL`` survives the process being killed, ``FULL``
    also a power cut (see :mod:`.sqlite_state`). ``clock`` gives "now" for timestamps.
    ``busy_timeout_s``: how long a write waits for another process's write lock.
    ``action_handler(resource_id, action, api_version, body)`` answers the engine's
    ``list*`` functions through :meth:`invoke_action`; without one they answer None.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        synchronous: Literal["NORMAL", "FULL"] = "NORMAL",
        clock: Callable[[], datetime] = utc_now,
        action_handler: ActionHandler | None = None,
        busy_timeout_s: float = BUSY_TIMEOUT_S,
    ) -> None:
        super().__init__(path, synchronous=synchronous, clock=clock, busy_timeout_s=busy_timeout_s)
        self._action_handler = action_handler

    def __enter__(self) -> ArmStore:
        return self

    # -- resource groups --------------------------------------------------------------------

    def create_or_update_resource_group(
        self,
        subscription_id: str,
        name: str,
        *,
        location: str,
        tags: Mapping[str, str] | None = None,
        managed_by: str | None = None,
    ) -> dict[str, Any]:
        """ResourceGroups_CreateOrUpdate: the group's body (its name keeps its first spelling).

        Its location cannot change (``InvalidResourceGroupLocation``, as ARM answers).
        """
        key = resource_group_id(subscription_id, name).lower()
        location = normalize_location(location)
        now = created = self._now()
        with self.transaction():
            existing = self._conn.execute(
                "SELECT body, created FROM resource_groups WHERE key = ?", (key,)
            ).fetchone()
            if existing is not None:
                old = json.loads(existing[0])
                if old["location"] != location:
                    raise ArmStoreError(
                        409,
                        "InvalidResourceGroupLocation",
                        f"Invalid resource group location '{location}'. The Resource group "
                        f"already exists in location '{old['location']}'.",
                    )
                name, created = old["name"], existing[1]
            body: dict[str, Any] = {
                "id": resource_group_id(subscription_id, name),
                "name": name,
                "type": "Microsoft.Resources/resourceGroups",
                "location": location,
                "tags": dict(tags or {}),
            }
            if managed_by:
                body["managedBy"] = managed_by
            body["properties"] = {"provisioningState": "Succeeded"}
            text = to_json(body)
            self._conn.execute(
                "INSERT INTO resource_groups VALUES (?, ?, ?, ?, ?, 'Succeeded', ?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET managed_by = excluded.managed_by, "
                "changed = excluded.changed, body = excluded.body",
                (key, subscription_id.lower(), name, location, managed_by, created, now, text),
            )
        return body

    def get_resource_group(self, subscription_id: str, name: str) -> dict[str, Any] | None:
        key = resource_group_id(subscription_id, name).lower()
        return self._body("SELECT body FROM resource_groups WHERE key = ?", (key,))

    def list_resource_groups(self, subscription_id: str) -> list[dict[str, Any]]:
        """The subscription's groups, ordered by name (case-insensitively)."""
        rows = self._rows(
            "SELECT body FROM resource_groups WHERE subscription_key = ? ORDER BY key",
            (subscription_id.lower(),),
        )
        return [json.loads(row[0]) for row in rows]

    def delete_resource_group(self, subscription_id: str, name: str) -> bool:
        """ResourceGroups_Delete: the group, every resource in it and its deployment history."""
        key = resource_group_id(subscription_id, name).lower()
        with self.transaction():
            gone = self._conn.execute("DELETE FROM resource_groups WHERE key = ?", (key,))
            if gone.rowcount == 0:
                return False
            self._conn.execute(
                "DELETE FROM resources WHERE key > ? AND key < ?", descendant_bounds(key)
            )
            self._conn.execute("DELETE FROM deployments WHERE scope_key = ?", (key,))
        return True

    # -- resources --------------------------------------------------------------------------

    def put_resource(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Store a resource's ARM GET body (``id`` required); returns the stored body.

        On update the id and name keep the spelling the resource was created with. The
        group it lies in must exist (``ResourceGroupNotFound`` otherwise); parents of child
        resources are not checked here.
        """
        resource_id = body.get("id")
        if not isinstance(resource_id, str) or "/providers/" not in resource_id.lower():
            raise ValueError(f"A resource body needs an ARM resource id, not {resource_id!r}.")
        stored = dict(body)
        resource_id = stored["id"] = normalize_scope(resource_id)
        key = resource_id.lower()
        subscription, group = split_scope(resource_id)
        sub_key, group_key = subscription and subscription.lower(), group and group.lower()
        type_key = str(stored.get("type") or resource_type_of(resource_id)).lower()
        now = created = self._now()
        with self.transaction():
            self._require_group(resource_id)
            existing = self._conn.execute(
                "SELECT body, created FROM resources WHERE key = ?", (key,)
            ).fetchone()
            if existing is not None:
                old, created = json.loads(existing[0]), existing[1]
                for name in ("id", "name"):
                    if str(stored.get(name, "")).lower() == str(old.get(name, "")).lower():
                        stored[name] = old.get(name)
            text, state = to_json(stored), provisioning_state_of(stored)
            owner = self._owner_while(state in RESOURCE_STATES_IN_PROGRESS)
            self._conn.execute(
                "INSERT INTO resources (key, subscription_key, resource_group_key, type_key, "
                "provisioning_state, created, changed, body, owner) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET type_key = "
                "excluded.type_key, provisioning_state = excluded.provisioning_state, "
                "changed = excluded.changed, body = excluded.body, owner = excluded.owner",
                (key, sub_key, group_key, type_key, state, created, now, text, owner),
            )
        return json.loads(text)

    def get_resource(self, resource_id: str) -> dict[str, Any] | None:
        """The ARM GET body of the resource, resource group or deployment with this id."""
        key = normalize_scope(resource_id).lower()
        body = self._body("SELECT body FROM resources WHERE key = ?", (key,))
        if body is None and _GROUP_ID.match(key):
            return self._body("SELECT body FROM resource_groups WHERE key = ?", (key,))
        if body is None and _DEPLOYMENT_ID.search(key):
            return self._body("SELECT body FROM deployments WHERE key = ?", (key,))
        return body

    def list_tenant_resources(
        self, resource_type: str, *, by_change: bool = False
    ) -> list[dict[str, Any]]:
        """Resources of ``resource_type`` outside every subscription (management groups,
        subscription aliases …), ordered by id, or with ``by_change`` oldest change first."""
        order = "changed, key" if by_change else "key"
        rows = self._rows(
            "SELECT body FROM resources WHERE subscription_key IS NULL AND type_key = ? "
            f"ORDER BY {order}",
            (resource_type.lower(),),
        )
        return [json.loads(row[0]) for row in rows]

    def group_subscription_ids(self) -> list[str]:
        """The subscriptions that hold resource groups (lower case)."""
        rows = self._rows("SELECT DISTINCT subscription_key FROM resource_groups ORDER BY 1")
        return [str(row[0]) for row in rows]

    def list_resources(
        self,
        subscription_id: str,
        resource_group: str | None = None,
        *,
        resource_type: str | None = None,
        expand: Collection[str] = (),
    ) -> list[dict[str, Any]]:
        """A subscription's resources (every group's too) or one group's, ordered by id.

        Child and extension resources are included. ``expand`` adds ARM's ``$expand``
        fields ``createdTime``, ``changedTime``, ``provisioningState`` (case-insensitive).
        """
        sql = "SELECT body, created, changed, provisioning_state FROM resources"
        sql += " WHERE subscription_key = ?"
        params: tuple[Any, ...] = (subscription_id.lower(),)
        if resource_group is not None:
            sql += " AND resource_group_key = ?"
            params += (resource_group.lower(),)
        if resource_type is not None:
            sql += " AND type_key = ?"
            params += (resource_type.lower(),)
        wanted = [f for f in RESOURCE_EXPAND_FIELDS if f.lower() in {e.lower() for e in expand}]
        result = []
        for text, created, changed, state in self._rows(sql + " ORDER BY key", params):
            body = json.loads(text)
            extra = {"createdTime": created, "changedTime": changed, "provisioningState": state}
            body.update((name, extra[name]) for name in wanted if extra[name] is not None)
            result.append(body)
        return result

    def delete_resource(self, resource_id: str) -> list[str]:
        """Delete a resource and every resource under its id; the ids deleted, parents first."""
        key = normalize_scope(resource_id).lower()
        where = "key = ? OR (key > ? AND key < ?)"
        with self.transaction():
            rows = self._conn.execute(
                f"SELECT body FROM resources WHERE {where} ORDER BY key",
                (key, *descendant_bounds(key)),
            ).fetchall()
            self._conn.execute(
                f"DELETE FROM resources WHERE {where}", (key, *descendant_bounds(key))
            )
        return [json.loads(row[0])["id"] for row in rows]

    def invoke_action(
        self, resource_id: str, action: str, api_version: str | None, body: Any
    ) -> Any:
        """Answer a template's ``list*`` call through the ``action_handler`` (None without)."""
        if self._action_handler is None:
            return None
        return self._action_handler(resource_id, action, api_version, body)
