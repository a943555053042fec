"""Deployment stacks in the state file: one row per stack (``deployment_stacks``).

A stack's row holds its GET body (``Microsoft.Resources/deploymentStacks``, secure values
never in it) and the template its last create or update deployed (what ``exportTemplate``
answers). While a create, update or delete runs, the row carries its owner (see
:mod:`.owners`): a stack whose owner has gone is seen as ``failed`` by every process that
reads it, as a deployment is.
"""

from __future__ import annotations

import json
from typing import Any

from .owners import ProcessOwner, liveness
from .sqlite import SqliteState, normalize_scope, to_json

STACK_STATES_IN_PROGRESS = frozenset(
    {
        "creating",
        "validating",
        "waiting",
        "deploying",
        "canceling",
        "updatingDenyAssignments",
        "deletingResources",
        "deleting",
        "initializing",
        "running",
    }
)


class StackRecords(SqliteState):
    """The deployment stacks table (mixed into :class:`~.store.ArmStore`)."""

    def put_stack(self, scope_id: str, body: dict[str, Any], template: Any) -> dict[str, Any]:
        """Insert or replace a stack's record; its owner is this process while unfinished."""
        key = normalize_scope(body["id"]).lower()
        state = str(body["properties"].get("provisioningState", ""))
        owner = self._owner_while(state in STACK_STATES_IN_PROGRESS)
        now = self._now()
        with self.transaction():
            self._conn.execute(
                "INSERT INTO deployment_stacks (key, scope_key, name, provisioning_state, "
                "created, changed, body, template, owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET provisioning_state = excluded."
                "provisioning_state, changed = excluded.changed, body = excluded.body, "
                "template = excluded.template, owner = excluded.owner",
                (
                    key,
                    normalize_scope(scope_id).lower(),
                    body["name"],
                    state,
                    now,
                    now,
                    to_json(body),
                    to_json(template),
                    owner,
                ),
            )
        return body

    def get_stack(self, stack_id: str) -> dict[str, Any] | None:
        rows = self._rows(
            "SELECT body, owner FROM deployment_stacks WHERE key = ?",
            (normalize_scope(stack_id).lower(),),
        )
        return _seen(rows[0]) if rows else None

    def get_stack_template(self, stack_id: str) -> Any:
        rows = self._rows(
            "SELECT template FROM deployment_stacks WHERE key = ?",
            (normalize_scope(stack_id).lower(),),
        )
        return json.loads(rows[0][0]) if rows else None

    def list_stacks(self, scope_id: str) -> list[dict[str, Any]]:
        rows = self._rows(
            "SELECT body, owner FROM deployment_stacks WHERE scope_key = ? ORDER BY key",
            (normalize_scope(scope_id).lower(),),
        )
        return [_seen(row) for row in rows]

    def all_stacks(self) -> list[dict[str, Any]]:
        """Every stack (the deny assignments are read from them)."""
        rows = self._rows("SELECT body, owner FROM deployment_stacks ORDER BY key")
        return [_seen(row) for row in rows]

    def delete_stack(self, stack_id: str) -> bool:
        with self.transaction():
            cursor = self._conn.execute(
                "DELETE FROM deployment_stacks WHERE key = ?",
                (normalize_scope(stack_id).lower(),),
            )
        return cursor.rowcount > 0


def _seen(row: tuple[Any, ...]) -> dict[str, Any]:
    """A stack as every process sees it: unfinished work whose owner is gone has failed."""
    body: dict[str, Any] = json.loads(row[0])
    owner_text = row[1]
    if owner_text and liveness(ProcessOwner.from_json(owner_text)) == "dead":
        properties = body["properties"]
        properties["provisioningState"] = "failed"
        properties["error"] = {
            "code": "DeploymentStackInterrupted",
            "message": "The local ARM process that ran this deployment stack's operation "
            "stopped before it finished; create or update the stack again.",
        }
    return body
