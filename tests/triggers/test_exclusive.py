"""``bicep-assets deploy`` bypasses the run queue, so it waits while a run of the same
environment is in progress on the instance (or refuses with ``--wait-timeout 0``)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import dagster as dg
import pytest

from bicep_assets.triggers.exclusive import EnvironmentBusy, exclusive_environment

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    shutil.copyfile(REPO / "dagster.yaml", home / "dagster.yaml")
    return home


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "deployments"
    for item in ("infra", "parameters"):
        shutil.copytree(REPO / item, root / item)
    shutil.copyfile(REPO / "dagster.yaml", root / "dagster.yaml")
    return root


def start_blocking_run(home: Path, environment: str = "dev") -> dg.DagsterRun:
    """A run of the environment in progress, as the daemon would have started it."""
    with dg.DagsterInstance.from_config(str(home)) as instance:
        return instance.add_run(
            dg.DagsterRun(
                job_name=f"deploy_{environment}",
                run_id=str(uuid.uuid4()),
                status=dg.DagsterRunStatus.STARTED,
                tags={"bicep_assets/environment": environment},
            )
        )


def cli(project: Path, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "bicep_assets.cli",
        "deploy",
        "dev",
        "--project",
        str(project),
        *args,
    ]


def env(home: Path) -> dict[str, str]:
    return {**os.environ, "DAGSTER_HOME": str(home), "DEV_APP_SECRET": "exclusive-secret"}


@pytest.mark.slow
def test_deploy_refuses_at_once_with_wait_timeout_zero(project: Path, home: Path) -> None:
    blocker = start_blocking_run(home)
    done = subprocess.run(
        cli(project, "--wait-timeout", "0"),
        env=env(home),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 1, done.stderr[-2000:]
    assert (
        f"error: dev is busy: run {blocker.run_id} (deploy_dev, STARTED) is in progress; gave up "
        "after 0 s (--wait-timeout)" in done.stderr
    )
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert [r.run_id for r in instance.get_runs()] == [blocker.run_id]


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_deploy_waits_for_the_run_in_progress_then_deploys(project: Path, home: Path) -> None:
    blocker = start_blocking_run(home)
    process = subprocess.Popen(
        cli(project),
        env=env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    waiting = f"waiting: run {blocker.run_id} (deploy_dev, STARTED) is in progress for dev"
    seen: list[str] = []
    for line in process.stdout:  # until the CLI says it waits (EOF first: it did not wait)
        seen.append(line)
        if waiting in line:
            break
    assert waiting in "".join(seen), "".join(seen)[-3000:]
    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.report_run_failed(blocker)
    rest = process.stdout.read()
    assert process.wait(timeout=240) == 0, rest[-3000:]
    assert "deploy_dev succeeded" in rest
    with dg.DagsterInstance.from_config(str(home)) as instance:
        records = {r.dagster_run.run_id: r for r in instance.get_run_records()}
        (mine,) = [r for run_id, r in records.items() if run_id != blocker.run_id]
        assert mine.dagster_run.status == dg.DagsterRunStatus.SUCCESS
        assert mine.start_time >= records[blocker.run_id].end_time


def test_two_in_process_deploys_of_one_environment_exclude_each_other(home: Path) -> None:
    with (
        dg.DagsterInstance.from_config(str(home)) as instance,
        exclusive_environment(instance, "dev", timeout_s=0),
    ):
        with (
            pytest.raises(EnvironmentBusy, match=r"dev: another bicep-assets deploy on this "),
            exclusive_environment(instance, "dev", timeout_s=0),
        ):
            pass
        with exclusive_environment(instance, "prod", timeout_s=0):  # others are free
            pass
    with (
        dg.DagsterInstance.from_config(str(home)) as instance,
        exclusive_environment(instance, "dev", timeout_s=0),
    ):
        pass  # released
