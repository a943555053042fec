"""``bicep-assets arm ...`` mirroring az, against an embedded local ARM over a state file and
against a running ``bicep-assets emulator serve`` (the commands as processes there, through the
entry point in this process over a state file)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .armlocal.server.test_standalone_crash import serve
from .cli_helpers import run_bicep_assets

TEMPLATE = {
    "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
    "contentVersion": "1.0.0.0",
    "parameters": {"name": {"type": "string"}, "pw": {"type": "securestring"}},
    "resources": [
        {
            "type": "Microsoft.Storage/storageAccounts",
            "apiVersion": "2023-01-01",
            "name": "[parameters('name')]",
            "location": "westeurope",
            "sku": {"name": "Standard_LRS"},
            "kind": "StorageV2",
        }
    ],
    "outputs": {
        "blob": {"type": "string", "value": "[reference(parameters('name')).primaryEndpoints.blob]"}
    },
}


Cli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def here(cli_here: Cli, tmp_path: Path) -> Cli:
    """``bicep-assets ARGS`` through its entry point in this process (see ``cli_here``)."""
    return lambda *args: cli_here(tmp_path, *args)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``bicep-assets ARGS`` as a process of its own."""
    return run_bicep_assets(list(args), cwd=Path.cwd(), env=dict(os.environ), timeout=120)


def test_arm_commands_over_a_state_file(tmp_path: Path, here: Cli) -> None:
    state = tmp_path / "arm.sqlite"
    tpl = tmp_path / "main.json"
    tpl.write_text(json.dumps(TEMPLATE), encoding="utf-8")
    base = ["arm", "--state", str(state)]

    created = here(*base, "group", "create", "-n", "rg-cli", "-l", "westeurope")
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["name"] == "rg-cli"
    table = here(*base, "group", "list", "-o", "table").stdout.splitlines()
    assert [line.split() for line in table] == [
        ["Name", "Location", "Status"],
        ["rg-cli", "westeurope", "Succeeded"],
    ]  # az group list -o table's columns

    params = ["-p", "name=stcli", "-p", "pw=canary-pw-42"]
    whatif = here(*base, "deployment", "group", "what-if", "-g", "rg-cli", "-f", str(tpl), *params)
    assert whatif.returncode == 0, whatif.stderr
    assert "+ Microsoft.Storage/storageAccounts/stcli" in whatif.stdout
    assert "Resource changes: 1 create." in whatif.stdout

    deployed = here(*base, "deployment", "group", "create", "-g", "rg-cli", "-f", str(tpl), *params)
    assert deployed.returncode == 0, deployed.stderr
    body = json.loads(deployed.stdout)
    assert body["name"] == "main"
    assert body["properties"]["outputs"]["blob"]["value"] == "https://stcli.blob.core.windows.net/"
    assert "canary-pw-42" not in deployed.stdout

    again = here(
        *base,
        "-o",
        "json",
        "deployment",
        "group",
        "what-if",
        "-g",
        "rg-cli",
        "-f",
        str(tpl),
        *params,
    )
    changes = json.loads(again.stdout)["properties"]["changes"]
    assert [c["changeType"] for c in changes] == ["NoChange"]

    listed = here(*base, "-o", "table", "deployment", "group", "list", "-g", "rg-cli")
    assert listed.stdout.splitlines()[1].split()[:2] == ["main", "Succeeded"]
    shown = json.loads(
        here(*base, "deployment", "group", "show", "-g", "rg-cli", "-n", "main").stdout
    )
    assert shown["properties"]["provisioningState"] == "Succeeded"
    assert "canary-pw-42" not in state.read_bytes().decode("utf-8", "replace")


def test_arm_errors_print_arm_json(tmp_path: Path, here: Cli) -> None:
    tpl = tmp_path / "main.json"
    tpl.write_text(json.dumps(TEMPLATE), encoding="utf-8")
    result = here(
        "arm",
        "--state",
        str(tmp_path / "s.sqlite"),
        "deployment",
        "group",
        "validate",
        "-g",
        "missing-rg",
        "-f",
        str(tpl),
        "-p",
        "name=x",
        "-p",
        "pw=y",
    )
    assert result.returncode == 1
    assert json.loads(result.stderr)["error"]["code"] == "ResourceGroupNotFound"


def test_arm_needs_a_target(here: Cli) -> None:
    result = here("arm", "group", "list")
    assert result.returncode != 0
    assert "give --state FILE, or --endpoint, --token and --ca-file" in result.stderr


@pytest.mark.slow  # the CLI and the emulator as separate processes
def test_arm_commands_against_a_running_emulator(tmp_path: Path) -> None:
    process, info = serve(tmp_path / "arm.sqlite", tmp_path / "certs")
    try:
        target = [
            "arm",
            "--endpoint",
            info["base_url"],
            "--token",
            info["token"],
            "--ca-file",
            info["ca_file"],
        ]
        assert cli(*target, "group", "create", "-n", "rg-e", "-l", "westeurope").returncode == 0
        listed: list[dict[str, Any]] = json.loads(cli(*target, "group", "list").stdout)
        assert [g["name"] for g in listed] == ["rg-e"]
        wrong = cli(
            "arm",
            "--endpoint",
            info["base_url"],
            "--token",
            "nope",
            "--ca-file",
            info["ca_file"],
            "group",
            "list",
        )
        assert wrong.returncode == 1
        assert json.loads(wrong.stderr)["error"]["code"] == "InvalidAuthenticationToken"
    finally:
        process.terminate()
        process.wait(timeout=10)
