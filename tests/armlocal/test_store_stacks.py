"""Deployment stacks in the state file: a stack whose operation's process is gone reads as
failed, and a state file of the version before stacks gains their table when opened."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bicep_assets.armlocal.state.sqlite import SCHEMA, SCHEMA_VERSION
from bicep_assets.armlocal.state.store import ArmStore

from .store_helpers import group_id

STACK = group_id("rg") + "/providers/Microsoft.Resources/deploymentStacks/web"


def stack(state: str) -> dict[str, object]:
    return {"id": STACK, "name": "web", "type": "Microsoft.Resources/deploymentStacks",
            "properties": {"provisioningState": state, "resources": []}}  # fmt: skip


def test_a_stack_left_deploying_by_a_closed_store_reads_as_failed(tmp_path: Path) -> None:
    path = tmp_path / "arm.sqlite"
    gone = ArmStore(path)
    gone.put_stack(group_id("rg"), stack("deploying"), {"resources": []})
    live = ArmStore(path)
    assert live.get_stack(STACK)["properties"]["provisioningState"] == "deploying"  # type: ignore[index]
    gone.close()  # its owner is gone: the stack's operation will never end
    seen = live.get_stack(STACK)
    assert seen is not None
    assert seen["properties"]["provisioningState"] == "failed"
    assert seen["properties"]["error"]["code"] == "DeploymentStackInterrupted"
    live.put_stack(group_id("rg"), stack("succeeded"), {"resources": []})  # finished: no owner
    later = ArmStore(path)
    live.close()
    assert later.get_stack(STACK)["properties"]["provisioningState"] == "succeeded"  # type: ignore[index]
    assert [s["name"] for s in later.list_stacks(group_id("rg"))] == ["web"]
    assert later.get_stack_template(STACK) == {"resources": []}
    later.close()


def test_a_version_2_state_file_gains_the_stacks_table(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as raw:
        for statement in SCHEMA:
            raw.execute(statement)
        raw.execute("PRAGMA user_version=2")
    raw.close()
    with ArmStore(path) as store:
        assert store.list_stacks(group_id("rg")) == []
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3
    raw.close()
