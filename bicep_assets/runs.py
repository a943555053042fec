"""Running the jobs from a shell (``bicep-assets deploy|plan|apply|ui``), against DAGSTER_HOME.

CI pipelines call ``bicep-assets deploy dev --git-sha $SHA``: the same job the UI launches,
executed in this process against the same instance, so the run shows up in the UI and the
audit history. It prints progress on stderr as the run's events are stored (``progress.py``),
the plan on stdout as soon as the plan step ends, then the outcome — or, when the run fails,
each failed step's cause first — and exits non-zero when the run fails. ``plan`` ends with the
plan's id (its run id); ``apply --plan ID`` runs ``deploy_<env>`` with
``ops.gate.config.approved_plan``. On a terminal the gate asks before deleting anything
(``pipeline/confirmation.py``).

Every command that opens the instance first marks failed the runs whose bicep-assets process
is gone (killed, crashed: see ``triggers/crashed.py``) and removes the local ARM temporary
folders such processes left behind; a run it executes records its own process in its tags.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from .environments import EnvironmentSpec

SECRET_HINT = "(secure parameters are read from the environment at the ARM call; never printed)"


def prepare_dagster_home(project_dir: Path) -> Path:
    """DAGSTER_HOME (default ``<project>/.dagster_home``) with the project's dagster.yaml —
    plus PostgreSQL storage when ``BICEP_ASSETS_POSTGRES_URL`` is set, after one connection
    proved it usable; :class:`LaunchError` when that folder or that setting cannot be used
    (nothing is written then)."""
    from .instance import (
        POSTGRES_URL_VAR,
        StorageSettingError,
        check_postgres,
        instance_yaml,
        quiet_connection_retries,
        uses_postgres,
        with_driver,
    )

    home = Path(os.environ.get("DAGSTER_HOME") or project_dir / ".dagster_home").resolve()
    source = project_dir / "dagster.yaml"
    target = home / "dagster.yaml"
    postgres_url = os.environ.get(POSTGRES_URL_VAR, "").strip() or None
    try:
        project_yaml = source.read_text(encoding="utf-8") if source.is_file() else None
    except OSError as exc:
        raise LaunchError(f"{source}: cannot be read ({exc.strerror or exc})") from None
    try:
        wanted = None
        if project_yaml is not None or postgres_url:
            wanted = instance_yaml(project_yaml or "", postgres_url)
        if postgres_url:
            check_postgres(postgres_url)
            quiet_connection_retries(postgres_url)
    except StorageSettingError as exc:
        raise LaunchError(str(exc), exit_code=exc.exit_code) from None
    if not postgres_url and uses_postgres(target):
        raise LaunchError(
            f"DAGSTER_HOME {home}: keeps its runs in PostgreSQL (its dagster.yaml was written "
            f"with {POSTGRES_URL_VAR} set), but {POSTGRES_URL_VAR} is not set: set it, or point "
            "DAGSTER_HOME at another folder for a SQLite instance of its own. Nothing was written."
        )
    if postgres_url:  # for Dagster in this process and the processes it starts (bicep-assets ui)
        os.environ[POSTGRES_URL_VAR] = with_driver(postgres_url)
    try:
        home.mkdir(parents=True, exist_ok=True)
        if wanted is not None and (
            not target.exists() or target.read_text(encoding="utf-8") != wanted
        ):
            target.write_text(wanted, encoding="utf-8")
    except OSError as exc:
        raise LaunchError(
            f"DAGSTER_HOME {home}: cannot be used as Dagster's folder ({exc.strerror or exc})"
        ) from None
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def recover_after_crashes(instance: Any, command: str, stream: TextIO | None = None) -> None:
    """Mark failed the runs whose process is gone, and remove the local ARM temp folders of
    gone processes; say what was done on ``stream`` (default stdout)."""
    from .armlocal import remove_orphaned_temp_dirs
    from .triggers.crashed import fail_crashed_runs

    out = stream or sys.stdout
    detected_by = f"bicep-assets {command} (pid {os.getpid()})"
    for crashed in fail_crashed_runs(instance, detected_by=detected_by):
        print(f"recovered: {crashed.describe()}", file=out, flush=True)
    for folder in remove_orphaned_temp_dirs():
        print(f"recovered: removed {folder}, left by a gone process", file=out, flush=True)


def open_instance(home: Path) -> Any:
    """The Dagster instance of ``home`` (a ``dg.DagsterInstance``); :class:`LaunchError` when
    its dagster.yaml is not a valid instance configuration."""
    import dagster as dg
    import yaml

    shown = f"{home / 'dagster.yaml'} (the project's dagster.yaml, copied)"
    try:
        return dg.DagsterInstance.get()
    except ImportError as exc:  # a storage whose package is missing (dagster-postgres)
        raise LaunchError(f"{shown}: {exc}: install it (pip install dagster-postgres)") from None
    except dg.DagsterInvalidConfigError as exc:
        details = "; ".join(str(e.message).split(". Expected:")[0] for e in exc.errors)
        raise LaunchError(f"{shown}: {details or exc}") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise LaunchError(f"{shown}: invalid YAML: {exc.problem or exc.context}{where}") from None


def run_config_for(
    kind: str,
    *,
    params: dict[str, str],
    allow_destructive: bool,
    allow_warnings: bool,
    target: str | None,
    approved_plan: str = "",
    debug: bool = False,
) -> dict[str, Any]:
    """The run config of a CLI run. ``apply`` runs ``deploy_<env>`` with the plan to apply.
    Dagster's console logger is kept to errors: the command prints progress of its own
    (:mod:`.progress`); with ``debug`` it logs everything as well."""
    ops: dict[str, Any] = {
        "lint": {"config": {"allow_warnings": allow_warnings, "parameter_overrides": params}},
    }
    if kind in ("deploy", "apply"):
        gate: dict[str, Any] = {"allow_destructive": allow_destructive}
        if approved_plan:
            gate["approved_plan"] = approved_plan
        ops["gate"] = {"config": gate}
    level = "DEBUG" if debug else "CRITICAL"
    config: dict[str, Any] = {"ops": ops, "loggers": {"console": {"config": {"log_level": level}}}}
    if target:
        config["resources"] = {"arm": {"config": {"target": target}}}
    return config


class LaunchError(ValueError):
    """A launch refused before any run exists: what ``bicep-assets`` was given is wrong (the
    CLI exits 2 with the message, one line per problem), or — ``exit_code`` 1 — something it
    needs cannot be reached right now (the PostgreSQL server)."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def parse_params(items: list[str]) -> dict[str, str]:
    """``--param NAME=VALUE`` (repeatable) → {NAME: VALUE}; typed later against the template."""
    result: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise LaunchError(f"--param '{item}' is not NAME=VALUE")
        result[name] = value
    return result


