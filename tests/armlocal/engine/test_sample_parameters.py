"""Generating minimal valid parameters: unit cases and every template of the shared corpus."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bicep_assets.armlocal.engine.errors import TemplateError
from bicep_assets.armlocal.engine.parameters import resolve_parameters, validate_parameter
from bicep_assets.armlocal.engine.sample_parameters import (
    SAMPLE_GUID,
    SAMPLE_RESOURCE_ID,
    effective_schema,
    sample_parameters,
    sample_value,
)
from bicep_assets.armlocal.engine.types import is_nullable

CORPUS = Path(__file__).resolve().parents[3] / ".." / "shared" / "arm-corpus"


def _corpus_cases() -> list[Any]:
    if not CORPUS.is_dir():
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"no ARM corpus at {CORPUS}"))]
    paths = sorted(CORPUS.glob("**/main.json"))
    return [pytest.param(p, id=str(p.parent.relative_to(CORPUS))) for p in paths]


@pytest.mark.parametrize("path", _corpus_cases())
def test_corpus_template_accepts_its_sample_parameters(path: Path) -> None:
    template = json.loads(path.read_text(encoding="utf-8"))
    declared = template.get("parameters", {})
    definitions = template.get("definitions", {})
    sample = sample_parameters(template)

    required = {
        name
        for name, d in declared.items()
        if "defaultValue" not in d and not is_nullable(d, definitions, name)
    }
    assert set(sample) == required
    values = resolve_parameters(template, sample, lambda name, default: default)
    for name in required:
        assert values[name] == sample[name]["value"]
        assert validate_parameter(template, name, values[name]) == values[name]


def test_the_corpus_is_there_when_the_shared_folder_is() -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"no ARM corpus at {CORPUS}")
    assert len(list(CORPUS.glob("**/main.json"))) >= 40


SAMPLES: list[tuple[str, str, dict[str, Any], Any]] = [
    ("location", "location", {"type": "string"}, "westeurope"),
    ("resource-id", "subnetResourceId", {"type": "string"}, SAMPLE_RESOURCE_ID),
    ("id-suffix", "workspaceId", {"type": "string"}, SAMPLE_RESOURCE_ID),
    ("principal-guid", "principalId", {"type": "string"}, SAMPLE_GUID),
    ("name", "name", {"type": "string"}, "sample"),
    ("parent-name", "serverName", {"type": "string"}, "server"),
    ("name-padded", "name", {"type": "string", "minLength": 8}, "sample00"),
    ("name-cut", "name", {"type": "string", "maxLength": 3}, "sam"),
    ("long-name-fits", "storageAccountName", {"type": "string", "maxLength": 24}, "storageaccount"),
    ("id-too-long-for-limit", "vnetId", {"type": "string", "maxLength": 10}, "sample"),
    ("ip-address", "startIpAddress", {"type": "string"}, "10.0.0.1"),
    ("password", "adminPassword", {"type": "securestring"}, "Sample-Passw0rd!"),
    ("user-name", "adminUsername", {"type": "securestring"}, "azureuser"),
    (
        "allowed-first",
        "osType",
        {"type": "string", "allowedValues": ["Windows", "Linux"]},
        "Windows",
    ),
    ("allowed-array", "zones", {"type": "array", "allowedValues": [1, 2, 3]}, [1]),
    ("int-default", "count", {"type": "int"}, 1),
    ("int-min", "prefixLength", {"type": "int", "minValue": 21, "maxValue": 127}, 21),
    ("int-max-below-one", "offset", {"type": "int", "maxValue": -3}, -3),
    ("bool", "enabled", {"type": "bool"}, False),
    ("object", "settings", {"type": "object"}, {}),
    ("array", "containers", {"type": "array"}, []),
    (
        "array-min-length-ids",
        "storageAccountIds",
        {"type": "array", "items": {"type": "string"}, "minLength": 2},
        [SAMPLE_RESOURCE_ID, SAMPLE_RESOURCE_ID],
    ),
    (
        "tuple",
        "pair",
        {"type": "array", "prefixItems": [{"type": "int"}, {"type": "bool"}], "items": False},
        [1, False],
    ),
    (
        "required-properties-only",
        "rule",
        {"$ref": "#/definitions/ruleType"},
        {"name": "sample", "priority": 100, "access": "Allow"},
    ),
    (
        "discriminated-union",
        "credential",
        {"$ref": "#/definitions/credentialType"},
        {"kind": "password", "user": "azureuser", "password": "Sample-Passw0rd!"},
    ),
    (
        "nested-ref-with-constraint",
        "port",
        {"$ref": "#/definitions/portType", "minValue": 443},
        443,
    ),
]

DEFINITIONS: dict[str, Any] = {
    "ruleType": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "priority": {"type": "int", "minValue": 100, "maxValue": 4096},
            "access": {"type": "string", "allowedValues": ["Allow", "Deny"]},
            "description": {"type": "string", "nullable": True},
            "sources": {"type": "array", "items": {"type": "string"}, "nullable": True},
        },
    },
    "credentialType": {
        "type": "object",
        "discriminator": {
            "propertyName": "kind",
            "mapping": {
                "password": {
                    "type": "object",
                    "properties": {
                        "kind": {"type": "string", "allowedValues": ["password"]},
                        "user": {"type": "string"},
                        "password": {"type": "securestring"},
                    },
                },
                "certificate": {
                    "type": "object",
                    "properties": {"thumbprint": {"type": "string"}},
                },
            },
        },
    },
    "portType": {"type": "int", "minValue": 1, "maxValue": 65535},
    "treeType": {
        "type": "object",
        "properties": {"child": {"$ref": "#/definitions/treeType"}},
    },
}


@pytest.mark.parametrize(
    ("name", "schema", "expected"), [c[1:] for c in SAMPLES], ids=[c[0] for c in SAMPLES]
)
def test_sample_values(name: str, schema: dict[str, Any], expected: Any) -> None:
    value = sample_value(schema, DEFINITIONS, name)
    assert value == expected
    template = {"definitions": DEFINITIONS, "parameters": {name: schema}}
    assert resolve_parameters(template, {name: {"value": value}}, lambda n, d: d) == {name: value}


def test_only_required_parameters_are_sampled() -> None:
    template = {
        "parameters": {
            "name": {"type": "string"},
            "location": {"type": "string", "defaultValue": "[resourceGroup().location]"},
            "tags": {"type": "object", "nullable": True},
            "lock": {"$ref": "#/definitions/lockType"},
        },
        "definitions": {"lockType": {"type": "object", "nullable": True}},
    }
    assert sample_parameters(template) == {"name": {"value": "sample"}}


def test_a_type_that_requires_itself_has_no_sample() -> None:
    with pytest.raises(TemplateError, match=r"No finite sample value exists for 'tree\.child"):
        sample_value({"$ref": "#/definitions/treeType"}, DEFINITIONS, "tree")


def test_effective_schema_keeps_the_tightest_bounds() -> None:
    definitions = {"base": {"type": "string", "minLength": 2, "maxLength": 10, "nullable": True}}
    merged = effective_schema(
        {"$ref": "#/definitions/base", "minLength": 1, "maxLength": 5}, definitions
    )
    assert merged == {"type": "string", "minLength": 2, "maxLength": 5, "nullable": True}
