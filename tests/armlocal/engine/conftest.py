"""Helpers for engine tests: building templates and a dictionary-backed resource state."""

from __future__ import annotations

from typing import Any

import pytest

SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
SUB = "00000000-0000-0000-0000-000000000000"
RG_ID = f"/subscriptions/{SUB}/resourceGroups/rg"


def template(resources: Any = (), *, language: str | None = None, **sections: Any) -> dict:
    """A deployment template with ``resources`` and any other sections given."""
    body: dict[str, Any] = {"$schema": SCHEMA, "contentVersion": "1.0.0.0"}
    if language:
        body["languageVersion"] = language
    body["resources"] = resources if isinstance(resources, dict) else list(resources)
    body.update(sections)
    return body


def nested(name: str, template: dict[str, Any], **placement: Any) -> dict[str, Any]:
    """A nested deployment of ``template`` as Bicep compiles a module (inner scope), placed by
    ``placement`` (``scope``, ``subscriptionId``, ``resourceGroup``, ``location``)."""
    return {
        "type": "Microsoft.Resources/deployments",
        "apiVersion": "2022-09-01",
        "name": name,
        **placement,
        "properties": {
            "mode": "Incremental",
            "expressionEvaluationOptions": {"scope": "inner"},
            "template": template,
        },
    }


def rid(rtype: str, *names: str) -> str:
    """A resource id in the default test resource group."""
    namespace, *types = rtype.split("/")
    path = "/".join(f"{t}/{n}" for t, n in zip(types, names, strict=True))
    return f"{RG_ID}/providers/{namespace}/{path}"


class DictState:
    """A ResourceState over a dict of resource id → ARM GET body (ids matched ignoring case)."""

    def __init__(self, resources: dict[str, dict[str, Any]] | None = None) -> None:
        self.resources = {k.lower(): v for k, v in (resources or {}).items()}
        self.actions: list[tuple[str, str]] = []

    def get_resource(self, resource_id: str) -> dict[str, Any] | None:
        return self.resources.get(resource_id.lower())

    def invoke_action(
        self, resource_id: str, action: str, api_version: str | None, body: Any
    ) -> Any:
        self.actions.append((resource_id, action))
        if resource_id.lower() not in self.resources:
            return None
        return {
            "keys": [{"keyName": "key1", "value": f"secret-of-{resource_id.rsplit('/', 1)[-1]}"}]
        }


@pytest.fixture
def state() -> DictState:
    return DictState()
