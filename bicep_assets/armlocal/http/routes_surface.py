"""Resources by id as the resource providers answer them, and management locks.

- **Resources by id** (``Resources_*ById``): GET, PUT, PATCH (``Resources_UpdateById``),
  DELETE and POST actions. Answers carry what Azure's do — no ``apiVersion`` key, which is
  the request's, not the resource's — and each type answers synchronously or as a
  long-running operation as its provider does in Azure (``service/provisioning.py``'s
  table): an asynchronous PUT answers the in-progress ``provisioningState`` with an
  ``Azure-AsyncOperation`` status URL (or 202 + ``Location``), a DELETE 200 when done, 202
  when accepted, 204 when there was nothing to delete.
- **Management locks** (``ManagementLocks_*``) at subscription, resource group and resource
  scope (``…/providers/Microsoft.Authorization/locks[/{name}]``): create or update, get,
  delete, list (at a scope: the locks at it and below; ``$filter=atScope()``: the locks that
  apply to it, at it and above). Every write and delete here checks them
  (``service/locks.py``): 409 ``ScopeLocked``.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from werkzeug.wrappers import Request, Response

from ..engine.resource_ids import parse_resource_id
from ..service.backend import ArmBackend
from ..service.errors import ArmHttpError, group_not_found, resource_not_found
from ..service.locks import (
    LOCK_TYPE,
    all_locks,
    check_lock_body,
    check_unlocked,
    lock_scope,
    locks_on,
)
from ..service.provisioning import delete_style, pending, put_style
from ..state.timestamps import iso, utc_now
from .rest import (
    Router,
    empty_response,
    json_response,
    principal_of,
    read_json,
    require_object,
)

LOCKS = r"/providers/Microsoft\.Authorization/locks"
LOCK_SCOPE = r"(?P<scope>/subscriptions/[^/]+(?:/resourcegroups/[^/]+(?:/providers/.+?)?)?)"
_GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
# keys a PATCH may change; the others (id, name, type, location) are the resource's own
PATCHABLE = ("tags", "properties", "sku", "identity", "plan", "kind", "managedBy", "zones")


def answered(backend: ArmBackend, resource: dict[str, Any]) -> dict[str, Any]:
    """A stored resource as a GET answers it: without the ``apiVersion`` the local ARM keeps
    for itself (providers list the versions written), named by its last name segment as
    Azure names child resources (``sa/default/c1`` is ``c1``), in its in-progress state while
    an asynchronous operation on it runs."""
    shown = {k: v for k, v in resource.items() if k != "apiVersion"}
    name = shown.get("name")
    if isinstance(name, str) and "/" in name:  # a child resource: Azure names the last segment
        shown["name"] = name.rsplit("/", 1)[-1]
    return pending(backend).overlay(shown)


def correlation_id(request: Request) -> str:
    """The request's correlation id: the client's ``x-ms-correlation-request-id``, or one
    ARM makes (answered in that header, and in what-if results and deployments)."""
    known = request.environ.get("localarm.correlation_id")
    if known is None:
        sent = request.headers.get("x-ms-correlation-request-id", "").strip()
        known = sent if _GUID.fullmatch(sent) else str(uuid.uuid4())
        request.environ["localarm.correlation_id"] = known
    return str(known)


def arm_headers(request: Request, response: Response) -> None:
    """The headers every ARM answer carries: its request and correlation ids."""
    response.headers.setdefault("x-ms-request-id", str(uuid.uuid4()))
    response.headers.setdefault("x-ms-correlation-request-id", correlation_id(request))


def _base(request: Request) -> str:
    return request.host_url.rstrip("/")


def _operation_urls(
    backend: ArmBackend, request: Request, resource_id: str, location: str | None, op_id: str
) -> tuple[str, str]:
    parts = parse_resource_id(resource_id)
    namespace = parts.resource_type.split("/")[0]
    where = (location or "global").replace(" ", "").lower()
    prefix = (
        f"{_base(request)}/subscriptions/{parts.subscription_id}/providers/{namespace}/"
        f"locations/{where}"
    )
    query = f"?api-version={request.args.get('api-version')}"
    return (
        f"{prefix}/operationStatuses/{op_id}{query}",
        f"{prefix}/operationResults/{op_id}{query}",
    )


def _retry(backend: ArmBackend) -> dict[str, str]:
    return {"Retry-After": str(int(backend.config.retry_after))}


def write_response(
    backend: ArmBackend, request: Request, stored: dict[str, Any], created: bool
) -> Response:
    """The answer to a PUT or PATCH that stored ``stored``: at once, or as its type's
    provider answers it in Azure (long-running)."""
    style = put_style(stored.get("type", ""), created=created)
    status = 201 if created and request.method == "PUT" else 200
    if style is None:
        pending(backend).forget(stored["id"])
        return json_response(answered(backend, stored), status)
    kind, state = style
    operation = pending(backend).start(
        stored["id"], state, float(backend.config.resource_delay_s), "put"
    )
    status_url, result_url = _operation_urls(
        backend, request, stored["id"], stored.get("location"), operation.id
    )
    if kind == "location":
        return empty_response(202, headers={"Location": result_url, **_retry(backend)})
    headers = {"Azure-AsyncOperation": status_url, **_retry(backend)}
    if kind == "both":
        headers["Location"] = result_url
        status = 202
    # the answer shows the operation started, however soon it ends
    shown = {k: v for k, v in stored.items() if k != "apiVersion"}
    shown["properties"] = {**(shown.get("properties") or {}), "provisioningState": state}
    return json_response(shown, status, headers=headers)


# types whose provider answers ARM's ``systemData`` (who made and changed it, and when)
SYSTEM_DATA_TYPES = (
    "microsoft.resources/templatespecs",
    "microsoft.resources/templatespecs/versions",
)


def _with_system_data(
    backend: ArmBackend, rid: str, body: dict[str, Any], previous: dict[str, Any] | None
) -> dict[str, Any]:
    try:
        rtype = parse_resource_id(rid).resource_type.lower()
    except Exception:
        return body
    if rtype not in SYSTEM_DATA_TYPES:
        return body
    now = iso(utc_now())
    by = backend.config.subscription_id  # the caller: the local ARM knows one principal
    before = (previous or {}).get("systemData") or {}
    system = {
        "createdBy": before.get("createdBy", by),
        "createdByType": before.get("createdByType", "Application"),
        "createdAt": before.get("createdAt", now),
        "lastModifiedBy": by,
        "lastModifiedByType": "Application",
        "lastModifiedAt": now,
    }
    return {**body, "systemData": system}


def put_by_id(backend: ArmBackend, request: Request, rid: str) -> Response:
    backend.stacks.check_deny(rid, principal_of(request), "write")
    body = require_object(read_json(request), "the resource")
    check_unlocked(backend.store, rid, "write")
    body = _with_system_data(backend, rid, body, backend.store.get_resource(rid))
    stored, created = backend.put_resource(rid, body, request.args.get("api-version", ""))
    return write_response(backend, request, stored, created)


def patch_by_id(backend: ArmBackend, request: Request, rid: str) -> Response:
    """``Resources_UpdateById``: the keys the patch names replace the resource's (tags as a
    whole, as ARM's tag updates do); ``properties`` merge as a JSON merge patch."""
    backend.stacks.check_deny(rid, principal_of(request), "write")
    body = require_object(read_json(request), "the resource patch")
    current = backend.get_resource(rid)
    check_unlocked(backend.store, rid, "write")
    desired = {k: v for k, v in current.items() if k not in ("apiVersion",)}
    for key in PATCHABLE:
        if key not in body:
            continue
        if key == "properties" and isinstance(body[key], dict):
            desired[key] = _merge_patch(desired.get(key) or {}, body[key])
        elif body[key] is None:
            desired.pop(key, None)
        else:
            desired[key] = body[key]
    if "properties" in desired and isinstance(desired["properties"], dict):
        desired["properties"] = {
            k: v for k, v in desired["properties"].items() if k != "provisioningState"
        }
    version = request.args.get("api-version", "") or current.get("apiVersion", "")
    desired = _with_system_data(backend, rid, desired, current)
    stored, _ = backend.put_resource(rid, desired, version)
    return write_response(backend, request, stored, False)


