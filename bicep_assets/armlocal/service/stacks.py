"""Deployment stacks (``Microsoft.Resources/deploymentStacks``) at resource group,
subscription and management group scope, as the REST specification
(``deploymentStacks/stable/2025-07-01``) and Microsoft's "Deployment stacks" pages describe.

A stack's create or update deploys its template as a deployment of its own
(``{stack}-{yyyymmdd}-{5 hex}``, at the stack's scope or its ``deploymentScope``) on the
deployment runner; when that deployment ends, the resources it deployed become the stack's
managed resources, and those the stack managed before and the template no longer declares
are detached or deleted per ``actionOnUnmanage`` (resources, resource groups, management
groups). Deleting a stack applies the request's ``unmanageAction.*`` to every managed
resource. Management locks bind those deletes as they bind anyone's (``service/locks.py``): a
resource a lock covers is not deleted, it stays in the stack as ``deleteFailed`` with its
``ScopeLocked`` error in ``failedResources``, and the stack's operation fails with
``DeploymentStackDeleteResourcesFailed`` — what Azure answers (Azure/deployment-stacks#26,
#188, #194; the specification's ``ResourceStatusMode``). The stack itself is a resource of
its scope: a lock on its resource group or subscription refuses its DELETE (any lock, whatever
the unmanage action) and a ReadOnly one its PUT, with 409 ``ScopeLocked``, before anything is
touched ("Lock your resources…": a lock covers everything in its scope; "Automatic deletions
from deployment history": a CanNotDelete lock on a group keeps its deployments, the same
provider's resources, from being deleted). ``denySettings`` become deny
assignments on the managed resources: a write or delete by any principal other than the
excluded ones, outside the excluded actions, is refused with 403
``DenyAssignmentAuthorizationFailed`` (:meth:`DeploymentStacks.check_deny`); the stack's own
deployment and unmanage work do not go through that check.

Secure parameter values never reach the stack's record: its ``parameters`` are its
deployment's (secure ones typed only), its ``outputs`` the deployment's redacted outputs.
"""

from __future__ import annotations

import fnmatch
import re
import threading
import time
import uuid
from typing import Any

from ..engine.resource_ids import parse_resource_id
from ..state.stacks import STACK_STATES_IN_PROGRESS
from ..state.timestamps import iso, iso_duration, utc_now
from .errors import ArmHttpError
from .host import ServiceHost
from .locks import blocking_locks, check_unlocked, scope_locked
from .principals import SYSTEM_CLIENT, principal_id
from .records import DeploymentScope, redacted_parameters

STACK_TYPE = "Microsoft.Resources/deploymentStacks"
# the stable api-versions of the stacks API, which share one shape (2025-07-01: what the
# official azure-mgmt-resource-deploymentstacks 1.0.0 and az 2.91's `az stack` send)
STACK_API_VERSIONS = ("2024-03-01", "2025-07-01")
STACK_NAME = re.compile(r"^[-\w\._\(\)]+$")
STACK_NAME_MAX = 90
DEPLOYMENT_NAME_MAX = 64
UNMANAGE_MODES = ("delete", "detach")
# a managed resource's status (the specification's ResourceStatusMode): ``deleteFailed`` ones
# are still the stack's, and their delete is tried again by the next update
MANAGED, DELETE_FAILED = "managed", "deleteFailed"
IN_STACK = (MANAGED, DELETE_FAILED)
WITHOUT_DELETE_SUPPORT = ("detach", "fail")
DENY_MODES = ("none", "denyDelete", "denyWriteAndDelete")
EXCLUDED_PRINCIPALS_MAX = 5
EXCLUDED_ACTIONS_MAX = 200
DESCRIPTION_MAX = 4096
# what a stack's deny assignment always leaves allowed (the denySettings.excludedActions
# reference: appended for denyWriteAndDelete, resp. denyDelete)
ALWAYS_EXCLUDED = {
    "denyWriteAndDelete": ("*/read", "Microsoft.Authorization/locks/delete"),
    "denyDelete": ("Microsoft.Authorization/locks/delete",),
}
_GROUP_ID = re.compile(r"^/subscriptions/[^/]+/resourceGroups/[^/]+$", re.IGNORECASE)
_MG_ID = re.compile(r"^/providers/Microsoft\.Management/managementGroups/[^/]+$", re.IGNORECASE)


