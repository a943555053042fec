"""String functions.

``base64``, ``base64ToJson``, ``base64ToString``, ``dataUri``, ``dataUriToString``,
``endsWith``, ``format``, ``join``, ``padLeft``, ``replace``, ``split``, ``startsWith``,
``string``, ``substring``, ``toLower``, ``toUpper``, ``trim``, ``uri``, ``uriComponent``,
``uriComponentToString``. (Functions shared with arrays — ``concat``, ``contains``,
``empty``, ``first``, ``indexOf``, ``last``, ``lastIndexOf``, ``length``, ``skip``,
``take`` — live in ``arrays``.)

As in ARM: ``startsWith``/``endsWith`` ignore case, ``replace`` and ``split`` do not; text is
encoded as UTF-8 for base64 and URIs; ``uri`` resolves a relative reference against a base
as RFC 3986 says; ``string`` writes booleans as ``True``/``False`` and arrays and objects as
compact JSON.
"""

from __future__ import annotations

import base64 as b64
import binascii
import urllib.parse
from typing import Any

from .. import limits
from ..errors import ExpressionError
from ..evaluator import EvalContext
from .conversion import (
    expect_one_of,
    find_deferred,
    to_arm_string,
    to_lower_invariant,
    to_upper_invariant,
    type_error,
)
from .dotnet_format import FormatStringError, composite_format
from .objects import parse_json_argument
from .registry import arm_function, expect_array, expect_int, expect_str

DATA_URI_PREFIX = "data:text/plain;charset=utf8;base64,"


def _usage(fn: str) -> str:
    return f"Please see https://aka.ms/arm-template-expressions#{fn.lower()} for usage details."


# --- base64 and data URIs ---------------------------------------------------------------


@arm_function("base64", min_args=1)
def base64(ctx: EvalContext, text: Any) -> str:
    """The base64 encoding of a string's UTF-8 bytes."""
    return b64.b64encode(expect_str("base64", text, 0).encode("utf-8")).decode("ascii")


def decode_base64(fn: str, text: Any) -> bytes:
    """Bytes of a base64 string; a malformed string is an ARM error naming ``fn``."""
    value = expect_str(fn, text, 0)
    try:
        return b64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ExpressionError(
            f"The template language function '{fn}' expects its parameter to be a valid base64 "
            f"string; '{value}' is not. {_usage(fn)}"
        ) from None


