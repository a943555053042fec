"""A fork server: a process that imported a command-line program's modules once and runs
each command in a forked child as the program's script would run it — ``python -m MODULE``
for a TARGET that names a module, ``sys.exit(function())`` for ``module:function`` (a
console-script entry point) — the child's own
pid, working folder, environment, stdin (/dev/null), stdout and stderr (files), exit status —
so that a command costs its own work instead of a fresh interpreter importing the program
again.

Run as ``python fork_server.py TARGET ARGV0 [PRELOAD …]``, standard library only (it runs in
az's virtual environment too). One request per line on stdin, as JSON: ``{"id", "args",
"cwd", "env", "stdout", "stderr", "append"}`` (``stderr`` null: to stdout's file; ``append``:
the files are added to, not emptied); answers per line on stdout, as JSON: ``{"id", "pid"}``
once the child is forked, ``{"id", "returncode"}`` when it ended (negative: killed by that
signal; 127: it could not start, the reason on its stderr). Children run side by side. The
modules a child imported are imported here after it ended, so the next child starts with
them. :class:`ForkServer` is the client:
:meth:`ForkServer.run` runs a command to its end, :meth:`ForkServer.start` starts one and
returns a :class:`ForkedProcess` (its pid, ``poll``, ``wait``, ``kill``).
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import gc
import importlib
import itertools
import json
import os
import runpy
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path
from typing import NoReturn

TIMEOUT_S = 300


def _child(request: dict, target: str, argv0: str, report: int) -> NoReturn:
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    mode = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if request.get("append") else os.O_TRUNC)
    for fd, key in ((1, "stdout"), (2, "stderr")):  # first: a failure below is written there
        if request[key] is None:  # stderr to stdout's file
            os.dup2(1, fd)
            continue
        out = os.open(request[key], mode, 0o600)
        os.dup2(out, fd)
        os.close(out)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    tempfile.tempdir = None  # TMPDIR as the request sets it, not as this server found it
    before = set(sys.modules)
    sys.argv = [argv0, *request["args"]]
    code = 0
    try:
        module, _, function = target.partition(":")
        if function:
            sys.exit(getattr(importlib.import_module(module), function)())
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit as exit_:
        if exit_.code is None or isinstance(exit_.code, int):
            code = exit_.code or 0
        else:  # as the interpreter does: a message to stderr, exit code 1
            print(exit_.code, file=sys.stderr)
            code = 1
    except BaseException:  # as the interpreter does: the traceback to stderr, exit code 1
        traceback.print_exc()
        code = 1
    new = "\n".join(sorted(name for name in set(sys.modules) - before if name != "__main__"))
    os.write(report, new.encode())
    os.close(report)
    _exit(code)


def _exit(code: int) -> NoReturn:
    """What the interpreter's exit does that a program can see — wait for its non-daemon
    threads, run its atexit handlers (which run the pending ``weakref.finalize`` callbacks:
    an embedded local ARM's temporary folder is removed by one), flush the streams — and
    then ``os._exit``: not the interpreter's teardown of every module and object, which in a
    forked child writes to every page it shares with the server (half an az command's CPU)."""
    threading._shutdown()  # type: ignore[attr-defined]  # what Py_FinalizeEx calls first
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def _learn(names: list[str]) -> None:
    for name in names:  # one that cannot be imported here is imported by each child again
        with contextlib.suppress(Exception):
            importlib.import_module(name)
    # the modules' objects out of the garbage collector's reach: a child's collections then
    # walk (and write to) only what the child made, not every page it shares with the server
    gc.freeze()


def _answer(message: dict) -> None:
    os.write(1, (json.dumps(message) + "\n").encode())


@dataclasses.dataclass
class _Child:
    ident: object  # the request's id
    pid: int
    report: int | None  # the read end of its report of imported modules, until its end
    chunks: list[bytes] = dataclasses.field(default_factory=list)


def serve(target: str, argv0: str, preload: list[str]) -> None:
    _learn(preload)
    children: dict[int, _Child] = {}  # by pidfd: readable once the child ended
    reading: dict[int, _Child] = {}  # by report: read as it comes (one larger than a pipe
    # holds would stop its writer), and no longer once it ended (its end stays readable)
    pending = b""
    while True:
        readable, _, _ = select.select([0, *children, *reading], [], [])
        for fd in (fd for fd in readable if fd in reading):
            child = reading[fd]
            if chunk := os.read(fd, 1 << 16):
                child.chunks.append(chunk)
            else:
                del reading[fd]
                os.close(fd)
                child.report = None
        for fd in (fd for fd in readable if fd in children):
            child = children.pop(fd)
            os.close(fd)
            _, status = os.waitpid(child.pid, 0)
            if child.report is not None:
                while chunk := os.read(child.report, 1 << 16):
                    child.chunks.append(chunk)
                del reading[child.report]
                os.close(child.report)
            _answer({"id": child.ident, "returncode": os.waitstatus_to_exitcode(status)})
            _learn([name for name in b"".join(child.chunks).decode().split("\n") if name])
        if 0 not in readable:
            continue
        data = os.read(0, 1 << 16)
        if not data:  # the client is gone
            return
        pending += data
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            request = json.loads(line)
            read, write = os.pipe()
            pid = os.fork()
            if pid == 0:
                try:
                    os.close(read)
                    _child(request, target, argv0, write)
                except BaseException:  # it could not start (its folder is gone…): exit 127,
                    traceback.print_exc()  # never back into this loop as a second server
                    os._exit(127)
            os.close(write)
            child = _Child(request["id"], pid, read)
            children[os.pidfd_open(pid)] = reading[read] = child
            _answer({"id": request["id"], "pid": pid})


class ForkServer:
    """Runs ``target``'s commands through a fork server started on first use with ``python``
    (whose environment has ``target``) and ``server_env``; ``scratch`` holds the output
    files of :meth:`run`'s commands. Modules that read the environment when imported see
    ``server_env``: give the server the environment the commands get when that matters."""

    def __init__(
        self,
        python: Path,
        target: str,
        argv0: str,
        *,
        preload: list[str],
        server_env: dict[str, str],
        scratch: Path,
    ) -> None:
        self.python, self.target, self.argv0, self.preload = python, target, argv0, preload
        self.server_env, self.scratch = server_env, scratch
        self.server: subprocess.Popen[bytes] | None = None
        self.answers: dict[int, dict[str, int]] = {}  # request id -> its pid, its returncode
        self.requests = itertools.count()
        self.unread = b""

    def run(
        self,
        args: list[str],
        *,
        cwd: Path,
        env: dict[str, str],
        timeout: float = TIMEOUT_S,
    ) -> subprocess.CompletedProcess[str]:
        """``ARGV0 ARGS`` in ``cwd`` with exactly ``env``, to its end: its exit status and
        output, as ``subprocess.run(..., capture_output=True, text=True)`` gives them."""
        out, err = self._scratch_file(".out"), self._scratch_file(".err")
        process = self.start(args, cwd=cwd, env=env, stdout=out, stderr=err)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(30)
            raise
        try:
            return subprocess.CompletedProcess(
                process.args,
                process.returncode,
                out.read_text(encoding="utf-8"),
                err.read_text(encoding="utf-8"),
            )
        finally:
            out.unlink()
            err.unlink()

    def start(
        self,
        args: list[str],
        *,
        cwd: Path,
        env: dict[str, str],
        stdout: Path,
        stderr: Path | None = None,
        append: bool = False,
    ) -> ForkedProcess:
        """``ARGV0 ARGS`` started in ``cwd`` with exactly ``env``, its output written to the
        file ``stdout`` and its errors to ``stderr`` (None: to ``stdout`` too), those
        files emptied first unless ``append``."""
        if self.server is None or self.server.poll() is not None:
            self.server = subprocess.Popen(
                [str(self.python), __file__, self.target, self.argv0, *self.preload],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=self.server_env,
                start_new_session=True,
                bufsize=0,
            )
            self.answers, self.unread = {}, b""
        for path in (stdout, stderr):  # there when start() returns, as Popen's would be
            if path is not None:
                path.open("ab").close()
        ident = next(self.requests)
        request = {
            "id": ident,
            "args": args,
            "cwd": str(cwd),
            "env": env,
            "stdout": str(stdout.absolute()),  # the child opens them before its chdir
            "stderr": None if stderr is None else str(stderr.absolute()),
            "append": append,
        }
        assert self.server.stdin is not None
        self.server.stdin.write(json.dumps(request).encode() + b"\n")
        while "pid" not in self.answers.get(ident, {}):
            self._read_answers(None)
        return ForkedProcess(self, ident, self.answers[ident]["pid"], [self.argv0, *args])

    def _scratch_file(self, suffix: str) -> Path:
        fd, name = tempfile.mkstemp(suffix=suffix, dir=self.scratch)
        os.close(fd)
        return Path(name)

    def _read_answers(self, timeout: float | None) -> None:
        """The server's answers that come within ``timeout`` seconds (None: the next one)."""
        assert self.server is not None and self.server.stdout is not None
        if not select.select([self.server.stdout], [], [], timeout)[0]:
            return
        chunk = os.read(self.server.stdout.fileno(), 1 << 16)
        assert chunk, f"the fork server stopped (exit {self.server.wait()})"
        self.unread += chunk
        *lines, self.unread = self.unread.split(b"\n")
        for line in lines:
            answer = json.loads(line)
            self.answers.setdefault(answer.pop("id"), {}).update(answer)

    def close(self) -> None:
        """Stop the server and every command it started that still runs."""
        if self.server is not None:
            os.killpg(self.server.pid, signal.SIGKILL)
            self.server.wait()
            self.server = None


class ForkedProcess:
    """A command :meth:`ForkServer.start` started: its ``pid``, and ``returncode`` once it
    ended (negative: killed by that signal), as :class:`subprocess.Popen` has them."""

    def __init__(self, server: ForkServer, ident: int, pid: int, args: list[str]) -> None:
        self.server, self.ident, self.pid, self.args = server, ident, pid, args
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.server._read_answers(0)
            self.returncode = self.server.answers[self.ident].get("returncode")
            if self.returncode is not None:  # nothing more will come for it
                del self.server.answers[self.ident]
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise subprocess.TimeoutExpired(self.args, timeout or 0)
            self.server._read_answers(left)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:  # not yet reaped by the server: the pid is still its own
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2], sys.argv[3:])
