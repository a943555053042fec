"""The code location: Definitions built from the project folder (``parameters/*.yaml``)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from .audit.definitions import audit_definitions
from .environments import scan_environments
from .pipeline.jobs import build_jobs
from .pipeline.saved_plans import plan_asset_specs
from .project import find_project_dir
from .resources import default_resources
from .resources.arm import ArmClient
from .resources.bicep import BicepCli
from .resources.probes import Probes
from .triggers import trigger_definitions


def build_definitions(
    project_dir: Path | None = None,
    *,
    arm: ArmClient | None = None,
    bicep: BicepCli | None = None,
    probes: Probes | None = None,
) -> dg.Definitions:
    """Jobs for every environment manifest, with the resources they use. A manifest that does
    not load still gets its jobs, which fail at lint with its error: one broken file never
    takes down the other environments, the sensors or the audit assets."""
    project = project_dir or find_project_dir()
    scan = scan_environments(project)
    environments = scan.environments
    resources = default_resources(arm=arm, bicep=bicep, probes=probes)
    jobs = build_jobs(environments, resources, broken=scan.broken.values())
    return dg.Definitions.merge(
        dg.Definitions(jobs=jobs, resources=resources, assets=plan_asset_specs(environments)),
        trigger_definitions(environments, jobs=jobs, repository=project),
        audit_definitions(project_dir=project),
    )


defs = build_definitions()