def _utf8(fn: str, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ExpressionError(
            f"The template language function '{fn}' decoded bytes that are not UTF-8 text. "
            f"{_usage(fn)}"
        ) from None


@arm_function("base64ToString", min_args=1)
def base64_to_string(ctx: EvalContext, text: Any) -> str:
    """The UTF-8 text a base64 string encodes."""
    return _utf8("base64ToString", decode_base64("base64ToString", text))


@arm_function("base64ToJson", min_args=1)
def base64_to_json(ctx: EvalContext, text: Any) -> Any:
    """The JSON value a base64 string encodes (ARM's lenient JSON: single quotes are fine)."""
    decoded = _utf8("base64ToJson", decode_base64("base64ToJson", text))
    return parse_json_argument("base64ToJson", decoded)


@arm_function("dataUri", min_args=1)
def data_uri(ctx: EvalContext, text: Any) -> str:
    """A ``data:text/plain;charset=utf8;base64,...`` URI holding the string."""
    return DATA_URI_PREFIX + base64(ctx, expect_str("dataUri", text, 0))


@arm_function("dataUriToString", min_args=1)
def data_uri_to_string(ctx: EvalContext, uri: Any) -> str:
    """The text a data URI holds (base64 or percent-encoded)."""
    value = expect_str("dataUriToString", uri, 0)
    header, comma, payload = value.partition(",")
    if not header.lower().startswith("data:") or not comma:
        raise ExpressionError(
            "The template language function 'dataUriToString' expects its parameter to be a "
            f"data URI ('data:[<media type>][;base64],<data>'); '{value}' is not. "
            f"{_usage('dataUriToString')}"
        )
    params = [p.strip().lower() for p in header[5:].split(";")]
    if "base64" in params:
        data = decode_base64("dataUriToString", payload)
    else:
        data = urllib.parse.unquote_to_bytes(payload)
    charset = next((p[8:] for p in params if p.startswith("charset=")), "utf-8")
    try:
        return data.decode("utf-8" if charset in ("utf8", "utf-8") else charset)
    except (LookupError, UnicodeDecodeError):
        raise ExpressionError(
            f"The template language function 'dataUriToString' cannot decode the data as "
            f"'{charset}'. {_usage('dataUriToString')}"
        ) from None


# --- searching and comparing -----------------------------------------------------------


def _two_strings(fn: str, text: Any, part: Any) -> tuple[str, str]:
    return expect_str(fn, text, 0), expect_str(fn, part, 1)


@arm_function("startsWith", min_args=2)
def starts_with(ctx: EvalContext, text: Any, prefix: Any) -> bool:
    """Whether the string starts with ``prefix``, ignoring case."""
    value, part = _two_strings("startsWith", text, prefix)
    return to_lower_invariant(value).startswith(to_lower_invariant(part))


@arm_function("endsWith", min_args=2)
def ends_with(ctx: EvalContext, text: Any, suffix: Any) -> bool:
    """Whether the string ends with ``suffix``, ignoring case."""
    value, part = _two_strings("endsWith", text, suffix)
    return to_lower_invariant(value).endswith(to_lower_invariant(part))


# --- building and changing strings -----------------------------------------------------


@arm_function("string", min_args=1)
def string(ctx: EvalContext, value: Any) -> Any:
    """Any value as a string (arrays and objects as compact JSON, booleans as True/False)."""
    deferred = find_deferred(value)
    if deferred is not None:
        return deferred
    return to_arm_string(value)


@arm_function("format", min_args=1, max_args=None)
def format_(ctx: EvalContext, pattern: Any, *args: Any) -> Any:
    """A .NET composite format string filled in: ``format('{0}-{1:D3}', 'vm', 7)``."""
    text = expect_str("format", pattern, 0)
    deferred = find_deferred(*args)
    if deferred is not None:
        return deferred
    try:
        return composite_format(text, list(args))
    except FormatStringError as exc:
        raise ExpressionError(
            f"The template language function 'format' could not format '{text}': {exc}. "
            f"{_usage('format')}"
        ) from None


@arm_function("join", min_args=2)
def join(ctx: EvalContext, values: Any, delimiter: Any) -> Any:
    """The array's elements as strings, separated by ``delimiter``."""
    items = expect_array("join", values, 0)
    separator = expect_str("join", delimiter, 1)
    deferred = find_deferred(items)
    if deferred is not None:
        return deferred
    parts: list[str] = []
    for position, item in enumerate(items):
        if isinstance(item, (list, dict)):
            raise ExpressionError(
                "The template language function 'join' expects an array of strings, integers "
                f"or booleans; the element at index {position} is an "
                f"{'array' if isinstance(item, list) else 'object'}. {_usage('join')}"
            )
        parts.append(to_arm_string(item))
    limits.check_length(
        sum(map(len, parts)) + len(separator) * max(len(parts) - 1, 0),
        "The template language function 'join'",
    )
    return separator.join(parts)


@arm_function("padLeft", min_args=2, max_args=3)
def pad_left(ctx: EvalContext, value: Any, total_length: Any, padding: Any = " ") -> str:
    """The value right-aligned in ``total_length`` characters, padded with one character."""
    expect_one_of("padLeft", value, 0, "String", "Integer")
    width = expect_int("padLeft", total_length, 1)
    pad = expect_str("padLeft", padding, 2)
    if len(pad) != 1:
        raise ExpressionError(
            "The template language function 'padLeft' expects its third parameter to be a "
            f"single character; '{pad}' has {len(pad)}. {_usage('padLeft')}"
        )
    if width < 0:
        raise ExpressionError(
            "The template language function 'padLeft' expects its total length to be zero or "
            f"more; the provided value is {width}. {_usage('padLeft')}"
        )
    limits.check_length(width, "The template language function 'padLeft'")
    return to_arm_string(value).rjust(width, pad)


@arm_function("replace", min_args=3)
def replace(ctx: EvalContext, text: Any, old: Any, new: Any) -> str:
    """The string with every occurrence of ``old`` (case-sensitive) replaced by ``new``."""
    value = expect_str("replace", text, 0)
    target = expect_str("replace", old, 1)
    replacement = expect_str("replace", new, 2)
    if not target:
        raise ExpressionError(
            "The template language function 'replace' expects its second parameter (the text "
            f"to replace) to be a non-empty string. {_usage('replace')}"
        )
    limits.check_length(
        len(value) + value.count(target) * (len(replacement) - len(target)),
        "The template language function 'replace'",
    )
    return value.replace(target, replacement)


@arm_function("split", min_args=2)
def split(ctx: EvalContext, text: Any, delimiter: Any) -> list[str]:
    """The pieces of the string between any of the delimiters (a string or strings)."""
    value = expect_str("split", text, 0)
    expect_one_of("split", delimiter, 1, "String", "Array")
    if isinstance(delimiter, str):
        separators = [delimiter]
    else:
        separators = []
        for item in delimiter:
            if not isinstance(item, str):
                raise type_error("split", 1, "String", item)
            separators.append(item)
    return split_on_any(value, separators)


def split_on_any(text: str, separators: list[str]) -> list[str]:
    """.NET's ``String.Split(string[])``: at each position the first listed separator that
    matches wins; empty separators are ignored."""
    usable = [s for s in separators if s]
    if not usable:
        return [text]
    if len(usable) == 1:
        return text.split(usable[0])
    pieces: list[str] = []
    start = pos = 0
    while pos < len(text):
        match = next((s for s in usable if text.startswith(s, pos)), None)
        if match is None:
            pos += 1
            continue
        pieces.append(text[start:pos])
        pos += len(match)
        start = pos
    pieces.append(text[start:])
    return pieces


@arm_function("substring", min_args=1, max_args=3)
def substring(ctx: EvalContext, text: Any, start: Any = 0, length: Any = None) -> str:
    """``length`` characters from ``start`` (default: to the end); out of range: error."""
    value = expect_str("substring", text, 0)
    index = expect_int("substring", start, 1)
    count = len(value) - index if length is None else expect_int("substring", length, 2)
    if index < 0 or count < 0 or index + count > len(value):
        raise ExpressionError(
            "The template language function 'substring' expects its index and length "
            "parameters to refer to a location within the string. The index parameter: "
            f"'{index}', the length parameter: '{count}', the length of the string "
            f"parameter: '{len(value)}'. {_usage('substring')}"
        )
    return value[index : index + count]


@arm_function("toLower", min_args=1)
def to_lower(ctx: EvalContext, text: Any) -> str:
    """The string in lower case (invariant culture)."""
    return to_lower_invariant(expect_str("toLower", text, 0))


@arm_function("toUpper", min_args=1)
def to_upper(ctx: EvalContext, text: Any) -> str:
    """The string in upper case (invariant culture)."""
    return to_upper_invariant(expect_str("toUpper", text, 0))


@arm_function("trim", min_args=1)
def trim(ctx: EvalContext, text: Any) -> str:
    """The string without leading and trailing white space."""
    return expect_str("trim", text, 0).strip()


# --- URIs ------------------------------------------------------------------------------


@arm_function("uri", min_args=2)
def uri(ctx: EvalContext, base_uri: Any, relative_uri: Any) -> str:
    """An absolute URI from a base and a relative reference (RFC 3986, section 5)."""
    base = expect_str("uri", base_uri, 0)
    relative = expect_str("uri", relative_uri, 1)
    parts = urllib.parse.urlsplit(base)
    if not parts.scheme or not (parts.netloc or parts.path):
        raise ExpressionError(
            "The template language function 'uri' expects its first parameter to be an "
            f"absolute URI; '{base}' is not. {_usage('uri')}"
        )
    if not parts.path and parts.netloc:
        base = urllib.parse.urlunsplit(parts._replace(path="/"))
    return urllib.parse.urljoin(base, relative)


@arm_function("uriComponent", min_args=1)
def uri_component(ctx: EvalContext, text: Any) -> str:
    """The string percent-encoded for use in a URI (only ``A-Z a-z 0-9 - _ . ~`` are kept)."""
    return urllib.parse.quote(expect_str("uriComponent", text, 0), safe="")


@arm_function("uriComponentToString", min_args=1)
def uri_component_to_string(ctx: EvalContext, text: Any) -> str:
    """The string a percent-encoded URI component stands for."""
    return urllib.parse.unquote(expect_str("uriComponentToString", text, 0), errors="strict")
