"""A plan that deletes resources: ``bicep-assets deploy`` asks the person at the terminal
(y/N) at the gate; without a terminal it is refused unless ``--yes``/``--allow-destructive``.
The terminal is a real pseudo-terminal around a real ``bicep-assets`` process."""

from __future__ import annotations

import json
import os
import pty
import select
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from bicep_assets.cli import main
from tests.cli_helpers import project_in_git
from tests.pipeline.conftest import SCHEMA, storage

CLI = str(Path(sys.executable).with_name("bicep-assets"))
GROUP = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-shrink"
QUESTION = "Deploy it, deleting them? Only 'y' deploys. [y/N] "


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Environment ``shrink`` (Complete mode) deployed with storage accounts a, b and c."""
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DEV_APP_SECRET", "confirm-test-secret-value")
    root = project_in_git(tmp_path / "project")
    (root / "parameters" / "shrink.yaml").write_text(
        "template: ../infra/shrink.json\n"
        "scope: {resource_group: rg-shrink, location: westeurope}\n"
        "deployment: {mode: Complete}\n"
        "health_checks: {provisioning_state: true}\n",
        encoding="utf-8",
    )
    keep(root, "stconfirma1", "stconfirmb1", "stconfirmc1")
    assert main(["deploy", "shrink", "--project", str(root)]) == 0
    return root


def keep(root: Path, *names: str) -> None:
    """The template declares only these storage accounts: Complete mode deletes the others."""
    body = {
        "$schema": SCHEMA,
        "contentVersion": "1.0.0.0",
        "resources": [storage(n) for n in names],
    }
    (root / "infra" / "shrink.json").write_text(json.dumps(body), encoding="utf-8")


def accounts(home: Path) -> list[str]:
    """The storage accounts the last successful deploy left (its output resources)."""
    with dg.DagsterInstance.from_config(str(home)) as instance:
        record = instance.get_latest_materialization_event(dg.AssetKey(["azure", "shrink"]))
    assert record is not None and record.asset_materialization is not None
    resources = record.asset_materialization.metadata["output_resources"].value
    return sorted(str(r).rsplit("/", 1)[1] for r in resources)  # type: ignore[union-attr]


def in_terminal(root: Path, answer: str) -> tuple[int, str]:
    """``bicep-assets deploy shrink`` in a pseudo-terminal, typing ``answer`` at the question:
    (exit code, everything the terminal showed)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: the command, its stdin, stdout and stderr the terminal
        os.chdir(root)
        os.execv(CLI, [CLI, "deploy", "shrink"])
    shown, answered, deadline = b"", False, time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 5)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the child closed the terminal: it has ended
            break
        if not chunk:
            break
        shown += chunk
        if not answered and QUESTION.encode() in shown:
            os.write(fd, answer.encode() + b"\n")
            answered = True
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), shown.decode().replace("\r\n", "\n")


def test_without_a_terminal_a_deletion_is_refused_and_yes_applies_it(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    keep(project, "stconfirma1", "stconfirmb1")
    assert main(["deploy", "shrink", "--project", str(project)]) == 1  # stdin is no terminal
    err = capsys.readouterr().err
    assert QUESTION not in err
    assert (
        "error: gate failed: logic failure, DestructiveChange: 1 resource(s) would be deleted\n"
        "  what to do: review the deletions; to apply them, answer y at the terminal, or run "
        "again with --allow-destructive (--yes), or set gate.allow_destructive in the launchpad\n"
    ) in err
    assert f"{GROUP}/providers/Microsoft.Storage/storageAccounts/stconfirmc1" in err
    assert "Traceback" not in err
    assert accounts(tmp_path / "home") == ["stconfirma1", "stconfirmb1", "stconfirmc1"]

    assert main(["deploy", "shrink", "--yes", "--project", str(project)]) == 0
    err = capsys.readouterr().err
    assert "gate    warning: Destructive plan approved by run config: 1 deletion(s)." in err
    assert "deploy  Delete Microsoft.Storage/storageAccounts/stconfirmc1: Succeeded" in err
    assert accounts(tmp_path / "home") == ["stconfirma1", "stconfirmb1"]


@pytest.mark.slow  # a real process in a pseudo-terminal, twice
def test_on_a_terminal_the_gate_asks_and_only_yes_deletes(project: Path, tmp_path: Path) -> None:
    keep(project, "stconfirma1")  # b and c are to be deleted
    code, shown = in_terminal(project, "n")
    assert code == 1, shown
    question = (
        "The plan deletes 2 resource(s):\n"
        f"  - {GROUP}/providers/Microsoft.Storage/storageAccounts/stconfirmb1\n"
        f"  - {GROUP}/providers/Microsoft.Storage/storageAccounts/stconfirmc1\n"
        f"{QUESTION}"
    )
    assert question + "n\n" in shown
    # the plan was shown before the question, the progress before the plan
    assert shown.index("bicep-assets deploy shrink: lint → plan") == 0
    assert shown.index("plan    ok in") < shown.index("What-if for shrink") < shown.index(question)
    assert (
        "gate    failed: logic failure, DestructiveChangeDeclined: 2 deletion(s) declined at the "
        "confirmation prompt\n"
    ) in shown
    assert "error: gate failed: logic failure, DestructiveChangeDeclined" in shown
    assert "Traceback" not in shown
    assert accounts(tmp_path / "home") == ["stconfirma1", "stconfirmb1", "stconfirmc1"]

    code, shown = in_terminal(project, "y")
    assert code == 0, shown
    assert question + "y\n" + "gate    warning: Destructive plan approved at the terminal" in shown
    assert "deploy  Delete Microsoft.Storage/storageAccounts/stconfirmb1: Succeeded" in shown
    assert "deploy_shrink succeeded" in shown
    assert accounts(tmp_path / "home") == ["stconfirma1"]
    with dg.DagsterInstance.from_config(str(tmp_path / "home")) as instance:
        statuses = [r.status for r in reversed(instance.get_runs())]
    success, failure = dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE
    assert statuses == [success, failure, success]
