"""How each resource type answers a PUT, PATCH or DELETE by id: at once, or as a
long-running operation — the way the resource providers answer in Azure.

ARM's resource provider contract ("Asynchronous operations", Azure/azure-resource-manager-rpc)
lets a provider answer a PUT with 201/200 and a non-terminal ``provisioningState`` plus an
``Azure-AsyncOperation`` status URL, or with 202 and a ``Location``; a DELETE with 200 (done),
202 (accepted, polled) or 204 (nothing there). Which one a client meets depends on the type:

The per-type table (``_PUT``, ``_DELETE`` below; documented in docs/local-arm.md):
Microsoft.Network types answer 201/200 + ``Azure-AsyncOperation`` in ``Updating`` and delete
with 202; AKS clusters and Cosmos DB accounts are ``Creating`` (``Updating`` once they exist);
storage accounts are created with 202 + ``Location`` and no body; SQL servers answer 202 with
both headers; every other type answers at once (201/200, DELETE 200).

The local ARM stores the resource as it will be when done (so deployments, what-if and
lists see it whole), and while the operation runs — ``resource_delay_s`` seconds, none by
default — a GET of it answers the in-progress state and the status URL ``InProgress``; then
``Succeeded``. A client therefore meets the sequence of states it meets in Azure: the
in-progress state in the PUT's answer, then ``Succeeded``.
"""

from __future__ import annotations

import threading
import time
import uuid
import weakref
from dataclasses import dataclass, field
from typing import Any

# how a type's PUT is answered: "async" = 201/200 with the in-progress body and
# Azure-AsyncOperation; "location" = 202 + Location, no body; "both" = 202 with the body,
# Azure-AsyncOperation and Location
_PUT: dict[str, tuple[str, str, str]] = {
    # lower-case type prefix → (put style, state while creating, state while updating)
    "microsoft.network/": ("async", "Updating", "Updating"),
    "microsoft.containerservice/managedclusters": ("async", "Creating", "Updating"),
    "microsoft.documentdb/databaseaccounts": ("async", "Creating", "Updating"),
    "microsoft.storage/storageaccounts": ("location", "Creating", "Succeeded"),
    "microsoft.sql/servers": ("both", "Creating", "Updating"),
}
# how a type's DELETE is answered when the resource exists: "async" = 202 with both headers,
# "location" = 202 + Location, otherwise 200
_DELETE: dict[str, str] = {
    "microsoft.network/": "async",
    "microsoft.containerservice/managedclusters": "location",
    "microsoft.documentdb/databaseaccounts": "location",
    "microsoft.sql/servers": "location",
}


def _lookup(table: dict[str, Any], resource_type: str) -> Any:
    key = resource_type.lower()
    for prefix, value in table.items():
        if key == prefix or (prefix.endswith("/") and key.startswith(prefix)):
            return value
        if key.startswith(prefix + "/"):  # a child type of an asynchronous parent
            return value
    return None


def put_style(resource_type: str, *, created: bool) -> tuple[str, str] | None:
    """``(style, in-progress state)`` of a PUT/PATCH of this type, or None when it is
    answered at once. An update of a type that only creates asynchronously is at once."""
    found = _lookup(_PUT, resource_type)
    if found is None:
        return None
    style, creating, updating = found
    state = creating if created else updating
    if state == "Succeeded":
        return None
    return style, state


def delete_style(resource_type: str) -> str | None:
    return _lookup(_DELETE, resource_type)


@dataclass
class PendingOperation:
    """An asynchronous operation on one resource, done at ``ends`` (monotonic time)."""

    resource_id: str
    state: str  # the resource's provisioningState until it ends
    ends: float
    kind: str = "put"  # or "delete"
    id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def done(self) -> bool:
        return time.monotonic() >= self.ends


class Pending:
    """The asynchronous operations of one local ARM, by operation id and by resource."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_id: dict[str, PendingOperation] = {}
        self.by_resource: dict[str, PendingOperation] = {}

    def start(self, resource_id: str, state: str, delay_s: float, kind: str) -> PendingOperation:
        operation = PendingOperation(resource_id, state, time.monotonic() + delay_s, kind)
        with self.lock:
            if len(self.by_id) > 10000:  # forget the oldest finished ones
                for old in [o for o in self.by_id.values() if o.done][:5000]:
                    self.by_id.pop(old.id, None)
            self.by_id[operation.id] = operation
            if kind == "put":
                self.by_resource[resource_id.lower()] = operation
            else:
                self.by_resource.pop(resource_id.lower(), None)
        return operation

    def get(self, operation_id: str) -> PendingOperation | None:
        with self.lock:
            return self.by_id.get(operation_id)

    def overlay(self, resource: dict[str, Any]) -> dict[str, Any]:
        """``resource`` as a GET answers it now: its in-progress state while its operation
        runs."""
        with self.lock:
            operation = self.by_resource.get(str(resource.get("id", "")).lower())
            if operation is not None and operation.done:
                self.by_resource.pop(operation.resource_id.lower(), None)
                operation = None
        if operation is None:
            return resource
        shown = dict(resource)
        properties = dict(shown.get("properties") or {})
        properties["provisioningState"] = operation.state
        shown["properties"] = properties
        return shown

    def forget(self, resource_id: str) -> None:
        with self.lock:
            self.by_resource.pop(resource_id.lower(), None)


_PENDING: weakref.WeakKeyDictionary[Any, Pending] = weakref.WeakKeyDictionary()
_PENDING_LOCK = threading.Lock()


def pending(backend: Any) -> Pending:
    """The asynchronous operations of ``backend`` (one table per local ARM)."""
    with _PENDING_LOCK:
        table = _PENDING.get(backend)
        if table is None:
            table = _PENDING[backend] = Pending()
        return table
