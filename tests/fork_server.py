"""A fork server: a process that imported a command-line program's modules once and runs
each command in a forked child as the program's script would run it — ``python -m MODULE``
for a TARGET that names a module, ``sys.exit(function())`` for ``module:function`` (a
console-script entry point) — the child's own
pid, working folder, environment, stdin (/dev/null), stdout and stderr (files), exit status —
so that a command costs its own work instead of a fresh interpreter importing the program
again.

Run as ``python fork_server.py TARGET ARGV0 [PRELOAD …]``, standard library only (it runs in
az's virtual environment too). One request per line on stdin, as JSON: ``{"args", "cwd",
"env", "stdout", "stderr"}``; one answer per line on stdout: ``{"returncode": n}``
(negative: killed by that signal). The modules a child imported are imported here after it
answered, so the next child starts with them. :class:`ForkServer` is the client.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import importlib
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
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    tempfile.tempdir = None  # TMPDIR as the request sets it, not as this server found it
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    for fd, key in ((1, "stdout"), (2, "stderr")):
        out = os.open(request[key], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(out, fd)
        os.close(out)
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


def serve(target: str, argv0: str, preload: list[str]) -> None:
    _learn(preload)
    for line in sys.stdin:
        request = json.loads(line)
        sys.stdout.flush()
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read)
            _child(request, target, argv0, write)
        os.close(write)
        chunks = []
        while chunk := os.read(read, 1 << 16):
            chunks.append(chunk)
        os.close(read)
        _, status = os.waitpid(pid, 0)
        sys.stdout.write(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}) + "\n")
        sys.stdout.flush()
        _learn([name for name in b"".join(chunks).decode().split("\n") if name])


class ForkServer:
    """Runs ``target``'s commands through a fork server started on first use with ``python``
    (whose environment has ``target``) and ``server_env``; ``scratch`` holds the
    commands' stdout and stderr files. Modules that read the environment when imported see
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

    def run(
        self,
        args: list[str],
        *,
        cwd: Path,
        env: dict[str, str],
        timeout: float = TIMEOUT_S,
    ) -> subprocess.CompletedProcess[str]:
        command = [self.argv0, *args]
        if self.server is None or self.server.poll() is not None:
            self.server = subprocess.Popen(
                [str(self.python), __file__, self.target, self.argv0, *self.preload],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=self.server_env,
                start_new_session=True,
                bufsize=0,
            )
        out, err = self.scratch / "stdout", self.scratch / "stderr"
        request = {
            "args": args,
            "cwd": str(cwd),
            "env": env,
            "stdout": str(out),
            "stderr": str(err),
        }
        assert self.server.stdin is not None and self.server.stdout is not None
        self.server.stdin.write(json.dumps(request).encode() + b"\n")
        answer = b""
        deadline = time.monotonic() + timeout
        while not answer.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.server.stdout], [], [], left)[0]:
                self.close()
                raise subprocess.TimeoutExpired(command, timeout)
            chunk = os.read(self.server.stdout.fileno(), 4096)
            assert chunk, f"the fork server stopped (exit {self.server.wait()})"
            answer += chunk
        return subprocess.CompletedProcess(
            command,
            json.loads(answer)["returncode"],
            out.read_text(encoding="utf-8"),
            err.read_text(encoding="utf-8"),
        )

    def close(self) -> None:
        if self.server is not None:
            os.killpg(self.server.pid, signal.SIGKILL)
            self.server.wait()
            self.server = None


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2], sys.argv[3:])
