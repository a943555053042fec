"""Type-checking run-config parameter overrides (the old CLI's ``--param NAME=VALUE``).

Overrides arrive as text from the launchpad or the command line. Each is converted to its
parameter's declared type — ``"3"`` → ``3`` for ``int``, ``"true"``/``"false"`` for ``bool``,
JSON for ``array``/``object`` (and ``null`` for a nullable parameter); strings stay strings —
and then validated by the engine exactly as ARM would (allowed values, lengths, bounds,
user-defined types). Secure parameters cannot be overridden: run config is stored in clear
text, so their values must come from the manifest's secure parameters.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from ..armlocal.engine import TemplateError
from ..armlocal.engine.parameters import validate_parameter
from ..armlocal.engine.types import declared_type, is_nullable, is_secure

_INTEGER = re.compile(r"^[+-]?\d+$")
_VALIDATION_WRAPPER = re.compile(r"^Deployment template validation failed: '(.*)'\.?$", re.S)


class SecureOverrideError(ValueError):
    """An override given to a secure parameter: refused, since run config is stored."""


def check_parameter_overrides(
    template: Mapping[str, Any], overrides: Mapping[str, Any]
) -> dict[str, Any]:
    """``{declared name: converted value}`` for ``overrides``; a ``ValueError`` names the
    parameter, its type and the value when one is unknown, secure or not valid."""
    declared = template.get("parameters")
    declared = declared if isinstance(declared, dict) else {}
    definitions = template.get("definitions")
    definitions = definitions if isinstance(definitions, dict) else {}
    by_lower = {name.lower(): name for name in declared}
    converted: dict[str, Any] = {}
    for given, raw in overrides.items():
        name = by_lower.get(given.lower())
        if name is None:
            known = ", ".join(sorted(declared)) or "none"
            raise ValueError(
                f"'{given}' is not a parameter of the template (its parameters: {known})."
            )
        declaration = declared[name]
        if not isinstance(declaration, dict):
            raise ValueError(f"The template's declaration of parameter '{name}' is not an object.")
        try:
            kind = declared_type(declaration, definitions, name) or "object"
            secure = is_secure(declaration, definitions, name)
            nullable = is_nullable(declaration, definitions, name)
        except TemplateError as error:
            raise ValueError(f"Parameter '{name}': {error.message}") from None
        if secure:
            raise SecureOverrideError(
                f"Parameter '{name}' is secure ({kind}) and cannot be overridden in run config, "
                "which is stored in clear text; give it as a secure parameter of the "
                "environment manifest (environment variable or Key Vault reference)."
            )
        value = _convert(name, kind, raw, nullable)
        try:
            value = validate_parameter(dict(template), name, value)
        except TemplateError as error:
            detail = _VALIDATION_WRAPPER.match(error.message)
            reason = detail.group(1) if detail else error.message
            raise ValueError(
                f"Parameter '{name}' ({kind}) does not accept {raw!r}: {reason}"
            ) from None
        converted[name] = value
    return converted


def _convert(name: str, kind: str, raw: Any, nullable: bool) -> Any:
    """``raw`` as a value of ``kind``; non-text values are passed on to validation as they are."""
    if not isinstance(raw, str) or kind in ("string", "securestring"):
        return raw
    text = raw.strip()
    if nullable and text == "null":
        return None
    if kind == "int":
        if _INTEGER.match(text):
            return int(text)
        raise ValueError(f"Parameter '{name}' (int) expects an integer, got {raw!r}.")
    if kind == "bool":
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
        raise ValueError(f"Parameter '{name}' (bool) expects true or false, got {raw!r}.")
    try:
        return json.loads(text)
    except ValueError:
        expected = "a JSON array" if kind == "array" else "a JSON object"
        raise ValueError(f"Parameter '{name}' ({kind}) expects {expected}, got {raw!r}.") from None
