"""The plan step's review path in the Dagster UI: its summary as a log line in the run's event
list, and a link that opens ``deploy_<env>``'s launchpad with this plan filled in as
``ops.gate.config.approved_plan`` (docs/operations.md#review-a-plan-in-the-ui).

The launchpad takes a run config in its URL: ``…/jobs/<job>/playground/setup?config=<YAML>``
(Dagster UI's ``LaunchpadSetupRoot`` opens a new launchpad tab holding that YAML, then shows
the launchpad). The link is root-relative (``/locations/…``), so it works on whatever host
and port the UI is served; a UI served under a path prefix, or elsewhere than the runs' own
links point, is named by the environment variable ``BICEP_ASSETS_UI_URL`` (its base, e.g.
``https://dagster.example.com/ops``), read by the process that runs the plan step."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import dagster as dg
import yaml

from ..environments import job_name
from ..failures import FailureBoundary
from ..models import Plan

UI_URL_VARIABLE = "BICEP_ASSETS_UI_URL"
# the code location `bicep-assets ui` serves (workspace.yaml: python_module
# bicep_assets.definitions, one Definitions object) when a run does not name its own origin
DEFAULT_LOCATION = "bicep_assets.definitions"
DEFAULT_REPOSITORY = "__repository__"
PLAN_ID_KEY = "plan_id"
APPLY_LINK_KEY = "apply_this_plan"


def plan_summary(plan: Plan, plan_id: str) -> str:
    """``2 to create, 1 to modify, 0 to delete (plan <id>)``."""
    return (
        f"{plan.count('Create')} to create, {plan.count('Modify')} to modify, "
        f"{plan.count('Delete')} to delete"
        + (f", {plan.count('Detach')} to detach" if plan.count("Detach") else "")
        + (f", {len(plan.write_only)} write-only (not compared)" if plan.write_only else "")
        + f" (plan {plan_id})"
    )


def apply_run_config(plan_id: str, lint_config: dict[str, Any] | None = None) -> dict[str, Any]:
    """The run config the apply link fills in: the job's defaults, the plan run's lint config
    (its parameter overrides made the plan) and ``approved_plan``."""
    lint = {"allow_warnings": False, "parameter_overrides": {}, **(lint_config or {})}
    return {
        "ops": {
            "lint": {"config": lint},
            "gate": {"config": {"allow_destructive": False, "approved_plan": plan_id}},
        }
    }


def apply_link(
    environment: str,
    plan_id: str,
    *,
    lint_config: dict[str, Any] | None = None,
    location: str = DEFAULT_LOCATION,
    repository: str = DEFAULT_REPOSITORY,
    base: str | None = None,
    scrub: Callable[[str], str] = str,
) -> str:
    """The URL of ``deploy_<environment>``'s launchpad holding ``plan_id`` as the approved
    plan; ``base`` defaults to ``$BICEP_ASSETS_UI_URL`` (else the link is root-relative).
    ``scrub`` masks the run's secrets in the config before it is URL-encoded (encoded, a
    secret would no longer be recognized by the step's masking)."""
    if base is None:
        base = os.environ.get(UI_URL_VARIABLE, "")
    config = scrub(yaml.safe_dump(apply_run_config(plan_id, lint_config), sort_keys=False))
    path = (
        f"/locations/{quote(repository, safe='')}@{quote(location, safe='')}"
        f"/jobs/{job_name('deploy', environment)}/playground/setup"
    )
    return f"{base.rstrip('/')}{path}?config={quote(config, safe='')}"


def _origin(run: dg.DagsterRun) -> tuple[str, str]:
    """(code location, repository) the run was launched from; the defaults for a run executed
    in process (the CLI), which has no origin."""
    origin = run.remote_job_origin
    if origin is None:
        return DEFAULT_LOCATION, DEFAULT_REPOSITORY
    repository = origin.repository_origin
    return repository.code_location_origin.location_name, repository.repository_name


def plan_review(boundary: FailureBoundary, environment: str, plan: Plan) -> dict[str, Any]:
    """Log the plan's summary line; the plan id and the apply link, as step metadata."""
    context = boundary.context
    plan_id = context.run_id
    boundary.log.info(plan_summary(plan, plan_id))
    location, repository = _origin(context.dagster_run)
    lint = ((context.run_config.get("ops") or {}).get("lint") or {}).get("config")
    link = apply_link(
        environment,
        plan_id,
        lint_config=lint,
        location=location,
        repository=repository,
        scrub=boundary.scrub,
    )
    return {PLAN_ID_KEY: plan_id, APPLY_LINK_KEY: dg.MetadataValue.url(link)}