def resolve_environment(
    environment: str, project_dir: Path, params: dict[str, str]
) -> EnvironmentSpec:
    """The manifest of ``environment`` checked for what would fail its run before the run
    exists — a broken manifest, an unknown environment, a secure parameter's variable not set,
    a ``--param`` the template refuses — else :class:`LaunchError`."""
    from .environments import ManifestError, job_suffix, scan_environments

    try:
        scan = scan_environments(project_dir)
    except ManifestError as exc:
        raise LaunchError(str(exc)) from None
    found = {**scan.environments, **scan.broken}
    name = environment
    if name not in found:  # eu_west for parameters/eu-west.yaml: the job's own spelling
        same_jobs = [n for n in found if job_suffix(n) == environment]
        name = same_jobs[0] if len(same_jobs) == 1 else name
    if name in scan.broken:
        raise LaunchError(scan.broken[name].error)
    spec = scan.environments.get(name)
    if spec is None:
        known = ", ".join(scan.environments) or "none"
        broken = f"; broken manifests: {', '.join(scan.broken)}" if scan.broken else ""
        raise LaunchError(f"no environment '{environment}' (environments: {known}{broken})")
    from .pipeline.launch import check_overrides, missing_secure_variables  # loads Dagster
    from .pipeline.secrets import refusal_before_run
    from .resources.bicep import BicepCli

    problems = missing_secure_variables(spec, f"parameters/{spec.manifest_path.name}")
    try:
        check_overrides(spec, params, BicepCli())
    except ValueError as exc:
        problems.append(f"--param: {exc}")
    if problems:
        raise LaunchError("\n".join(problems))
    refusal = refusal_before_run(spec, params)  # a secure value too short, or in run config
    if refusal is not None:
        raise LaunchError(refusal)
    return spec


