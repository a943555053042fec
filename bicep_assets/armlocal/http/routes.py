"""The ARM REST operations the local ARM serves: path → handler → backend call.

Every handler takes ``(backend, request, **path_groups)`` and returns a werkzeug Response;
long-running operations answer as ARM does (deployment PUT: 201 + ``Azure-AsyncOperation``;
what-if, validate and deletes: 202 + ``Location``), with absolute polling URLs and an
integer ``Retry-After``. The operation names are ARM's (used by fault rules and logs).
"""

from __future__ import annotations

import re
from typing import Any

from werkzeug.wrappers import Request, Response

from ..service import behaviors
from ..service.backend import ArmBackend
from ..service.deployments import check_location_unchanged
from ..service.errors import ArmHttpError, TemplateRejected, group_not_found
from ..service.locks import check_unlocked
from ..service.records import (
    DeploymentScope,
    check_deployment_name,
    dependencies_of,
    deployment_not_found,
    providers_of,
    redacted_parameters,
)
from ..service.secure_answers import exported_template, secure_what_if
from ..service.tags import current_resource
from ..service.whatif import what_if
from .listing import filter_resources, list_collection, resource_types, tracked_resources
from .rest import (
    RG,
    SUB,
    Router,
    empty_response,
    json_response,
    principal_of,
    read_json,
    require_object,
)
from .routes_scopes import add_scope_resource_routes, add_scope_routes
from .routes_stacks import add_stack_routes
from .routes_surface import (
    add_surface_routes,
    answered,
    correlation_id,
    delete_by_id,
    group_delete_response,
    patch_by_id,
    post_action,
    put_by_id,
)
from .routes_tags import add_tag_routes

RESOURCES_API = "2025-04-01"
# a deployment's scope: a resource group, a subscription, a management group or (empty) the
# tenant — ARM's four deployment levels
SCOPE = (
    r"(?P<scope>/subscriptions/[^/]+(?:/resourcegroups/[^/]+)?"
    r"|/providers/Microsoft\.Management/managementGroups/[^/]+|)"
)
DEPLOYMENT = rf"{SCOPE}/providers/Microsoft\.Resources/deployments/(?P<name>[^/]+)"
PAGE_SIZE = 100


def _scope(scope: str) -> DeploymentScope:
    return DeploymentScope.of(scope)


def _base(request: Request) -> str:
    return request.host_url.rstrip("/")


def _retry_headers(backend: ArmBackend) -> dict[str, str]:
    return {"Retry-After": str(int(backend.config.retry_after))}


def _location_response(
    backend: ArmBackend, request: Request, subscription: str | None, operation_id: str
) -> Response:
    """202 + ``Location`` of the operation's result (under the subscription, or the
    tenant's ``/providers/Microsoft.Resources/operationResults`` above subscriptions)."""
    prefix = f"/subscriptions/{subscription}" if subscription else ""
    url = (
        f"{_base(request)}{prefix}/providers/Microsoft.Resources/"
        f"operationResults/{operation_id}?api-version={request.args.get('api-version')}"
    )
    return empty_response(202, headers={"Location": url, **_retry_headers(backend)})


def _page(request: Request, items: list[Any]) -> dict[str, Any]:
    """ARM paging: ``$top`` caps the total, ``nextLink`` carries a skip token."""
    top = request.args.get("$top")
    if top is not None:
        if not top.isdigit():
            raise ArmHttpError(
                400,
                "InvalidQueryParameterValue",
                f"The value '{top}' of query parameter '$top' is not an integer.",
            )
        items = items[: int(top)]
    skip_text = request.args.get("$skiptoken", "0")
    skip = int(skip_text) if skip_text.isdigit() else 0
    page = items[skip : skip + PAGE_SIZE]
    body: dict[str, Any] = {"value": page}
    if skip + PAGE_SIZE < len(items):
        args = request.args.copy()
        args["$skiptoken"] = str(skip + PAGE_SIZE)
        query = "&".join(f"{k}={v}" for k, v in args.items(multi=True))
        body["nextLink"] = f"{_base(request)}{request.path}?{query}"
    return body


