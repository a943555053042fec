"""String template functions, checked against Microsoft's documented ARM behaviour."""

from __future__ import annotations

from typing import Any

import pytest

from bicep_assets.armlocal.engine.errors import ExpressionError
from bicep_assets.armlocal.engine.evaluator import EvalContext, TemplateScope, evaluate_expression


def ev(text: str, **parameters: Any) -> Any:
    return evaluate_expression(text, EvalContext(TemplateScope(parameters=parameters)))


CASES = [
    # base64 family (docs: 'one, two, three' <-> b25lLCB0d28sIHRocmVl)
    ("[base64('one, two, three')]", "b25lLCB0d28sIHRocmVl", "base64"),
    ("[base64ToString('b25lLCB0d28sIHRocmVl')]", "one, two, three", "base64ToString"),
    (
        "[base64ToJson(base64('{''one'': ''a'', ''two'': ''b''}'))]",
        {"one": "a", "two": "b"},
        "base64ToJson-single-quoted",
    ),
    ("[base64ToString(base64('héllo ✓'))]", "héllo ✓", "base64-utf8-roundtrip"),
    ("[base64('')]", "", "base64-empty"),
    # data URIs
    ("[dataUri('Hello')]", "data:text/plain;charset=utf8;base64,SGVsbG8=", "dataUri"),
    ("[dataUriToString('data:;base64,SGVsbG8sIFdvcmxkIQ==')]", "Hello, World!", "dataUriToString"),
    ("[dataUriToString(dataUri('a;b,c'))]", "a;b,c", "dataUri-roundtrip"),
    (
        "[dataUriToString('data:text/plain,hello%20world')]",
        "hello world",
        "dataUriToString-percent",
    ),
    # startsWith / endsWith ignore case
    ("[startsWith('abcdef', 'ab')]", True, "startsWith"),
    ("[startsWith('abcdef', 'A')]", True, "startsWith-ignores-case"),
    ("[startsWith('abcdef', 'e')]", False, "startsWith-false"),
    ("[endsWith('abcdef', 'ef')]", True, "endsWith"),
    ("[endsWith('abcdef', 'F')]", True, "endsWith-ignores-case"),
    ("[endsWith('abcdef', 'e')]", False, "endsWith-false"),
    ("[startsWith('abc', '')]", True, "startsWith-empty"),
    # string()
    (
        "[string(createObject('valueA', 10, 'valueB', 'Example Text'))]",
        '{"valueA":10,"valueB":"Example Text"}',
        "string-object-compact",
    ),
    ("[string(createArray('a', 'b', 'c'))]", '["a","b","c"]', "string-array"),
    ("[string(5)]", "5", "string-int"),
    ("[string(true())]", "True", "string-true-dotnet-spelling"),
    ("[string(false())]", "False", "string-false"),
    ("[string(createArray(true(), null()))]", "[true,null]", "string-json-bools-lowercase"),
    ("[string(null())]", "", "string-null"),
    ("[string('x')]", "x", "string-string"),
    ("[string(createObject('k', 'é'))]", '{"k":"é"}', "string-non-ascii-unescaped"),
    ("[string(float('1.5'))]", "1.5", "string-float"),
    # toLower / toUpper / trim
    ("[toLower('One Two Three')]", "one two three", "toLower"),
    ("[toUpper('One Two Three')]", "ONE TWO THREE", "toUpper"),
    ("[toUpper('straße')]", "STRAßE", "toUpper-invariant-keeps-length"),
    ("[trim('    one two three   ')]", "one two three", "trim"),
    ("[trim('\t x \n')]", "x", "trim-tabs-newlines"),
    # padLeft
    ("[padLeft('123', 10, '0')]", "0000000123", "padLeft-docs"),
    ("[padLeft(123, 5, '0')]", "00123", "padLeft-int"),
    ("[padLeft('abc', 5)]", "  abc", "padLeft-default-space"),
    ("[padLeft('abcdef', 3, '0')]", "abcdef", "padLeft-longer-unchanged"),
    # replace is case-sensitive
    ("[replace('123-123-1234', '-', '')]", "1231231234", "replace-docs-1"),
    ("[replace('123-123-1234', '1234', 'xxxx')]", "123-123-xxxx", "replace-docs-2"),
    ("[replace('aAa', 'a', 'b')]", "bAb", "replace-case-sensitive"),
    # split
    ("[split('one,two,three', ',')]", ["one", "two", "three"], "split"),
    (
        "[split('one;two,three', createArray(',', ';'))]",
        ["one", "two", "three"],
        "split-array-delimiters",
    ),
    ("[split('a,,b', ',')]", ["a", "", "b"], "split-keeps-empty"),
    ("[split('abc', '')]", ["abc"], "split-empty-delimiter"),
    ("[split('', ',')]", [""], "split-empty-string"),
    (
        "[split('a--b-c', createArray('-', '--'))]",
        ["a", "", "b", "c"],
        "split-first-listed-separator-wins",
    ),
    ("[split('aXbxc', 'x')]", ["aXb", "c"], "split-case-sensitive"),
    # substring
    ("[substring('one two three', 4, 3)]", "two", "substring-docs"),
    ("[substring('hello', 2)]", "llo", "substring-rest"),
    ("[substring('hello', 5)]", "", "substring-at-end"),
    ("[substring('hello', 0, 0)]", "", "substring-zero-length"),
    ("[substring('hello')]", "hello", "substring-one-arg"),
    # join
    ("[join(createArray('one', 'two', 'three'), ',')]", "one,two,three", "join"),
    ("[join(createArray('one', 'two', 'three'), ';')]", "one;two;three", "join-semicolon"),
    ("[join(createArray(), ',')]", "", "join-empty"),
    ("[join(createArray('a', 1, true()), '-')]", "a-1-True", "join-scalars"),
    # uri family (docs examples)
    (
        "[uri('http://contoso.org/firstpath', 'myscript.sh')]",
        "http://contoso.org/myscript.sh",
        "uri-drops-last-segment",
    ),
    (
        "[uri('http://contoso.org/firstpath/', 'myscript.sh')]",
        "http://contoso.org/firstpath/myscript.sh",
        "uri-trailing-slash",
    ),
    (
        "[uri('http://contoso.org/firstpath/azuredeploy.json', 'myscript.sh')]",
        "http://contoso.org/firstpath/myscript.sh",
        "uri-replaces-file",
    ),
    (
        "[uri('http://contoso.org/firstpath/azuredeploy.json/', 'myscript.sh')]",
        "http://contoso.org/firstpath/azuredeploy.json/myscript.sh",
        "uri-file-with-slash",
    ),
    (
        "[uri('http://contoso.com/resources/', 'nested/azuredeploy.json')]",
        "http://contoso.com/resources/nested/azuredeploy.json",
        "uri-docs-nested",
    ),
    ("[uri('http://contoso.org', 'a.sh')]", "http://contoso.org/a.sh", "uri-no-path"),
    ("[uri('http://contoso.org/a/b/', '/c')]", "http://contoso.org/c", "uri-rooted-relative"),
    ("[uri('http://contoso.org/a/b/c', '../d')]", "http://contoso.org/a/d", "uri-dot-segments"),
    (
        "[uriComponent('http://contoso.com/resources/nested/azuredeploy.json')]",
        "http%3A%2F%2Fcontoso.com%2Fresources%2Fnested%2Fazuredeploy.json",
        "uriComponent",
    ),
    ("[uriComponent('a b~-_.é')]", "a%20b~-_.%C3%A9", "uriComponent-unreserved-kept"),
    (
        "[uriComponentToString('http%3A%2F%2Fcontoso.com%2Fresources%2Fnested%2Fazuredeploy.json')]",
        "http://contoso.com/resources/nested/azuredeploy.json",
        "uriComponentToString",
    ),
    ("[uriComponentToString('a+b%20c')]", "a+b c", "uriComponentToString-plus-kept"),
]


