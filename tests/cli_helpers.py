"""The ``bicep-assets`` command as CI runs it: a real process on a copy of the project that is
a real git repository, with a DAGSTER_HOME of the test's own."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


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
    """``python -m bicep_assets.cli ARGS`` in ``project`` with DAGSTER_HOME=``home`` and the
    environment variables of ``secrets`` set."""
    env = {**os.environ, "DAGSTER_HOME": str(home), **secrets}
    return subprocess.run(
        [sys.executable, "-m", "bicep_assets.cli", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
