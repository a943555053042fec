"""JSON text as ARM reads and writes it.

ARM is built on Newtonsoft.Json, so the text functions (``json()``, ``base64ToJson()``,
``string()``) follow its conventions rather than strict RFC 8259:

* :func:`to_json_text` writes compact JSON (``{"a":1,"b":[true,null]}``) without escaping
  non-ASCII characters, the way ``JToken.ToString(Formatting.None)`` does;
* :func:`parse_json_text` reads JSON leniently, as ``JToken.Parse`` does: single-quoted
  strings, unquoted property names, ``//`` and ``/* */`` comments and trailing commas are
  accepted; a repeated property name keeps its last value.

A parse failure raises :class:`JsonTextError` (a ``ValueError``) saying where it happened;
callers turn it into an ARM expression error naming their function.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from .. import limits


class JsonTextError(ValueError):
    """The text is not JSON that ARM would accept."""


def to_json_text(value: Any) -> str:
    """Compact JSON for ``value`` (a JSON-like Python value), as ARM serialises it."""
    limits.check_value(value, "Writing the value as JSON")
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=True)


def parse_json_text(text: str) -> Any:
    """Parse ``text`` the way ARM's ``json()`` function does (see the module docs)."""
    reader = _Reader(text)
    reader.skip_space()
    if reader.at_end():
        raise JsonTextError("the text is empty")
    value = reader.value(0)
    reader.skip_space()
    if not reader.at_end():
        raise reader.error("additional text after the end of the JSON value")
    return value


_MAX_DEPTH = 256
_FLOAT_TOKEN = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_ESCAPES = {
    '"': '"',
    "'": "'",
    "\\": "\\",
    "/": "/",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
}
_STRING_STOP = {'"': re.compile(r'["\\]'), "'": re.compile(r"['\\]")}
_LITERALS: dict[str, Any] = {
    "true": True,
    "false": False,
    "null": None,
    "undefined": None,
    "NaN": math.nan,
    "Infinity": math.inf,
}


class _Reader:
    """A recursive-descent reader over one JSON text."""

    __slots__ = ("pos", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def error(self, what: str) -> JsonTextError:
        line = self.text.count("\n", 0, self.pos) + 1
        column = self.pos - (self.text.rfind("\n", 0, self.pos) + 1) + 1
        return JsonTextError(f"{what} (line {line}, position {column})")

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def skip_space(self) -> None:
        text = self.text
        while self.pos < len(text):
            ch = text[self.pos]
            if ch.isspace():
                self.pos += 1
            elif text.startswith("//", self.pos):
                newline = text.find("\n", self.pos)
                self.pos = len(text) if newline < 0 else newline + 1
            elif text.startswith("/*", self.pos):
                close = text.find("*/", self.pos + 2)
                if close < 0:
                    raise self.error("a comment is not terminated")
                self.pos = close + 2
            else:
                return

    def value(self, depth: int) -> Any:
        if depth > _MAX_DEPTH:
            raise self.error(f"the JSON is nested more than {_MAX_DEPTH} levels deep")
        self.skip_space()
        if self.at_end():
            raise self.error("the JSON text ended unexpectedly")
        ch = self.text[self.pos]
        if ch == "{":
            return self.object(depth)
        if ch == "[":
            return self.array(depth)
        if ch in "\"'":
            return self.string()
        if ch == "-" or ch.isdigit():
            return self.number()
        word = self.word()
        if word in _LITERALS:
            return _LITERALS[word]
        if word == "-Infinity":
            return -math.inf
        raise self.error(f"unexpected {'text ' + repr(word) if word else repr(ch)}")

    def word(self) -> str:
        start = self.pos
        text = self.text
        while self.pos < len(text) and (text[self.pos].isalnum() or text[self.pos] in "_$"):
            self.pos += 1
        return text[start : self.pos]

    def object(self, depth: int) -> dict[str, Any]:
        self.pos += 1  # '{'
        result: dict[str, Any] = {}
        while True:
            self.skip_space()
            if self.at_end():
                raise self.error("an object is not terminated")
            ch = self.text[self.pos]
            if ch == "}":
                self.pos += 1
                return result
            if ch in "\"'":
                name = self.string()
            else:
                name = self.word()
                if not name:
                    raise self.error(f"expected a property name, found {ch!r}")
            self.skip_space()
            if self.at_end() or self.text[self.pos] != ":":
                raise self.error(f"expected ':' after the property name {name!r}")
            self.pos += 1
            result[name] = self.value(depth + 1)
            if self.separator("}"):
                return result

    def array(self, depth: int) -> list[Any]:
        self.pos += 1  # '['
        result: list[Any] = []
        while True:
            self.skip_space()
            if self.at_end():
                raise self.error("an array is not terminated")
            if self.text[self.pos] == "]":
                self.pos += 1
                return result
            result.append(self.value(depth + 1))
            if self.separator("]"):
                return result

    def separator(self, close: str) -> bool:
        """After a member: consume ',' (False: more may follow) or ``close`` (True: done)."""
        self.skip_space()
        if self.at_end():
            raise self.error(f"expected ',' or '{close}'")
        ch = self.text[self.pos]
        self.pos += 1
        if ch == close:
            return True
        if ch != ",":
            self.pos -= 1
            raise self.error(f"expected ',' or '{close}', found {ch!r}")
        return False

    def string(self) -> str:
        text = self.text
        quote = text[self.pos]
        stop = _STRING_STOP[quote]
        self.pos += 1
        parts: list[str] = []
        start = self.pos
        while True:
            found = stop.search(text, self.pos)  # jump to the next quote or backslash
            if found is None:
                self.pos = len(text)
                raise self.error("a string is not terminated")
            self.pos = found.start()
            if text[self.pos] == quote:
                parts.append(text[start : self.pos])
                self.pos += 1
                return "".join(parts)
            parts.append(text[start : self.pos])
            parts.append(self.escape())
            start = self.pos

    def escape(self) -> str:
        text = self.text
        self.pos += 1  # the backslash
        if self.pos >= len(text):
            raise self.error("a string is not terminated")
        ch = text[self.pos]
        self.pos += 1
        if ch in _ESCAPES:
            return _ESCAPES[ch]
        if ch == "u":
            digits = text[self.pos : self.pos + 4]
            if len(digits) != 4 or any(c not in "0123456789abcdefABCDEF" for c in digits):
                raise self.error("a \\u escape needs four hexadecimal digits")
            self.pos += 4
            return chr(int(digits, 16))
        raise self.error(f"the escape '\\{ch}' is not valid")

    def number(self) -> int | float:
        text = self.text
        start = self.pos
        if text[self.pos] == "-":
            self.pos += 1
            if text.startswith("Infinity", self.pos):
                self.pos += len("Infinity")
                return -math.inf
        while self.pos < len(text) and (text[self.pos].isalnum() or text[self.pos] in ".+-"):
            self.pos += 1
        token = text[start : self.pos]
        if _is_integer_token(token):
            return int(token)
        if not _FLOAT_TOKEN.fullmatch(token):
            raise self.error(f"the number '{token}' is not valid")
        return float(token)


def _is_integer_token(token: str) -> bool:
    digits = token[1:] if token.startswith("-") else token
    return digits.isdigit() and digits.isascii()
