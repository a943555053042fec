"""Every template of the shared corpus (compiled by the official Bicep compiler) expands,
with generated minimal parameters, into a non-empty list of resources in a valid order."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bicep_assets.armlocal.engine import DeploymentContext, Expansion, expand
from bicep_assets.armlocal.engine.sample_parameters import sample_parameters

CORPUS = Path(__file__).resolve().parents[3] / ".." / "shared" / "arm-corpus"


def corpus_cases() -> list[Any]:
    if not CORPUS.is_dir():
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"no ARM corpus at {CORPUS}"))]
    paths = sorted(CORPUS.glob("**/main.json"))
    return [pytest.param(p, id=str(p.parent.relative_to(CORPUS))) for p in paths]


def assert_ordered(expansion: Expansion) -> None:
    seen: set[str] = set()
    for resource in expansion.resources:
        missing = [d for d in resource.depends_on if d.lower() not in seen]
        assert not missing, f"{resource.id} comes before its dependencies {missing}"
        seen.add(resource.id.lower())
        if resource.nested is not None:
            assert_ordered(resource.nested)


def test_the_corpus_has_all_44_templates() -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"no ARM corpus at {CORPUS}")
    assert len(list(CORPUS.glob("**/main.json"))) == 44


@pytest.mark.parametrize("path", corpus_cases())
def test_corpus_template_expands(path: Path) -> None:
    template = json.loads(path.read_text(encoding="utf-8"))
    parameters = sample_parameters(template)
    expansion = expand(template, parameters, DeploymentContext(deployment_name="corpus"))
    declared = template.get("resources") or {}
    # one corpus module (avm-common-types) only exports types: it declares no resource
    assert bool(expansion.resources) == bool(declared), "no resources to deploy"
    assert_ordered(expansion)
    ids = [r.id for r in expansion.all_resources()]
    assert len(ids) == len({i.lower() for i in ids}), "duplicate resource ids"
    expansion.evaluate_outputs()  # outputs evaluate (deferred ones stay as text)
