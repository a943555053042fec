"""ARM-level static checks: one small template per case with exact codes, severities and
locations; the shared corpus (compiled by the official Bicep compiler) passes without
errors; run-config parameter overrides are converted and type-checked."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from bicep_assets.armlocal.engine import TemplateError, expand
from bicep_assets.armlocal.engine.sample_parameters import sample_parameters
from bicep_assets.armlocal.engine.template import declarations, walk_declarations
from bicep_assets.pipeline.dependency_cycles import find_cycles, label
from bicep_assets.pipeline.lint import api_versions_of
from bicep_assets.pipeline.static_checks import check_parameter_overrides, static_checks

SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "arm-corpus"
REPO = Path(__file__).resolve().parents[2]


def template(resources: Any = (), *, language: str | None = None, **sections: Any) -> dict:
    body: dict[str, Any] = {"$schema": SCHEMA, "contentVersion": "1.0.0.0"}
    if language:
        body["languageVersion"] = language
    body["resources"] = resources if isinstance(resources, dict) else list(resources)
    body.update(sections)
    return body


def storage(name: str = "sa1", **extra: Any) -> dict[str, Any]:
    return {
        "type": "Microsoft.Storage/storageAccounts",
        "apiVersion": "2023-01-01",
        "name": name,
        "location": "westeurope",
        **extra,
    }


def vnet(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "Microsoft.Network/virtualNetworks",
        "apiVersion": "2023-04-01",
        "name": name,
        **extra,
    }


def subnet(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "Microsoft.Network/virtualNetworks/subnets",
        "apiVersion": "2023-04-01",
        "name": name,
        **extra,
    }


def nested(inner: dict[str, Any], scope: str | None, **properties: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"mode": "Incremental", "template": inner, **properties}
    if scope:
        body["expressionEvaluationOptions"] = {"scope": scope}
    return {
        "type": "Microsoft.Resources/deployments",
        "apiVersion": "2022-09-01",
        "name": "inner-deployment",
        "properties": body,
    }


NAME = {"name": {"type": "string", "defaultValue": "demo"}}
PW = {"pw": {"type": "securestring"}}
GREET = [
    {
        "namespace": "ns",
        "members": {
            "greet": {
                "parameters": [{"name": "who", "type": "string"}],
                "output": {"type": "string", "value": "[format('hi {0}', parameters('who'))]"},
            }
        },
    }
]

# (template, parameters, secure_names, expected [(severity, code, location)], message fragment)
CASES: list[Any] = [
    pytest.param(
        template(variables={"v": "[concat('a', ]"}),
        {},
        (),
        [("error", "arm-expression-syntax", "variables['v']")],
        "the expression ended unexpectedly",
        id="syntax-error",
    ),
    pytest.param(
        template(variables={"v": "[[not an expression(]", "w": "plain [text]"}),
        {},
        (),
        [],
        "",
        id="escaped-brackets-are-text",
    ),
    pytest.param(
        template({"sa": storage(properties={"x": "[toLowr('A')]"})}, language="2.0"),
        {},
        (),
        [("error", "arm-unknown-function", "resources['sa'].properties.x")],
        "The template function 'toLowr' is not valid. Did you mean 'toLower'?",
        id="unknown-function",
    ),
    pytest.param(
        template([storage(properties={"x": "[toLower()]"})]),
        {},
        (),
        [("error", "arm-function-arity", "resources[0].properties.x")],
        "'toLower' expects exactly 1 parameter, but 0 were provided",
        id="wrong-arity",
    ),
    pytest.param(
        template(
            [storage(properties={"x": "[parameters('nme')]"})],
            parameters=NAME,
        ),
        {},
        (),
        [("error", "arm-undefined-parameter", "resources[0].properties.x")],
        "The template parameter 'nme' is not declared. Did you mean 'name'?",
        id="undefined-parameter",
    ),
    pytest.param(
        template([storage(name="[parameters('NAME')]")], parameters=NAME),
        {},
        (),
        [],
        "",
        id="parameter-names-ignore-case",
    ),
    pytest.param(
        template(variables={"a": "x", "b": "[variables('c')]"}),
        {},
        (),
        [("error", "arm-undefined-variable", "variables['b']")],
        "The template variable 'c' is not declared.",
        id="undefined-variable",
    ),
    pytest.param(
        template(
            variables={
                "copy": [{"name": "items", "count": 2, "input": "[copyIndex('items')]"}],
                "all": "[variables('items')]",
            }
        ),
        {},
        (),
        [],
        "",
        id="copy-variables-are-declared",
    ),
    pytest.param(
        template(
            [storage(properties={"x": "[ns.greet('x')]"})],
            functions=GREET,
        ),
        {},
        (),
        [],
        "",
        id="user-function-own-parameters",
    ),
    pytest.param(
        template(
            parameters=NAME,
            functions=[
                {
                    "namespace": "ns",
                    "members": {
                        "f": {
                            "parameters": [],
                            "output": {"type": "string", "value": "[parameters('name')]"},
                        }
                    },
                }
            ],
        ),
        {},
        (),
        [("error", "arm-undefined-parameter", "functions[0].members['f'].output.value")],
        "The user-defined function 'ns.f' has no parameter 'name'",
        id="user-function-cannot-read-template-parameters",
    ),
    pytest.param(
        template(
            variables={"v": "x"},
            functions=[
                {
                    "namespace": "ns",
                    "members": {"f": {"output": {"type": "string", "value": "[variables('v')]"}}},
                }
            ],
        ),
        {},
        (),
        [("error", "arm-undefined-variable", "functions[0].members['f'].output.value")],
        "functions cannot read template variables",
        id="user-function-cannot-read-variables",
    ),
    pytest.param(
        template([storage(properties={"x": "[ns.grete('x')]"})], functions=GREET),
        {},
        (),
        [("error", "arm-unknown-function", "resources[0].properties.x")],
        "The user-defined function 'ns.grete' is not declared in the template's 'functions' "
        "section. Did you mean 'ns.greet'?",
        id="unknown-user-function",
    ),
    pytest.param(
        template([storage(metadata={"description": "[not checked("}, comments="[nor this(")]),
        {},
        (),
        [],
        "",
        id="metadata-and-comments-are-not-expressions",
    ),
    pytest.param(
        template(
            {
                "a": storage("sa1", dependsOn=["b"]),
                "b": storage("sa2", dependsOn=["a"]),
                "c": storage("sa3", dependsOn=["a", "b"]),
            },
            language="2.0",
        ),
        {},
        (),
        [("error", "arm-dependency-cycle", "resources['a'].dependsOn")],
        "The resources 'a' -> 'b' -> 'a' depend on each other in a cycle",
        id="cycle-of-symbolic-names",
    ),
    pytest.param(
        template(
            [
                vnet(
                    "[parameters('name')]",
                    dependsOn=["[resourceId('Microsoft.Network/virtualNetworks', 'hub')]"],
                ),
                vnet(
                    "hub",
                    dependsOn=[
                        "[resourceId('Microsoft.Network/virtualNetworks', format('{0}-spoke', "
                        "parameters('name')))]"
                    ],
                ),
                vnet(
                    "[format('{0}-spoke', parameters('NAME'))]",
                    dependsOn=[
                        "[resourceId('Microsoft.Network/virtualNetworks', parameters('name'))]"
                    ],
                ),
            ],
            parameters=NAME,
        ),
        {},
        (),
        [("error", "arm-dependency-cycle", "resources[0].dependsOn")],
        "The resources '[parameters('name')]' -> 'hub' -> "
        "'[format('{0}-spoke', parameters('NAME'))]' -> '[parameters('name')]'",
        id="cycle-through-resource-ids",
    ),
    pytest.param(
        template(
            [
                vnet(
                    "[parameters('name')]",
                    dependsOn=[
                        "[resourceId('Microsoft.Network/virtualNetworks/subnets', "
                        "parameters('name'), 'x')]"
                    ],
                ),
                subnet(
                    "[concat(parameters('name'), '/x')]",
                    dependsOn=[
                        "[resourceId('Microsoft.Network/virtualNetworks', parameters('name'))]"
                    ],
                ),
            ],
            parameters=NAME,
        ),
        {},
        (),
        [("error", "arm-dependency-cycle", "resources[0].dependsOn")],
        "'[parameters('name')]' -> '[concat(parameters('name'), '/x')]' -> '[parameters('name')]'",
        id="cycle-through-a-child-name-built-with-concat",
    ),
    pytest.param(
        template(
            [
                {
                    "type": "Microsoft.Sql/servers",
                    "apiVersion": "2023-05-01-preview",
                    "name": "[parameters('name')]",
                    "dependsOn": [
                        "[resourceId('Microsoft.Sql/servers/databases', parameters('name'), 'db')]"
                    ],
                    "resources": [
                        {"type": "databases", "apiVersion": "2023-05-01-preview", "name": "db"}
                    ],
                }
            ],
            parameters=NAME,
        ),
        {},
        (),
        [("error", "arm-dependency-cycle", "resources[0].dependsOn")],
        "'[parameters('name')]' -> 'db' -> '[parameters('name')]'",
        id="parent-depending-on-its-nested-child",
    ),
    pytest.param(
        template(
            [
                storage("[format('sa{0}', copyIndex())]", copy={"name": "accounts", "count": 2}),
                storage("last", dependsOn=["accounts"]),
                subnet(
                    "[concat(parameters('name'), '/', 'x')]",
                    dependsOn=["[resourceId('Microsoft.Storage/storageAccounts', 'last')]"],
                ),
            ],
            parameters=NAME,
        ),
        {},
        (),
        [],
        "",
        id="no-cycle-with-copy-loops",
    ),
    pytest.param(
        template(parameters={"pw": {"type": "securestring", "defaultValue": "hunter2"}}),
        {},
        (),
        [("warning", "arm-secure-parameter-default", "parameters['pw'].defaultValue")],
        "The secure parameter 'pw' has a default value",
        id="secure-parameter-default",
    ),
    pytest.param(
        template(
            parameters={
                "a": {"type": "securestring", "defaultValue": ""},
                "b": {"type": "securestring", "defaultValue": "[newGuid()]"},
                "c": {"type": "secureObject", "defaultValue": {}},
                "d": {"type": "string", "defaultValue": "visible"},
            }
        ),
        {},
        (),
        [],
        "",
        id="harmless-secure-defaults",
    ),
    pytest.param(
        template(
            language="2.0",
            definitions={"creds": {"type": "secureObject"}},
            parameters={"creds": {"$ref": "#/definitions/creds", "defaultValue": {"k": "v"}}},
        ),
        {},
        (),
        [("warning", "arm-secure-parameter-default", "parameters['creds'].defaultValue")],
        "'creds'",
        id="secure-default-through-a-type-reference",
    ),
    pytest.param(
        template(
            parameters=PW,
            outputs={
                "leak": {"type": "string", "value": "[parameters('pw')]"},
                "fine": {"type": "securestring", "value": "[parameters('pw')]"},
            },
        ),
        {},
        {"pw"},
        [("warning", "arm-secure-value-in-output", "outputs['leak'].value")],
        "The output 'leak' contains the secure parameter 'pw'",
        id="secure-parameter-in-output",
    ),
    pytest.param(
        template(
            parameters=PW,
            variables={
                "conn": "[format('pw={0}', parameters('pw'))]",
                "wrapped": "[variables('conn')]",
            },
            outputs={"o": {"type": "object", "value": {"c": "[variables('wrapped')]"}}},
        ),
        {},
        {"pw"},
        [("warning", "arm-secure-value-in-output", "outputs['o'].value.c")],
        "The output 'o' contains the variable 'wrapped', which is computed from a secure",
        id="secure-parameter-through-variables",
    ),
    pytest.param(
        template(
            [storage()],
            outputs={
                "key": {
                    "type": "string",
                    "value": "[listKeys(resourceId('Microsoft.Storage/storageAccounts', 'sa1'), "
                    "'2023-01-01').keys[0].value]",
                }
            },
        ),
        {},
        (),
        [("warning", "arm-secure-value-in-output", "outputs['key'].value")],
        "The output 'key' calls listKeys(), which returns secrets",
        id="list-function-in-output",
    ),
    pytest.param(
        template(parameters={"count": {"type": "int", "minValue": 1}}),
        {"count": {"value": 0}},
        (),
        [("error", "arm-expansion", "parameters['count']")],
        "Value should be greater than or equal to '1'",
        id="expansion-parameter-validation",
    ),
    pytest.param(
        template(parameters={"a": {"type": "string"}, "b": {"type": "int"}}),
        {},
        (),
        [
            ("error", "arm-expansion", "parameters['a']"),
            ("error", "arm-expansion", "parameters['b']"),
        ],
        "The value for the template parameter 'a' is not provided.",
        id="expansion-missing-parameters",
    ),
    pytest.param(
        template(outputs={"o": {"type": "int", "value": "abc"}}),
        {},
        (),
        [("error", "arm-expansion", "outputs['o']")],
        "is declared as 'int'",
        id="expansion-output-type",
    ),
    pytest.param(
        template(),
        {"extra": {"value": 1}},
        (),
        [("error", "arm-expansion", "")],
        "The template parameters 'extra' in the parameters file are not valid",
        id="expansion-unknown-parameter",
    ),
    pytest.param(
        template(parameters={"pw": {"type": "securestring", "minLength": 12}}),
        {},
        {"pw"},
        [],
        "",
        id="secure-names-get-valid-placeholders",
    ),
    pytest.param(
        template(parameters=PW),
        {"pw": {"reference": {"keyVault": {"id": "/subscriptions/s/kv"}, "secretName": "pw"}}},
        (),
        [],
        "",
        id="key-vault-references-get-placeholders",
    ),
    pytest.param(
        template(
            [
                nested(
                    template(
                        [
                            storage(
                                name="[parameters('inner')]",
                                properties={"x": "[parameters('name')]"},
                            )
                        ],
                        parameters={
                            "inner": {"type": "string"},
                            "secret": {"type": "securestring", "defaultValue": "oops"},
                        },
                    ),
                    "inner",
                    parameters={"inner": {"value": "[parameters('name')]"}},
                )
            ],
            parameters=NAME,
        ),
        {},
        (),
        [
            (
                "warning",
                "arm-secure-parameter-default",
                "resources[0].properties.template.parameters['secret'].defaultValue",
            ),
            (
                "error",
                "arm-undefined-parameter",
                "resources[0].properties.template.resources[0].properties.x",
            ),
        ],
        "The template parameter 'name' is not declared.",
        id="nested-inner-scope-has-its-own-parameters",
    ),
    pytest.param(
        template(
            [
                nested(
                    template(
                        [
                            storage(
                                name="[parameters('name')]", properties={"x": "[variables('v')]"}
                            )
                        ],
                        parameters={"innerOnly": {"type": "string", "defaultValue": "x"}},
                        outputs={"o": {"type": "string", "value": "[parameters('innerOnly')]"}},
                    ),
                    "Outer",
                )
            ],
            parameters=NAME,
            variables={"v": "x"},
        ),
        {},
        (),
        [
            (
                "error",
                "arm-undefined-parameter",
                "resources[0].properties.template.outputs['o'].value",
            )
        ],
        "The template parameter 'innerOnly' is not declared.",
        id="nested-outer-scope-sees-the-parent",
    ),
    pytest.param(
        template(
            [nested(template(), "inner", parameters={"x": {"value": "[parameters('nope')]"}})],
        ),
        {},
        (),
        [("error", "arm-undefined-parameter", "resources[0].properties.parameters.x.value")],
        "'nope'",
        id="nested-parameters-are-evaluated-in-the-parent",
    ),
]


@pytest.mark.parametrize(("tpl", "parameters", "secure", "expected", "fragment"), CASES)
def test_static_check(
    tpl: dict[str, Any],
    parameters: dict[str, Any],
    secure: Any,
    expected: list[tuple[str, str, str]],
    fragment: str,
) -> None:
    findings = static_checks(tpl, parameters, secure_names=secure)
    assert [(f.severity, f.code, f.location) for f in findings] == expected
    if fragment:
        assert any(fragment in f.message for f in findings), [f.message for f in findings]


def test_source_prefixes_every_location() -> None:
    tpl = template(variables={"v": "[variables('w')]"})
    (finding,) = static_checks(tpl, {}, source="infra/main.json")
    assert finding.location == "infra/main.json:variables['v']"


def test_an_expansion_error_already_reported_is_not_repeated() -> None:
    # the engine also fails on the unknown function, at the same location
    tpl = template({"sa": storage(properties={"x": "[nope()]"})}, language="2.0")
    findings = static_checks(tpl, {})
    assert [f.code for f in findings] == ["arm-unknown-function"]


def test_subscription_scope_templates_expand_at_subscription_scope() -> None:
    tpl = template(
        [
            {
                "type": "Microsoft.Resources/resourceGroups",
                "apiVersion": "2022-09-01",
                "name": "rg-demo",
                "location": "[deployment().location]",
            }
        ]
    )
    tpl["$schema"] = (
        "https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#"
    )
    assert static_checks(tpl, {}) == []


@pytest.mark.parametrize(
    ("schema", "function"),
    [
        pytest.param("2019-08-01/managementGroupDeploymentTemplate.json#", "managementGroup().id",
                     id="management-group-template-expands-at-mg-scope"),
        pytest.param("2019-08-01/tenantDeploymentTemplate.json#", "tenant().tenantId",
                     id="tenant-template-expands-at-tenant-scope"),
    ],
)  # fmt: skip
def test_templates_above_subscriptions_expand_at_their_scope(schema: str, function: str) -> None:
    tpl = template(
        [
            {
                "type": "Microsoft.Authorization/policyDefinitions",
                "apiVersion": "2021-06-01",
                "name": "p1",
                "properties": {"description": f"[{function}]"},
            }
        ]
    )
    tpl["$schema"] = "https://schema.management.azure.com/schemas/" + schema
    assert static_checks(tpl, {}) == []


def test_a_template_that_is_not_an_object_is_an_expansion_error() -> None:
    (finding,) = static_checks([], {})  # type: ignore[arg-type]
    assert (finding.severity, finding.code) == ("error", "arm-expansion")
    assert "must be a JSON object" in finding.message


# -- the corpus and the shipped example --------------------------------------------------------


def corpus_cases() -> list[Any]:
    if not CORPUS.is_dir():
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"no ARM corpus at {CORPUS}"))]
    paths = sorted(CORPUS.glob("**/main.json"))
    return [pytest.param(p, id=str(p.parent.relative_to(CORPUS))) for p in paths]


@pytest.mark.parametrize("path", corpus_cases())
def test_corpus_template_has_no_errors(path: Path) -> None:
    tpl = json.loads(path.read_text(encoding="utf-8"))
    before = copy.deepcopy(tpl)
    findings = static_checks(tpl, sample_parameters(tpl), source=str(path))
    assert [f for f in findings if f.severity == "error"] == []
    assert tpl == before, "the checks must not change the template"


def test_corpus_warnings_are_the_known_ones() -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"no ARM corpus at {CORPUS}")
    assert len(list(CORPUS.glob("**/main.json"))) == 44
    found = []
    for path in sorted(CORPUS.glob("**/main.json")):
        tpl = json.loads(path.read_text(encoding="utf-8"))
        for f in static_checks(tpl, sample_parameters(tpl)):
            found.append((str(path.parent.relative_to(CORPUS)), f.code, f.location))
    # VMSS declares `@secure() param extensionDomainJoinConfig object = {enabled: false}`
    assert found == [
        (
            "avm/res/compute/virtual-machine-scale-set",
            "arm-secure-parameter-default",
            "parameters['extensionDomainJoinConfig'].defaultValue",
        )
    ]


def test_the_shipped_example_is_clean() -> None:
    path = REPO / "infra" / "main.json"
    if not path.is_file():
        pytest.skip(f"no example template at {path}")
    tpl = json.loads(path.read_text(encoding="utf-8"))
    required = sample_parameters(tpl)
    secure = {n for n, d in tpl.get("parameters", {}).items() if "secure" in d["type"].lower()}
    values = {k: v for k, v in required.items() if k not in secure}
    assert static_checks(tpl, values, secure_names=secure) == []


# -- parameter overrides -----------------------------------------------------------------------

OVERRIDE_TEMPLATE = template(
    language="2.0",
    definitions={"size": {"type": "int", "minValue": 1, "maxValue": 10}},
    parameters={
        "name": {"type": "string", "minLength": 3},
        "count": {"type": "int"},
        "size": {"$ref": "#/definitions/size"},
        "enabled": {"type": "bool"},
        "zones": {"type": "array"},
        "settings": {"type": "object"},
        "maybe": {"type": "int", "nullable": True},
        "sku": {"type": "string", "allowedValues": ["B1", "S1"]},
        "pw": {"type": "securestring"},
    },
)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"count": "3"}, {"count": 3}),
        ({"count": "-12"}, {"count": -12}),
        ({"count": 7}, {"count": 7}),
        ({"size": "4"}, {"size": 4}),
        ({"enabled": "true"}, {"enabled": True}),
        ({"enabled": "False"}, {"enabled": False}),
        ({"zones": '["1", "2"]'}, {"zones": ["1", "2"]}),
        ({"settings": '{"tier": "hot"}'}, {"settings": {"tier": "hot"}}),
        ({"maybe": "null"}, {"maybe": None}),
        ({"name": "123"}, {"name": "123"}),
        ({"SKU": "S1"}, {"sku": "S1"}),
        ({}, {}),
    ],
    ids=[
        "int",
        "negative-int",
        "int-as-int",
        "int-through-ref",
        "bool-true",
        "bool-false-any-case",
        "array-json",
        "object-json",
        "nullable-null",
        "string-stays-text",
        "name-ignores-case",
        "none",
    ],
)
def test_parameter_overrides_are_converted(
    overrides: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert check_parameter_overrides(OVERRIDE_TEMPLATE, overrides) == expected


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"cuont": "3"}, r"'cuont' is not a parameter of the template \(its parameters: count, "),
        ({"count": "3.5"}, r"Parameter 'count' \(int\) expects an integer, got '3\.5'"),
        ({"count": "three"}, r"Parameter 'count' \(int\) expects an integer, got 'three'"),
        ({"enabled": "yes"}, r"Parameter 'enabled' \(bool\) expects true or false, got 'yes'"),
        ({"zones": "[1,"}, r"Parameter 'zones' \(array\) expects a JSON array, got '\[1,'"),
        ({"zones": '{"a": 1}'}, r"Parameter 'zones' \(array\) does not accept '\{\"a\": 1\}'"),
        ({"settings": "x"}, r"Parameter 'settings' \(object\) expects a JSON object, got 'x'"),
        ({"size": "11"}, r"Parameter 'size' \(int\) does not accept '11': .*less than or equal"),
        (
            {"sku": "P1"},
            r"Parameter 'sku' \(string\) does not accept 'P1': .*allowed value\(s\): 'B1,S1'",
        ),
        ({"name": "ab"}, r"Parameter 'name' \(string\) does not accept 'ab'"),
        ({"count": "null"}, r"Parameter 'count' \(int\) expects an integer, got 'null'"),
        ({"pw": "s3cret"}, r"Parameter 'pw' is secure \(securestring\) and cannot be overridden"),
    ],
    ids=[
        "unknown-name",
        "float-for-int",
        "text-for-int",
        "yes-for-bool",
        "broken-json",
        "object-for-array",
        "text-for-object",
        "above-max-value",
        "not-allowed",
        "too-short",
        "null-for-required-int",
        "secure-parameter",
    ],
)
def test_parameter_overrides_are_rejected(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        check_parameter_overrides(OVERRIDE_TEMPLATE, overrides)
    assert "s3cret" not in str(info.value)


# -- dependency resolution rules ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("resources", "expected"),
    [
        ({"a": storage(dependsOn=["a"])}, [["a", "a"]]),
        ({"a": storage(copy={"name": "loop", "count": 2}, dependsOn=["loop"])}, []),
        ({"a": storage(copy={"name": "loop", "count": 2}, dependsOn=["a[0]"])}, []),
        (
            {
                "a": storage(dependsOn=["[format('b[{0}]', copyIndex())]"]),
                "b": storage(copy={"name": "bs", "count": 2}, dependsOn=["a"]),
            },
            [["a", "b", "a"]],
        ),
        ({"a": storage(dependsOn=["[variables('x')]", 42, "unknown"])}, []),
    ],
    ids=[
        "self-dependency",
        "loop-naming-its-own-loop",
        "loop-naming-its-own-instance",
        "symbolic-index-through-format",
        "unresolvable-entries-are-skipped",
    ],
)
def test_dependency_resolution(resources: dict[str, Any], expected: list[list[str]]) -> None:
    cycles = find_cycles(declarations(template(resources, language="2.0"), lenient=True))
    assert [[label(d) for d in cycle] for cycle in cycles] == expected


def test_a_long_cycle_is_named_by_its_ends() -> None:
    chain = {f"r{i}": storage(f"sa{i}", dependsOn=[f"r{(i + 1) % 30}"]) for i in range(30)}
    findings = static_checks(template(chain, language="2.0"), {})
    assert [(f.code, f.location) for f in findings] == [
        ("arm-dependency-cycle", "resources['r0'].dependsOn")
    ]
    assert findings[0].message.startswith(
        "The resources 'r0' -> 'r1' -> 'r2' -> 'r3' -> 'r4' -> 'r5' -> … (30 resources in all) "
        "-> 'r28' -> 'r29' -> 'r0' depend on each other in a cycle"
    )


# -- one declaration walker: lint walks leniently what the engine walks strictly ---------------

INNER = template(
    {"inner": storage("[parameters('p')]")}, language="2.0", parameters={"p": {"type": "string"}}
)
WALKED = [
    pytest.param(
        template(
            {
                "sa": storage("[format('sa{0}', copyIndex())]", copy={"name": "l", "count": 2}),
                "old": storage("old", existing=True),
                "module": nested(INNER, "inner", parameters={"p": {"value": "fromparent"}}),
            },
            language="2.0",
        ),
        id="symbolic-names-copy-loop-existing-inner-scope-deployment",
    ),
    pytest.param(
        template(
            [
                vnet("net", resources=[subnet("net/a"), {**subnet("b"), "type": "subnets"}]),
                nested(INNER, "inner", parameters={"p": {"value": "fromparent"}}),
            ]
        ),
        id="nested-children-and-an-inner-scope-deployment",
    ),
]


def walked_locations(tpl: dict[str, Any], prefix: str = "") -> list[str]:
    """Every declaration the shared walker finds, nested deployments' templates included."""
    found = []
    for d in declarations(tpl, lenient=True):
        found.append(prefix + d.location)
        if d.inline_template is not None:
            found += walked_locations(
                d.inline_template, f"{prefix}{d.location}.properties.template."
            )
    return found