def stack_id(scope: DeploymentScope, name: str) -> str:
    return f"{scope.id}/providers/{STACK_TYPE}/{name}"


def _enum(value: Any, allowed: tuple[str, ...], where: str) -> str:
    """An enum value as ARM reads it (case-insensitive), spelled as the specification does."""
    if isinstance(value, str):
        for known in allowed:
            if known.lower() == value.lower():
                return known
    raise ArmHttpError(
        400,
        "InvalidRequestContent",
        f"The request content was invalid: '{where}' must be one of "
        + ", ".join(f"'{a}'" for a in allowed)
        + f", not {value!r}.",
        target=where,
    )


def _strings(value: Any, where: str, limit: int) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ArmHttpError(
            400,
            "InvalidRequestContent",
            f"The request content was invalid: '{where}' must be an array of strings.",
            target=where,
        )
    if len(value) > limit:
        raise ArmHttpError(
            400,
            "InvalidRequestContent",
            f"The request content was invalid: '{where}' holds {len(value)} entries; at most "
            f"{limit} are permitted.",
            target=where,
        )
    return list(value)


def parse_action_on_unmanage(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or "resources" not in value:
        raise ArmHttpError(
            400,
            "InvalidRequestContent",
            "The request content was invalid: 'properties.actionOnUnmanage' is required and "
            "needs 'resources' ('delete' or 'detach').",
            target="properties.actionOnUnmanage",
        )
    where = "properties.actionOnUnmanage"
    parsed = {"resources": _enum(value["resources"], UNMANAGE_MODES, f"{where}.resources")}
    for key in ("resourceGroups", "managementGroups"):
        if value.get(key) is not None:
            parsed[key] = _enum(value[key], UNMANAGE_MODES, f"{where}.{key}")
    if value.get("resourcesWithoutDeleteSupport") is not None:
        parsed["resourcesWithoutDeleteSupport"] = _enum(
            value["resourcesWithoutDeleteSupport"],
            WITHOUT_DELETE_SUPPORT,
            f"{where}.resourcesWithoutDeleteSupport",
        )
    return parsed


def parse_deny_settings(value: Any) -> dict[str, Any]:
    where = "properties.denySettings"
    if not isinstance(value, dict) or "mode" not in value:
        raise ArmHttpError(
            400,
            "InvalidRequestContent",
            f"The request content was invalid: '{where}' is required and needs 'mode' "
            "('none', 'denyDelete' or 'denyWriteAndDelete').",
            target=where,
        )
    parsed: dict[str, Any] = {"mode": _enum(value["mode"], DENY_MODES, f"{where}.mode")}
    principals = _strings(
        value.get("excludedPrincipals"), f"{where}.excludedPrincipals", EXCLUDED_PRINCIPALS_MAX
    )
    actions = _strings(
        value.get("excludedActions"), f"{where}.excludedActions", EXCLUDED_ACTIONS_MAX
    )
    if value.get("excludedPrincipals") is not None:
        parsed["excludedPrincipals"] = principals
    if value.get("excludedActions") is not None:
        parsed["excludedActions"] = list(dict.fromkeys(actions))
    child = value.get("applyToChildScopes", False)
    if not isinstance(child, bool):
        raise ArmHttpError(
            400,
            "InvalidRequestContent",
            f"The request content was invalid: '{where}.applyToChildScopes' must be a boolean.",
            target=f"{where}.applyToChildScopes",
        )
    parsed["applyToChildScopes"] = child
    return parsed


class StackDeleteFailed(ArmHttpError):
    """A stack delete that left resources it should have deleted (the operation's outcome,
    answered through its polling URL rather than by the DELETE itself)."""


class DeploymentStacks:
    """The stacks API's operations over the state store and the deployment runner."""

    def __init__(self, backend: ServiceHost, runner: Any) -> None:
        self.backend = backend
        self.runner = runner
        # the principal of the static token and of tokens issued without a client id
        self.system_principal = principal_id(backend.config.tenant_id, None)
        self.lock = threading.RLock()
        self.done: dict[str, threading.Event] = {}  # lower stack id → set when its run ends

    # -- requests ---------------------------------------------------------------------------
    def check_name(self, name: str) -> None:
        if len(name) > STACK_NAME_MAX or not STACK_NAME.match(name):
            raise ArmHttpError(
                400,
                "InvalidDeploymentStackName",
                f"The deployment stack name '{name}' is invalid: it must be 1-90 characters of "
                "letters, digits, '-', '_', '.', '(' or ')'.",
            )

    def check_scope(self, scope: DeploymentScope) -> None:
        if scope.level == "tenant":
            raise ArmHttpError(
                400,
                "InvalidDeploymentScope",
                "Deployment stacks are served at resource group, subscription and management "
                "group scope, not at the tenant.",
            )
        if scope.resource_group is not None:
            store = self.backend.store
            if store.get_resource_group(scope.subscription_id or "", scope.resource_group) is None:
                raise ArmHttpError(
                    404,
                    "ResourceGroupNotFound",
                    f"Resource group '{scope.resource_group}' could not be found.",
                )
        if scope.management_group is not None:
            self.backend.management_groups.require(scope.management_group)

    def parse(self, scope: DeploymentScope, body: Any) -> dict[str, Any]:
        """The stack request's properties, checked (as the specification types them)."""
        if not isinstance(body, dict) or not isinstance(body.get("properties"), dict):
            raise ArmHttpError(
                400,
                "InvalidRequestContent",
                "The request content was invalid: a deployment stack needs a 'properties' object.",
            )
        properties = dict(body["properties"])
        properties["actionOnUnmanage"] = parse_action_on_unmanage(
            properties.get("actionOnUnmanage")
        )
        properties["denySettings"] = parse_deny_settings(properties.get("denySettings"))
        description = properties.get("description")
        if description is not None and (
            not isinstance(description, str) or len(description) > DESCRIPTION_MAX
        ):
            raise ArmHttpError(
                400,
                "InvalidRequestContent",
                "The request content was invalid: 'properties.description' must be a string "
                f"of at most {DESCRIPTION_MAX} characters.",
                target="properties.description",
            )
        if scope.resource_group is None and not body.get("location"):
            raise ArmHttpError(
                400,
                "LocationRequired",
                "The location property is required for a deployment stack at "
                f"{'subscription' if scope.level == 'subscription' else 'management group'} "
                "scope.",
            )
        return properties

    def deployment_scope(
        self, scope: DeploymentScope, properties: dict[str, Any]
    ) -> DeploymentScope:
        """Where the stack's deployment goes: ``deploymentScope`` (the stack's scope or one
        below it), else the stack's scope."""
        text = properties.get("deploymentScope")
        if not text:
            return scope
        if not isinstance(text, str):
            raise ArmHttpError(
                400,
                "InvalidRequestContent",
                "The request content was invalid: 'properties.deploymentScope' must be a string.",
            )
        try:
            target = DeploymentScope.of(text)
        except IndexError:
            target = None
        inside = target is not None and (
            target.id.lower() == scope.id.lower()
            or (
                scope.level == "subscription"
                and target.resource_group is not None
                and (target.subscription_id or "").lower() == (scope.subscription_id or "").lower()
            )
            or (scope.level == "managementGroup" and target.level == "subscription")
        )
        if target is None or not inside or target.level == "tenant":
            raise ArmHttpError(
                400,
                "InvalidDeploymentScope",
                f"The deployment scope '{text}' is not valid for the deployment stack at "
                f"'{scope.id}': use the stack's scope or a scope below it.",
            )
        self.check_scope(target)
        return target

    # -- create or update -------------------------------------------------------------------
    def create_or_update(
        self, scope: DeploymentScope, name: str, body: Any, principal: str
    ) -> tuple[dict[str, Any], bool]:
        self.check_name(name)
        self.check_scope(scope)
        sid = stack_id(scope, name)
        # the stack is a resource of its scope: a ReadOnly lock there (or above) refuses its
        # write before anything else is read, as ARM refuses any write under such a lock
        check_unlocked(self.backend.store, sid, "write")
        properties = self.parse(scope, body)
        target = self.deployment_scope(scope, properties)
        store = self.backend.store
        with self.lock:
            existing = store.get_stack(sid)
            if (
                existing is not None
                and existing["properties"]["provisioningState"] in STACK_STATES_IN_PROGRESS
            ):
                raise ArmHttpError(
                    409,
                    "DeploymentStackInNonTerminalState",
                    f"The deployment stack '{name}' is "
                    f"'{existing['properties']['provisioningState']}'; wait for its current "
                    "operation to finish.",
                )
            if existing is not None and body.get("location") and existing.get("location"):
                before, after = str(existing["location"]), str(body["location"])
                if before.replace(" ", "").lower() != after.replace(" ", "").lower():
                    raise ArmHttpError(
                        400,
                        "InvalidDeploymentStackLocation",
                        f"The deployment stack '{name}' already exists in location '{before}'; "
                        f"it cannot move to '{after}'.",
                    )
            deployment_name = _deployment_name(name)
            deployment_body = _deployment_body(properties, target, body)
            record, _ = self.runner.create_or_update(target, deployment_name, deployment_body)
            # a linked template was fetched by the deployment: the stack keeps what it ran
            properties["template"] = store.get_deployment_template(target.id, deployment_name)
            now = iso(utc_now())
            who = {"by": principal, "type": _principal_type(principal, self.system_principal)}
            system_data = dict((existing or {}).get("systemData") or {}) or {
                "createdBy": who["by"],
                "createdByType": who["type"],
                "createdAt": now,
            }
            system_data.update(
                lastModifiedBy=who["by"], lastModifiedByType=who["type"], lastModifiedAt=now
            )
            stack: dict[str, Any] = {
                "id": existing["id"] if existing else sid,
                "name": existing["name"] if existing else name,
                "type": STACK_TYPE,
                "systemData": system_data,
                "properties": {
                    "actionOnUnmanage": properties["actionOnUnmanage"],
                    "denySettings": properties["denySettings"],
                    "parameters": record["properties"].get("parameters", {}),
                    "provisioningState": "deploying",
                    "correlationId": str(uuid.uuid4()),
                    "deploymentId": record["id"],
                    "resources": list((existing or {}).get("properties", {}).get("resources", [])),
                    "detachedResources": [],
                    "deletedResources": [],
                    "failedResources": [],
                },
            }
            location = body.get("location") or (existing or {}).get("location")
            if location:
                stack["location"] = location
            if body.get("tags") is not None:
                stack["tags"] = body.get("tags")
            for key in ("description", "validationLevel", "bypassStackOutOfSyncError"):
                if properties.get(key) is not None:
                    stack["properties"][key] = properties[key]
            # the specification answers parametersLink (templateLink is write-only: it comes
            # back from exportTemplate), as the deployment records it — never a SAS token
            if isinstance(record["properties"].get("parametersLink"), dict):
                stack["properties"]["parametersLink"] = record["properties"]["parametersLink"]
            # where the deployment went (the stack's own scope when the request named none)
            stack["properties"]["deploymentScope"] = target.id
            store.put_stack(scope.id, stack, properties.get("template"))
            event = threading.Event()
            self.done[sid.lower()] = event
        thread = threading.Thread(
            target=self._finish_when_deployed,
            args=(scope, sid, target, deployment_name, properties, event, time.monotonic()),
            name=f"localarm-stack-{name}",
            daemon=True,
        )
        thread.start()
        return stack, existing is None

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Wait until no stack operation this local ARM runs is settling (tests, reset)."""
        deadline = time.monotonic() + timeout
        for event in list(self.done.values()):
            event.wait(max(0.0, deadline - time.monotonic()))

    def wait_for(self, sid: str, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the stack's current operation to end."""
        event = self.done.get(sid.lower())
        if event is None:
            return True
        return event.wait(timeout)

    def _finish_when_deployed(
        self,
        scope: DeploymentScope,
        sid: str,
        target: DeploymentScope,
        deployment_name: str,
        properties: dict[str, Any],
        event: threading.Event,
        started: float,
    ) -> None:
        store = self.backend.store
        try:
            deployment_id = target.deployment_id(deployment_name)
            while not self.runner.wait_for(deployment_id, 60.0):
                record = store.get_deployment(target.id, deployment_name)
                if record is None or record["properties"]["provisioningState"] not in (
                    "Accepted",
                    "Running",
                ):
                    break
            deployment = store.get_deployment(target.id, deployment_name)
            stack = store.get_stack(sid)
            if stack is None or deployment is None:
                return
            self._settle(stack, deployment, properties)
            stack["properties"]["duration"] = iso_duration(time.monotonic() - started)
            store.put_stack(scope.id, stack, properties.get("template"))
        except Exception as exc:  # never leave a stack deploying for ever
            stack = store.get_stack(sid)
            if stack is not None:
                stack["properties"]["provisioningState"] = "failed"
                stack["properties"]["error"] = {
                    "code": "InternalServerError",
                    "message": f"The local ARM failed: {exc!r}",
                }
                store.put_stack(scope.id, stack, properties.get("template"))
        finally:
            event.set()

    def _settle(
        self, stack: dict[str, Any], deployment: dict[str, Any], properties: dict[str, Any]
    ) -> None:
        """The stack after its deployment ended: managed resources, and on success the
        resources no longer in the template detached or deleted."""
        props = stack["properties"]
        state = deployment["properties"]["provisioningState"]
        deployed = [r["id"] for r in deployment["properties"].get("outputResources", [])]
        before = [r["id"] for r in props.get("resources", []) if r.get("status") in IN_STACK]
        deny = props["denySettings"]["mode"]
        if state != "Succeeded":
            # nothing is unmanaged after a failure: what it managed (a resource it could not
            # delete still deleteFailed), and what it deployed
            managed = list({i.lower(): i for i in before + deployed}.values())
            failed_before = {
                r["id"].lower()
                for r in props.get("resources", [])
                if r.get("status") == DELETE_FAILED
            } - {i.lower() for i in deployed}
            props["resources"] = [
                _managed(i, deny, DELETE_FAILED if i.lower() in failed_before else MANAGED)
                for i in managed
            ]
            props["provisioningState"] = "canceled" if state == "Canceled" else "failed"
            error = deployment["properties"].get("error")
            if error:
                props["error"] = error
            return
        kept = {i.lower() for i in deployed}
        unmanaged = [i for i in before if i.lower() not in kept]
        detached, deleted, failed = self.unmanage(unmanaged, props["actionOnUnmanage"])
        props["resources"] = [_managed(i, deny) for i in dict.fromkeys(deployed)] + [
            _managed(f["id"], deny, DELETE_FAILED) for f in failed
        ]
        props["detachedResources"] = [{"id": i} for i in detached]
        props["deletedResources"] = [{"id": i} for i in deleted]
        props["failedResources"] = failed
        props["outputs"] = deployment["properties"].get("outputs", {})
        props.pop("error", None)
        if failed:
            props["provisioningState"] = "failed"
            props["error"] = delete_resources_failed(props["correlationId"])
        else:
            props["provisioningState"] = "succeeded"

    def unmanage(
        self, ids: list[str], actions: dict[str, str]
    ) -> tuple[list[str], list[str], list[dict[str, Any]]]:
        """Detach or delete resources no longer managed: resources (deepest first), then
        resource groups, then management groups. (detached, deleted, failed). A delete that a
        management lock refuses — on the resource, above it, or (a group, a resource with
        children) below it — fails with ARM's ``ScopeLocked``, and the resource is left."""
        store = self.backend.store
        detached: list[str] = []
        deleted: list[str] = []
        failed: list[dict[str, Any]] = []

        def kind(resource_id: str) -> str:
            if _GROUP_ID.match(resource_id):
                return "resourceGroups"
            if _MG_ID.match(resource_id):
                return "managementGroups"
            return "resources"

        order = {"resources": 0, "resourceGroups": 1, "managementGroups": 2}
        for resource_id in sorted(ids, key=lambda i: (order[kind(i)], -i.count("/"))):
            what = kind(resource_id)
            if actions.get(what, "detach") != "delete":
                detached.append(resource_id)
                continue
            locks = blocking_locks(store, resource_id, "delete", below=True)
            if locks:
                error = scope_locked(resource_id, "delete", locks)
                failed.append({"id": resource_id, "error": error.body()["error"]})
                continue
            try:
                if what == "resourceGroups":
                    parts = resource_id.split("/")
                    store.delete_resource_group(parts[2], parts[4])
                elif what == "managementGroups":
                    self.backend.management_groups.delete(resource_id.rsplit("/", 1)[1])
                else:
                    store.delete_resource(resource_id)
            except ArmHttpError as exc:
                failed.append(
                    {"id": resource_id, "error": {"code": exc.code, "message": exc.message}}
                )
                continue
            deleted.append(resource_id)
        return detached, deleted, failed

    # -- reads ------------------------------------------------------------------------------
    def get(self, scope: DeploymentScope, name: str) -> dict[str, Any]:
        stack = self.backend.store.get_stack(stack_id(scope, name))
        if stack is None:
            raise stack_not_found(name)
        return stack

    def list(self, scope: DeploymentScope) -> list[dict[str, Any]]:
        self.check_scope(scope)
        return self.backend.store.list_stacks(scope.id)

    def export_template(self, scope: DeploymentScope, name: str) -> dict[str, Any]:
        """The template the stack deployed, and — a stack made from a link — the
        ``templateLink`` its deployment recorded (the specification's
        ``DeploymentStackTemplateDefinition``)."""
        stack = self.get(scope, name)
        store = self.backend.store
        answer: dict[str, Any] = {"template": store.get_stack_template(stack["id"])}
        where, _, deployment = str(stack["properties"].get("deploymentId", "")).rpartition(
            "/providers/Microsoft.Resources/deployments/"
        )
        record = store.get_deployment(where, deployment) if where else None
        link = (record or {}).get("properties", {}).get("templateLink")
        if isinstance(link, dict):
            answer["templateLink"] = link
        return answer

    # -- delete -----------------------------------------------------------------------------
    def delete(self, scope: DeploymentScope, name: str, actions: dict[str, str]) -> bool:
        """Delete the stack, its managed resources detached or deleted per ``actions``
        (``unmanageAction.*``; absent ones detach); False when there was no stack. Raises
        :class:`StackDeleteFailed` when resources could not be deleted: the stack stays,
        failed, and the request's long-running operation ends with that error."""
        store = self.backend.store
        with self.lock:
            stack = store.get_stack(stack_id(scope, name))
            if stack is None:
                return False
            # the stack is a resource of its scope: any lock on its group or subscription
            # refuses its DELETE (409 ScopeLocked) before its resources are looked at — with
            # detach as with delete; a lock on a managed resource alone does not cover it
            check_unlocked(store, stack["id"], "delete")
            state = stack["properties"]["provisioningState"]
            if state in STACK_STATES_IN_PROGRESS:
                raise ArmHttpError(
                    409,
                    "DeploymentStackInNonTerminalState",
                    f"The deployment stack '{name}' is '{state}'; wait for its current "
                    "operation to finish.",
                )
            managed = [
                r["id"]
                for r in stack["properties"].get("resources", [])
                if r.get("status") in IN_STACK
            ]
            detached, deleted, failed = self.unmanage(managed, actions)
            if not failed:
                store.delete_stack(stack["id"])
                return True
            # the stack stays, failed, with what it could not delete still in it (Azure: "These
            # resources are still present in the stack but can be deleted manually")
            props = stack["properties"]
            deny = props["denySettings"]["mode"]
            props["resources"] = [_managed(f["id"], deny, DELETE_FAILED) for f in failed]
            props["detachedResources"] = [{"id": i} for i in detached]
            props["deletedResources"] = [{"id": i} for i in deleted]
            props["failedResources"] = failed
            props["provisioningState"] = "failed"
            props["correlationId"] = str(uuid.uuid4())
            props["error"] = delete_resources_failed(props["correlationId"])
            store.put_stack(scope.id, stack, store.get_stack_template(stack["id"]))
        error = props["error"]
        raise StackDeleteFailed(409, error["code"], error["message"], details=error["details"])

    # -- validate ---------------------------------------------------------------------------
    def validate(self, scope: DeploymentScope, name: str, body: Any) -> dict[str, Any]:
        """The validate answer: the request checked and its template expanded (the same
        checks as a create), or an ARM error."""
        self.check_name(name)
        self.check_scope(scope)
        properties = self.parse(scope, body)
        target = self.deployment_scope(scope, properties)
        deployment_body = _deployment_body(properties, target, body)
        expansion, resolved = self.runner.expand(target, _deployment_name(name), deployment_body)
        result: dict[str, Any] = {
            "id": stack_id(scope, name),
            "name": name,
            "type": STACK_TYPE,
            "properties": {
                "actionOnUnmanage": properties["actionOnUnmanage"],
                "denySettings": properties["denySettings"],
                "correlationId": str(uuid.uuid4()),
                "parameters": redacted_parameters(expansion, None, resolved.get("parameters")),
                "validatedResources": [{"id": r.id} for r in expansion.all_resources()],
            },
        }
        if properties.get("description") is not None:
            result["properties"]["description"] = properties["description"]
        result["properties"]["deploymentScope"] = target.id
        return result

    # -- deny assignments -------------------------------------------------------------------
    def check_deployment(
        self, scope: DeploymentScope, expansion: Any, mode: str, principal: str
    ) -> None:
        """Refuse a caller's deployment that would write a resource a stack denies it (or, in
        complete mode, delete one): the deployment acts as its caller."""
        declared = set()
        for resource in expansion.all_resources():
            if resource.is_deployment or resource.existing:  # not writes of a resource
                continue
            declared.add(resource.id.lower())
            self.check_deny(resource.id, principal, "write")
        if mode == "Complete" and scope.resource_group is not None:
            store = self.backend.store
            for resource in store.list_resources(scope.subscription_id or "", scope.resource_group):
                if resource["id"].lower() not in declared:
                    self.check_deny(resource["id"], principal, "delete")

    def check_deny(self, resource_id: str, principal: str, operation: str) -> None:
        """Refuse ``operation`` ("write", "delete" or "action/NAME") on ``resource_id`` by
        ``principal`` when a stack's deny settings forbid it: 403
        ``DenyAssignmentAuthorizationFailed``."""
        target = resource_id.rstrip("/").lower()
        action = _action_of(resource_id, operation)
        for stack in self.backend.store.all_stacks():
            settings = stack["properties"].get("denySettings") or {}
            mode = settings.get("mode", "none")
            if mode == "none":
                continue
            if principal.lower() in {p.lower() for p in settings.get("excludedPrincipals", [])}:
                continue
            if mode == "denyDelete" and not action.lower().endswith("/delete"):
                continue
            excluded = [*settings.get("excludedActions", []), *ALWAYS_EXCLUDED[mode]]
            if any(fnmatch.fnmatchcase(action.lower(), p.lower()) for p in excluded):
                continue
            for managed in stack["properties"].get("resources", []):
                if managed.get("status") != "managed":
                    continue
                scope = managed["id"].lower()
                if target == scope or (
                    settings.get("applyToChildScopes") and target.startswith(scope + "/")
                ):
                    raise deny_error(principal, action, resource_id, stack, managed["id"])


def _deployment_body(
    properties: dict[str, Any], target: DeploymentScope, body: dict[str, Any]
) -> dict[str, Any]:
    """The request of the stack's deployment: its template and parameters as the stack was
    given them — inline, or by ``templateLink`` (``uri`` with ``queryString``, or a template
    spec's ``id``) and ``parametersLink``, which the deployment fetches as any deployment's
    (``linked_templates.py``, the one place links are followed)."""
    request: dict[str, Any] = {"mode": "Incremental"}
    for key in ("template", "templateLink", "parameters", "parametersLink"):
        if properties.get(key) is not None:
            request[key] = properties[key]
    if "parameters" not in request and "parametersLink" not in request:
        request["parameters"] = {}
    deployment_body: dict[str, Any] = {"properties": request}
    if target.resource_group is None:
        deployment_body["location"] = body.get("location")
    return deployment_body


def _deployment_name(stack_name: str) -> str:
    suffix = f"-{utc_now():%Y%m%d}-{uuid.uuid4().hex[:5]}"
    return stack_name[: DEPLOYMENT_NAME_MAX - len(suffix)] + suffix


def _managed(resource_id: str, deny_mode: str, status: str = MANAGED) -> dict[str, Any]:
    return {"id": resource_id, "status": status, "denyStatus": deny_mode}


def delete_resources_failed(correlation_id: str) -> dict[str, Any]:
    """The stack's error when resources it should delete could not be deleted, as Azure words
    it (Azure/deployment-stacks#194, #225); each resource's own error is in
    ``failedResources``."""
    return {
        "code": "DeploymentStackDeleteResourcesFailed",
        "message": "One or more resources could not be deleted. Correlation id: "
        f"'{correlation_id}'.",
        "details": [
            {
                "code": "DeploymentStackDeleteResourcesFailed",
                "message": "An error occurred while deleting resources. These resources are "
                "still present in the stack but can be deleted manually. Please see the "
                "FailedResources property for specific error information.",
            }
        ],
    }


def _principal_type(principal: str, system_principal: str) -> str:
    return "ManagedIdentity" if principal != system_principal else "Application"


def _action_of(resource_id: str, operation: str) -> str:
    """The RBAC action of an operation on a resource: ``{type}/write``, ``{type}/delete``,
    ``{type}/{name}/action``."""
    if _GROUP_ID.match(resource_id):
        resource_type = "Microsoft.Resources/subscriptions/resourceGroups"
    elif _MG_ID.match(resource_id):
        resource_type = "Microsoft.Management/managementGroups"
    else:
        try:
            resource_type = parse_resource_id(resource_id).resource_type
        except Exception:
            resource_type = "Microsoft.Resources/resources"
    if operation.startswith("action/"):
        return f"{resource_type}/{operation.split('/', 1)[1]}/action"
    return f"{resource_type}/{operation}"


def deny_error(
    principal: str, action: str, resource_id: str, stack: dict[str, Any], scope: str
) -> ArmHttpError:
    """403 ``DenyAssignmentAuthorizationFailed``, worded as ARM words a deny assignment's
    refusal (the client, its object id, the action, the scope, the deny assignment)."""
    assignment = str(uuid.uuid5(uuid.NAMESPACE_URL, f"localarm-deny:{stack['id'].lower()}"))
    name = f"Deny assignment '{assignment}' created by Deployment Stack '{stack['id']}'."
    return ArmHttpError(
        403,
        "DenyAssignmentAuthorizationFailed",
        f"The client '{principal}' with object id '{principal}' has permission to perform "
        f"action '{action}' on scope '{resource_id}'; however, the access is denied because "
        f"of the deny assignment with name '{name}' and Id '{assignment}' at scope '{scope}'.",
    )


def stack_not_found(name: str) -> ArmHttpError:
    return ArmHttpError(
        404,
        "DeploymentStackNotFound",
        f"The Deployment stack '{name}' could not be found.",
    )


__all__ = [
    "STACK_API_VERSIONS",
    "STACK_TYPE",
    "SYSTEM_CLIENT",
    "DeploymentStacks",
    "StackDeleteFailed",
    "deny_error",
    "stack_id",
    "stack_not_found",
]
