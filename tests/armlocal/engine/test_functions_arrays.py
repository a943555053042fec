"""Array template functions (and the names ARM shares between arrays, strings and objects)."""

from __future__ import annotations

from typing import Any

import pytest

from bicep_assets.armlocal.engine.errors import ExpressionError
from bicep_assets.armlocal.engine.evaluator import EvalContext, TemplateScope, evaluate_expression

PARAMS: dict[str, Any] = {
    "names": ["one", "two", "three"],
    "obj": {"one": "a", "two": "b", "three": "c"},
    "nums": [0, 3, 2, 5, 4],
    "mixed": ["one", 1, True, None, {"a": [1]}, [2]],
    "empty": [],
}


def ev(text: str) -> Any:
    return evaluate_expression(text, EvalContext(TemplateScope(parameters=dict(PARAMS))))


CASES = [
    # array()
    ("[array(1)]", [1], "array-int"),
    ("[array('efgh')]", ["efgh"], "array-string"),
    ("[array(createObject('a', 'b', 'c', 'd'))]", [{"a": "b", "c": "d"}], "array-object"),
    ("[array(parameters('names'))]", ["one", "two", "three"], "array-array-unchanged"),
    # createArray
    ("[createArray('a', 'b', 'c')]", ["a", "b", "c"], "createArray-strings"),
    ("[createArray(1, 2, 3)]", [1, 2, 3], "createArray-ints"),
    (
        "[createArray(parameters('obj'))]",
        [{"one": "a", "two": "b", "three": "c"}],
        "createArray-object",
    ),
    ("[createArray(parameters('names'))]", [["one", "two", "three"]], "createArray-nested"),
    ("[createArray()]", [], "createArray-empty"),
    # concat
    (
        "[concat(createArray('1-1', '1-2'), createArray('2-1'))]",
        ["1-1", "1-2", "2-1"],
        "concat-arrays",
    ),
    ("[concat('prefix', '-', 'x')]", "prefix-x", "concat-strings"),
    ("[concat('vm', 3)]", "vm3", "concat-string-int"),
    ("[concat('is-', true())]", "is-True", "concat-bool"),
    ("[concat('a', null(), 'b')]", "ab", "concat-null-is-empty"),
    ("[concat(createArray(1), null(), createArray(2))]", [1, 2], "concat-array-null-skipped"),
    ("[concat(createArray())]", [], "concat-single-array"),
    # contains
    ("[contains('OneTwoThree', 'e')]", True, "contains-string"),
    ("[contains('OneTwoThree', 'z')]", False, "contains-string-false"),
    ("[contains('OneTwoThree', 'one')]", False, "contains-string-case-sensitive"),
    ("[contains('a12', 12)]", True, "contains-string-int"),
    ("[contains(parameters('obj'), 'one')]", True, "contains-object-key"),
    ("[contains(parameters('obj'), 'ONE')]", True, "contains-object-key-ignores-case"),
    ("[contains(parameters('obj'), 'a')]", False, "contains-object-value-not-key"),
    ("[contains(parameters('names'), 'three')]", True, "contains-array"),
    ("[contains(parameters('names'), 'four')]", False, "contains-array-false"),
    ("[contains(parameters('names'), 'THREE')]", False, "contains-array-case-sensitive"),
    (
        "[contains(parameters('mixed'), createObject('a', createArray(1)))]",
        True,
        "contains-array-deep",
    ),
    ("[contains(createArray(1), true())]", False, "contains-bool-is-not-int"),
    ("[contains(parameters('mixed'), null())]", True, "contains-null"),
    # empty
    ("[empty(parameters('empty'))]", True, "empty-array"),
    ("[empty(createObject())]", True, "empty-object"),
    ("[empty('')]", True, "empty-string"),
    ("[empty(null())]", True, "empty-null"),
    ("[empty(parameters('names'))]", False, "empty-array-false"),
    ("[empty(' ')]", False, "empty-space"),
    # first / last
    ("[first(parameters('names'))]", "one", "first-array"),
    ("[first('One Two Three')]", "O", "first-string"),
    ("[first(parameters('empty'))]", None, "first-empty-array-null"),
    ("[first('')]", "", "first-empty-string"),
    ("[last(parameters('names'))]", "three", "last-array"),
    ("[last('One Two Three')]", "e", "last-string"),
    ("[last(parameters('empty'))]", None, "last-empty-array-null"),
    # length
    ("[length(parameters('names'))]", 3, "length-array"),
    ("[length('One Two Three')]", 13, "length-string"),
    (
        "[length(createObject('propA', 'one', 'propB', 'two', 'propC', 'three', 'propD', "
        "createObject('propD-1', 'sub', 'propD-2', 'sub')))]",
        4,
        "length-object-top-level",
    ),
    # skip / take (docs examples and bounds)
    ("[skip(parameters('names'), 2)]", ["three"], "skip-array"),
    ("[skip('one two three', 4)]", "two three", "skip-string"),
    ("[skip(parameters('names'), 0)]", ["one", "two", "three"], "skip-zero"),
    ("[skip(parameters('names'), -1)]", ["one", "two", "three"], "skip-negative"),
    ("[skip(parameters('names'), 10)]", [], "skip-past-end"),
    ("[take(parameters('names'), 2)]", ["one", "two"], "take-array"),
    ("[take('on two three', 2)]", "on", "take-string"),
    ("[take(parameters('names'), -2)]", [], "take-negative"),
    ("[take('abc', 10)]", "abc", "take-past-end"),
    # indexOf / lastIndexOf
    ("[indexOf('test', 't')]", 0, "indexOf-string"),
    ("[lastIndexOf('test', 't')]", 3, "lastIndexOf-string"),
    ("[indexOf('abcdef', 'CD')]", 2, "indexOf-ignores-case"),
    ("[lastIndexOf('abcdef', 'AB')]", 0, "lastIndexOf-ignores-case"),
    ("[indexOf('abcdef', 'z')]", -1, "indexOf-not-found"),
    ("[indexOf('abc', '')]", 0, "indexOf-empty-needle"),
    ("[indexOf(parameters('names'), 'two')]", 1, "indexOf-array"),
    ("[indexOf(parameters('names'), 'Two')]", -1, "indexOf-array-case-sensitive"),
    ("[indexOf(createArray(1, 2, 1), 1)]", 0, "indexOf-array-int"),
    ("[lastIndexOf(createArray(1, 2, 1), 1)]", 2, "lastIndexOf-array-int"),
    ("[indexOf(parameters('mixed'), createArray(2))]", 5, "indexOf-array-deep"),
    ("[indexOf(parameters('mixed'), true())]", 2, "indexOf-bool"),
    ("[lastIndexOf(parameters('names'), 'four')]", -1, "lastIndexOf-array-not-found"),
    # flatten
    (
        "[flatten(createArray(createArray('one', 'two'), createArray('three'), "
        "createArray('four', 'five')))]",
        ["one", "two", "three", "four", "five"],
        "flatten",
    ),
    (
        "[flatten(createArray(createArray(createArray(1)), createArray()))]",
        [[1]],
        "flatten-one-level",
    ),
    # range
    ("[range(1, 5)]", [1, 2, 3, 4, 5], "range"),
    ("[range(-2, 3)]", [-2, -1, 0], "range-negative-start"),
    ("[range(5, 0)]", [], "range-empty"),
    # indexFromEnd / tryIndexFromEnd
    ("[indexFromEnd(parameters('names'), 1)]", "three", "indexFromEnd-last"),
    ("[indexFromEnd(parameters('names'), 3)]", "one", "indexFromEnd-first"),
    ("[tryIndexFromEnd(parameters('names'), 4)]", None, "tryIndexFromEnd-out-of-range"),
    ("[tryIndexFromEnd(parameters('names'), 2)]", "two", "tryIndexFromEnd"),
    ("[tryIndexFromEnd(null(), 1)]", None, "tryIndexFromEnd-null"),
]


