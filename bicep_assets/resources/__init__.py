"""Dagster resources: the Bicep CLI, the ARM client (Azure or the local ARM), probes."""

from __future__ import annotations

import os
from typing import Any

import dagster as dg

from .arm import ArmClient
from .bicep import BicepCli
from .probes import Probes

# a running `bicep-assets emulator serve` shared by every process (docs/operations.md#running-it-
# for-a-team): the three values it prints, as environment variables of the code server, the
# daemon and the CLI; the resource names the variables, so neither the UI nor run storage
# shows the token
LOCAL_ARM_VARS = {
    "local_endpoint": "BICEP_ASSETS_LOCAL_ARM_ENDPOINT",
    "local_token": "BICEP_ASSETS_LOCAL_ARM_TOKEN",
    "local_ca_file": "BICEP_ASSETS_LOCAL_ARM_CA_FILE",
}


def arm_from_environment() -> ArmClient:
    """``ArmClient()`` (an embedded local ARM), or one bound to the running local ARM that
    ``BICEP_ASSETS_LOCAL_ARM_ENDPOINT`` names (read when the code location or a command
    starts; all three variables are then required, which Dagster reports by name)."""
    if not os.environ.get(LOCAL_ARM_VARS["local_endpoint"]):
        return ArmClient()
    return ArmClient(**{field: dg.EnvVar(var) for field, var in LOCAL_ARM_VARS.items()})


def default_resources(
    *, arm: ArmClient | None = None, bicep: BicepCli | None = None, probes: Probes | None = None
) -> dict[str, Any]:
    """The resources every environment's jobs use, by their resource keys (defaults where
    one is not given): the code location and the CLI bind the same ones."""
    return {
        "arm": arm or arm_from_environment(),
        "bicep": bicep or BicepCli(),
        "probes": probes or Probes(),
    }
