"""What ``bicep-assets deploy|plan|apply`` prints while a run executes and when it fails,
through ``cli.main`` in this process: a real project in git, a real DAGSTER_HOME, the
embedded local ARM."""

from __future__ import annotations

import io
import json
import re
import sys
from pathlib import Path

import dagster as dg
import pytest

from bicep_assets.cli import main
from tests.cli_helpers import project_in_git

SECRET = "progress-test-secret-value"
SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
RUN_ID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DEV_APP_SECRET", SECRET)
    return project_in_git(tmp_path / "project")


def run(project: Path, *args: str) -> tuple[int, str, str]:
    """``bicep-assets ARGS --project PROJECT``: (exit code, stdout, stdout and stderr as one
    stream, in the order a terminal shows them)."""
    out, both = io.StringIO(), io.StringIO()

    class Tee(io.StringIO):
        def write(self, text: str) -> int:
            out.write(text)
            return both.write(text)

    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = Tee(), both
    try:
        code = main([*args, "--project", str(project)])
    finally:
        sys.stdout, sys.stderr = saved
    return code, out.getvalue(), both.getvalue()


def lines_matching(text: str, *patterns: str) -> list[str]:
    """The lines of ``text`` that start with one of ``patterns`` (regular expressions)."""
    return [line for line in text.splitlines() if any(re.match(p, line) for p in patterns)]


def runs(home: Path) -> list[dg.DagsterRun]:
    with dg.DagsterInstance.from_config(str(home)) as instance:
        return list(reversed(instance.get_runs()))


