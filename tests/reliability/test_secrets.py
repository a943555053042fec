"""One secrets boundary: a canary secure value traced through every store, on every path.

The canary is 32 random characters. Each scenario runs the real pipeline — ``bicep-assets
deploy|plan`` (a process as CI runs it, or its entry point in this process with stdout and
stderr read at the file descriptors) against a copy of the project and a temporary DAGSTER_HOME
where the path needs no injected fault, the jobs in process against the real local ARM (through the
official SDK, over HTTPS) where it does — and then looks for any run of 8 characters of the
canary (the scrubber's minimum, see ``armlocal/engine/masking.py``) in: stdout and stderr, run
storage (runs and their config), every event record's JSON, every file under DAGSTER_HOME
(SQLite storage, compute logs, the IO manager's pickles, the local ARM's state), the audit's
DuckDB tables (refreshed from the history) and the local ARM's answers (deployments, their
operations, the list, what-if).
"""

import json
import random
import secrets
import string
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest
import yaml
from azure.core.exceptions import HttpResponseError
from dagster._serdes import serialize_value

from bicep_assets.armlocal import FaultPlanSpec, FaultRule, LocalArm, LocalArmConfig
from bicep_assets.armlocal.engine import MASK, MIN_SECRET_RUN, SecretMask
from bicep_assets.armlocal.engine.masking import windows
from bicep_assets.audit.checks import find_secure_values
from bicep_assets.audit.definitions import audit_definitions
from bicep_assets.audit.schemas import TABLES
from bicep_assets.environments import load_environments
from bicep_assets.failures import failure_boundary
from bicep_assets.models import PropertyChange, WhatIfChange
from bicep_assets.pipeline.plan import plan_from_what_if
from bicep_assets.pipeline.secrets import refusal_before_run
from bicep_assets.runs import LaunchError, resolve_environment
from tests.cli_helpers import project_in_git, run_cli
from tests.pipeline.conftest import SUB, Project, copy_example, storage, template

REPO = Path(__file__).resolve().parents[2]
ALPHABET = string.ascii_letters + string.digits
CANARY = "".join(secrets.choice(ALPHABET) for _ in range(32))
RG = "rg-webapp-dev"
SCOPE = f"/subscriptions/{SUB}/resourceGroups/{RG}"


def random_secret() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(32))


def leaks(text: str, secret: str = CANARY) -> bool:
    """Whether ``text`` holds a run of 8 or more characters of ``secret``."""
    return any(part in text for part in windows(secret, MIN_SECRET_RUN))


def files_leaking(root: Path, secret: str = CANARY) -> list[str]:
    parts = [p.encode() for p in windows(secret, MIN_SECRET_RUN)]
    return sorted(
        str(path.relative_to(root))
        for path in root.rglob("*")
        if path.is_file() and any(p in path.read_bytes() for p in parts)
    )


# -- where a value could go ----------------------------------------------------------------
def dagster_records(home: Path) -> dict[str, str]:
    """Run storage (each run with its config and tags) and the event log (every record as
    the JSON Dagster stores), by run id."""
    texts: dict[str, str] = {}
    with dg.DagsterInstance.from_config(str(home)) as instance:
        for run in instance.get_runs():
            texts[f"run {run.run_id}"] = json.dumps(
                {"config": run.run_config, "tags": run.tags}, default=str
            )
            events = [serialize_value(record) for record in instance.all_logs(run.run_id)]
            texts[f"event log {run.run_id}"] = "\n".join(events)
    return texts


def arm_answers(state: Path, what_if_body: dict[str, Any] | None = None) -> dict[str, str]:
    """What the local ARM answers over ``state`` through the SDK: the deployment list, each
    deployment (nested ones included) and its operations, and a what-if of ``what_if_body``."""
    answers: dict[str, str] = {}
    with LocalArm(state=state, config=LocalArmConfig(retry_after=0)) as arm:
        client = arm.connection.deployments_client()
        groups = [g.name for g in arm.connection.resource_client().resource_groups.list()]
        for group in groups:
            listed = [d.as_dict() for d in client.deployments.list_by_resource_group(group)]
            answers[f"list {group}"] = json.dumps(listed)
            for deployment in listed:
                name = deployment["name"]
                got = client.deployments.get(group, name).as_dict()
                answers[f"GET {group}/{name}"] = json.dumps(got)
                operations = client.deployment_operations.list(group, name)
                answers[f"operations {group}/{name}"] = json.dumps(
                    [o.as_dict() for o in operations]
                )
        if what_if_body is not None and RG in groups:
            result = client.deployments.begin_what_if(RG, "canary-what-if", what_if_body).result()
            answers["what-if"] = json.dumps(result.as_dict())
    return answers


