"""The push-sensor benchmark stays runnable and measures what it claims: a tick that requests
the newest commit of every environment its generated history changed (figures not asserted)."""

from __future__ import annotations

from tests.test_benchmarks import load


def test_push_sensor_benchmark_requests_the_newest_commit_per_environment() -> None:
    bench = load("push_sensor")
    times, requested = bench.measure(environments=6, commits=40, runs=1)  # asserts the requests
    assert len(times) == 1
    assert requested == 6  # 40 commits over 6 environments change every one of them
