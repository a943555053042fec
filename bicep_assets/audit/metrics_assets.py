"""The delivery metrics assets, in the audit group (so ``audit_refresh`` materializes them
after the history tables): ``audit/deployed_commits``, incremental — only the successful
deployments it has not read yet are looked up in git, and their rows replace any earlier rows
of the same runs — and ``audit/deployment_metrics``, computed from it and
``audit/deployment_runs`` like ``environment_status``, with its charts."""

import base64
import hashlib
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pandas as pd

from ..project import find_project_dir
from .assets import GROUP, IO_MANAGER_KEY, table_key
from .charts import render_metrics_chart, write_chart
from .checks import SECRETS_CHECK, SecureValues, check_spec
from .git_history import GitHistory
from .metrics import (
    DEPLOYED_COMMITS,
    DEPLOYMENT_METRICS,
    RUN_COLUMNS,
    deployed_commit_rows,
    metrics_frame,
)
from .storage import MERGE_KEY, AuditTables

CHART_FILE = "deployment_metrics.png"  # beside the DuckDB file
CHART_DIGEST_KEY = "chart_digest"
METRICS_TABLES = {t.name: t for t in (DEPLOYED_COMMITS, DEPLOYMENT_METRICS)}


def chart_path(tables: AuditTables) -> Path:
    return tables.path.with_name(CHART_FILE)


def metrics_assets(project_dir: Path | None = None) -> list[dg.AssetsDefinition]:
    """``project_dir`` (default: found when a refresh runs) is the git repository the commit
    times are read from, and holds the manifests whose secure values the checks look for."""
    runs_in = dg.AssetIn(table_key("deployment_runs"), metadata={"columns": RUN_COLUMNS})
    commits_key = table_key(DEPLOYED_COMMITS.name)
    metrics_key = table_key(DEPLOYMENT_METRICS.name)

    @dg.asset(
        key=commits_key,
        ins={"deployment_runs": runs_in},
        io_manager_key=IO_MANAGER_KEY,
        group_name=GROUP,
        description=DEPLOYED_COMMITS.description,
        metadata={
            "dagster/column_schema": DEPLOYED_COMMITS.column_schema(),
            MERGE_KEY: "run_id",
        },
        check_specs=[check_spec(SECRETS_CHECK, commits_key)],
        required_resource_keys={IO_MANAGER_KEY},
        kinds={"duckdb", "pandas", "git"},
    )
    def deployed_commits(
        context: dg.AssetExecutionContext, deployment_runs: pd.DataFrame
    ) -> Iterator[dg.Output[pd.DataFrame] | dg.AssetCheckResult]:
        """The commits each successful deployment delivered, with their times from git: read
        for the deployments not read before (lead time's input)."""
        tables: AuditTables = getattr(context.resources, IO_MANAGER_KEY)
        folder = project_dir or find_project_dir()
        previous = None
        if tables.table_columns().get(DEPLOYED_COMMITS.name) == DEPLOYED_COMMITS.column_names:
            previous = tables.read_tables([DEPLOYED_COMMITS.name])[DEPLOYED_COMMITS.name]
        read = deployed_commit_rows(deployment_runs, previous, GitHistory(folder))
        refresh = "incremental" if previous is not None else "full"
        context.log.info(
            f"Deployed commits ({refresh}): {read.deployments} successful deployment(s) read, "
            f"{len(read.frame)} commit row(s); git: {read.git}."
        )
        yield dg.Output(
            read.frame,
            metadata={"refresh": refresh, "deployments_read": read.deployments, "git": read.git},
        )
        secrets = SecureValues(folder)
        with tables.read_only() as connection:
            result = secrets.check(connection, DEPLOYED_COMMITS.name, commits_key, DEPLOYED_COMMITS)
        yield result

    @dg.asset(
        key=metrics_key,
        ins={"deployment_runs": runs_in, "deployed_commits": dg.AssetIn(commits_key)},
        io_manager_key=IO_MANAGER_KEY,
        group_name=GROUP,
        description=DEPLOYMENT_METRICS.description,
        metadata={"dagster/column_schema": DEPLOYMENT_METRICS.column_schema()},
        check_specs=[check_spec(SECRETS_CHECK, metrics_key)],
        required_resource_keys={IO_MANAGER_KEY},
        kinds={"duckdb", "pandas"},
    )
    def deployment_metrics(
        context: dg.AssetExecutionContext,
        deployment_runs: pd.DataFrame,
        deployed_commits: pd.DataFrame,
    ) -> Iterator[dg.Output[pd.DataFrame] | dg.AssetCheckResult]:
        """Per environment and week, the four DORA measures — deployment frequency, change
        lead time, change failure rate, time to restore — with charts on this page."""
        tables: AuditTables = getattr(context.resources, IO_MANAGER_KEY)
        frame = metrics_frame(
            deployment_runs, DEPLOYED_COMMITS.coerce(deployed_commits), now=pd.Timestamp.now("UTC")
        )
        digest = frame_digest(frame)
        path = chart_path(tables)
        if previous_chart_digest(context.instance, metrics_key) == digest and path.is_file():
            png = path.read_bytes()  # the same figures as last time: the same chart
        else:
            png = render_metrics_chart(frame)
            write_chart(png, path)
        image = base64.b64encode(png).decode("ascii")
        yield dg.Output(
            frame,
            metadata={
                "charts": dg.MetadataValue.md(
                    f"![Delivery metrics](data:image/png;base64,{image})"
                ),
                "chart_file": dg.MetadataValue.path(str(path)),
                CHART_DIGEST_KEY: digest,
                "environments": len(set(frame["environment"])),
                "weeks": int(frame["week"].nunique()) if not frame.empty else 0,
                "latest_week": dg.MetadataValue.md(latest_week(frame)),
            },
        )
        secrets = SecureValues(project_dir or find_project_dir())
        with tables.read_only() as connection:
            result = secrets.check(
                connection, DEPLOYMENT_METRICS.name, metrics_key, DEPLOYMENT_METRICS
            )
        yield result

    return [deployed_commits, deployment_metrics]


