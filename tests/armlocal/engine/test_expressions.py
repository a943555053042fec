"""The expression parser: literals, calls, accessors, escapes, and what it rejects."""

from __future__ import annotations

import pytest

from bicep_assets.armlocal.engine.errors import ExpressionError
from bicep_assets.armlocal.engine.expressions import (
    Access,
    Call,
    Literal,
    is_expression,
    parse,
    unescape_literal,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[f()]", Call("f", ())),
        ("['it''s']", Literal("it's")),
        ("['']", Literal("")),
        ("[42]", Literal(42)),
        ("[-7]", Literal(-7)),
        ("[f(1, 'a')]", Call("f", (Literal(1), Literal("a")))),
        ("[ f ( 1 ,'a' ) ]", Call("f", (Literal(1), Literal("a")))),
        ("[f().name]", Access(Call("f", ()), Literal("name"), True)),
        ("[f()[0]]", Access(Call("f", ()), Literal(0), False)),
        ("[f()['a b']]", Access(Call("f", ()), Literal("a b"), False)),
        ("[f()[g()]]", Access(Call("f", ()), Call("g", ()), False)),
        ("[ns.fn(1)]", Call("ns.fn", (Literal(1),))),
        ("[__bicep.fn()]", Call("__bicep.fn", ())),
        ("[f(g(h('x')))]", Call("f", (Call("g", (Call("h", (Literal("x"),)),)),))),
        ("[f('[x]')]", Call("f", (Literal("[x]"),))),
    ],
    ids=[
        "call-no-args",
        "escaped-quote",
        "empty-string",
        "int",
        "negative-int",
        "args",
        "whitespace",
        "property",
        "index",
        "quoted-property",
        "computed-index",
        "namespace",
        "bicep-namespace",
        "nested",
        "brackets-in-string",
    ],
)
def test_parses(text: str, expected: object) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[f(]", "ended unexpectedly"),
        ("[f(1 2)]", "expected ',' or '\\)'"),
        ("['abc]", "not terminated"),
        ("[f() g()]", "unexpected text after the end"),
        ("[f]", "expected '\\(' after the function name 'f'"),
        ("[1.5]", "floating point"),
        ("[f().]", "expected a name"),
        ("[f()[0]", "expected '\\]'"),
        ("[#]", "unexpected character '#'"),
        ("[" + "f(" * 300 + ")" * 300 + "]", "nested more than 200 levels"),
    ],
    ids=[
        "unclosed-call",
        "missing-comma",
        "unterminated-string",
        "trailing",
        "bare-name",
        "float",
        "dangling-dot",
        "unclosed-index",
        "bad-char",
        "too-deep",
    ],
)
def test_rejects(text: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message):
        parse(text)


@pytest.mark.parametrize(
    ("text", "expression"),
    [("[f()]", True), ("[[f()]", False), ("plain", False), ("[]x", False), ("[x", False)],
    ids=["expression", "escaped", "plain", "not-closed", "not-closed-2"],
)
def test_is_expression(text: str, expression: bool) -> None:
    assert is_expression(text) is expression


def test_escaped_bracket_is_a_literal() -> None:
    assert unescape_literal("[[concat('a')]") == "[concat('a')]"
    assert unescape_literal("plain") == "plain"
