"""Reading templates and parameters from JSON text a user gave, within the engine's limits.

Every way in — a file named on a command line, a template lint reads, a request body — goes
through :func:`parse_json` (or :func:`read_json_file`), so a bad input is one clear
:class:`JsonInputError` that names it: missing, a folder, not text, larger than ARM accepts,
not JSON (with line and column), or nested deeper than the engine evaluates.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .limits import MAX_TEMPLATE_BYTES, json_depth_error, too_deep

_MEGABYTE = 1024 * 1024


class JsonInputError(ValueError):
    """JSON input that cannot be used; the message names it and says why."""


def parse_json(text: str, what: str, *, max_bytes: int = MAX_TEMPLATE_BYTES) -> Any:
    """``text`` as JSON. ``what`` names it in errors (e.g. "template file 'main.json'")."""
    if len(text) > max_bytes:
        raise JsonInputError(f"{what} is larger than {max_bytes // _MEGABYTE} MB, ARM's limit")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise JsonInputError(
            f"{what} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    except RecursionError:
        raise JsonInputError(f"{what}: {json_depth_error()}") from None
    if too_deep(value):
        raise JsonInputError(f"{what}: {json_depth_error()}")
    return value


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