def audit_tables(home: Path, project: Path) -> tuple[dict[str, str], dict[str, bool]]:
    """Refresh the audit tables from the history in ``home`` (as the refresh sensor does),
    read every table back; and the ``no_secure_values`` verdicts."""
    database = home / "deployment_history.duckdb"
    job = audit_definitions(database=str(database), project_dir=project).resolve_job_def(
        "audit_refresh"
    )
    with dg.DagsterInstance.from_config(str(home)) as instance:
        result = job.execute_in_process(instance=instance)
    assert result.success
    verdicts = {
        e.asset_key.path[-1]: e.passed
        for e in result.get_asset_check_evaluations()
        if e.check_name == "no_secure_values"
    }
    with duckdb.connect(str(database), read_only=True) as connection:
        tables = {
            name: json.dumps(
                connection.execute(f"SELECT * FROM audit.{name}").fetchall(), default=str
            )
            for name in TABLES
        }
    return tables, verdicts


def assert_no_trace(
    home: Path,
    project: Path,
    *,
    texts: dict[str, str] | None = None,
    arm_state: Path | None = None,
    secret: str = CANARY,
) -> None:
    """The canary is nowhere: not in ``texts`` (stdout, stderr …), run storage, the event
    log, any file under DAGSTER_HOME or the local ARM's state, the audit tables (whose
    ``no_secure_values`` checks pass) or what the local ARM answers."""
    arm_state = arm_state or home / "localarm" / "state.sqlite"
    body = {"properties": {"mode": "Incremental", "template": example_template()}}
    body["properties"]["parameters"] = example_parameters(secret)
    where = {
        **(texts or {}),
        **dagster_records(home),
        **arm_answers(arm_state, body),
    }
    tables, verdicts = audit_tables(home, project)
    where.update({f"audit.{name}": text for name, text in tables.items()})
    assert [name for name, text in where.items() if leaks(text, secret)] == []
    assert files_leaking(home, secret) == []
    assert files_leaking(arm_state.parent, secret) == []
    assert verdicts and all(verdicts.values()), verdicts


def example_template() -> dict[str, Any]:
    return json.loads((REPO / "infra" / "main.json").read_text(encoding="utf-8"))


def example_parameters(secret: str) -> dict[str, Any]:
    from_file = json.loads((REPO / "parameters" / "dev.parameters.json").read_text("utf-8"))
    values = from_file.get("parameters", from_file)
    return {**values, "environmentName": {"value": "dev"}, "appSecret": {"value": secret}}


