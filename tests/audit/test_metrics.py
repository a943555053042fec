"""Delivery metrics from a generated history with known answers: deployment runs written as
the deployment_runs table holds them, and a real git repository whose commits have fixed
committer times. Every expected figure below was computed by hand (see the comments)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from bicep_assets.audit.git_history import GitHistory
from bicep_assets.audit.metrics import (
    DEPLOYED_COMMITS,
    DEPLOYMENT_METRICS,
    deployed_commit_rows,
    metrics_frame,
)
from bicep_assets.audit.schemas import DEPLOYMENT_RUNS, TableSpec
from tests.test_docs import documented_columns

H = 3600.0
COMMITS = {  # name: committer time (UTC)
    "c1": "2026-03-02T08:00:00Z",  # week 1 (Monday 2 March)
    "c2": "2026-03-03T09:00:00Z",
    "c3": "2026-03-03T10:00:00Z",
    "c4": "2026-03-10T12:00:00Z",  # week 2
    "c5": "2026-03-24T06:00:00Z",  # week 4
}
NOW = pd.Timestamp("2026-03-26T12:00:00Z")  # week 4; week 3 has no deployment at all


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A git repository with the commits c1..c5 in a line, committed at the times above."""
    root = tmp_path_factory.mktemp("metrics-repo")
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.test",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.test"}  # fmt: skip
    subprocess.run(["git", "init", "-q", str(root)], check=True, env=env)
    shas = {}
    for name, when in COMMITS.items():
        (root / "change.txt").write_text(name, encoding="utf-8")
        dated = {**env, "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
        subprocess.run(["git", "-C", str(root), "add", "."], check=True, env=dated)
        subprocess.run(["git", "-C", str(root), "commit", "-qm", name], check=True, env=dated)
        shas[name] = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], check=True, capture_output=True,
            text=True,
        ).stdout.strip()  # fmt: skip
    return root, shas


def run(run_id, env, status, ended, sha=None, *, deployed=True, kind="deploy"):
    return {
        "run_id": run_id, "environment": env, "kind": kind, "job": f"{kind}_{env}",
        "status": status, "git_sha": sha, "ended_at": pd.Timestamp(ended),
        "deployment_name": f"{env}-{run_id}" if deployed else None,
    }  # fmt: skip


def history(shas: dict[str, str]) -> pd.DataFrame:
    c = shas
    rows = [
        # prod, week 1
        run("r1", "prod", "success", "2026-03-02T10:00Z", c["c1"]),  # first: c1, 2 h
        run("r2", "prod", "failure", "2026-03-03T11:00Z", c["c3"], deployed=False),  # lint
        run("r3", "prod", "success", "2026-03-03T12:00Z", c["c3"]),  # c3 2 h, c2 3 h
        run("p1", "prod", "success", "2026-03-03T13:00Z", c["c3"], kind="plan"),  # a plan
        # prod, week 2: an outage of two failures, restored after 24 h by r6
        run("r4", "prod", "failure", "2026-03-10T14:00Z", c["c4"]),  # deploy failed
        run("r5", "prod", "failure", "2026-03-10T15:00Z", c["c4"]),  # verify failed
        run("r6", "prod", "success", "2026-03-11T14:00Z", c["c4"]),  # c4: 26 h
        run("r7", "prod", "success", "2026-03-11T16:00Z", c["c4"]),  # redeploy: no change
        # prod, week 4: a failure never restored, and a canceled run
        run("r8", "prod", "failure", "2026-03-24T08:00Z", c["c5"]),
        run("r9", "prod", "canceled", "2026-03-24T09:00Z", c["c5"]),
        # dev, week 2: a deployment without a git sha, then a failure restored in week 4
        run("d1", "dev", "success", "2026-03-09T09:00Z", None),
        run("d2", "dev", "failure", "2026-03-09T10:00Z", c["c4"]),
        run("d3", "dev", "success", "2026-03-25T06:00Z", c["c5"]),  # c5: 24 h
    ]
    return DEPLOYMENT_RUNS.coerce(pd.DataFrame(rows))


def test_the_commits_each_deployment_delivered(repo: tuple[Path, dict[str, str]]) -> None:
    root, shas = repo
    name = {sha: n for n, sha in shas.items()}
    read = deployed_commit_rows(history(shas), None, GitHistory(root))
    assert (read.deployments, read.git) == (6, "available")
    rows = [
        (r.run_id, name.get(r.commit_sha), bool(r.is_head), bool(r.first_delivery),
         None if pd.isna(r.lead_time_s) else r.lead_time_s)
        for r in read.frame.itertuples()
    ]  # fmt: skip
    assert rows == [  # environment by environment, oldest first; newest commit first
        ("d1", None, True, False, None),  # no git sha: no commit, no lead time
        ("d3", "c5", True, True, 24 * H),  # dev's first deployment with a sha: c5 alone
        ("r1", "c1", True, True, 2 * H),  # prod's first deployment: its head alone
        ("r3", "c3", True, True, 2 * H),  # c3 ^c1: c3 and c2
        ("r3", "c2", False, True, 3 * H),
        ("r6", "c4", True, True, 26 * H),  # after the failures r4 and r5
        ("r7", "c4", True, False, None),  # a redeploy delivers nothing new
    ]
    committed = read.frame.set_index("commit_sha")["committed_at"].dropna().to_dict()
    assert committed[shas["c2"]] == pd.Timestamp(COMMITS["c2"])


