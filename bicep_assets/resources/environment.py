"""The environment a job deploys: its manifest, loaded when an op needs it."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from ..environments import EnvironmentSpec, ManifestError, load_environment
from ..failures import LogicFailure


class DeploymentEnvironment(dg.ConfigurableResource):
    """One ``parameters/<env>.yaml``; each ``deploy_<env>``/``plan_<env>`` job binds its own."""

    name: str
    manifest: str  # path of the manifest file

    def load(self) -> EnvironmentSpec:
        """The manifest as it is now on disk (a bad one fails the run, naming file and key)."""
        try:
            return load_environment(Path(self.manifest))
        except ManifestError as exc:
            raise LogicFailure(str(exc)) from None
