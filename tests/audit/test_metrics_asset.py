"""The delivery metrics assets in a refresh: real deploy runs of a project that is a git
repository, the commit times read from it, the DuckDB tables, and the chart — written to a
file that is opened here, and embedded in the asset's metadata for the Dagster UI."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from matplotlib.image import imread

from bicep_assets.armlocal import FaultRule
from bicep_assets.audit.metrics import DEPLOYED_COMMITS, DEPLOYMENT_METRICS, week_of
from tests.pipeline.conftest import Project

from .conftest import output_metadata, refresh, storage_env

GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.test",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.test"}  # fmt: skip


def commit(project: Project, message: str, monkeypatch: pytest.MonkeyPatch) -> str:
    for name, value in GIT_ENV.items():
        monkeypatch.setenv(name, value)
    root = str(project.root)
    if not (project.root / ".git").exists():
        subprocess.run(["git", "init", "-q", root], check=True)
    subprocess.run(["git", "-C", root, "add", "-A"], check=True)
    subprocess.run(["git", "-C", root, "commit", "-qm", message], check=True)
    out = subprocess.run(["git", "-C", root, "rev-parse", "HEAD"], capture_output=True, text=True)
    return out.stdout.strip()


def git_time(project: Project, sha: str) -> pd.Timestamp:
    out = subprocess.run(
        ["git", "-C", str(project.root), "show", "-s", "--format=%ct", sha],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return pd.Timestamp(int(out.stdout), unit="s", tz="UTC")


def test_metrics_from_real_runs_with_charts(
    local_project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = local_project
    database = tmp_path / "history.duckdb"
    storage_env(project, "dev", "metrics1")
    first = commit(project, "first", monkeypatch)
    assert project.run("deploy_dev").success
    storage_env(project, "dev", "metrics1", "metrics2")
    second = commit(project, "second", monkeypatch)
    denied = {"arm_code": "RequestDisallowedByPolicy", "arm_message": "denied"}
    project.faults(FaultRule(kind="deployment_error", resource_name="metrics2", **denied))
    assert not project.run("deploy_dev").success  # a failed deployment of the second commit
    refreshed = refresh(project, database)

    meta = output_metadata(refreshed, "deployed_commits")
    assert (meta["refresh"], meta["deployments_read"], meta["git"]) == ("full", 1, "available")
    project.faults()
    assert project.run("deploy_dev").success  # restores dev, delivering the second commit
    again = refresh(project, database)
    meta = output_metadata(again, "deployed_commits")
    assert (meta["refresh"], meta["deployments_read"]) == ("incremental", 1)  # the new one only

    with duckdb.connect(str(database), read_only=True) as connection:
        commits = DEPLOYED_COMMITS.coerce(
            connection.execute("SELECT * FROM audit.deployed_commits ORDER BY deployed_at").df()
        )
        metrics = DEPLOYMENT_METRICS.coerce(
            connection.execute("SELECT * FROM audit.deployment_metrics").df()
        )
        runs = connection.execute(
            "SELECT status, ended_at FROM audit.deployment_runs ORDER BY ended_at"
        ).df()
    assert list(commits["commit_sha"]) == [first, second]
    assert list(commits["committed_at"]) == [git_time(project, first), git_time(project, second)]
    lead = (commits["deployed_at"] - commits["committed_at"]).dt.total_seconds()
    assert list(commits["lead_time_s"]) == pytest.approx(list(lead))

    # all three runs ended this week (a run that straddles midnight on Sunday aside)
    weeks = set(week_of(runs["ended_at"]))
    assert len(metrics) == len(weeks) and set(metrics["environment"]) == {"dev"}
    if len(weeks) == 1:
        (row,) = metrics.itertuples()
        assert (row.deployments, row.successful_deployments, row.failed_deployments) == (3, 2, 1)
        assert row.change_failure_rate == pytest.approx(1 / 3)
        assert (row.changes, row.failures_restored, row.unrestored_failures) == (2, 1, 0)
        failed_at, restored_at = runs["ended_at"].iloc[1], runs["ended_at"].iloc[2]
        assert row.time_to_restore_median_s == pytest.approx(
            (restored_at - failed_at).total_seconds()
        )

    meta = output_metadata(again, "deployment_metrics")
    chart = Path(meta["chart_file"])
    assert chart == database.with_name("deployment_metrics.png")
    image = imread(chart)  # a PNG matplotlib reads back: 11 x 7 inches at 80 dpi
    assert image.shape[:2] == (560, 880)
    embedded = meta["charts"].split("data:image/png;base64,", 1)[1].rstrip(")")
    assert base64.b64decode(embedded) == chart.read_bytes()
    assert "| dev |" in meta["latest_week"]

    # a refresh with the same figures sends the same chart, without drawing it again
    drawn = chart.stat().st_mtime_ns
    unchanged = output_metadata(refresh(project, database), "deployment_metrics")
    assert unchanged["chart_digest"] == meta["chart_digest"]
    assert unchanged["charts"] == meta["charts"] and chart.stat().st_mtime_ns == drawn
