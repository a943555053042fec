"""Numeric template functions: 64-bit integers with .NET's division semantics."""

from __future__ import annotations

from typing import Any

import pytest

from bicep_assets.armlocal.engine.errors import ExpressionError
from bicep_assets.armlocal.engine.evaluator import EvalContext, TemplateScope, evaluate_expression

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)


def ev(text: str, **parameters: Any) -> Any:
    return evaluate_expression(text, EvalContext(TemplateScope(parameters=parameters)))


CASES = [
    # docs examples
    ("[add(5, 3)]", 8, "add"),
    ("[sub(7, 3)]", 4, "sub"),
    ("[mul(5, 3)]", 15, "mul"),
    ("[div(8, 3)]", 2, "div"),
    ("[mod(7, 3)]", 1, "mod"),
    ("[int('4')]", 4, "int-string"),
    ("[max(createArray(0, 3, 2, 5, 4))]", 5, "max-array"),
    ("[max(0, 3, 2, 5, 4)]", 5, "max-list"),
    ("[min(createArray(0, 3, 2, 5, 4))]", 0, "min-array"),
    ("[min(0, 3, 2, 5, 4)]", 0, "min-list"),
    ("[float('3.0')]", 3.0, "float-string"),
    ("[float(3)]", 3.0, "float-int"),
    # .NET division: truncate toward zero; remainder takes the dividend's sign
    ("[div(-7, 2)]", -3, "div-negative-truncates"),
    ("[div(7, -2)]", -3, "div-negative-divisor"),
    ("[div(-7, -2)]", 3, "div-both-negative"),
    ("[mod(-7, 2)]", -1, "mod-negative-dividend"),
    ("[mod(7, -2)]", 1, "mod-negative-divisor"),
    ("[mod(-8, 2)]", 0, "mod-zero-remainder"),
    ("[sub(0, 5)]", -5, "sub-negative"),
    # conversions
    ("[int(' -12 ')]", -12, "int-whitespace-sign"),
    ("[int('+7')]", 7, "int-plus"),
    ("[int(9)]", 9, "int-int"),
    ("[int('9223372036854775807')]", INT64_MAX, "int-max"),
    ("[float('-1.5e2')]", -150.0, "float-exponent"),
    ("[float('.5')]", 0.5, "float-leading-dot"),
    ("[max(7)]", 7, "max-single"),
    ("[min(-1, -5)]", -5, "min-negative"),
    ("[add(-9223372036854775807, -1)]", INT64_MIN, "add-to-min"),
    ("[div(-9223372036854775807, 1)]", INT64_MIN + 1, "div-large"),
]


@pytest.mark.parametrize(
    ("expression", "expected"), [c[:2] for c in CASES], ids=[c[2] for c in CASES]
)
def test_numeric_function(expression: str, expected: Any) -> None:
    result = ev(expression)
    assert result == expected
    assert type(result) is type(expected)


def test_add_with_large_parameter_values() -> None:
    assert ev("[add(parameters('a'), 1)]", a=INT64_MAX - 1) == INT64_MAX


ERRORS = [
    ("[div(1, 0)]", r"'div' cannot divide by zero", "div-by-zero"),
    ("[mod(1, 0)]", r"'mod' cannot divide by zero", "mod-by-zero"),
    (
        "[add(9223372036854775807, 1)]",
        r"'add' produced the value '9223372036854775808', which "
        r"is outside the range of a 64-bit integer",
        "add-overflow",
    ),
    ("[mul(4611686018427387904, 2)]", r"'mul' .* outside the range", "mul-overflow"),
    ("[sub(-9223372036854775807, 2)]", r"'sub' .* outside the range", "sub-overflow"),
    (
        "[add(1, '2')]",
        r"'add' expects its second parameter to be of type 'Integer'. The "
        r"provided value is of type 'String'",
        "add-string",
    ),
    ("[add(true(), 1)]", r"'add' expects its first parameter .* 'Boolean'", "add-bool"),
    ("[int('4.0')]", r"'int' cannot convert '4.0'", "int-decimal-string"),
    ("[int('abc')]", r"'int' cannot convert 'abc'", "int-word"),
    (
        "[int(true())]",
        r"'int' expects its first parameter to be of type 'Integer, String'. "
        r"The provided value is of type 'Boolean'",
        "int-bool",
    ),
    ("[int('9223372036854775808')]", r"'int' .* outside the range", "int-too-big"),
    ("[float('x')]", r"'float' cannot convert 'x'", "float-word"),
    ("[float(null())]", r"'float' .* 'Null'", "float-null"),
    ("[max(createArray())]", r"'max' .* array is empty", "max-empty"),
    ("[min(createArray(1, 'a'))]", r"'min' .* position 1 is of type 'String'", "min-string"),
    ("[max(1, true())]", r"'max' .* 'Boolean'", "max-bool"),
    ("[max()]", r"'max' expects at least 1 parameter,", "max-no-args"),
]


@pytest.mark.parametrize(
    ("expression", "message"), [c[:2] for c in ERRORS], ids=[c[2] for c in ERRORS]
)
def test_numeric_function_error(expression: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message):
        ev(expression)
