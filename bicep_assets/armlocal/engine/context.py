"""Where a template is deployed: the deployment context the engine evaluates against."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal, Protocol

DEFAULT_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
DEFAULT_TENANT = "00000000-0000-0000-0000-000000000001"


class ResourceState(Protocol):
    """A read-only view of the resources that exist now (the local ARM's store implements it).

    ``get_resource`` returns a resource as ARM's GET returns it (``id``, ``name``, ``type``,
    ``location``, ``tags``, ``sku``, ``kind``, ``identity``, ``properties``, ``apiVersion``)
    or ``None``; ``invoke_action`` answers ``list*`` functions (``listKeys`` …).
    """

    def get_resource(self, resource_id: str) -> dict[str, Any] | None: ...

    def invoke_action(
        self, resource_id: str, action: str, api_version: str | None, body: Any
    ) -> Any: ...


class EmptyState:
    """No resources exist yet (a first deployment into an empty group)."""

    def get_resource(self, resource_id: str) -> dict[str, Any] | None:
        return None

    def invoke_action(
        self, resource_id: str, action: str, api_version: str | None, body: Any
    ) -> Any:
        return None


@dataclass(frozen=True)
class ResourceGroup:
    name: str = "rg"
    location: str = "westeurope"
    tags: dict[str, str] = field(default_factory=dict)
    managed_by: str | None = None


@dataclass(frozen=True)
class DeploymentContext:
    """The tenant, subscription, resource group and deployment a template is expanded in.

    ``resource_group=None`` means a subscription-scope deployment (then ``location`` is the
    deployment's location).
    """

    subscription_id: str = DEFAULT_SUBSCRIPTION
    tenant_id: str = DEFAULT_TENANT
    subscription_display_name: str = "Local ARM subscription"
    resource_group: ResourceGroup | None = field(default_factory=ResourceGroup)
    deployment_name: str = "deployment"
    mode: Literal["Incremental", "Complete"] = "Incremental"
    location: str | None = None
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    state: ResourceState = field(default_factory=EmptyState)
    deployer_object_id: str = "00000000-0000-0000-0000-00000000d3b1"
    template_link: dict[str, Any] | None = None

    @property
    def subscription_resource_id(self) -> str:
        return f"/subscriptions/{self.subscription_id}"

    @property
    def resource_group_id(self) -> str | None:
        if self.resource_group is None:
            return None
        return f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group.name}"

    @property
    def scope_id(self) -> str:
        """The id of the scope resources are deployed into (resource group or subscription)."""
        return self.resource_group_id or self.subscription_resource_id
