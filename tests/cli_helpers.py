"""The ``bicep-assets`` command as CI runs it: a real process on a copy of the project that is
a real git repository, with a DAGSTER_HOME of the test's own.

The processes are forked from one that imported the CLI and Dagster once
(``tests/fork_server.py``): each is a process of its own — pid, folder, environment, file
descriptors, exit status, a SIGKILL ends it — running what the ``bicep-assets`` script runs,
a second or two of CPU cheaper. ``BICEP_ASSETS_CLI_FORK=0`` starts each as a fresh
interpreter instead."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .fork_server import ForkedProcess, ForkServer

REPO = Path(__file__).resolve().parents[1]
CLI = str(Path(sys.executable).with_name("bicep-assets"))
_forks: ForkServer | None = None  # one per process (xdist worker), started on first use


def _fork_server() -> ForkServer:
    global _forks
    if _forks is None:
        scratch = Path(tempfile.mkdtemp(prefix="bicep-assets-forks-"))
        _forks = ForkServer(
            Path(sys.executable),
            "bicep_assets.cli:main",  # what the bicep-assets script runs
            CLI,
            preload=["dagster", "bicep_assets.cli", "bicep_assets.runs"],
            server_env=dict(os.environ),
            scratch=scratch,
        )
        atexit.register(shutil.rmtree, scratch, ignore_errors=True)
        atexit.register(_forks.close)
    return _forks


def _forking() -> bool:
    return os.environ.get("BICEP_ASSETS_CLI_FORK", "1") != "0"


def run_bicep_assets(
    args: list[str], *, cwd: Path, env: dict[str, str], timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``bicep-assets ARGS`` as a process of its own in ``cwd`` with exactly ``env``."""
    if not _forking():
        return subprocess.run(
            [CLI, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
        )
    return _fork_server().run(args, cwd=cwd, env=env, timeout=timeout)


def start_bicep_assets(
    args: list[str], *, cwd: Path, env: dict[str, str], stdout: Path, append: bool = False
) -> ForkedProcess | subprocess.Popen[bytes]:
    """``bicep-assets ARGS`` started as a process of its own in ``cwd`` with exactly
    ``env``, its output and errors written to the file ``stdout`` (added to if
    ``append``): its ``pid``, ``poll()``, ``wait()``, ``kill()``."""
    if _forking():
        return _fork_server().start(args, cwd=cwd, env=env, stdout=stdout, append=append)
    with stdout.open("ab" if append else "wb") as out:
        return subprocess.Popen(
            [CLI, *args], cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT
        )


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def project_in_git(root: Path) -> Path:
    """A copy of this repository's project (infra, parameters, dagster.yaml) at ``root``,
    committed to a new git repository on branch main."""
    for item in ("infra", "parameters"):
        shutil.copytree(REPO / item, root / item)
    shutil.copyfile(REPO / "dagster.yaml", root / "dagster.yaml")
    identity = ("-c", "user.email=ci@example.com", "-c", "user.name=CI")
    git(root, "init", "-q", "-b", "main")
    git(root, *identity, "add", ".")
    git(root, *identity, "commit", "-qm", "init")
    return root


def run_cli(
    project: Path, home: Path, *args: str, secrets: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """``bicep-assets ARGS`` (a process of its own) in ``project`` with DAGSTER_HOME=``home`` and
    the environment variables of ``secrets`` set."""
    env = {**os.environ, "DAGSTER_HOME": str(home), **secrets}
    return run_bicep_assets(list(args), cwd=project, env=env)
