"""A deployment history made by the real pipeline against a local ARM (success, logic failure,
environmental retries, a destructive change blocked then approved, a scheduled plan), and
helpers to refresh the audit tables into a real DuckDB file and read them back."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pandas as pd
import pytest

from bicep_assets.armlocal import FaultRule, LocalArm, LocalArmConfig
from bicep_assets.audit.definitions import audit_definitions
from bicep_assets.audit.schemas import TABLES
from tests.pipeline.conftest import SUB, Project, copy_example, storage, template

CANARY = "canary-Audit-Secret-4b1d9"
SHA = "5f1c0ffee5f1c0ffee5f1c0ffee5f1c0ffee5f1c"
GIT = {"bicep_assets/git_sha": SHA}


def resource_id(group: str, name: str) -> str:
    return (
        f"/subscriptions/{SUB}/resourceGroups/{group}/providers/"
        f"Microsoft.Storage/storageAccounts/{name}"
    )


def refresh(
    project: Project, database: Path, *, full_rebuild: bool = False
) -> dg.ExecuteInProcessResult:
    """Run the ``audit_refresh`` job (assets and checks) exactly as the sensor launches it."""
    job = audit_definitions(database=str(database), project_dir=project.root).resolve_job_def(
        "audit_refresh"
    )
    config = {"ops": {"deployment_history": {"config": {"full_rebuild": full_rebuild}}}}
    result = job.execute_in_process(instance=project.instance, run_config=config)
    assert result.success
    return result


ORDER = {
    "deployment_runs": "ended_at, run_id",
    "deployment_events": "run_id, seq",
    "planned_changes": "run_id, resource_id",
    "plans": "created_at, plan_id",
    "planned_properties": "plan_id, resource_id, path",
    "deployed_resources": "environment, lower(resource_id)",
    "environment_status": "environment",
}


def read_tables(database: Path) -> dict[str, pd.DataFrame]:
    """Every audit table, read through a read-only connection as an analyst would (with the
    declared dtypes, in a stable order, so that frames compare)."""
    with duckdb.connect(str(database), read_only=True) as connection:
        return {
            name: spec.coerce(
                connection.execute(f"SELECT * FROM audit.{name} ORDER BY {ORDER[name]}").df()
            )
            for name, spec in TABLES.items()
        }


def checks_by_name(result: dg.ExecuteInProcessResult) -> dict[tuple[str, str], bool]:
    """``{(table, check name): passed}`` of a refresh run."""
    return {
        (e.asset_key.path[-1], e.check_name): e.passed for e in result.get_asset_check_evaluations()
    }


def check_metadata(result: dg.ExecuteInProcessResult, table: str, name: str) -> dict[str, Any]:
    for evaluation in result.get_asset_check_evaluations():
        if (evaluation.asset_key.path[-1], evaluation.check_name) == (table, name):
            return {k: v.value for k, v in evaluation.metadata.items()}
    raise AssertionError(f"no check {name} on {table}")


def output_metadata(result: dg.ExecuteInProcessResult, table: str) -> dict[str, Any]:
    for event in result.get_asset_materialization_events():
        materialization = event.event_specific_data.materialization
        if materialization.asset_key.path[-1] == table:
            return {k: v.value for k, v in materialization.metadata.items()}
    raise AssertionError(f"{table} was not materialized")


@dataclass
class History:
    project: Project
    home: Path
    database: Path
    runs: dict[str, dg.ExecuteInProcessResult] = field(default_factory=dict)
    refreshed: dg.ExecuteInProcessResult | None = None

    def run_id(self, name: str) -> str:
        return self.runs[name].run_id


@pytest.fixture
def local_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Project]:
    """A project on a persistent SQLite instance (the storage bicep-assets uses)."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with (
        LocalArm(state=tmp_path / "arm.sqlite", config=LocalArmConfig(retry_after=0)) as arm,
        dg.DagsterInstance.local_temp(tempdir=str(home)) as instance,
    ):
        yield Project(tmp_path / "project", arm, instance)


def storage_env(project: Project, env: str, *names: str, **manifest: Any) -> None:
    path = project.write_template(f"{env}.json", template([storage(n) for n in names]))
    project.write_manifest(env, template=path, **manifest)


@pytest.fixture(scope="session")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[History]:
    """Seven runs of the real pipeline, then one refresh of the audit tables (once per worker
    process). The environment variables the runs read are set only while they are made, not
    for the rest of the session."""
    root = tmp_path_factory.mktemp("audit-history")
    home = root / "dagster_home"
    home.mkdir()
    with (
        LocalArm(state=root / "arm.sqlite", config=LocalArmConfig(retry_after=0)) as arm,
        dg.DagsterInstance.local_temp(tempdir=str(home)) as instance,
    ):
        project = Project(root / "project", arm, instance)
        history = History(project, home, home / "deployment_history.duckdb")
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("DAGSTER_HOME", str(home))
            patch.setenv("DEV_APP_SECRET", CANARY)
            make_history(history)
        yield history


def make_history(history: History) -> None:
    """The runs (a success, a policy denial, retried 503s, a destructive change blocked then
    approved, a scheduled plan with drift) and the refresh of the tables from them."""
    project = history.project
    copy_example(project)  # dev: the shipped example, its appSecret is the canary
    history.runs["dev"] = project.run("deploy_dev", tags={**GIT, "bicep_assets/trigger": "cli"})
    storage_env(project, "policy", "denied1")
    project.faults(
        FaultRule(
            kind="deployment_error",
            resource_name="denied1",
            arm_code="RequestDisallowedByPolicy",
            arm_message="Resource 'denied1' was disallowed by policy.",
        )
    )
    history.runs["policy"] = project.run("deploy_policy", tags=GIT)
    storage_env(project, "flaky", "flaky1")
    project.arm.connection.resource_client().resource_groups.create_or_update(
        "rg-flaky", {"location": "westeurope"}
    )
    project.faults(FaultRule(kind="status", status=503, operation="Deployments_WhatIf", times=2))
    history.runs["flaky"] = project.run(
        "deploy_flaky", tags=GIT, sdk_retry_total=0, sdk_retry_status=0
    )
    project.faults()
    complete = {"deployment": {"mode": "Complete"}}
    storage_env(project, "cleanup", "keep1", "drop1", **complete)
    history.runs["cleanup_create"] = project.run("deploy_cleanup", tags=GIT)
    storage_env(project, "cleanup", "keep1", **complete)
    history.runs["cleanup_blocked"] = project.run("deploy_cleanup", tags=GIT)
    history.runs["cleanup_approved"] = project.run(
        "deploy_cleanup",
        tags=GIT,
        run_config={"ops": {"gate": {"config": {"allow_destructive": True}}}},
    )
    geo = {**storage("flaky1"), "sku": {"name": "Standard_GRS"}}  # a Modify, and a Create
    project.write_template("flaky.json", template([geo, storage("flaky2")]))
    history.runs["drift"] = project.run(
        "plan_flaky", tags={**GIT, "dagster/schedule_name": "nightly_drift"}
    )
    expected = {"policy": False, "cleanup_blocked": False}
    for name, result in history.runs.items():
        assert result.success is expected.get(name, True), name
    history.refreshed = refresh(project, history.database)