def expanded_locations(expansion: Any, prefix: str = "") -> list[str]:
    found = []
    for r in expansion.resources + expansion.existing:
        key = r.key if r.copy_index is None else r.key[: r.key.rfind("[")]  # copy instance
        found.append(prefix + key)
        if r.nested is not None:
            found += expanded_locations(r.nested, f"{prefix}{r.key}.properties.template.")
    return found


@pytest.mark.parametrize("tpl", WALKED)
def test_lint_checks_the_declarations_the_engine_expands(tpl: dict[str, Any]) -> None:
    assert static_checks(tpl, {}) == []
    expansion = expand(tpl)
    walked = walked_locations(tpl)
    assert sorted(set(expanded_locations(expansion))) == sorted(walked)
    (module,) = [r for r in expansion.resources if r.nested is not None]
    assert [r.name for r in module.nested.resources] == ["fromparent"]  # inner scope: its own p

    probed = copy.deepcopy(tpl)  # an unknown function in every declaration, nested ones too
    for location in walked:
        declaration: Any = probed
        for step in re.findall(r"\w+|\['[^']*'\]|\[\d+\]", location):
            key = step.strip("[]'")
            declaration = declaration[int(key) if key.isdigit() else key]
        declaration.setdefault("properties", {})["probe"] = "[nope()]"
    findings = [f for f in static_checks(probed, {}) if f.code != "arm-expansion"]
    assert [(f.code, f.location) for f in findings] == [
        ("arm-unknown-function", f"{location}.properties.probe") for location in walked
    ]


