"""``bicep-assets deploy|plan`` as CI runs them: a real process (its entry point in this
process for the failures), a real git repository, a real DAGSTER_HOME — and a canary secure
value that must appear nowhere."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from bicep_assets.pipeline.jobs import cli_launcher
from tests.cli_helpers import git, project_in_git, run_cli

REPO = Path(__file__).resolve().parents[1]
CANARY = "canary-Secure-Value-7f3a9"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return project_in_git(tmp_path / "deployments")


def cli(project: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(
        project, home, *args, secrets={"DEV_APP_SECRET": CANARY, "PROD_APP_SECRET": CANARY}
    )


def files_containing(root: Path, needle: str) -> list[Path]:
    data = needle.encode()
    return [p for p in root.rglob("*") if p.is_file() and data in p.read_bytes()]


@pytest.mark.slow  # the CLI as a separate process, deploying
def test_deploy_from_ci_records_the_run_and_leaks_no_secret(project: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    sha = git(project, "rev-parse", "HEAD")
    done = cli(project, home, "deploy", "dev")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "deploy_dev succeeded" in done.stdout
    assert "7 to create" in done.stdout  # the resource group and its 6 resources
    assert "output webUrl = https://" in done.stdout
    assert CANARY not in done.stdout and CANARY not in done.stderr
    assert (home / "dagster.yaml").is_file()
    assert files_containing(home, CANARY) == []
    with dg.DagsterInstance.from_config(str(home)) as instance:
        (run,) = instance.get_runs()
        assert run.job_name == "deploy_dev"
        assert run.tags["bicep_assets/trigger"] == "cli"
        assert run.tags["user"] == cli_launcher()  # the UI's run list: "Launched by"
        assert cli_launcher().startswith("bicep-assets CLI")
        assert run.tags["bicep_assets/git_sha"] == sha
        assert run.tags["bicep_assets/environment"] == "dev"
        assert run.tags["bicep_assets/template_hash"]

    again = cli(project, home, "plan", "dev", "--git-sha", "abc1234")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "0 to create, 0 to modify, 0 to delete, 6 unchanged" in again.stdout
    # the Key Vault secret's value is written again on every deploy and cannot be compared:
    # said by path, never by value, and not a change
    assert "6 unchanged; 1 write-only value(s) written again, not compared" in again.stderr
    assert "\nWrite-only: written on every deploy, cannot be compared\n" in again.stdout
    assert "/secrets/app-secret: properties.value\n" in again.stdout
    assert CANARY not in again.stdout and CANARY not in again.stderr
    with dg.DagsterInstance.from_config(str(home)) as instance:
        latest = instance.get_runs(limit=1)[0]
        assert (latest.job_name, latest.tags["bicep_assets/git_sha"]) == ("plan_dev", "abc1234")
    assert files_containing(home, CANARY) == []


def test_failures_exit_non_zero_and_say_why(project: Path, tmp_path: Path, cli_here: Any) -> None:
    """The same command through its entry point in this process (the test above runs the
    process): what it was given is refused before a run exists; a run that fails is exit 1."""
    home = tmp_path / "home"
    secrets = {"DEV_APP_SECRET": CANARY}
    unknown = cli_here(project, "deploy", "staging", home=home, env=secrets)
    assert unknown.returncode == 2
    assert unknown.stderr == "error: no environment 'staging' (environments: dev, landing, prod)\n"
    bad = cli_here(project, "plan", "dev", "--param", "appServiceSku=Huge", home=home, env=secrets)
    assert bad.returncode == 2  # refused before a run exists
    assert bad.stderr.startswith("error: --param: Parameter 'appServiceSku' (string) does not")
    missing = cli_here(project, "deploy", "dev", home=home, env={"DEV_APP_SECRET": None})
    assert missing.returncode == 2
    assert "environment variable DEV_APP_SECRET is not set" in missing.stderr
    assert not home.exists()  # nothing was written
    lint = project / "infra" / "lint.json"
    lint.write_text(
        json.dumps(
            {
                "$schema": "https://schema.management.azure.com/schemas/2019-04-01/"
                "deploymentTemplate.json#",
                "contentVersion": "1.0.0.0",
                "resources": [],
                "outputs": {"x": {"type": "string", "value": "[parameters('nope')]"}},
            }
        ),
        encoding="utf-8",
    )
    (project / "parameters" / "lint.yaml").write_text(
        "template: ../infra/lint.json\nscope: {resource_group: rg-lint, location: westeurope}\n",
        encoding="utf-8",
    )
    failed = cli_here(project, "plan", "lint", home=home, env=secrets)
    assert failed.returncode == 1  # the run exists, and failed at lint
    assert "error: lint failed: logic failure, arm-undefined-parameter: " in failed.stderr, (
        failed.stderr
    )
    with dg.DagsterInstance.from_config(str(home)) as instance:
        (run,) = instance.get_runs()
        assert (run.job_name, run.status) == ("plan_lint", dg.DagsterRunStatus.FAILURE)
