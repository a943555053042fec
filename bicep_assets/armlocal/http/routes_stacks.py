"""The deployment stacks API (``Microsoft.Resources/deploymentStacks``) at resource group,
subscription and management group scope, as its REST specification describes it: create or
update (long-running, final state through ``Azure-AsyncOperation``), get, list, delete
(long-running through ``Location``, with ``unmanageAction.*`` and
``bypassStackOutOfSyncError`` in the query), validate (POST, long-running; answered at once
with the result, as validate of deployments is) and exportTemplate (POST).
"""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from ..service.backend import ArmBackend
from ..service.errors import ArmHttpError
from ..service.records import DeploymentScope
from ..service.stacks import UNMANAGE_MODES, WITHOUT_DELETE_SUPPORT, StackDeleteFailed, stack_id
from .rest import Router, empty_response, json_response, principal_of, read_json, require_object

STACK_SCOPE = (
    r"(?P<scope>/subscriptions/[^/]+(?:/resourcegroups/[^/]+)?"
    r"|/providers/Microsoft\.Management/managementGroups/[^/]+)"
)
STACKS = rf"{STACK_SCOPE}/providers/Microsoft\.Resources/deploymentStacks"
STACK = rf"{STACKS}/(?P<name>[^/]+)"
UNMANAGE_QUERY = {
    "unmanageAction.Resources": "resources",
    "unmanageAction.ResourceGroups": "resourceGroups",
    "unmanageAction.ManagementGroups": "managementGroups",
    "unmanageAction.ResourcesWithoutDeleteSupport": "resourcesWithoutDeleteSupport",
}


def _base(request: Request) -> str:
    return request.host_url.rstrip("/")


def _retry(backend: ArmBackend) -> dict[str, str]:
    return {"Retry-After": str(int(backend.config.retry_after))}


def _status_url(request: Request, sid: str, correlation_id: str) -> str:
    return (
        f"{_base(request)}{sid}/operationStatuses/{correlation_id}"
        f"?api-version={request.args.get('api-version')}"
    )


def put_stack(backend: ArmBackend, request: Request, scope: str, name: str) -> Response:
    body = require_object(read_json(request), "the deployment stack")
    target = DeploymentScope.of(scope)
    stack, created = backend.stacks.create_or_update(target, name, body, principal_of(request))
    sid = stack["id"]
    hold = min(float(backend.config.retry_after), 1.0)
    if hold > 0 and backend.stacks.wait_for(sid, hold):
        stack = backend.stacks.get(target, name)
        if stack["properties"]["provisioningState"] == "succeeded":
            # done within a moment: answered with the terminal state and no polling URL, as
            # a deployment's PUT is (a failure keeps its polling URL, so that clients raise)
            return json_response(stack, 201 if created else 200)
    headers = {
        "Azure-AsyncOperation": _status_url(request, sid, stack["properties"]["correlationId"]),
        **_retry(backend),
    }
    return json_response(stack, 201 if created else 200, headers=headers)


def stack_status(
    backend: ArmBackend, request: Request, scope: str, name: str, operation: str
) -> Response:
    target = DeploymentScope.of(scope)
    stack = backend.stacks.get(target, name)
    state = stack["properties"]["provisioningState"]
    if state not in ("succeeded", "failed", "canceled"):
        hold = min(float(backend.config.retry_after), 1.0)
        if hold > 0 and backend.stacks.wait_for(stack["id"], hold):
            stack = backend.stacks.get(target, name)
            state = stack["properties"]["provisioningState"]
    status = {"succeeded": "Succeeded", "failed": "Failed", "canceled": "Canceled"}.get(
        state, "Running"
    )
    body: dict[str, Any] = {"id": request.path, "name": operation, "status": status}
    if status == "Failed" and stack["properties"].get("error"):
        body["error"] = stack["properties"]["error"]
    return json_response(body, headers=_retry(backend) if status == "Running" else {})


def get_stack(backend: ArmBackend, request: Request, scope: str, name: str) -> Response:
    return json_response(backend.stacks.get(DeploymentScope.of(scope), name))


def list_stacks(backend: ArmBackend, request: Request, scope: str) -> Response:
    return json_response({"value": backend.stacks.list(DeploymentScope.of(scope))})


def _unmanage_actions(request: Request) -> dict[str, str]:
    actions: dict[str, str] = {}
    lowered = {k.lower(): v for k, v in request.args.items()}
    for parameter, key in UNMANAGE_QUERY.items():
        value = lowered.get(parameter.lower())
        if value is None:
            continue
        allowed = (
            WITHOUT_DELETE_SUPPORT if key == "resourcesWithoutDeleteSupport" else (UNMANAGE_MODES)
        )
        match = next((a for a in allowed if a.lower() == value.lower()), None)
        if match is None:
            raise ArmHttpError(
                400,
                "InvalidQueryParameterValue",
                f"The value '{value}' of query parameter '{parameter}' is not valid; use "
                + " or ".join(f"'{a}'" for a in allowed)
                + ".",
            )
        actions[key] = match
    bypass = lowered.get("bypassstackoutofsyncerror")
    if bypass is not None and bypass.lower() not in ("true", "false"):
        raise ArmHttpError(
            400,
            "InvalidQueryParameterValue",
            f"The value '{bypass}' of query parameter 'bypassStackOutOfSyncError' is not a "
            "boolean.",
        )
    return actions


def delete_stack(backend: ArmBackend, request: Request, scope: str, name: str) -> Response:
    target = DeploymentScope.of(scope)
    actions = _unmanage_actions(request)
    failure: StackDeleteFailed | None = None
    try:
        if not backend.stacks.delete(target, name, actions):
            return empty_response(204)
    except StackDeleteFailed as error:
        # accepted, and failed: the operation's first poll answers the error (the stack
        # stays, failed, with failedResources), as Azure's long-running delete does
        failure = error
    operation = backend.start_operation()
    operation.status = "Succeeded" if failure is None else "Failed"
    operation.error = failure
    prefix = f"/subscriptions/{target.subscription_id}" if target.subscription_id else ""
    url = (
        f"{_base(request)}{prefix}/providers/Microsoft.Resources/operationResults/"
        f"{operation.id}?api-version={request.args.get('api-version')}"
    )
    return empty_response(202, headers={"Location": url, **_retry(backend)})


def validate_stack(backend: ArmBackend, request: Request, scope: str, name: str) -> Response:
    body = require_object(read_json(request), "the deployment stack")
    result = backend.stacks.validate(DeploymentScope.of(scope), name, body)
    # computed while the request was read: the result at once (200, which the
    # specification allows beside 202)
    return json_response(result)


def export_stack_template(backend: ArmBackend, request: Request, scope: str, name: str) -> Response:
    return json_response(backend.stacks.export_template(DeploymentScope.of(scope), name))


def add_stack_routes(router: Router) -> None:
    add = router.add
    add("GET", STACKS, list_stacks, "DeploymentStacks_List")
    add("PUT", STACK, put_stack, "DeploymentStacks_CreateOrUpdate")
    add("GET", STACK, get_stack, "DeploymentStacks_Get")
    add("DELETE", STACK, delete_stack, "DeploymentStacks_Delete")
    add("POST", rf"{STACK}/validate", validate_stack, "DeploymentStacks_ValidateStack")
    add(
        "POST", rf"{STACK}/exportTemplate", export_stack_template, "DeploymentStacks_ExportTemplate"
    )
    add(
        "GET",
        rf"{STACK}/operationStatuses/(?P<operation>[^/]+)",
        stack_status,
        "DeploymentStacks_GetStatus",
    )


__all__ = ["add_stack_routes", "stack_id"]
