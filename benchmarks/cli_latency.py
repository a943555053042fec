"""Benchmark: how long a person at a terminal waits for ``bicep-assets plan dev`` to say
something, and to show its first step.

Each round runs ``bicep-assets plan dev`` (a real process, in a pseudo-terminal — what a
person sees) on a copy of the shipped example in a temporary folder, with a DAGSTER_HOME that
one unmeasured run has created first (a new instance's storage takes a few seconds to set up
once), and times from the start of the process to

- its first line of output (any line), and
- its first line naming a step: ``lint    started`` for the progress lines of issue 12; for
  an older bicep-assets that printed Dagster's console log, its first line of a step
  (``… - lint - …`` or ``… - plan - …``).

Prints the median and the range of each. To compare with an older version, run the command
with its code: another checkout's venv (``--python /other/.venv/bin/python``), or its
``bicep_assets`` exported to a folder put first on ``PYTHONPATH``:

    .venv/bin/python benchmarks/cli_latency.py [--runs 5] [--python /other/.venv/bin/python]
    git archive OLD bicep_assets | tar -x -C /tmp/old
    PYTHONPATH=/tmp/old .venv/bin/python benchmarks/cli_latency.py
"""

from __future__ import annotations

import argparse
import os
import pty
import re
import select
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import machine_description

REPO = Path(__file__).resolve().parents[1]
ANSI = re.compile(r"\x1b\[[0-9;]*m")  # the console logger colours its lines in a terminal
STEP_LINE = re.compile(r"^(lint|plan) +started$|^.* - dagster - \w+ - .* - (lint|plan) - ", re.M)


def make_project(root: Path) -> None:
    project = root / "project"
    for item in ("infra", "parameters"):
        shutil.copytree(REPO / item, project / item)
    shutil.copyfile(REPO / "dagster.yaml", project / "dagster.yaml")


def one_round(python: str, root: Path) -> tuple[float, float | None, str]:
    """(seconds to the first line, seconds to the first step line or None, the output)."""
    project = root / "project"
    env = {**os.environ, "DAGSTER_HOME": str(root / "home"), "DEV_APP_SECRET": "latency-secret"}
    started = time.monotonic()
    pid, fd = pty.fork()
    if pid == 0:  # the child: the command in the pseudo-terminal
        os.chdir(project)
        os.execve(python, [python, "-m", "bicep_assets.cli", "plan", "dev"], env)
    shown, first_line, first_step = "", None, None
    while True:
        ready, _, _ = select.select([fd], [], [], 120)
        if not ready:
            break
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the command ended and closed the terminal
            break
        if not chunk:
            break
        now = time.monotonic() - started
        shown += ANSI.sub("", chunk.decode(errors="replace")).replace("\r\n", "\n")
        if first_line is None and "\n" in shown:
            first_line = now
        if first_step is None and STEP_LINE.search(shown):
            first_step = now
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"bicep-assets plan dev failed:\n{shown[-3000:]}")
    return first_line if first_line is not None else float("nan"), first_step, shown


def describe(values: list[float]) -> str:
    return f"median {statistics.median(values):.2f} s (range {min(values):.2f}-{max(values):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--python", default=sys.executable, help="the interpreter to run")
    args = parser.parse_args()
    firsts: list[float] = []
    steps: list[float] = []
    with tempfile.TemporaryDirectory(prefix="cli-latency-") as folder:
        make_project(Path(folder))
        one_round(args.python, Path(folder))  # creates the instance
        for _ in range(args.runs):
            first, step, _ = one_round(args.python, Path(folder))
            firsts.append(first)
            if step is not None:
                steps.append(step)
    print(f"bicep-assets plan dev in a terminal, {args.runs} runs ({machine_description()})")
    print(f"python: {args.python}")
    print(f"start to first line: {describe(firsts)}")
    if steps:
        print(f"start to first step: {describe(steps)}")
    else:
        print("start to first step: no line named a step before the end")


if __name__ == "__main__":
    main()
