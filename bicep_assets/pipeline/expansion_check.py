"""Running the engine's full expansion as a check: placeholders for secure values, and
turning the engine's ``TemplateError`` into a location and a message."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Collection, Mapping
from typing import Any

from ..armlocal.engine import TemplateError
from ..armlocal.engine.sample_parameters import sample_value

_VALIDATION_WRAPPER = re.compile(r"^Deployment template validation failed: '(.*)'\.?$", re.S)
_SECTIONS = ("resources", "outputs", "variables", "parameters", "functions")


def _section(template: Any, name: str) -> dict[str, Any]:
    value = template.get(name) if isinstance(template, Mapping) else None
    return value if isinstance(value, dict) else {}


def parameters_with_placeholders(
    template: Any, parameters: Mapping[str, Any], secure_names: Collection[str]
) -> dict[str, Any]:
    """The parameters with a valid stand-in value for every secure (or Key Vault) one."""
    entries: Any = parameters
    if isinstance(entries.get("parameters"), dict) and (
        "$schema" in entries or "contentVersion" in entries
    ):
        entries = entries["parameters"]  # a whole parameters file
    declared = _section(template, "parameters")
    definitions = _section(template, "definitions")
    by_lower = {name.lower(): name for name in declared}
    supplied: dict[str, Any] = {}
    stand_ins = {n.lower() for n in secure_names}
    for name, entry in entries.items():
        if isinstance(entry, dict) and ("value" in entry or "reference" in entry):
            if "reference" in entry:
                stand_ins.add(name.lower())
                continue
            supplied[name] = entry
        else:
            supplied[name] = {"value": entry}
    for lowered in stand_ins:
        name = by_lower.get(lowered, lowered)
        declaration = declared.get(name)
        value: Any = "placeholder"
        if isinstance(declaration, dict):
            with contextlib.suppress(TemplateError):  # an odd schema: a plain placeholder
                value = sample_value(declaration, definitions, name)
        supplied = {k: v for k, v in supplied.items() if k.lower() != lowered}
        supplied[name] = {"value": value}
    return supplied


def split_location(error: TemplateError) -> tuple[str, str]:
    """``(location, message)`` from an engine error whose message starts with where."""
    message = error.message
    wrapped = _VALIDATION_WRAPPER.match(message)
    if wrapped:
        message = wrapped.group(1)
    location = leading_location(message)
    if location:
        message = message[len(location) + 2 :]
        location = re.sub(r"^(variables|parameters)\('((?:[^']|'')*)'\)", r"\1['\2']", location)
    elif error.target and not message.startswith(("The template parameters", "The values")):
        location = f"parameters['{error.target}']"
    return location, message


def leading_location(message: str) -> str:
    """The ``resources['x'].properties…`` (or ``function 'ns.f'``) before the first ': '."""
    if message.startswith("function '"):
        end = message.find("': ")
        return message[: end + 1] if end > 0 else ""
    if not message.startswith(_SECTIONS):
        return ""
    quoted = False
    for i, ch in enumerate(message):
        if ch == "'":
            quoted = not quoted
        elif not quoted and message.startswith(": ", i):
            return message[:i]
        elif not quoted and ch == " ":
            return ""
    return ""