@pytest.mark.parametrize(
    ("expression", "expected"), [c[:2] for c in CASES], ids=[c[2] for c in CASES]
)
def test_string_function(expression: str, expected: Any) -> None:
    assert ev(expression) == expected


FORMAT_CASES = [
    (
        "[format('{0}, {1}. Formatted number: {2:N0}', 'Hello', 'User', 8175133)]",
        "Hello, User. Formatted number: 8,175,133",
        "docs-example",
    ),
    ("[format('{0}-{1}', 'vm', 1)]", "vm-1", "positional"),
    ("[format('{1}{0}{1}', 'a', 'b')]", "bab", "reused-index"),
    ("[format('{{{0}}}', 'x')]", "{x}", "escaped-braces"),
    ("[format('{0:N2}', 1234)]", "1,234.00", "N2"),
    ("[format('{0:D5}', 42)]", "00042", "D5"),
    ("[format('{0:D3}', -7)]", "-007", "D3-negative"),
    ("[format('{0:X}', 255)]", "FF", "X"),
    ("[format('{0:x4}', 255)]", "00ff", "x4"),
    ("[format('{0:X}', -1)]", "FFFFFFFFFFFFFFFF", "X-negative-64-bit"),
    ("[format('{0:F1}', 3)]", "3.0", "F1"),
    ("[format('{0:P0}', 1)]", "100 %", "P0-invariant"),
    ("[format('{0:E2}', 12345)]", "1.23E+004", "E2"),
    ("[format('{0:e}', 0)]", "0.000000e+000", "e-zero"),
    ("[format('{0:000}', 7)]", "007", "custom-zero-placeholders"),
    ("[format('{0:#,##0}', 1234567)]", "1,234,567", "custom-grouping"),
    ("[format('{0:0.00}', float('2.345'))]", "2.35", "custom-decimals-round-half-away"),
    ("[format('{0:N2}', float('0.125'))]", "0.13", "N2-midpoint-away-from-zero"),
    ("[format('{0,5}|{1,-3}|', 'ab', 'c')]", "   ab|c  |", "alignment"),
    ("[format('{0}', true())]", "True", "bool-dotnet-spelling"),
    ("[format('{0:N2}', 'text')]", "text", "string-ignores-spec"),
    ("[format('{0}', null())]", "", "null-empty"),
    ("[format('{0}', createArray(1, 2))]", "[1,2]", "array-compact-json"),
    ("[format('no items')]", "no items", "no-arguments"),
]


