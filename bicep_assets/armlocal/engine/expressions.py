"""The parser for ARM template expressions (``"[concat('a', parameters('b'))]"``).

Grammar (ARM's, as the official compiler emits it)::

    expression := primary accessor*
    primary    := string | integer | call
    call       := name ('.' name)? '(' (expression (',' expression)*)? ')'
    accessor   := '.' name | '[' expression ']'
    string     := "'" ( [^'] | "''" )* "'"
    integer    := '-'? [0-9]+

A JSON string value is an expression when it starts with ``[`` and ends with ``]``; a
leading ``[[`` escapes a literal ``[`` (the value is the string without the first ``[``).
Parsing is cached: copy loops evaluate the same text many times.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .errors import ExpressionError
from .limits import MAX_EXPRESSION_CHARS

MAX_DEPTH = 200  # nesting of calls/accessors; deeper input is rejected, not a RecursionError


@dataclass(frozen=True, slots=True)
class Literal:
    value: Any


@dataclass(frozen=True, slots=True)
class Call:
    name: str  # as written; "ns.fn" for user-defined functions
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Access:
    target: Node
    key: Node  # Literal(str) for `.name`, any node for `[expr]`
    dotted: bool


Node = Literal | Call | Access


def is_expression(text: str) -> bool:
    """True when a JSON string is a template expression (``[...]`` but not ``[[...``)."""
    return len(text) >= 2 and text[0] == "[" and text[-1] == "]" and text[1] != "["


def unescape_literal(text: str) -> str:
    """A non-expression string's value: ``[[x]`` stands for ``[x]``."""
    if text.startswith("[[") and text.endswith("]"):
        return text[1:]
    return text


@lru_cache(maxsize=16384)
def parse(text: str) -> Node:
    """Parse an expression string including its brackets (``"[f(1)]"``) into an AST."""
    if not is_expression(text):
        raise ExpressionError(f"The string '{_clip(text)}' is not a template expression.")
    if len(text) > MAX_EXPRESSION_CHARS:
        raise ExpressionError(
            f"The template expression '{_clip(text)}' has {len(text):,} characters; ARM allows "
            f"at most {MAX_EXPRESSION_CHARS:,} in one expression."
        )
    parser = _Parser(text, 1, len(text) - 1)
    node = parser.expression(0)
    parser.skip_ws()
    if parser.pos != parser.end:
        raise parser.error("unexpected text after the end of the expression")
    return node


def _clip(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _Parser:
    __slots__ = ("end", "pos", "text")

    def __init__(self, text: str, start: int, end: int) -> None:
        self.text = text
        self.pos = start
        self.end = end

    def error(self, what: str) -> ExpressionError:
        return ExpressionError(
            f"The language expression '{_clip(self.text[1:-1])}' is not valid: {what} "
            f"at position {self.pos - 1}."
        )

    def skip_ws(self) -> None:
        text, pos, end = self.text, self.pos, self.end
        while pos < end and text[pos] in " \t\r\n":
            pos += 1
        self.pos = pos

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < self.end else ""

    def expression(self, depth: int) -> Node:
        if depth > MAX_DEPTH:
            raise self.error(f"the expression is nested more than {MAX_DEPTH} levels deep")
        self.skip_ws()
        node = self.primary(depth)
        while True:
            self.skip_ws()
            ch = self.peek()
            if ch == ".":
                self.pos += 1
                self.skip_ws()
                name = self.identifier()
                node = Access(node, Literal(name), True)
            elif ch == "[":
                self.pos += 1
                key = self.expression(depth + 1)
                self.skip_ws()
                if self.peek() != "]":
                    raise self.error("expected ']'")
                self.pos += 1
                node = Access(node, key, False)
            else:
                return node
            depth += 1
            if depth > MAX_DEPTH:
                raise self.error(f"the expression is nested more than {MAX_DEPTH} levels deep")

    def primary(self, depth: int) -> Node:
        ch = self.peek()
        if ch == "'":
            return Literal(self.string())
        if ch.isdigit() or (ch == "-" and self.text[self.pos + 1 : self.pos + 2].isdigit()):
            return Literal(self.integer())
        if ch.isalpha() or ch == "_":
            name = self.identifier()
            self.skip_ws()
            if self.peek() == ".":
                # a namespaced user-defined function: ns.fn(...)
                save = self.pos
                self.pos += 1
                self.skip_ws()
                if self.peek().isalpha() or self.peek() == "_":
                    member = self.identifier()
                    self.skip_ws()
                    if self.peek() == "(":
                        name = f"{name}.{member}"
                    else:
                        self.pos = save
                else:
                    self.pos = save
            if self.peek() != "(":
                raise self.error(f"expected '(' after the function name '{name}'")
            self.pos += 1
            return Call(name, self.arguments(depth))
        if not ch:
            raise self.error("the expression ended unexpectedly")
        raise self.error(f"unexpected character '{ch}'")

    def arguments(self, depth: int) -> tuple[Node, ...]:
        args: list[Node] = []
        self.skip_ws()
        if self.peek() == ")":
            self.pos += 1
            return ()
        while True:
            args.append(self.expression(depth + 1))
            self.skip_ws()
            ch = self.peek()
            self.pos += 1
            if ch == ")":
                return tuple(args)
            if ch != ",":
                self.pos -= 1
                raise self.error("expected ',' or ')'")

    def identifier(self) -> str:
        text, start = self.text, self.pos
        pos = start
        if pos < self.end and (text[pos].isalpha() or text[pos] == "_"):
            pos += 1
            while pos < self.end and (text[pos].isalnum() or text[pos] in "_$"):
                pos += 1
        if pos == start:
            raise self.error("expected a name")
        self.pos = pos
        return text[start:pos]

    def string(self) -> str:
        text, end = self.text, self.end
        pos = self.pos + 1
        parts: list[str] = []
        while True:
            quote = text.find("'", pos, end)
            if quote < 0:
                self.pos = end
                raise self.error("the string literal is not terminated")
            parts.append(text[pos:quote])
            if quote + 1 < end and text[quote + 1] == "'":
                parts.append("'")
                pos = quote + 2
                continue
            self.pos = quote + 1
            return "".join(parts)

    def integer(self) -> int:
        text, start = self.text, self.pos
        pos = start + 1
        while pos < self.end and text[pos].isdigit():
            pos += 1
        self.pos = pos
        if pos < self.end and text[pos] == ".":
            raise self.error("floating point literals are not supported")
        return int(text[start:pos])
