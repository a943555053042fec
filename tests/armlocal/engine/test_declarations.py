"""The walk over a template's resource declarations: strict for the engine (the first malformed
declaration raises), lenient for static checks (problems are recorded with their location and
the walk goes on). Both modes find the same declarations in a well-formed template, and those
are the declarations the engine expands."""

from __future__ import annotations

from typing import Any

import pytest

from bicep_assets.armlocal.engine import TemplateError, expand
from bicep_assets.armlocal.engine.template import (
    Problem,
    declarations,
    is_relative_type,
    uses_inner_scope,
    walk_declarations,
)

from .conftest import template

SA = {"type": "Microsoft.Storage/storageAccounts", "apiVersion": "2023-01-01"}
DEPLOYMENTS = "Microsoft.Resources/deployments"
SQL = {"type": "Microsoft.Sql/servers", "apiVersion": "2023-05-01-preview"}
DB = {"type": "databases", "apiVersion": "2023-05-01-preview"}


def deployment(inner: dict[str, Any], scope: str | None = None, **properties: Any) -> dict:
    body: dict[str, Any] = {"mode": "Incremental", "template": inner, **properties}
    if scope:
        body["expressionEvaluationOptions"] = {"scope": scope}
    return {
        "type": DEPLOYMENTS,
        "apiVersion": "2022-09-01",
        "name": "module",
        "properties": body,
    }


INNER = template(
    {"inner": {**SA, "name": "[parameters('p')]"}},
    language="2.0",
    parameters={"p": {"type": "string"}},
)
SYMBOLIC = template(
    {
        "sa": {**SA, "name": "[format('sa{0}', copyIndex())]", "copy": {"name": "l", "count": 2}},
        "old": {**SA, "name": "old", "existing": True, "apiVersion": "2022-09-01"},
        "module": deployment(INNER, "inner", parameters={"p": {"value": "fromparent"}}),
    },
    language="2.0",
)
CHILDREN = template(
    [
        {
            **SQL,
            "name": "srv",
            "resources": [
                {**DB, "name": "db"},
                {**DB, "type": "Microsoft.Sql/servers/firewallRules", "name": "srv/all"},
            ],
        },
    ]
)


def seen(template: dict[str, Any], *, lenient: bool) -> list[tuple[Any, ...]]:
    return [
        (
            d.location,
            d.symbolic_name,
            d.parent.location if d.parent else None,
            d.full_type,
            d.copy_name,
            d.existing,
            d.is_deployment,
            d.inline_template is not None,
            d.inner_scope,
        )
        for d in declarations(template, lenient=lenient)
    ]


def test_symbolic_names_copy_loops_existing_and_nested_deployments() -> None:
    expected = [
        ("resources['sa']", "sa", None, SA["type"], "l", False, False, False, False),
        ("resources['old']", "old", None, SA["type"], None, True, False, False, False),
        ("resources['module']", "module", None, DEPLOYMENTS, None, False, True, True, True),
    ]
    assert seen(SYMBOLIC, lenient=False) == seen(SYMBOLIC, lenient=True) == expected
    assert walk_declarations(SYMBOLIC, lenient=True).problems == []
    (module,) = [d for d in declarations(SYMBOLIC) if d.is_deployment]
    assert module.inline_template is INNER


def test_the_engine_expands_the_declarations_the_walk_finds() -> None:
    expansion = expand(SYMBOLIC)
    keys = [r.key for r in expansion.resources] + [r.key for r in expansion.existing]
    assert sorted(keys) == sorted(
        ["resources['sa'][0]", "resources['sa'][1]", "resources['module']", "resources['old']"]
    )
    (module,) = [r for r in expansion.resources if r.symbolic_name == "module"]
    assert module.nested is not None  # the inner scope: the inner template's own parameter
    assert [(r.key, r.name) for r in module.nested.resources] == [
        (d.location, "fromparent") for d in declarations(INNER)
    ]


def test_nested_children_follow_their_parent_with_full_types() -> None:
    expected = [
        ("resources[0]", None, None, "Microsoft.Sql/servers"),
        ("resources[0].resources[0]", None, "resources[0]", "Microsoft.Sql/servers/databases"),
        ("resources[0].resources[1]", None, "resources[0]", "Microsoft.Sql/servers/firewallRules"),
    ]
    assert [s[:4] for s in seen(CHILDREN, lenient=False)] == expected
    assert [s[:4] for s in seen(CHILDREN, lenient=True)] == expected
    by_key = {r.key: r.type for r in expand(CHILDREN).resources}
    assert by_key == {location: full_type for location, _, _, full_type in expected}


