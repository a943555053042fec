"""Lambda functions: filter, groupBy, map, mapValues, reduce, sort, toObject.

The documented examples (template-functions-lambda, and the Bicep reference for the index
parameters) use the same four dogs; here they are a parameter.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from bicep_assets.armlocal.engine.errors import ExpressionError
from bicep_assets.armlocal.engine.evaluator import (
    Deferred,
    EvalContext,
    TemplateScope,
    evaluate_expression,
)

EVIE = {"name": "Evie", "age": 5, "interests": ["Ball", "Frisbee"]}
CASPER = {"name": "Casper", "age": 3, "interests": ["Other dogs"]}
INDY = {"name": "Indy", "age": 2, "interests": ["Butter"]}
KIRA = {"name": "Kira", "age": 8, "interests": ["Rubs"]}
DOGS = [EVIE, CASPER, INDY, KIRA]
DOGS_WITH_PROPERTIES = [
    {"name": dog["name"], "properties": {"age": dog["age"], "interests": dog["interests"]}}
    for dog in DOGS
]


def evaluate(expression: str, **parameters: Any) -> Any:
    """Evaluate with the dogs (and any extra parameters) as template parameters."""
    values = {"dogs": copy.deepcopy(DOGS), "dogsWithProperties": DOGS_WITH_PROPERTIES}
    values.update(parameters)
    return evaluate_expression(expression, EvalContext(TemplateScope(parameters=values)))


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        pytest.param(
            "[filter(parameters('dogs'), lambda('dog', "
            "greaterOrEquals(lambdaVariables('dog').age, 5)))]",
            [EVIE, KIRA],
            id="filter-oldDogs",
        ),
        pytest.param(
            "[filter(parameters('dogs'), lambda('val', 'i', and(less(lambdaVariables('i'), 2), "
            "equals(substring(lambdaVariables('val').name, 0, 1), 'C'))))]",
            [CASPER],
            id="filter-dogNameIndex",
        ),
        pytest.param(
            "[filter(range(0, 10), lambda('i', greater(lambdaVariables('i'), 5)))]",
            [6, 7, 8, 9],
            id="filter-filteredLoop",
        ),
        pytest.param(
            "[filter(range(0, 10), lambda('i', equals(0, mod(lambdaVariables('i'), 2))))]",
            [0, 2, 4, 6, 8],
            id="filter-isEven",
        ),
        pytest.param(
            "[groupBy(createArray('foo', 'bar', 'baz'), "
            "lambda('x', substring(lambdaVariables('x'), 0, 1)))]",
            {"f": ["foo"], "b": ["bar", "baz"]},
            id="groupBy-outObject",
        ),
        pytest.param(
            "[map(parameters('dogs'), lambda('dog', lambdaVariables('dog').name))]",
            ["Evie", "Casper", "Indy", "Kira"],
            id="map-dogNames",
        ),
        pytest.param(
            "[map(parameters('dogs'), lambda('dog', "
            "format('Hello {0}!', lambdaVariables('dog').name)))]",
            ["Hello Evie!", "Hello Casper!", "Hello Indy!", "Hello Kira!"],
            id="map-sayHi",
        ),
        pytest.param(
            "[map(range(0, length(parameters('dogs'))), lambda('i', createObject("
            "'i', lambdaVariables('i'), "
            "'dog', parameters('dogs')[lambdaVariables('i')].name, "
            "'greeting', format('Ahoy, {0}!', parameters('dogs')[lambdaVariables('i')].name))))]",
            [
                {"i": 0, "dog": "Evie", "greeting": "Ahoy, Evie!"},
                {"i": 1, "dog": "Casper", "greeting": "Ahoy, Casper!"},
                {"i": 2, "dog": "Indy", "greeting": "Ahoy, Indy!"},
                {"i": 3, "dog": "Kira", "greeting": "Ahoy, Kira!"},
            ],
            id="map-mapObject",
        ),
        pytest.param(
            "[map(parameters('dogs'), lambda('x', 'i', "
            "createObject('index', lambdaVariables('i'), 'val', lambdaVariables('x').name)))]",
            [
                {"index": 0, "val": "Evie"},
                {"index": 1, "val": "Casper"},
                {"index": 2, "val": "Indy"},
                {"index": 3, "val": "Kira"},
            ],
            id="map-mapArrayIndex",
        ),
        pytest.param(
            "[mapValues(createObject('foo', 'foo', 'bar', 'bar'), "
            "lambda('val', toUpper(lambdaVariables('val'))))]",
            {"foo": "FOO", "bar": "BAR"},
            id="mapValues-mapObject",
        ),
        pytest.param(
            "[reduce(map(parameters('dogs'), lambda('dog', lambdaVariables('dog').age)), 0, "
            "lambda('cur', 'next', add(lambdaVariables('cur'), lambdaVariables('next'))))]",
            18,
            id="reduce-totalAge",
        ),
        pytest.param(
            "[reduce(map(parameters('dogs'), lambda('dog', lambdaVariables('dog').age)), 1, "
            "lambda('cur', 'next', add(lambdaVariables('cur'), lambdaVariables('next'))))]",
            19,
            id="reduce-totalAgeAdd1",
        ),
        pytest.param(
            "[reduce(map(parameters('dogs'), lambda('dog', lambdaVariables('dog').age)), 0, "
            "lambda('cur', 'next', 'i', if(equals(mod(lambdaVariables('i'), 2), 0), "
            "add(lambdaVariables('cur'), lambdaVariables('next')), lambdaVariables('cur'))))]",
            7,
            id="reduce-oddAge",
        ),
        pytest.param(
            "[reduce(createArray(createObject('foo', 123), createObject('bar', 456), "
            "createObject('baz', 789)), createObject(), "
            "lambda('cur', 'next', union(lambdaVariables('cur'), lambdaVariables('next'))))]",
            {"foo": 123, "bar": 456, "baz": 789},
            id="reduce-reduceObjectUnion",
        ),
        pytest.param(
            "[sort(parameters('dogs'), lambda('a', 'b', "
            "less(lambdaVariables('a').age, lambdaVariables('b').age)))]",
            [INDY, CASPER, EVIE, KIRA],
            id="sort-dogsByAge",
        ),
        pytest.param(
            "[toObject(parameters('dogs'), lambda('entry', lambdaVariables('entry').name))]",
            {"Evie": EVIE, "Casper": CASPER, "Indy": INDY, "Kira": KIRA},
            id="toObject-two-parameters",
        ),
        pytest.param(
            "[toObject(parameters('dogs'), lambda('entry', lambdaVariables('entry').name), "
            "lambda('entry', lambdaVariables('entry')))]",
            {"Evie": EVIE, "Casper": CASPER, "Indy": INDY, "Kira": KIRA},
            id="toObject-identity-value",
        ),
        pytest.param(
            "[toObject(parameters('dogsWithProperties'), "
            "lambda('entry', lambdaVariables('entry').name), "
            "lambda('entry', lambdaVariables('entry').properties))]",
            {
                "Evie": {"age": 5, "interests": ["Ball", "Frisbee"]},
                "Casper": {"age": 3, "interests": ["Other dogs"]},
                "Indy": {"age": 2, "interests": ["Butter"]},
                "Kira": {"age": 8, "interests": ["Rubs"]},
            },
            id="toObject-three-parameters",
        ),
    ],
)
def test_documented_examples(expression: str, expected: Any) -> None:
    result = evaluate(expression)
    assert result == expected
    if isinstance(expected, dict):
        assert list(result) == list(expected)  # key order is the order of first appearance


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("[map(parameters('dogs'), lambda('dog', 'i', lambdaVariables('i')))]", [0, 1, 2, 3]),
        ("[filter(parameters('dogs'), lambda('dog', 'i', "
         "equals(lambdaVariables('i'), 2)))]", [INDY]),
        ("[reduce(parameters('dogs'), -1, lambda('acc', 'dog', 'i', lambdaVariables('i')))]", 3),
        ("[reduce(parameters('dogs'), 'none', lambda('acc', 'dog', lambdaVariables('dog').name))]",
         "Kira"),
        ("[map(parameters('dogs'), lambda('dog', map(lambdaVariables('dog').interests, "
         "lambda('interest', lambdaVariables('dog').name))))]",
         [["Evie", "Evie"], ["Casper"], ["Indy"], ["Kira"]]),
        ("[map(parameters('dogs'), lambda('DOG', lambdaVariables('dog').age))]", [5, 3, 2, 8]),
        ("[sort(parameters('dogs'), lambda('a', 'b', "
         "greater(lambdaVariables('a').age, lambdaVariables('b').age)))]",
         [KIRA, EVIE, CASPER, INDY]),
        ("[sort(createArray(3, 1, 2), lambda('a', 'b', "
         "less(lambdaVariables('a'), lambdaVariables('b'))))]", [1, 2, 3]),
        ("[groupBy(parameters('dogs'), lambda('dog', "
         "if(greater(lambdaVariables('dog').age, 4), 'old', 'young')))]",
         {"old": [EVIE, KIRA], "young": [CASPER, INDY]}),
        ("[mapValues(toObject(parameters('dogs'), lambda('d', lambdaVariables('d').name)), "
         "lambda('d', lambdaVariables('d').age))]",
         {"Evie": 5, "Casper": 3, "Indy": 2, "Kira": 8}),
    ],
    ids=["map-index-only", "filter-by-index", "reduce-index", "reduce-last-item",
         "nested-lambda-sees-outer-variable", "lambda-variable-names-ignore-case",
         "sort-descending", "sort-integers", "groupBy-computed-key", "mapValues-of-toObject"],
)  # fmt: skip
def test_lambda_behaviour(expression: str, expected: Any) -> None:
    assert evaluate(expression) == expected


def test_sort_is_stable_for_equal_elements() -> None:
    pets = [{"n": "a", "k": 2}, {"n": "b", "k": 1}, {"n": "c", "k": 2}, {"n": "d", "k": 1}]
    result = evaluate(
        "[sort(parameters('pets'), lambda('x', 'y', "
        "less(lambdaVariables('x').k, lambdaVariables('y').k)))]",
        pets=pets,
    )
    assert [p["n"] for p in result] == ["b", "d", "a", "c"]


def test_to_object_later_duplicate_key_wins() -> None:
    result = evaluate(
        "[toObject(parameters('dogs'), lambda('d', 'same'), "
        "lambda('d', lambdaVariables('d').name))]"
    )
    assert result == {"same": "Kira"}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("[filter(parameters('empty'), lambda('x', true()))]", []),
        ("[map(parameters('empty'), lambda('x', 1))]", []),
        ("[reduce(parameters('empty'), 42, lambda('a', 'b', 1))]", 42),
        ("[sort(parameters('empty'), lambda('a', 'b', true()))]", []),
        ("[groupBy(parameters('empty'), lambda('x', 'k'))]", {}),
        ("[toObject(parameters('empty'), lambda('x', 'k'))]", {}),
        ("[mapValues(parameters('emptyObject'), lambda('x', 1))]", {}),
    ],
    ids=["filter", "map", "reduce", "sort", "groupBy", "toObject", "mapValues"],
)
def test_empty_input(expression: str, expected: Any) -> None:
    assert evaluate(expression, empty=[], emptyObject={}) == expected


def test_inputs_are_not_modified() -> None:
    dogs = copy.deepcopy(DOGS)
    evaluate_expression(
        "[sort(parameters('dogs'), lambda('a', 'b', "
        "less(lambdaVariables('a').age, lambdaVariables('b').age)))]",
        EvalContext(TemplateScope(parameters={"dogs": dogs})),
    )
    assert dogs == DOGS


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("[map(parameters('dogs')[0], lambda('x', 1))]",
         r"The template language function 'map' expects its parameter 1 to be an array\. "
         r"The provided value is of type 'Object'\."),
        ("[filter(parameters('nothing'), lambda('x', true()))]",
         r"'filter' expects its parameter 1 to be an array.*'Null'"),
        ("[reduce('abc', 0, lambda('a', 'b', 1))]",
         r"'reduce' expects its parameter 1 to be an array.*'String'"),
        ("[mapValues(parameters('dogs'), lambda('x', 1))]",
         r"'mapValues' expects its parameter 1 to be an object.*'Array'"),
        ("[map(parameters('dogs'), 'name')]",
         r"'map' expects its parameter 2 to be a lambda function\. "
         r"The provided value is of type 'String'\."),
        ("[reduce(parameters('dogs'), 0, 1)]",
         r"'reduce' expects its parameter 3 to be a lambda function.*'Integer'"),
        ("[toObject(parameters('dogs'), lambda('d', 'k'), parameters('nothing'))]",
         r"'toObject' expects its parameter 3 to be a lambda function.*'Null'"),
        ("[map(parameters('dogs'), lambda('a', 'b', 'c', 1))]",
         r"'map' expects the lambda function of its parameter 2 to declare 1 or 2 parameters, "
         r"but it declares 3"),
        ("[filter(parameters('dogs'), lambda(true()))]",
         r"'filter' expects the lambda function of its parameter 2 to declare 1 or 2 "
         r"parameters, but it declares 0"),
        ("[reduce(parameters('dogs'), 0, lambda('a', 1))]",
         r"'reduce' expects the lambda function of its parameter 3 to declare 2 or 3 "
         r"parameters, but it declares 1"),
        ("[sort(parameters('dogs'), lambda('a', true()))]",
         r"'sort' expects the lambda function of its parameter 2 to declare 2 parameters, "
         r"but it declares 1"),
        ("[mapValues(createObject('a', 1), lambda('k', 'v', 1))]",
         r"'mapValues' expects the lambda function of its parameter 2 to declare 1 parameter, "
         r"but it declares 2"),
        ("[groupBy(parameters('dogs'), lambda('d', 'i', 'k'))]",
         r"'groupBy' expects the lambda function of its parameter 2 to declare 1 parameter"),
        ("[toObject(parameters('dogs'), lambda('d', 'k'), lambda('d', 'i', 1))]",
         r"'toObject' expects the lambda function of its parameter 3 to declare 1 parameter"),
        ("[filter(parameters('dogs'), lambda('d', lambdaVariables('d').name))]",
         r"'filter' expects its lambda function to return a boolean\. "
         r"The lambda returned a value of type 'String'\."),
        ("[sort(parameters('dogs'), lambda('a', 'b', 1))]",
         r"'sort' expects its lambda function to return a boolean.*'Integer'"),
        ("[toObject(parameters('dogs'), lambda('d', lambdaVariables('d').age))]",
         r"'toObject' expects its key lambda function to return a string\. "
         r"The lambda returned a value of type 'Integer'\."),
        ("[groupBy(parameters('dogs'), lambda('d', lambdaVariables('d').interests))]",
         r"'groupBy' expects its key lambda function to return a string.*'Array'"),
        ("[map(parameters('dogs'))]",
         r"'map' expects exactly 2 parameters, but 1 was provided"),
        ("[toObject(parameters('dogs'), lambda('d', 'k'), lambda('d', 1), lambda('d', 1))]",
         r"'toObject' expects between 2 and 3 parameters, but 4 were provided"),
    ],
    ids=["map-object", "filter-null", "reduce-string", "mapValues-array", "map-not-lambda",
         "reduce-not-lambda", "toObject-null-value-lambda", "map-three-parameters",
         "filter-no-parameters", "reduce-one-parameter", "sort-one-parameter",
         "mapValues-two-parameters", "groupBy-two-parameters", "toObject-value-two-parameters",
         "filter-returns-string", "sort-returns-integer", "toObject-integer-key",
         "groupBy-array-key", "map-one-argument", "toObject-four-arguments"],
)  # fmt: skip
def test_errors(expression: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message):
        evaluate(expression, nothing=None)


@pytest.mark.parametrize(
    "expression",
    [
        "[filter(parameters('items'), lambda('x', parameters('later')))]",
        "[sort(parameters('items'), lambda('a', 'b', parameters('later')))]",
        "[groupBy(parameters('items'), lambda('x', parameters('later')))]",
        "[toObject(parameters('items'), lambda('x', parameters('later')))]",
    ],
    ids=["filter", "sort", "groupBy", "toObject"],
)
def test_a_deferred_decision_defers_the_whole_result(expression: str) -> None:
    later = Deferred("reference('sa')")
    assert evaluate(expression, items=[1, 2, 3], later=later) is later


def test_map_carries_deferred_values() -> None:
    later = Deferred("reference('sa')")
    result = evaluate(
        "[map(parameters('items'), lambda('x', parameters('later')))]", items=[1, 2], later=later
    )
    assert result == [later, later]
