"""Deployment parameters given on a command line, the way ``az deployment`` takes them.

Each ``-p`` argument is one of: ``@params.json`` or ``params.json`` (an ARM parameters file,
or a bare ``{name: {value}}`` object), or ``name=value`` (the value parsed as JSON when it
is valid JSON, else taken as a string). Later arguments override earlier ones.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..engine import JsonInputError, read_json_file
from ..engine.limits import json_depth_error


class ParameterArgumentError(ValueError):
    """A ``-p`` argument that cannot be read; the message names the argument."""


def parse_parameter_args(args: list[str]) -> dict[str, dict[str, Any]]:
    """``{name: {"value": ...}}`` (or ``{"reference": ...}``) merged from ``args``."""
    merged: dict[str, dict[str, Any]] = {}
    for arg in args:
        merged.update(_one(arg))
    return merged


def _one(arg: str) -> dict[str, dict[str, Any]]:
    path_text = arg[1:] if arg.startswith("@") else arg
    looks_like_file = arg.startswith("@") or (
        "=" not in arg and path_text.lower().endswith(".json")
    )
    if looks_like_file:
        return _file(Path(path_text))
    name, sep, raw = arg.partition("=")
    if not sep or not name:
        raise ParameterArgumentError(
            f"parameter argument '{arg}' is neither NAME=VALUE nor a parameters file (@file.json)"
        )
    try:
        value: Any = json.loads(raw)
    except json.JSONDecodeError:
        value = raw  # not JSON: the text itself, as az takes it
    except RecursionError:
        raise ParameterArgumentError(
            f"the value of parameter '{name}': {json_depth_error()}"
        ) from None
    return {name: {"value": value}}


def _file(path: Path) -> dict[str, dict[str, Any]]:
    try:
        data = read_json_file(path, "parameters file")
    except JsonInputError as exc:
        raise ParameterArgumentError(str(exc)) from None
    if not isinstance(data, dict):
        raise ParameterArgumentError(f"parameters file '{path}' must hold a JSON object")
    entries = data.get("parameters", data) if "$schema" in data or "parameters" in data else data
    if not isinstance(entries, dict):
        raise ParameterArgumentError(f"'parameters' in '{path}' must be a JSON object")
    for name, entry in entries.items():
        if not isinstance(entry, dict) or not ({"value", "reference"} & entry.keys()):
            raise ParameterArgumentError(
                f"parameter '{name}' in '{path}' must be an object with a 'value' (or a Key "
                "Vault 'reference')"
            )
    return entries