# -- the CLI, as CI runs it ----------------------------------------------------------------
@pytest.fixture
def cli_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the project in a git repository; the canary is the dev secret (also in this
    process, for the audit's ``no_secure_values`` check)."""
    monkeypatch.setenv("DEV_APP_SECRET", CANARY)
    return project_in_git(tmp_path / "deployments")


Cli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def cli(cli_here: Cli) -> Cli:
    """``cli(project, home, *args, secret=CANARY)``: the command through its entry point in
    this process, stdout and stderr read at the file descriptors (the first test below runs
    each command as a process of its own, as CI does)."""

    def run(project: Path, home: Path, *args: str, secret: str = CANARY) -> Any:
        return cli_here(project, *args, home=home, env={"DEV_APP_SECRET": secret})

    return run


def outputs(*runs: subprocess.CompletedProcess[str]) -> dict[str, str]:
    texts: dict[str, str] = {}
    for i, run in enumerate(runs):
        texts[f"stdout {i}"] = run.stdout
        texts[f"stderr {i}"] = run.stderr
    return texts


def edit_manifest(project: Path, **changes: Any) -> None:
    path = project / "parameters" / "dev.yaml"
    manifest = yaml.safe_load(path.read_text(encoding="utf-8"))
    manifest.update(changes)
    path.write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")


def test_cli_success_then_plan_leave_no_trace(cli_project: Path, tmp_path: Path) -> None:
    """As CI runs it: each command a process of its own."""
    home = tmp_path / "home"
    secret = {"DEV_APP_SECRET": CANARY}
    deployed = run_cli(cli_project, home, "deploy", "dev", secrets=secret)
    assert deployed.returncode == 0, deployed.stderr[-3000:]
    planned = run_cli(cli_project, home, "plan", "dev", secrets=secret)
    assert planned.returncode == 0, planned.stderr[-3000:]
    assert "0 to create, 0 to modify, 0 to delete, 6 unchanged" in planned.stdout
    exported = run_cli(cli_project, home, "audit", "export", "--env", "dev", secrets=secret)
    assert exported.returncode == 0, exported.stderr
    assert_no_trace(home, cli_project, texts=outputs(deployed, planned, exported))


def test_cli_lint_failure_leaves_no_trace(cli_project: Path, tmp_path: Path, cli: Cli) -> None:
    home = tmp_path / "home"
    template_path = cli_project / "infra" / "main.json"
    body = json.loads(template_path.read_text(encoding="utf-8"))
    body.setdefault("outputs", {})["broken"] = {"type": "string", "value": "[parameters('nope')]"}
    template_path.write_text(json.dumps(body), encoding="utf-8")
    failed = cli(cli_project, home, "plan", "dev")
    assert failed.returncode == 1
    assert "lint failed" in failed.stderr and "nope" in failed.stderr
    assert_no_trace(home, cli_project, texts=outputs(failed))


def test_cli_gate_refusal_leaves_no_trace(cli_project: Path, tmp_path: Path, cli: Cli) -> None:
    home = tmp_path / "home"
    template_path = cli_project / "infra" / "main.json"
    shipped = template_path.read_text(encoding="utf-8")
    body = json.loads(shipped)
    body["resources"].append(storage("stcanaryextra1"))
    template_path.write_text(json.dumps(body), encoding="utf-8")
    assert cli(cli_project, home, "deploy", "dev").returncode == 0
    template_path.write_text(shipped, encoding="utf-8")  # the extra account is to be deleted
    ignore = ["properties.principalId"]
    edit_manifest(cli_project, deployment={"mode": "Complete", "what_if_ignore": ignore})
    refused = cli(cli_project, home, "deploy", "dev")
    assert refused.returncode == 1
    assert (
        "error: gate failed: logic failure, DestructiveChange: 1 resource(s) would be deleted\n"
        in refused.stderr
    )
    assert "storageAccounts/stcanaryextra1" in refused.stderr
    assert_no_trace(home, cli_project, texts=outputs(refused))


def test_cli_verify_failure_leaves_no_trace(cli_project: Path, tmp_path: Path, cli: Cli) -> None:
    home = tmp_path / "home"
    checks = {"provisioning_state": True, "resource_health": True}
    checks["http"] = [{"url": "https://{outputs.webHost}/", "expected_status": 418, "retries": 0}]
    edit_manifest(cli_project, health_checks=checks)
    failed = cli(cli_project, home, "deploy", "dev")
    assert failed.returncode == 1
    assert "health check(s) failed: http https://" in failed.stderr
    assert "expected 418, got 200 OK after 1 attempt" in failed.stderr
    assert_no_trace(home, cli_project, texts=outputs(failed))


@pytest.mark.parametrize("spelling", ["appSecret", "APPSECRET"])
def test_cli_refuses_a_secure_param_before_the_run_exists(
    cli_project: Path, tmp_path: Path, spelling: str, cli: Cli
) -> None:
    home = tmp_path / "home"
    given = random_secret()
    refused = cli(cli_project, home, "deploy", "dev", "--param", f"{spelling}={given}")
    assert refused.returncode == 2
    assert refused.stderr == (
        "error: --param: Parameter 'appSecret' is secure (securestring) and cannot be "
        "overridden in run config, which is stored in clear text; give it as a secure "
        "parameter of the environment manifest (environment variable or Key Vault reference).\n"
    )
    assert not leaks(refused.stdout + refused.stderr, given)
    assert not home.exists()  # refused before DAGSTER_HOME was prepared: no run, no config


def test_a_param_the_template_declares_secure_is_refused_before_the_run(tmp_path: Path) -> None:
    """Not named in the manifest's secure_parameters, but declared ``securestring`` by the
    template: refused just the same (the same check bicep-assets runs before the run)."""
    project = tmp_path / "project"
    (project / "parameters").mkdir(parents=True)
    (project / "infra").mkdir()
    body = template([storage("st1")], parameters={"token": {"type": "securestring"}})
    (project / "infra" / "main.json").write_text(json.dumps(body), encoding="utf-8")
    manifest = {"template": "../infra/main.json"}
    manifest["scope"] = {"resource_group": "rg-dev", "location": "westeurope"}
    (project / "parameters" / "dev.yaml").write_text(yaml.safe_dump(manifest), encoding="utf-8")
    with pytest.raises(LaunchError) as refused:
        resolve_environment("dev", project, {"Token": "x" * 20})
    assert str(refused.value) == (
        "--param: Parameter 'token' is secure (securestring) and cannot be overridden in run "
        "config, which is stored in clear text; give it as a secure parameter of the "
        "environment manifest (environment variable or Key Vault reference)."
    )
    assert resolve_environment("dev", project, {}).name == "dev"


def test_a_param_the_manifest_declares_secure_is_refused_before_the_run(tmp_path: Path) -> None:
    """Named in the manifest's secure_parameters, whatever the template declares."""
    project = tmp_path / "project"
    (project / "parameters").mkdir(parents=True)
    (project / "infra").mkdir()
    body = template([storage("st1")], parameters={"token": {"type": "string"}})
    (project / "infra" / "main.json").write_text(json.dumps(body), encoding="utf-8")
    manifest: dict[str, Any] = {"template": "../infra/main.json"}
    manifest["scope"] = {"resource_group": "rg-dev", "location": "westeurope"}
    manifest["secure_parameters"] = {"token": {"env": "TOKEN_FOR_TEST"}}
    (project / "parameters" / "dev.yaml").write_text(yaml.safe_dump(manifest), encoding="utf-8")
    spec = load_environments(project)["dev"]
    assert refusal_before_run(spec, {"Token": "x" * 20}, {"TOKEN_FOR_TEST": "y" * 20}) == (
        "--param Token: 'Token' is a secure parameter of environment 'dev'; a secure value is "
        "never given on the command line, because run config is stored in clear text. Give it "
        "through the manifest's secure_parameters (an environment variable or a Key Vault "
        "reference). Nothing was stored."
    )
    assert refusal_before_run(spec, {}, {"TOKEN_FOR_TEST": "y" * 20}) is None


@pytest.mark.parametrize(("value", "size"), [("s", "1 character"), ("seven77", "7 characters")])
def test_cli_refuses_a_secret_too_short_to_mask_before_the_run_exists(
    cli_project: Path, tmp_path: Path, value: str, size: str, cli: Cli
) -> None:
    home = tmp_path / "home"
    refused = cli(cli_project, home, "deploy", "dev", secret=value)
    assert refused.returncode == 2
    assert refused.stderr == (
        f"error: Secure parameter 'appSecret' ({{env: DEV_APP_SECRET}}) is {size} long: secure "
        "values shorter than 8 characters are refused, because they cannot be masked reliably "
        "in logs, errors and outputs (any run of 8 or more characters of a secure value is "
        "masked; a shorter one would match ordinary text). Use a longer value. Nothing was "
        "stored.\n"
    )
    assert not home.exists()  # refused before DAGSTER_HOME was prepared: nothing stored


# -- in process, with the local ARM's faults -------------------------------------------------
@dataclass
class Stage:
    project: Project
    home: Path

    def trace(self, result: dg.ExecuteInProcessResult, *, secret: str = CANARY) -> None:
        texts = {"result": "\n".join(repr(e) for e in result.all_events)}
        assert_no_trace(
            self.home,
            self.project.root,
            texts=texts,
            arm_state=self.home / "localarm" / "state.sqlite",
            secret=secret,
        )


@pytest.fixture
def stage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stage]:
    """The shipped example on a persistent SQLite instance and a local ARM whose state is
    under DAGSTER_HOME; the canary is the dev secret."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("DEV_APP_SECRET", CANARY)
    state = home / "localarm" / "state.sqlite"
    state.parent.mkdir()
    with (
        LocalArm(state=state, config=LocalArmConfig(retry_after=0)) as arm,
        dg.DagsterInstance.local_temp(tempdir=str(home)) as instance,
    ):
        project = Project(tmp_path / "project", arm, instance)
        copy_example(project)
        yield Stage(project, home)


def failure_of(result: dg.ExecuteInProcessResult, step: str) -> Any:
    (event,) = [
        e for e in result.all_events if e.step_key == step and e.event_type_value == "STEP_FAILURE"
    ]
    return event.step_failure_data.user_failure_data


ECHOES = {
    "full": CANARY,
    "first 10": CANARY[:10],
    "middle 12": CANARY[10:22],
    "last 9": CANARY[-9:],
}


@pytest.mark.parametrize("echo", list(ECHOES), ids=list(ECHOES))
def test_plan_failing_on_a_what_if_error_that_echoes_the_secret(stage: Stage, echo: str) -> None:
    project = stage.project
    project.arm.connection.resource_client().resource_groups.create_or_update(
        RG, {"location": "westeurope"}
    )  # the group exists, so plan asks ARM's what-if
    project.faults(
        FaultRule(
            kind="status",
            status=400,
            operation="Deployments_WhatIf",
            arm_code="InvalidParameter",
            arm_message=f"The value '{ECHOES[echo]}…' of 'appSecret' is not valid.",
        )
    )
    result = project.run("plan_dev", sdk_retry_total=0, sdk_retry_status=0)
    assert not result.success
    failure = failure_of(result, "plan")
    assert failure.metadata["arm_message"].value == (
        f"The value '{MASK}…' of 'appSecret' is not valid."
    )
    stage.trace(result)


def test_deploy_failing_on_an_arm_error_that_echoes_the_secret(stage: Stage) -> None:
    project = stage.project
    project.faults(
        FaultRule(
            kind="deployment_error",
            resource_type="Microsoft.KeyVault/vaults/secrets",
            arm_code="InvalidParameter",
            arm_message=f"The secret value '{CANARY}' is not valid.",
        )
    )
    result = project.run("deploy_dev")
    assert not result.success
    failure = failure_of(result, "deploy")
    # the local ARM masks what it records; the pipeline would mask it too
    assert failure.metadata["arm_message"].value == f"The secret value '{MASK}' is not valid."
    stage.trace(result)


def test_deploy_failing_on_a_partial_echo_of_the_secret(stage: Stage) -> None:
    project = stage.project
    project.faults(
        FaultRule(
            kind="status",
            status=400,
            operation="Deployments_CreateOrUpdate",
            arm_code="InvalidParameter",
            arm_message=f"The value starting with '{CANARY[:10]}' of 'appSecret' is not valid.",
        )
    )  # an HTTP error: the local ARM records nothing, the pipeline alone masks it
    result = project.run("deploy_dev", sdk_retry_total=0, sdk_retry_status=0)
    assert not result.success
    failure = failure_of(result, "deploy")
    assert failure.metadata["arm_message"].value == (
        f"The value starting with '{MASK}' of 'appSecret' is not valid."
    )
    stage.trace(result)


def test_a_run_config_override_of_a_secure_parameter_goes_no_further(stage: Stage) -> None:
    """The launchpad path: Dagster has stored the run config before any op runs — lint
    refuses the run first thing, and the value reaches nothing else."""
    given = random_secret()
    config = {"ops": {"lint": {"config": {"parameter_overrides": {"appSecret": given}}}}}
    result = stage.project.run("deploy_dev", run_config=config)
    assert not result.success
    failure = failure_of(result, "lint")
    assert failure.description == (
        "Logic failure, SecureParameterInRunConfig: "
        "run config parameter_overrides: 'appSecret' is a secure parameter and cannot be given "
        "in run config, which Dagster stores in clear text in its run storage — this run's "
        "config now holds the value: delete the run and rotate the secret. Give it through the "
        "manifest's secure_parameters (an environment variable or a Key Vault reference)."
    )
    assert failure.metadata["arm_code"].value == "SecureParameterInRunConfig"
    with dg.DagsterInstance.from_config(str(stage.home)) as instance:
        run = instance.get_run_by_id(result.run_id)
        assert run is not None and leaks(json.dumps(run.run_config), given)  # as documented
        events = [serialize_value(r) for r in instance.all_logs(result.run_id)]
    assert [e for e in events if leaks(e, given)] == []
    assert list(stage.project.arm.app.requests) == []  # nothing reached ARM
    assert files_leaking(stage.home, given) == ["history/runs.db"]  # run storage alone
    with pytest.raises(AssertionError, match="run "):
        stage.trace(result, secret=given)  # the trace sees a stored value


def test_a_template_declared_secure_parameter_in_run_config_is_refused(stage: Stage) -> None:
    project = stage.project
    body = template([storage("st1")], parameters={"token": {"type": "securestring"}})
    project.write_manifest("dev", template=project.write_template("main.json", body))
    given = random_secret()
    config = {"ops": {"lint": {"config": {"parameter_overrides": {"token": given}}}}}
    result = project.run("plan_dev", run_config=config)
    failure = failure_of(result, "lint")
    assert failure.description == (
        "run config parameter_overrides: Parameter 'token' is secure (securestring) and cannot "
        "be overridden in run config, which is stored in clear text; give it as a secure "
        "parameter of the environment manifest (environment variable or Key Vault reference). "
        "This run's config now holds the value: delete the run and rotate the secret."
    )
    events = [serialize_value(r) for r in project.instance.all_logs(result.run_id)]
    assert [e for e in events if leaks(e, given)] == []


def test_a_secret_too_short_to_mask_fails_lint_first_thing(
    stage: Stage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Runs launched from the UI, a sensor or a schedule: lint refuses before it compiles."""
    monkeypatch.setenv("DEV_APP_SECRET", "short")
    result = stage.project.run("deploy_dev")
    failure = failure_of(result, "lint")
    assert failure.description == (
        "Logic failure, SecureValueTooShort: "
        "Secure parameter 'appSecret' ({env: DEV_APP_SECRET}) is 5 characters long: secure "
        "values shorter than 8 characters are refused, because they cannot be masked reliably "
        "in logs, errors and outputs (any run of 8 or more characters of a secure value is "
        "masked; a shorter one would match ordinary text). Use a longer value."
    )
    assert failure.metadata["arm_code"].value == "SecureValueTooShort"
    assert [e.step_key for e in result.all_events if e.is_step_success] == []
    assert list(stage.project.arm.app.requests) == []


