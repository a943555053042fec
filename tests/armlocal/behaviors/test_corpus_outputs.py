"""Every corpus template's outputs (and the properties its resources read from other resources)
evaluate once its resources are stored with the runtime properties the services add.

This is the deployment runner's loop (``deployments.py``) without the server: each resource is
re-evaluated against the state its dependencies left, stored as
``apply_runtime_properties(resource.to_arm(), previous, ctx)`` with the service's implicit
children, nested deployments run recursively and are stored with their outputs (as the store
answers ``reference()`` of a deployment), and then the outputs are evaluated strictly.
A child module deploys under parents that already exist (ARM refuses otherwise), so the
resources a template declares ``existing`` and the parents of everything it deploys are
created first, with an otherwise empty body — whatever a template reads from them beyond
what it sets must come from the service.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from bicep_assets.armlocal.engine import DeploymentContext, Expansion, ResourceGroup, expand
from bicep_assets.armlocal.engine.resource_ids import ancestors
from bicep_assets.armlocal.engine.sample_parameters import sample_parameters
from bicep_assets.armlocal.service import behaviors
from bicep_assets.armlocal.service.records import DEPLOYMENT_TYPE, redacted_outputs

from ..engine.test_corpus import corpus_cases
from .conftest import CTX

GROUP = ResourceGroup("rg-corpus", "westeurope")


class DictState:
    """The engine's ``ResourceState`` over a dict of stored bodies, keyed by lower-case id."""

    def __init__(self) -> None:
        self.resources: dict[str, dict[str, Any]] = {}

    def get_resource(self, resource_id: str) -> dict[str, Any] | None:
        found = self.resources.get(resource_id.lower())
        return copy.deepcopy(found) if found is not None else None

    def invoke_action(
        self, resource_id: str, action: str, api_version: str | None, body: Any
    ) -> Any:
        found = self.resources.get(resource_id.lower())
        return None if found is None else behaviors.invoke_action(found, action, body, CTX)

    def put(self, body: dict[str, Any]) -> None:
        self.resources[body["id"].lower()] = body
        for child in behaviors.implicit_children(body, CTX):
            self.resources.setdefault(child["id"].lower(), child)

    def seed(self, resource_id: str, resource_type: str, name: str) -> None:
        """A resource that exists before the deployment, created with an empty body."""
        if resource_id.lower() in self.resources:
            return
        desired = {
            "id": resource_id,
            "name": name,
            "type": resource_type,
            "location": GROUP.location,
            "properties": {},
        }
        self.put(behaviors.apply_runtime_properties(desired, None, CTX))


def _seed_preconditions(expansion: Expansion, state: DictState) -> None:
    declared = {r.id.lower() for r in expansion.resources}
    for resource in expansion.existing:
        for parent in ancestors(resource.id):
            state.seed(*parent)
        state.seed(resource.id, resource.type, resource.name)
    for resource in expansion.resources:
        for parent_id, parent_type, name in ancestors(resource.id):
            if parent_id.lower() not in declared:
                state.seed(parent_id, parent_type, name)


def deploy(expansion: Expansion, state: DictState) -> dict[str, dict[str, Any]]:
    """Deploy ``expansion`` into ``state`` as the runner does; its outputs, evaluated strictly."""
    _seed_preconditions(expansion, state)
    for resource in expansion.resources:
        evaluated = expansion.evaluate_resource(resource, state)
        if resource.is_deployment:
            assert evaluated.nested is not None, evaluated.nested_deferred_reason
            outputs = deploy(evaluated.nested, state)
            record = {
                "id": resource.id,
                "name": resource.name,
                "type": DEPLOYMENT_TYPE,
                "properties": {
                    "provisioningState": "Succeeded",
                    "outputs": redacted_outputs(outputs),
                },
            }
            state.resources[resource.id.lower()] = record
            continue
        previous = state.get_resource(evaluated.id)
        state.put(behaviors.apply_runtime_properties(evaluated.to_arm(), previous, CTX))
    return expansion.evaluate_outputs(state)


@pytest.mark.parametrize("path", corpus_cases())
def test_corpus_outputs_evaluate_after_deployment(path: Path) -> None:
    template = json.loads(path.read_text(encoding="utf-8"))
    context = DeploymentContext(resource_group=GROUP, deployment_name="corpus")
    expansion = expand(template, sample_parameters(template), context)
    outputs = deploy(expansion, DictState())  # raises on a missing resource or property
    unconditional = [
        name
        for name, output in (template.get("outputs") or {}).items()
        if "condition" not in output
    ]
    assert [name for name in unconditional if name not in outputs] == []


def test_parents_of_child_and_extension_resources() -> None:
    group = "/subscriptions/s/resourceGroups/rg/providers"
    database = f"{group}/Microsoft.Sql/servers/sql/databases/db"
    assignment = f"{database}/providers/Microsoft.Authorization/roleAssignments/ra"
    assert ancestors(f"{database}/backupShortTermRetentionPolicies/default") == [
        (f"{group}/Microsoft.Sql/servers/sql", "Microsoft.Sql/servers", "sql"),
        (database, "Microsoft.Sql/servers/databases", "sql/db"),
    ]
    assert ancestors(assignment) == [
        (f"{group}/Microsoft.Sql/servers/sql", "Microsoft.Sql/servers", "sql"),
        (database, "Microsoft.Sql/servers/databases", "sql/db"),
    ]
    assert ancestors(f"{group}/Microsoft.Storage/storageAccounts/st") == []
