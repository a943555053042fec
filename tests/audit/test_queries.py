"""The README's analyst queries, run exactly as written, answer correctly on the history."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from bicep_assets.audit.queries import QUERIES, query_database, run_query

from .conftest import History, resource_id

REPO = Path(__file__).resolve().parents[2]


def seconds_between(history: History, earlier: str, later: str) -> float:
    ended = {}
    for name in (earlier, later):
        run = history.project.instance.get_run_record_by_id(history.run_id(name))
        ended[name] = run.end_time
    return ended[later] - ended[earlier]


def test_success_rate_per_environment_per_week(history: History) -> None:
    rate = query_database(history.database, "success_rate")
    totals = rate.groupby("environment")[["deployments", "succeeded"]].sum()
    assert totals.to_dict("index") == {
        "cleanup": {"deployments": 3, "succeeded": 2},
        "dev": {"deployments": 1, "succeeded": 1},
        "flaky": {"deployments": 1, "succeeded": 1},  # the plan-only run is not a deployment
        "policy": {"deployments": 1, "succeeded": 0},
    }
    assert set(rate["success_pct"]) <= {66.7, 100.0, 0.0}


def test_mean_time_to_recovery(history: History) -> None:
    mttr = query_database(history.database, "mean_time_to_recovery")
    assert list(mttr["environment"]) == ["cleanup"]  # policy never recovered
    expected = seconds_between(history, "cleanup_blocked", "cleanup_approved")
    assert mttr.loc[0, "recoveries"] == 1
    assert mttr.loc[0, "mean_time_to_recovery_s"] == pytest.approx(expected, abs=0.1)


def test_most_frequent_failure_codes(history: History) -> None:
    codes = query_database(history.database, "failure_codes")
    assert [
        tuple(r) for r in codes[["source", "failure_kind", "arm_code", "occurrences"]].values
    ] == [
        ("retried attempt", "environmental", "ServiceUnavailable", 2),
        ("failed run", "logic", "DestructiveChange", 1),
        ("failed run", "logic", "RequestDisallowedByPolicy", 1),
    ]


@pytest.mark.parametrize("spelling", [str.lower, str.upper], ids=["lower", "upper"])
def test_every_change_to_a_resource(history: History, spelling: object) -> None:
    drop1 = resource_id("rg-cleanup", "drop1")
    changes = query_database(history.database, "changes_to_resource", resource_id=spelling(drop1))  # type: ignore[operator]
    assert [(r.run_id, r.change_type, r.applied, r.status) for r in changes.itertuples()] == [
        (history.run_id("cleanup_create"), "Create", True, "success"),
        (history.run_id("cleanup_blocked"), "Delete", False, "failure"),
        (history.run_id("cleanup_approved"), "Delete", True, "success"),
    ]


def test_changes_to_resource_needs_its_variable(history: History) -> None:
    with (
        duckdb.connect(str(history.database), read_only=True) as connection,
        pytest.raises(ValueError, match="changes_to_resource needs resource_id"),
    ):
        run_query(connection, "changes_to_resource")


def test_deployments_with_destructive_changes(history: History) -> None:
    destructive = query_database(history.database, "destructive_deployments")
    drop1 = resource_id("rg-cleanup", "drop1")
    found = [
        (r.run_id, r.status, r.destructive_approved, list(r.deleted_resources))
        for r in destructive.itertuples()
    ]
    assert found == [
        (history.run_id("cleanup_approved"), "success", True, [drop1]),
        (history.run_id("cleanup_blocked"), "failure", False, [drop1]),
    ]
    assert destructive.loc[0, "allow_destructive_config"].startswith('{"ops": {"gate"')


def test_the_readme_shows_these_queries() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    missing = [q.name for q in QUERIES.values() if q.sql not in readme]
    assert missing == [], "paste bicep_assets.audit.queries.readme_markdown() into the README"
