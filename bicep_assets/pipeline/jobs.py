"""The job factory: ``deploy_<env>`` (lint → plan → gate → deploy → verify) and ``plan_<env>``
(lint → plan) for every environment manifest."""

from __future__ import annotations

import getpass
from collections.abc import Iterable, Mapping
from typing import Any

import dagster as dg

from ..environments import BrokenManifest, EnvironmentSpec, RetryOptions, job_name
from ..failures import retry_policy
from ..resources.environment import BrokenEnvironment, DeploymentEnvironment, EnvironmentHold
from .deploy import deploy
from .gate import gate
from .lint import lint
from .plan import plan
from .verify import verify

ENVIRONMENT_TAG = "bicep_assets/environment"
TRIGGER_TAG = "bicep_assets/trigger"
# The tag the Dagster UI's run list shows in its "Launched by" column (as a user) when no
# schedule or sensor launched the run: CLI runs carry "bicep-assets CLI (<login>)" there
# instead of "Manually launched".
LAUNCHED_BY_UI_TAG = "user"


def cli_launcher() -> str:
    """What the run list shows as the launcher of a run the CLI executes."""
    try:
        login = getpass.getuser()
    except (KeyError, OSError):  # no user name for this uid (a container, say)
        login = ""
    return f"bicep-assets CLI ({login})" if login else "bicep-assets CLI"


@dg.graph
def deploy_environment() -> None:
    """Lint, plan, gate, deploy and verify one environment."""
    compiled = lint()
    approved = gate(plan(compiled))
    verify(compiled, deploy(compiled, approved))


@dg.graph
def plan_environment() -> None:
    """Lint and plan one environment (what would change; nothing is written to ARM)."""
    plan(lint())


def default_run_config(*, with_gate: bool) -> dict[str, Any]:
    """The flags the launchpad shows, with their defaults."""
    ops: dict[str, Any] = {
        "lint": {"config": {"allow_warnings": False, "parameter_overrides": {}}},
    }
    if with_gate:
        ops["gate"] = {"config": {"allow_destructive": False, "approved_plan": ""}}
    return {"ops": ops}


def build_jobs(
    environments: Mapping[str, EnvironmentSpec],
    resources: Mapping[str, Any],
    *,
    broken: Iterable[BrokenManifest] = (),
) -> list[dg.JobDefinition]:
    """Two jobs per environment, each bound to its manifest, the shared ``resources`` (arm,
    bicep, probes) and the environment's retry policy; the same two jobs for each ``broken``
    manifest, failing at lint with its error.

    The steps form a chain, so they run in one process (in-process executor): an embedded
    local ARM started by plan or deploy then lives for the whole run, and verify probes the
    web apps it serves. The commit, the target and whether the checkout is dirty are not
    job tags: lint reads them when each run runs (``provenance.py``)."""
    jobs: list[dg.JobDefinition] = []
    for name, spec in environments.items():
        where = spec.scope.describe()
        jobs += _job_pair(
            names=(job_name("deploy", name), job_name("plan", name)),
            descriptions=(
                f"Deploy {name} to {where}: lint → plan → gate → deploy → verify. "
                "Run config: lint.allow_warnings, lint.parameter_overrides, "
                "gate.allow_destructive, gate.approved_plan (a plan id: apply exactly that plan).",
                f"Plan {name} ({where}): lint → what-if; changes nothing.",
            ),
            environment=DeploymentEnvironment(name=name, manifest=str(spec.manifest_path)),
            resources=resources,
            retry=spec.retry,
            tags={ENVIRONMENT_TAG: name, TRIGGER_TAG: "ui"},
        )
    for manifest in broken:
        environment = BrokenEnvironment(
            name=manifest.name, manifest=str(manifest.manifest_path), error=manifest.error
        )
        problem = (
            f"**{environment.shown} does not load**, so this job fails at lint: "
            f"{manifest.error.splitlines()[0]} — fix the manifest, then reload the code location."
        )
        jobs += _job_pair(
            names=(manifest.job_name("deploy"), manifest.job_name("plan")),
            descriptions=(problem, problem),
            environment=environment,
            resources=resources,
            retry=RetryOptions(),
            tags={ENVIRONMENT_TAG: manifest.name, TRIGGER_TAG: "ui"},
        )
    return jobs


def _job_pair(
    *,
    names: tuple[str, str],
    descriptions: tuple[str, str],
    environment: DeploymentEnvironment,
    resources: Mapping[str, Any],
    retry: RetryOptions,
    tags: dict[str, str],
) -> list[dg.JobDefinition]:
    """``deploy_<env>`` and ``plan_<env>`` bound to ``environment``."""
    policy = retry_policy(retry.max_retries, retry.base_delay_s)
    common: dict[str, Any] = {
        "resource_defs": {
            **resources,
            "environment": environment,
            "environment_hold": EnvironmentHold(environment=environment.name),
        },
        "tags": tags,
        "op_retry_policy": policy,
        "executor_def": dg.in_process_executor,
    }
    return [
        deploy_environment.to_job(
            name=names[0],
            description=descriptions[0],
            config=default_run_config(with_gate=True),
            **common,
        ),
        plan_environment.to_job(
            name=names[1],
            description=descriptions[1],
            config=default_run_config(with_gate=False),
            **common,
        ),
    ]
