"""Delivery metrics — the four DORA measures per environment and week — computed from the
audit tables, and the commits each successful deployment delivered (read from git).

The definitions (docs/audit.md says the same, with the edge cases):

- a **deployment** is a finished ``deploy_<env>`` run that reached ARM (its deploy step
  started: ``deployment_name`` is set) and ended in success or failure; runs stopped at lint,
  plan or gate changed nothing and are not deployments, canceled runs are left out;
- **deployment frequency**: successful deployments in the week;
- **change lead time**: for each commit a successful deployment delivered to the environment
  for the first time, the deployment's end minus the commit's committer time; the week's
  median over the commits delivered in it;
- **change failure rate**: failed deployments / deployments in the week;
- **failed deployment recovery time** (time to restore): from a failed deployment that
  follows a success (or opens the environment's history) to the next successful deployment;
  consecutive failures are one outage. A failed run whose rollback restored health
  (``rollback = 'restored'``) restores at its own end (an outage of its own from the run's
  start, or the end of one already going on). Counted in the week the outage began; an outage
  not restored yet counts as ``unrestored_failures`` and in no median.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from .git_history import GitHistory
from .schemas import Column, TableSpec

DEPLOYED_COMMITS = TableSpec(
    "deployed_commits",
    "Each commit a successful deployment delivered, with its committer time from git and the "
    "lead time to that deployment.",
    tuple(
        Column(*c)
        for c in (
            ("environment", "VARCHAR", "environment (parameters/<env>.yaml)"),
            ("run_id", "VARCHAR", "the successful deploy run"),
            ("deployed_at", "TIMESTAMPTZ", "end of that run"),
            ("commit_sha", "VARCHAR", "a commit it delivered (null: the run had no git sha)"),
            ("is_head", "BOOLEAN", "the commit the run deployed (its bicep_assets/git_sha)"),
            ("committed_at", "TIMESTAMPTZ", "committer time from git (null: git does not know it)"),
            ("first_delivery", "BOOLEAN", "no earlier deployment delivered it to the environment"),
            ("lead_time_s", "DOUBLE", "deployed_at - committed_at, for a first delivery"),
        )
    ),
)

DEPLOYMENT_METRICS = TableSpec(
    "deployment_metrics",
    "The four DORA measures per environment and week: deployment frequency, change lead time, "
    "change failure rate, time to restore.",
    tuple(
        Column(*c)
        for c in (
            ("environment", "VARCHAR", "environment (parameters/<env>.yaml)"),
            ("week", "TIMESTAMPTZ", "the week's Monday, 00:00 UTC"),
            ("deployments", "BIGINT", "deploy runs that reached ARM and succeeded or failed"),
            ("successful_deployments", "BIGINT", "deployment frequency: those that succeeded"),
            ("failed_deployments", "BIGINT", "those that failed (deploy or verify)"),
            ("change_failure_rate", "DOUBLE", "failed / deployments (null: no deployments)"),
            ("changes", "BIGINT", "commits delivered to the environment for the first time"),
            ("lead_time_median_s", "DOUBLE", "median change lead time of those commits"),
            ("lead_time_max_s", "DOUBLE", "the longest of them"),
            ("failures_restored", "BIGINT", "outages begun this week and restored since"),
            ("time_to_restore_median_s", "DOUBLE", "median time to restore of those outages"),
            ("unrestored_failures", "BIGINT", "outages begun this week not restored yet"),
        )
    ),
)

# the columns of deployment_runs the metrics read
RUN_COLUMNS = [
    *("run_id", "environment", "kind", "status", "git_sha", "started_at", "ended_at"),
    *("deployment_name", "rollback"),
]


def week_of(times: pd.Series) -> pd.Series:
    """The Monday 00:00 UTC starting each timestamp's ISO week."""
    utc = pd.to_datetime(times, utc=True)
    return utc.dt.normalize() - pd.to_timedelta(utc.dt.dayofweek, unit="D")


def deployments_of(runs: pd.DataFrame) -> pd.DataFrame:
    """The deployments among ``runs`` (see the module's definitions), oldest first."""
    picked = runs[
        (runs["kind"] == "deploy")
        & runs["status"].isin(["success", "failure"])
        & runs["deployment_name"].notna()
    ]
    return picked.sort_values(["environment", "ended_at", "run_id"], kind="stable")


@dataclass(frozen=True)
class CommitsRead:
    frame: pd.DataFrame  # rows of the deployments not read before
    deployments: int  # how many successful deployments were read
    git: str  # "available", or why not