@pytest.mark.parametrize(
    ("expression", "expected"), [c[:2] for c in FORMAT_CASES], ids=[c[2] for c in FORMAT_CASES]
)
def test_format(expression: str, expected: str) -> None:
    assert ev(expression) == expected


ERRORS = [
    ("[base64(1)]", r"'base64' expects its parameter 1 to be a string", "base64-int"),
    ("[base64ToString('not base64!')]", r"'base64ToString' .* valid base64", "base64-invalid"),
    ("[base64ToJson(base64('{'))]", r"'base64ToJson' .* valid JSON", "base64ToJson-bad-json"),
    ("[dataUriToString('hello')]", r"'dataUriToString' .* data URI", "dataUri-not-data"),
    (
        "[substring('1234567890', 0, 11)]",
        r"The index parameter: '0', the length parameter: '11', the length of the string "
        r"parameter: '10'",
        "substring-too-long",
    ),
    ("[substring('abc', -1, 1)]", r"'substring' .* index parameter: '-1'", "substring-negative"),
    ("[substring('abc', 4)]", r"'substring' .* index parameter: '4'", "substring-start-past-end"),
    ("[substring('abc', 1, -1)]", r"length parameter: '-1'", "substring-negative-length"),
    ("[padLeft('a', 3, 'xy')]", r"'padLeft' .* single character", "padLeft-long-padding"),
    ("[padLeft('a', -1)]", r"'padLeft' .* zero or more", "padLeft-negative"),
    (
        "[padLeft(true(), 3)]",
        r"'padLeft' expects its first parameter to be of type "
        r"'String, Integer'. The provided value is of type 'Boolean'",
        "padLeft-bool",
    ),
    ("[replace('abc', '', 'x')]", r"'replace' .* non-empty", "replace-empty-old"),
    ("[split('a,b', createArray(1))]", r"'split' .* 'String'", "split-non-string-delimiter"),
    ("[split(1, ',')]", r"'split' expects its parameter 1 to be a string", "split-int"),
    (
        "[join(createArray(createArray()), ',')]",
        r"'join' .* index 0 is an array",
        "join-nested-array",
    ),
    ("[uri('contoso/path', 'a')]", r"'uri' .* absolute URI", "uri-relative-base"),
    (
        "[format('{1}', 'a')]",
        r"'format' .* argument 1, but only 1 argument was provided",
        "format-index-out-of-range",
    ),
    ("[format('{0', 'a')]", r"'format' .* not closed", "format-unclosed"),
    ("[format('a}b')]", r"'format' .* no matching", "format-lone-close"),
    ("[format('{0:D2}', float('1.5'))]", r"'format' .* only valid for integers", "format-D-float"),
    ("[format('{0:Q}', 1)]", r"'format' .* 'Q' is not valid", "format-unknown-specifier"),
    ("[toLower(null())]", r"'toLower' expects its parameter 1 to be a string", "toLower-null"),
    (
        "[startsWith('a', 1)]",
        r"'startsWith' expects its parameter 2 to be a string",
        "startsWith-int",
    ),
]


@pytest.mark.parametrize(
    ("expression", "message"), [c[:2] for c in ERRORS], ids=[c[2] for c in ERRORS]
)
def test_string_function_error(expression: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message):
        ev(expression)


def test_string_of_parameter_object_keeps_key_order() -> None:
    value = ev("[string(parameters('o'))]", o={"b": 1, "a": [1, {"c": None}]})
    assert value == '{"b":1,"a":[1,{"c":null}]}'
