"""The results of expanding a template: the expansion and its resources, in deployment order."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from . import limits
from .context import DeploymentContext, ResourceState
from .evaluator import EvalContext, TemplateScope
from .outputs import evaluate_outputs

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


class StatefulResolver(Protocol):
    """What an :class:`Expansion` asks of the resolver that made it, once resources exist."""

    def with_state(self, state: ResourceState | None, *, deployed: bool) -> StatefulResolver: ...

    def reevaluate(self, resource: ExpandedResource) -> ExpandedResource: ...


@dataclass
class Expansion:
    """A template expanded for one deployment context. See module docs."""

    context: DeploymentContext
    language_version: str
    parameters: dict[str, Any]
    secure_parameters: frozenset[str]
    resources: list[ExpandedResource]  # to deploy, in deployment order
    existing: list[ExpandedResource] = field(default_factory=list)
    skipped: list[ExpandedResource] = field(default_factory=list)  # condition false
    template_hash: str = ""
    _scope: TemplateScope | None = field(default=None, repr=False)
    _outputs: dict[str, Any] = field(default_factory=dict, repr=False)
    _resolver: StatefulResolver | None = field(default=None, repr=False)
    # what of it is computed from secure values (``secret_taint.SecretTaint``), once known
    secret_taint: Any = field(default=None, repr=False, compare=False)

    def redacted_parameters(self) -> dict[str, Any]:
        """Parameter values with secure ones removed (safe to store and log)."""
        return {
            name: (None if name in self.secure_parameters else value)
            for name, value in self.parameters.items()
        }

    def all_resources(self) -> list[ExpandedResource]:
        """Every resource to deploy, nested deployments' resources after their deployment."""
        out: list[ExpandedResource] = []
        for resource in self.resources:
            out.append(resource)
            if resource.nested is not None:
                out.extend(resource.nested.all_resources())
        return out

    def evaluate_outputs(
        self, state: ResourceState | None = None, *, deployed: bool = True
    ) -> dict[str, dict[str, Any]]:
        """The template's outputs ``{name: {"type", "value"}}``.

        With ``state`` (after deployment) references read the deployed resources; without
        it, values that need them stay as expression text.
        """
        assert self._scope is not None and self._resolver is not None
        resolver = self._resolver.with_state(state, deployed=deployed and state is not None)
        scope = self._scope.with_resources(resolver)
        with limits.evaluation():
            return evaluate_outputs(EvalContext(scope), self._outputs)

    def evaluate_resource(
        self, resource: ExpandedResource, state: ResourceState
    ) -> ExpandedResource:
        """Re-evaluate ``resource``'s body against ``state``, as the deployment executor does
        just before it deploys the resource (its dependencies exist in ``state`` by then)."""
        assert self._resolver is not None
        resolver = self._resolver.with_state(state, deployed=True)
        with limits.evaluation():
            return resolver.reevaluate(resource)
