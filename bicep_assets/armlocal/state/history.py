"""The deployment history of each scope: deployments, their templates and their operations.

A deployment is kept as ARM's ``DeploymentExtended`` body plus the template it ran (for
ExportTemplate and ``onErrorDeployment`` rollbacks), under the id of its scope (resource
group, subscription, management group or tenant ``""``) and its name. Its operations are
``DeploymentOperation`` bodies in the order they began, updated by ``operationId``.

History limits follow Microsoft's "Automatic deletions from deployment history": a scope
holds at most 800 deployments; once it holds more than 700, the oldest are deleted until 600
remain; reusing a name moves that deployment to the newest place.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .sqlite import (
    ArmStoreError,
    SqliteState,
    normalize_scope,
    provisioning_state_of,
    to_json,
)

DEPLOYMENT_HISTORY_LIMIT = 800  # ARM refuses a new deployment at this many in one scope
PRUNE_ABOVE = 700  # ... deletes the oldest deployments once a scope holds more than this
PRUNE_TO = 600  # ... until this many remain
TERMINAL_STATES = ("Canceled", "Failed", "Succeeded")
_TERMINAL_IN = f"({', '.join('?' * len(TERMINAL_STATES))})"
_UNFINISHED = f"(provisioning_state IS NULL OR provisioning_state NOT IN {_TERMINAL_IN})"


def deployment_id(scope_id: str, name: str) -> str:
    """``{scope}/providers/Microsoft.Resources/deployments/{name}``."""
    return f"{normalize_scope(scope_id)}/providers/Microsoft.Resources/deployments/{name}"


def _run_of(body: Mapping[str, Any]) -> Any:
    """What tells one run of a deployment name from the next: its correlation id."""
    properties = body.get("properties")
    return properties.get("correlationId") if isinstance(properties, Mapping) else None


def deployment_not_found(name: str) -> ArmStoreError:
    return ArmStoreError(404, "DeploymentNotFound", f"Deployment '{name}' could not be found.")


def deployment_active(name: str, active: Mapping[str, Any]) -> ArmStoreError:
    """ARM's refusal to replace a deployment whose previous run is still going."""
    since = (active.get("properties") or {}).get("timestamp")
    return ArmStoreError(
        409,
        "DeploymentActive",
        f"Unable to edit or replace deployment '{name}': previous deployment from "
        f"'{since}' is still active (expiration time is in 14 days). Please see "
        "https://aka.ms/arm-deploy for usage details.",
    )


def is_unfinished(state: str | None) -> bool:
    return state not in TERMINAL_STATES


