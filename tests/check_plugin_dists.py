"""Check plugins as installed distributions for the tests: the shipped example
(``plugins/tls-expiry``) built into a wheel and installed by pip into a folder once per test
session, and small hand-written distributions (a ``.dist-info`` folder with its
``entry_points.txt``, the way an installer leaves one) for the plugins that misbehave. Either
folder is put on ``sys.path`` for one test only (``monkeypatch.syspath_prepend``): Python's
``importlib.metadata`` then finds their entry points as it finds any installed package's, and
the rest of the session never sees them."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TLS_PLUGIN = REPO / "plugins" / "tls-expiry"


def write_distribution(
    site: Path, name: str, modules: dict[str, str], entry_points: dict[str, str]
) -> Path:
    """An installed distribution ``name`` in ``site``: its modules and a ``.dist-info`` that
    registers ``entry_points`` (check name → ``module:object``) in ``bicep_assets.checks``."""
    site.mkdir(parents=True, exist_ok=True)
    for module, source in modules.items():
        (site / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    info = site / f"{name.replace('-', '_')}-1.0.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n", encoding="utf-8"
    )
    lines = ["[bicep_assets.checks]", *(f"{k} = {v}" for k, v in entry_points.items())]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return site


def _pip(*args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *args],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="session")
def tls_plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder where ``pip install`` put the example plugin (``plugins/tls-expiry`` as it is
    now), as a user installs it: built into a wheel (setuptools from the package index, in
    pip's isolated build environment) and installed with its ``.dist-info``. Once per session,
    shared by the xdist workers through a lock (~3 s)."""
    sources = sorted(p for p in TLS_PLUGIN.rglob("*") if p.is_file() and "egg-info" not in str(p))
    digest = hashlib.sha256()
    for path in sources:
        digest.update(path.relative_to(TLS_PLUGIN).as_posix().encode() + path.read_bytes())
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the session's folder, above each worker's
    shared = base / f"tls-plugin-{digest.hexdigest()[:12]}"
    shared.mkdir(parents=True, exist_ok=True)
    site = shared / "site"
    with open(shared / "lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not list(site.glob("bicep_assets_tls_expiry-*.dist-info")):
            source = shared / "source"  # a copy: a build leaves build/ beside the sources
            shutil.copytree(TLS_PLUGIN, source, dirs_exist_ok=True)
            _pip("install", "--no-deps", "--target", str(site), str(source.resolve()))
    return site
