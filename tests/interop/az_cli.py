"""The official Azure CLI, installed from PyPI into its own virtual environment and cached
between runs (``~/.cache/bicep-assets/az/<version>``); ``.ci/run`` installs it before pytest
so the suite's time does not include the install. ``BICEP_ASSETS_AZ`` names an az executable
to use instead."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

AZ_VERSION = "2.91.0"


def cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "bicep-assets" / "az" / AZ_VERSION


def az_executable() -> Path:
    """The az executable, installing it into the cache when it is not there yet (one
    installer at a time: xdist workers wait on a lock file)."""
    given = os.environ.get("BICEP_ASSETS_AZ")
    if given:
        return Path(given)
    venv = cache_dir()
    az = venv / "bin" / "az"
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f"{AZ_VERSION}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (venv / "installed").exists():
            subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
            pip = [str(venv / "bin" / "pip"), "install", "-q", f"azure-cli=={AZ_VERSION}"]
            subprocess.run(pip, check=True)
            (venv / "installed").write_text(AZ_VERSION, encoding="utf-8")
    return az


if __name__ == "__main__":  # .ci/run: install before the suite
    print(az_executable())
