"""Comparison and logical template functions, including the laziness of if/and/or/coalesce."""

from __future__ import annotations

from typing import Any

import pytest

from bicep_assets.armlocal.engine.errors import ExpressionError
from bicep_assets.armlocal.engine.evaluator import EvalContext, TemplateScope, evaluate_expression
from bicep_assets.armlocal.engine.functions.comparison import compare_strings

BOOM = "div(1, 0)"  # an argument that fails if it is ever evaluated
PARAMS: dict[str, Any] = {
    "objectToTest": {
        "null1": None,
        "null2": None,
        "string": "default",
        "int": 1,
        "object": {"first": "default"},
        "array": [1],
    },
    "logAnalytics": "",
}


def ev(text: str) -> Any:
    return evaluate_expression(text, EvalContext(TemplateScope(parameters=dict(PARAMS))))


CASES = [
    # coalesce (docs examples)
    (
        "[coalesce(parameters('objectToTest').null1, parameters('objectToTest').null2, "
        "parameters('objectToTest').string)]",
        "default",
        "coalesce-string",
    ),
    (
        "[coalesce(parameters('objectToTest').null1, parameters('objectToTest').int)]",
        1,
        "coalesce-int",
    ),
    (
        "[coalesce(parameters('objectToTest').null1, parameters('objectToTest').object)]",
        {"first": "default"},
        "coalesce-object",
    ),
    (
        "[coalesce(parameters('objectToTest').null1, parameters('objectToTest').array)]",
        [1],
        "coalesce-array",
    ),
    (
        "[empty(coalesce(parameters('objectToTest').null1, parameters('objectToTest').null2))]",
        True,
        "coalesce-all-null",
    ),
    ("[coalesce('', 'x')]", "", "coalesce-empty-string-is-not-null"),
    ("[coalesce(createArray(), createArray(1))]", [], "coalesce-empty-array-is-not-null"),
    (f"[coalesce('first', {BOOM})]", "first", "coalesce-lazy"),
    # equals (docs examples + deep/typed cases)
    ("[equals(1, 1)]", True, "equals-ints"),
    ("[equals('a', 'a')]", True, "equals-strings"),
    ("[equals(createArray('a', 'b'), createArray('a', 'b'))]", True, "equals-arrays"),
    ("[equals(createObject('a', 'b'), createObject('a', 'b'))]", True, "equals-objects"),
    ("[not(equals(1, 2))]", True, "not-equals"),
    ("[equals('a', 'A')]", False, "equals-case-sensitive"),
    (
        "[equals(createObject('a', 1, 'b', 2), createObject('b', 2, 'a', 1))]",
        True,
        "equals-objects-order-insensitive",
    ),
    ("[equals(createArray(1, 2), createArray(2, 1))]", False, "equals-arrays-ordered"),
    ("[equals(1, true())]", False, "equals-int-is-not-bool"),
    ("[equals(0, false())]", False, "equals-zero-is-not-false"),
    ("[equals('1', 1)]", False, "equals-string-is-not-int"),
    ("[equals(null(), null())]", True, "equals-nulls"),
    ("[equals(null(), '')]", False, "equals-null-is-not-empty"),
    (
        "[equals(createObject('a', createArray(1, createObject('b', null()))), "
        'json(\'{"a": [1, {"b": null}]}\'))]',
        True,
        "equals-deep",
    ),
    ("[equals(1, json('1.0'))]", True, "equals-int-float"),
    # ordering (docs examples: 'A' > 'a', as .NET's culture-aware comparison says)
    ("[greater(1, 2)]", False, "greater-ints"),
    ("[greater('A', 'a')]", True, "greater-strings-docs"),
    ("[greaterOrEquals(1, 2)]", False, "greaterOrEquals-ints"),
    ("[greaterOrEquals('A', 'a')]", True, "greaterOrEquals-strings-docs"),
    ("[less(1, 2)]", True, "less-ints"),
    ("[less('A', 'a')]", False, "less-strings-docs"),
    ("[lessOrEquals(1, 2)]", True, "lessOrEquals-ints"),
    ("[lessOrEquals('A', 'a')]", False, "lessOrEquals-strings-docs"),
    ("[greaterOrEquals(2, 2)]", True, "greaterOrEquals-equal"),
    ("[less('a', 'B')]", True, "less-alphabetical-before-case"),
    ("[less('apple', 'apples')]", True, "less-prefix"),
    ("[greater('b', 'A')]", True, "greater-letters-ignore-case-first"),
    ("[less('9', 'a')]", True, "less-digits-before-letters"),
    ("[greater(-1, -2)]", True, "greater-negative"),
    # logical (docs examples)
    ("[and(bool('true'), bool('false'))]", False, "and"),
    ("[or(bool('true'), bool('false'))]", True, "or"),
    ("[not(bool('true'))]", False, "not"),
    ("[and(true(), true(), true())]", True, "and-three"),
    ("[or(false(), false(), true())]", True, "or-three"),
    (f"[and(false(), {BOOM})]", False, "and-short-circuits"),
    (f"[or(true(), {BOOM})]", True, "or-short-circuits"),
    # bool
    ("[bool('true')]", True, "bool-string-true"),
    ("[bool('false')]", False, "bool-string-false"),
    ("[bool(1)]", True, "bool-int-1"),
    ("[bool(0)]", False, "bool-int-0"),
    ("[bool('TRUE')]", True, "bool-ignores-case"),
    ("[bool(5)]", True, "bool-nonzero"),
    ("[true()]", True, "true"),
    ("[false()]", False, "false"),
    # if (docs examples + laziness)
    ("[if(equals('a', 'a'), 'yes', 'no')]", "yes", "if-true"),
    ("[if(equals('a', 'b'), 'yes', 'no')]", "no", "if-false"),
    (
        "[if(equals('a', 'a'), json('{\"test\": \"value1\"}'), json('null'))]",
        {"test": "value1"},
        "if-object",
    ),
    (f"[if(true(), 'ok', {BOOM})]", "ok", "if-false-branch-not-evaluated"),
    (f"[if(false(), {BOOM}, 'ok')]", "ok", "if-true-branch-not-evaluated"),
    (
        "[if(empty(parameters('logAnalytics')), null(), parameters('logAnalytics').customerId)]",
        None,
        "if-guards-property-access",
    ),
]


