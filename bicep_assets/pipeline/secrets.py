"""Secure parameter values: read at the moment of the ARM call, never kept.

Environment-variable references are read here; Key Vault references are passed to ARM as
ARM's own ``{"reference": {"keyVault": ..., "secretName": ...}}`` so that ARM reads the
secret and this process never sees it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from ..failures import LogicFailure
from ..models import CompiledTemplate, SecureReference


def secure_parameter_entries(
    references: Mapping[str, SecureReference], environ: Mapping[str, str] | None = None
) -> dict[str, dict[str, Any]]:
    """ARM parameter entries for the secure parameters (values from the environment)."""
    environ = os.environ if environ is None else environ
    entries: dict[str, dict[str, Any]] = {}
    missing: list[str] = []
    for name, ref in references.items():
        if ref.env:
            if ref.env not in environ:
                missing.append(f"'{name}' from environment variable {ref.env}")
                continue
            entries[name] = {"value": environ[ref.env]}
        else:
            reference: dict[str, Any] = {
                "keyVault": {"id": ref.key_vault_id},
                "secretName": ref.secret_name,
            }
            if ref.secret_version:
                reference["secretVersion"] = ref.secret_version
            entries[name] = {"reference": reference}
    if missing:
        raise LogicFailure(
            "Secure parameters are not available: "
            + ", ".join(missing)
            + ". Set the variables in the environment of the Dagster run (nothing is stored).",
            arm_code="MissingSecureParameter",
        )
    return entries


def parameters_with_secrets(compiled: CompiledTemplate) -> dict[str, Any]:
    """The parameters to send: non-secure values plus secure entries (only for the call)."""
    return {**compiled.parameters, **secure_parameter_entries(compiled.secure_parameters)}


REDACTED = "[secure value]"


def secret_values(parameters: Mapping[str, Any], names: Iterable[str]) -> list[str]:
    """The string values of the named parameters (strings inside secure objects too)."""
    found: list[str] = []

    def collect(value: Any) -> None:
        if isinstance(value, str) and value:
            found.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                collect(item)
        elif isinstance(value, list):
            for item in value:
                collect(item)

    for name in names:
        entry = parameters.get(name)
        if isinstance(entry, dict) and "value" in entry:
            collect(entry["value"])
    return sorted(set(found), key=len, reverse=True)


def scrub(value: Any, secrets: list[str]) -> Any:
    """``value`` with every occurrence of a secret replaced (what-if echoes what it is sent:
    a Key Vault secret resource's value, for one)."""
    if not secrets:
        return value
    if isinstance(value, str):
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, dict):
        return {k: scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v, secrets) for v in value]
    return value
