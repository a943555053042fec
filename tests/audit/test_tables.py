"""The audit tables say exactly what the real pipeline did (see conftest's ``history``)."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import pytest

from bicep_assets.audit.checks import find_secure_values

from .conftest import (
    CANARY,
    SHA,
    SUB,
    History,
    checks_by_name,
    output_metadata,
    read_tables,
    resource_id,
)

APPROVED_BY = json.dumps({"ops": {"gate": {"config": {"allow_destructive": True}}}})
OK = {
    "status": "success",
    "failed_step": None,
    "failure_kind": None,
    "arm_code": None,
    "http_status": None,
}
NOT_DESTRUCTIVE = {"destructive": False, "allow_destructive": False, "destructive_approved": False}

EXPECTED_RUNS: dict[str, dict[str, Any]] = {
    "dev": {
        **OK,
        **NOT_DESTRUCTIVE,
        "job": "deploy_dev",
        "kind": "deploy",
        "trigger": "cli",
        "template": "../infra/main.json",
        "retries": 0,
        "creates": 7,  # the resource group and its 6 resources
        "modifies": 0,
        "deletes": 0,
        "applied": True,
        "allow_destructive_config": None,
    },
    "policy": {
        "status": "failure",
        "failed_step": "deploy",
        "failure_kind": "logic",
        "arm_code": "RequestDisallowedByPolicy",
        "arm_message": "Resource 'denied1' was disallowed by policy.",
        "http_status": None,  # ARM reports a failed deployment, not an HTTP error
        "trigger": "ui",
        "retries": 0,
        "creates": 2,  # the group and the account
        "applied": False,
        "deployment_id": None,
        **NOT_DESTRUCTIVE,
    },
    "flaky": {**OK, "retries": 2, "creates": 1, "applied": True, **NOT_DESTRUCTIVE},
    "cleanup_create": {**OK, "creates": 3, "deletes": 0, "applied": True, **NOT_DESTRUCTIVE},
    "cleanup_blocked": {
        "status": "failure",
        "failed_step": "gate",
        "failure_kind": "logic",
        "arm_code": "DestructiveChange",
        "arm_message": "1 resource(s) would be deleted",
        "http_status": None,
        "deletes": 1,
        "no_change": 1,
        "destructive": True,
        "allow_destructive": False,
        "destructive_approved": False,
        "allow_destructive_config": None,
        "deployment_name": None,
        "applied": False,
    },
    "cleanup_approved": {
        **OK,
        "deletes": 1,
        "destructive": True,
        "allow_destructive": True,
        "destructive_approved": True,
        "allow_destructive_config": APPROVED_BY,
        "applied": True,
    },
    "drift": {
        **OK,
        "job": "plan_flaky",
        "kind": "plan",
        "trigger": "schedule",
        "trigger_name": "nightly_drift",
        "creates": 1,
        "modifies": 1,
        "deletes": 0,
        "destructive": None,
        "allow_destructive": None,
        "destructive_approved": None,
        "deployment_name": None,
        "applied": False,
    },
}


@pytest.fixture(scope="module")
def tables(history: History) -> dict[str, pd.DataFrame]:
    return read_tables(history.database)


def plain(value: Any) -> Any:
    if (isinstance(value, float) and pd.isna(value)) or value is pd.NA or value is pd.NaT:
        return None
    return value.tolist() if hasattr(value, "tolist") else value


def rows(frame: pd.DataFrame, **where: Any) -> list[dict[str, Any]]:
    mask = pd.Series(True, index=frame.index)
    for column, value in where.items():
        mask &= frame[column] == value
    return [{k: plain(v) for k, v in row.items()} for row in frame[mask].to_dict("records")]


@pytest.mark.parametrize("name", list(EXPECTED_RUNS), ids=list(EXPECTED_RUNS))
def test_each_run_is_one_row_saying_what_happened(
    history: History, tables: dict[str, pd.DataFrame], name: str
) -> None:
    run_id = history.run_id(name)
    (row,) = rows(tables["deployment_runs"], run_id=run_id)
    assert {k: row[k] for k in EXPECTED_RUNS[name]} == EXPECTED_RUNS[name]
    env = row["environment"]
    assert (row["git_sha"], row["target"]) == (SHA, "local")
    group = f"/subscriptions/{SUB}/resourceGroups/rg-{'webapp-dev' if env == 'dev' else env}"
    assert (row["scope_kind"], row["scope_id"]) == ("resourceGroup", group)
    assert row["template_hash"] and row["parameters_hash"]
    assert row["started_at"] < row["ended_at"]
    seconds = (row["ended_at"] - row["started_at"]).total_seconds()
    assert row["duration_s"] == pytest.approx(seconds, abs=0.002)
    if row["applied"]:
        assert row["deployment_name"] == f"{env}-{run_id}"
        assert row["deployment_id"].endswith(
            f"/providers/Microsoft.Resources/deployments/{env}-{run_id}"
        )
        assert row["correlation_id"]
    if name == "policy":  # the deploy step named (and PUT) its deployment before ARM refused it
        assert row["deployment_name"] == f"policy-{run_id}"


def test_one_row_per_run_ordered_by_end(history: History, tables: dict[str, pd.DataFrame]) -> None:
    runs = tables["deployment_runs"]
    assert list(runs["run_id"]) == [history.run_id(n) for n in EXPECTED_RUNS]
    assert output_metadata(history.refreshed, "deployment_runs")["runs_read"] == 7


SUCCESS_STEPS = [
    (step, event)
    for step in ("lint", "plan", "gate", "deploy", "verify")
    for event in (
        "STEP_START",
        *(("ASSET_MATERIALIZATION",) if step == "plan" else ()),
        "STEP_SUCCESS",
    )
]  # the plan step saves its plan (plans/<env>)
TRANSITIONS = {
    "cleanup_create": [
        (None, "RUN_START"),
        *SUCCESS_STEPS[:8],
        ("deploy", "ASSET_MATERIALIZATION"),
        *SUCCESS_STEPS[8:],
        (None, "RUN_SUCCESS"),
    ],
    "flaky": [
        (None, "RUN_START"),
        *SUCCESS_STEPS[:3],
        ("plan", "STEP_UP_FOR_RETRY"),
        ("plan", "STEP_RESTARTED"),
        ("plan", "STEP_UP_FOR_RETRY"),
        ("plan", "STEP_RESTARTED"),
        *SUCCESS_STEPS[3:8],
        ("deploy", "ASSET_MATERIALIZATION"),
        *SUCCESS_STEPS[8:],
        (None, "RUN_SUCCESS"),
    ],
    "policy": [
        (None, "RUN_START"),
        *SUCCESS_STEPS[:8],
        ("deploy", "STEP_FAILURE"),
        (None, "RUN_FAILURE"),
    ],
    "cleanup_blocked": [
        (None, "RUN_START"),
        *SUCCESS_STEPS[:6],
        ("gate", "STEP_FAILURE"),
        (None, "RUN_FAILURE"),
    ],
    "drift": [(None, "RUN_START"), *SUCCESS_STEPS[:5], (None, "RUN_SUCCESS")],
}


@pytest.mark.parametrize("name", list(TRANSITIONS), ids=list(TRANSITIONS))
def test_events_are_the_run_state_transitions_in_order(
    history: History, tables: dict[str, pd.DataFrame], name: str
) -> None:
    events = rows(tables["deployment_events"], run_id=history.run_id(name))
    assert [(e["step"], e["event_type"]) for e in events] == TRANSITIONS[name]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    stamps = [e["timestamp"] for e in events]
    assert stamps == sorted(stamps)


def test_failures_and_retries_carry_their_kind_and_arm_code(
    history: History, tables: dict[str, pd.DataFrame]
) -> None:
    events = tables["deployment_events"]
    marked = events[events["failure_kind"].notna()]
    by_run = {history.run_id(n): n for n in history.runs}
    found = sorted(
        (by_run[r.run_id], r.step, r.event_type, r.failure_kind, r.arm_code, plain(r.http_status))
        for r in marked.itertuples()
    )
    assert found == [
        ("cleanup_blocked", "gate", "STEP_FAILURE", "logic", "DestructiveChange", None),
        ("flaky", "plan", "STEP_UP_FOR_RETRY", "environmental", "ServiceUnavailable", 503),
        ("flaky", "plan", "STEP_UP_FOR_RETRY", "environmental", "ServiceUnavailable", 503),
        ("policy", "deploy", "STEP_FAILURE", "logic", "RequestDisallowedByPolicy", None),
    ]
    (policy,) = marked[marked["run_id"] == history.run_id("policy")]["message"]
    assert policy.startswith(  # the failure's description starts with its cause
        'Execution of step "deploy" failed. Logic failure, RequestDisallowedByPolicy: '
    )
    assert "RequestDisallowedByPolicy: Resource 'denied1' was disallowed by policy." in policy


def test_planned_changes_are_every_what_if_change(
    history: History, tables: dict[str, pd.DataFrame]
) -> None:
    changes = tables["planned_changes"]
    cleanup = {
        name: sorted(
            (r["resource_id"].rsplit("/", 1)[1], r["change_type"], r["applied"])
            for r in rows(changes, run_id=history.run_id(name))
        )
        for name in ("cleanup_create", "cleanup_blocked", "cleanup_approved")
    }
    assert cleanup == {
        "cleanup_create": [
            ("drop1", "Create", True),
            ("keep1", "Create", True),
            ("rg-cleanup", "Create", True),  # planned by ARM at subscription scope
        ],
        "cleanup_blocked": [("drop1", "Delete", False), ("keep1", "NoChange", False)],
        "cleanup_approved": [("drop1", "Delete", True), ("keep1", "NoChange", True)],
    }
    drift = sorted(
        (r["resource_id"], r["resource_type"], r["change_type"], r["changed_paths"], r["applied"])
        for r in rows(changes, run_id=history.run_id("drift"))
    )
    storage = "Microsoft.Storage/storageAccounts"
    assert drift == [
        (resource_id("rg-flaky", "flaky1"), storage, "Modify", ["sku.name"], False),
        (resource_id("rg-flaky", "flaky2"), storage, "Create", [], False),
    ]
    assert len(rows(changes, run_id=history.run_id("dev"))) == 7


def test_deployed_resources_track_first_last_and_deletion(
    history: History, tables: dict[str, pd.DataFrame]
) -> None:
    resources = tables["deployed_resources"]
    by_id = {r["resource_id"]: r for r in rows(resources)}
    create, approved = history.run_id("cleanup_create"), history.run_id("cleanup_approved")
    keep, drop = (
        by_id[resource_id("rg-cleanup", "keep1")],
        by_id[resource_id("rg-cleanup", "drop1")],
    )
    assert (keep["first_run_id"], keep["last_run_id"], keep["exists"]) == (create, approved, True)
    assert keep["deleted_run_id"] is None
    assert (drop["first_run_id"], drop["last_run_id"]) == (create, create)
    assert (drop["deleted_run_id"], drop["exists"]) == (approved, False)
    assert drop["deleted_at"] > drop["last_deployed_at"]
    dev = history.runs["dev"].output_for_node("deploy").output_resources
    assert sorted(r["resource_id"] for r in rows(resources, environment="dev")) == sorted(dev)
    flaky1 = by_id[resource_id("rg-flaky", "flaky1")]  # the plan-only run deployed nothing
    assert flaky1["last_run_id"] == history.run_id("flaky")
    for row in by_id.values():
        assert (row["provisioning_state"], row["health"], row["healthy"]) == (
            "Succeeded",
            "Available",
            True,
        )
    assert not any(r["resource_id"].endswith(("denied1", "flaky2")) for r in by_id.values())


def test_environment_status_per_environment(
    history: History, tables: dict[str, pd.DataFrame]
) -> None:
    status = {r["environment"]: r for r in rows(tables["environment_status"])}
    assert sorted(status) == ["cleanup", "dev", "flaky", "policy"]
    cleanup = status["cleanup"]
    assert (cleanup["last_success_run_id"], cleanup["last_failure_run_id"]) == (
        history.run_id("cleanup_approved"),
        history.run_id("cleanup_blocked"),
    )
    assert (cleanup["last_failure_code"], cleanup["current_git_sha"]) == ("DestructiveChange", SHA)
    assert (cleanup["drift_run_id"], cleanup["open_drift"], cleanup["drift_resources"]) == (
        None,
        None,
        None,
    )
    flaky = status["flaky"]
    assert (flaky["drift_run_id"], flaky["drift_changes"], flaky["open_drift"]) == (
        history.run_id("drift"),
        2,
        True,
    )
    assert flaky["last_run_id"] == history.run_id("drift")
    assert flaky["last_success_run_id"] == history.run_id("flaky")
    policy = status["policy"]
    assert (policy["last_deploy_status"], policy["last_success_run_id"]) == ("failure", None)
    assert (policy["last_failure_kind"], policy["last_failure_code"]) == (
        "logic",
        "RequestDisallowedByPolicy",
    )


def test_no_table_holds_the_canary_secure_value(
    history: History, tables: dict[str, pd.DataFrame]
) -> None:
    import duckdb

    with duckdb.connect(str(history.database), read_only=True) as connection:
        known = {"the policy run's id": history.run_id("policy")}  # the search finds text
        assert find_secure_values(connection, "deployment_runs", known)
        for name in tables:
            assert find_secure_values(connection, name, {"canary": CANARY}) == [], name
    for name, frame in tables.items():
        assert not frame.astype(str).apply(lambda col: col.str.contains(CANARY)).any().any(), name
    assert CANARY.encode() not in history.database.read_bytes()
    checks = checks_by_name(history.refreshed)
    assert len(checks) == 9 and all(checks.values()), checks


def test_tables_are_typed_for_sql(history: History) -> None:
    import duckdb

    with duckdb.connect(str(history.database), read_only=True) as connection:
        types = dict(
            connection.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = 'audit' AND table_name = 'deployment_runs'"
            ).fetchall()
        )
        empty = connection.execute(
            "SELECT count(*) FROM audit.planned_changes WHERE len(changed_paths) = 0"
        ).fetchall()
    assert types["ended_at"] == "TIMESTAMP WITH TIME ZONE"
    assert (types["retries"], types["applied"]) == ("BIGINT", "BOOLEAN")
    assert empty == [(18,)]  # 19 changes; only the drift plan's Modify changed paths
