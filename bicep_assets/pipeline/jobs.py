"""The job factory: ``deploy_<env>`` (lint → plan → gate → deploy → verify) and ``plan_<env>``
(lint → plan) for every environment manifest."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg

from ..environments import EnvironmentSpec, job_name
from ..failures import retry_policy
from ..resources.environment import DeploymentEnvironment
from .deploy import deploy
from .gate import gate
from .lint import lint
from .plan import plan
from .verify import verify

ENVIRONMENT_TAG = "bicep_assets/environment"
TRIGGER_TAG = "bicep_assets/trigger"


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
        ops["gate"] = {"config": {"allow_destructive": False}}
    return {"ops": ops}


def build_jobs(
    environments: Mapping[str, EnvironmentSpec],
    resources: Mapping[str, Any],
) -> list[dg.JobDefinition]:
    """Two jobs per environment, each bound to its manifest, the shared ``resources`` (arm,
    bicep, probes) and the environment's retry policy.

    The steps form a chain, so they run in one process (in-process executor): an embedded
    local ARM started by plan or deploy then lives for the whole run, and verify probes the
    web apps it serves. The commit, the target and whether the checkout is dirty are not
    job tags: lint reads them when each run runs (``provenance.py``)."""
    jobs: list[dg.JobDefinition] = []
    for name, spec in environments.items():
        resource = DeploymentEnvironment(name=name, manifest=str(spec.manifest_path))
        policy = retry_policy(spec.retry.max_retries, spec.retry.base_delay_s)
        tags = {ENVIRONMENT_TAG: name, TRIGGER_TAG: "ui"}
        scope = spec.scope
        where = f"resource group {scope.resource_group} ({scope.location})"
        jobs.append(
            deploy_environment.to_job(
                name=job_name("deploy", name),
                description=f"Deploy {name} to {where}: lint → plan → gate → deploy → verify. "
                "Run config: lint.allow_warnings, lint.parameter_overrides, "
                "gate.allow_destructive.",
                resource_defs={**resources, "environment": resource},
                config=default_run_config(with_gate=True),
                tags=tags,
                op_retry_policy=policy,
                executor_def=dg.in_process_executor,
            )
        )
        jobs.append(
            plan_environment.to_job(
                name=job_name("plan", name),
                description=f"Plan {name} ({where}): lint → what-if; changes nothing.",
                resource_defs={**resources, "environment": resource},
                config=default_run_config(with_gate=False),
                tags=tags,
                op_retry_policy=policy,
                executor_def=dg.in_process_executor,
            )
        )
    return jobs