# -- resource groups ---------------------------------------------------------------------
def put_group(backend: ArmBackend, request: Request, sub: str, rg: str) -> Response:
    backend.stacks.check_deny(DeploymentScope(sub, rg).id, principal_of(request), "write")
    body = require_object(read_json(request), "the resource group")
    check_unlocked(backend.store, DeploymentScope(sub, rg).id, "write")
    group, created = backend.create_or_update_resource_group(sub, rg, body)
    return json_response(group, 201 if created else 200)


def get_group(backend: ArmBackend, request: Request, sub: str, rg: str) -> Response:
    return json_response(backend.get_resource_group(sub, rg))


def head_group(backend: ArmBackend, request: Request, sub: str, rg: str) -> Response:
    exists = backend.store.get_resource_group(sub, rg) is not None
    return empty_response(204 if exists else 404)


def patch_group(backend: ArmBackend, request: Request, sub: str, rg: str) -> Response:
    group = backend.get_resource_group(sub, rg)
    backend.stacks.check_deny(group["id"], principal_of(request), "write")
    body = require_object(read_json(request), "the resource group patch")
    check_unlocked(backend.store, DeploymentScope(sub, group["name"]).id, "write")
    merged = {
        "location": group["location"],
        "tags": body.get("tags", group.get("tags")),
        "managedBy": body.get("managedBy", group.get("managedBy")),
    }
    updated, _ = backend.create_or_update_resource_group(sub, group["name"], merged)
    return json_response(updated)


def delete_group(backend: ArmBackend, request: Request, sub: str, rg: str) -> Response:
    if backend.store.get_resource_group(sub, rg) is None:
        raise group_not_found(rg)  # ARM: 404, where a missing resource's DELETE is a 204
    # deleting a group deletes what is in it: a deny assignment on any of it refuses it
    principal = principal_of(request)
    backend.stacks.check_deny(DeploymentScope(sub, rg).id, principal, "delete")
    for resource in backend.store.list_resources(sub, rg):
        backend.stacks.check_deny(resource["id"], principal, "delete")
    running = [
        d
        for d in backend.store.list_deployments(DeploymentScope(sub, rg).id)
        if d["properties"]["provisioningState"] in ("Accepted", "Running")
    ]
    if running:
        raise ArmHttpError(
            409,
            "ResourceGroupBeingDeployed",
            f"The resource group '{rg}' cannot be deleted while deployment "
            f"'{running[0]['name']}' is running.",
        )
    group = backend.get_resource_group(sub, rg)
    check_unlocked(backend.store, group["id"], "delete", below=True)
    backend.delete_resource_group(sub, rg)
    return group_delete_response(backend, request, group["id"], group["location"])


def list_groups(backend: ArmBackend, request: Request, sub: str) -> Response:
    """Resource Groups - List: ``$filter`` by ``tagName``/``tagValue`` (az group list --tag)."""
    groups = filter_resources(
        request.args.get("$filter"), backend.store.list_resource_groups(sub), keep_tags=True
    )
    return json_response(_page(request, groups))


