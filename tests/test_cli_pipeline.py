"""``bicep-assets deploy|plan`` as CI runs them: a real process, a real git repository, a real
DAGSTER_HOME — and a canary secure value that must appear nowhere."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

pytestmark = pytest.mark.slow  # the CLI as a separate process, deploying

REPO = Path(__file__).resolve().parents[1]
CANARY = "canary-Secure-Value-7f3a9"


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "deployments"
    for item in ("infra", "parameters"):
        shutil.copytree(REPO / item, root / item)
    shutil.copyfile(REPO / "dagster.yaml", root / "dagster.yaml")
    git(root, "init", "-q", "-b", "main")
    git(root, "-c", "user.email=ci@example.com", "-c", "user.name=CI", "add", ".")
    git(root, "-c", "user.email=ci@example.com", "-c", "user.name=CI", "commit", "-qm", "init")
    return root


def cli(project: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "DEV_APP_SECRET": CANARY,
        "PROD_APP_SECRET": CANARY,
    }
    return subprocess.run(
        [sys.executable, "-m", "bicep_assets.cli", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def files_containing(root: Path, needle: str) -> list[Path]:
    data = needle.encode()
    return [p for p in root.rglob("*") if p.is_file() and data in p.read_bytes()]


def test_deploy_from_ci_records_the_run_and_leaks_no_secret(project: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    sha = git(project, "rev-parse", "HEAD")
    done = cli(project, home, "deploy", "dev")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "deploy_dev succeeded" in done.stdout
    assert "6 to create" in done.stdout
    assert "output webUrl = https://" in done.stdout
    assert CANARY not in done.stdout and CANARY not in done.stderr
    assert (home / "dagster.yaml").is_file()
    assert files_containing(home, CANARY) == []
    with dg.DagsterInstance.from_config(str(home)) as instance:
        (run,) = instance.get_runs()
        assert run.job_name == "deploy_dev"
        assert run.tags["bicep_assets/trigger"] == "cli"
        assert run.tags["bicep_assets/git_sha"] == sha
        assert run.tags["bicep_assets/environment"] == "dev"
        assert run.tags["bicep_assets/template_hash"]

    again = cli(project, home, "plan", "dev", "--git-sha", "abc1234")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "0 to create, 0 to modify, 0 to delete, 6 unchanged" in again.stdout
    with dg.DagsterInstance.from_config(str(home)) as instance:
        latest = instance.get_runs(limit=1)[0]
        assert (latest.job_name, latest.tags["bicep_assets/git_sha"]) == ("plan_dev", "abc1234")
    assert files_containing(home, CANARY) == []


def test_failures_exit_non_zero_and_say_why(project: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    unknown = cli(project, home, "deploy", "staging")
    assert unknown.returncode == 2
    assert "no environment 'staging' (environments: dev, prod)" in (unknown.stderr)
    bad = cli(project, home, "plan", "dev", "--param", "appServiceSku=Huge")
    assert bad.returncode == 1
    assert "lint failed" in bad.stderr
    assert "appServiceSku" in bad.stderr
    missing = subprocess.run(
        [sys.executable, "-m", "bicep_assets.cli", "deploy", "dev"],
        cwd=project,
        env={
            k: v
            for k, v in {**os.environ, "DAGSTER_HOME": str(home)}.items()
            if k != "DEV_APP_SECRET"
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert missing.returncode == 1
    assert "environment variable DEV_APP_SECRET" in missing.stderr