@pytest.mark.parametrize(
    ("rtype", "relative"),
    [
        ("databases", True),
        ("blobServices/containers", True),
        ("Microsoft.Sql/servers/databases", False),
    ],
)
def test_a_child_type_is_relative_when_it_names_no_namespace(rtype: str, relative: bool) -> None:
    assert is_relative_type(rtype) is relative


GOOD = {**SA, "name": "good"}
MALFORMED = [
    pytest.param([42, GOOD], "resources[0]", "a resource declaration must be a JSON object."),
    pytest.param([{**SA}, GOOD], "resources[0]", "the resource has no 'name'.", id="no-name"),
    pytest.param(
        [{"apiVersion": "2023-01-01", "name": "x"}, GOOD],
        "resources[0]",
        "the resource has no 'type'.",
        id="no-type",
    ),
    pytest.param(
        [{**SA, "name": "x", "apiVersion": 5}, GOOD],
        "resources[0]",
        "'apiVersion' must be a string.",
        id="api-version-not-a-string",
    ),
    pytest.param(
        [{"type": SA["type"], "name": "x"}, GOOD],
        "resources[0]",
        "the resource has no 'apiVersion'.",
        id="no-api-version",
    ),
    pytest.param(
        [{**SQL, "name": "srv", "resources": {"db": DB}}, GOOD],
        "resources[0].resources",
        "child resources must be an array.",
        id="children-not-an-array",
    ),
    pytest.param(
        [{**SQL, "name": "srv", "resources": ["db"]}, GOOD],
        "resources[0].resources[0]",
        "a resource declaration must be a JSON object.",
        id="child-not-an-object",
    ),
    pytest.param(
        {"bad": {**SA, "name": ""}, "good": GOOD},
        "resources['bad']",
        "the resource has no 'name'.",
        id="symbolic-name",
    ),
]


@pytest.mark.parametrize(("resources", "location", "message"), MALFORMED)
def test_strict_raises_what_lenient_records_with_its_location(
    resources: Any, location: str, message: str
) -> None:
    tpl = template(resources, language="2.0" if isinstance(resources, dict) else None)
    with pytest.raises(TemplateError) as raised:
        declarations(tpl)
    assert (raised.value.code, raised.value.message) == (
        "InvalidTemplate",
        f"{location}: {message}",
    )
    with pytest.raises(TemplateError) as expanded:
        expand(tpl)
    assert expanded.value.message == raised.value.message  # the engine walks strictly
    walk = walk_declarations(tpl, lenient=True)
    assert walk.problems == [Problem(location, message)]
    assert [d.raw for d in walk.declarations][-1] is GOOD  # the walk went on past it


def test_lenient_records_every_problem_strict_stops_at_the_first() -> None:
    tpl = template([{"name": "x"}, 42, {**SQL, "name": "s", "resources": "[variables('c')]"}])
    with pytest.raises(TemplateError) as raised:
        declarations(tpl)
    assert raised.value.message == "resources[0]: the resource has no 'type'."
    walk = walk_declarations(tpl, lenient=True)
    assert [str(p) for p in walk.problems] == [
        "resources[0]: the resource has no 'type'.",
        "resources[0]: the resource has no 'apiVersion'.",
        "resources[1]: a resource declaration must be a JSON object.",
        "resources[2].resources: child resources must be an array.",
    ]
    # kept as written: the one without a type, and the server without its children
    assert [(d.location, d.type, d.name) for d in walk.declarations] == [
        ("resources[0]", None, "x"),
        ("resources[2]", SQL["type"], "s"),
    ]


def test_a_resources_section_of_the_wrong_shape_is_a_problem() -> None:
    walk = walk_declarations({"resources": "[variables('all')]"}, lenient=True)
    assert walk.declarations == []
    assert [str(p) for p in walk.problems] == [
        "resources: the section must be an array or an object of symbolic names."
    ]
    assert walk_declarations({}, lenient=True).problems == []


def test_nested_deployment_options_that_are_not_an_object() -> None:
    module = deployment(INNER, parameters={"p": {"value": "x"}})
    module["properties"]["expressionEvaluationOptions"] = "inner"
    tpl = template([module])
    (declaration,) = declarations(tpl)
    assert declaration.inner_scope is False  # lenient: ARM's default, outer
    with pytest.raises(TemplateError) as raised:
        expand(tpl)
    assert raised.value.code == "InvalidTemplate"
    assert raised.value.message == (
        "resources[0].properties.expressionEvaluationOptions: must be an object such as "
        '{"scope": "inner"}.'
    )
    assert uses_inner_scope({"expressionEvaluationOptions": {"scope": "Inner"}}) is True
    assert uses_inner_scope({"expressionEvaluationOptions": {"scope": "outer"}}) is False
    assert uses_inner_scope({}) is False