@pytest.mark.parametrize("tpl", WALKED)
def test_an_outer_scope_deployment_is_checked_against_the_parent(tpl: dict[str, Any]) -> None:
    outer = copy.deepcopy(tpl)
    resources = outer["resources"]
    for d in resources.values() if isinstance(resources, dict) else resources:
        if d["type"] == "Microsoft.Resources/deployments":
            d["properties"]["expressionEvaluationOptions"]["scope"] = "outer"
    (where,) = [w for w in walked_locations(outer) if w.endswith("resources['inner']")]
    findings = static_checks(outer, {})
    assert [(f.code, f.location) for f in findings] == [
        ("arm-undefined-parameter", f"{where}.name")
    ]
    with pytest.raises(TemplateError, match="'p'"):  # the engine agrees: p is not the parent's
        expand(outer)


def test_a_malformed_declaration_is_walked_past_and_reported_with_its_location() -> None:
    tpl = template([42, storage(properties={"x": "[nope()]"})])
    (problem,) = walk_declarations(tpl, lenient=True).problems
    findings = static_checks(tpl, {})
    assert [(f.code, f.location, f.message) for f in findings] == [
        ("arm-unknown-function", "resources[1].properties.x", findings[0].message),
        ("arm-expansion", problem.location, problem.message),  # the engine's strict walk
    ]
    assert (problem.location, problem.message) == (
        "resources[0]",
        "a resource declaration must be a JSON object.",
    )


def test_api_versions_are_read_through_the_shared_walker() -> None:
    # properties written as an expression used to crash api_versions_of (AttributeError)
    tpl = template(
        [
            vnet("net", properties="[variables('netProperties')]"),
            vnet(
                "net2", resources=[{**subnet("b"), "type": "subnets", "apiVersion": "2022-01-01"}]
            ),
            nested(template([storage()]), "inner"),
        ],
        variables={"netProperties": {}},
    )
    assert api_versions_of(tpl) == {
        "microsoft.network/virtualnetworks": "2023-04-01",
        "microsoft.network/virtualnetworks/subnets": "2022-01-01",  # a child's full type
        "microsoft.resources/deployments": "2022-09-01",
        "microsoft.storage/storageaccounts": "2023-01-01",  # from the nested template
    }