@pytest.mark.parametrize("secret", ["principalId", "Microsoft.KeyVault"])
def test_a_secret_that_is_a_common_word_never_rewrites_ids_or_paths(
    stage: Stage, monkeypatch: pytest.MonkeyPatch, secret: str
) -> None:
    """A secret that also appears in every resource id (or in a what_if_ignore path) is
    masked in messages, never in ids, paths or change types: the redeploy plans no change,
    verify finds every resource by id."""
    monkeypatch.setenv("DEV_APP_SECRET", secret)
    deployed = stage.project.run("deploy_dev")
    assert deployed.success, [e.message for e in deployed.all_events if e.is_failure]
    ids = deployed.output_for_node("deploy").output_resources
    assert any(secret in i for i in ids) is (secret == "Microsoft.KeyVault")
    again = stage.project.run("plan_dev")
    assert again.success
    plan = again.output_for_node("plan")
    assert {c.change_type for c in plan.changes} == {"NoChange"}  # what_if_ignore matched
    assert sorted(c.resource_id for c in plan.changes) == sorted(ids)
    assert all(c.ok for c in deployed.output_for_node("verify").checks)


# -- the local ARM never returns a secure value --------------------------------------------
NESTED = {
    "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
    "contentVersion": "1.0.0.0",
    "parameters": {"pw": {"type": "securestring"}},
    "resources": [
        {
            "type": "Microsoft.KeyVault/vaults",
            "apiVersion": "2023-07-01",
            "name": "kv1",
            "location": "[resourceGroup().location]",
            "properties": {
                "tenantId": "[subscription().tenantId]",
                "sku": {"family": "A", "name": "standard"},
            },
        },
        {
            "type": "Microsoft.KeyVault/vaults/secrets",
            "apiVersion": "2023-07-01",
            "name": "kv1/s1",
            "dependsOn": ["kv1"],
            "properties": {"value": "[parameters('pw')]"},
        },
        {
            "type": "Microsoft.Resources/deployments",
            "apiVersion": "2022-09-01",
            "name": "inner",
            "properties": {
                "mode": "Incremental",
                "expressionEvaluationOptions": {"scope": "inner"},
                "parameters": {"plain": {"value": "[concat('conn=', parameters('pw'))]"}},
                "template": {
                    "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
                    "contentVersion": "1.0.0.0",
                    "parameters": {"plain": {"type": "string"}},
                    "resources": [],
                    "outputs": {"echo": {"type": "string", "value": "[parameters('plain')]"}},
                },
            },
        },
    ],
    "outputs": {
        "leak": {"type": "string", "value": "[parameters('pw')]"},
        "ok": {"type": "string", "value": "fine"},
    },
}


