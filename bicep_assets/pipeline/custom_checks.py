"""verify's custom checks: each ``health_checks.custom`` entry as a :class:`Check` that runs
its plugin (:mod:`bicep_assets.check_plugins`) beside the built-in checks."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from functools import partial
from typing import Any

from ..check_plugins import ENTRY_POINT_GROUP, CheckContext, installed_checks, run_custom_check
from ..environments import (
    CustomCheckEntry,
    EnvironmentSpec,
    ManifestError,
    render_placeholders,
)
from ..models import CheckResult, Diagnostic
from ..resources.probes import Check


def missing_check_diagnostics(spec: EnvironmentSpec) -> list[Diagnostic]:
    """lint's error for each ``health_checks.custom`` entry whose plugin is not installed
    where the run executes — found before the deployment, not by verify after it."""
    entries = spec.health_checks.custom
    if not entries:
        return []
    installed = sorted(installed_checks())
    found = []
    for index, entry in enumerate(entries):
        if entry.check in installed:
            continue
        close = difflib.get_close_matches(entry.check, installed, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        found.append(
            Diagnostic(
                severity="error",
                code="custom-check-missing",
                message=f"check '{entry.check}' is not installed{hint}: no distribution "
                f"registers it in the entry point group '{ENTRY_POINT_GROUP}' (installed checks: "
                f"{', '.join(installed) or 'none'}); install the package that provides it where "
                "the runs execute, or fix the name",
                location=f"{spec.manifest_path.name}:health_checks.custom[{index}].check",
            )
        )
    return found


def plain_outputs(outputs: Mapping[str, Any]) -> dict[str, Any]:
    """Deployment outputs as plain values (the SDK's ``{"type", "value"}`` shape unwrapped)."""
    plain: dict[str, Any] = {}
    for name, value in outputs.items():
        if isinstance(value, Mapping) and "value" in value and set(value) <= {"type", "value"}:
            value = value["value"]
        plain[name] = value
    return plain


def render_config(value: Any, outputs: Mapping[str, Any]) -> Any:
    """``value`` with ``{outputs.NAME}`` rendered in every string inside it."""
    if isinstance(value, str):
        return render_placeholders(value, outputs)
    if isinstance(value, Mapping):
        return {k: render_config(v, outputs) for k, v in value.items()}
    if isinstance(value, list):
        return [render_config(v, outputs) for v in value]
    return value


def custom_checks(
    entries: list[CustomCheckEntry],
    outputs: Mapping[str, Any],
    *,
    environment: str,
    ca_bundle: str | None,
    retry_delay_s: float,
) -> list[Check]:
    """One :class:`Check` per entry; a placeholder naming a missing output fails that check
    alone."""
    checks: list[Check] = []
    values = plain_outputs(outputs)
    for entry in entries:
        try:
            config = render_config(entry.config, outputs)
        except ManifestError as exc:
            checks.append(
                Check("custom", entry.check, partial(_misconfigured, entry.check, str(exc)))
            )
            continue
        context = CheckContext(
            outputs=values, environment=environment, timeout_s=entry.timeout_s,
            ca_bundle=ca_bundle,
        )  # fmt: skip
        checks.append(
            Check(
                "custom",
                entry.check,
                partial(
                    run_custom_check,
                    entry.check,
                    config,
                    context,
                    retries=entry.retries,
                    retry_delay_s=retry_delay_s,
                ),
            )
        )
    return checks


def _misconfigured(name: str, problem: str) -> CheckResult:
    return CheckResult(kind="custom", target=name, ok=False, detail=f"check '{name}': {problem}")
