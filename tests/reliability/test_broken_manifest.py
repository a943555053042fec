"""One broken manifest never takes down the code location: its environment keeps its jobs
(a person sees it in the UI), they fail at lint with the manifest's error, and the other
environments, the sensors and the audit assets work as before."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from bicep_assets.armlocal import LocalArm, LocalArmConfig
from bicep_assets.definitions import build_definitions
from bicep_assets.resources.arm import ArmClient
from bicep_assets.resources.probes import Probes

REPO = Path(__file__).resolve().parents[2]
BROKEN = """\
template: ../infra/main.json
scope:
  resource_group: rg-broken
  location: westeurope
deployment:
  modee: Complete
"""
BROKEN_ERROR = (
    "parameters/broken.yaml: deployment.modee: unknown key (did you mean 'mode'?) at line 6"
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    for item in ("infra", "parameters"):
        shutil.copytree(REPO / item, root / item)
    for item in ("workspace.yaml", "dagster.yaml"):
        shutil.copyfile(REPO / item, root / item)
    (root / "parameters" / "broken.yaml").write_text(BROKEN, encoding="utf-8")
    return root


@pytest.fixture
def arm(tmp_path: Path) -> Iterator[LocalArm]:
    with LocalArm(state=tmp_path / "arm.sqlite", config=LocalArmConfig(retry_after=0)) as arm:
        yield arm


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dg.DagsterInstance]:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("DEV_APP_SECRET", "broken-manifest-test-secret")
    with dg.DagsterInstance.ephemeral(tempdir=str(home)) as instance:
        yield instance


def definitions(project: Path, arm: LocalArm) -> dg.Definitions:
    conn = arm.connection
    client = ArmClient(
        local_endpoint=conn.base_url,
        local_token=conn.token,
        local_ca_file=conn.ca_file,
        polling_interval_s=0.05,
    )
    return build_definitions(project, arm=client, probes=Probes(retry_delay_s=0.05))


def lint_failure(result: dg.ExecuteInProcessResult) -> dg.Failure:
    (event,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert event.step_key == "lint"
    return event.step_failure_data.user_failure_data


def test_a_broken_manifest_keeps_its_jobs_and_fails_at_lint(
    project: Path, arm: LocalArm, instance: dg.DagsterInstance
) -> None:
    defs = definitions(project, arm)
    jobs = {job.name for job in defs.resolve_all_job_defs()}
    assert {"deploy_broken", "plan_broken", "deploy_dev", "plan_dev", "deploy_prod"} <= jobs
    assert "audit_refresh" in jobs
    repository = defs.get_repository_def()
    assert {s.name for s in repository.sensor_defs} >= {
        "deployment_failure_alerts",
        "drift_checks",
        "audit_refresh",
    }
    assert dg.AssetKey(["audit", "deployment_runs"]) in repository.assets_defs_by_key
    described = defs.resolve_job_def("deploy_broken").description or ""
    assert described.startswith("**parameters/broken.yaml does not load**, so this job fails")
    assert BROKEN_ERROR in described
    assert defs.resolve_job_def("deploy_broken").tags["bicep_assets/environment"] == "broken"

    broken = defs.resolve_job_def("plan_broken").execute_in_process(
        instance=instance, raise_on_error=False
    )
    assert not broken.success
    failure = lint_failure(broken)
    assert failure.description == BROKEN_ERROR
    assert failure.metadata["failure_kind"].value == "logic"

    good = defs.resolve_job_def("plan_dev").execute_in_process(
        instance=instance, raise_on_error=False
    )
    assert good.success, [e.message for e in good.all_events if e.is_failure]
    assert good.output_for_node("plan").count("Create") == 7  # the group and its 6 resources


def test_a_manifest_fixed_after_loading_asks_for_a_reload(
    project: Path, arm: LocalArm, instance: dg.DagsterInstance
) -> None:
    defs = definitions(project, arm)
    (project / "parameters" / "broken.yaml").write_text(
        BROKEN.replace("modee", "mode"), encoding="utf-8"
    )
    result = defs.resolve_job_def("deploy_broken").execute_in_process(
        instance=instance, raise_on_error=False
    )
    assert lint_failure(result).description == (
        f"{BROKEN_ERROR}\nparameters/broken.yaml was broken when the code location loaded; "
        "reload the code location (Deployment → Reload) to build this job from the file as it "
        "is now"
    )
    reloaded = definitions(project, arm).resolve_job_def("deploy_broken")
    assert reloaded.description.startswith("Deploy broken to resource group rg-broken")


def test_two_files_for_one_job_are_both_refused(
    project: Path, arm: LocalArm, instance: dg.DagsterInstance
) -> None:
    shutil.copyfile(project / "parameters" / "dev.yaml", project / "parameters" / "dev.yml")
    defs = definitions(project, arm)
    result = defs.resolve_job_def("plan_dev").execute_in_process(
        instance=instance, raise_on_error=False
    )
    assert lint_failure(result).description.splitlines()[0] == (
        "parameters/dev.yml: environment 'dev' maps to the same jobs as parameters/dev.yaml "
        "(deploy_dev); rename one of them"
    )
    assert defs.resolve_job_def("plan_prod").description.startswith("Plan prod")


def test_a_file_name_that_names_no_environment_still_shows(
    project: Path, arm: LocalArm, instance: dg.DagsterInstance
) -> None:
    shutil.copyfile(project / "parameters" / "dev.yaml", project / "parameters" / "my env.yaml")
    defs = definitions(project, arm)
    result = defs.resolve_job_def("plan_my_env").execute_in_process(
        instance=instance, raise_on_error=False
    )
    assert lint_failure(result).description.splitlines()[0] == (
        "parameters/my env.yaml: environment name 'my env' (the file name) cannot name a "
        "Dagster job: rename the file using letters, digits, '_' and '-'"
    )


def test_the_code_location_loads_through_a_code_server(project: Path, tmp_path: Path) -> None:
    """What `dagster dev` does first — the workspace's module loaded by a code server — with
    the Dagster CLI, without a webserver."""
    home = tmp_path / "home"
    home.mkdir()
    done = subprocess.run(
        [str(Path(sys.executable).with_name("dagster")), "job", "list", "-w", "workspace.yaml"],
        cwd=project,
        env={**os.environ, "DAGSTER_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    listed = {line.removeprefix("Job: ") for line in done.stdout.splitlines()}
    assert {"deploy_broken", "plan_broken", "deploy_dev", "deploy_prod", "audit_refresh"} <= listed
