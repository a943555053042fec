"""Dagster resources: the Bicep CLI, the ARM client (Azure or the local ARM), probes."""

from __future__ import annotations

from typing import Any

from .arm import ArmClient
from .bicep import BicepCli
from .probes import Probes


def default_resources(
    *, arm: ArmClient | None = None, bicep: BicepCli | None = None, probes: Probes | None = None
) -> dict[str, Any]:
    """The resources every environment's jobs use, by their resource keys (defaults where
    one is not given): the code location and the CLI bind the same ones."""
    return {"arm": arm or ArmClient(), "bicep": bicep or BicepCli(), "probes": probes or Probes()}
