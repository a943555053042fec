"""The ``bicep-assets`` command.

``bicep-assets expand -f TEMPLATE.json [-p PARAMS] [-g RG] [-l LOCATION]`` expands an ARM
template offline with the local ARM's template engine and prints the resources in deployment
order (JSON or a table) — a quick rehearsal that needs no Azure account.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from .armlocal import (
    ParameterArgumentError,
    add_arm_commands,
    add_emulator_commands,
    parse_parameter_args,
    run_arm,
    run_emulator,
)
from .armlocal.engine import (
    DeploymentContext,
    Expansion,
    JsonInputError,
    ResourceGroup,
    TemplateError,
    expand,
    read_json_file,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bicep-assets", description="Dagster-native orchestration of Bicep/ARM deployments."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    exp = commands.add_parser(
        "expand", help="expand an ARM template offline and print its resources in order"
    )
    exp.add_argument("-f", "--template-file", required=True, type=Path, help="ARM JSON template")
    exp.add_argument(
        "-p",
        "--parameters",
        action="append",
        default=[],
        help="@params.json, params.json or NAME=VALUE (repeatable; later ones win)",
    )
    exp.add_argument("-g", "--resource-group", default="rg", help="resource group name")
    exp.add_argument("-l", "--location", default="westeurope", help="resource group location")
    exp.add_argument("-n", "--name", default="deployment", help="deployment name")
    exp.add_argument("--subscription", default=DeploymentContext.subscription_id)
    exp.add_argument("--mode", choices=["Incremental", "Complete"], default="Incremental")
    exp.add_argument("-o", "--output", choices=["json", "table"], default="table")
    for kind, text in (
        ("deploy", "run deploy_<env>: lint, plan, gate, deploy, verify"),
        ("plan", "run plan_<env>: lint and what-if, changing nothing"),
    ):
        job = commands.add_parser(kind, help=text)
        job.add_argument("environment", help="the manifest parameters/<environment>.yaml")
        job.add_argument(
            "--param",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="override a template parameter (repeatable)",
        )
        job.add_argument("--git-sha", help="the commit deployed (default: detected)")
        job.add_argument("--allow-warnings", action="store_true")
        job.add_argument(
            "--target",
            choices=["local", "azure"],
            help="ARM target (default: the resource's, i.e. local)",
        )
        job.add_argument("--project", type=Path, help="project folder (default: found from cwd)")
        if kind == "deploy":
            job.add_argument(
                "--allow-destructive",
                action="store_true",
                help="apply a plan that deletes resources",
            )
            job.add_argument(
                "--wait-timeout",
                type=float,
                default=1800.0,
                metavar="SECONDS",
                help="wait this long while another run of the environment is in progress "
                "(default 1800; 0: refuse at once)",
            )
    ui = commands.add_parser("ui", help="dagster dev on this project (DAGSTER_HOME prepared)")
    ui.add_argument("--port", type=int, default=3000)
    ui.add_argument("--project", type=Path)
    add_emulator_commands(commands)
    add_arm_commands(commands)
    _add_audit_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "expand":
        return _expand(args)
    if args.command in ("deploy", "plan"):
        from .project import find_project_dir
        from .runs import parse_params, run_job

        return run_job(
            args.command,
            args.environment,
            project_dir=args.project or find_project_dir(),
            params=parse_params(args.param),
            git_sha=args.git_sha,
            allow_destructive=getattr(args, "allow_destructive", False),
            allow_warnings=args.allow_warnings,
            target=args.target,
            wait_timeout_s=getattr(args, "wait_timeout", 0.0),
        )
    if args.command == "ui":
        from .project import find_project_dir
        from .runs import run_ui

        return run_ui(args.project or find_project_dir(), args.port)
    if args.command == "emulator":
        return run_emulator(args)
    if args.command == "arm":
        return run_arm(args)
    if args.command == "audit":
        return _audit(args)
    return 2  # pragma: no cover - argparse rejects unknown commands


def _expand(args: argparse.Namespace) -> int:
    try:
        template = read_json_file(args.template_file, "template file")
        parameters = parse_parameter_args(args.parameters)
    except (JsonInputError, ParameterArgumentError) as exc:
        return _fail(str(exc))
    context = DeploymentContext(
        subscription_id=args.subscription,
        resource_group=ResourceGroup(args.resource_group, args.location),
        deployment_name=args.name,
        mode=args.mode,
    )
    try:
        expansion = expand(template, parameters, context)
        outputs = expansion.evaluate_outputs()
    except TemplateError as exc:
        print(json.dumps({"error": exc.to_arm()}, indent=2), file=sys.stderr)
        return 1
    if args.output == "json":
        print(json.dumps(_as_json(expansion, outputs), indent=2, default=str))
    else:
        print(_as_table(expansion))
    return 0


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _redact_outputs(expansion: Expansion, outputs: dict[str, Any]) -> dict[str, Any]:
    return {
        name: ({"type": o["type"]} if str(o["type"]).lower().startswith("secure") else o)
        for name, o in outputs.items()
    }


def _as_json(expansion: Expansion, outputs: dict[str, Any]) -> dict[str, Any]:
    def resource(r: Any) -> dict[str, Any]:
        data = r.to_arm()
        data["dependsOn"] = r.depends_on
        if r.nested is not None:
            data["properties"] = {
                k: v for k, v in (data.get("properties") or {}).items() if k != "template"
            }
            data["nestedResources"] = [resource(n) for n in r.nested.resources]
        elif r.nested_deferred_reason:
            data["nestedDeferredReason"] = r.nested_deferred_reason
        return data

    return {
        "parameters": expansion.redacted_parameters(),
        "resources": [resource(r) for r in expansion.resources],
        "outputs": _redact_outputs(expansion, outputs),
    }


def _as_table(expansion: Expansion) -> str:
    rows = [("#", "type", "name", "depends on", "note")]
    for index, r in enumerate(expansion.all_resources(), start=1):
        note = "waits for references" if r.deferred else ""
        if r.nested_deferred_reason:
            note = f"nested: {r.nested_deferred_reason}"
        rows.append((str(index), r.type, r.name, str(len(r.depends_on)), note))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def _add_audit_commands(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """``bicep-assets audit export``."""
    audit = subparsers.add_parser("audit", help="deployment history recorded in DAGSTER_HOME")
    commands = audit.add_subparsers(dest="audit_command", required=True)
    export = commands.add_parser(
        "export", help="print the audit record of a run, or of an environment's runs, as JSON"
    )
    which = export.add_mutually_exclusive_group(required=True)
    which.add_argument("--run", metavar="RUN_ID", help="one run (deploy_<env> or plan_<env>)")
    which.add_argument("--env", metavar="ENV", help="every run of one environment, oldest first")
    export.add_argument(
        "--limit", type=_positive_int, help="with --env: only the N most recent runs (N ≥ 1)"
    )
    export.add_argument("--project", type=Path, help="project folder (default: found from cwd)")


def _positive_int(text: str) -> int:
    """An argument that counts something: a whole number, 1 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a count: use 1 or more")
    return value


def _audit(args: argparse.Namespace) -> int:
    """Run ``bicep-assets audit …``; 0 on success, 2 when the run or environment is unknown."""
    if args.audit_command != "export":  # pragma: no cover - argparse rejects others
        return 2
    if args.run and args.limit is not None:
        print("error: --limit applies to --env only (--run exports one run)", file=sys.stderr)
        return 2
    import dagster as dg

    from .audit.export import export_environment, export_run
    from .project import find_project_dir
    from .runs import prepare_dagster_home, recover_after_crashes

    home = prepare_dagster_home(args.project or find_project_dir())

    with dg.DagsterInstance.get() as instance:
        recover_after_crashes(instance, "audit export", sys.stderr)
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


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
