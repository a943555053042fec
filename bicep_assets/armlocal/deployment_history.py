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
from datetime import datetime
from typing import Any

from .sqlite_state import (
    ArmStoreError,
    SqliteState,
    normalize_scope,
    provisioning_state_of,
    to_json,
)
from .timestamps import iso, iso_duration, parse_iso

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


def interrupted_error(what: str, last_progress: str | None, now: str) -> dict[str, Any]:
    """The ARM error a deployment or operation gets when the local ARM stopped during it."""
    since = f" (last progress recorded at {last_progress})" if last_progress else ""
    return {
        "code": "DeploymentInterrupted",
        "message": (
            f"The local ARM stopped while {what} was running{since}; it was marked Failed "
            f"when the local ARM started again at {now}. Deploy again to finish it."
        ),
        "details": [],
    }


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
        with self.transaction():
            self._require_group(scope)
            stored = self._conn.execute(
                "SELECT body FROM deployments WHERE key = ?", (key,)
            ).fetchone()
            if stored is not None and _run_of(json.loads(stored[0])) == _run_of(body):
                self._conn.execute(
                    "UPDATE deployments SET name = ?, provisioning_state = ?, changed = ?, "
                    "body = ?, template = ? WHERE key = ?",
                    (name, state, now, text, to_json(template), key),
                )
                return json.loads(text)
            sequence = self._conn.execute(
                "SELECT COALESCE(MAX(sequence), 0) + 1 FROM deployments"
            ).fetchone()[0]
            self._conn.execute("DELETE FROM deployments WHERE key = ?", (key,))
            self._conn.execute(
                "INSERT INTO deployments VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (key, scope_key, name, state, now, now, sequence, text, to_json(template)),
            )
        return json.loads(text)

    def update_deployment(
        self, scope_id: str, name: str, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Record progress of the current run (body only; place, template, operations stay)."""
        key = deployment_id(scope_id, name).lower()
        with self.transaction():
            updated = self._conn.execute(
                "UPDATE deployments SET provisioning_state = ?, changed = ?, body = ? "
                "WHERE key = ?",
                (provisioning_state_of(body), self._now(), to_json(body), key),
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

    def has_running_deployments(self, scope_id: str | None = None) -> bool:
        """Whether any deployment (in ``scope_id``, or anywhere) is not yet finished."""
        sql = f"SELECT 1 FROM deployments WHERE {_UNFINISHED}"
        params: tuple[Any, ...] = TERMINAL_STATES
        if scope_id is not None:
            sql += " AND scope_key = ?"
            params += (normalize_scope(scope_id).lower(),)
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
        """Add, or update by ``operationId``, one operation of the deployment with this id."""
        operation_id = body.get("operationId")
        if not isinstance(operation_id, str) or not operation_id:
            raise ValueError("A deployment operation body needs an 'operationId'.")
        key = normalize_scope(deployment_id).lower()
        with self.transaction():
            found = self._conn.execute("SELECT 1 FROM deployments WHERE key = ?", (key,))
            if found.fetchone() is None:
                raise deployment_not_found(normalize_scope(deployment_id).rsplit("/", 1)[-1])
            self._conn.execute(
                "INSERT INTO deployment_operations VALUES (?, ?, ?, ?) ON CONFLICT "
                "(deployment_key, operation_key) DO UPDATE SET provisioning_state = "
                "excluded.provisioning_state, body = excluded.body",
                (key, operation_id.lower(), provisioning_state_of(body), to_json(body)),
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

    def _fail_unfinished_deployments(self, moment: datetime) -> tuple[list[str], list[str]]:
        """Mark unfinished deployments and operations Failed (inside a transaction)."""
        stamp = iso(moment)
        deployments: list[str] = []
        rows = self._conn.execute(
            f"SELECT key, name, created, changed, body FROM deployments WHERE {_UNFINISHED}",
            TERMINAL_STATES,
        ).fetchall()
        for key, name, created, changed, text in rows:
            body = json.loads(text)
            properties = body.setdefault("properties", {})
            properties.update(
                provisioningState="Failed",
                timestamp=stamp,
                duration=iso_duration((moment - parse_iso(created)).total_seconds()),
                error=interrupted_error(f"deployment '{name}'", changed, stamp),
            )
            self._conn.execute(
                "UPDATE deployments SET provisioning_state = 'Failed', changed = ?, body = ? "
                "WHERE key = ?",
                (stamp, to_json(body), key),
            )
            deployments.append(body.get("id") or key)
        operations: list[str] = []
        rows = self._conn.execute(
            f"SELECT rowid, body FROM deployment_operations WHERE {_UNFINISHED}",
            TERMINAL_STATES,
        ).fetchall()
        for rowid, text in rows:
            body = json.loads(text)
            properties = body.setdefault("properties", {})
            target = (properties.get("targetResource") or {}).get("id") or body["operationId"]
            error = interrupted_error(f"the operation on '{target}'", None, stamp)
            properties.update(
                provisioningState="Failed",
                timestamp=stamp,
                statusCode="InternalServerError",
                statusMessage={"status": "Failed", "error": error},
            )
            self._conn.execute(
                "UPDATE deployment_operations SET provisioning_state = 'Failed', body = ? "
                "WHERE rowid = ?",
                (to_json(body), rowid),
            )
            operations.append(body.get("id") or body["operationId"])
        return deployments, operations
