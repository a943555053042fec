"""The analysts' ready queries, exactly as the README shows them (tests and the benchmark run
these strings). Each runs as it is in the duckdb CLI or through the duckdb Python API."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import duckdb
import pandas as pd


class Query(NamedTuple):
    name: str
    title: str
    sql: str
    variables: tuple[str, ...] = ()  # SET VARIABLE name = '…' before running it


SUCCESS_RATE = Query(
    "success_rate",
    "Success rate per environment per week",
    """\
SELECT environment,
       CAST(date_trunc('week', ended_at) AS DATE) AS week,
       count(*) AS deployments,
       count(*) FILTER (WHERE status = 'success') AS succeeded,
       round(100.0 * count(*) FILTER (WHERE status = 'success') / count(*), 1) AS success_pct
FROM audit.deployment_runs
WHERE kind = 'deploy'
GROUP BY ALL
ORDER BY environment, week;""",
)

MEAN_TIME_TO_RECOVERY = Query(
    "mean_time_to_recovery",
    "Mean time to recovery: from the first failed deployment after a success to the next "
    "successful one",
    """\
WITH deploys AS (
    SELECT environment, status, ended_at,
           max(CASE WHEN status = 'success' THEN ended_at END) OVER (
               PARTITION BY environment ORDER BY ended_at
               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS previous_success
    FROM audit.deployment_runs
    WHERE kind = 'deploy' AND status IN ('success', 'failure')
), outages AS (
    SELECT environment, min(ended_at) AS failed_at
    FROM deploys
    WHERE status = 'failure'
    GROUP BY environment, previous_success
), recoveries AS (
    SELECT o.environment, o.failed_at, s.ended_at AS recovered_at
    FROM outages o
    ASOF JOIN (SELECT environment, ended_at FROM deploys WHERE status = 'success') s
      ON o.environment = s.environment AND o.failed_at <= s.ended_at
)
SELECT environment,
       count(*) AS recoveries,
       round(avg(epoch(recovered_at) - epoch(failed_at)), 1) AS mean_time_to_recovery_s,
       round(max(epoch(recovered_at) - epoch(failed_at)), 1) AS longest_s
FROM recoveries
GROUP BY environment
ORDER BY environment;""",
)

FAILURE_CODES = Query(
    "failure_codes",
    "Most frequent failure codes (failed runs and retried attempts)",
    """\
SELECT source, failure_kind, arm_code,
       count(*) AS occurrences,
       count(DISTINCT environment) AS environments,
       max(seen_at) AS last_seen
FROM (
    SELECT 'failed run' AS source, failure_kind, coalesce(arm_code, '(none)') AS arm_code,
           environment, ended_at AS seen_at
    FROM audit.deployment_runs
    WHERE status = 'failure'
    UNION ALL
    SELECT 'retried attempt', failure_kind, coalesce(arm_code, '(none)'), environment, timestamp
    FROM audit.deployment_events
    WHERE event_type = 'STEP_UP_FOR_RETRY'
)
GROUP BY ALL
ORDER BY occurrences DESC, arm_code
LIMIT 20;""",
)

CHANGES_TO_RESOURCE = Query(
    "changes_to_resource",
    "Every change to a given resource (set the variable resource_id first)",
    """\
SELECT r.ended_at, c.environment, c.run_id, r.job, r.git_sha, r.trigger, r.launched_by,
       c.change_type, c.changed_paths, c.applied, r.status
FROM audit.planned_changes c
JOIN audit.deployment_runs r ON r.run_id = c.run_id
WHERE lower(c.resource_id) = lower(getvariable('resource_id'))
  AND c.change_type NOT IN ('NoChange', 'Ignore')
ORDER BY r.ended_at;""",
    ("resource_id",),
)

DESTRUCTIVE_DEPLOYMENTS = Query(
    "destructive_deployments",
    "Deployments with destructive changes (blocked by the gate or approved)",
    """\
SELECT r.ended_at, r.environment, r.run_id, r.status, r.git_sha, r.trigger, r.launched_by,
       r.deletes, r.destructive_approved, r.allow_destructive_config,
       list(c.resource_id ORDER BY c.resource_id) AS deleted_resources
FROM audit.deployment_runs r
JOIN audit.planned_changes c ON c.run_id = r.run_id AND c.change_type = 'Delete'
WHERE r.kind = 'deploy'
GROUP BY ALL
ORDER BY r.ended_at DESC;""",
)

PLAN_REVIEWS = Query(
    "plan_reviews",
    "Saved plans and the deployments that applied them (or were refused)",
    """\
SELECT p.created_at, p.environment, p.plan_id, p.job, p.git_sha,
       p.creates, p.modifies, p.deletes,
       r.run_id AS deploy_run_id, r.status, r.applied, r.arm_code, r.ended_at
FROM audit.plans p
LEFT JOIN audit.deployment_runs r ON r.approved_plan = p.plan_id AND r.kind = 'deploy'
ORDER BY p.created_at, r.ended_at;""",
)

PLAN_PROPERTIES = Query(
    "plan_properties",
    "What a plan changes, property by property (set the variable plan_id first)",
    """\
SELECT resource_id, resource_change_type, path, change_type, before, after
FROM audit.planned_properties
WHERE plan_id = getvariable('plan_id')
ORDER BY resource_id, path;""",
    ("plan_id",),
)

QUERIES: dict[str, Query] = {
    q.name: q
    for q in (
        SUCCESS_RATE,
        MEAN_TIME_TO_RECOVERY,
        FAILURE_CODES,
        CHANGES_TO_RESOURCE,
        DESTRUCTIVE_DEPLOYMENTS,
        PLAN_REVIEWS,
        PLAN_PROPERTIES,
    )
}


def run_query(connection: duckdb.DuckDBPyConnection, name: str, **variables: str) -> pd.DataFrame:
    """Run the README query ``name`` on an open connection (read-only is enough)."""
    query = QUERIES[name]
    missing = [v for v in query.variables if v not in variables]
    if missing:
        raise ValueError(
            f"query {name} needs {', '.join(missing)} (e.g. resource_id='/subscriptions/…')"
        )
    for variable, value in variables.items():
        connection.execute(f"SET VARIABLE {variable} = ?", [value])
    return connection.execute(query.sql).df()


def query_database(database: Path, name: str, **variables: str) -> pd.DataFrame:
    """Open ``database`` read-only (safe while Dagster refreshes it) and run query ``name``."""
    with duckdb.connect(str(database), read_only=True) as connection:
        return run_query(connection, name, **variables)


def readme_markdown() -> str:
    """The queries as the README shows them."""
    parts: list[str] = []
    for query in QUERIES.values():
        preamble = "".join(f"SET VARIABLE {v} = '…';\n" for v in query.variables)
        parts.append(f"**{query.title}** (`{query.name}`):\n\n```sql\n{preamble}{query.sql}\n```\n")
    return "\n".join(parts)
