"""The ``bicep-assets`` command.

``bicep-assets deploy|plan|apply ENV`` executes the environment's job in this process
(``runs.py``); on a terminal its first line comes at once, before the local ARM and Dagster
are imported (both are imported inside the commands that need them).

``bicep-assets expand -f TEMPLATE.json [-p PARAMS] [-g RG] [-l LOCATION]`` expands an ARM
template offline with the local ARM's template engine and prints the resources in deployment
order (JSON or a table) — a quick rehearsal that needs no Azure account.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from .runs import EXIT_INTERRUPTED  # runs.py imports only the standard library at its top

if TYPE_CHECKING:
    from .armlocal.engine import Expansion

# The local ARM (armlocal) is imported inside the functions that need it, like Dagster: the
# deploy, plan and apply commands print their first line before either is loaded.


def build_parser() -> argparse.ArgumentParser:
    from .armlocal import add_arm_commands, add_emulator_commands
    from .armlocal.engine import DeploymentContext

    parser = argparse.ArgumentParser(
        prog="bicep-assets", description="Dagster-native orchestration of Bicep/ARM deployments."
    )
    parser.add_argument("--debug", action="store_true", help=DEBUG_HELP)
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
    exp.add_argument(
        "-l",
        "--location",
        default="westeurope",
        help="resource group location (deployment location above resource groups)",
    )
    exp.add_argument(
        "-m",
        "--management-group-id",
        default="management-group",
        help="management group name, for a managementGroupDeploymentTemplate",
    )
    exp.add_argument("-n", "--name", default="deployment", help="deployment name")
    exp.add_argument("--subscription", default=DeploymentContext.subscription_id)
    exp.add_argument("--mode", choices=["Incremental", "Complete"], default="Incremental")
    exp.add_argument("-o", "--output", choices=["json", "table"], default="table")
    for kind, text in (
        ("deploy", "run deploy_<env>: lint, plan, gate, deploy, verify"),
        ("plan", "run plan_<env>: lint and what-if, changing nothing; prints the plan id"),
        ("apply", "run deploy_<env> applying a plan made before (bicep-assets plan)"),
    ):
        job = commands.add_parser(kind, help=text)
        job.add_argument("environment", help="the manifest parameters/<environment>.yaml")
        if kind == "apply":
            job.add_argument(
                "--plan",
                required=True,
                metavar="PLAN_ID",
                help="the plan to apply: the run id `bicep-assets plan <env>` printed",
            )
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
        if kind != "plan":
            job.add_argument(
                "--allow-destructive",
                "--yes",
                "-y",
                dest="allow_destructive",
                action="store_true",
                help="apply a plan that deletes resources without asking (CI); on a terminal "
                "without it, the gate asks",
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
    _accept_debug_everywhere(parser)
    return parser


DEBUG_HELP = "print the traceback of an unexpected error (and re-raise it)"


def _accept_debug_everywhere(parser: argparse.ArgumentParser) -> None:
    """``--debug`` after any (sub)command too: ``bicep-assets deploy dev --debug``."""
    for action in parser._actions:  # argparse keeps subcommands only there
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                sub.add_argument(
                    "--debug", action="store_true", default=argparse.SUPPRESS, help=DEBUG_HELP
                )
                _accept_debug_everywhere(sub)


def main(argv: list[str] | None = None) -> int:
    """Run one command; the exit code (see the table in docs/operations.md): 0 success, 1 it
    ran and failed, 2 what it was given is wrong, 3 a bug in bicep-assets, 130 interrupted.
    Without ``--debug`` nothing prints a traceback."""
    announce_run(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except KeyboardInterrupt:
        if args.debug:
            raise
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        if args.debug:
            raise
        lost = _storage_lost(exc)
        if lost is not None:
            print(
                f"error: Dagster's storage stopped answering ({type(exc).__name__}: "
                f"{lost}); what the run did until then is recorded — run the "
                "command again once the database answers (it marks the unfinished run failed "
                "first)",
                file=sys.stderr,
            )
            return 1
        print(
            f"error: unexpected {type(exc).__name__}: {_first_line(exc)} — a bug in "
            "bicep-assets; run again with --debug for the traceback",
            file=sys.stderr,
        )
        return EXIT_BUG


# 1 (it ran and failed: a failed run, an ARM error, an unreachable service) is returned by
# the commands themselves
EXIT_INPUT = 2  # what it was given is wrong; nothing was created
EXIT_BUG = 3  # an unexpected error: a bug in bicep-assets


JOB_STEPS = {
    "deploy": "lint → plan → gate → deploy → verify",
    "apply": "lint → plan → gate (the plan given) → deploy → verify",
    "plan": "lint → plan",
}


def announce_run(argv: list[str], stream: TextIO | None = None) -> None:
    """``bicep-assets deploy|plan|apply ENV …`` on a terminal: say at once what is starting,
    before argparse, the local ARM and Dagster are loaded (which takes a second or two). Only
    for a person watching: in a pipe or a CI log the output starts with the run's own line,
    and a mistake in what was given is the error alone."""
    stream = sys.stderr if stream is None else stream
    if not stream.isatty():
        return
    words = [word for word in argv if word != "--debug"]
    if len(words) < 2 or words[0] not in JOB_STEPS or {"-h", "--help"} & set(words):
        return
    environment = words[1]
    if environment.startswith("-") or not environment.isprintable():
        return
    print(f"bicep-assets {words[0]} {environment}: {JOB_STEPS[words[0]]}", file=stream)
    stream.flush()


def _run(args: argparse.Namespace) -> int:
    project = getattr(args, "project", None)
    if project is not None and not project.is_dir():
        return _fail(f"--project {project}: no such folder")
    if args.command == "expand":
        return _expand(args)
    if args.command in JOB_STEPS:
        from .project import find_project_dir
        from .runs import LaunchError, parse_params, run_job

        try:
            return run_job(
                args.command,
                args.environment,
                project_dir=project or find_project_dir(),
                params=parse_params(args.param),
                git_sha=args.git_sha,
                allow_destructive=getattr(args, "allow_destructive", False),
                allow_warnings=args.allow_warnings,
                target=args.target,
                wait_timeout_s=getattr(args, "wait_timeout", 0.0),
                approved_plan=args.plan if args.command == "apply" else "",  # run_job checks it
                debug=args.debug,
            )
        except LaunchError as exc:
            return _fail(str(exc), exc.exit_code)
    if args.command == "ui":
        from .project import find_project_dir
        from .runs import LaunchError, run_ui

        try:
            return run_ui(project or find_project_dir(), args.port)
        except LaunchError as exc:
            return _fail(str(exc), exc.exit_code)
    if args.command == "emulator":
        from .armlocal import run_emulator

        return run_emulator(args)
    if args.command == "arm":
        from .armlocal import run_arm

        return run_arm(args)
    if args.command == "audit":
        return _audit(args)
    return EXIT_INPUT  # pragma: no cover - argparse rejects unknown commands


def _storage_lost(exc: BaseException) -> str | None:
    """The error's first line, the password masked, when ``exc`` is the PostgreSQL instance
    going away mid-command (dagster-postgres gives up retrying, or SQLAlchemy's
    OperationalError): environmental, not a bug. None otherwise — on SQLite too, where an
    OperationalError is a locked or broken file, not a server away."""
    from .instance import POSTGRES_URL_VAR, scrub_password

    url = os.environ.get(POSTGRES_URL_VAR)
    names = {cls.__name__ for cls in type(exc).__mro__}
    if not url or not names & {"DagsterPostgresException", "OperationalError"}:
        return None
    return scrub_password(_first_line(exc), url)


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else "(no message)"


def _expand(args: argparse.Namespace) -> int:
    from .armlocal import ParameterArgumentError, parse_parameter_args
    from .armlocal.engine import (
        DeploymentContext,
        JsonInputError,
        ResourceGroup,
        TemplateError,
        context_for_level,
        deployment_scope,
        expand,
        read_json_file,
    )

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
    if isinstance(template, dict):  # the scope the template's $schema is written for
        context = context_for_level(
            context,
            deployment_scope(template),
            location=args.location,
            management_group=args.management_group_id,
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


def _fail(message: str, code: int = EXIT_INPUT) -> int:
    """``error: …`` on stderr, one line per problem; exit code 2 (or ``code``)."""
    for line in message.splitlines() or [""]:
        print(f"error: {line}", file=sys.stderr)
    return code


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
    which.add_argument("--plan", metavar="PLAN_ID", help="one saved plan, as recorded (its id)")
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
    if args.plan and args.limit is not None:
        print("error: --limit applies to --env only (--plan exports one plan)", file=sys.stderr)
        return 2
    from .audit.export import export_environment, export_plan, export_run
    from .project import find_project_dir
    from .runs import LaunchError, open_instance, prepare_dagster_home, recover_after_crashes

    try:
        home = prepare_dagster_home(args.project or find_project_dir())
        instance = open_instance(home)
    except LaunchError as exc:
        return _fail(str(exc), exc.exit_code)
    with instance:
        recover_after_crashes(instance, "audit export", sys.stderr)
        if args.plan:
            document: Any = export_plan(instance, args.plan)
            if document is None:
                print(
                    f"error: no saved plan '{args.plan}' in DAGSTER_HOME {home} (a plan id is "
                    "the run id that `bicep-assets plan ENV` prints)",
                    file=sys.stderr,
                )
                return 2
        elif args.run:
            document = export_run(instance, args.run)
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