def frame_digest(frame: pd.DataFrame) -> str:
    """A fingerprint of the metrics a chart draws (the chart is drawn again when it changes)."""
    return hashlib.sha256(frame.to_csv(index=False).encode()).hexdigest()[:16]


def previous_chart_digest(instance: dg.DagsterInstance, key: dg.AssetKey) -> str | None:
    event = instance.get_latest_materialization_event(key)
    materialization = event.asset_materialization if event is not None else None
    value = materialization.metadata.get(CHART_DIGEST_KEY) if materialization else None
    return value.value if value is not None and isinstance(value.value, str) else None


def latest_week(frame: pd.DataFrame) -> str:
    """The current week per environment as a markdown table (what the charts end with)."""
    if frame.empty:
        return "No deployments yet."
    lines = [
        "| environment | week | deployments | succeeded | change failure rate | "
        "lead time (median) | time to restore (median) | unrestored |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for env, rows in frame.sort_values("week").groupby("environment"):
        row = rows.iloc[-1]
        rate = "-" if pd.isna(row.change_failure_rate) else f"{100 * row.change_failure_rate:.0f} %"
        lines.append(
            f"| {env} | {row.week:%Y-%m-%d} | {row.deployments} | {row.successful_deployments} "
            f"| {rate} | {_hours(row.lead_time_median_s)} | "
            f"{_hours(row.time_to_restore_median_s)} | {row.unrestored_failures} |"
        )
    return "\n".join(lines)


def _hours(seconds: object) -> str:
    if seconds is None or pd.isna(seconds):  # type: ignore[arg-type]
        return "-"
    value = float(seconds)  # type: ignore[arg-type]
    return f"{value / 3600:.1f} h" if value >= 3600 else f"{value / 60:.0f} min"
