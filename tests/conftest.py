"""Fixtures shared across test folders."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def dagster_dev(  # a real `dagster dev` on a copy of the project: (port, DAGSTER_HOME)
    tmp_path: Path,
) -> Iterator[tuple[int, Path]]:
    project = tmp_path / "project"
    for item in ("infra", "parameters"):
        shutil.copytree(REPO / item, project / item)
    for item in ("workspace.yaml", "dagster.yaml"):
        shutil.copyfile(REPO / item, project / item)
    home = tmp_path / "home"
    home.mkdir()
    shutil.copyfile(REPO / "dagster.yaml", home / "dagster.yaml")
    port = free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "DEV_APP_SECRET": "dagster-dev-secret",
        "PROD_APP_SECRET": "dagster-dev-prod-secret",
    }
    log = (tmp_path / "dagster-dev.log").open("wb")
    dagster = str(Path(sys.executable).with_name("dagster"))
    process = subprocess.Popen(
        [dagster, "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        cwd=project,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
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
        yield port, home
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()
