"""Write-only values (a Key Vault secret's ``value``: ARM never returns it) in the plan: a
category of their own — shown by path, never by value, not counted as changes — so a
redeploy of the same secret plans NoChange, an approved plan matches its re-plan at the gate,
and the drift check passes. End to end through the SDK into the local ARM, whose what-if
reports the secret as Azure's does (a Modify creating ``properties.value``)."""

from __future__ import annotations

import json
from typing import Any

import dagster as dg
import pytest

from bicep_assets.armlocal.engine import MASK
from bicep_assets.models import PropertyChange
from bicep_assets.pipeline.plan import WRITE_ONLY_TITLE, plan_from_what_if, plan_markdown
from bicep_assets.pipeline.saved_plans import load_saved_plan, property_rows
from bicep_assets.progress import step_summary, terminal_plan
from bicep_assets.triggers.drift import judge_drift

from .conftest import SUB, Project, step_events, template

SECRET = "Vault-Secret-Canary-6Tq9wZ3k"
GROUP = f"/subscriptions/{SUB}/resourceGroups/rg-dev"
SECRET_ID = f"{GROUP}/providers/Microsoft.KeyVault/vaults/kvwo/secrets/s1"
VAULT_AND_SECRET = template(
    [
        {
            "type": "Microsoft.KeyVault/vaults",
            "apiVersion": "2023-07-01",
            "name": "kvwo",
            "location": "[resourceGroup().location]",
            "properties": {
                "tenantId": "[subscription().tenantId]",
                "sku": {"family": "A", "name": "standard"},
            },
        },
        {
            "type": "Microsoft.KeyVault/vaults/secrets",
            "apiVersion": "2023-07-01",
            "name": "kvwo/s1",
            "dependsOn": ["kvwo"],
            "properties": {"value": "[parameters('pw')]"},
        },
    ],
    parameters={"pw": {"type": "securestring"}},
)


def plan_output(result: dg.ExecuteInProcessResult) -> dict[str, Any]:
    (event,) = step_events(result, "plan", "STEP_OUTPUT")
    return {k: v.value for k, v in event.event_specific_data.metadata.items()}


def every_event_text(instance: dg.DagsterInstance) -> str:
    return "\n".join(
        dg.serialize_value(entry)
        for run in instance.get_runs()
        for entry in instance.all_logs(run.run_id)
    )


@pytest.fixture
def dev(project: Project, monkeypatch: pytest.MonkeyPatch) -> Project:
    monkeypatch.setenv("WO_SECRET", SECRET)
    path = project.write_template("main.json", VAULT_AND_SECRET)
    project.write_manifest("dev", template=path, secure_parameters={"pw": {"env": "WO_SECRET"}})
    return project


def test_a_redeployed_secret_is_write_only_not_a_change_at_gate_and_drift(dev: Project) -> None:
    assert dev.run("deploy_dev").success
    planned = dev.run("plan_dev")
    assert planned.success
    plan = planned.output_for_node("plan")
    secret = next(c for c in plan.changes if c.resource_id == SECRET_ID)
    assert (secret.change_type, secret.delta, secret.write_only) == (
        "NoChange",
        [],
        ["properties.value"],
    )
    assert plan.write_only == [(SECRET_ID, "properties.value")]
    assert {c.change_type for c in plan.changes} == {"NoChange"}

    # shown to the reviewer: the step's metadata and diff, the CLI's lines, the saved plan
    output = plan_output(planned)
    assert (output["modifies"], output["write_only"]) == (0, 1)
    row = next(r for r in output["changes"].records if r.data["resource_id"] == SECRET_ID)
    assert (row.data["change_type"], row.data["changed_paths"]) == ("NoChange", "")
    assert row.data["write_only_paths"] == "properties.value"
    lines = terminal_plan(output["diff"]).splitlines()
    assert WRITE_ONLY_TITLE in lines
    assert f"- {SECRET_ID}: properties.value" in lines
    summary = (
        "0 to create, 0 to modify, 0 to delete, 1 write-only (not compared) "
        f"(plan {planned.run_id})"
    )
    logged = [e.user_message for e in dev.instance.all_logs(planned.run_id) if e.step_key == "plan"]
    assert summary in logged
    assert step_summary("plan", output).endswith(
        "; 1 write-only value(s) written again, not compared"
    )
    saved = load_saved_plan(dev.instance, planned.run_id)
    assert saved is not None and saved.counts["Modify"] == 0
    (saved_secret,) = (c for c in saved.changes if c.resource_id == SECRET_ID)
    assert saved_secret.write_only == ["properties.value"]
    assert [r for r in property_rows(saved) if r["resource_id"] == SECRET_ID] == [
        {
            "resource_id": SECRET_ID,
            "resource_change_type": "NoChange",
            "path": "properties.value",
            "change_type": "WriteOnly",
            "before": None,
            "after": None,
        }
    ]

    # the gate: the approved plan is exactly its re-plan (the secret is written again)
    applied = dev.run(
        "deploy_dev", run_config={"ops": {"gate": {"config": {"approved_plan": planned.run_id}}}}
    )
    assert applied.success, [e.message for e in applied.all_events if e.is_failure]
    assert applied.output_for_node("gate").approved_plan == planned.run_id

    # drift after that deploy: in sync, though the secret's value can never be compared
    after = dev.run("plan_dev")
    verdict = judge_drift(dev.instance, "dev", after.run_id)
    assert (verdict.passed, verdict.reason) == (True, "in sync: the plan changes nothing")

    assert SECRET[:8] not in every_event_text(dev.instance)
    assert SECRET[:8] not in json.dumps(saved.model_dump(mode="json"))