PLAN_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def check_plan_id(text: str) -> str:
    """``--plan ID``: a plan id is the run id of the run that planned it (36 characters,
    lower case); else :class:`LaunchError`."""
    plan_id = text.strip().lower()
    if not PLAN_ID.fullmatch(plan_id):
        raise LaunchError(
            f"--plan '{text}' is not a plan id: a plan id is the run id of the plan run "
            "(36 characters, as `bicep-assets plan <env>` prints it)"
        )
    return plan_id


def run_job(
    kind: str,
    environment: str,
    *,
    project_dir: Path,
    params: dict[str, str],
    git_sha: str | None,
    allow_destructive: bool = False,
    allow_warnings: bool = False,
    target: str | None = None,
    wait_timeout_s: float = 1800.0,
    approved_plan: str = "",
    interactive: bool | None = None,
    debug: bool = False,
) -> int:
    """Execute ``deploy_<env>``/``plan_<env>`` in process (``apply``: ``deploy_<env>`` with
    ``approved_plan``); 0 on success, 1 on failure.

    Mistakes in what was given (see :func:`resolve_environment`) raise :class:`LaunchError`
    before DAGSTER_HOME is touched. A deploy first waits (up to ``wait_timeout_s``; 0 refuses
    at once) while another run of the environment is in progress on the instance: in-process
    runs bypass the run queue. ``interactive`` (default: stdin is a terminal) lets the gate
    ask before a plan deletes anything (:mod:`.pipeline.confirmation`)."""
    if approved_plan:
        approved_plan = check_plan_id(approved_plan)
    spec = resolve_environment(environment, project_dir, params)  # before Dagster loads
    if (
        target == "azure"
        and spec.identity.kind == "workload_identity"
        and not os.environ.get("AZURE_FEDERATED_TOKEN_FILE")
    ):
        raise LaunchError(
            f"parameters/{spec.manifest_path.name}: identity.kind is workload_identity, but "
            "AZURE_FEDERATED_TOKEN_FILE is not set: write the job's OIDC token to a file and "
            "set the variable to its path (the README's multi-subscription setup), or use "
            "another identity.kind"
        )
    if kind == "deploy" and spec.deployment.require_approved_plan:  # the gate would refuse
        raise LaunchError(
            f"environment '{spec.name}' requires an approved plan "
            f"(deployment.require_approved_plan in parameters/{spec.manifest_path.name}): make "
            f"a plan with `bicep-assets plan {spec.name}`, review it, then apply it with "
            f"`bicep-assets apply {spec.name} --plan ID`"
        )
    from .environments import job_name
    from .pipeline.confirmation import asking
    from .pipeline.jobs import LAUNCHED_BY_UI_TAG, TRIGGER_TAG, cli_launcher
    from .pipeline.provenance import GIT_SHA_TAG
    from .progress import Progress, failure_report
    from .triggers.crashed import process_tags

    home = prepare_dagster_home(project_dir)
    from .pipeline.jobs import build_jobs
    from .resources import default_resources

    # the environment's jobs as the code location builds them (same factory, same resources),
    # without the rest of the code location: the audit assets and the sensors are not needed
    # to run a job, and importing them (pandas, DuckDB) is a fifth of the command's start-up
    environment = spec.name
    name = job_name("plan" if kind == "plan" else "deploy", environment)
    (job,) = (j for j in build_jobs({environment: spec}, default_resources()) if j.name == name)
    tags = {TRIGGER_TAG: "cli", LAUNCHED_BY_UI_TAG: cli_launcher(), **process_tags()}
    if git_sha:
        tags[GIT_SHA_TAG] = git_sha
    config = run_config_for(
        kind,
        params=params,
        allow_destructive=allow_destructive,
        allow_warnings=allow_warnings,
        target=target,
        approved_plan=approved_plan,
        debug=debug,
    )
    from .triggers.exclusive import EnvironmentBusy, exclusive_environment

    if interactive is None:
        interactive = sys.stdin.isatty()
    # progress, the plan and the question go to the command's stdout and stderr as they are
    # now: while a step runs, Dagster captures the process's stdout and stderr through two
    # pipes that are forwarded apart, which would reorder them
    with _direct(sys.stdout) as out, _direct(sys.stderr) as err, open_instance(home) as instance:
        progress = Progress(out=out, err=err)
        ask = (
            asking(lambda plan: confirm_at_terminal(plan, sys.stdin, err))
            if interactive and kind != "plan" and not allow_destructive
            else contextlib.nullcontext()
        )
        recover_after_crashes(instance, f"{kind} {environment}", sys.stderr)
        if approved_plan:  # a plan that cannot be applied, whatever the fresh plan says
            check_saved_plan(instance, approved_plan, spec)
        guard = (
            exclusive_environment(
                instance,
                environment,
                timeout_s=wait_timeout_s,
                report=lambda line: print(line, file=sys.stderr, flush=True),
            )
            if kind != "plan"
            else contextlib.nullcontext()
        )
        run_id = str(uuid.uuid4())
        instance.add_event_listener(run_id, progress.on_event)
        try:
            with guard, ask:
                print(f"run {run_id} ({name}), DAGSTER_HOME {home}", file=sys.stderr, flush=True)
                result = job.execute_in_process(
                    run_config=config,
                    instance=instance,
                    tags=tags,
                    run_id=run_id,
                    raise_on_error=False,
                )
        except EnvironmentBusy as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        elapsed = time.monotonic() - progress.started
        if result.success:
            print(f"\n{name} succeeded in {elapsed:.1f} s (run {result.run_id}).")
            if kind == "plan":
                print(f"Plan id: {result.run_id}")
                print(
                    "To apply exactly this plan: "
                    f"bicep-assets apply {environment} --plan {result.run_id}"
                )
            else:
                outcome = result.output_for_node("deploy")
                for key, value in outcome.outputs.items():
                    print(f"  output {key} = {value}")
            return 0
        print(file=sys.stderr)
        if was_interrupted(result, progress):
            print(
                f"interrupted (Ctrl-C): {name} stopped after {elapsed:.1f} s and was not "
                f"retried (run {result.run_id}; an ARM deployment that had started goes on in "
                "ARM).",
                file=sys.stderr,
            )
            return EXIT_INTERRUPTED
        for failure in progress.failures:
            first, *rest = failure_report(failure)
            print(f"error: {first}", *rest, sep="\n", file=sys.stderr)
            if debug and failure.error is not None:  # the stack traces, causes included
                print(failure.error.to_string(), file=sys.stderr)
        if not progress.failures:  # the run failed outside a step (Dagster's own error)
            print(f"error: {name} failed outside its steps", file=sys.stderr)
        print(
            f"{name} failed after {elapsed:.1f} s (run {result.run_id}; the run's events: "
            f"the UI, or bicep-assets audit export --run {result.run_id}).",
            file=sys.stderr,
        )
        return 1


