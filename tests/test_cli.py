"""The ``bicep-assets`` command, run as a real process."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from bicep_assets.cli import main

from .armlocal.engine.conftest import template
from .cli_helpers import run_bicep_assets


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return run_bicep_assets(list(args), cwd=Path.cwd(), env=dict(os.environ), timeout=60)


def write(tmp_path: Path, name: str, data: object) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_expand_prints_resources_in_order_and_redacts_secure_values(tmp_path: Path) -> None:
    tpl = write(
        tmp_path,
        "main.json",
        template(
            [
                {
                    "type": "Microsoft.Web/sites",
                    "apiVersion": "2022-03-01",
                    "name": "[parameters('app')]",
                    "dependsOn": ["plan"],
                },
                {"type": "Microsoft.Web/serverfarms", "apiVersion": "2022-03-01", "name": "plan"},
            ],
            parameters={"app": {"type": "string"}, "pw": {"type": "securestring"}},
            outputs={"pw": {"type": "securestring", "value": "[parameters('pw')]"}},
        ),
    )
    params = write(
        tmp_path,
        "p.json",
        {
            "parameters": {"pw": {"value": "canary-secret"}},
            "$schema": "x",
            "contentVersion": "1.0.0.0",
        },
    )
    result = run("expand", "-f", str(tpl), "-p", f"@{params}", "-p", "app=web1", "-o", "json")
    assert result.returncode == 0, result.stderr
    assert "canary-secret" not in result.stdout
    data = json.loads(result.stdout)
    assert [r["name"] for r in data["resources"]] == ["plan", "web1"]
    assert data["parameters"] == {"app": "web1", "pw": None}
    assert data["outputs"] == {"pw": {"type": "securestring"}}

    table = run("expand", "-f", str(tpl), "-p", f"@{params}", "-p", "app=web1")
    assert table.returncode == 0
    lines = table.stdout.splitlines()
    assert lines[1].split()[1:3] == ["Microsoft.Web/serverfarms", "plan"]


def test_expand_reports_template_errors_as_arm_json(tmp_path: Path) -> None:
    tpl = write(tmp_path, "main.json", template([], parameters={"n": {"type": "int"}}))
    result = run("expand", "-f", str(tpl), "-p", "n=abc")
    assert result.returncode == 1
    error = json.loads(result.stderr)["error"]
    assert error["code"] == "InvalidTemplate"
    assert "Expected a value of type 'Integer'" in error["message"]


def test_expand_names_a_missing_file(tmp_path: Path) -> None:
    result = run("expand", "-f", str(tmp_path / "nope.json"))
    assert result.returncode == 2
    assert "nope.json' does not exist" in result.stderr


def test_expand_uses_the_scope_the_template_is_written_for(tmp_path: Path, capsys: Any) -> None:
    """A management group template expands in a management group (``-m``), a tenant one at
    the tenant — in process: argument handling only, the engine is tested elsewhere."""
    mg_template = {
        "$schema": "https://schema.management.azure.com/schemas/2019-08-01/"
        "managementGroupDeploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "resources": [
            {
                "type": "Microsoft.Authorization/policyDefinitions",
                "apiVersion": "2021-06-01",
                "name": "p1",
                "properties": {},
            }
        ],
        "outputs": {"mg": {"type": "string", "value": "[managementGroup().name]"}},
    }
    tpl = write(tmp_path, "mg.json", mg_template)
    assert main(["expand", "-f", str(tpl), "-m", "mg-platform", "-o", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["outputs"]["mg"]["value"] == "mg-platform"
    assert [r["id"] for r in data["resources"]] == [
        "/providers/Microsoft.Management/managementGroups/mg-platform/providers/"
        "Microsoft.Authorization/policyDefinitions/p1"
    ]
