"""The routes above resource groups: the management group hierarchy
(``Microsoft.Management/managementGroups``) and resources at subscription, management group
and tenant scope. Deployments at every scope share ``routes.py``'s handlers (its ``SCOPE``
pattern takes the four levels).

Management groups answer as Microsoft's Management Groups REST API (2023-04-01) does: PUT
and DELETE are long-running (202, ``Azure-AsyncOperation`` and ``Location`` pointing at
``/providers/Microsoft.Management/operationResults/{create|delete}/managementGroups/{id}``,
then the SDK's final GET), GET takes ``$expand=children|path|ancestors`` and
``$recurse=true``, the list answers ``ManagementGroupInfo`` entries.
"""

from __future__ import annotations

import re
from typing import Any

from werkzeug.wrappers import Request, Response

from ..service.backend import ArmBackend
from ..service.errors import ArmHttpError
from ..service.management_groups import group_id, not_found
from .rest import (
    Router,
    empty_response,
    json_response,
    read_json,
    require_object,
)
from .routes_surface import answered, delete_by_id, patch_by_id, put_by_id

MG = r"/providers/Microsoft\.Management/managementGroups/(?P<mg>[^/]+)"
MG_TYPE = "Microsoft.Management/managementGroups"


def _base(request: Request) -> str:
    return request.host_url.rstrip("/")


def _async_headers(backend: ArmBackend, request: Request, kind: str, mg: str) -> dict[str, str]:
    url = (
        f"{_base(request)}/providers/Microsoft.Management/operationResults/{kind}/"
        f"managementGroups/{mg}?api-version={request.args.get('api-version')}"
    )
    return {
        "Azure-AsyncOperation": url,
        "Location": url,
        "Retry-After": str(int(backend.config.retry_after)),
    }


def put_management_group(backend: ArmBackend, request: Request, mg: str) -> Response:
    body = require_object(read_json(request), "the management group")
    backend.management_groups.create_or_update(mg, body)
    accepted = {"id": group_id(mg), "type": MG_TYPE, "name": mg, "status": "NotStarted"}
    return json_response(accepted, 202, headers=_async_headers(backend, request, "create", mg))


def patch_management_group(backend: ArmBackend, request: Request, mg: str) -> Response:
    groups = backend.management_groups
    body = require_object(read_json(request), "the management group patch")
    current = groups.require(mg)
    request_body: dict[str, Any] = {"properties": {}}
    if body.get("displayName") is not None:
        request_body["properties"]["displayName"] = body["displayName"]
    else:
        request_body["properties"]["displayName"] = current["properties"].get("displayName")
    if body.get("parentGroupId"):
        request_body["properties"]["details"] = {"parent": {"id": body["parentGroupId"]}}
    groups.create_or_update(mg, request_body)
    return json_response(groups.render(mg))


def get_management_group(backend: ArmBackend, request: Request, mg: str) -> Response:
    groups = backend.management_groups
    if groups.record(mg) is None:
        raise ArmHttpError(404, "NotFound", f"'{group_id(mg)}' not found")
    expand = request.args.get("$expand")
    recurse = request.args.get("$recurse", "false").lower() == "true"
    if expand is not None:
        wanted = {p.strip().lower() for p in expand.split(",")}
        if not wanted <= {"children", "path", "ancestors"}:
            raise ArmHttpError(
                400,
                "InvalidQueryParameterValue",
                f"The value '{expand}' of query parameter '$expand' is not valid; use "
                "'children', 'path' or 'ancestors'.",
            )
    if recurse and "children" not in (expand or "").lower():
        raise ArmHttpError(
            400,
            "InvalidQueryParameterValue",
            "The query parameter '$recurse' can only be used with '$expand=children'.",
        )
    text = request.args.get("$filter")
    subscriptions = True
    if text is not None:
        if re.fullmatch(r"\s*children\.childType\s+ne\s+'?Subscription'?\s*", text, re.I) is None:
            raise ArmHttpError(
                400,
                "InvalidFilterInQueryString",
                f"The $filter '{text}' is not supported; use children.childType ne Subscription.",
            )
        subscriptions = False
    return json_response(
        groups.render(mg, expand=expand, recurse=recurse, subscriptions=subscriptions)
    )


def delete_management_group(backend: ArmBackend, request: Request, mg: str) -> Response:
    if not backend.management_groups.delete(mg):
        return empty_response(204)
    accepted = {"id": group_id(mg), "type": MG_TYPE, "name": mg, "status": "NotStarted"}
    return json_response(accepted, 202, headers=_async_headers(backend, request, "delete", mg))


