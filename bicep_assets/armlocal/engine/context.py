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


MANAGEMENT_GROUP_PREFIX = "/providers/Microsoft.Management/managementGroups/"
TENANT_ROOT_DISPLAY_NAME = "Tenant Root Group"

ScopeLevel = Literal["tenant", "managementGroup", "subscription", "resourceGroup"]


@dataclass(frozen=True)
class ManagementGroup:
    """A management group as ``managementGroup()`` shows it (parent ``None``: the root)."""

    name: str
    display_name: str | None = None
    parent_name: str | None = None
    parent_display_name: str | None = None
    updated_time: str = "1970-01-01T00:00:00Z"
    updated_by: str = ""
    version: int = 1

    @property
    def id(self) -> str:
        return f"{MANAGEMENT_GROUP_PREFIX}{self.name}"

    @classmethod
    def from_record(cls, name: str, record: dict[str, Any] | None) -> ManagementGroup:
        """From a ``Microsoft.Management/managementGroups`` GET body (or just the name)."""
        if not record:
            return cls(name=name)
        props = record.get("properties") or {}
        details = props.get("details") or {}
        parent = details.get("parent") or {}
        return cls(
            name=str(record.get("name") or name),
            display_name=props.get("displayName"),
            parent_name=parent.get("name"),
            parent_display_name=parent.get("displayName"),
            updated_time=str(details.get("updatedTime") or cls.updated_time),
            updated_by=str(details.get("updatedBy") or ""),
            version=int(details.get("version") or 1),
        )


class LinkLoader(Protocol):
    """Fetches what a nested deployment links to (the service's ``LinkLoader``)."""

    def __call__(
        self, link: dict[str, Any], parent: dict[str, Any] | None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """(templateLink, the parent's templateLink) → (template, the link as
        ``deployment()`` reports it)."""
        ...

    def parameters(self, link: dict[str, Any]) -> dict[str, Any]:
        """parametersLink → the ``parameters`` of the parameters file it names."""
        ...


@dataclass(frozen=True)
class DeploymentContext:
    """The tenant, management group, subscription, resource group and deployment a template
    is expanded in.

    The scope level follows from the fields: a ``resource_group`` → a resource group
    deployment; else a ``management_group`` → a management group deployment; else
    ``at_tenant`` → a tenant deployment; else a subscription deployment. ``location`` is the
    deployment's location at the three levels above the resource group.
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
    management_group: ManagementGroup | None = None
    at_tenant: bool = False
    # fetches a nested deployment's linked template (templateLink) and parameters file
    # (parametersLink); None: links are not followed
    link_loader: LinkLoader | None = field(default=None, compare=False, repr=False)

    @property
    def level(self) -> ScopeLevel:
        if self.resource_group is not None:
            return "resourceGroup"
        if self.management_group is not None:
            return "managementGroup"
        if self.at_tenant:
            return "tenant"
        return "subscription"

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
        """The id of the scope resources are deployed into: the resource group, the
        subscription, the management group, or ``""`` for the tenant."""
        level = self.level
        if level == "tenant":
            return ""
        if level == "managementGroup":
            assert self.management_group is not None
            return self.management_group.id
        return self.resource_group_id or self.subscription_resource_id
