"""Who is running a piece of unfinished work, and whether that process still exists.

Several processes may share one local-ARM state file (one per Dagster run, say). Each
unfinished deployment, operation and resource records its owner — the :class:`ProcessOwner`
of the store that wrote it — so that a local ARM starting up fails only the work of owners
that are gone, never the work another live process is doing.

A process is named by a :class:`ProcessIdentity`: a host name, the PID namespace (Linux; two
containers may share a host name), a pid and the process's start time. The start time tells
a recycled pid from the process: on Linux it is the boot id with field 22 of
``/proc/<pid>/stat`` (clock ticks since boot); elsewhere on POSIX it is ``ps -o lstart`` (to
the second). A zombie counts as gone. Where neither is available (Windows), liveness is
unknown and only the caller's staleness bound decides. :func:`process_liveness` judges a
process; the rest of the project uses it too (Dagster runs started by ``bicep-assets``, the
local ARM's temporary folders). An owner adds the id of the store instance inside the
process: within one process, a store instance is alive until it is closed (or dropped).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

Liveness = Literal["alive", "dead", "unknown"]
PROC = Path("/proc")

_open_instances: set[str] = set()
_instances_lock = threading.Lock()
_boot_id: str | None = None


@dataclass(frozen=True)
class ProcessIdentity:
    """One process on one host: it is alive while a process with this pid and start time is."""

    host: str
    pid_namespace: str | None
    pid: int
    started: str | None  # opaque start-time token; None where it cannot be read

    @classmethod
    def current(cls) -> ProcessIdentity:
        """This process."""
        pid = os.getpid()
        return cls(socket.gethostname(), _pid_namespace(), pid, process_start(pid))

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ProcessIdentity:
        """The identity :meth:`to_json` wrote; ValueError when ``text`` is not one."""
        try:
            data = json.loads(text)
            started = data.get("started")
            namespace = data.get("pid_namespace")
            identity = cls(str(data["host"]), namespace, int(data["pid"]), started)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a process identity: {text[:200]!r}") from exc
        if not (started is None or isinstance(started, str)) or not (
            namespace is None or isinstance(namespace, str)
        ):
            raise ValueError(f"not a process identity: {text[:200]!r}")
        return identity

    def describe(self) -> str:
        """``pid 1234 on host-a`` (for messages)."""
        return f"pid {self.pid} on {self.host}"


@dataclass(frozen=True)
class ProcessOwner:
    """The store instance, in a process on a host, that wrote a piece of unfinished work."""

    host: str
    pid_namespace: str | None
    pid: int
    started: str | None  # opaque start-time token; None where it cannot be read
    instance: str

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ProcessOwner:
        data = json.loads(text)
        return cls(
            host=str(data["host"]),
            pid_namespace=data.get("pid_namespace"),
            pid=int(data["pid"]),
            started=data.get("started"),
            instance=str(data["instance"]),
        )

    @property
    def process(self) -> ProcessIdentity:
        return ProcessIdentity(self.host, self.pid_namespace, self.pid, self.started)

    def describe(self) -> str:
        """``pid 1234 on host-a`` (for messages)."""
        return self.process.describe()


def open_instance() -> str:
    """A new store instance id, alive (for :func:`liveness`) until :func:`close_instance`."""
    instance = uuid.uuid4().hex
    with _instances_lock:
        _open_instances.add(instance)
    return instance


def close_instance(instance: str) -> None:
    with _instances_lock:
        _open_instances.discard(instance)


def current_owner(instance: str) -> ProcessOwner:
    """This process as the owner of work written through store instance ``instance``."""
    here = ProcessIdentity.current()
    return ProcessOwner(here.host, here.pid_namespace, here.pid, here.started, instance)


def liveness(owner: ProcessOwner) -> Liveness:
    """Whether ``owner`` still runs: ``unknown`` for another host or an unreadable process."""
    if owner.process == ProcessIdentity.current():
        with _instances_lock:
            return "alive" if owner.instance in _open_instances else "dead"
    return process_liveness(owner.process)


def process_liveness(process: ProcessIdentity) -> Liveness:
    """Whether ``process`` still runs: ``dead`` when no process has its pid, or the pid now
    belongs to a process started at another time; ``unknown`` for another host or PID
    namespace, or where this platform cannot tell."""
    here = socket.gethostname(), _pid_namespace()
    if (process.host, process.pid_namespace) != here:
        return "unknown"
    exists = _process_exists(process.pid)
    if exists is None:
        return "unknown"
    if not exists:
        return "dead"
    started = process_start(process.pid)
    if process.started is not None and started is not None and started != process.started:
        return "dead"  # the pid now belongs to another process
    return "alive"


def process_start(pid: int) -> str | None:
    """A token naming the start of process ``pid`` (None if it is gone or unreadable)."""
    if _has_proc():
        fields = _proc_stat(pid)
        return None if fields is None else f"{_boot()}+{fields[19]}"  # field 22: starttime
    found = _ps(pid)
    return None if found is None or found is False else f"ps:{found[1]}"


def _process_exists(pid: int) -> bool | None:
    """True, False, or None where this platform cannot tell. Zombies do no work: False."""
    if _has_proc():
        fields = _proc_stat(pid)
        return fields is not None and fields[0] not in ("Z", "X")
    found = _ps(pid)
    if found is None:
        return None
    return found is not False and not found[0].startswith("Z")


def _has_proc() -> bool:
    return PROC.joinpath("self", "stat").exists()


def _ps(pid: int) -> tuple[str, str] | Literal[False] | None:
    """(state, start time) from POSIX ``ps``; False: no such process; None: cannot tell."""
    if sys.platform == "win32":
        return None
    try:
        result = subprocess.run(
            ["ps", "-o", "stat=", "-o", "lstart=", "-p", str(pid)],
            capture_output=True,
            text=True,
            timeout=10,
            env={**os.environ, "LC_ALL": "C"},
        )
    except (OSError, subprocess.SubprocessError):
        return None
    state, _, started = result.stdout.strip().partition(" ")
    if not state:
        return False if result.returncode == 1 else None
    return state, " ".join(started.split())


def _proc_stat(pid: int) -> list[str] | None:
    """Fields 3.. of ``/proc/<pid>/stat`` (after the command name), or None."""
    try:
        text = PROC.joinpath(str(pid), "stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    return text[text.rfind(")") + 2 :].split()


def _boot() -> str:
    """This boot of the machine: the kernel's boot id, or the boot time (``btime``)."""
    global _boot_id
    if _boot_id is None:
        try:
            _boot_id = PROC.joinpath("sys/kernel/random/boot_id").read_text().strip()
        except OSError:
            stat = PROC.joinpath("stat").read_text()
            _boot_id = next(
                (line.split()[1] for line in stat.splitlines() if line.startswith("btime ")), "?"
            )
    return _boot_id


def _pid_namespace() -> str | None:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return None