class DeploymentHistory(SqliteState):
    """Deployments and deployment operations, per scope (ARM's Deployments_* operations)."""

    def put_deployment(
        self, scope_id: str, name: str, body: Mapping[str, Any], template: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Deployments_CreateOrUpdate: store deployment ``name`` of ``scope_id`` and its template.

        A run is known by ``properties.correlationId``. A body with a new correlation id is a
        new run: it moves to the newest place in the history (as ARM does when a name is
        reused) and the previous run's operations are dropped. A body with the stored
        correlation id records progress of the same run: place and operations stay. A group
        scope must exist (``ResourceGroupNotFound``).
        """
        scope = normalize_scope(scope_id)
        key, scope_key = deployment_id(scope, name).lower(), scope.lower()
        state, now, text = provisioning_state_of(body), self._now(), to_json(body)
        owner = self._owner_while(is_unfinished(state))
        with self.transaction():
            self._require_group(scope)
            stored = self._conn.execute(
                "SELECT body FROM deployments WHERE key = ?", (key,)
            ).fetchone()
            if stored is not None and _run_of(json.loads(stored[0])) == _run_of(body):
                self._conn.execute(
                    "UPDATE deployments SET name = ?, provisioning_state = ?, changed = ?, "
                    "body = ?, template = ?, owner = ? WHERE key = ?",
                    (name, state, now, text, to_json(template), owner, key),
                )
                return json.loads(text)
            sequence = self._conn.execute(
                "SELECT COALESCE(MAX(sequence), 0) + 1 FROM deployments"
            ).fetchone()[0]
            self._conn.execute("DELETE FROM deployments WHERE key = ?", (key,))
            self._conn.execute(
                "INSERT INTO deployments (key, scope_key, name, provisioning_state, created, "
                "changed, sequence, body, template, owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (key, scope_key, name, state, now, now, sequence, text, to_json(template), owner),
            )
        return json.loads(text)

    def update_deployment(
        self, scope_id: str, name: str, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Record progress of the current run (body only; place, template, operations stay)."""
        key, state = deployment_id(scope_id, name).lower(), provisioning_state_of(body)
        with self.transaction():
            updated = self._conn.execute(
                "UPDATE deployments SET provisioning_state = ?, changed = ?, body = ?, owner = ? "
                "WHERE key = ?",
                (state, self._now(), to_json(body), self._owner_while(is_unfinished(state)), key),
            )
            if updated.rowcount == 0:
                raise deployment_not_found(name)
        return json.loads(to_json(body))

    def get_deployment(self, scope_id: str, name: str) -> dict[str, Any] | None:
        key = deployment_id(scope_id, name).lower()
        return self._body("SELECT body FROM deployments WHERE key = ?", (key,))

    def get_deployment_template(self, scope_id: str, name: str) -> dict[str, Any] | None:
        """The template the deployment ran (for ExportTemplate and rollbacks)."""
        key = deployment_id(scope_id, name).lower()
        return self._body("SELECT template FROM deployments WHERE key = ?", (key,))

    def list_deployments(
        self, scope_id: str, *, provisioning_state: str | None = None
    ) -> list[dict[str, Any]]:
        """The scope's history, newest first (ARM promises no order; this is the useful one)."""
        sql = "SELECT body FROM deployments WHERE scope_key = ?"
        params: tuple[Any, ...] = (normalize_scope(scope_id).lower(),)
        if provisioning_state is not None:
            sql += " AND lower(provisioning_state) = ?"
            params += (provisioning_state.lower(),)
        rows = self._rows(sql + " ORDER BY sequence DESC", params)
        return [json.loads(row[0]) for row in rows]

    def last_successful_deployment(
        self, scope_id: str, *, exclude_name: str | None = None
    ) -> dict[str, Any] | None:
        """The newest Succeeded deployment (for ``onErrorDeployment`` ``LastSuccessful``)."""
        excluded = "" if exclude_name is None else deployment_id(scope_id, exclude_name).lower()
        return self._body(
            "SELECT body FROM deployments WHERE scope_key = ? AND provisioning_state = "
            "'Succeeded' AND key <> ? ORDER BY sequence DESC LIMIT 1",
            (normalize_scope(scope_id).lower(), excluded),
        )

    def has_running_deployments(
        self, scope_id: str | None = None, *, owned_here: bool = False
    ) -> bool:
        """Whether any deployment (in ``scope_id``, or anywhere) is not yet finished.

        ``owned_here``: only deployments this store instance runs (not other processes').
        """
        sql = f"SELECT 1 FROM deployments WHERE {_UNFINISHED}"
        params: tuple[Any, ...] = TERMINAL_STATES
        if scope_id is not None:
            sql += " AND scope_key = ?"
            params += (normalize_scope(scope_id).lower(),)
        if owned_here:
            sql += " AND owner = ?"
            params += (self._owner_json,)
        return bool(self._rows(sql + " LIMIT 1", params))

    def delete_deployment(self, scope_id: str, name: str) -> bool:
        """Delete a deployment and its operations (the server refuses running ones first)."""
        key = deployment_id(scope_id, name).lower()
        with self.transaction():
            return self._conn.execute("DELETE FROM deployments WHERE key = ?", (key,)).rowcount > 0

    def count_deployments(self, scope_id: str) -> int:
        scope_key = normalize_scope(scope_id).lower()
        rows = self._rows("SELECT COUNT(*) FROM deployments WHERE scope_key = ?", (scope_key,))
        return int(rows[0][0])

    def prune_deployments(self, scope_id: str) -> list[str]:
        """ARM's automatic history deletion; returns the names deleted, oldest first.

        Once a scope holds more than ``PRUNE_ABOVE`` (700) deployments, the oldest are
        deleted until ``PRUNE_TO`` (600) remain. ARM runs this on each deployment, what-if
        and validate. Unfinished deployments are skipped (ARM cannot delete a running one).
        """
        scope_key = normalize_scope(scope_id).lower()
        with self.transaction():
            count = self._conn.execute(
                "SELECT COUNT(*) FROM deployments WHERE scope_key = ?", (scope_key,)
            ).fetchone()[0]
            if count <= PRUNE_ABOVE:
                return []
            oldest = self._conn.execute(
                "SELECT key, name FROM deployments WHERE scope_key = ? AND provisioning_state "
                f"IN {_TERMINAL_IN} ORDER BY sequence LIMIT ?",
                (scope_key, *TERMINAL_STATES, count - PRUNE_TO),
            ).fetchall()
            self._conn.executemany(
                "DELETE FROM deployments WHERE key = ?", [(k,) for k, _ in oldest]
            )
        return [name for _, name in oldest]

    def put_operation(self, deployment_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Add, or update by ``operationId``, one operation of the deployment with this id.

        The deployment's ``changed`` time moves too: it is the run's last recorded progress.
        """
        operation_id = body.get("operationId")
        if not isinstance(operation_id, str) or not operation_id:
            raise ValueError("A deployment operation body needs an 'operationId'.")
        key, state = normalize_scope(deployment_id).lower(), provisioning_state_of(body)
        owner = self._owner_while(is_unfinished(state))
        with self.transaction():
            found = self._conn.execute(
                "UPDATE deployments SET changed = ? WHERE key = ?", (self._now(), key)
            )
            if found.rowcount == 0:
                raise deployment_not_found(normalize_scope(deployment_id).rsplit("/", 1)[-1])
            self._conn.execute(
                "INSERT INTO deployment_operations (deployment_key, operation_key, "
                "provisioning_state, body, owner) VALUES (?, ?, ?, ?, ?) ON CONFLICT "
                "(deployment_key, operation_key) DO UPDATE SET provisioning_state = "
                "excluded.provisioning_state, body = excluded.body, owner = excluded.owner",
                (key, operation_id.lower(), state, to_json(body), owner),
            )
        return json.loads(to_json(body))

    def get_operation(self, deployment_id: str, operation_id: str) -> dict[str, Any] | None:
        return self._body(
            "SELECT body FROM deployment_operations WHERE deployment_key = ? AND operation_key = ?",
            (normalize_scope(deployment_id).lower(), operation_id.lower()),
        )

    def list_operations(self, deployment_id: str) -> list[dict[str, Any]]:
        """The deployment's operations in the order they were first recorded."""
        rows = self._rows(
            "SELECT body FROM deployment_operations WHERE deployment_key = ? ORDER BY rowid",
            (normalize_scope(deployment_id).lower(),),
        )
        return [json.loads(row[0]) for row in rows]
