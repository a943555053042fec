"""The text helpers behind the functions: ARM's lenient JSON and .NET composite formatting."""

from __future__ import annotations

import math
from typing import Any

import pytest

from bicep_assets.armlocal.engine.functions.conversion import format_float, to_arm_string
from bicep_assets.armlocal.engine.functions.dotnet_format import (
    FormatStringError,
    composite_format,
    format_number,
)
from bicep_assets.armlocal.engine.functions.json_text import (
    JsonTextError,
    parse_json_text,
    to_json_text,
)

PARSE_CASES = [
    ('{"a": 1}', {"a": 1}, "object"),
    ("{'a': 'b'}", {"a": "b"}, "single-quoted"),
    ("{a: 1, b_2: 'x'}", {"a": 1, "b_2": "x"}, "unquoted-names"),
    ("[1, 2, 3,]", [1, 2, 3], "trailing-comma"),
    ("// lead\n[1 /* two */, 2]", [1, 2], "comments"),
    ('"\\u00e9\\n\\t\\"\\/"', 'é\n\t"/', "escapes"),
    ("'it\\'s'", "it's", "escaped-single-quote"),
    ("-12", -12, "negative-int"),
    ("12345678901234567890", 12345678901234567890, "big-int"),
    ("1.25e2", 125.0, "float-exponent"),
    ("null", None, "null"),
    ("  true  ", True, "whitespace"),
    ("[]", [], "empty-array"),
    ("{}", {}, "empty-object"),
    ('{"a": {"b": [null, false]}}', {"a": {"b": [None, False]}}, "nested"),
]


@pytest.mark.parametrize(
    ("text", "expected"), [c[:2] for c in PARSE_CASES], ids=[c[2] for c in PARSE_CASES]
)
def test_parse_json_text(text: str, expected: Any) -> None:
    result = parse_json_text(text)
    assert result == expected
    assert type(result) is type(expected)


def test_parse_json_text_nan() -> None:
    assert math.isnan(parse_json_text("NaN"))


BAD_JSON = [
    ("", r"empty", "empty"),
    ("{", r"not terminated", "open-object"),
    ("[1 2]", r"expected ',' or '\]'", "missing-comma"),
    ("{'a' 1}", r"expected ':'", "missing-colon"),
    ("'abc", r"string is not terminated", "open-string"),
    ("[1] 2", r"additional text", "trailing-value"),
    ("01.2.3", r"number '01.2.3' is not valid", "bad-number"),
    ("tru", r"unexpected text 'tru'", "bad-literal"),
    ('"\\x"', r"escape '\\x' is not valid", "bad-escape"),
    ("/* open", r"comment is not terminated", "open-comment"),
    ("[" * 300, r"nested more than 256", "too-deep"),
]


@pytest.mark.parametrize(
    ("text", "message"), [c[:2] for c in BAD_JSON], ids=[c[2] for c in BAD_JSON]
)
def test_parse_json_text_error(text: str, message: str) -> None:
    with pytest.raises(JsonTextError, match=message):
        parse_json_text(text)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"a": [1, True, None]}, '{"a":[1,true,null]}'),
        ("é", '"é"'),
        (1.5, "1.5"),
        ({"k": "line\nbreak"}, '{"k":"line\\nbreak"}'),
    ],
    ids=["compact", "non-ascii-unescaped", "float", "escaped-newline"],
)
def test_to_json_text(value: Any, expected: str) -> None:
    assert to_json_text(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (3.0, "3"),
        (0.1, "0.1"),
        (1e20, "1E+20"),
        (1.5e-7, "1.5E-07"),
        (-2.5, "-2.5"),
        (math.inf, "Infinity"),
    ],
    ids=["whole", "fraction", "large", "small", "negative", "infinity"],
)
def test_format_float(value: float, expected: str) -> None:
    assert format_float(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, "True"), (False, "False"), (None, ""), (12, "12"), ([1, "a"], '[1,"a"]')],
    ids=["true", "false", "null", "int", "array"],
)
def test_to_arm_string(value: Any, expected: str) -> None:
    assert to_arm_string(value) == expected


NUMBER_CASES = [
    (8175133, "N0", "8,175,133"),
    (-1234.5, "N1", "-1,234.5"),
    (-0.004, "N2", "-0.00"),  # rounds to zero but keeps its sign, as .NET Core 3.0+
    (1.5, "F0", "2"),
    (2.5, "F0", "3"),
    (-2.5, "F0", "-3"),
    (255, "x", "ff"),
    (0.256, "P1", "25.6 %"),
    (-0.5, "P0", "-50 %"),
    (1234.5, "C", "\u00a41,234.50"),
    (-1, "C0", "(\u00a41)"),
    (123456, "E", "1.234560E+005"),
    (0.000123, "e1", "1.2e-004"),
    (9.99, "E0", "1E+001"),
    (12345, "G3", "1.23E+04"),
    (123, "G5", "123"),
    (42, "G", "42"),
    (0.1, "R", "0.1"),
    (5, "00.0", "05.0"),
    (1234.567, "#,##0.0#", "1,234.57"),
    (0.5, "#%", "50%"),
    (-5, "0;(0)", "(5)"),
    (0, "0;(0);'zero'", "zero"),
    (42, "'#'0", "#42"),
    (7, "Item 0", "Item 7"),
    (3, "#", "3"),
    (0, "#", ""),
]


@pytest.mark.parametrize(
    ("value", "spec", "expected"), NUMBER_CASES, ids=[f"{v}:{s}" for v, s, _ in NUMBER_CASES]
)
def test_format_number(value: int | float, spec: str, expected: str) -> None:
    assert format_number(value, spec) == expected


@pytest.mark.parametrize(
    ("pattern", "args", "message"),
    [
        ("{0", ["a"], "not closed"),
        ("}", [], "no matching"),
        ("{x}", ["a"], "not valid"),
        ("{2}", ["a", "b"], "argument 2, but only 2 arguments were provided"),
        ("{0,2000000}", ["a"], "alignment 2000000 is too large"),
    ],
    ids=["unclosed", "lone-close", "not-an-index", "index-out-of-range", "huge-alignment"],
)
def test_composite_format_error(pattern: str, args: list[Any], message: str) -> None:
    with pytest.raises(FormatStringError, match=message):
        composite_format(pattern, args)