def test_commits_are_read_incrementally(repo: tuple[Path, dict[str, str]]) -> None:
    root, shas = repo
    runs = history(shas)
    early = runs[runs["ended_at"] < pd.Timestamp("2026-03-11T15:00Z")]
    first = deployed_commit_rows(early, None, GitHistory(root))
    second = deployed_commit_rows(runs, first.frame, GitHistory(root))
    assert (first.deployments, second.deployments) == (4, 2)  # r1 r3 r6 d1, then r7 d3
    assert set(second.frame["run_id"]) == {"r7", "d3"}
    assert second.frame.set_index("run_id").loc["r7", "first_delivery"] == False  # noqa: E712
    whole = deployed_commit_rows(runs, None, GitHistory(root)).frame
    merged = pd.concat([first.frame, second.frame]).sort_values(["run_id", "commit_sha"])
    pd.testing.assert_frame_equal(
        merged.reset_index(drop=True),
        whole.sort_values(["run_id", "commit_sha"]).reset_index(drop=True),
    )


def test_without_a_repository_the_commits_have_no_time(tmp_path: Path) -> None:
    read = deployed_commit_rows(history({f"c{i}": f"{i}" * 40 for i in range(1, 6)}), None,
                                GitHistory(tmp_path))  # fmt: skip
    assert read.git == f"{tmp_path} is not a git repository"
    assert read.frame["committed_at"].isna().all() and read.frame["lead_time_s"].isna().all()


def test_the_four_measures_per_environment_and_week(repo: tuple[Path, dict[str, str]]) -> None:
    root, shas = repo
    runs = history(shas)
    commits = deployed_commit_rows(runs, None, GitHistory(root)).frame
    frame = metrics_frame(runs, commits, now=NOW)
    assert list(frame.columns) == DEPLOYMENT_METRICS.column_names
    got = {
        (r.environment, r.week.strftime("%m-%d")): tuple(
            None if pd.isna(v) else v for v in list(r)[3:]
        )
        for r in frame.itertuples()
    }
    nan = None
    # deployments, successful, failed, change failure rate, changes, lead median, lead max,
    # restored, time to restore median, unrestored
    assert got == {
        ("dev", "03-09"): (2, 1, 1, 0.5, 0, nan, nan, 1, 15 * 24 * H + 20 * H, 0),
        ("dev", "03-16"): (0, 0, 0, nan, 0, nan, nan, 0, nan, 0),
        ("dev", "03-23"): (1, 1, 0, 0.0, 1, 24 * H, 24 * H, 0, nan, 0),
        ("prod", "03-02"): (2, 2, 0, 0.0, 3, 2 * H, 3 * H, 0, nan, 0),
        ("prod", "03-09"): (4, 2, 2, 0.5, 1, 26 * H, 26 * H, 1, 24 * H, 0),
        ("prod", "03-16"): (0, 0, 0, nan, 0, nan, nan, 0, nan, 0),
        ("prod", "03-23"): (1, 0, 1, 1.0, 0, nan, nan, 0, nan, 1),
    }


def test_no_deployments_gives_no_rows() -> None:
    runs = DEPLOYMENT_RUNS.coerce(pd.DataFrame([run("x", "dev", "failure", "2026-03-02T10:00Z",
                                                    deployed=False)]))  # fmt: skip
    commits = deployed_commit_rows(runs, None, GitHistory(Path("/nonexistent"))).frame
    assert metrics_frame(runs, commits, now=NOW).empty


@pytest.mark.parametrize("spec", [DEPLOYED_COMMITS, DEPLOYMENT_METRICS], ids=lambda s: s.name)
def test_the_audit_page_lists_the_metrics_tables_columns(spec: TableSpec) -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "audit.md").read_text(encoding="utf-8")
    assert documented_columns(page, spec.name) == spec.column_names


def test_a_rollback_that_restored_health_ends_the_outage() -> None:
    """Verify failed and the run rolled back to the last verified deployment, healthy again:
    the outage lay within the run (its start to its end); a failure before it had begun one
    that the rollback ends."""

    def rolled(run_id: str, started: str, ended: str) -> dict[str, object]:
        return {
            **run(run_id, "stage", "failure", ended),
            "started_at": pd.Timestamp(started),
            "rollback": "restored",
        }

    runs = DEPLOYMENT_RUNS.coerce(
        pd.DataFrame(
            [
                run("s1", "stage", "success", "2026-03-02T09:00Z"),
                rolled("s2", "2026-03-02T10:00Z", "2026-03-02T10:30Z"),
                run("s3", "stage", "failure", "2026-03-03T10:00Z"),  # ARM failed it
                rolled("s4", "2026-03-03T11:00Z", "2026-03-03T12:00Z"),
            ]
        )
    )
    commits = deployed_commit_rows(runs, None, GitHistory(Path("/nonexistent"))).frame
    row = next(metrics_frame(runs, commits, now=NOW).itertuples())  # the week of 03-02
    assert (row.failures_restored, row.unrestored_failures) == (2, 0)
    assert row.time_to_restore_median_s == (0.5 * H + 2 * H) / 2