def what_if_of(change: dict[str, Any]) -> dict[str, Any]:
    return {"status": "Succeeded", "properties": {"changes": [change]}}


SQL_ID = f"{GROUP}/providers/Microsoft.Sql/servers/sql1"
SQL = {"id": SQL_ID, "type": "Microsoft.Sql/servers", "name": "sql1"}


def test_azure_shapes_of_a_write_only_path_in_the_plan() -> None:
    """As Azure may answer: the value echoed in a Create delta (set apart, its value
    dropped), only in ``after`` (listed), or in a Create's body (masked); a Modify there is
    a GET that returned a value — a change like any other."""
    echoed = plan_from_what_if(
        "dev",
        what_if_of(
            {
                "resourceId": SQL_ID,
                "changeType": "Modify",
                "before": {**SQL, "properties": {"administratorLogin": "admin"}},
                "after": {
                    **SQL,
                    "properties": {
                        "administratorLogin": "admin",
                        "administratorLoginPassword": SECRET,
                    },
                },
                "delta": [
                    {
                        "path": "properties.administratorLoginPassword",
                        "propertyChangeType": "Create",
                        "after": SECRET,
                    }
                ],
            }
        ),
    )
    (change,) = echoed.changes
    assert (change.change_type, change.delta) == ("NoChange", [])
    assert change.write_only == ["properties.administratorLoginPassword"]
    assert SECRET not in plan_markdown(echoed) + echoed.model_dump_json()

    silent = plan_from_what_if(
        "dev",
        what_if_of(
            {
                "resourceId": SQL_ID,
                "changeType": "NoChange",
                "before": {**SQL, "properties": {}},
                "after": {**SQL, "properties": {"administratorLoginPassword": MASK}},
            }
        ),
    )
    assert silent.write_only == [(SQL_ID, "properties.administratorLoginPassword")]

    created = plan_from_what_if(
        "dev",
        what_if_of(
            {
                "resourceId": SQL_ID,
                "changeType": "Create",
                "after": {**SQL, "properties": {"administratorLoginPassword": SECRET}},
            }
        ),
    )
    (change,) = created.changes
    assert change.after == {"name": "sql1", "properties": {"administratorLoginPassword": MASK}}
    assert change.write_only == []  # a Create is a change: its body says what is written

    returned = plan_from_what_if(
        "dev",
        what_if_of(
            {
                "resourceId": SQL_ID,
                "changeType": "Modify",
                "delta": [
                    {
                        "path": "properties.administratorLoginPassword",
                        "propertyChangeType": "Modify",
                        "before": MASK,
                        "after": MASK,
                    }
                ],
            }
        ),
    )
    (change,) = returned.changes
    assert change.change_type == "Modify" and change.write_only == []
    assert change.delta == [
        PropertyChange(
            path="properties.administratorLoginPassword",
            change_type="Modify",
            before=MASK,
            after=MASK,
        )
    ]
