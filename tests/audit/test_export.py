"""``bicep-assets audit export`` as a separate process against the history's DAGSTER_HOME."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from bicep_assets.cli import main

from ..cli_helpers import run_bicep_assets
from .conftest import CANARY, SHA, History


def export(history: History, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DAGSTER_HOME": str(history.home)}
    arguments = ["audit", "export", *args, "--project", str(history.project.root)]
    return run_bicep_assets(arguments, cwd=Path.cwd(), env=env, timeout=120)


@pytest.mark.slow
def test_export_one_run_as_json(history: History) -> None:
    run_id = history.run_id("dev")
    done = export(history, "--run", run_id)
    assert done.returncode == 0, done.stderr[-2000:]
    record = json.loads(done.stdout)
    assert sorted(record) == [
        "deployed_resources",
        "events",
        "lint_diagnostics",
        "outputs",
        "planned_changes",
        "run",
        "saved_plan",
        "verify_checks",
    ]
    run = record["run"]
    assert (run["run_id"], run["status"], run["git_sha"], run["trigger"]) == (
        run_id,
        "success",
        SHA,
        "cli",
    )
    assert run["ended_at"].endswith("+00:00") and run["deployment_name"] == f"dev-{run_id}"
    events = [e["event_type"] for e in record["events"]]
    assert (events[0], events[-1], len(events)) == ("RUN_START", "RUN_SUCCESS", 14)
    assert record["saved_plan"]["plan_id"] == run_id  # the plan its plan step saved
    # the plan also created the resource group, which is the deployment's scope, not one of
    # its resources
    assert (len(record["planned_changes"]), len(record["deployed_resources"])) == (7, 6)
    assert record["outputs"]["webUrl"].startswith("https://")
    assert {c["kind"] for c in record["verify_checks"]} >= {"provisioning_state", "http"}
    assert CANARY not in done.stdout and CANARY not in done.stderr


@pytest.mark.slow
def test_export_an_environment_oldest_first(history: History) -> None:
    done = export(history, "--env", "cleanup", "--limit", "2")
    assert done.returncode == 0, done.stderr[-2000:]
    document = json.loads(done.stdout)
    assert document["environment"] == "cleanup"
    assert [(r["run"]["run_id"], r["run"]["status"]) for r in document["runs"]] == [
        (history.run_id("cleanup_blocked"), "failure"),
        (history.run_id("cleanup_approved"), "success"),
    ]
    blocked = document["runs"][0]
    assert (blocked["run"]["arm_code"], blocked["planned_changes"][0]["change_type"]) == (
        "DestructiveChange",
        "Delete",
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--run", "no-such-run"], "no deploy/plan run 'no-such-run' in DAGSTER_HOME"),
        (["--env", "staging"], "no deploy/plan runs of environment 'staging' in DAGSTER_HOME"),
        (["--plan", "latest"], "no saved plan 'latest' in DAGSTER_HOME"),
        (
            ["--plan", "0" * 8 + "-0000-0000-0000-" + "0" * 12, "--limit", "1"],
            "--limit applies to --env only (--plan exports one plan)",
        ),
    ],
    ids=["unknown-run", "unknown-env", "unknown-plan", "plan-with-limit"],
)
def test_export_of_nothing_says_so(
    history: History,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(history.home))
    code = main(["audit", "export", *args, "--project", str(history.project.root)])
    captured = capsys.readouterr()
    assert (code, captured.out) == (2, "")
    assert message in captured.err
    assert str(history.home) in captured.err or "--limit" in message


def test_export_a_saved_plan(
    history: History, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(history.home))
    plan_id = history.run_id("drift")  # a plan_flaky run
    code = main(["audit", "export", "--plan", plan_id, "--project", str(history.project.root)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    plan = json.loads(captured.out)
    assert (plan["plan_id"], plan["environment"], plan["job"]) == (plan_id, "flaky", "plan_flaky")
    assert plan["counts"]["Create"] == 1 and plan["counts"]["Modify"] == 1
    modify = next(c for c in plan["changes"] if c["change_type"] == "Modify")
    assert [(d["path"], d["before"], d["after"]) for d in modify["delta"]] == [
        ("sku.name", "Standard_LRS", "Standard_GRS")
    ]
    create = next(c for c in plan["changes"] if c["change_type"] == "Create")
    assert create["after"]["sku"] == {"name": "Standard_LRS"} and create["resource_id"].endswith(
        "/flaky2"
    )