# -- generic resources -------------------------------------------------------------------
def _filtered(
    backend: ArmBackend, request: Request, resources: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    shown = [answered(backend, r) for r in resources]
    return filter_resources(request.args.get("$filter"), shown)


def list_group_resources(backend: ArmBackend, request: Request, sub: str, rg: str) -> Response:
    backend.get_resource_group(sub, rg)
    listed = tracked_resources(backend.store.list_resources(sub, rg))
    return json_response(_page(request, _filtered(backend, request, listed)))


def list_subscription_resources(backend: ArmBackend, request: Request, sub: str) -> Response:
    listed = tracked_resources(backend.store.list_resources(sub))
    return json_response(_page(request, _filtered(backend, request, listed)))


def _split_action(path: str) -> tuple[str, str | None]:
    """A generic path is a resource id, or a resource id plus one action segment."""
    _, _, tail = path.rpartition("/providers/")
    segments = tail.split("/")
    if len(segments) >= 3 and len(segments) % 2 == 0:
        return path.rsplit("/", 1)[0], segments[-1]
    return path, None


def generic_get(backend: ArmBackend, request: Request, rid: str) -> Response:
    parts = rid.split("/")
    collection = list_collection(backend, request, parts[2], parts[4], rid)
    if collection is not None:  # …/providers/ns/type: the provider lists that collection
        return json_response(_page(request, _filtered(backend, request, collection["value"])))
    return json_response(answered(backend, backend.get_resource(rid)))


def list_subscription_collection(
    backend: ArmBackend, request: Request, sub: str, path: str
) -> Response:
    collection = list_collection(backend, request, sub, None, path)
    if collection is None:
        raise ArmHttpError(404, "InvalidResourceType", f"No route for 'GET {path}'.")
    return json_response(_page(request, _filtered(backend, request, collection["value"])))


def generic_head(backend: ArmBackend, request: Request, rid: str) -> Response:
    return empty_response(204 if backend.store.get_resource(rid) is not None else 404)


def generic_post(backend: ArmBackend, request: Request, rid: str) -> Response:
    resource_id, action = _split_action(rid)
    if action is None:
        raise ArmHttpError(405, "MethodNotAllowed", "POST needs an action such as listKeys.")
    return post_action(backend, request, resource_id, action)


# -- providers ---------------------------------------------------------------------------
def _provider(backend: ArmBackend, ns: str, *, register: bool = False) -> dict[str, Any]:
    body = backend.provider(ns, register=register)
    body["resourceTypes"] = resource_types(backend, ns)
    return body


def get_provider(backend: ArmBackend, request: Request, sub: str, ns: str) -> Response:
    return json_response(_provider(backend, ns))


def register_provider(backend: ArmBackend, request: Request, sub: str, ns: str) -> Response:
    return json_response(_provider(backend, ns, register=True))


def list_providers(backend: ArmBackend, request: Request, sub: str) -> Response:
    known = {"microsoft.resources": "Microsoft.Resources", **backend.registered_providers}
    for resource in backend.store.list_resources(sub):
        namespace = resource["type"].split("/")[0]
        known.setdefault(namespace.lower(), namespace)
    namespaces = sorted(known.values(), key=str.lower)
    return json_response({"value": [_provider(backend, ns) for ns in namespaces]})


# -- deployments -------------------------------------------------------------------------
def put_deployment(backend: ArmBackend, request: Request, scope: str, name: str) -> Response:
    body = require_object(read_json(request), "the deployment")
    target = _scope(scope)
    principal = principal_of(request)
    record, created = backend.runner.create_or_update(
        target,
        name,
        body,
        authorize=lambda expansion, mode: backend.stacks.check_deployment(
            target, expansion, mode, principal
        ),
    )
    hold = min(float(backend.config.retry_after), 1.0)
    if hold > 0 and backend.runner.wait_for(record["id"], hold):
        record = _deployment(backend, scope, name)
        if record["properties"]["provisioningState"] == "Succeeded":
            # succeeded within a moment: answered synchronously, as ARM's asynchronous-
            # operation contract allows a PUT (200/201 with a terminal provisioningState, no
            # polling URL), so no client sleeps Retry-After seconds for finished work
            return json_response(record, 201 if created else 200)
        # Failed or Canceled keeps its polling URL, whose first poll answers the status with
        # the error: azure-core takes a terminal state in the PUT's own answer for the
        # result and raises nothing, so az would print a failed deployment and exit 0
    status_url = (
        f"{_base(request)}{target.deployment_id(name)}/operationStatuses/"
        f"{record['properties']['correlationId']}?api-version={request.args.get('api-version')}"
    )
    headers = {"Azure-AsyncOperation": status_url, **_retry_headers(backend)}
    return json_response(record, 201 if created else 200, headers=headers)


def _deployment(backend: ArmBackend, scope: str, name: str) -> dict[str, Any]:
    record = backend.store.get_deployment(_scope(scope).id, name)
    if record is None:
        raise deployment_not_found(name)
    return record


def get_deployment(backend: ArmBackend, request: Request, scope: str, name: str) -> Response:
    return json_response(_deployment(backend, scope, name))


def head_deployment(backend: ArmBackend, request: Request, scope: str, name: str) -> Response:
    found = backend.store.get_deployment(_scope(scope).id, name) is not None
    return empty_response(204 if found else 404)


def deployment_status(
    backend: ArmBackend, request: Request, scope: str, name: str, operation: str
) -> Response:
    record = _deployment(backend, scope, name)
    state = record["properties"]["provisioningState"]
    if state in ("Accepted", "Running"):
        # hold the poll briefly (at most Retry-After, at most 1 s) for a deployment about to
        # finish, so that a client does not sleep Retry-After seconds for finished work
        hold = min(float(backend.config.retry_after), 1.0)
        if hold > 0 and backend.runner.wait_for(record["id"], hold):
            record = _deployment(backend, scope, name)
            state = record["properties"]["provisioningState"]
    status = "Running" if state == "Accepted" else state
    body: dict[str, Any] = {"status": status}
    if state == "Failed" and record["properties"].get("error"):
        body["error"] = record["properties"]["error"]
    headers = _retry_headers(backend) if status == "Running" else {}
    return json_response(body, headers=headers)


def delete_deployment(backend: ArmBackend, request: Request, scope: str, name: str) -> Response:
    target = _scope(scope)
    record = backend.store.get_deployment(target.id, name)
    if record is None:
        return empty_response(204)
    if record["properties"]["provisioningState"] in ("Accepted", "Running"):
        raise ArmHttpError(
            409,
            "DeploymentActive",
            f"The deployment '{name}' is still running; cancel it before deleting it.",
        )
    backend.store.delete_deployment(target.id, name)
    operation = backend.start_operation()
    operation.status = "Succeeded"
    return _location_response(backend, request, target.subscription_id, operation.id)


def list_deployments(backend: ArmBackend, request: Request, scope: str) -> Response:
    records = backend.store.list_deployments(_scope(scope).id)
    text = request.args.get("$filter")
    if text:
        match = re.fullmatch(r"\s*provisioningState\s+eq\s+'(\w+)'\s*", text, re.IGNORECASE)
        if match is None:
            raise ArmHttpError(
                400,
                "InvalidFilterInQueryString",
                f"The $filter '{text}' is not supported; use provisioningState eq 'State'.",
            )
        wanted = match.group(1).lower()
        records = [r for r in records if r["properties"]["provisioningState"].lower() == wanted]
    return json_response(_page(request, records))


def cancel_deployment(backend: ArmBackend, request: Request, scope: str, name: str) -> Response:
    backend.runner.cancel(_scope(scope), name)
    return empty_response(204)


def validate_deployment(backend: ArmBackend, request: Request, scope: str, name: str) -> Response:
    check_deployment_name(name)
    target = _scope(scope)
    body = require_object(read_json(request), "the deployment")
    # validate answers what the PUT would: a name that exists in another location is refused
    # here too (az validates before it deploys, and prints validate's error cleanly)
    check_location_unchanged(backend.store.get_deployment(target.id, name), name, body)
    expansion, properties = backend.runner.expand(target, name, body)
    # validate answers what the PUT would: a deny assignment refuses it here too
    backend.stacks.check_deployment(
        target, expansion, properties.get("mode", "Incremental"), principal_of(request)
    )
    result = {
        "id": target.deployment_id(name),
        "name": name,
        "type": "Microsoft.Resources/deployments",
        "properties": {
            "provisioningState": "Succeeded",
            # as the deployment's record: the request's correlation id (Microsoft's
            # PostDeploymentValidateOn*.json examples show it in every validate result)
            "correlationId": correlation_id(request),
            "templateHash": expansion.template_hash,
            "parameters": redacted_parameters(expansion, None, properties.get("parameters")),
            "mode": properties.get("mode", "Incremental"),
            "providers": providers_of(expansion),
            "dependencies": dependencies_of(expansion),
            "validatedResources": [{"id": r.id} for r in expansion.all_resources()],
        },
    }
    # the preflight ran while the request was read: the work is done, so the answer is the
    # result (200, which the REST specification allows beside 202) rather than a 202 that
    # makes the client wait Retry-After seconds to fetch what already exists
    return json_response(result)


def what_if_deployment(backend: ArmBackend, request: Request, scope: str, name: str) -> Response:

    check_deployment_name(name)
    target = _scope(scope)
    body = require_object(read_json(request), "the what-if request")
    try:
        expansion, properties = backend.runner.expand(target, name, body)
    except TemplateRejected as exc:
        # ARM's what-if reports a template it refuses in its result, not as an HTTP error:
        # the operation itself succeeded (WhatIfOperationResult's ``error``: "Error when
        # What-If operation fails"; az prints it as "CODE - message" and exits 1)
        return json_response({"status": "Failed", "error": exc.body()["error"]})
    settings = properties.get("whatIfSettings") or {}
    existing = (
        backend.store.list_resources(target.subscription_id, target.resource_group)
        if target.resource_group
        else []
    )
    # a write-only path (a secret's value) is compared as Azure compares it: against a GET
    # that never returns it, so the template's value is a Create there and the resource a
    # Modify; secure_what_if masks the value (as Azure does for these paths) and, stricter
    # than ARM, whose what-if shows the other values it was sent, every secure one
    result = what_if(
        expansion,
        lambda rid: current_resource(backend.store, rid),
        mode=properties.get("mode", "Incremental"),
        existing_in_scope=existing,
        read_only_paths=behaviors.read_only_paths,
        defaulted_paths=behaviors.defaulted_paths,
        result_format=settings.get("resultFormat", "FullResourcePayloads"),
    )
    answer = secure_what_if(expansion, result)
    answer.setdefault("properties", {})["correlationId"] = correlation_id(request)
    # computed while the request was read: answered at once (200, as validate)
    return json_response(answer)


def export_template(backend: ArmBackend, request: Request, scope: str, name: str) -> Response:
    _deployment(backend, scope, name)
    template = backend.store.get_deployment_template(_scope(scope).id, name)
    return json_response({"template": exported_template(template)})


def list_operations(
    backend: ArmBackend, request: Request, scope: str, name: str, op: str | None = None
) -> Response:
    record = _deployment(backend, scope, name)
    operations = backend.store.list_operations(record["id"])
    if op is None:
        return json_response(_page(request, operations))
    for operation in operations:
        if operation["operationId"].lower() == op.lower():
            return json_response(operation)
    raise ArmHttpError(
        404,
        "DeploymentOperationNotFound",
        f"The deployment operation '{op}' of deployment '{name}' was not found.",
    )


def operation_result(
    backend: ArmBackend, request: Request, op: str, sub: str | None = None
) -> Response:
    operation = backend.get_operation(op)
    # an operation that is done answers its result on the first poll: no extra 202
    if operation.error is not None:
        raise operation.error
    if operation.result is None:
        return empty_response(204)
    return json_response(operation.result)


# -- resource health ---------------------------------------------------------------------
def availability_status(backend: ArmBackend, request: Request, rid: str) -> Response:
    return json_response(backend.availability_status(rid))


def build_router() -> Router:
    """The route table, most specific first (generic resources last)."""
    router = Router()
    add = router.add
    add_stack_routes(router)
    add_tag_routes(router)
    add_surface_routes(router)
    add_scope_routes(router)
    add("PUT", DEPLOYMENT, put_deployment, "Deployments_CreateOrUpdate")
    add("GET", DEPLOYMENT, get_deployment, "Deployments_Get")
    add("HEAD", DEPLOYMENT, head_deployment, "Deployments_CheckExistence")
    add("DELETE", DEPLOYMENT, delete_deployment, "Deployments_Delete")
    add(
        "GET",
        rf"{SCOPE}/providers/Microsoft\.Resources/deployments",
        list_deployments,
        "Deployments_List",
    )
    add("POST", rf"{DEPLOYMENT}/cancel", cancel_deployment, "Deployments_Cancel")
    add("POST", rf"{DEPLOYMENT}/validate", validate_deployment, "Deployments_Validate")
    add("POST", rf"{DEPLOYMENT}/whatIf", what_if_deployment, "Deployments_WhatIf")
    add("POST", rf"{DEPLOYMENT}/exportTemplate", export_template, "Deployments_ExportTemplate")
    add(
        "GET",
        rf"{DEPLOYMENT}/operationStatuses/(?P<operation>[^/]+)",
        deployment_status,
        "Deployments_GetStatus",
    )
    add(
        "GET",
        rf"{SCOPE}(?:/providers/Microsoft\.Resources)?/deployments/(?P<name>[^/]+)/operations"
        r"(?:/(?P<op>[^/]+))?",
        list_operations,
        "DeploymentOperations_List",
    )
    add(
        "GET",
        rf"(?:{SUB})?/providers/Microsoft\.Resources/operationResults/(?P<op>[^/]+)",
        operation_result,
        "Operations_GetResult",
    )
    add(
        "GET",
        r"(?P<rid>/subscriptions/.+?)/providers/Microsoft\.ResourceHealth/"
        r"availabilityStatuses/current",
        availability_status,
        "AvailabilityStatuses_GetByResource",
    )
    add("PUT", RG, put_group, "ResourceGroups_CreateOrUpdate")
    add("GET", RG, get_group, "ResourceGroups_Get")
    add("HEAD", RG, head_group, "ResourceGroups_CheckExistence")
    add("PATCH", RG, patch_group, "ResourceGroups_Update")
    add("DELETE", RG, delete_group, "ResourceGroups_Delete")
    add("GET", rf"{SUB}/resourcegroups", list_groups, "ResourceGroups_List")
    add("GET", rf"{RG}/resources", list_group_resources, "Resources_ListByResourceGroup")
    add("GET", rf"{SUB}/resources", list_subscription_resources, "Resources_List")
    add("GET", rf"{SUB}/providers", list_providers, "Providers_List")
    add("GET", rf"{SUB}/providers/(?P<ns>[^/]+)", get_provider, "Providers_Get")
    add("POST", rf"{SUB}/providers/(?P<ns>[^/]+)/register", register_provider, "Providers_Register")
    add(
        "GET",
        r"(?P<path>/subscriptions/(?P<sub>[^/]+)/providers/[^/]+/[^/]+(?:/[^/]+/[^/]+)*)",
        list_subscription_collection,
        "Resources_ListByProviderCollection",
    )
    add_scope_resource_routes(router)
    generic = r"(?P<rid>/subscriptions/[^/]+/resourcegroups/[^/]+/providers/.+)"
    add("GET", generic, generic_get, "Resources_GetById")
    add("HEAD", generic, generic_head, "Resources_CheckExistenceById")
    add("PUT", generic, put_by_id, "Resources_CreateOrUpdateById")
    add("PATCH", generic, patch_by_id, "Resources_UpdateById")
    add("DELETE", generic, delete_by_id, "Resources_DeleteById")
    add("POST", generic, generic_post, "Resources_InvokeAction")
    return router
