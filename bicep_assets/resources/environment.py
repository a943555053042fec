"""The environment a job deploys: its manifest, loaded when an op needs it; and the hold a
deployment run keeps on it from its start to its end."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg

from ..environments import EnvironmentSpec, ManifestError, load_environment
from ..failures import EnvironmentalFailure, LogicFailure
from ..instance import EnvironmentHeld, environment_held


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


class EnvironmentHold(dg.ConfigurableResource):
    """Held by a ``deploy_<env>`` run from its start to its end (``instance.environment_held``:
    a PostgreSQL advisory lock or a lock file), whatever process runs it. The run queue and
    ``bicep-assets deploy``'s wait keep one run of an environment in progress; this closes
    the moment between their checks and a run's start, in which a queued run and a CLI run
    could otherwise both begin. A run that finds the environment held waits (it says so in its
    log) for up to ``timeout_s``."""

    environment: str
    timeout_s: float = 3600.0

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[EnvironmentHold]:
        def waiting() -> None:
            if context.log is not None:
                context.log.info(
                    f"waiting: another deployment run holds {self.environment}; this run "
                    "starts when it ends"
                )

        try:
            with environment_held(
                context.instance, self.environment, timeout_s=self.timeout_s, on_wait=waiting
            ):
                yield self
        except EnvironmentHeld as exc:
            raise EnvironmentalFailure(str(exc)) from None