@pytest.mark.parametrize(
    ("expression", "expected"), [c[:2] for c in CASES], ids=[c[2] for c in CASES]
)
def test_comparison_and_logic(expression: str, expected: Any) -> None:
    result = ev(expression)
    assert result == expected
    assert type(result) is type(expected)


ERRORS = [
    (f"[coalesce(null(), {BOOM})]", r"'div' cannot divide by zero", "coalesce-evaluates-on"),
    (f"[and(true(), {BOOM})]", r"'div' cannot divide by zero", "and-evaluates-on"),
    (f"[if(true(), {BOOM}, 'x')]", r"'div' cannot divide by zero", "if-evaluates-chosen"),
    (
        "[greater(1, '1')]",
        r"'greater' expects two parameters of the same type.*'Integer' and "
        r"'String'",
        "greater-mixed",
    ),
    ("[less(createArray(), createArray())]", r"'less' .* 'Array' and 'Array'", "less-arrays"),
    ("[lessOrEquals(true(), false())]", r"'lessOrEquals' .* 'Boolean'", "lessOrEquals-bools"),
    (
        "[and(true(), 1)]",
        r"'and' expects its second parameter to be of type 'Boolean'. The "
        r"provided value is of type 'Integer'",
        "and-int",
    ),
    ("[or('true', false())]", r"'or' expects its first parameter .* 'String'", "or-string"),
    ("[and(true())]", r"'and' expects at least 2 parameters, but 1 was provided", "and-one-arg"),
    ("[not(1)]", r"'not' expects its first parameter to be of type 'Boolean'", "not-int"),
    ("[not(null())]", r"'not' .* 'Null'", "not-null"),
    (
        "[if('yes', 1, 2)]",
        r"'if' expects its first parameter to be of type 'Boolean'",
        "if-string-condition",
    ),
    ("[if(true(), 1)]", r"'if' expects exactly 3 parameters", "if-two-args"),
    ("[bool('yes')]", r"'bool' cannot convert .* 'yes'", "bool-bad-string"),
    ("[bool(null())]", r"'bool' .* 'Null'", "bool-null"),
    ("[bool(createArray())]", r"'bool' .* 'Array'", "bool-array"),
    ("[equals(1)]", r"'equals' expects exactly 2 parameters", "equals-one-arg"),
    ("[coalesce()]", r"'coalesce' expects at least 1 parameter,", "coalesce-no-args"),
]


@pytest.mark.parametrize(
    ("expression", "message"), [c[:2] for c in ERRORS], ids=[c[2] for c in ERRORS]
)
def test_comparison_and_logic_error(expression: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message):
        ev(expression)


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        ("a", "b", -1),
        ("b", "a", 1),
        ("a", "a", 0),
        ("a", "A", -1),
        ("A", "a", 1),
        ("ab", "AB", -1),
        ("Ab", "aC", -1),
        ("a-b", "a", 1),
        ("é", "f", -1),
        ("", "a", -1),
    ],
    ids=[
        "a<b",
        "b>a",
        "equal",
        "lower-first",
        "upper-after",
        "case-at-first-difference",
        "letters-before-case",
        "longer-after-prefix",
        "accents-secondary",
        "empty-first",
    ],
)
def test_compare_strings(left: str, right: str, expected: int) -> None:
    assert compare_strings(left, right) == expected
