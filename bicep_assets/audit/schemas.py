"""The audit tables: columns, DuckDB types, descriptions and the pandas dtypes that
match them. The IO manager creates each table from its ``dagster/column_schema``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import dagster as dg
import pandas as pd

PANDAS_DTYPES = {
    "VARCHAR": "object",  # what DuckDB hands back: no conversion when tables are read
    "BIGINT": "Int64",
    "BOOLEAN": "boolean",
    "DOUBLE": "float64",
    "TIMESTAMPTZ": "datetime64[us, UTC]",
    "VARCHAR[]": "object",
}


class Column(NamedTuple):
    name: str
    sql_type: str  # the DuckDB type the table is created with
    description: str


def _as_list(value: object) -> list[str] | None:
    if isinstance(value, list) or value is None:
        return value
    if pd.api.types.is_scalar(value) and pd.isna(value):
        return None
    return [str(v) for v in value]  # type: ignore[attr-defined]


class TableSpec(NamedTuple):
    name: str
    description: str
    columns: tuple[Column, ...]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column_schema(self) -> dg.TableSchema:
        """The ``dagster/column_schema`` metadata of the asset."""
        return dg.TableSchema(
            columns=[
                dg.TableColumn(c.name, c.sql_type, description=c.description) for c in self.columns
            ]
        )

    def frame(self, rows: Sequence[Sequence[object]]) -> pd.DataFrame:
        """Rows (tuples in column order) as a DataFrame with this table's dtypes."""
        return self.coerce(pd.DataFrame.from_records(list(rows), columns=self.column_names))

    def coerce(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` with exactly this table's columns, in order, and dtypes (DuckDB hands
        back plain numpy/object dtypes)."""
        out = pd.DataFrame(index=frame.index)
        for column in self.columns:
            if column.name in frame:
                values = frame[column.name]
            else:
                values = pd.Series(None, index=frame.index, dtype="object")
            dtype = PANDAS_DTYPES[column.sql_type]
            if str(values.dtype) == dtype and column.sql_type not in ("VARCHAR", "VARCHAR[]"):
                out[column.name] = values
            elif column.sql_type == "VARCHAR":
                out[column.name] = values.astype(object).where(values.notna(), None)
            elif column.sql_type == "TIMESTAMPTZ":
                out[column.name] = pd.to_datetime(values, utc=True).astype(dtype)
            elif column.sql_type == "VARCHAR[]":
                out[column.name] = [_as_list(v) for v in values]
            elif column.sql_type == "BOOLEAN":
                out[column.name] = values.astype("object").where(values.notna(), None).astype(dtype)
            else:
                out[column.name] = values.astype(dtype)
        return out.reset_index(drop=True)


def _table(name: str, description: str, *columns: tuple[str, str, str]) -> TableSpec:
    return TableSpec(name, description, tuple(Column(*c) for c in columns))


_RUN_ID = ("run_id", "VARCHAR", "Dagster run id")
_ENV = ("environment", "VARCHAR", "environment (parameters/<env>.yaml)")
_JOB = ("job", "VARCHAR", "deploy_<env> or plan_<env>")

DEPLOYMENT_RUNS = _table(
    "deployment_runs",
    "One row per finished run of a deploy/plan job: who, what, where, from which commit, "
    "what the plan said, what happened and why it failed.",
    _RUN_ID,
    _ENV,
    _JOB,
    ("kind", "VARCHAR", "deploy or plan"),
    ("trigger", "VARCHAR", "ui, schedule, sensor or cli"),
    ("trigger_name", "VARCHAR", "the schedule's or sensor's name"),
    ("launched_by", "VARCHAR", "user tag (dagster/user or bicep_assets/launched_by)"),
    ("parent_run_id", "VARCHAR", "the run this one re-executes"),
    ("git_sha", "VARCHAR", "commit deployed (run tag bicep_assets/git_sha)"),
    ("template", "VARCHAR", "template path as written in the manifest"),
    ("template_hash", "VARCHAR", "ARM template hash"),
    ("parameters_hash", "VARCHAR", "hash of parameter values and secure references"),
    ("target", "VARCHAR", "local or azure"),
    ("scope_kind", "VARCHAR", "resourceGroup, subscription, managementGroup or tenant"),
    ("scope_id", "VARCHAR", "ARM id of the scope deployed to (/ for the tenant)"),
    ("status", "VARCHAR", "success, failure or canceled"),
    ("failed_step", "VARCHAR", "lint, plan, gate, deploy or verify"),
    ("failure_kind", "VARCHAR", "logic or environmental"),
    ("arm_code", "VARCHAR", "ARM error code (or check code) of the failure"),
    ("arm_message", "VARCHAR", "ARM error message of the failure"),
    ("http_status", "BIGINT", "HTTP status of the failure, when ARM answered one"),
    ("retries", "BIGINT", "environmental retries (STEP_UP_FOR_RETRY) in the run"),
    ("started_at", "TIMESTAMPTZ", "run start"),
    ("ended_at", "TIMESTAMPTZ", "run end"),
    ("duration_s", "DOUBLE", "ended_at - started_at in seconds"),
    ("deployment_name", "VARCHAR", "ARM deployment name (<env>-<run id>)"),
    ("deployment_id", "VARCHAR", "ARM deployment resource id"),
    ("stack_id", "VARCHAR", "deployment stack resource id (deployment.stack), else null"),
    ("correlation_id", "VARCHAR", "ARM correlation id"),
    ("creates", "BIGINT", "planned creates"),
    ("modifies", "BIGINT", "planned modifies"),
    ("deletes", "BIGINT", "planned deletes"),
    ("no_change", "BIGINT", "resources planned unchanged"),
    ("destructive", "BOOLEAN", "the plan deleted resources (gate)"),
    ("allow_destructive", "BOOLEAN", "the gate's allow_destructive setting"),
    ("destructive_approved", "BOOLEAN", "deletions passed the gate by allow_destructive"),
    ("allow_destructive_config", "VARCHAR", "the run config that allowed deletions"),
    ("applied", "BOOLEAN", "the ARM deployment succeeded in this run"),
    ("approved_plan", "VARCHAR", "the saved plan the run applied (gate approved_plan)"),
    (
        "rollback",
        "VARCHAR",
        "after a failed verify: restored, unhealthy, failed or no_good_deployment",
    ),
    ("rolled_back_to_run", "VARCHAR", "the verified run whose deployment was redeployed"),
    ("rolled_back_to_git_sha", "VARCHAR", "the commit of that run"),
    ("rollback_deployment", "VARCHAR", "ARM deployment name (<env>-rollback-<run id>)"),
)

DEPLOYMENT_EVENTS = _table(
    "deployment_events",
    "The state transitions of every deployment run (run and step events), in order.",
    _RUN_ID,
    ("seq", "BIGINT", "order within the run (1, 2, …)"),
    _ENV,
    _JOB,
    ("timestamp", "TIMESTAMPTZ", "when it happened"),
    ("step", "VARCHAR", "step key (null for run events)"),
    ("event_type", "VARCHAR", "RUN_START, STEP_FAILURE, STEP_UP_FOR_RETRY, …"),
    ("message", "VARCHAR", "what Dagster said, with the failure's verdict line"),
    ("failure_kind", "VARCHAR", "logic or environmental (failures and retries)"),
    ("arm_code", "VARCHAR", "ARM error code (failures and retries)"),
    ("http_status", "BIGINT", "HTTP status ARM answered (failures and retries)"),
)

PLANNED_CHANGES = _table(
    "planned_changes",
    "Every what-if change of every run's plan.",
    _RUN_ID,
    _ENV,
    _JOB,
    ("resource_id", "VARCHAR", "ARM resource id"),
    ("resource_type", "VARCHAR", "ARM resource type"),
    ("change_type", "VARCHAR", "Create, Modify, Delete, NoChange, Ignore, Unsupported…"),
    ("changed_paths", "VARCHAR[]", "changed property paths"),
    ("applied", "BOOLEAN", "the run's deployment succeeded (the change happened)"),
)

_PLAN_ID = ("plan_id", "VARCHAR", "the plan's id: the run id of the run whose plan step made it")

PLANS = _table(
    "plans",
    "Every saved plan (plans/<env>): what it would change, from which template, parameters "
    "and commit, and when it was made.",
    _PLAN_ID,
    _ENV,
    _JOB,
    ("created_at", "TIMESTAMPTZ", "when the plan was made"),
    ("git_sha", "VARCHAR", "commit planned"),
    ("git_dirty", "BOOLEAN", "the checkout had uncommitted changes"),
    ("target", "VARCHAR", "local or azure"),
    ("template", "VARCHAR", "template path as written in the manifest"),
    ("template_hash", "VARCHAR", "ARM template hash"),
    ("parameters_hash", "VARCHAR", "hash of parameter values and secure references"),
    ("creates", "BIGINT", "planned creates"),
    ("modifies", "BIGINT", "planned modifies"),
    ("deletes", "BIGINT", "planned deletes"),
    ("no_change", "BIGINT", "resources planned unchanged"),
    ("truncated", "BOOLEAN", "some changes' details were left out to bound the record"),
)

PLANNED_PROPERTIES = _table(
    "planned_properties",
    "Every property a saved plan changes: a Create's properties, a Modify's changed paths, a "
    "Delete's last state, with values before and after as JSON; and each write-only value "
    "written again (WriteOnly, by path, without values).",
    _PLAN_ID,
    _ENV,
    ("resource_id", "VARCHAR", "ARM resource id"),
    ("resource_change_type", "VARCHAR", "the resource's change: Create, Modify, Delete…"),
    ("path", "VARCHAR", "property path (properties.siteConfig.alwaysOn, tags.owner, …)"),
    ("change_type", "VARCHAR", "the property's change: Create, Modify, Delete, Array, WriteOnly"),
    ("before", "VARCHAR", "value before, as JSON (null for a Create)"),
    ("after", "VARCHAR", "value after, as JSON (null for a Delete)"),
)

DEPLOYED_RESOURCES = _table(
    "deployed_resources",
    "Each resource ever deployed: first and last deploying run, last provisioning state and "
    "health, and whether a later deployment deleted it.",
    _ENV,
    ("resource_id", "VARCHAR", "ARM resource id (as last deployed)"),
    ("resource_type", "VARCHAR", "ARM resource type"),
    ("first_run_id", "VARCHAR", "first run that deployed it"),
    ("first_deployed_at", "TIMESTAMPTZ", "end of that run"),
    ("last_run_id", "VARCHAR", "last run that deployed it"),
    ("last_deployed_at", "TIMESTAMPTZ", "end of that run"),
    ("provisioning_state", "VARCHAR", "what verify saw after the last deployment"),
    ("health", "VARCHAR", "Resource Health state verify saw after the last deployment"),
    ("healthy", "BOOLEAN", "every verify check of the resource passed"),
    ("deleted_run_id", "VARCHAR", "last run whose deployment deleted it"),
    ("deleted_at", "TIMESTAMPTZ", "end of that run"),
    ("exists", "BOOLEAN", "deployed after its last deletion (or never deleted)"),
)

ENVIRONMENT_STATUS = _table(
    "environment_status",
    "Per environment: last success and failure, the commit deployed, open drift from the "
    "latest plan-only run.",
    _ENV,
    ("last_run_id", "VARCHAR", "latest finished deploy/plan run"),
    ("last_run_at", "TIMESTAMPTZ", "its end"),
    ("last_deploy_status", "VARCHAR", "status of the latest deploy run"),
    ("last_success_run_id", "VARCHAR", "latest successful deploy run"),
    ("last_success_at", "TIMESTAMPTZ", "its end"),
    ("last_failure_run_id", "VARCHAR", "latest failed deploy run"),
    ("last_failure_at", "TIMESTAMPTZ", "its end"),
    ("last_failure_kind", "VARCHAR", "logic or environmental"),
    ("last_failure_code", "VARCHAR", "its ARM code"),
    ("current_git_sha", "VARCHAR", "commit of the latest successful deploy"),
    ("current_template_hash", "VARCHAR", "template hash of the latest successful deploy"),
    ("drift_run_id", "VARCHAR", "latest successful plan-only run"),
    ("drift_checked_at", "TIMESTAMPTZ", "its end"),
    ("drift_changes", "BIGINT", "creates + modifies + deletes it planned"),
    ("drift_resources", "VARCHAR[]", "the resources it would change"),
    ("open_drift", "BOOLEAN", "it planned changes and no deploy succeeded since"),
)

TABLES: dict[str, TableSpec] = {
    t.name: t
    for t in (
        DEPLOYMENT_RUNS,
        DEPLOYMENT_EVENTS,
        PLANNED_CHANGES,
        PLANS,
        PLANNED_PROPERTIES,
        DEPLOYED_RESOURCES,
        ENVIRONMENT_STATUS,
    )
}
HISTORY_TABLES = (
    "deployment_runs",
    "deployment_events",
    "planned_changes",
    "plans",
    "planned_properties",
    "deployed_resources",
)
