"""The tests' fork server (tests/fork_server.py): commands run side by side, each a process of
its own that can be killed, with its output where it was asked to go; a command importing
more than a pipe holds does not stall the server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .fork_server import ForkServer

TARGET = """
import os
import sys
import time
import types
from pathlib import Path


def main() -> int:
    command, *rest = sys.argv[1:]
    if command == "wait-for":  # until the file rest[0] exists, then its text on stdout
        while not Path(rest[0]).exists():
            time.sleep(0.01)
        print(Path(rest[0]).read_text(), end="")
    elif command == "write":
        Path(rest[0]).write_text(rest[1])
    elif command == "both":
        print("to stdout", flush=True)
        print("to stderr", file=sys.stderr, flush=True)
    elif command == "pid":
        print(os.getpid(), flush=True)
        time.sleep(600)
    elif command == "many-modules":  # a report of ~200 KB of module names
        for i in range(3000):
            sys.modules[f"not_importable_{i:04d}_" + "x" * 60] = types.ModuleType("m")
        print("done")
    return int(os.environ.get("EXIT", "0"))
"""


@pytest.fixture
def forks(tmp_path: Path) -> Iterator[ForkServer]:
    (tmp_path / "forktarget.py").write_text(TARGET)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    server = ForkServer(
        Path(sys.executable),
        "forktarget:main",
        "forktarget",
        preload=[],
        server_env={**os.environ, "PYTHONPATH": str(tmp_path)},
        scratch=scratch,
    )
    try:
        yield server
    finally:
        server.close()


def test_a_command_runs_to_its_end_with_its_exit_status_and_output(
    forks: ForkServer, tmp_path: Path
) -> None:
    done = forks.run(["both"], cwd=tmp_path, env={**os.environ, "EXIT": "3"})
    assert (done.returncode, done.stdout, done.stderr) == (3, "to stdout\n", "to stderr\n")
    assert list((tmp_path / "scratch").iterdir()) == []  # its output files are removed


def test_started_commands_run_side_by_side(forks: ForkServer, tmp_path: Path) -> None:
    signal_file, out = tmp_path / "go", tmp_path / "waiter.out"
    waiter = forks.start(["wait-for", str(signal_file)], cwd=tmp_path, env={}, stdout=out)
    assert waiter.poll() is None
    # a second command while the first still runs: it frees the first
    done = forks.run(["write", str(signal_file), "hello"], cwd=tmp_path, env={})
    assert done.returncode == 0
    assert waiter.wait(timeout=60) == 0
    assert out.read_text() == "hello"


def test_a_started_command_is_a_process_that_can_be_killed(
    forks: ForkServer, tmp_path: Path
) -> None:
    out = tmp_path / "pid.out"
    process = forks.start(["pid"], cwd=tmp_path, env={}, stdout=out)
    deadline = time.monotonic() + 60
    while not out.read_text():
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert int(out.read_text()) == process.pid != os.getpid()
    with pytest.raises(subprocess.TimeoutExpired):
        process.wait(timeout=0.2)
    process.kill()
    assert process.wait(timeout=60) == -signal.SIGKILL
    process.kill()  # ended: nothing to do
    assert forks.run(["both"], cwd=tmp_path, env={}).returncode == 0  # the server carries on


def test_output_may_be_appended_and_errors_sent_with_it(forks: ForkServer, tmp_path: Path) -> None:
    log = tmp_path / "log"
    log.write_text("before\n")
    process = forks.start(["both"], cwd=tmp_path, env={}, stdout=log, append=True)
    assert process.wait(timeout=60) == 0
    assert log.read_text() == "before\nto stdout\nto stderr\n"


def test_a_command_that_imported_more_than_a_pipe_holds_ends(
    forks: ForkServer, tmp_path: Path
) -> None:
    done = forks.run(["many-modules"], cwd=tmp_path, env={}, timeout=60)
    assert (done.returncode, done.stdout) == (0, "done\n")
    assert forks.run(["both"], cwd=tmp_path, env={}).returncode == 0


def test_a_run_past_its_timeout_is_killed_alone(forks: ForkServer, tmp_path: Path) -> None:
    other = forks.start(
        ["wait-for", str(tmp_path / "go")], cwd=tmp_path, env={}, stdout=tmp_path / "o"
    )
    with pytest.raises(subprocess.TimeoutExpired):
        forks.run(["pid"], cwd=tmp_path, env={}, timeout=0.5)
    assert other.poll() is None  # still running
    (tmp_path / "go").write_text("")
    assert other.wait(timeout=60) == 0


def test_a_command_that_cannot_start_exits_127_and_the_server_carries_on(
    forks: ForkServer, tmp_path: Path
) -> None:
    done = forks.run(["both"], cwd=tmp_path / "gone", env={})
    assert done.returncode == 127
    assert "FileNotFoundError" in done.stderr and str(tmp_path / "gone") in done.stderr
    assert forks.run(["both"], cwd=tmp_path, env={}).stdout == "to stdout\n"
    assert forks.answers == {}  # nothing kept of the ended commands
