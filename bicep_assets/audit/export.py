"""``bicep-assets audit export --run RUN_ID | --env ENV``: per-run audit records as JSON.

The records are read from DAGSTER_HOME's run storage and event log (the same reading the
audit tables come from), so they exist as soon as a run ends, whether or not the audit
assets were refreshed since. JSON goes to stdout; errors to stderr with exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .records import RunAudit


def audit_record(audit: RunAudit) -> dict[str, Any]:
    """The JSON-ready audit record of one run: the ``deployment_runs`` row, its events,
    planned changes, deployed resources, lint diagnostics, verify checks and outputs (the
    pipeline never logs secure outputs)."""
    from .records import RUN_FIELDS

    return {
        "run": {name: getattr(audit, name) for name in RUN_FIELDS},
        "events": [e._asdict() for e in audit.events],
        "planned_changes": [c._asdict() for c in audit.changes],
        "deployed_resources": [r._asdict() for r in audit.resources],
        "lint_diagnostics": audit.diagnostics,
        "verify_checks": audit.checks,
        "outputs": audit.outputs,
    }


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def add_audit_commands(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """``bicep-assets audit export``."""
    audit = subparsers.add_parser("audit", help="deployment history recorded in DAGSTER_HOME")
    commands = audit.add_subparsers(dest="audit_command", required=True)
    export = commands.add_parser(
        "export", help="print the audit record of a run, or of an environment's runs, as JSON"
    )
    which = export.add_mutually_exclusive_group(required=True)
    which.add_argument("--run", metavar="RUN_ID", help="one run (deploy_<env> or plan_<env>)")
    which.add_argument("--env", metavar="ENV", help="every run of one environment, oldest first")
    export.add_argument("--limit", type=int, help="with --env: only the N most recent runs")
    export.add_argument("--project", type=Path, help="project folder (default: found from cwd)")


def run_audit(args: argparse.Namespace) -> int:
    """Run ``bicep-assets audit …``; 0 on success, 2 when the run or environment is unknown."""
    if args.audit_command != "export":  # pragma: no cover - argparse rejects others
        return 2
    from ..project import find_project_dir
    from ..runs import prepare_dagster_home

    home = prepare_dagster_home(args.project or find_project_dir())
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        if args.run:
            document: Any = export_run(instance, args.run)
            if document is None:
                print(
                    f"error: no deploy/plan run '{args.run}' in DAGSTER_HOME {home}",
                    file=sys.stderr,
                )
                return 2
        else:
            document = export_environment(instance, args.env, limit=args.limit)
            if not document["runs"]:
                print(
                    f"error: no deploy/plan runs of environment '{args.env}' in DAGSTER_HOME "
                    f"{home}",
                    file=sys.stderr,
                )
                return 2
    print(json.dumps(document, indent=2, default=_json_default))
    return 0


def export_run(instance: Any, run_id: str) -> dict[str, Any] | None:
    """The audit record of ``run_id`` (None when there is no such deploy/plan run)."""
    from .events import read_run_audit
    from .records import is_deployment_run

    record = instance.get_run_record_by_id(run_id)
    if record is None or not is_deployment_run(record.dagster_run):
        return None
    return audit_record(read_run_audit(instance, record))


def export_environment(instance: Any, environment: str, *, limit: int | None) -> dict[str, Any]:
    """``{"environment": …, "runs": [record, …]}``: the environment's runs, oldest first."""
    import dagster as dg

    from ..pipeline.jobs import ENVIRONMENT_TAG
    from .events import read_run_audit
    from .records import is_deployment_run

    records = instance.get_run_records(
        filters=dg.RunsFilter(tags={ENVIRONMENT_TAG: environment}), limit=limit
    )
    runs = [
        audit_record(read_run_audit(instance, r))
        for r in reversed(records)
        if is_deployment_run(r.dagster_run)
    ]
    return {"environment": environment, "runs": runs}
