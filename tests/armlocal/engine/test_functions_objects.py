"""Object template functions: createObject, items, json, null, objectKeys, shallowMerge,
tryGet, union, intersection."""

from __future__ import annotations

from typing import Any

import pytest

from bicep_assets.armlocal.engine.errors import ExpressionError
from bicep_assets.armlocal.engine.evaluator import EvalContext, TemplateScope, evaluate_expression

PARAMS: dict[str, Any] = {
    "first": {"one": "a", "two": "b", "three": "c1"},
    "second": {"three": "c2", "four": "d", "five": "e"},
    "deep1": {"property": {"one": "a", "two": "b", "three": "c1"}, "nestedArray": [1, 2]},
    "deep2": {"property": {"three": "c2", "four": "d", "five": "e"}, "nestedArray": [3, 4]},
    "entities": {
        "item002": {"enabled": False, "displayName": "Example item 2", "number": 200},
        "item001": {"enabled": True, "displayName": "Example item 1", "number": 300},
    },
    "config": {"settings": {"fileUris": ["a", "b"]}, "identity": None, "Name": "x"},
}


def ev(text: str) -> Any:
    return evaluate_expression(text, EvalContext(TemplateScope(parameters=dict(PARAMS))))


CASES = [
    # createObject / null
    (
        "[createObject('intProp', 1, 'stringProp', 'abc', 'boolProp', true(), 'arrayProp', "
        "createArray('a', 'b', 'c'), 'objectProp', createObject('key1', 'value1'))]",
        {
            "intProp": 1,
            "stringProp": "abc",
            "boolProp": True,
            "arrayProp": ["a", "b", "c"],
            "objectProp": {"key1": "value1"},
        },
        "createObject-docs",
    ),
    ("[createObject()]", {}, "createObject-empty"),
    ("[null()]", None, "null"),
    ("[empty(null())]", True, "null-is-empty"),
    # json (docs examples)
    ("[json('null')]", None, "json-null"),
    ("[json('{''a'': ''b''}')]", {"a": "b"}, "json-single-quotes"),
    ("[json('''test''')]", "test", "json-string"),
    ("[json('true')]", True, "json-boolean"),
    ("[json('3')]", 3, "json-int"),
    ("[json('[1,2,3]')]", [1, 2, 3], "json-array"),
    ("[json(concat('{\"a\": \"', 'demo value', '\"}'))]", {"a": "demo value"}, "json-concat"),
    ('[json(\'{"test": "value1"}\')]', {"test": "value1"}, "json-double-quotes"),
    (
        "[json(' { a: 1, /* note */ \"b\": [1, 2,], } ')]",
        {"a": 1, "b": [1, 2]},
        "json-lenient-newtonsoft",
    ),
    ("[json('1.5')]", 1.5, "json-float"),
    ('[json(\'{"a": 1, "a": 2}\')]', {"a": 2}, "json-duplicate-last-wins"),
    # items / objectKeys
    (
        "[items(parameters('entities'))]",
        [
            {
                "key": "item001",
                "value": {"enabled": True, "displayName": "Example item 1", "number": 300},
            },
            {
                "key": "item002",
                "value": {"enabled": False, "displayName": "Example item 2", "number": 200},
            },
        ],
        "items-docs-sorted",
    ),
    (
        "[items(createObject('b', 1, 'a', 2, 'C', 3))]",
        [{"key": "a", "value": 2}, {"key": "b", "value": 1}, {"key": "C", "value": 3}],
        "items-sort-ignores-case",
    ),
    ("[objectKeys(createObject('b', 2, 'a', 1))]", ["a", "b"], "objectKeys"),
    ("[objectKeys(createObject('A', 2, 'a', 1))]", ["A", "a"], "objectKeys-stable-A-first"),
    ("[objectKeys(createObject('a', 2, 'A', 1))]", ["a", "A"], "objectKeys-stable-a-first"),
    ("[objectKeys(createObject())]", [], "objectKeys-empty"),
    ("[items(createObject())]", [], "items-empty"),
    # shallowMerge (docs examples)
    (
        "[shallowMerge(createArray(createObject('one', 'a'), createObject('two', 'b'), "
        "createObject('two', 'c')))]",
        {"one": "a", "two": "c"},
        "shallowMerge",
    ),
    (
        '[shallowMerge(json(\'[{"one": "a", "nested": {"a": 1, "nested": {"c": 3}}}, '
        '{"two": "b", "nested": {"b": 2}}]\'))]',
        {"one": "a", "nested": {"b": 2}, "two": "b"},
        "shallowMerge-nested-replaced",
    ),
    ("[shallowMerge(createArray())]", {}, "shallowMerge-empty"),
    # union
    (
        "[union(parameters('first'), parameters('second'))]",
        {"one": "a", "two": "b", "three": "c2", "four": "d", "five": "e"},
        "union-objects-docs",
    ),
    (
        "[union(createArray('one', 'two', 'three'), createArray('three', 'four', 'two'))]",
        ["one", "two", "three", "four"],
        "union-arrays-docs",
    ),
    (
        "[union(parameters('deep1'), parameters('deep2'))]",
        {
            "property": {"one": "a", "two": "b", "three": "c2", "four": "d", "five": "e"},
            "nestedArray": [3, 4],
        },
        "union-deep-merge-docs",
    ),
    ("[union(createArray(1, 1), createArray(2))]", [1, 2], "union-dedups-first-array"),
    ("[union(createArray(1), createArray(true()))]", [1, True], "union-bool-not-int"),
    (
        "[union(createObject('a', createObject('x', 1)), createObject('a', 'flat'))]",
        {"a": "flat"},
        "union-object-replaced-by-scalar",
    ),
    (
        "[union(createObject('a', 1), createObject('b', 2), createObject('a', 3))]",
        {"a": 3, "b": 2},
        "union-three-objects",
    ),
    # intersection (docs examples)
    (
        "[intersection(createObject('one', 'a', 'two', 'b', 'three', 'c'), "
        "createObject('one', 'a', 'two', 'z', 'three', 'c'))]",
        {"one": "a", "three": "c"},
        "intersection-objects-docs",
    ),
    (
        "[intersection(createArray('one', 'two', 'three'), createArray('two', 'three'))]",
        ["two", "three"],
        "intersection-arrays-docs",
    ),
    (
        "[intersection(createArray(1, 2, 2, 3), createArray(3, 2), createArray(2, 3, 4))]",
        [2, 3],
        "intersection-three-arrays-dedup",
    ),
    (
        "[intersection(createObject('a', createArray(1)), createObject('a', createArray(1)))]",
        {"a": [1]},
        "intersection-deep-values",
    ),
    # tryGet
    ("[tryGet(parameters('config'), 'settings', 'fileUris')]", ["a", "b"], "tryGet-path"),
    ("[tryGet(parameters('config'), 'settings', 'missing')]", None, "tryGet-missing"),
    ("[tryGet(parameters('config'), 'identity', 'principalId')]", None, "tryGet-through-null"),
    ("[tryGet(tryGet(parameters('config'), 'nope'), 'principalId')]", None, "tryGet-of-null"),
    ("[tryGet(parameters('config'), 'name')]", "x", "tryGet-ignores-case"),
    ("[tryGet(parameters('config'), 'settings', 'fileUris', 1)]", "b", "tryGet-array-index"),
    ("[tryGet(parameters('config'), 'settings', 'fileUris', 2)]", None, "tryGet-index-out"),
    ("[tryGet(parameters('config'), 'settings', 'fileUris', -1)]", None, "tryGet-negative-index"),
    ("[tryGet(createArray(1, 2), 'x')]", None, "tryGet-array-by-name"),
    ("[tryGet(parameters('config'), 0)]", None, "tryGet-object-by-index"),
    ("[tryGet(parameters('config'), 'identity')]", None, "tryGet-null-value"),
]


