"""Failing work whose local ARM is gone — and only that work — when processes share a file.

Every unfinished deployment, deployment operation and in-progress resource names its owner
(:class:`~.process_owner.ProcessOwner`: host, pid namespace, pid, process start time, store
instance). :meth:`WorkRecovery.recover_interrupted` marks Failed, with ARM's error
``DeploymentInterrupted``, the work of owners that are gone: a pid that no longer exists or
now belongs to a process started at another time, or a store instance of this process that
was closed. Work of live owners is left alone. Work owned on another host (or where this
platform cannot tell) is left alone too, unless it recorded no progress for ``stale_after``
(:data:`STALE_AFTER`, 24 hours: far longer than any local deployment waits between two
steps, since every operation a deployment records counts as progress).

:meth:`WorkRecovery.start_deployment` is Deployments_CreateOrUpdate's check-and-insert, one
``BEGIN IMMEDIATE`` transaction, so of two processes racing to start the same name exactly
one succeeds and the other gets ``DeploymentActive``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .history import DeploymentHistory, deployment_active, deployment_id
from .owners import Liveness, ProcessOwner, liveness
from .sqlite import normalize_scope, to_json
from .timestamps import iso, iso_duration, parse_iso

STALE_AFTER = timedelta(hours=24)
Reason = Callable[[str, str], "str | None"]  # (owner, last progress) → why it is recovered
RESOURCE_STATES_IN_PROGRESS = (
    "Accepted",
    "Creating",
    "Deleting",
    "Provisioning",
    "Running",
    "Updating",
)


@dataclass(frozen=True)
class InterruptedWork:
    """What :meth:`WorkRecovery.recover_interrupted` marked Failed (ids as first spelled).

    ``owners`` are the owners whose work that was; ``left_running`` the ids of unfinished
    deployments left alone because their owner is (or may be) still running them.
    """

    deployment_ids: list[str]
    operation_ids: list[str]
    resource_ids: list[str]
    owners: list[ProcessOwner] = field(default_factory=list)
    left_running: list[str] = field(default_factory=list)


def interrupted_error(
    what: str, owner: ProcessOwner | None, reason: str, last_progress: str | None, now: str
) -> dict[str, Any]:
    """The ARM error a deployment or operation gets when the local ARM running it is gone."""
    running = f" ({owner.describe()})" if owner is not None else ""
    since = f" (last progress recorded at {last_progress})" if last_progress else ""
    return {
        "code": "DeploymentInterrupted",
        "message": (
            f"The local ARM running {what}{running} {reason}{since}; it was marked Failed at "
            f"{now}. Deploy again to finish it."
        ),
        "details": [],
    }


def _parse_owner(text: str) -> ProcessOwner | None:
    try:
        return ProcessOwner.from_json(text)
    except (ValueError, KeyError, TypeError):
        return None


class WorkRecovery(DeploymentHistory):
    """Owner-aware crash recovery and the atomic start of a deployment (see module doc)."""

    def recover_interrupted(
        self, now: datetime | None = None, *, stale_after: timedelta = STALE_AFTER
    ) -> InterruptedWork:
        """Fail the unfinished work of owners that are gone; call when a local ARM starts.

        Deployments and operations become Failed with ARM's error ``DeploymentInterrupted``;
        resources left Creating/Updating/... become Failed. Safe to call at any time from
        any process sharing the file: live owners' work is untouched.
        """
        moment = now or self._clock()
        cutoff = iso(moment - stale_after)
        texts = self._rows(
            "SELECT owner FROM deployments WHERE owner IS NOT NULL UNION "
            "SELECT owner FROM deployment_operations WHERE owner IS NOT NULL UNION "
            "SELECT owner FROM resources WHERE owner IS NOT NULL"
        )
        owners = {text: _parse_owner(text) for (text,) in texts}
        verdicts: dict[str, Liveness] = {
            text: "unknown" if owner is None else liveness(owner) for text, owner in owners.items()
        }
        hours = stale_after.total_seconds() / 3600
        reasons = {"dead": "stopped before it finished"}
        reasons["unknown"] = f"recorded no progress for more than {hours:g} hours"

        def reason(owner: str, last_progress: str) -> str | None:
            """Why this owner's work is recovered, or None to leave it alone."""
            verdict = verdicts.get(owner)  # an owner that appeared since is left alone
            if verdict == "dead" or (verdict == "unknown" and last_progress < cutoff):
                return reasons[verdict]
            return None

        recovered: set[str] = set()
        stamp = iso(moment)
        with self.transaction():
            # operations first: they are judged by their deployment's last progress
            operations = self._fail_operations(reason, stamp, recovered, owners)
            deployments, left_running = self._fail_deployments(reason, moment, recovered, owners)
            resources = self._fail_resources(reason, stamp, recovered)
        gone = [o for text, o in owners.items() if text in recovered and o is not None]
        return InterruptedWork(deployments, operations, resources, gone, left_running)

    def _fail_deployments(
        self,
        reason: Reason,
        moment: datetime,
        recovered: set[str],
        owners: Mapping[str, ProcessOwner | None],
    ) -> tuple[list[str], list[str]]:
        """Fail the deployments ``reason`` picks; (failed ids, ids left running)."""
        stamp = iso(moment)
        failed: list[str] = []
        left_running: list[str] = []
        rows = self._conn.execute(
            "SELECT key, name, created, changed, body, owner FROM deployments "
            "WHERE owner IS NOT NULL ORDER BY sequence"
        ).fetchall()
        for key, name, created, changed, text, owner in rows:
            why = reason(owner, changed)
            body = json.loads(text)
            if why is None:
                left_running.append(body.get("id") or key)
                continue
            body.setdefault("properties", {}).update(
                provisioningState="Failed",
                timestamp=stamp,
                duration=iso_duration((moment - parse_iso(created)).total_seconds()),
                error=interrupted_error(
                    f"deployment '{name}'", owners.get(owner), why, changed, stamp
                ),
            )
            self._conn.execute(
                "UPDATE deployments SET provisioning_state = 'Failed', changed = ?, "
                "body = ?, owner = NULL WHERE key = ?",
                (stamp, to_json(body), key),
            )
            failed.append(body.get("id") or key)
            recovered.add(owner)
        return failed, left_running

    def _fail_operations(
        self,
        reason: Reason,
        stamp: str,
        recovered: set[str],
        owners: Mapping[str, ProcessOwner | None],
    ) -> list[str]:
        """Fail the operations ``reason`` picks (inside the recovery's transaction)."""
        failed: list[str] = []
        rows = self._conn.execute(
            "SELECT o.rowid, o.body, o.owner, d.changed FROM deployment_operations AS o "
            "JOIN deployments AS d ON d.key = o.deployment_key WHERE o.owner IS NOT NULL "
            "ORDER BY o.rowid"
        ).fetchall()
        for rowid, text, owner, changed in rows:
            why = reason(owner, changed)
            if why is None:
                continue
            body = json.loads(text)
            properties = body.setdefault("properties", {})
            target = (properties.get("targetResource") or {}).get("id") or body["operationId"]
            error = interrupted_error(
                f"the operation on '{target}'", owners.get(owner), why, None, stamp
            )
            properties.update(
                provisioningState="Failed",
                timestamp=stamp,
                statusCode="InternalServerError",
                statusMessage={"status": "Failed", "error": error},
            )
            self._conn.execute(
                "UPDATE deployment_operations SET provisioning_state = 'Failed', body = ?, "
                "owner = NULL WHERE rowid = ?",
                (to_json(body), rowid),
            )
            failed.append(body.get("id") or body["operationId"])
            recovered.add(owner)
        return failed

    def _fail_resources(self, reason: Reason, stamp: str, recovered: set[str]) -> list[str]:
        """Fail the in-progress resources ``reason`` picks (inside the recovery's transaction)."""
        failed: list[str] = []
        rows = self._conn.execute(
            "SELECT key, body, owner, changed FROM resources WHERE owner IS NOT NULL ORDER BY key"
        ).fetchall()
        for key, text, owner, changed in rows:
            if reason(owner, changed) is None:
                continue
            body = json.loads(text)
            body.setdefault("properties", {})["provisioningState"] = "Failed"
            self._conn.execute(
                "UPDATE resources SET provisioning_state = 'Failed', changed = ?, body = ?, "
                "owner = NULL WHERE key = ?",
                (stamp, to_json(body), key),
            )
            failed.append(body["id"])
            recovered.add(owner)
        return failed

    def active_deployment(
        self, scope_id: str, name: str, *, stale_after: timedelta = STALE_AFTER
    ) -> dict[str, Any] | None:
        """The unfinished run of deployment ``name`` whose owner may still be running it.

        A run whose owner is gone is recovered first (Failed, ``DeploymentInterrupted``,
        with any other work of gone owners), and None is returned: the name is free.
        """
        key = deployment_id(normalize_scope(scope_id), name).lower()
        rows = self._rows("SELECT body, owner, changed FROM deployments WHERE key = ?", (key,))
        if not rows or rows[0][1] is None:
            return None
        text, owner_text, changed = rows[0]
        owner = _parse_owner(owner_text)
        verdict = "unknown" if owner is None else liveness(owner)
        cutoff = iso(self._clock() - stale_after)
        if verdict == "alive" or (verdict == "unknown" and changed >= cutoff):
            return json.loads(text)
        self.recover_interrupted(stale_after=stale_after)
        return None

    def start_deployment(
        self, scope_id: str, name: str, body: Mapping[str, Any], template: Mapping[str, Any]
    ) -> bool:
        """Store a new run of deployment ``name`` unless another is active; True if new.

        The check and the insert are one ``BEGIN IMMEDIATE`` transaction, atomic across every
        process sharing the file. An active run → ``DeploymentActive`` (409), nothing written.
        """
        key = deployment_id(normalize_scope(scope_id), name).lower()
        with self.transaction():
            active = self.active_deployment(scope_id, name)
            if active is not None:
                raise deployment_active(name, active)
            existed = bool(self._rows("SELECT 1 FROM deployments WHERE key = ?", (key,)))
            self.put_deployment(scope_id, name, body, template)
        return not existed
