"""``bicep-assets arm`` at every scope, with az's command and flag names, against the
session's local ARM (``--endpoint``/``--token``/``--ca-file``), in process."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

from bicep_assets.armlocal import LocalArm, add_arm_commands, run_arm

TENANT = "00000000-0000-0000-0000-000000000001"
SCHEMA = "https://schema.management.azure.com/schemas/"
MG_TEMPLATE = {
    "$schema": SCHEMA + "2019-08-01/managementGroupDeploymentTemplate.json#",
    "contentVersion": "1.0.0.0",
    "parameters": {"policyName": {"type": "string"}},
    "resources": [
        {
            "type": "Microsoft.Authorization/policyDefinitions",
            "apiVersion": "2021-06-01",
            "name": "[parameters('policyName')]",
            "properties": {"policyType": "Custom", "policyRule": {"if": {}, "then": {}}},
        }
    ],
    "outputs": {"group": {"type": "string", "value": "[managementGroup().name]"}},
}
SUB_TEMPLATE = {
    "$schema": SCHEMA + "2018-05-01/subscriptionDeploymentTemplate.json#",
    "contentVersion": "1.0.0.0",
    "resources": [
        {
            "type": "Microsoft.Resources/resourceGroups",
            "apiVersion": "2022-09-01",
            "name": "rg-cli-sub",
            "location": "[deployment().location]",
        }
    ],
}


def arm_cli(arm: LocalArm, capsys: Any, *argv: str) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="bicep-assets")
    add_arm_commands(parser.add_subparsers(dest="command"))
    connection = arm.connection
    target = ["--endpoint", connection.base_url, "--token", connection.token]
    args = parser.parse_args(["arm", *target, "--ca-file", connection.ca_file, *argv])
    code = run_arm(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_management_groups_from_the_command_line(arm: LocalArm, capsys: Any) -> None:
    code, out, _ = arm_cli(arm, capsys, "account", "management-group", "create", "-n", "mg-cli",
                           "-d", "CLI group")  # fmt: skip
    assert code == 0 and json.loads(out)["properties"]["displayName"] == "CLI group"
    code, out, _ = arm_cli(arm, capsys, "mg", "create", "-n", "mg-child", "--parent", "mg-cli")
    assert json.loads(out)["properties"]["details"]["parent"]["name"] == "mg-cli"
    code, out, _ = arm_cli(arm, capsys, "mg", "list", "-o", "table")
    header, *rows = out.splitlines()
    assert header.split() == ["Name", "DisplayName"]
    assert sorted(rows) == [
        f"{TENANT}  Tenant Root Group",
        "mg-child                              mg-child",
        "mg-cli                                CLI group",
    ]
    assert {line.split()[0] for line in out.splitlines()[1:]} == {TENANT, "mg-child", "mg-cli"}
    code, out, _ = arm_cli(arm, capsys, "account", "management-group", "show", "-n", TENANT,
                           "-e", "-r")  # fmt: skip
    (cli_group, _subscription) = json.loads(out)["properties"]["children"]
    assert [c["name"] for c in cli_group["children"]] == ["mg-child"]
    code, _, err = arm_cli(arm, capsys, "mg", "delete", "-n", "mg-cli")
    assert code == 1 and json.loads(err)["error"]["code"] == "BadRequest"
    assert arm_cli(arm, capsys, "mg", "delete", "-n", "mg-child")[0] == 0


def test_management_group_deployments_from_the_command_line(
    arm: LocalArm, capsys: Any, tmp_path: Path
) -> None:
    template = tmp_path / "policies.json"
    template.write_text(json.dumps(MG_TEMPLATE), encoding="utf-8")
    arm_cli(arm, capsys, "mg", "create", "-n", "mg-dep")
    flags = ["--management-group-id", "mg-dep", "-l", "westeurope", "--template-file",
             str(template), "--parameters", "policyName=deny-all"]  # fmt: skip
    code, out, _ = arm_cli(arm, capsys, "deployment", "mg", "what-if", *flags)
    assert code == 0
    assert "Scope: /providers/Microsoft.Management/managementGroups/mg-dep\n" in out
    assert "  + Microsoft.Authorization/policyDefinitions/deny-all [2021-06-01]\n" in out
    code, out, _ = arm_cli(arm, capsys, "deployment", "mg", "create", "--what-if", *flags)
    assert code == 0 and "Resource changes: 1 create." in out  # az's create --what-if
    code, out, _ = arm_cli(arm, capsys, "deployment", "mg", "list", "-m", "mg-dep")
    assert json.loads(out) == []  # nothing deployed
    code, out, _ = arm_cli(arm, capsys, "deployment", "mg", "create", *flags)
    created = json.loads(out)
    assert created["properties"]["outputs"]["group"]["value"] == "mg-dep"
    assert created["name"] == "policies"  # the template file's stem
    code, out, _ = arm_cli(arm, capsys, "deployment", "mg", "list", "-m", "mg-dep", "-o", "table")
    assert out.split()[4:6] == ["policies", "Succeeded"]
    code, out, _ = arm_cli(arm, capsys, "deployment", "mg", "export", "-m", "mg-dep", "-n",
                           "policies")  # fmt: skip
    assert json.loads(out) == MG_TEMPLATE
    code, out, _ = arm_cli(arm, capsys, "deployment", "operation", "mg", "list", "-m", "mg-dep",
                           "-n", "policies")  # fmt: skip
    (operation,) = json.loads(out)
    code, out, _ = arm_cli(arm, capsys, "deployment", "operation", "mg", "show", "-m", "mg-dep",
                           "-n", "policies", "--operation-ids",
                           operation["operationId"])  # fmt: skip
    assert json.loads(out)["properties"]["targetResource"]["resourceName"] == "deny-all"
    assert arm_cli(arm, capsys, "deployment", "mg", "delete", "-m", "mg-dep", "-n",
                   "policies")[0] == 0  # fmt: skip
    code, out, _ = arm_cli(arm, capsys, "deployment", "mg", "list", "-m", "mg-dep")
    assert json.loads(out) == []


def test_subscription_and_tenant_deployments_from_the_command_line(
    arm: LocalArm, capsys: Any, tmp_path: Path
) -> None:
    template = tmp_path / "groups.json"
    template.write_text(json.dumps(SUB_TEMPLATE), encoding="utf-8")
    code, out, _ = arm_cli(arm, capsys, "deployment", "sub", "create", "-l", "northeurope", "-f",
                           str(template), "-n", "groups")  # fmt: skip
    assert code == 0 and json.loads(out)["location"] == "northeurope"
    code, out, _ = arm_cli(arm, capsys, "group", "show", "-n", "rg-cli-sub")
    assert json.loads(out)["location"] == "northeurope"
    code, out, _ = arm_cli(arm, capsys, "deployment", "sub", "show", "-n", "groups", "-o", "json")
    assert json.loads(out)["properties"]["provisioningState"] == "Succeeded"
    code, _, err = arm_cli(arm, capsys, "deployment", "tenant", "validate", "-l", "westeurope",
                           "-f", str(template))  # fmt: skip
    assert code == 1
    assert json.loads(err)["error"]["code"] == "InvalidTemplate"
    assert "Supported versions are '2019-08-01'" in json.loads(err)["error"]["message"]
    code, _, err = arm_cli(arm, capsys, "deployment", "mg", "create", "-m", "nowhere", "-l",
                           "westeurope", "-f", str(template))  # fmt: skip
    assert (code, json.loads(err)["error"]["code"]) == (1, "ManagementGroupNotFound")
    # what-if reports a template ARM refuses in its result: printed as the error, exit 1
    code, out, err = arm_cli(arm, capsys, "deployment", "tenant", "what-if", "-l",
                             "westeurope", "-f", str(template))  # fmt: skip
    assert (code, out) == (1, "")
    assert json.loads(err)["error"]["message"].startswith(
        "Deployment template validation failed: 'Template schema "
        f"'{SUB_TEMPLATE['$schema']}' is not supported. Supported versions are '2019-08-01'."
    )


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        pytest.param(
            ["deployment", "mg", "create", "-l", "x", "-f", "t.json"],
            "-m/--management-group-id",
            id="mg-needs-the-group",
        ),
        pytest.param(
            ["deployment", "tenant", "create", "-f", "t.json"],
            "-l/--location",
            id="tenant-needs-a-location",
        ),
        pytest.param(
            ["deployment", "sub", "what-if", "-f", "t.json"],
            "-l/--location",
            id="sub-needs-a-location",
        ),
    ],
)
def test_missing_flags_exit_2_naming_them(capsys: Any, argv: list[str], flag: str) -> None:
    parser = argparse.ArgumentParser(prog="bicep-assets")
    add_arm_commands(parser.add_subparsers(dest="command"))
    with pytest.raises(SystemExit) as info:
        parser.parse_args(["arm", *argv])
    assert info.value.code == 2
    assert f"the following arguments are required: {flag}" in capsys.readouterr().err
