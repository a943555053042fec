"""Bad templates and parameters: each gives a clear ARM-shaped error, quickly, no crash."""

from __future__ import annotations

from typing import Any

import pytest

from bicep_assets.armlocal.engine import TemplateError, expand

from .conftest import SCHEMA, template

SA = {"type": "Microsoft.Storage/storageAccounts", "apiVersion": "2023-01-01"}


def nested_json(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = {"x": value}
    return value


CASES: list[tuple[Any, dict[str, Any], str, str]] = [
    ([1, 2], {}, "InvalidTemplate", "The template must be a JSON object, not list"),
    ("text", {}, "InvalidTemplate", "must be a JSON object, not str"),
    (
        {"$schema": "https://example.com/other.json#", "contentVersion": "1.0.0.0"},
        {},
        "InvalidTemplate",
        "The template schema 'https://example.com/other.json#' is not supported",
    ),
    ({"contentVersion": "1.0.0.0", "resources": []}, {}, "InvalidTemplate", "has no '\\$schema'"),
    ({"$schema": SCHEMA, "resources": []}, {}, "InvalidTemplate", "has no 'contentVersion'"),
    (template([], resourcez=[]), {}, "InvalidTemplate", "unknown top-level property 'resourcez'"),
    (template([], language="9.9"), {}, "InvalidTemplate", "languageVersion '9.9' is not supported"),
    (template({"a": SA}), {}, "InvalidTemplate", "'resources' section must be an array"),
    (template([{**SA}]), {}, "InvalidTemplate", r"resources\[0\]: the resource has no 'name'"),
    (
        template([{**SA, "name": "[nope('x')]"}]),
        {},
        "InvalidTemplate",
        r"resources\[0\]\.name: The template function 'nope' is not valid",
    ),
    (
        template(
            {"sa": {**SA, "name": "sa", "properties": {"n": "[substring()]"}}}, language="2.0"
        ),
        {},
        "InvalidTemplate",
        r"resources\['sa'\]\.properties\.n: The template language function 'substring' expects",
    ),
    (
        template([{**SA, "name": "sa", "sku": {"name": "[toLower(1)]"}}]),
        {},
        "InvalidTemplate",
        r"resources\[0\]\.sku\.name: The template language function 'toLower' expects its "
        r"parameter 1 to be a string",
    ),
    (
        template([{**SA, "name": "[concat('a']"}]),
        {},
        "InvalidTemplate",
        r"resources\[0\]\.name: The language expression .* is not valid",
    ),
    (
        template(
            [{**SA, "name": "[concat('sa', copyIndex())]", "copy": {"name": "l", "count": 801}}]
        ),
        {},
        "InvalidTemplate",
        "The copy count of 'l' is 801, which exceeds the limit of 800",
    ),
    (
        template(
            [{**SA, "name": "[concat('sa', copyIndex())]", "copy": {"name": "l", "count": -1}}]
        ),
        {},
        "InvalidTemplate",
        "The copy count of 'l' must not be negative",
    ),
    (
        template([], parameters={"n": {"type": "int"}}),
        {"n": {"value": "three"}},
        "InvalidTemplate",
        "Expected a value of type 'Integer'",
    ),
    (
        template([], parameters={"n": {"type": "int"}, "s": {"type": "string"}}),
        {},
        "InvalidTemplate",
        "The values for the template parameters 'n, s' are not provided",
    ),
    (
        template([], parameters={"n": {"type": "int"}}),
        {"n": {"value": 1}, "extra": {"value": 2}},
        "InvalidTemplate",
        "The template parameters 'extra' in the parameters file are not valid",
    ),
    (
        template([], variables={"a": "[variables('b')]", "b": "[variables('a')]"}),
        {},
        "InvalidTemplate",
        "The template variables form a cycle: a -> b -> a",
    ),
    (
        template(
            [{**SA, "name": "[ns.f()]"}],
            functions=[{"namespace": "ns", "members": {"f": {"output": {"value": "[ns.f()]"}}}}],
        ),
        {},
        "InvalidTemplate",
        "User-defined functions are nested more than 64 levels deep",
    ),
    (
        template([{**SA, "name": "sa", "properties": nested_json(5000)}]),
        {},
        "InvalidTemplate",
        "nested more than 256 levels deep",
    ),
    (
        template([{**SA, "name": "[" + "concat(" * 500 + "'a'" + ")" * 500 + "]"}]),
        {},
        "InvalidTemplate",
        "nested more than 200 levels deep",
    ),
    (
        template([{**SA, "name": "sa", "dependsOn": ["sa"]}]),
        {},
        "InvalidTemplate",
        "Circular dependency detected",
    ),
    (
        template([{**SA, "name": "sa", "location": "[reference('other').location]"}], outputs={}),
        {},
        "InvalidTemplate",
        "",
    ),
]
IDS = [
    "array-template",
    "string-template",
    "unknown-schema",
    "no-schema",
    "no-content-version",
    "unknown-top-level-key",
    "unknown-language-version",
    "resources-not-array",
    "no-name",
    "unknown-function",
    "wrong-arity",
    "wrong-argument-type",
    "unparsable-expression",
    "copy-over-limit",
    "copy-negative",
    "parameter-wrong-type",
    "missing-required-parameters",
    "unknown-parameter",
    "cyclic-variables",
    "recursive-user-function",
    "deep-json",
    "deep-expression",
    "self-dependency",
    "reference-unknown-resource",
]


@pytest.mark.timeout(10)
@pytest.mark.parametrize(("tpl", "params", "code", "message"), CASES, ids=IDS)
def test_bad_input_is_an_arm_error(tpl: Any, params: dict, code: str, message: str) -> None:
    if not message:  # a reference to a resource that exists nowhere is deferred, not a crash
        expansion = expand(tpl, params)
        assert expansion.resources[0].deferred is True
        return
    with pytest.raises(TemplateError, match=message) as info:
        expand(tpl, params)
    assert info.value.code == code
    arm = info.value.to_arm()
    assert arm["code"] == code and arm["message"]


def test_secure_values_are_not_echoed_in_errors() -> None:
    t = template([], parameters={"pw": {"type": "securestring", "minLength": 20}})
    with pytest.raises(TemplateError) as info:
        expand(t, {"pw": {"value": "hunter2-canary"}})
    assert "hunter2-canary" not in str(info.value.to_arm())
