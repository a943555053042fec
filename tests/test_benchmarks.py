"""The benchmark scripts stay runnable (their figures are printed, never asserted here)."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from tests.conftest import fresh_arm

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def load(name: str) -> ModuleType:
    if str(BENCHMARKS) not in sys.path:  # benchmarks import their shared helpers as scripts do
        sys.path.insert(0, str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_engine_benchmark_generates_what_it_claims() -> None:
    bench = load("engine_expand")
    for size in (10, 1000):
        template = bench.generated_template(size)
        _, _, expressions = bench.measure(size, runs=1)  # asserts the resource count itself
        assert expressions >= 5 * size
        assert len(template["resources"]) >= 3


@pytest.mark.slow
def test_soak_benchmark_counts_faults_retries_and_duplicates() -> None:
    """A short soak with the SDK's retries off: the faults reach the ops' RetryPolicy, and the
    figures printed are the ones the README quotes (shape only; the values are never gated)."""
    arguments = ["--runs", "3", "--rate", "0.1", "--sdk-retries", "0"]
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "soak.py"), *arguments],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert lines[1].startswith("runs: 3, seed 7, SDK retries: 0; ")
    assert re.fullmatch(
        r"faults injected: \d+ of \d+ requests \(\d+%; planned rate 10%\)", lines[2]
    )
    assert re.fullmatch(r"succeeded: [0-3]/3; step retries: \d+", lines[3])
    assert lines[-1] == (
        "duplicates: 0 deployment PUTs accepted twice, 0 runs with more than one deployment "
        "(target 0)"
    )


def test_ui_latency_benchmark_compares_the_queue_defaults_with_the_repositorys_settings() -> None:
    bench = load("ui_latency")
    default = yaml.safe_load(bench.instance_settings("default"))["run_coordinator"]["config"]
    tuned = yaml.safe_load(bench.instance_settings("tuned"))["run_coordinator"]["config"]
    assert "dequeue_interval_seconds" not in default and "dequeue_use_threads" not in default
    assert (tuned["dequeue_interval_seconds"], tuned["dequeue_use_threads"]) == (1, True)
    assert default["tag_concurrency_limits"] == tuned["tag_concurrency_limits"]


def test_cli_latency_recognises_a_step_line_before_and_after_issue_12() -> None:
    bench = load("cli_latency")
    assert bench.STEP_LINE.search("bicep-assets plan dev: lint → plan\nlint    started\n")
    assert not bench.STEP_LINE.search("bicep-assets plan dev: lint → plan\n")
    coloured = (
        "\x1b[32m2026-12-07 05:17:53 +0000\x1b[0m - dagster - \x1b[34mINFO\x1b[0m - plan_dev - "
        "27756b21-e027-44d0-98ac-c31a59e7b9ab - plan - Resource group rg-webapp-dev …\n"
    )
    assert bench.STEP_LINE.search(bench.ANSI.sub("", coloured))


def test_conformance_suite_matches_every_published_example_it_replays(session_arm: Any) -> None:
    """The README's conformance figure: every case (a published example of an operation the
    local ARM serves) matches — status, keys and fixed values — but the known differences;
    and at every stable api-version of its service, one operation whose versions start late
    answers ARM's InvalidApiVersionParameter before them and the example after."""
    bench = load("conformance")
    results = bench.run(fresh_arm(session_arm))
    assert [
        (case.operation, case.example.rsplit("/", 1)[1], problems)
        for case, _, problems in results.mismatches
    ] == [
        (
            "Subscriptions_ListLocations",
            "GetLocations.json",
            [
                "no 'value[].metadata.geographyGroup'",
                "no 'value[].metadata.longitude'",
                "no 'value[].metadata.latitude'",
                "no 'value[].metadata.physicalLocation'",
            ],
        )
    ]
    assert list(bench.KNOWN_DIFFERENCES) == ["GetLocations.json"]
    assert results.run == len(bench.CASES) >= 75 and results.matched == results.run - 1
    assert bench.examples_found()["deployments"] == [19, 18]
    what_if = [c for c in bench.CASES if c.operation == "Deployments_WhatIfAtSubscriptionScope"]
    # at the versions around its start (the benchmark runs every version of every case)
    at = ["2018-02-01", "2019-05-10", "2019-07-01", "2026-06-01"]
    versions = bench.run(fresh_arm(session_arm), every_version=True, cases=what_if, versions=at)
    fresh_arm(session_arm)
    assert versions.mismatches == []
    assert (versions.run, versions.refused) == (4, 2)  # what-if: from 2019-07-01
    assert bench.stable_versions(what_if[0])[:2] == ["2015-11-01", "2016-02-01"]
    assert bench.check(bench.CASES[0], 405, {}) == [
        "status 405, the example lists [200, 201]",
        "no 'id'",
        "no 'name'",
        "no 'location'",
        "no 'properties.provisioningState'",
        "'name' is [], the example shows 'my-resource-group'",
        "'properties.provisioningState' is [], the example shows 'Succeeded'",
    ]
    assert bench.check_refused("2019-05-10", 200, {}) == [
        "api-version 2019-05-10 answered 200 None, not 400 'InvalidApiVersionParameter'"
    ]


def test_team_load_benchmark_makes_the_environments_it_claims(tmp_path: Path) -> None:
    """The load benchmark's project: every environment loads and has its deploy job (the run
    itself is what tests/test_team_processes.py exercises with real processes)."""
    from bicep_assets.environments import scan_environments

    bench = load("team_load")
    names = bench.write_project(tmp_path / "project", 50)
    scan = scan_environments(tmp_path / "project")
    assert sorted(scan.environments) == names and not scan.broken
    lines = bench.table(
        {
            storage: {"runs": 50, "succeeded": 50, "throughput_per_min": 12.0,
                      "queue_median_s": 1.0, "queue_p95_s": 2.0, "refresh_s": 3.0}
            for storage in ("postgres", "sqlite")
        }
    )  # fmt: skip
    assert lines[0].split() == ["postgres", "sqlite"]
    assert lines[2].split() == ["throughput", "12.0", "runs/min", "12.0", "runs/min"]