def deployed_commit_rows(
    runs: pd.DataFrame, previous: pd.DataFrame | None, git: GitHistory
) -> CommitsRead:
    """The ``deployed_commits`` rows of the successful deployments ``previous`` lacks.

    A deployment's commits are those reachable from its sha and not from the sha of the
    environment's previous successful deployment (its head alone for the environment's first
    deployment, a redeploy or a rollback)."""
    done = set(previous["run_id"]) if previous is not None else set()
    delivered: dict[str, set[str]] = {}
    if previous is not None:
        firsts = previous[previous["first_delivery"].fillna(False).astype(bool)]
        for env, sha in zip(firsts["environment"], firsts["commit_sha"], strict=True):
            if isinstance(sha, str):
                delivered.setdefault(env, set()).add(sha)
    successes = deployments_of(runs)
    successes = successes[successes["status"] == "success"]
    pending: list[tuple[str, str, pd.Timestamp, str | None, list[str]]] = []
    last_sha: dict[str, str | None] = {}
    for run_id, env, ended_at, sha in zip(
        successes["run_id"],
        successes["environment"],
        successes["ended_at"],
        successes["git_sha"],
        strict=True,
    ):
        sha = sha if isinstance(sha, str) and sha else None
        if run_id not in done:
            commits = git.delivered(sha, last_sha.get(env)) if sha else []
            pending.append((run_id, env, ended_at, sha, commits))
        if sha:
            last_sha[env] = sha
    times = git.commit_times(c for *_, commits in pending for c in commits)
    rows = []
    for run_id, env, ended_at, sha, commits in pending:
        if sha is None:
            rows.append((env, run_id, ended_at, None, True, None, False, None))
            continue
        seen = delivered.setdefault(env, set())
        for commit in commits:
            first = commit not in seen
            seen.add(commit)
            committed = times.get(commit)
            lead = (ended_at - committed).total_seconds() if first and committed else None
            rows.append((env, run_id, ended_at, commit, commit == sha, committed, first, lead))
    reason = "available" if git.available else f"{git.folder} is not a git repository"
    return CommitsRead(DEPLOYED_COMMITS.frame(rows), len(pending), reason)


@dataclass(frozen=True)
class Outage:
    environment: str
    began_at: pd.Timestamp  # end of the failed deployment that began it
    restored_at: pd.Timestamp | None  # end of the next successful deployment


def outages(deployments: pd.DataFrame) -> list[Outage]:
    """Failed deployments that follow a success (or open the history), with the success that
    restored each; consecutive failures are one outage."""
    found: list[Outage] = []
    for env, group in deployments.groupby("environment", sort=True):
        began: pd.Timestamp | None = None
        for status, started_at, ended_at, rollback in zip(
            group["status"], group["started_at"], group["ended_at"], group["rollback"], strict=True
        ):
            if status == "failure" and began is None and rollback == "restored":
                # verify failed and the run's rollback restored the last verified deployment:
                # the outage lay within the run
                found.append(Outage(str(env), started_at, ended_at))
            elif status == "failure" and began is None:
                began = ended_at
            elif began is not None and (status == "success" or rollback == "restored"):
                found.append(Outage(str(env), began, ended_at))  # ends the outage going on
                began = None
        if began is not None:
            found.append(Outage(str(env), began, None))
    return found


def metrics_frame(runs: pd.DataFrame, commits: pd.DataFrame, *, now: pd.Timestamp) -> pd.DataFrame:
    """``deployment_metrics``: a row per environment and week, from the week of the
    environment's first deployment to the week of ``now`` (weeks without deployments too)."""
    deployments = deployments_of(runs).copy()
    if deployments.empty:
        return DEPLOYMENT_METRICS.frame([])
    deployments["week"] = week_of(deployments["ended_at"])
    current = week_of(pd.Series([now]))[0]
    keys = [
        (env, week)
        for env, first in deployments.groupby("environment")["week"].min().items()
        for week in pd.date_range(first, max(first, current), freq="7D", tz="UTC")
    ]
    frame = pd.DataFrame(keys, columns=["environment", "week"]).set_index(["environment", "week"])
    by_week = deployments.groupby(["environment", "week"])["status"]
    frame["deployments"] = by_week.size()
    frame["successful_deployments"] = by_week.apply(lambda s: int((s == "success").sum()))
    frame["failed_deployments"] = by_week.apply(lambda s: int((s == "failure").sum()))
    counts = ["deployments", "successful_deployments", "failed_deployments"]
    frame[counts] = frame[counts].fillna(0)
    frame["change_failure_rate"] = (frame["failed_deployments"] / frame["deployments"]).where(
        frame["deployments"] > 0
    )
    firsts = commits[commits["first_delivery"].fillna(False).astype(bool)].copy()
    firsts["week"] = week_of(firsts["deployed_at"])
    delivered = firsts.groupby(["environment", "week"])
    frame["changes"] = delivered.size()
    frame["changes"] = frame["changes"].fillna(0)
    lead = firsts.dropna(subset=["lead_time_s"]).groupby(["environment", "week"])["lead_time_s"]
    frame["lead_time_median_s"] = lead.median()
    frame["lead_time_max_s"] = lead.max()
    found = outages(deployments)
    restore = pd.DataFrame(
        [
            (
                o.environment,
                o.began_at,
                None if o.restored_at is None else (o.restored_at - o.began_at).total_seconds(),
            )
            for o in found
        ],
        columns=["environment", "began_at", "seconds"],
    )
    if not restore.empty:
        restore["week"] = week_of(restore["began_at"])
        restore["seconds"] = restore["seconds"].astype("float64")
        grouped = restore.groupby(["environment", "week"])["seconds"]
        frame["failures_restored"] = grouped.count()
        frame["time_to_restore_median_s"] = grouped.median()
        frame["unrestored_failures"] = grouped.apply(lambda s: int(s.isna().sum()))
    for column in ("failures_restored", "unrestored_failures"):
        frame[column] = frame.get(column, pd.Series(dtype="float64")).reindex(frame.index)
        frame[column] = frame[column].fillna(0)
    frame = frame.reindex(frame.index)  # every (environment, week), in order
    return DEPLOYMENT_METRICS.coerce(frame.reset_index())


def environments_in(frame: pd.DataFrame) -> Iterable[str]:
    return sorted(set(frame["environment"]))