@pytest.mark.parametrize(
    ("expression", "expected"), [c[:2] for c in CASES], ids=[c[2] for c in CASES]
)
def test_array_function(expression: str, expected: Any) -> None:
    result = ev(expression)
    assert result == expected
    assert type(result) is type(expected)


def test_results_do_not_alias_inputs() -> None:
    ctx = EvalContext(TemplateScope(parameters={"a": [1, 2]}))
    result = evaluate_expression("[concat(parameters('a'), createArray(3))]", ctx)
    assert result == [1, 2, 3]
    assert ctx.scope.parameters["a"] == [1, 2]


ERRORS = [
    (
        "[concat(createArray(1), 'a')]",
        r"'concat' expects all its parameters to be arrays",
        "concat-array-then-string",
    ),
    (
        "[concat('a', createArray(1))]",
        r"'concat' .* parameter 2 is of type 'Array'",
        "concat-string-then-array",
    ),
    (
        "[contains(null(), 'a')]",
        r"'contains' expects its first parameter to be of type "
        r"'Array, Object, String'. The provided value is of type 'Null'",
        "contains-null",
    ),
    (
        "[contains(parameters('obj'), createArray())]",
        r"'contains' expects its second parameter",
        "contains-object-array-key",
    ),
    ("[empty(1)]", r"'empty' expects its first parameter .* 'Integer'", "empty-int"),
    ("[length(null())]", r"'length' .* 'Null'", "length-null"),
    ("[length(1)]", r"'length' .* 'Integer'", "length-int"),
    ("[first(parameters('obj'))]", r"'first' .* 'Array, String'.* 'Object'", "first-object"),
    (
        "[skip(parameters('names'), '1')]",
        r"'skip' expects its parameter 2 to be an integer",
        "skip-string-count",
    ),
    ("[take(1, 1)]", r"'take' .* 'Array, String'", "take-int"),
    (
        "[indexOf('abc', 1)]",
        r"'indexOf' expects its second parameter to be of type 'String'",
        "indexOf-string-int",
    ),
    (
        "[flatten(createArray(1))]",
        r"'flatten' .* index 0 is of type 'Integer'",
        "flatten-non-array",
    ),
    ("[flatten('a')]", r"'flatten' expects its parameter 1 to be an array", "flatten-string"),
    ("[range(0, 10001)]", r"'range' .* between 0 and 10000", "range-count-too-big"),
    ("[range(0, -1)]", r"'range' .* count is -1", "range-negative-count"),
    ("[range(2147483647, 1)]", r"'range' .* at most 2147483647", "range-end-too-big"),
    (
        "[indexFromEnd(parameters('names'), 4)]",
        r"'indexFromEnd' .* element 4 .* 3 elements",
        "indexFromEnd-out-of-range",
    ),
    ("[indexFromEnd(parameters('names'), 0)]", r"'indexFromEnd' .* between 1", "indexFromEnd-0"),
]


@pytest.mark.parametrize(
    ("expression", "message"), [c[:2] for c in ERRORS], ids=[c[2] for c in ERRORS]
)
def test_array_function_error(expression: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message):
        ev(expression)