@pytest.fixture
def arm(tmp_path: Path) -> Iterator[LocalArm]:
    with LocalArm(
        state=tmp_path / "arm" / "state.sqlite", config=LocalArmConfig(retry_after=0)
    ) as local:
        local.connection.resource_client().resource_groups.create_or_update(
            "rg", {"location": "westeurope"}
        )
        yield local


def body_with(secret: str, template_body: dict[str, Any] = NESTED) -> dict[str, Any]:
    return {
        "properties": {
            "mode": "Incremental",
            "template": template_body,
            "parameters": {"pw": {"value": secret}},
        }
    }


def test_the_local_arm_answers_no_secure_value(arm: LocalArm, tmp_path: Path) -> None:
    client = arm.connection.deployments_client()
    what_if = client.deployments.begin_what_if("rg", "d1", body_with(CANARY)).result().as_dict()
    secret_change = next(
        c for c in what_if["properties"]["changes"] if c["resourceId"].endswith("/secrets/s1")
    )
    assert secret_change["after"]["properties"]["value"] == MASK  # Azure's what-if shows it
    assert not leaks(json.dumps(what_if))
    client.deployments.begin_create_or_update("rg", "d1", body_with(CANARY)).result()
    top = client.deployments.get("rg", "d1").as_dict()["properties"]
    assert top["parameters"] == {"pw": {"type": "SecureString"}}
    assert top["outputs"] == {"leak": {"type": "String"}, "ok": {"type": "String", "value": "fine"}}
    inner = client.deployments.get("rg", "inner").as_dict()["properties"]
    assert inner["parameters"] == {"plain": {"type": "String"}}  # stricter than Azure
    assert inner["outputs"] == {"echo": {"type": "String"}}
    answers = [json.dumps(d.as_dict()) for d in client.deployments.list_by_resource_group("rg")]
    for name in ("d1", "inner"):
        answers += [json.dumps(o.as_dict()) for o in client.deployment_operations.list("rg", name)]
        answers.append(json.dumps(client.deployments.export_template("rg", name).as_dict()))
    assert [a for a in answers if leaks(a)] == []
    assert files_leaking(tmp_path / "arm") == []


