"""The local ARM's backend: the operations of the ARM REST API, named after them.

Like a moto backend, :class:`ArmBackend` holds the state (the SQLite :class:`ArmStore`), the
fault plan and the deployment runner, and exposes one method per API operation. The HTTP
layer (``server.py``) only parses requests and renders what these methods return; errors
are :class:`~bicep_assets.armlocal.service.errors.ArmHttpError`.
"""

from __future__ import annotations

import re
import threading
import uuid
from typing import Any

from ..engine.resource_ids import parse_resource_id
from ..state.store import ArmStore
from ..state.timestamps import iso, utc_now
from . import behaviors
from .deployments import DeploymentRunner
from .errors import (
    ArmHttpError,
    group_not_found,
    parent_not_found,
    resource_not_found,
    top_level_parent,
)
from .faults import FaultPlan
from .host import LocalArmConfig
from .management_groups import ManagementGroups
from .preflight import as_http_error, group_location_error, resource_errors
from .stacks import DeploymentStacks

GROUP_NAME_MAX = 90


class AsyncOperation:
    """A long-running operation tracked in memory (what-if, validate, deletes)."""

    def __init__(self) -> None:
        self.id = uuid.uuid4().hex
        self.done = threading.Event()
        self.status = "Running"
        self.result: Any = None
        self.error: ArmHttpError | None = None