@contextlib.contextmanager
def _direct(stream: TextIO) -> Iterator[TextIO]:
    """``stream`` written straight to a duplicate of its file descriptor (line-buffered), or
    ``stream`` itself when it has none (a test's StringIO)."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        yield stream
        return
    stream.flush()
    with open(
        os.dup(fd), "w", buffering=1, encoding=stream.encoding or "utf-8", errors="replace"
    ) as direct:
        yield direct


def check_saved_plan(instance: Any, plan_id: str, spec: EnvironmentSpec) -> None:
    """:class:`LaunchError` (before any run exists) when the saved plan ``plan_id`` is not in
    the instance, is another environment's or is older than the manifest allows — what the
    gate would refuse anyway, told without a failed run."""
    from datetime import datetime, timezone

    from .pipeline.gate import saved_plan_refusal
    from .pipeline.saved_plans import load_saved_plan

    refusal = saved_plan_refusal(
        load_saved_plan(instance, plan_id),
        plan_id=plan_id,
        spec=spec,
        now=datetime.now(timezone.utc),
    )
    if refusal is not None:
        _code, message, _short = refusal
        raise LaunchError("--plan: " + message.removeprefix("approved_plan: "))


EXIT_INTERRUPTED = 130  # Ctrl-C: 128 + SIGINT, as shells report it (cli.py uses it too)


def was_interrupted(result: Any, progress: Any) -> bool:
    """Whether Ctrl-C stopped the run: a step failed as interrupted (the failure boundary),
    or Dagster stopped the run between steps (its run failure's reason: an unexpected
    termination, which for a run executed in this process is the interrupt)."""
    from dagster import DagsterEventType

    from .dagster_private import RunFailureReason
    from .failures import INTERRUPTED

    if any(f.facts is not None and f.facts.arm_code == INTERRUPTED for f in progress.failures):
        return True
    return any(
        event.event_type == DagsterEventType.RUN_FAILURE  # its value says PIPELINE_FAILURE
        and getattr(event.event_specific_data, "failure_reason", None)
        == RunFailureReason.UNEXPECTED_TERMINATION
        for event in result.all_events
    )


def confirm_at_terminal(plan: Any, answers: TextIO, prompt: TextIO) -> bool:
    """Ask whether to deploy a plan that deletes resources; only "y" or "yes" approves (an
    empty answer, end of input, Ctrl-C or anything else is no)."""
    deletions = plan.deletions
    print(f"\nThe plan deletes {len(deletions)} resource(s):", file=prompt)
    for change in deletions:
        print(f"  - {change.resource_id}", file=prompt)
    print("Deploy it, deleting them? Only 'y' deploys. [y/N] ", end="", file=prompt, flush=True)
    try:
        with _interruptible():
            answer = answers.readline()
    except KeyboardInterrupt:
        answer = ""
    if not answer.endswith("\n"):
        print(file=prompt, flush=True)  # no answer: the cursor is still on the question
    return answer.strip().lower() in ("y", "yes")


@contextlib.contextmanager
def _interruptible() -> Iterator[None]:
    """Ctrl-C raises at once while this block waits for input: Dagster's own handler only
    notes an interrupt while a step runs (to stop between steps), and would leave the
    question waiting."""

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGINT, interrupt)
    except ValueError:  # not the main thread: signals cannot be handled here
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def run_ui(project_dir: Path, port: int) -> int:
    """``dagster dev`` on the project's workspace.yaml, with DAGSTER_HOME prepared."""
    prepare_dagster_home(project_dir)
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        recover_after_crashes(instance, "ui")
    dagster = shutil.which("dagster") or str(Path(sys.executable).with_name("dagster"))
    os.chdir(project_dir)
    os.execv(dagster, [dagster, "dev", "-w", "workspace.yaml", "-p", str(port)])
    return 0  # pragma: no cover - execv does not return