def test_the_local_arm_records_no_echo_of_a_secure_value(arm: LocalArm, tmp_path: Path) -> None:
    arm.backend.faults.replace(
        FaultPlanSpec(
            seed=1,
            rules=[
                FaultRule(
                    kind="deployment_error",
                    resource_type="Microsoft.KeyVault/vaults/secrets",
                    arm_code="InvalidParameter",
                    arm_message=f"Bad value '{CANARY[:12]}…' for the secret.",
                )
            ],
        )
    )
    client = arm.connection.deployments_client()
    poller = client.deployments.begin_create_or_update("rg", "d1", body_with(CANARY))
    with pytest.raises(HttpResponseError):
        poller.result()
    record = client.deployments.get("rg", "d1").as_dict()
    detail = record["properties"]["error"]["details"][0]
    assert detail["message"] == f"Bad value '{MASK}…' for the secret."
    operations = [o.as_dict() for o in client.deployment_operations.list("rg", "d1")]
    assert [o for o in operations if leaks(json.dumps(o))] == []
    assert files_leaking(tmp_path / "arm") == []


def test_the_local_arm_masks_secure_values_in_validation_errors(arm: LocalArm) -> None:
    """The engine quotes a plain parameter's value when it is not allowed: a secure value
    passed down to it is masked."""
    body = json.loads(json.dumps(NESTED))
    inner = body["resources"][2]["properties"]["template"]
    inner["parameters"]["plain"]["allowedValues"] = ["a", "b"]
    client = arm.connection.deployments_client()
    with pytest.raises(HttpResponseError) as raised:
        client.deployments.begin_validate("rg", "d1", body_with(CANARY, body)).result()
    text = json.dumps(raised.value.response.json())
    assert MASK in text and not leaks(text)
    # what-if reports the same refusal in its result
    result = client.deployments.begin_what_if("rg", "d1", body_with(CANARY, body)).result()
    text = json.dumps(result.as_dict())
    assert result.status == "Failed" and MASK in text and not leaks(text)


