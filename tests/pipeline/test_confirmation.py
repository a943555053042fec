"""The gate's question to a terminal (pipeline/confirmation.py) and the deploy step's
operation lines, led by the plan's change type (pipeline/deploy.py). The whole path — a real
process in a pseudo-terminal — is in tests/test_cli_confirm.py."""

from __future__ import annotations

import io

import pytest

from bicep_assets.failures import LogicFailure
from bicep_assets.models import Plan, WhatIfChange
from bicep_assets.pipeline.confirmation import asking, confirm_deletions
from bicep_assets.pipeline.deploy import describe_operation
from bicep_assets.runs import confirm_at_terminal

GROUP = "/subscriptions/s/resourceGroups/rg/providers"
KEEP = f"{GROUP}/Microsoft.Storage/storageAccounts/keep"
DROP = f"{GROUP}/Microsoft.Storage/storageAccounts/drop"


def plan(*changes: tuple[str, str]) -> Plan:
    return Plan(
        environment="dev",
        changes=[
            WhatIfChange(
                resource_id=rid, resource_type="Microsoft.Storage/storageAccounts", change_type=c
            )
            for rid, c in changes
        ],
    )


def test_a_deletion_is_asked_about_only_when_someone_can_answer() -> None:
    destructive = plan((KEEP, "NoChange"), (DROP, "Delete"))
    asked: list[Plan] = []
    assert confirm_deletions(destructive, allow_destructive=False) == (False, None)  # nobody
    assert confirm_deletions(destructive, allow_destructive=True) == (True, "by run config")
    with asking(lambda p: asked.append(p) or True):
        assert confirm_deletions(plan((KEEP, "Create")), allow_destructive=False) == (False, None)
        assert asked == []  # nothing deleted: no question
        assert confirm_deletions(destructive, allow_destructive=True) == (True, "by run config")
        assert asked == []  # run config said so: no question
        assert confirm_deletions(destructive, allow_destructive=False) == (True, "at the terminal")
        assert asked == [destructive]
    with asking(lambda p: False), pytest.raises(LogicFailure) as declined:
        confirm_deletions(destructive, allow_destructive=False)
    assert declined.value.facts.arm_code == "DestructiveChangeDeclined"
    assert declined.value.description == (
        "The plan deletes 1 resource(s) and the person at the terminal answered no: nothing was "
        f"deployed.\n  - {DROP}"
    )
    assert confirm_deletions(destructive, allow_destructive=False) == (False, None)  # restored


def operation(resource_id: str, verb: str = "Create", state: str = "Succeeded") -> dict:
    name = resource_id.rsplit("/", 1)[1]
    return {
        "operationId": "1",
        "properties": {
            "provisioningOperation": verb,
            "provisioningState": state,
            "targetResource": {
                "id": resource_id,
                "resourceType": "Microsoft.Storage/storageAccounts",
                "resourceName": name,
            },
        },
    }


def test_operations_are_led_by_the_plans_change_type() -> None:
    planned = {KEEP.lower(): "NoChange", DROP.lower(): "Delete"}
    assert describe_operation(operation(KEEP.upper()), planned) == (
        "NoChange Microsoft.Storage/storageAccounts/KEEP: Succeeded (applied again, the plan "
        "found nothing to change)"
    )
    assert describe_operation(operation(DROP, "Delete", "Running"), planned) == (
        "Delete Microsoft.Storage/storageAccounts/drop: Running"
    )
    other = f"{GROUP}/Microsoft.Storage/storageAccounts/other"
    assert describe_operation(operation(other), planned) == (
        "Create Microsoft.Storage/storageAccounts/other: Succeeded (not in the plan)"
    )


class _CtrlC(io.StringIO):
    def readline(self, size: int | None = -1) -> str:  # type: ignore[override]
        raise KeyboardInterrupt


@pytest.mark.parametrize(
    ("answers", "approved"),
    [("y\n", True), ("  YES \n", True), ("n\n", False), ("\n", False), ("", False)],
    ids=["y", "yes", "n", "empty", "end-of-input"],
)
def test_only_y_or_yes_at_the_terminal_approves(answers: str, approved: bool) -> None:
    prompt = io.StringIO()
    plan = Plan(
        environment="dev",
        changes=[
            WhatIfChange(
                resource_id="/x/st1",
                resource_type="Microsoft.Storage/storageAccounts",
                change_type="Delete",
            )
        ],
    )
    assert confirm_at_terminal(plan, io.StringIO(answers), prompt) is approved
    shown = prompt.getvalue()
    assert "The plan deletes 1 resource(s):\n  - /x/st1\n" in shown
    # a typed answer ends with the Enter the terminal echoes; without one the cursor is moved
    assert shown.endswith("[y/N] " if answers else "[y/N] \n")


def test_ctrl_c_at_the_question_is_no() -> None:
    prompt = io.StringIO()
    plan = Plan(
        environment="dev",
        changes=[
            WhatIfChange(
                resource_id="/x/st1",
                resource_type="Microsoft.Storage/storageAccounts",
                change_type="Delete",
            )
        ],
    )
    assert confirm_at_terminal(plan, _CtrlC(), prompt) is False
    assert prompt.getvalue().endswith("[y/N] \n")
