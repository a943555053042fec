"""Benchmark: from the UI's "Launch run" to the run's first step start.

Starts a real ``dagster dev`` (webserver + daemon) on a copy of the project, for each instance
setting compared, and launches ``plan_dev`` through the webserver's GraphQL API — the
``launchPipelineExecution`` mutation the launchpad's button sends — ``--runs`` times, one
after the other. For each run it reads the event log: when the run was enqueued, dequeued by
the daemon (its launch starts), when its process started, and when its first step (lint)
started. Prints the median, min and max of launch → first step, and the median of each part.

Settings compared (``--settings``):

- ``default``: the repository's dagster.yaml without its run-queue tuning (Dagster's defaults:
  the daemon looks at the queue every 5 s and launches dequeued runs one at a time);
- ``tuned``: the repository's dagster.yaml as it is.

    .venv/bin/python benchmarks/ui_latency.py [--runs 5] [--settings default tuned]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import machine_description

REPO = Path(__file__).resolve().parents[1]
JOB = "plan_dev"
QUEUE_TUNING = ("dequeue_interval_seconds", "dequeue_use_threads", "dequeue_num_workers")
PARTS = ("enqueued", "launching", "process_started", "first_step")


def instance_settings(name: str) -> str:
    """The dagster.yaml of setting ``name``."""
    settings = yaml.safe_load((REPO / "dagster.yaml").read_text(encoding="utf-8"))
    if name == "default":
        for key in QUEUE_TUNING:
            settings["run_coordinator"]["config"].pop(key, None)
    elif name != "tuned":
        raise SystemExit(f"unknown setting {name!r} (default, tuned)")
    return yaml.safe_dump(settings, sort_keys=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_dagster_dev(root: Path, settings: str) -> tuple[subprocess.Popen[bytes], int, Path]:
    """``dagster dev`` on a copy of the project in ``root``: (process, port, DAGSTER_HOME)."""
    project, home = root / "project", root / "home"
    for item in ("infra", "parameters"):
        shutil.copytree(REPO / item, project / item)
    shutil.copyfile(REPO / "workspace.yaml", project / "workspace.yaml")
    home.mkdir()
    (home / "dagster.yaml").write_text(settings, encoding="utf-8")
    port = free_port()
    env = {**os.environ, "DAGSTER_HOME": str(home), "DEV_APP_SECRET": "benchmark-secret-1"}
    dagster = str(Path(sys.executable).with_name("dagster"))
    log = (root / "dagster-dev.log").open("wb")
    process = subprocess.Popen(
        [dagster, "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        cwd=project,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return process, port, home


def stop(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def launch(port: int) -> tuple[float, str]:
    """Launch ``plan_dev`` over GraphQL as the launchpad does: (wall clock before the
    request, run id). Retries while the code location is still loading."""
    from dagster_graphql import DagsterGraphQLClient

    client = DagsterGraphQLClient("127.0.0.1", port_number=port)
    deadline = time.monotonic() + 120
    while True:
        clicked = time.time()
        try:
            return clicked, client.submit_job_execution(JOB)
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def timeline(home: Path, run_id: str, timeout_s: float = 120.0) -> dict[str, float]:
    """When the run was enqueued, taken off the queue by the daemon (``RUN_STARTING``: its
    launch begins), its process started, its first step started, and it ended (epoch
    seconds), from the event log; waits for the run's end."""
    from dagster import DagsterEventType, DagsterInstance

    wanted = {
        DagsterEventType.RUN_ENQUEUED: "enqueued",
        DagsterEventType.RUN_STARTING: "launching",
        DagsterEventType.RUN_START: "process_started",
        DagsterEventType.STEP_START: "first_step",
        DagsterEventType.RUN_SUCCESS: "ended",
        DagsterEventType.RUN_FAILURE: "ended",
    }
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with DagsterInstance.from_config(str(home)) as instance:
            seen: dict[str, float] = {}
            for entry in instance.all_logs(run_id):
                name = wanted.get(entry.dagster_event_type)  # type: ignore[arg-type]
                if name is not None and name not in seen:
                    seen[name] = entry.timestamp
        if "ended" in seen:
            return seen
        time.sleep(0.2)
    raise SystemExit(f"run {run_id} did not end in {timeout_s:.0f} s")


def measure(setting: str, runs: int) -> list[dict[str, float]]:
    """``runs`` launches under ``setting``: per run, seconds from the click to each part."""
    with tempfile.TemporaryDirectory(prefix="ui-latency-") as folder:
        process, port, home = start_dagster_dev(Path(folder), instance_settings(setting))
        try:
            _, warm_up = launch(port)  # the code location loads, a first run process runs
            timeline(home, warm_up)
            samples: list[dict[str, float]] = []
            for _ in range(runs):
                clicked, run_id = launch(port)
                seen = timeline(home, run_id)
                if "first_step" not in seen:
                    raise SystemExit(f"run {run_id} started no step")
                samples.append({part: seen[part] - clicked for part in PARTS if part in seen})
            return samples
        finally:
            stop(process)


def report(setting: str, samples: list[dict[str, float]]) -> dict[str, Any]:
    first = [s["first_step"] for s in samples]
    parts = {part: statistics.median(s[part] for s in samples) for part in PARTS}
    print(
        f"{setting:>8}: launch → first step median {statistics.median(first):.2f} s "
        f"(min {min(first):.2f}, max {max(first):.2f}, {len(first)} runs); median parts: "
        + ", ".join(f"{part} {value:.2f} s" for part, value in parts.items())
    )
    return {"setting": setting, "median_s": statistics.median(first), "parts": parts}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--settings", nargs="+", default=["default", "tuned"])
    args = parser.parse_args(argv)
    print(f"machine: {machine_description()}; job {JOB}; {args.runs} launches per setting")
    for setting in args.settings:
        report(setting, measure(setting, args.runs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