def test_a_short_secure_value_is_masked_by_the_local_arm_where_a_value_equals_it(
    arm: LocalArm,
) -> None:
    """The local ARM can be given any value: one shorter than 8 characters is masked where a
    whole value equals it, and nowhere else (a resource named like it keeps its name)."""
    client = arm.connection.deployments_client()
    result = client.deployments.begin_what_if("rg", "d1", body_with("kv1")).result().as_dict()
    changes = result["properties"]["changes"]
    change = next(c for c in changes if c["resourceId"].endswith("/secrets/s1"))
    assert change["after"]["properties"]["value"] == MASK
    vault = next(c for c in changes if c["resourceId"].endswith("/vaults/kv1"))
    assert vault["after"]["name"] == "kv1"


# -- the scrubber --------------------------------------------------------------------------
SECRET = "Zq8xW3vT9mKp2LrN7cYd4HsJ6bFg1EaU"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (f"value '{SECRET}' is bad", f"value '{MASK}' is bad"),
        (f"starts '{SECRET[:8]}' here", f"starts '{MASK}' here"),
        (f"middle {SECRET[11:23]}!", f"middle {MASK}!"),
        (f"ends {SECRET[-10:]}", f"ends {MASK}"),
        (f"{SECRET[:10]}{SECRET[5:20]}", MASK),  # two overlapping echoes: one mask
        (f"a {SECRET[:9]} b {SECRET[20:30]} c", f"a {MASK} b {MASK} c"),
        (f"seven {SECRET[:7]} only", f"seven {SECRET[:7]} only"),  # N-1: not masked
        (f"{SECRET[:7]}#{SECRET[7:14]}", f"{SECRET[:7]}#{SECRET[7:14]}"),  # broken run
        (json.dumps({"m": f'x"{SECRET}'}), json.dumps({"m": f'x"{MASK}'})),
    ],
    ids=["full", "start", "middle", "end", "overlap", "two", "n-1", "broken", "json"],
)
def test_mask_masks_full_and_partial_echoes(text: str, masked: str) -> None:
    assert SecretMask([SECRET]).text(text) == masked


def test_mask_leaves_text_without_a_run_untouched() -> None:
    text = "Deployment dev-1 failed: InvalidTemplate at resources['site']"
    assert SecretMask([SECRET]).text(text) is text
    assert SecretMask([]).text(text) is text


def test_mask_knows_several_secrets_and_unicode_ones() -> None:
    other = "Ключ-秘密-pässwörd-∑42"
    mask = SecretMask([SECRET, other])
    text = f"{SECRET[3:14]} / {other[4:13]} / {other[:5]}"
    assert mask.text(text) == f"{MASK} / {MASK} / {other[:5]}"
    escaped = json.dumps({"v": other})  # \u-escaped, as a JSON document quotes it
    assert other[:8] not in escaped and mask.text(escaped) == '{"v": "' + MASK + '"}'
    assert SecretMask([SECRET]).with_secrets([other]).secrets == mask.secrets


def test_mask_keeps_ids_names_paths_and_change_types() -> None:
    """A secret that is a common word is masked in messages, never in identifiers, so ids
    stay intact and what_if_ignore keeps matching."""
    word = "principalId"
    mask = SecretMask([word])
    rid = f"{SCOPE}/providers/Microsoft.Authorization/roleAssignments/principalIdGrant"
    result = {
        "status": "Succeeded",
        "properties": {
            "changes": [
                {
                    "resourceId": rid,
                    "changeType": "Modify",
                    "after": {"id": rid, "name": "principalIdGrant", "properties": {"note": word}},
                    "delta": [
                        {
                            "path": "properties.principalId",
                            "propertyChangeType": "Modify",
                            "before": "x",
                            "after": f"[reference('site').identity.{word}]",
                        }
                    ],
                }
            ]
        },
    }
    masked = mask.value(result)
    change = masked["properties"]["changes"][0]
    assert (change["resourceId"], change["after"]["id"], change["after"]["name"]) == (
        rid,
        rid,
        "principalIdGrant",
    )
    assert change["after"]["properties"] == {"note": MASK}
    assert change["delta"][0]["path"] == "properties.principalId"
    assert change["delta"][0]["after"] == f"[reference('site').identity.{MASK}]"
    plan = plan_from_what_if("dev", masked, ["properties.principalId"])
    assert [(c.resource_id, c.change_type) for c in plan.changes] == [(rid, "NoChange")]
    assert mask.text(f"Create {word}Grant: Failed ({word} is wrong)") == (
        f"Create {MASK}Grant: Failed ({MASK} is wrong)"
    )