def test_deploy_prints_each_step_and_the_plan_before_the_deployment(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, both = run(project, "deploy", "dev")
    assert code == 0, both
    steps = lines_matching(both, r"(lint|plan|gate|deploy|verify) +(started|ok in)")
    assert [" ".join(line.split()[:2]) for line in steps] == [
        "lint started",
        "lint ok",
        "plan started",
        "plan ok",
        "gate started",
        "gate ok",
        "deploy started",
        "deploy ok",
        "verify started",
        "verify ok",
    ]
    # the group is new: ARM planned it and its 6 resources (a subscription-scope what-if)
    assert re.search(
        r"^plan    ok in \d+\.\d s: 7 to create, 0 to modify, 0 to delete, 0 unchanged$", both, re.M
    )
    # the plan is on stdout, printed when the plan step ended: before the gate started
    assert "What-if for dev\n\n7 to create, 0 to modify, 0 to delete, 0 unchanged" in out
    assert both.index("What-if for dev") < both.index("gate    started")
    # each operation whose state changed, as the deploy step polls them: a resource may show
    # Running on one poll before Succeeded on the next; each of the 6 ends Succeeded
    operations = lines_matching(both, r"deploy  (Create|NoChange|Modify) ")
    last = {line.rpartition(": ")[0]: line.rpartition(": ")[2] for line in operations}
    assert len(last) == 6 and set(last.values()) == {"Succeeded"}, operations
    assert re.search(r"^verify  ok in \d+\.\d s: 13 check\(s\) passed$", both, re.M)
    assert re.search(rf"^deploy_dev succeeded in \d+\.\d s \(run {RUN_ID}\)\.$", out, re.M)
    assert " - dagster - " not in both  # Dagster's console logger is quiet
    assert SECRET not in both

    # again: the plan finds nothing to change, and no operation claims to create anything
    code, out, both = run(project, "deploy", "dev")
    assert code == 0, both
    operations = lines_matching(both, r"deploy  [A-Z]")
    operations = [line for line in operations if "Microsoft." in line]
    assert all(
        line.startswith("deploy  NoChange Microsoft.")
        and line.endswith(" (applied again, the plan found nothing to change)")
        for line in operations
    ), operations
    ended = [line for line in operations if ": Succeeded (applied again" in line]
    assert len(ended) == 6, operations


def test_plan_prints_its_id_and_apply_runs_deploy_with_it(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, both = run(project, "plan", "dev")
    assert code == 0, both
    (planned,) = runs(tmp_path / "home")
    assert planned.job_name == "plan_dev"
    assert out.endswith(
        f"Plan id: {planned.run_id}\n"
        f"To apply exactly this plan: bicep-assets apply dev --plan {planned.run_id}\n"
    )
    assert lines_matching(both, r"(lint|plan) +ok in") and "gate" not in both

    code, out, both = run(project, "apply", "dev", "--plan", planned.run_id.upper())
    assert code == 0, both
    applied = runs(tmp_path / "home")[-1]
    assert applied.job_name == "deploy_dev"
    gate = applied.run_config["ops"]["gate"]["config"]  # type: ignore[index]
    assert gate == {"allow_destructive": False, "approved_plan": planned.run_id}


@pytest.mark.parametrize(
    "plan_id",
    ["abc", "329d2461-223e-4e4f-b8e9", "329d2461223e4e4fb8e979c51ea17e2f", "../../etc/passwd"],
)
def test_a_malformed_plan_id_is_refused_before_any_run(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, plan_id: str
) -> None:
    code, out, both = run(project, "apply", "dev", "--plan", plan_id)
    assert (code, out) == (2, "")
    assert both == (
        f"error: --plan '{plan_id}' is not a plan id: a plan id is the run id of the plan run "
        "(36 characters, as `bicep-assets plan <env>` prints it)\n"
    )
    assert not (tmp_path / "home").exists()  # no instance, so no run


def test_a_failed_run_prints_the_cause_first_and_no_traceback(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = {
        "$schema": SCHEMA,
        "contentVersion": "1.0.0.0",
        "resources": [],
        "outputs": {"x": {"type": "string", "value": "[parameters('nope')]"}},
    }
    (project / "infra" / "lint.json").write_text(json.dumps(body), encoding="utf-8")
    (project / "parameters" / "lint.yaml").write_text(
        "template: ../infra/lint.json\nscope: {resource_group: rg-lint, location: westeurope}\n",
        encoding="utf-8",
    )
    code, out, both = run(project, "plan", "lint")
    assert (code, out) == (1, "")
    (failed,) = runs(tmp_path / "home")
    error = both.split("\n\n", 1)[1].splitlines()
    assert error[0] == (
        "error: lint failed: logic failure, arm-undefined-parameter: The template parameter "
        "'nope' is not declared."
    ), both
    assert (
        error[1]
        == "  what to do: fix what lint found in the template or the parameters, then run again"
    )
    assert error[-1] == (
        f"plan_lint failed after {error[-1].split(' after ')[1].split(' s ')[0]} s (run "
        f"{failed.run_id}; the run's events: the UI, or bicep-assets audit export --run "
        f"{failed.run_id})."
    )
    assert "lint    failed: logic failure, arm-undefined-parameter: " in both
    assert "plan    skipped" in both
    assert "Traceback" not in both and "Stack Trace" not in both

    code, _, traced = run(project, "plan", "lint", "--debug")
    assert code == 1
    assert "Stack Trace:" in traced  # --debug: Dagster's own log and the step's traces
    assert 'File "' in traced and "bicep_assets/pipeline/lint.py" in traced


def test_a_plan_that_cannot_be_applied_is_refused_before_any_run(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An id that names no saved plan, or another environment's plan: exit 2 with what the
    gate would say, and no deploy run (the instance holds only the plan run)."""
    home = tmp_path / "home"
    unknown = "0f8c2c4e-5b1a-4e8e-9a8e-3c1f2d4b5a6c"
    code, out, both = run(project, "apply", "dev", "--plan", unknown)
    assert (code, out) == (2, "")
    assert both == (
        f"error: --plan: no saved plan {unknown} in this Dagster instance (no such run, or its "
        "plan step did not finish); make a plan (`bicep-assets plan dev`, or launch plan_dev), "
        "review it, then apply it by its id (`bicep-assets apply dev --plan ID`, or launch "
        "deploy_dev with ops.gate.config.approved_plan: ID).\n"
    )
    assert runs(home) == []
    code, _, both = run(project, "plan", "dev")
    assert code == 0, both
    (planned,) = runs(home)
    monkeypatch.setenv("PROD_APP_SECRET", SECRET)
    code, out, both = run(project, "apply", "prod", "--plan", planned.run_id)
    assert (code, out) == (2, "")
    assert both.startswith(
        f"error: --plan: plan {planned.run_id} is a plan of environment 'dev', not of 'prod'; "
    ), both
    assert [r.job_name for r in runs(home)] == ["plan_dev"]


BAD_INPUT = [
    (
        ["deploy", "staging"],
        {},
        "error: no environment 'staging' (environments: dev, landing, prod)\n",
    ),
    (
        ["deploy", "../dev"],
        {},
        "error: no environment '../dev' (environments: dev, landing, prod)\n",
    ),
    (
        ["plan", "dev", "--param", "nope=1"],
        {},
        "error: --param: 'nope' is not a parameter of the template (its parameters: appSecret, "
        "appServiceSku, environmentName, location, storageSku).\n",
    ),
    (
        ["plan", "dev", "--param", "appServiceSku=Huge"],
        {},
        "error: --param: Parameter 'appServiceSku' (string) does not",
    ),
    (
        ["deploy", "dev", "--param", f"appSecret={SECRET}"],
        {},
        "error: --param: Parameter 'appSecret' is secure (securestring) and cannot be",
    ),
    (["deploy", "dev"], {"DEV_APP_SECRET": None}, "error: parameters/dev.yaml: secure_"),
    (["deploy", "dev"], {"DEV_APP_SECRET": "short"}, "error: Secure parameter 'appSecret'"),
    (["apply", "dev", "--plan", "latest"], {}, "error: --plan 'latest' is not a plan id"),
    (
        ["deploy", "prod"],
        {"PROD_APP_SECRET": SECRET},
        "error: environment 'prod' requires an approved plan (deployment.require_approved_plan "
        "in parameters/prod.yaml): make a plan with `bicep-assets plan prod`, review it, then "
        "apply it with `bicep-assets apply prod --plan ID`\n",
    ),
]


@pytest.mark.parametrize(("args", "env", "error"), BAD_INPUT, ids=lambda v: str(v)[:30])
def test_bad_input_is_refused_before_any_run_exists(
    project: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    env: dict[str, str | None],
    error: str,
) -> None:
    for name, value in env.items():
        if value is None:
            monkeypatch.delenv(name)
        else:
            monkeypatch.setenv(name, value)
    code, out, both = run(project, *args)
    assert (code, out) == (2, "")
    assert both.startswith(error) and "Traceback" not in both, both
    assert len(both.splitlines()) == 1 and SECRET not in both
    assert not (tmp_path / "home").exists()  # no instance: no run
