"""The local ARM's temporary folders (``localarm-*``: its CA and certificate), and removing
those whose process is gone.

A local ARM started without a ``cert_dir`` keeps its CA in a folder ``localarm-<random>`` in
the system's temporary directory, removed when it stops or its process exits. A process
killed with SIGKILL removes nothing, so each folder names its process in a file
``owner.json`` (a :class:`~..state.owners.ProcessIdentity`: host, PID namespace, pid, start
time), and :func:`remove_orphaned_temp_dirs` — called when a local ARM starts and by every
``bicep-assets`` command that runs jobs — removes the folders whose process is gone. It
removes only what it can be sure of: folders of this user, whose ``owner.json`` names a
process of this host and PID namespace that no longer runs (a recycled pid counts as gone).
A folder without ``owner.json`` (being created, or left by an older version), one of another
host or container, or of a live process is left alone.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

from ..state.owners import ProcessIdentity, process_liveness

PREFIX = "localarm-"
OWNER_FILE = "owner.json"

log = logging.getLogger("bicep_assets.armlocal")


def owned_temp_dir() -> tempfile.TemporaryDirectory[str]:
    """A new ``localarm-*`` folder naming this process in its ``owner.json`` (written
    atomically, so a reader sees the whole identity or none)."""
    folder = tempfile.TemporaryDirectory(prefix=PREFIX)
    partial = Path(folder.name) / f".{OWNER_FILE}.partial"
    partial.write_text(ProcessIdentity.current().to_json(), encoding="utf-8")
    partial.replace(Path(folder.name) / OWNER_FILE)
    return folder


def owner_of(folder: Path) -> ProcessIdentity | None:
    """The process named in ``folder``'s ``owner.json``; None when absent or unreadable."""
    try:
        text = (folder / OWNER_FILE).read_text(encoding="utf-8")
        return ProcessIdentity.from_json(text)
    except (OSError, ValueError):
        return None


def remove_orphaned_temp_dirs(root: str | Path | None = None) -> list[Path]:
    """Remove the ``localarm-*`` folders under ``root`` (default: the system's temporary
    directory) whose process is gone; the folders removed."""
    base = Path(root) if root is not None else Path(tempfile.gettempdir())
    try:
        candidates = sorted(base.glob(f"{PREFIX}*"))
    except OSError:
        return []
    uid = os.getuid() if hasattr(os, "getuid") else None
    removed: list[Path] = []
    for folder in candidates:
        try:
            if folder.is_symlink() or not folder.is_dir():
                continue
            if uid is not None and folder.stat().st_uid != uid:
                continue
        except OSError:
            continue
        owner = owner_of(folder)
        if owner is None or process_liveness(owner) != "dead":
            continue
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            removed.append(folder)
            log.info("local ARM: removed %s, left by %s (gone)", folder, owner.describe())
    return removed