def seeded(seed: int, size: int = 64) -> str:
    """A secret of ``size`` characters, the same for the same seed."""
    chooser = random.Random(seed)
    return "".join(chooser.choice(ALPHABET) for _ in range(size))


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "secrets_",
    [[SECRET], [seeded(i) for i in range(40)], ["a" * 40]],
    ids=["one secret", "40 secrets, 2280 windows (sliding pass)", "every position matches"],
)
def test_mask_is_linear_on_a_megabyte(secrets_: list[str]) -> None:
    """1 MB of text (with echoes sprinkled, or matching everywhere) is masked in one pass:
    no quadratic behaviour — the timeout would catch it, no timing is asserted."""
    mask = SecretMask(secrets_)
    chunk = ("lorem ipsum " * 90)[:1000]
    text = "".join(chunk + (secrets_[0][:12] if i % 10 == 0 else "") for i in range(1000))
    if secrets_ == ["a" * 40]:
        text = "a" * 1_000_000
    masked = mask.text(text)
    assert len(text) >= 1_000_000
    assert not any(s[:MIN_SECRET_RUN] in masked for s in secrets_)
    assert masked.count(MASK) == (1 if secrets_ == ["a" * 40] else 100)


# -- the op boundary -----------------------------------------------------------------------
def test_the_op_boundary_masks_logs_outputs_metadata_and_materializations() -> None:
    word = "Microsoft.KeyVault"
    rid = f"{SCOPE}/providers/Microsoft.KeyVault/vaults/kv1"

    @dg.op
    def leaky(context: dg.OpExecutionContext) -> dg.Output[WhatIfChange]:
        with failure_boundary(context) as boundary:
            boundary.add_secrets([SECRET, word])
            boundary.log.info(f"ARM said {SECRET[:10]} about {word}")
            boundary.materialize(
                dg.AssetKey(["azure", "dev"]),
                f"echo {SECRET}",
                {"deployment_id": rid, "outputs": dg.MetadataValue.json({"o": SECRET})},
            )
            change = WhatIfChange(
                resource_id=rid,
                resource_type="Microsoft.KeyVault/vaults",
                change_type="Modify",
                delta=[PropertyChange(path="properties.x", change_type="Modify", after=SECRET)],
            )
            rows = [{"resource_id": rid, "detail": f"{SECRET[4:20]} {word}"}]
            table = dg.MetadataValue.table(
                records=[dg.TableRecord(r) for r in rows],
                schema=dg.TableSchema(
                    columns=[dg.TableColumn("resource_id"), dg.TableColumn("detail")]
                ),
            )
            return boundary.output(change, {"rows": table, "note": f"{word}!"})

    @dg.job
    def one() -> None:
        leaky()

    with dg.DagsterInstance.ephemeral() as instance:
        result = one.execute_in_process(instance=instance)
        stored = [serialize_value(r) for r in instance.all_logs(result.run_id)]
    change = result.output_for_node("leaky")
    assert (change.resource_id, change.delta[0].path) == (rid, "properties.x")
    assert change.delta[0].after == MASK
    (output,) = [e for e in result.all_events if e.event_type_value == "STEP_OUTPUT"]
    metadata = output.event_specific_data.metadata
    assert metadata["rows"].value.records[0].data == {
        "resource_id": rid,
        "detail": f"{MASK} {MASK}",
    }
    assert metadata["note"].value == f"{MASK}!"
    (materialized,) = result.get_asset_materialization_events()
    data = materialized.event_specific_data.materialization
    assert data.description == f"echo {MASK}"
    assert data.metadata["deployment_id"].value == rid
    assert data.metadata["outputs"].value == {"o": MASK}
    assert [s for s in stored if leaks(s, SECRET)] == []
    assert any(f"ARM said {MASK} about {MASK}" in s for s in stored)


# -- the audit's check ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("cell", "found"),
    [
        (f"error: '{SECRET}'", True),
        (f"error: '{SECRET[:10]}…'", True),
        (f"{SECRET[12:20]}", True),
        (f"{SECRET[:7]} and {SECRET[7:14]}", False),
        ("nothing to see", False),
    ],
    ids=["full", "first 10", "middle 8", "two 7s", "none"],
)
def test_no_secure_values_finds_partial_echoes(cell: str, found: bool) -> None:
    events = TABLES["deployment_events"]
    columns = ", ".join(f'"{c.name}" {c.sql_type}' for c in events.columns)
    with duckdb.connect() as connection:
        connection.execute("CREATE SCHEMA audit")
        connection.execute(f"CREATE TABLE audit.deployment_events ({columns})")
        connection.execute(
            "INSERT INTO audit.deployment_events (run_id, message) VALUES ('r', ?)", [cell]
        )
        hits = find_secure_values(connection, "deployment_events", {"dev.pw ({env: PW})": SECRET})
    expected = [{"column": "message", "secure_parameter": "dev.pw ({env: PW})", "rows": 1}]
    assert hits == (expected if found else [])
