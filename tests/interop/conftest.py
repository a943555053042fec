"""The official Azure CLI against ``bicep-assets emulator serve``, set up as the README says:
serve, ``eval "$(bicep-assets emulator az-env …)"``, ``az login --identity``.

One emulator and one login per xdist worker (session scope), shared by the interop modules:
a server and a login cost two seconds. Tests use names of their own (groups, management groups,
deployments), so they pass in any order on a shared emulator.

The login runs the ``az`` executable; the other commands run in children forked from one
process that imported the CLI once (``tests/fork_server.py``: ``python -m azure.cli`` with the
same arguments, environment and folder), which takes a command from ~0.4 to ~0.07 s of CPU.
``BICEP_ASSETS_AZ_FORK=0`` runs every command as its own ``az`` process instead.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..fork_server import ForkServer
from .az_cli import az_executable

SUB = "00000000-0000-0000-0000-000000000000"
TOKEN = "az-interop-token-0123456789"


TIMEOUT_S = 120


class Az:
    """Runs az with the environment az-env printed, in a working folder of template files."""

    def __init__(
        self, executable: Path, env: dict[str, str], cwd: Path, base_url: str, scratch: Path
    ) -> None:
        self.executable, self.env, self.cwd, self.base_url = executable, env, cwd, base_url
        python = executable.with_name("python3")
        forks = os.environ.get("BICEP_ASSETS_AZ_FORK", "1") != "0" and python.exists()
        # az reads its configuration folder's variable when imported: the server gets `env`
        self.forks = (
            ForkServer(
                python,
                "azure.cli",
                str(executable),
                preload=["azure.cli.core"],
                server_env={**env, "AZ_INSTALLER": env.get("AZ_INSTALLER", "PIP")},
                scratch=scratch,
            )
            if forks
            else None
        )

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        if self.forks is None:
            return self.run_process(*args)
        env = {**self.env, "AZ_INSTALLER": self.env.get("AZ_INSTALLER", "PIP")}  # as az sets it
        return self.forks.run(list(args), cwd=self.cwd, env=env, timeout=TIMEOUT_S)

    def run_process(self, *args: str) -> subprocess.CompletedProcess[str]:
        """The command as its own ``az`` process."""
        return subprocess.run(
            [str(self.executable), *args],
            env=self.env,
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
        )

    def json(self, *args: str) -> Any:
        done = self.run(*args, "-o", "json")
        assert done.returncode == 0, f"az {' '.join(args)}: {done.stderr}"
        return json.loads(done.stdout) if done.stdout.strip() else None

    def fails(self, *args: str, code: int = 1) -> str:
        """az's stderr for a command that must fail with exit code ``code`` — 1 for an error,
        3 for what az's ``show`` commands report as not found — never with a crash."""
        done = self.run(*args)
        assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr, done.stderr
        return done.stderr

    def write(self, name: str, text: str) -> None:
        (self.cwd / name).write_text(text, encoding="utf-8")

    def close(self) -> None:
        if self.forks is not None:
            self.forks.close()


@pytest.fixture(scope="session")
def az(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Az]:
    executable = az_executable()
    work = tmp_path_factory.mktemp("az")
    bicep_assets = Path(sys.executable).with_name("bicep-assets")
    client: Az | None = None
    server = subprocess.Popen(
        [str(bicep_assets), "emulator", "serve", "--token", TOKEN, "--cert-dir", str(work)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        described = json.loads(server.stdout.readline())
        exports = subprocess.run(
            [
                str(bicep_assets),
                "emulator",
                "az-env",
                "--endpoint",
                described["base_url"],
                "--token",
                TOKEN,
                "--ca-file",
                described["ca_file"],
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "ARM_"))}
        for line in exports.splitlines():
            name, _, value = line.removeprefix("export ").partition("=")
            env[name] = shlex.split(value)[0]
        scratch = tmp_path_factory.mktemp("az-fork")
        client = Az(executable, env, work, described["base_url"], scratch)
        login = client.run_process("login", "--identity", "-o", "json")
        assert login.returncode == 0, login.stderr
        assert [
            (a["id"], a["environmentName"], a["user"]["name"]) for a in json.loads(login.stdout)
        ] == [(SUB, "LocalArm", "systemAssignedIdentity")]
        yield client
    finally:
        if client is not None:
            client.close()
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