@pytest.mark.parametrize(
    ("expression", "expected"), [c[:2] for c in CASES], ids=[c[2] for c in CASES]
)
def test_object_function(expression: str, expected: Any) -> None:
    result = ev(expression)
    assert result == expected
    if isinstance(expected, dict):
        assert list(result) == list(expected)  # property order as documented


def test_union_does_not_change_its_arguments() -> None:
    ctx = EvalContext(TemplateScope(parameters={k: v for k, v in PARAMS.items()}))
    evaluate_expression("[union(parameters('deep1'), parameters('deep2'))]", ctx)
    assert ctx.scope.parameters["deep1"]["property"] == {"one": "a", "two": "b", "three": "c1"}


ERRORS = [
    ("[createObject('a')]", r"'createObject' expects an even number", "createObject-odd"),
    (
        "[createObject(1, 'a')]",
        r"'createObject' expects its first parameter to be of type "
        r"'String'",
        "createObject-int-key",
    ),
    (
        "[createObject('a', 1, 'a', 2)]",
        r"'createObject' .* key 'a' more than once",
        "createObject-duplicate",
    ),
    ("[json('{')]", r"'json' expects its parameter to be a valid JSON string", "json-truncated"),
    ("[json('')]", r"'json' .* empty", "json-empty"),
    ("[json('[1] x')]", r"'json' .* additional text", "json-trailing-text"),
    ("[json(1)]", r"'json' expects its parameter 1 to be a string", "json-int"),
    ("[items(createArray())]", r"'items' expects its parameter 1 to be an object", "items-array"),
    (
        "[objectKeys('a')]",
        r"'objectKeys' expects its parameter 1 to be an object",
        "objectKeys-string",
    ),
    (
        "[shallowMerge(createArray(1))]",
        r"'shallowMerge' .* index 0 is of type 'Integer'",
        "shallowMerge-non-object",
    ),
    (
        "[union(createArray(), createObject())]",
        r"'union' expects all its parameters to be arrays or all to be objects",
        "union-mixed",
    ),
    (
        "[union(null(), createObject())]",
        r"'union' expects its first parameter .* 'Null'",
        "union-null",
    ),
    ("[intersection('a', 'b')]", r"'intersection' .* 'Array, Object'", "intersection-strings"),
    ("[tryGet('text', 'a')]", r"'tryGet' .* 'Array, Object'.* 'String'", "tryGet-string"),
    (
        "[tryGet(parameters('config'), true())]",
        r"'tryGet' expects its second parameter",
        "tryGet-bool-key",
    ),
]


@pytest.mark.parametrize(
    ("expression", "message"), [c[:2] for c in ERRORS], ids=[c[2] for c in ERRORS]
)
def test_object_function_error(expression: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message):
        ev(expression)
