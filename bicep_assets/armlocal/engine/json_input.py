"""Reading templates and parameters from JSON text a user gave, within the engine's limits.

Every way in — a file named on a command line, a template lint reads, a request body — goes
through :func:`parse_json` (or :func:`read_json_file`), so a bad input is one clear
:class:`JsonInputError` that names it: missing, a folder, not text, larger than ARM accepts,
not JSON (with line and column), or nested deeper than the engine evaluates.

JSON is read as ARM reads it. ARM deserializes with Newtonsoft.Json, which accepts more than
RFC 8259, and Microsoft documents templates with ``//`` and ``/* */`` comments and strings
broken over several lines ("Understand the structure and syntax of ARM templates": comments,
multi-line strings); the Azure CLI sends a template file spliced into the request body as
written, behind an unquoted ``template`` key. So :func:`read_arm_json` takes strict JSON at
once and otherwise reads it leniently (comments, unquoted property names, single-quoted
strings, trailing commas, line breaks inside strings — the same reader as ARM's ``json()``
function); text that is still not JSON fails naming the line and column.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .functions.json_text import JsonTextError, parse_json_text
from .limits import MAX_TEMPLATE_BYTES, json_depth_error, too_deep

_MEGABYTE = 1024 * 1024


class JsonInputError(ValueError):
    """JSON input that cannot be used; the message names it and says why."""


class ArmJsonError(ValueError):
    """Text ARM's reader refuses; the message says what and where (line and column)."""


class ArmJsonTooDeep(ArmJsonError):
    """JSON nested deeper than the engine evaluates."""


def read_arm_json(text: str) -> Any:
    """``text`` read as ARM reads JSON (see the module docs), at most ``MAX_JSON_DEPTH`` deep.

    Raises :class:`ArmJsonError` naming the line and column of the first thing that is not
    JSON, or :class:`ArmJsonTooDeep`."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        try:
            return parse_json_text(text)  # bounded: it refuses nesting over the limit itself
        except JsonTextError as exc:
            reason = str(exc)
            if "nested more than" in reason:
                raise ArmJsonTooDeep(json_depth_error()) from None
            raise ArmJsonError(_line_and_column(reason)) from None
    except RecursionError:
        raise ArmJsonTooDeep(json_depth_error()) from None
    if too_deep(value):
        raise ArmJsonTooDeep(json_depth_error())
    return value


def _line_and_column(reason: str) -> str:
    """The lenient reader's '… (line L, position P)' as '… at line L, column P'."""
    head, sep, tail = reason.rpartition(" (line ")
    if not sep:
        return reason
    return f"{head} at line {tail.rstrip(')').replace('position', 'column')}"


def parse_json(text: str, what: str, *, max_bytes: int = MAX_TEMPLATE_BYTES) -> Any:
    """``text`` read as ARM reads JSON. ``what`` names it in errors (e.g. "template file
    'main.json'")."""
    if len(text) > max_bytes:
        raise JsonInputError(f"{what} is larger than {max_bytes // _MEGABYTE} MB, ARM's limit")
    try:
        return read_arm_json(text)
    except ArmJsonTooDeep as exc:
        raise JsonInputError(f"{what}: {exc}") from None
    except ArmJsonError as exc:
        raise JsonInputError(f"{what} is not valid JSON: {exc}") from None


def read_json_file(path: Path, what: str, *, max_bytes: int = MAX_TEMPLATE_BYTES) -> Any:
    """The JSON document in ``path`` (UTF-8, a byte-order mark allowed)."""
    named = f"{what} '{path}'"
    try:
        if path.is_dir():
            raise JsonInputError(f"{named} is a folder, not a file")
        if path.stat().st_size > max_bytes:
            raise JsonInputError(f"{named} is larger than {max_bytes // _MEGABYTE} MB, ARM's limit")
        data = path.read_bytes()
    except FileNotFoundError:
        raise JsonInputError(f"{named} does not exist") from None
    except OSError as exc:
        raise JsonInputError(f"{named} cannot be read: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise JsonInputError(
            f"{named} is not UTF-8 text (byte {exc.start}); is it the right file?"
        ) from None
    return parse_json(text, named, max_bytes=max_bytes)