def list_management_groups(backend: ArmBackend, request: Request) -> Response:
    groups = backend.management_groups
    return json_response({"value": [groups.info(g) for g in groups.all_groups()]})


def management_group_operation(
    backend: ArmBackend, request: Request, kind: str, mg: str
) -> Response:
    """The status of a create or delete (``AzureAsyncOperationResults``: the group's id, type
    and name, the status, and after a create the group's properties — a client that takes
    the final result from this status, rather than a GET of the group, reads the group):
    done at once, so ``Succeeded``."""
    body: dict[str, Any] = {"id": group_id(mg), "type": MG_TYPE, "name": mg, "status": "Succeeded"}
    if kind.lower() == "create":
        record = backend.management_groups.record(mg)
        if record is None:
            raise not_found(mg)
        body["properties"] = backend.management_groups.render(mg)["properties"]
    return json_response(body)


def descendants(backend: ArmBackend, request: Request, mg: str) -> Response:
    groups = backend.management_groups
    groups.require(mg)
    found: list[dict[str, Any]] = []

    def walk(name: str) -> None:
        for child in groups.children(name, recurse=False):
            is_group = child["type"] == MG_TYPE
            found.append(
                {
                    "id": child["id"],
                    "type": MG_TYPE
                    if is_group
                    else "Microsoft.Management/managementGroups/subscriptions",
                    "name": child["name"],
                    "properties": {
                        "displayName": child["displayName"],
                        "parent": {"id": group_id(name)},
                    },
                }
            )
            if is_group:
                walk(child["name"])

    walk(groups.require(mg)["name"])
    return json_response({"value": found})


def put_mg_subscription(backend: ArmBackend, request: Request, mg: str, sub: str) -> Response:
    return json_response(backend.management_groups.place_subscription(mg, sub))


def _subscription_under(backend: ArmBackend, mg: str, sub: str) -> dict[str, Any]:
    """A ``SubscriptionUnderManagementGroup``: the same shape as the placement's answer."""
    return {
        "id": f"{group_id(mg)}/subscriptions/{sub}",
        "type": "Microsoft.Management/managementGroups/subscriptions",
        "name": sub,
        "properties": {
            "tenant": backend.config.tenant_id,
            "displayName": sub,
            "parent": {"id": group_id(mg)},
            "state": "Active",
        },
    }


def get_mg_subscription(backend: ArmBackend, request: Request, mg: str, sub: str) -> Response:
    groups = backend.management_groups
    groups.require(mg)
    if sub.lower() not in groups.subscriptions_of(groups.require(mg)["name"]):
        raise ArmHttpError(
            404,
            "NotFound",
            f"The subscription '{sub}' is not under the management group '{mg}'.",
        )
    return json_response(_subscription_under(backend, groups.require(mg)["name"], sub))


def list_mg_subscriptions(backend: ArmBackend, request: Request, mg: str) -> Response:
    """ManagementGroupSubscriptions_GetSubscriptionsUnderManagementGroup: the subscriptions
    placed directly under the group (``az account management-group subscription
    show-sub-under-mg``)."""
    groups = backend.management_groups
    name = groups.require(mg)["name"]
    subscriptions = [_subscription_under(backend, name, s) for s in groups.subscriptions_of(name)]
    return json_response({"value": subscriptions, "nextLink": None})


def delete_mg_subscription(backend: ArmBackend, request: Request, mg: str, sub: str) -> Response:
    backend.management_groups.remove_subscription(mg, sub)
    return empty_response(200)


def check_name_availability(backend: ArmBackend, request: Request) -> Response:
    body = require_object(read_json(request), "the name availability request")
    name = str(body.get("name") or "")
    taken = backend.management_groups.record(name) is not None
    answer: dict[str, Any] = {"nameAvailable": not taken}
    if taken:
        answer.update(reason="AlreadyExists", message=f"The group '{name}' already exists.")
    return json_response(answer)


# -- resources at subscription, management group and tenant scope --------------------------
def _require_scope(backend: ArmBackend, rid: str) -> None:
    parts = rid.split("/")
    if (
        len(parts) > 4
        and parts[2].lower() == "microsoft.management"
        and (parts[3].lower() == "managementgroups")
    ):
        backend.management_groups.require(parts[4])


def scoped_get(backend: ArmBackend, request: Request, rid: str) -> Response:
    return json_response(answered(backend, backend.get_resource(rid)))


