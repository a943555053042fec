"""Secure parameter values: read at the moment of the ARM call, never kept, always masked.

Environment-variable references are read here; Key Vault references are passed to ARM as
ARM's own ``{"reference": {"keyVault": ..., "secretName": ...}}`` so that ARM reads the
secret and this process never sees it.

Every op registers the run's secure values with its boundary (:func:`run_secure_values`),
which masks them in everything the op logs, raises and returns. A value shorter than
``MIN_SECRET_RUN`` (8) could not be masked reliably and is refused — by ``bicep-assets
deploy|plan`` before the run is created (:func:`refusal_before_run`), by lint first thing in
runs launched otherwise. A secure parameter given in run config is refused the same way: run
config is stored in clear text.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ..armlocal.engine import MIN_SECRET_RUN
from ..armlocal.engine.parameters import secure_parameter_names
from ..environments import EnvironmentSpec
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


# -- the run's secure values: refused when too short, masked everywhere --------------------
def _describe(name: str, ref: SecureReference) -> str:
    return f"Secure parameter '{name}' ({ref.describe()})"


def too_short(spec: EnvironmentSpec, environ: Mapping[str, str] | None = None) -> str | None:
    """Why the run must not start when a secure value set in ``environ`` is shorter than
    :data:`MIN_SECRET_RUN` (``None`` when every value is long enough)."""
    environ = os.environ if environ is None else environ
    for name, ref in spec.secure_references().items():
        value = environ.get(ref.env) if ref.env else None
        if value is None or len(value) >= MIN_SECRET_RUN:
            continue
        count = len(value)
        size = "is empty" if not count else f"is {count} character{'s' * (count > 1)} long"
        return (
            f"{_describe(name, ref)} {size}: secure values shorter than {MIN_SECRET_RUN} "
            "characters are refused, because they cannot be masked reliably in logs, errors "
            f"and outputs (any run of {MIN_SECRET_RUN} or more characters of a secure value is "
            "masked; a shorter one would match ordinary text). Use a longer value."
        )
    return None


def run_secure_values(spec: EnvironmentSpec, environ: Mapping[str, str] | None = None) -> list[str]:
    """The values of the environment's ``{env: NAME}`` secure parameters that are set: what
    every op of the run masks. A value that is too short fails the op (at lint, first)."""
    environ = os.environ if environ is None else environ
    refusal = too_short(spec, environ)
    if refusal is not None:
        raise LogicFailure(refusal, arm_code="SecureValueTooShort")
    return [
        environ[ref.env]
        for ref in spec.secure_references().values()
        if ref.env and ref.env in environ
    ]


def secure_overrides(
    spec: EnvironmentSpec, overrides: Mapping[str, Any], template: Mapping[str, Any] | None = None
) -> list[str]:
    """The names in ``overrides`` that are secure parameters: named in the manifest's
    ``secure_parameters`` or, given the template, declared secure there."""
    secure = {name.lower() for name in spec.secure_parameters}
    if template is not None:
        secure |= {name.lower() for name in secure_parameter_names(dict(template))}
    return [name for name in overrides if name.lower() in secure]


def refuse_secure_overrides(spec: EnvironmentSpec, overrides: Mapping[str, Any]) -> None:
    """Fail the run when run config gives a value to one of the manifest's secure parameters
    (one the template declares secure is refused by ``check_parameter_overrides``)."""
    names = secure_overrides(spec, overrides)
    if names:
        raise LogicFailure(
            secure_override_message(names[0], "run config parameter_overrides"),
            arm_code="SecureParameterInRunConfig",
        )


def secure_override_message(name: str, where: str) -> str:
    """Why a secure parameter given in run config is refused, and what to do about it."""
    return (
        f"{where}: '{name}' is a secure parameter and cannot be given in run config, which "
        "Dagster stores in clear text in its run storage — this run's config now holds the "
        "value: delete the run and rotate the secret. Give it through the manifest's "
        "secure_parameters (an environment variable or a Key Vault reference)."
    )


def refusal_before_run(
    spec: EnvironmentSpec, params: Mapping[str, str], environ: Mapping[str, str] | None = None
) -> str | None:
    """Why ``bicep-assets deploy|plan`` must not create the run (``None``: it may): a
    ``--param`` naming one of the manifest's secure parameters — its value would be stored in
    the run config — or a secure value too short to be masked. (A ``--param`` the *template*
    declares secure is refused with the other ``--param`` checks, which read the template.)"""
    names = secure_overrides(spec, params)
    if names:
        return (
            f"--param {names[0]}: '{names[0]}' is a secure parameter of environment "
            f"'{spec.name}'; a secure value is never given on the command line, because run "
            "config is stored in clear text. Give it through the manifest's secure_parameters "
            "(an environment variable or a Key Vault reference). Nothing was stored."
        )
    refusal = too_short(spec, environ)
    return None if refusal is None else f"{refusal} Nothing was stored."
