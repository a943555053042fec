"""The ``templateHash`` ARM reports for a template (deployments, ``calculateTemplateHash``).

ARM minifies the template JSON (no whitespace, keys in their given order), upper-cases it,
and hashes the UTF-8 bytes with the 64-bit MurmurHash variant of ``uniqueString()``; the hash
is written as an unsigned decimal string. Microsoft's ``calculateTemplateHash`` REST example
(request template → ``minifiedTemplate`` and ``templateHash``) is reproduced exactly by
:func:`minified_template` and :func:`template_hash` (see the tests).

The minified text follows Newtonsoft.Json (what ARM uses): ``"``, ``\\`` and control
characters are escaped (``\\n``-style where JSON has a short form), so are U+0085, U+2028
and U+2029; other characters are written as they are. Upper-casing is .NET's invariant
one-to-one mapping, so characters whose upper case is longer (``ß``) stay as they are.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .hashing import dotnet_utf8, murmur_hash64

__all__ = ["minified_template", "template_hash"]

_SHORT_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
}
_ESCAPED = re.compile('["\\\\\x00-\x1f\x85\u2028\u2029]')


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    return _SHORT_ESCAPES.get(char) or f"\\u{ord(char):04x}"


def _string(text: str) -> str:
    return '"' + _ESCAPED.sub(_escape, text) + '"'


def _minify(value: Any, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(_string(value))
    elif isinstance(value, dict):
        out.append("{")
        for i, (key, item) in enumerate(value.items()):
            if i:
                out.append(",")
            out.append(_string(str(key)))
            out.append(":")
            _minify(item, out)
        out.append("}")
    elif isinstance(value, list):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _minify(item, out)
        out.append("]")
    else:  # bool, None, int, float: JSON's own spelling
        out.append(json.dumps(value))


def _upper_invariant(text: str) -> str:
    """.NET ``ToUpperInvariant``: simple (one-to-one) case mapping only."""
    upper = text.upper()
    if len(upper) == len(text):
        return upper
    return "".join(c if len(u := c.upper()) != 1 else u for c in text)


def minified_template(template: Any) -> str:
    """The upper-cased minified JSON that ARM hashes (``minifiedTemplate`` of the REST API)."""
    out: list[str] = []
    _minify(template, out)
    return _upper_invariant("".join(out))


def template_hash(template: Any) -> str:
    """ARM's ``templateHash`` of ``template``: a decimal unsigned 64-bit number."""
    return str(murmur_hash64(dotnet_utf8(minified_template(template))))