def scoped_head(backend: ArmBackend, request: Request, rid: str) -> Response:
    return empty_response(204 if backend.store.get_resource(rid) is not None else 404)


def scoped_put(backend: ArmBackend, request: Request, rid: str) -> Response:
    _require_scope(backend, rid)
    return put_by_id(backend, request, rid)


def scoped_patch(backend: ArmBackend, request: Request, rid: str) -> Response:
    _require_scope(backend, rid)
    return patch_by_id(backend, request, rid)


def add_scope_routes(router: Router) -> None:
    """Management group routes; before ``routes.py``'s deployment routes, which they do not
    overlap."""
    add = router.add
    add("GET", r"/providers/Microsoft\.Management/managementGroups", list_management_groups,
        "ManagementGroups_List")  # fmt: skip
    add("PUT", MG, put_management_group, "ManagementGroups_CreateOrUpdate")
    add("GET", MG, get_management_group, "ManagementGroups_Get")
    add("PATCH", MG, patch_management_group, "ManagementGroups_Update")
    add("DELETE", MG, delete_management_group, "ManagementGroups_Delete")
    add("GET", rf"{MG}/descendants", descendants, "ManagementGroups_GetDescendants")
    mg_sub = rf"{MG}/subscriptions/(?P<sub>[^/]+)"
    add("GET", rf"{MG}/subscriptions", list_mg_subscriptions,
        "ManagementGroupSubscriptions_GetSubscriptionsUnderManagementGroup")  # fmt: skip
    add("PUT", mg_sub, put_mg_subscription, "ManagementGroupSubscriptions_Create")
    add("GET", mg_sub, get_mg_subscription, "ManagementGroupSubscriptions_GetSubscription")
    add("DELETE", mg_sub, delete_mg_subscription, "ManagementGroupSubscriptions_Delete")
    add(
        "GET",
        r"/providers/Microsoft\.Management/operationResults/(?P<kind>create|delete)/"
        r"managementGroups/(?P<mg>[^/]+)",
        management_group_operation,
        "ManagementGroups_GetOperationResult",
    )
    add(
        "POST",
        r"/providers/Microsoft\.Management/checkNameAvailability",
        check_name_availability,
        "CheckNameAvailability",
    )


def unknown_deployment_scope(backend: ArmBackend, request: Request, scope: str) -> Response:
    raise ArmHttpError(
        400,
        "InvalidDeploymentScope",
        f"The scope '{scope}' is not a deployment scope: deployments are made at a resource "
        "group, a subscription, a management group "
        "(/providers/Microsoft.Management/managementGroups/{name}) or the tenant (/).",
    )


def add_scope_resource_routes(router: Router) -> None:
    """Resources by id at subscription, management group and tenant scope (after every
    specific route: these patterns are the widest). A deployment under any other scope (a
    resource, an unknown provider path) is refused first."""
    add = router.add
    deployments = r"/providers/Microsoft\.Resources/deployments"
    four_scopes = (
        r"(?:/subscriptions/[^/]+(?:/resourcegroups/[^/]+)?"
        r"|/providers/Microsoft\.Management/managementGroups/[^/]+)?"
    )
    # any other scope; one of the four with an unsupported method stays a 405
    elsewhere = rf"(?!{four_scopes}{deployments})(?P<scope>/.+?){deployments}(?:/.*)?"
    for method in ("GET", "HEAD", "PUT", "DELETE", "POST", "PATCH"):
        add(method, elsewhere, unknown_deployment_scope, "Deployments_UnknownScope")
    for pattern in (
        r"(?P<rid>/subscriptions/[^/]+/providers/[^/]+/[^/]+/[^/]+(?:/[^/]+/[^/]+)*)",
        r"(?P<rid>/providers/Microsoft\.Management/managementGroups/[^/]+/providers/[^/]+/[^/]+"
        r"/[^/]+(?:/[^/]+/[^/]+)*)",
        r"(?P<rid>/providers/[^/]+/[^/]+/[^/]+(?:/[^/]+/[^/]+)*)",
    ):
        add("GET", pattern, scoped_get, "Resources_GetById")
        add("HEAD", pattern, scoped_head, "Resources_CheckExistenceById")
        add("PUT", pattern, scoped_put, "Resources_CreateOrUpdateById")
        add("PATCH", pattern, scoped_patch, "Resources_UpdateById")
        add("DELETE", pattern, delete_by_id, "Resources_DeleteById")
