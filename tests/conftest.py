"""Fixtures shared across test folders."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from bicep_assets.armlocal import FaultPlanSpec, LocalArm, LocalArmConfig

REPO = Path(__file__).resolve().parents[1]


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: two workers per core. Many tests spend their time waiting on another
    process (a CLI run, ``dagster dev``, az, a server's poll), so one worker per core leaves
    cores idle (measured on 2 cores: 4 workers finish the suite in 4 min 20 s, 2 in 4 min 53 s)."""
    return 2 * (os.cpu_count() or 1)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The long tests first on every worker. xdist's worksteal gives each of N workers one
    contiguous Nth of the list and lets a worker that runs out take over the end of another's.
    So the long tests — those that start ``dagster dev``, then the other slow ones — are dealt
    in turn to the heads of the N parts, and the quick ones fill the parts up (each group in
    pytest-randomly's order): every worker starts on its share of the long tests, and no long
    test is left to start last while the others sit idle."""

    def rank(item: pytest.Item) -> int:
        if "start_dagster_dev" in item.fixturenames:
            return 0
        return 1 if item.get_closest_marker("slow") else 2

    items.sort(key=rank)
    workers = getattr(config, "workerinput", {}).get("workercount", 1)
    if workers < 2 or not items:
        return
    long_tests = [item for item in items if rank(item) < 2]
    quick = iter([item for item in items if rank(item) == 2])
    parts: list[list[pytest.Item]] = [long_tests[w::workers] for w in range(workers)]
    remaining = len(items)
    for w, part in enumerate(parts):  # worksteal's split: worker w gets remaining // (N - w)
        share = remaining // (workers - w)
        remaining -= share
        part.extend(next(quick) for _ in range(max(0, share - len(part))))
    parts[-1].extend(quick)  # when one part's long tests outnumber its share
    items[:] = [item for part in parts for item in part]


@pytest.fixture(scope="session")
def session_arm() -> Iterator[LocalArm]:
    """One in-memory local ARM for the worker's whole session (see :func:`fresh_arm`)."""
    arm = LocalArm(config=LocalArmConfig(retry_after=0)).start()
    yield arm
    arm.stop()


def fresh_arm(arm: LocalArm) -> LocalArm:
    """``arm`` as if just started: no deployment running, empty state, no faults, no resource
    delay, no request recorded."""
    arm.backend.runner.wait_idle()
    arm.store.reset()
    arm.backend.faults.replace(FaultPlanSpec())
    arm.config.resource_delay_s = 0.0
    arm.app.requests.clear()
    return arm


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def dagster_dev_home(tmp_path: Path) -> Path:
    """A copy of the project at ``tmp_path/project`` and its DAGSTER_HOME (returned), both with
    the repository's dagster.yaml; ``dagster dev`` is not started yet."""
    project = tmp_path / "project"
    for item in ("infra", "parameters"):
        shutil.copytree(REPO / item, project / item)
    shutil.copyfile(REPO / "workspace.yaml", project / "workspace.yaml")
    home = tmp_path / "home"
    home.mkdir()
    for folder in (project, home):  # the CLI copies the project's file into DAGSTER_HOME
        shutil.copyfile(REPO / "dagster.yaml", folder / "dagster.yaml")
    return home


@pytest.fixture
def start_dagster_dev(tmp_path: Path, dagster_dev_home: Path) -> Iterator[Callable[[], int]]:
    """Starts a real ``dagster dev`` on ``dagster_dev_home`` when called (so a test can first
    put runs in its instance); returns its port, and stops it when the test ends."""
    processes: list[subprocess.Popen[bytes]] = []
    log = (tmp_path / "dagster-dev.log").open("wb")

    def start() -> int:
        port = free_port()
        env = {
            **os.environ,
            "DAGSTER_HOME": str(dagster_dev_home),
            "DEV_APP_SECRET": "dagster-dev-secret",
            "PROD_APP_SECRET": "dagster-dev-prod-secret",
        }
        dagster = str(Path(sys.executable).with_name("dagster"))
        process = subprocess.Popen(
            [dagster, "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
            cwd=tmp_path / "project",
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        processes.append(process)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{port}/server_info", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            if process.poll() is not None:
                break
            time.sleep(0.5)
        else:
            pytest.fail("dagster dev did not start in 120 s")
        assert process.poll() is None, (tmp_path / "dagster-dev.log").read_text()[-3000:]
        return port

    try:
        yield start
    finally:
        for process in processes:  # no test looks at its shutdown, which takes ~6 s: kill it
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
        log.close()


@pytest.fixture
def dagster_dev(  # a real `dagster dev` on a copy of the project: (port, DAGSTER_HOME)
    start_dagster_dev: Callable[[], int], dagster_dev_home: Path
) -> tuple[int, Path]:
    return start_dagster_dev(), dagster_dev_home
