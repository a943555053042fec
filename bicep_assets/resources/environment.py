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
            return load_environment(Path(self.manifest), display_name=self.shown)
        except ManifestError as exc:
            raise _manifest_failure(str(exc)) from None

    @property
    def shown(self) -> str:
        """The manifest as errors name it, as in the project: ``parameters/<env>.yaml``."""
        path = Path(self.manifest)
        return f"{path.parent.name}/{path.name}"


class BrokenEnvironment(DeploymentEnvironment):
    """The environment of a manifest that did not load when the code location was built. Its
    jobs exist so that the UI shows them, and they fail at lint: with the manifest's error as
    it is now on disk, or — once the file loads — with the error the jobs were built with and
    a request to reload the code location (the jobs' retry policy, tags and triggers come
    from a manifest that loads)."""

    error: str  # what was wrong when the code location loaded

    def load(self) -> EnvironmentSpec:
        """Never a manifest: the failure that explains why."""
        super().load()
        raise _manifest_failure(
            f"{self.error}\n{self.shown} was broken when the code location loaded; reload the "
            "code location (Deployment → Reload) to build this job from the file as it is now"
        )


def _manifest_failure(message: str) -> LogicFailure:
    return LogicFailure(message)
