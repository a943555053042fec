"""The steps of running a deployment: one resource, a resource group, a nested deployment,
complete-mode deletions — each written with its deployment operation."""

from __future__ import annotations

import time
import uuid
from typing import Any

from ..engine import Expansion, SecretMask, TemplateError
from ..engine.models import ExpandedResource
from ..engine.resource_ids import parse_resource_id
from ..state.store import ArmStoreError
from ..state.timestamps import iso, iso_duration, utc_now
from . import behaviors
from .errors import ArmHttpError, parent_not_found, top_level_parent
from .host import ServiceHost
from .locks import blocking_locks, is_lock, scope_locked
from .preflight import expanded_resource_errors
from .records import (
    DeploymentFailure,
    DeploymentScope,
    StoreState,
    deployment_failed,
    deployment_mask,
)
from .tags import check_tags, is_tags_resource, resolve_scope, tags_scope, write_tags


class ResourceSteps:
    """Deploying what an expansion holds, step by step (mixed into the runner)."""

    backend: ServiceHost
    masks: dict[str, SecretMask]

    def _mask(self, deployment_id: str) -> SecretMask:
        """The mask of a running deployment (see ``records.deployment_mask``)."""
        return self.masks.get(deployment_id.lower()) or SecretMask()

    def _operation(
        self,
        deployment_id: str,
        resource: ExpandedResource | dict[str, Any],
        provisioning_operation: str = "Create",
    ) -> dict[str, Any]:
        rid = resource.id if isinstance(resource, ExpandedResource) else resource["id"]
        rtype = resource.type if isinstance(resource, ExpandedResource) else resource["type"]
        rname = resource.name if isinstance(resource, ExpandedResource) else resource["name"]
        operation_id = uuid.uuid4().hex[:16].upper()
        return {
            "id": f"{deployment_id}/operations/{operation_id}",
            "operationId": operation_id,
            "properties": {
                "provisioningOperation": provisioning_operation,
                "provisioningState": "Running",
                "timestamp": iso(utc_now()),
                "duration": "PT0S",
                "trackingId": str(uuid.uuid4()),
                "serviceRequestId": str(uuid.uuid4()),
                "statusCode": "Accepted",
                "targetResource": {"id": rid, "resourceType": rtype, "resourceName": rname},
            },
        }

    def _deploy_resource(
        self,
        deployment_id: str,
        expansion: Expansion,
        resource: ExpandedResource,
        state: StoreState,
    ) -> None:
        store = self.backend.store
        operation = self._operation(deployment_id, resource)
        started = time.monotonic()
        store.put_operation(deployment_id, operation)
        try:
            evaluated = expansion.evaluate_resource(resource, state)
            if self.backend.config.resource_delay_s:
                time.sleep(self.backend.config.resource_delay_s)
            is_group = evaluated.type.lower() == "microsoft.resources/resourcegroups"
            if not is_group:
                self._check_target(evaluated)
                self._check_parent(evaluated, expansion)
            # preflight checked what it could see; a value known only now is checked here
            problems = expanded_resource_errors(evaluated, store.get_resource)
            if problems:
                raise DeploymentFailure(problems[0], status=400)
            self._check_locks(evaluated.id, "write")
            rule = self.backend.faults.resource_rule(
                "deployment_error", evaluated.type, evaluated.name
            )
            if rule is not None:
                raise DeploymentFailure(
                    {
                        "code": rule.arm_code,
                        "message": rule.arm_message or f"Injected {rule.arm_code}",
                        "target": evaluated.id,
                    }
                )
            if is_group:
                self._deploy_group(deployment_id, evaluated, operation, started)
                return
            if is_tags_resource(evaluated.id):
                self._deploy_tags(deployment_id, evaluated, operation, started)
                return
            previous = store.get_resource(evaluated.id)
            body = behaviors.apply_runtime_properties(
                evaluated.to_arm(), previous, self.backend.service_context()
            )
        except TemplateError as exc:
            self._fail_operation(deployment_id, operation, started, exc.to_arm(), 400)
            raise DeploymentFailure(exc.to_arm()) from None
        except DeploymentFailure as failure:
            self._fail_operation(deployment_id, operation, started, failure.error, failure.status)
            raise
        _settle(operation, started, "Succeeded", "Created" if previous is None else "OK")
        children = behaviors.implicit_children(body, self.backend.service_context())
        with store.transaction():
            store.put_resource(body)
            for child in children:  # e.g. a namespace's RootManageSharedAccessKey rule
                if store.get_resource(child["id"]) is None:
                    store.put_resource(child)
            store.put_operation(deployment_id, operation)

    def _deploy_group(
        self,
        deployment_id: str,
        resource: ExpandedResource,
        operation: dict[str, Any],
        started: float,
    ) -> None:
        """A subscription-scope template's resource group lives in the groups table."""
        store = self.backend.store
        subscription = resource.id.split("/")[2]  # /subscriptions/{id}/resourceGroups/{name}
        location = resource.location or ""
        existing = store.get_resource_group(subscription, resource.name)
        try:
            store.create_or_update_resource_group(
                subscription,
                resource.name,
                location=location,
                tags=resource.body.get("tags") or {},
                managed_by=resource.body.get("managedBy"),
            )
        except ArmStoreError as exc:  # the caller records the failed operation
            raise _refused(resource, exc) from None
        _settle(operation, started, "Succeeded", "OK" if existing else "Created")
        store.put_operation(deployment_id, operation)

    def _deploy_tags(
        self,
        deployment_id: str,
        resource: ExpandedResource,
        operation: dict[str, Any],
        started: float,
    ) -> None:
        """A ``Microsoft.Resources/tags`` resource: its ``properties.tags`` become its scope's
        whole set of tags, as its PUT (``Tags_CreateOrUpdateAtScope``) makes them."""
        store = self.backend.store
        scope = tags_scope(resource.id)
        try:
            scope = resolve_scope(store, scope, self.backend.config.subscription_id)
            tags = check_tags((resource.body.get("properties") or {}).get("tags"))
        except ArmHttpError as exc:  # the caller records the failed operation
            raise _refused(resource, exc) from None
        write_tags(store, scope, tags)
        _settle(operation, started, "Succeeded", "OK")
        store.put_operation(deployment_id, operation)

    def _check_locks(self, resource_id: str, operation: str) -> None:
        """A lock over the resource refuses the step, as ARM refuses the request
        (``ScopeLocked``); the deployment fails there."""
        locks = blocking_locks(self.backend.store, resource_id, operation, below=True)
        if locks:
            error = scope_locked(resource_id, operation, locks)
            raise DeploymentFailure(
                {"code": error.code, "message": error.message, "target": resource_id}
            )

    def _check_target(self, resource: ExpandedResource) -> None:
        parts = parse_resource_id(resource.id)
        if (
            parts.resource_group
            and parts.resource_type.lower() != "microsoft.resources/resourcegroups"
        ):
            sub = parts.subscription_id or ""
            if self.backend.store.get_resource_group(sub, parts.resource_group) is None:
                raise DeploymentFailure(
                    {
                        "code": "ResourceGroupNotFound",
                        "message": f"Resource group '{parts.resource_group}' could not be found.",
                        "target": resource.id,
                    }
                )

    def _check_parent(self, resource: ExpandedResource, expansion: Expansion) -> None:
        """ARM refuses a child resource whose top-level parent neither exists nor is deployed
        by the same deployment (``ParentResourceNotFound``, 404), when the resource's turn
        comes — validate and what-if do not look (a parent may come from elsewhere)."""
        parent = top_level_parent(resource.id)
        if parent is None or self.backend.store.get_resource(parent[0]) is not None:
            return
        if _declares(expansion, parent[0].lower()):
            return  # deployed by this deployment (without a dependsOn on it: a race in Azure)
        raise DeploymentFailure(parent_not_found(parent[1]), status=404)

    def _fail_operation(
        self,
        deployment_id: str,
        operation: dict[str, Any],
        started: float,
        error: dict[str, Any],
        status: int,
    ) -> None:
        _settle(
            operation,
            started,
            "Failed",
            _STATUS_CODES.get(status, "BadRequest"),
            statusMessage={"status": "Failed", "error": self._mask(deployment_id).value(error)},
        )
        self.backend.store.put_operation(deployment_id, operation)

    def _deploy_nested(
        self,
        parent_id: str,
        parent_record: dict[str, Any],
        expansion: Expansion,
        resource: ExpandedResource,
        state: StoreState,
        deployed: list[str],
    ) -> None:
        store = self.backend.store
        operation = self._operation(parent_id, resource)
        started = time.monotonic()
        store.put_operation(parent_id, operation)
        try:
            evaluated = expansion.evaluate_resource(resource, state)
            if evaluated.nested is None:
                raise DeploymentFailure(
                    {
                        "code": "InvalidTemplate",
                        "message": f"The nested deployment '{resource.name}' cannot be deployed: "
                        f"{evaluated.nested_deferred_reason}.",
                        "target": resource.id,
                    }
                )
        except TemplateError as exc:
            self._fail_operation(parent_id, operation, started, exc.to_arm(), 400)
            raise DeploymentFailure(exc.to_arm()) from None
        except DeploymentFailure as failure:
            self._fail_operation(parent_id, operation, started, failure.error, 400)
            raise
        nested = evaluated.nested
        parts = parse_resource_id(resource.id)
        scope = DeploymentScope.of(parts.scope)
        if scope.management_group is not None and (
            self.backend.management_groups.record(scope.management_group) is None
        ):
            error = {
                "code": "ManagementGroupNotFound",
                "message": f"The management group '{scope.management_group}' cannot be found.",
                "target": resource.id,
            }
            self._fail_operation(parent_id, operation, started, error, 404)
            raise DeploymentFailure(error)
        properties = dict(evaluated.properties or {})
        mask = deployment_mask(nested, parent=self._mask(parent_id))
        # a template given as an expression was evaluated: it may hold a secure value now
        template = mask.value(properties.get("template") or {})
        record = self._new_record(
            scope,
            resource.name,
            {},
            properties,
            nested,
            state="Running",
            correlation_id=parent_record["properties"]["correlationId"],
            mask=mask,
        )
        self.masks[record["id"].lower()] = mask
        try:
            self._run_nested(
                parent_id, operation, started, scope, resource, record, nested, template, deployed
            )
        finally:
            self.masks.pop(record["id"].lower(), None)

    def _run_nested(
        self,
        parent_id: str,
        operation: dict[str, Any],
        started: float,
        scope: DeploymentScope,
        resource: ExpandedResource,
        record: dict[str, Any],
        nested: Expansion,
        template: Any,
        deployed: list[str],
    ) -> None:
        """Record a nested deployment, run it as a deployment of its own, settle its
        operation in the parent."""
        store = self.backend.store
        try:
            store.put_deployment(scope.id, resource.name, record, template)
        except ArmStoreError as exc:
            error = {"code": exc.code, "message": exc.message, "target": resource.id}
            self._fail_operation(parent_id, operation, started, error, 404)
            raise DeploymentFailure(error) from None
        nested_deployed: list[str] = []
        try:
            outputs = self._execute(scope, resource.name, record, nested, nested_deployed)
        except DeploymentFailure as failure:
            deployed.extend(nested_deployed)
            error = self._mask(record["id"]).value(deployment_failed(record["id"], failure.error))
            self._finish(
                scope,
                resource.name,
                {"template": template},
                started,
                nested_deployed,
                state="Failed",
                error=error,
            )
            self._fail_operation(parent_id, operation, started, error, 409)
            raise DeploymentFailure(error) from None
        deployed.extend(nested_deployed)
        self._finish(
            scope,
            resource.name,
            {"template": template},
            started,
            nested_deployed,
            state="Succeeded",
            outputs=outputs,
        )
        _settle(operation, started, "Succeeded", "OK")
        store.put_operation(parent_id, operation)

    def _delete_undeclared(
        self, deployment_id: str, scope: DeploymentScope, declared: set[str]
    ) -> None:
        """Complete mode: delete what the group holds and the template no longer declares."""
        store = self.backend.store
        for resource in store.list_resources(scope.subscription_id, scope.resource_group):
            rid = resource["id"].lower()
            if rid in declared or any(rid.startswith(d + "/") for d in declared):
                continue
            if is_lock(rid):  # locks are not deleted in complete mode
                continue
            if store.get_resource(resource["id"]) is None:  # gone with a deleted parent
                continue
            operation = self._operation(deployment_id, resource, "Delete")
            try:
                self._check_locks(resource["id"], "delete")
            except DeploymentFailure as failure:
                self._fail_operation(deployment_id, operation, time.monotonic(), failure.error, 409)
                raise
            props = operation["properties"]
            props.update(provisioningState="Succeeded", statusCode="OK")
            with store.transaction():
                store.delete_resource(resource["id"])
                store.put_operation(deployment_id, operation)


def _refused(resource: ExpandedResource, exc: ArmHttpError | ArmStoreError) -> DeploymentFailure:
    """A resource's step refused as ARM refuses the request ``exc`` stands for."""
    error = {"code": exc.code, "message": exc.message, "target": resource.id}
    return DeploymentFailure(error, status=exc.status)


def _settle(
    operation: dict[str, Any], started: float, state: str, status_code: str, **extra: Any
) -> None:
    """Record how a deployment operation ended: state, HTTP-ish status, duration, time."""
    operation["properties"].update(
        provisioningState=state,
        statusCode=status_code,
        duration=iso_duration(time.monotonic() - started),
        timestamp=iso(utc_now()),
        **extra,
    )


_STATUS_CODES = {404: "NotFound", 409: "Conflict"}  # an operation's statusCode, as ARM names it


def _declares(expansion: Expansion, resource_id: str) -> bool:
    """Whether ``expansion`` (or one of its nested deployments) deploys ``resource_id``."""
    for resource in expansion.resources:
        if resource.id.lower() == resource_id:
            return True
        if resource.nested is not None and _declares(resource.nested, resource_id):
            return True
    return False
