"""What a launcher can check before a run exists: mistakes it can fix at once, reported
before anything is written to run storage (``bicep-assets deploy|plan`` uses these).

lint and deploy check the same things again while the run executes, for launches that do
not pass through here (the UI, sensors, schedules).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ..armlocal.engine import JsonInputError, read_json_file
from ..environments import EnvironmentSpec
from ..resources.bicep import BicepCli, BicepError
from .parameter_overrides import check_parameter_overrides


def missing_secure_variables(
    spec: EnvironmentSpec, shown: str, environ: Mapping[str, str] | None = None
) -> list[str]:
    """One message per secure parameter whose environment variable is not set (Key Vault
    references are read by ARM, so nothing can be checked here)."""
    environ = os.environ if environ is None else environ
    return [
        f"{shown}: secure_parameters.{name}: environment variable {ref.env} is not set; set it "
        "in the environment of the command (the value is read at the ARM call and stored "
        "nowhere)"
        for name, ref in spec.secure_parameters.items()
        if ref.env and ref.env not in environ
    ]


def check_overrides(spec: EnvironmentSpec, overrides: Mapping[str, str], bicep: BicepCli) -> None:
    """``ValueError`` naming the parameter when the template does not accept an override (an
    unknown name, a secure parameter, a value of the wrong type or out of bounds). A template
    that cannot be read or compiled passes: lint reports that, with the template's own error."""
    if not overrides:
        return
    template: Any
    try:
        if spec.is_bicep:
            template = bicep.build(spec.template_file)
        else:
            template = read_json_file(spec.template_file, "template file")
    except (BicepError, JsonInputError):
        return
    if isinstance(template, dict):
        check_parameter_overrides(template, overrides)
