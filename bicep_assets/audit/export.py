"""Per-run audit records as JSON documents (``bicep-assets audit export``).

The records are read from DAGSTER_HOME's run storage and event log (the same reading the
audit tables come from), so they exist as soon as a run ends, whether or not the audit
assets were refreshed since.
"""

from __future__ import annotations

from typing import Any

import dagster as dg

from ..pipeline.jobs import ENVIRONMENT_TAG
from ..pipeline.saved_plans import load_saved_plan
from .events import read_run_audit
from .records import RUN_FIELDS, RunAudit, is_deployment_run


def audit_record(audit: RunAudit) -> dict[str, Any]:
    """The JSON-ready audit record of one run: the ``deployment_runs`` row, its events,
    planned changes, deployed resources, lint diagnostics, verify checks and outputs (the
    pipeline never logs secure outputs)."""
    return {
        "run": {name: getattr(audit, name) for name in RUN_FIELDS},
        "events": [e._asdict() for e in audit.events],
        "planned_changes": [c._asdict() for c in audit.changes],
        "deployed_resources": [r._asdict() for r in audit.resources],
        "lint_diagnostics": audit.diagnostics,
        "verify_checks": audit.checks,
        "outputs": audit.outputs,
        "saved_plan": None
        if audit.saved_plan is None
        else audit.saved_plan.model_dump(mode="json"),
    }


def export_plan(instance: Any, plan_id: str) -> dict[str, Any] | None:
    """The saved plan ``plan_id`` as recorded (None when there is none)."""
    saved = load_saved_plan(instance, plan_id)
    return None if saved is None else saved.model_dump(mode="json")


def export_run(instance: Any, run_id: str) -> dict[str, Any] | None:
    """The audit record of ``run_id`` (None when there is no such deploy/plan run)."""
    record = instance.get_run_record_by_id(run_id)
    if record is None or not is_deployment_run(record.dagster_run):
        return None
    return audit_record(read_run_audit(instance, record))


def export_environment(instance: Any, environment: str, *, limit: int | None) -> dict[str, Any]:
    """``{"environment": …, "runs": [record, …]}``: the environment's runs, oldest first."""
    records = instance.get_run_records(
        filters=dg.RunsFilter(tags={ENVIRONMENT_TAG: environment}), limit=limit
    )
    runs = [
        audit_record(read_run_audit(instance, r))
        for r in reversed(records)
        if is_deployment_run(r.dagster_run)
    ]
    return {"environment": environment, "runs": runs}