class ArmBackend:
    """See the module docstring."""

    def __init__(
        self,
        store: ArmStore,
        config: LocalArmConfig | None = None,
        faults: FaultPlan | None = None,
    ) -> None:
        self.store = store
        self.config = config or LocalArmConfig()
        self.faults = faults or FaultPlan()
        self.operations: dict[str, AsyncOperation] = {}
        self.runner = DeploymentRunner(self)
        self.stacks = DeploymentStacks(self, self.runner)
        self.management_groups = ManagementGroups(
            store, self.config.tenant_id, self.config.subscription_id, self.service_context()
        )
        self.registered_providers: dict[str, str] = {}  # lower → as registered

    def service_context(self) -> behaviors.ServiceContext:
        return behaviors.ServiceContext(
            tenant_id=self.config.tenant_id, sites_base=self.config.sites_base
        )

    # -- async operations ---------------------------------------------------------------
    def start_operation(self) -> AsyncOperation:
        operation = AsyncOperation()
        self.operations[operation.id] = operation
        return operation

    def get_operation(self, operation_id: str) -> AsyncOperation:
        operation = self.operations.get(operation_id)
        if operation is None:
            raise ArmHttpError(
                404, "OperationNotFound", f"The operation '{operation_id}' was not found."
            )
        return operation

    # -- resource groups ------------------------------------------------------------------
    def check_group_name(self, name: str) -> None:
        if (
            len(name) > GROUP_NAME_MAX
            or not re.fullmatch(r"[-\w\._\(\)]+", name)
            or (name.endswith("."))
        ):
            raise ArmHttpError(
                400,
                "InvalidResourceGroupName",
                f"The resource group name '{name}' is invalid: it must be 1-90 characters of "
                "letters, digits, '-', '_', '.', '(' or ')' and must not end with '.'.",
            )

    def create_or_update_resource_group(
        self, subscription_id: str, name: str, body: dict[str, Any]
    ) -> tuple[dict[str, Any], bool]:
        self.check_group_name(name)
        location = body.get("location")
        if not isinstance(location, str) or not location:
            raise ArmHttpError(
                400, "LocationRequired", "The location property is required for this definition."
            )
        location_error = group_location_error(location)
        if location_error is not None:
            raise as_http_error(location_error)
        tags = body.get("tags") or {}
        if not isinstance(tags, dict):
            raise ArmHttpError(400, "InvalidRequestContent", "'tags' must be a JSON object.")
        existing = self.store.get_resource_group(subscription_id, name)
        if existing is not None and _norm(existing["location"]) != _norm(location):
            raise ArmHttpError(
                409,
                "InvalidResourceGroupLocation",
                f"Invalid resource group location '{location}'. The Resource group already "
                f"exists in location '{existing['location']}'.",
            )
        group = self.store.create_or_update_resource_group(
            subscription_id,
            existing["name"] if existing else name,
            location=location,
            tags=tags,
            managed_by=body.get("managedBy"),
        )
        return group, existing is None

    def get_resource_group(self, subscription_id: str, name: str) -> dict[str, Any]:
        group = self.store.get_resource_group(subscription_id, name)
        if group is None:
            raise group_not_found(name)
        return group

    def delete_resource_group(self, subscription_id: str, name: str) -> None:
        self.get_resource_group(subscription_id, name)
        self.store.delete_resource_group(subscription_id, name)

    # -- generic resources ----------------------------------------------------------------
    def get_resource(self, resource_id: str) -> dict[str, Any]:
        resource = self.store.get_resource(resource_id)
        if resource is None:
            raise resource_not_found(resource_id)
        return resource

    def put_resource(
        self, resource_id: str, body: dict[str, Any], api_version: str
    ) -> tuple[dict[str, Any], bool]:
        parts = parse_arm_id(resource_id)
        if parts.resource_group:
            self.get_resource_group(parts.subscription_id or "", parts.resource_group)
        parent = top_level_parent(resource_id)
        if parent is not None and self.store.get_resource(parent[0]) is None:
            error = parent_not_found(parent[1])
            raise ArmHttpError(404, error["code"], error["message"])
        previous = self.store.get_resource(resource_id)
        problems = resource_errors(
            resource_id, parts.resource_type, parts.name, body.get("location"), previous
        )
        if problems:
            raise as_http_error(problems[0])
        desired = {k: v for k, v in body.items() if k not in ("id", "name", "type")}
        desired = {
            "id": resource_id,
            "name": parts.name,
            "type": parts.resource_type,
            "apiVersion": api_version,
            **desired,
        }
        stored = behaviors.apply_runtime_properties(desired, previous, self.service_context())
        self.store.put_resource(stored)
        return stored, previous is None

    def delete_resource(self, resource_id: str) -> bool:
        """Delete a resource (and what lives under it); False when it did not exist."""
        return bool(self.store.delete_resource(resource_id))

    def invoke_action(self, resource_id: str, action: str, body: Any) -> Any:
        resource = self.get_resource(resource_id)
        answer = behaviors.invoke_action(resource, action, body, self.service_context())
        if answer is None:
            raise ArmHttpError(
                404,
                "InvalidResourceType",
                f"The resource type '{resource['type']}' does not support the action '{action}'.",
            )
        return answer

    # -- providers ------------------------------------------------------------------------
    def provider(self, namespace: str, *, register: bool = False) -> dict[str, Any]:
        if register:
            self.registered_providers.setdefault(namespace.lower(), namespace)
        return {
            "id": f"/subscriptions/{self.config.subscription_id}/providers/{namespace}",
            "namespace": namespace,
            "registrationState": "Registered",
            # Microsoft.Resources needs no registration (the REST specification's
            # GetProviders.json example: RegistrationFree); resource providers do
            "registrationPolicy": "RegistrationFree"
            if namespace.lower() == "microsoft.resources"
            else "RegistrationRequired",
            "resourceTypes": [],
        }

    # -- resource health ------------------------------------------------------------------
    def availability_status(self, resource_id: str) -> dict[str, Any]:
        resource = self.get_resource(resource_id)
        parts = parse_arm_id(resource_id)
        rule = self.faults.resource_rule("health", parts.resource_type, parts.name)
        state = rule.availability_state if rule else "Available"
        summaries = {
            "Available": "There aren't any known Azure platform problems affecting this resource.",
            "Unavailable": "The resource is unavailable (injected by the local ARM's faults).",
            "Degraded": "The resource is degraded (injected by the local ARM's faults).",
            "Unknown": "The health of this resource is not known.",
        }
        now = iso(utc_now())
        properties: dict[str, Any] = {
            "availabilityState": state,
            "summary": summaries[state],
            "reasonType": "" if state == "Available" else "Unplanned",
            "occuredTime": now,
            "reportedTime": now,
            "title": state,
        }
        return {
            "id": f"{resource_id}/providers/Microsoft.ResourceHealth/availabilityStatuses/current",
            "name": "current",
            "type": "Microsoft.ResourceHealth/AvailabilityStatuses",
            "location": resource.get("location"),
            "properties": properties,
        }

    # -- web app health endpoints ---------------------------------------------------------
    def site_status(self, subscription_id: str, group: str, site: str) -> tuple[int, str]:
        """How the web app at ``/sites/{subscription}/{group}/{site}`` answers a request.

        These addresses stand for the apps' public endpoints (``{site}.azurewebsites.net``),
        so, like a real web app, they answer without a token. An address no web app has
        answers 404 "Web Site not found", as App Service's front ends do for a host name
        they do not serve — the same answer whatever part of the address is unknown."""
        resource_id = (
            f"/subscriptions/{subscription_id}/resourceGroups/{group}/providers/"
            f"Microsoft.Web/sites/{site}"
        )
        if self.store.get_resource(resource_id) is None:
            return 404, "Web Site not found."
        rule = self.faults.resource_rule("site_status", "Microsoft.Web/sites", site)
        if rule is not None:
            return rule.status, f"Injected status {rule.status} for web app '{site}'."
        return 200, f"Web app '{site}' is running (local ARM)."


def _norm(location: str) -> str:
    return location.replace(" ", "").lower()


def parse_arm_id(resource_id: str) -> Any:
    try:
        return parse_resource_id(resource_id)
    except Exception:
        raise ArmHttpError(
            400, "InvalidResourceId", f"The resource id '{resource_id}' is not valid."
        ) from None
