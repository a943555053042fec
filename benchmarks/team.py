"""Dagster as a team runs it: separate processes on one instance.

:class:`TeamStack` starts, on a project folder and a DAGSTER_HOME, the processes Dagster
documents for production — the code location served by ``dagster code-server start``
(gRPC), ``dagster-webserver`` and ``dagster-daemon`` on a workspace that names that server —
and one standalone local ARM (``bicep-assets emulator serve``) that every run deploys to.
The instance's storage is SQLite under DAGSTER_HOME, or PostgreSQL given a URL
(``BICEP_ASSETS_POSTGRES_URL``). ``tests/test_team_processes.py`` and
``benchmarks/team_load.py`` use it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests
import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
LOCATION = "bicep_assets"
ARM_TOKEN = "team-local-arm-token"  # the rehearsal ARM's bearer token (loopback only)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def with_driver(url: str) -> str:
    from bicep_assets.instance import with_driver as driver

    return driver(url)


class TeamStack:
    """The processes of one team instance; ``env`` is what a CLI process on the same host
    needs (DAGSTER_HOME, the storage URL, the local ARM's three variables)."""

    def __init__(self, project: Path, home: Path, *, postgres_url: str | None = None) -> None:
        self.project, self.home = project, home
        self.logs = home.parent / "team-logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.postgres_url = with_driver(postgres_url) if postgres_url else None
        self.env: dict[str, str] = {**os.environ, "DAGSTER_HOME": str(home)}
        if self.postgres_url:
            self.env["BICEP_ASSETS_POSTGRES_URL"] = self.postgres_url
        self.webserver_port = free_port()
        self.code_server_port = free_port()

    # -- starting --------------------------------------------------------------------------
    def start(self, *, extra_env: dict[str, str] | None = None) -> TeamStack:
        from bicep_assets.instance import instance_yaml

        self.env.update(extra_env or {})
        self.home.mkdir(parents=True, exist_ok=True)
        project_yaml = (self.project / "dagster.yaml").read_text()
        (self.home / "dagster.yaml").write_text(instance_yaml(project_yaml, self.postgres_url))
        self._create_storage()
        self._start_local_arm()
        workspace = self.home.parent / "team-workspace.yaml"
        workspace.write_text(
            yaml.safe_dump(
                {
                    "load_from": [
                        {
                            "grpc_server": {
                                "host": "127.0.0.1",
                                "port": self.code_server_port,
                                "location_name": LOCATION,
                            }
                        }
                    ]
                }
            )
        )
        self._spawn(
            "code-server",
            [str(BIN / "dagster"), "code-server", "start", "-h", "127.0.0.1",
             "-p", str(self.code_server_port), "-m", "bicep_assets.definitions",
             "--location-name", LOCATION],
        )  # fmt: skip
        self._spawn(
            "webserver",
            [str(BIN / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(self.webserver_port),
             "-w", str(workspace)],
        )  # fmt: skip
        self._spawn("daemon", [str(BIN / "dagster-daemon"), "run", "-w", str(workspace)])
        self._wait_for_location()
        return self

    def _create_storage(self) -> None:
        """Create the instance's tables once, before the processes start: three processes
        creating a fresh SQLite storage at once leave two alembic heads behind (what
        ``dagster instance migrate`` does before a deployment starts its processes)."""
        import dagster as dg

        saved = os.environ.get("BICEP_ASSETS_POSTGRES_URL")
        if self.postgres_url:
            os.environ["BICEP_ASSETS_POSTGRES_URL"] = self.postgres_url
        try:
            with dg.DagsterInstance.from_config(str(self.home)):
                pass
        finally:
            if saved is None:
                os.environ.pop("BICEP_ASSETS_POSTGRES_URL", None)
            else:
                os.environ["BICEP_ASSETS_POSTGRES_URL"] = saved

    def _spawn(self, name: str, command: list[str]) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("wb")
        process = subprocess.Popen(
            command,
            cwd=self.project,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes[name] = process
        return process

    def _start_local_arm(self) -> None:
        certs = self.home.parent / "team-localarm"
        process = subprocess.Popen(
            [str(BIN / "bicep-assets"), "emulator", "serve", "--port", "0",
             "--state", str(self.home.parent / "team-arm.sqlite"), "--token", ARM_TOKEN,
             "--cert-dir", str(certs), "--retry-after", "0"],
            cwd=self.project, env=self.env, stdout=subprocess.PIPE,
            stderr=(self.logs / "local-arm.log").open("wb"), start_new_session=True,
        )  # fmt: skip
        self.processes["local-arm"] = process
        assert process.stdout is not None
        line = process.stdout.readline().decode()
        if not line:
            raise RuntimeError((self.logs / "local-arm.log").read_text()[-2000:])
        served = json.loads(line)
        self.arm = served
        self.env.update(
            {
                "BICEP_ASSETS_LOCAL_ARM_ENDPOINT": served["base_url"],
                "BICEP_ASSETS_LOCAL_ARM_TOKEN": served["token"],
                "BICEP_ASSETS_LOCAL_ARM_CA_FILE": served["ca_file"],
            }
        )

    def _wait_for_location(self, timeout_s: float = 180) -> None:
        """Until the webserver answers and has loaded the code location from the server."""
        query = "{ workspaceOrError { ... on Workspace { locationEntries { name "
        query += "locationOrLoadError { __typename } } } } }"
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    log = (self.logs / f"{name}.log").read_text(errors="replace")[-3000:]
                    raise RuntimeError(f"{name} exited: {log}")
            try:
                answer = self.graphql(query)
                entries = answer["workspaceOrError"]["locationEntries"]
                if entries and entries[0]["locationOrLoadError"] is not None:
                    kind = entries[0]["locationOrLoadError"]["__typename"]
                    if kind == "RepositoryLocation":
                        return
                    if kind == "PythonError":  # the code server was not up yet: load again
                        self.graphql(
                            "mutation { reloadRepositoryLocation(repositoryLocationName: "
                            f'"{LOCATION}") {{ __typename }} }}'
                        )
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"the code location did not load in {timeout_s} s")

    # -- using -----------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.webserver_port}"

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = requests.post(
            f"{self.url}/graphql", json={"query": query, "variables": variables or {}}, timeout=60
        )
        response.raise_for_status()
        body = response.json()
        if body.get("errors"):
            raise RuntimeError(body["errors"])
        return body["data"]

    def launch(self, job: str, run_config: dict[str, Any] | None = None) -> str:
        """Launch ``job`` as the launchpad does (GraphQL ``launchRun``); its run id."""
        mutation = """
        mutation($params: ExecutionParams!) {
          launchRun(executionParams: $params) {
            __typename
            ... on LaunchRunSuccess { run { runId } }
            ... on PythonError { message }
            ... on RunConfigValidationInvalid { errors { message } }
          }
        }"""
        params = {
            "selector": {
                "repositoryLocationName": LOCATION,
                "repositoryName": "__repository__",
                "jobName": job,
            },
            "runConfigData": run_config or {},
        }
        result = self.graphql(mutation, {"params": params})["launchRun"]
        if result["__typename"] != "LaunchRunSuccess":
            raise RuntimeError(f"launching {job}: {result}")
        return result["run"]["runId"]

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=20)
