"""The results of expanding a template: expanded resources, in deployment order."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .expansion import Expansion

# Keys of a resource declaration that steer the engine and are not part of the resource.
META_KEYS = frozenset(
    {
        "condition",
        "copy",
        "dependsOn",
        "comments",
        "existing",
        "resources",
        "scope",
        "name",
        "type",
        "apiVersion",
        "import",
        "subscriptionId",
        "resourceGroup",
        "metadata",
        "symbolicName",
    }
)


@dataclass
class ExpandedResource:
    """One resource instance of a template, fully evaluated (as far as it can be before
    deployment: see ``deferred``)."""

    key: str  # unique in its template: "resources['sa'][2]", "resources[0]"
    symbolic_name: str | None  # languageVersion 2.0 symbolic name
    id: str
    type: str
    name: str
    api_version: str | None
    scope_id: str  # the scope it lives in: resource group, subscription, or a resource id
    existing: bool = False
    copy_name: str | None = None
    copy_index: int | None = None
    body: dict[str, Any] = field(default_factory=dict)  # location, tags, sku, properties…
    depends_on: list[str] = field(default_factory=list)  # ids of template resources
    deferred: bool = False  # some property waits for a resource of this deployment
    nested: Expansion | None = None  # the inner template of a Microsoft.Resources/deployments
    nested_deferred_reason: str | None = None  # why ``nested`` could not be expanded yet

    @property
    def properties(self) -> Any:
        return self.body.get("properties")

    @property
    def location(self) -> str | None:
        value = self.body.get("location")
        return value if isinstance(value, str) else None

    @property
    def is_deployment(self) -> bool:
        return self.type.lower() == "microsoft.resources/deployments"

    def to_arm(self) -> dict[str, Any]:
        """The resource as ARM's GET returns it: id, name, type, apiVersion and the body."""
        result: dict[str, Any] = {"id": self.id, "name": self.name, "type": self.type}
        if self.api_version:
            result["apiVersion"] = self.api_version
        result.update(self.body)
        return result
