"""Every corpus template through the SDK: validate, what-if on an empty group (all Create),
deploy, and what-if again (NoChange, or only the read-only noise a real service shows)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bicep_assets.armlocal.engine import DeploymentContext, Expansion, ResourceGroup, expand
from bicep_assets.armlocal.engine.resource_ids import ancestors
from bicep_assets.armlocal.engine.sample_parameters import sample_parameters

from ..engine.test_corpus import corpus_cases
from .conftest import deploy_body


def seed_preconditions(resources: Any, expansion: Expansion) -> set[str]:
    """Create (through the SDK) what ``expansion`` expects to exist; their lowercase ids."""
    declared = {r.id.lower() for r in expansion.all_resources()}
    wanted: dict[str, str] = {}

    def walk(level: Expansion) -> None:
        for resource in level.existing:
            for parent_id, _, _ in ancestors(resource.id):
                wanted.setdefault(parent_id.lower(), parent_id)
            wanted.setdefault(resource.id.lower(), resource.id)
        for resource in level.resources:
            for parent_id, _, _ in ancestors(resource.id):
                if parent_id.lower() not in declared:
                    wanted.setdefault(parent_id.lower(), parent_id)
            if resource.nested is not None:
                walk(resource.nested)

    walk(expansion)
    for resource_id in wanted.values():
        resources.resources.begin_create_or_update_by_id(
            resource_id, {"location": "westeurope", "properties": {}}, api_version="2023-01-01"
        ).result()
    return set(wanted)


@pytest.mark.parametrize("path", corpus_cases())
def test_corpus_template_round_trip(path: Path, deployments: Any, resources: Any) -> None:
    template = json.loads(path.read_text(encoding="utf-8"))
    group = "rg-corpus"
    resources.resource_groups.create_or_update(group, {"location": "westeurope"})
    parameters = sample_parameters(template)
    # a default of utcNow() differs between the deploy and the second what-if (real ARM would
    # show that drift too); pin such parameters so the round trip compares like with like
    for name, declared in (template.get("parameters") or {}).items():
        if "utcnow(" in json.dumps(declared.get("defaultValue", "")).lower():
            parameters[name] = {"value": "2026-01-01 00:00:00Z"}
    body = deploy_body(template, parameters)
    ops = deployments.deployments
    # a child module deploys under parents that exist already (ARM would refuse otherwise):
    # create what the template declares `existing` (at any nesting level) and the parents of
    # the child resources it deploys, before the first what-if
    context = DeploymentContext(resource_group=ResourceGroup(group, "westeurope"))
    seeded = seed_preconditions(resources, expand(template, parameters, context))

    validated = ops.begin_validate(group, "corpus", body).result()
    assert validated.properties.provisioning_state == "Succeeded"

    first = ops.begin_what_if(group, "corpus", body).result().as_dict()
    for change in first["properties"]["changes"]:
        # the seeded parents are in the group but not deployed by the template: Ignore
        expected = (
            {"Ignore"} if change["resourceId"].lower() in seeded else {"Create", "Unsupported"}
        )
        assert change["changeType"] in expected, change

    deployed = ops.begin_create_or_update(group, "corpus", body).result()
    assert deployed.properties.provisioning_state == "Succeeded"

    second = ops.begin_what_if(group, "corpus", body).result().as_dict()
    for change in second["properties"]["changes"]:
        if change["changeType"] == "Unsupported" or change["resourceId"].lower() in seeded:
            continue
        assert change["changeType"] == "NoChange", change
        noise = {d["propertyChangeType"] for d in change.get("delta") or []}
        assert noise <= {"NoEffect"}, change