def _merge_patch(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """RFC 7396: objects merge, ``null`` removes, anything else replaces."""
    merged = dict(target)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge_patch(merged[key], value)
        else:
            merged[key] = value
    return merged


def delete_by_id(backend: ArmBackend, request: Request, rid: str) -> Response:
    backend.stacks.check_deny(rid, principal_of(request), "delete")
    resource = backend.store.get_resource(rid)
    if resource is None:
        return empty_response(204)
    check_unlocked(backend.store, rid, "delete", below=True)
    backend.delete_resource(rid)
    pending(backend).forget(rid)
    style = delete_style(resource.get("type", ""))
    if style is None:
        return empty_response(200)
    operation = pending(backend).start(
        resource["id"], "Deleting", float(backend.config.resource_delay_s), "delete"
    )
    status_url, result_url = _operation_urls(
        backend, request, resource["id"], resource.get("location"), operation.id
    )
    headers = {"Location": result_url, **_retry(backend)}
    if style == "async":
        headers["Azure-AsyncOperation"] = status_url
    return empty_response(202, headers=headers)


def group_delete_response(
    backend: ArmBackend, request: Request, group_id: str, location: str
) -> Response:
    """``ResourceGroups_Delete``: 202 + ``Location``, which answers 202 while the group's
    resources are deleted (``resource_delay_s``) and then 200, as ARM documents it."""
    operation = pending(backend).start(
        group_id, "Deleting", float(backend.config.resource_delay_s), "delete"
    )
    query = f"?api-version={request.args.get('api-version')}"
    where = location.replace(" ", "").lower()
    url = (
        f"{_base(request)}{group_id.split('/resourceGroups/')[0]}/providers/Microsoft.Resources/"
        f"locations/{where}/operationResults/{operation.id}{query}"
    )
    return empty_response(202, headers={"Location": url, **_retry(backend)})


def post_action(backend: ArmBackend, request: Request, rid: str, action: str) -> Response:
    backend.stacks.check_deny(rid, principal_of(request), f"action/{action}")
    resource = backend.get_resource(rid)
    check_unlocked(backend.store, resource["id"], "write")
    body = read_json(request, required=False)
    return json_response(backend.invoke_action(rid, action, body))


def operation_status(
    backend: ArmBackend, request: Request, sub: str, ns: str, where: str, op: str
) -> Response:
    """A provider's ``Azure-AsyncOperation`` status: ``InProgress``, then ``Succeeded``."""
    operation = _pending_operation(backend, op)
    status = "Succeeded" if operation.done else "InProgress"
    body = {"id": request.path, "name": op, "status": status}
    return json_response(body, headers={} if operation.done else _retry(backend))


def operation_result(
    backend: ArmBackend, request: Request, sub: str, ns: str, where: str, op: str
) -> Response:
    """A provider's ``Location`` result: 202 while it runs; then the resource a PUT made
    (200), or 200 for a DELETE."""
    operation = _pending_operation(backend, op)
    if not operation.done:
        url = f"{_base(request)}{request.full_path.rstrip('?')}"
        return empty_response(202, headers={"Location": url, **_retry(backend)})
    if operation.kind == "put":
        resource = backend.store.get_resource(operation.resource_id)
        if resource is not None:
            return json_response(answered(backend, resource))
    return empty_response(200)


def _pending_operation(backend: ArmBackend, op: str) -> Any:
    operation = pending(backend).get(op)
    if operation is None:
        raise ArmHttpError(404, "OperationNotFound", f"The operation '{op}' was not found.")
    return operation


# -- management locks ------------------------------------------------------------------------
def _lock_scope(backend: ArmBackend, scope: str) -> str:
    """The scope of a lock request as ARM spells it (``resourceGroups``, the names as they
    were created), or 404 when the group or resource is not there."""
    parts = scope.strip("/").split("/")
    if len(parts) < 4:
        return scope
    group = backend.store.get_resource_group(parts[1], parts[3])
    if group is None:
        raise group_not_found(parts[3])
    if len(parts) == 4:
        return f"/subscriptions/{parts[1]}/resourceGroups/{group['name']}"
    resource = backend.store.get_resource(scope)
    if resource is None:
        raise resource_not_found(scope)
    return str(resource["id"])


def _lock_id(scope: str, name: str) -> str:
    return f"{scope}/providers/{LOCK_TYPE}/{name}"


def put_lock(backend: ArmBackend, request: Request, scope: str, name: str) -> Response:
    body = require_object(read_json(request), "the lock")
    properties = check_lock_body(name, body)
    lock_id = _lock_id(_lock_scope(backend, scope), name)
    existing = backend.store.get_resource(lock_id)
    stored = backend.store.put_resource(
        {"id": lock_id, "name": name, "type": LOCK_TYPE, "properties": properties}
    )
    return json_response(_lock(stored), 200 if existing else 201)


def get_lock(backend: ArmBackend, request: Request, scope: str, name: str) -> Response:
    stored = backend.store.get_resource(_lock_id(_lock_scope(backend, scope), name))
    if stored is None:
        raise ArmHttpError(
            404, "LockNotFound", f"The lock '{name}' could not be found at scope '{scope}'."
        )
    return json_response(_lock(stored))


def delete_lock(backend: ArmBackend, request: Request, scope: str, name: str) -> Response:
    lock_id = _lock_id(scope, name)
    return empty_response(200 if backend.store.delete_resource(lock_id) else 204)


def list_locks(backend: ArmBackend, request: Request, scope: str) -> Response:
    """The locks at ``scope`` and below it; with ``$filter=atScope()`` those that apply to
    it (at it and above)."""
    text = (request.args.get("$filter") or "").strip()
    if text and text.replace(" ", "").lower() != "atscope()":
        raise ArmHttpError(
            400,
            "InvalidFilterInQueryString",
            f"The $filter '{text}' is not supported; use atScope() or no filter.",
        )
    scope = _lock_scope(backend, scope)
    if text:
        found = locks_on(backend.store, scope)
    else:
        subscription = scope.strip("/").split("/")[1]
        prefix = scope.lower().rstrip("/")
        found = [
            lock
            for lock in all_locks(backend.store, subscription)
            if (s := lock_scope(lock["id"]).lower()) == prefix or s.startswith(prefix + "/")
        ]
    return json_response({"value": [_lock(lock) for lock in found]})


def _lock(stored: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": stored["id"],
        "name": stored["name"],
        "type": LOCK_TYPE,
        "properties": json.loads(json.dumps(stored.get("properties") or {})),
    }


def add_surface_routes(router: Router) -> None:
    """Locks and the providers' operation URLs; before every other route (the generic
    resource patterns would take them)."""
    add = router.add
    lock = rf"{LOCK_SCOPE}{LOCKS}/(?P<name>[^/]+)"
    add("PUT", lock, put_lock, "ManagementLocks_CreateOrUpdateByScope")
    add("GET", lock, get_lock, "ManagementLocks_GetByScope")
    add("DELETE", lock, delete_lock, "ManagementLocks_DeleteByScope")
    add("GET", rf"{LOCK_SCOPE}{LOCKS}", list_locks, "ManagementLocks_ListByScope")
    provider_op = (
        r"/subscriptions/(?P<sub>[^/]+)/providers/(?P<ns>[^/]+)/locations/(?P<where>[^/]+)"
    )
    add("GET", rf"{provider_op}/operationStatuses/(?P<op>[^/]+)", operation_status,
        "Provider_GetOperationStatus")  # fmt: skip
    add("GET", rf"{provider_op}/operationResults/(?P<op>[^/]+)", operation_result,
        "Provider_GetOperationResult")  # fmt: skip
