"""Benchmark: ``kill -9`` of ``bicep-assets deploy dev`` at random points, then recovery.

Each round starts ``bicep-assets deploy dev`` (a real process, on a copy of the project in a
git repository, with its own DAGSTER_HOME and TMPDIR), waits for a point of the run — a
random time after the process starts, the run's start, the start of one of its steps
(lint, plan, gate, deploy, verify), or the moment the ARM deployment was started — plus a
random delay, and kills it with SIGKILL. Then it runs ``bicep-assets deploy dev
--wait-timeout 0`` (refuse at once if the environment is still held) and reads what
happened from the instance, the local ARM's state file and the temporary directory.

Prints the rounds, the kills, how many left a run unfinished, how many were recovered (the
next deploy succeeded unaided and the killed run is FAILURE with its explanation), the time
from the next command's start until it marked the run failed and until it succeeded, the ARM
deployments made, duplicates (a run with two ARM deployments, or a deployment that operated
on one resource twice) and the local ARM temp folders left behind.

    .venv/bin/python benchmarks/kill9.py [--kills 10] [--seed N] [--keep DIR]

``tests/reliability/test_crash.py`` drives the same rounds and asserts on them.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
from dagster._core.events import DagsterEventType

sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import machine_description

from bicep_assets.armlocal import ArmStore

REPO = Path(__file__).resolve().parents[1]
SCOPE = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-webapp-dev"
SECRET = "kill9-benchmark-secret-value"
STEPS = ("lint", "plan", "gate", "deploy", "verify")
# where a round may kill: a random time after the process starts, or an event-log milestone
POINTS = ("process", "run", *STEPS, "arm-deployment")


Runner = Callable[..., "subprocess.CompletedProcess[str]"]
Starter = Callable[..., Any]  # -> a process: pid, poll(), wait(timeout), kill()


class Workspace:
    """A copy of the project in a git repository, with its own DAGSTER_HOME and TMPDIR.
    ``runner(args, cwd=, env=, timeout=)`` and ``starter(args, cwd=, env=, stdout=,
    append=)``, when given, run the deploys that follow the kills and start the killed ones
    (``bicep-assets ARGS`` as a process of its own: the tests fork them from a process that
    imported the program once); else each is a fresh interpreter."""

    def __init__(
        self, root: Path, runner: Runner | None = None, starter: Starter | None = None
    ) -> None:
        self.root = root
        self.runner = runner
        self.starter = starter
        # the "process" point: a random moment among the imports and the run's first moments
        # of a fresh interpreter; a forked one starts with its imports done
        self.process_window = (0.3, 3.5) if starter is None else (0.0, 0.6)
        self.project = root / "deployments"
        self.home = root / "home"
        self.tmp = root / "tmp"
        for item in ("infra", "parameters"):
            shutil.copytree(REPO / item, self.project / item)
        shutil.copyfile(REPO / "dagster.yaml", self.project / "dagster.yaml")
        self.home.mkdir(parents=True)
        self.tmp.mkdir()
        shutil.copyfile(REPO / "dagster.yaml", self.home / "dagster.yaml")
        for args in (
            ("init", "-q", "-b", "main"),
            ("add", "."),
            ("commit", "-qm", "init"),
        ):
            subprocess.run(
                ["git", "-c", "user.email=ci@example.com", "-c", "user.name=CI", *args],
                cwd=self.project,
                check=True,
                capture_output=True,
            )
        self.env = {
            **os.environ,
            "DAGSTER_HOME": str(self.home),
            "TMPDIR": str(self.tmp),
            "DEV_APP_SECRET": SECRET,
            "PYTHONUNBUFFERED": "1",
        }

    def args(self, *args: str) -> list[str]:
        return [*args, "--project", str(self.project)]

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "bicep_assets.cli", *self.args(*args)]

    def instance(self) -> dg.DagsterInstance:
        return dg.DagsterInstance.from_config(str(self.home))

    def run_ids(self) -> set[str]:
        with self.instance() as instance:
            return {run.run_id for run in instance.get_runs()}

    def leftover_temp_dirs(self) -> list[Path]:
        return sorted(self.tmp.glob("localarm-*"))


@dataclass
class Kill:
    """One process killed (or that finished before the point was reached)."""

    point: str
    delay_s: float
    pid: int
    killed: bool  # False: it exited by itself first
    run_id: str | None  # the run it had created, if any
    status_at_kill: str | None  # that run's status right after the kill


@dataclass
class Deploy:
    """``bicep-assets deploy dev`` run to its end."""

    returncode: int
    started: float  # time.time() when the command started
    elapsed_s: float
    stdout: str
    stderr: str
    run_id: str | None


@dataclass
class Round:
    """A kill, the deploy after it, and what the instance and the local ARM then hold."""

    kill: Kill
    deploy: Deploy
    victim_status: str | None  # after the deploy
    victim_failure: str | None  # the killed run's RUN_FAILURE message
    victim_failed_at: float | None  # its timestamp
    victim_arm: list[dict[str, Any]] = field(default_factory=list)
    deploy_arm: list[dict[str, Any]] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    leftover: list[Path] = field(default_factory=list)

    @property
    def left_unfinished(self) -> bool:
        return self.kill.status_at_kill in ("NOT_STARTED", "STARTING", "STARTED")

    @property
    def recovered(self) -> bool:
        return (
            self.deploy.returncode == 0
            and (not self.left_unfinished or self.victim_status == "FAILURE")
            and not self.duplicates
            and not self.leftover
        )


def reached(point: str) -> Callable[[Any], bool]:
    """Whether an event-log entry is ``point``'s milestone."""

    def test(entry: Any) -> bool:
        kind = entry.dagster_event_type
        if point == "run":
            return kind == DagsterEventType.RUN_START
        if point == "arm-deployment":
            return (entry.user_message or "").startswith("Started ARM deployment")
        return kind == DagsterEventType.STEP_START and entry.step_key == point

    return test


def kill_at(ws: Workspace, point: str, rng: random.Random, *, timeout_s: float = 120) -> Kill:
    """Start ``deploy dev`` and SIGKILL it at ``point`` (plus a random delay)."""
    known = ws.run_ids()
    delay = rng.uniform(*ws.process_window) if point == "process" else rng.uniform(0.0, 0.25)
    log = ws.root / "victim.log"
    if ws.starter is not None:
        process = ws.starter(
            ws.args("deploy", "dev"), cwd=ws.project, env=ws.env, stdout=log, append=True
        )
    else:
        with log.open("ab") as out:
            process = subprocess.Popen(
                ws.command("deploy", "dev"),
                cwd=ws.project,
                env=ws.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
    try:
        if point != "process":
            _wait_for(ws, known, reached(point), process, time.monotonic() + timeout_s)
        time.sleep(delay)
        killed = process.poll() is None
        if killed:
            os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout_s)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    with ws.instance() as instance:
        new = [run for run in instance.get_runs() if run.run_id not in known]
    run = new[0] if new else None
    return Kill(
        point=point,
        delay_s=delay,
        pid=process.pid,
        killed=killed,
        run_id=run.run_id if run else None,
        status_at_kill=run.status.value if run else None,
    )


def _wait_for(
    ws: Workspace,
    known: set[str],
    test: Callable[[Any], bool],
    process: Any,  # subprocess.Popen or the starter's process
    deadline: float,
) -> None:
    """Until the new run's event log holds an entry passing ``test`` (or the process ends)."""
    with ws.instance() as instance:
        run_id: str | None = None
        cursor: str | None = None
        while time.monotonic() < deadline and process.poll() is None:
            if run_id is None:
                records = instance.get_run_records(limit=1)
                if records and records[0].dagster_run.run_id not in known:
                    run_id = records[0].dagster_run.run_id
            if run_id is not None:
                found = instance.get_records_for_run(run_id, cursor=cursor)
                cursor = found.cursor
                if any(test(record.event_log_entry) for record in found.records):
                    return
            time.sleep(0.005)


def deploy(ws: Workspace, *args: str, timeout_s: float = 300) -> Deploy:
    """``bicep-assets deploy dev`` to its end (by default refusing to wait for a busy
    environment: a run left behind by a killed process must not hold it)."""
    known = ws.run_ids()
    started, clock = time.time(), time.monotonic()
    deploy_args = ("deploy", "dev", *(args or ("--wait-timeout", "0")))
    if ws.runner is not None:
        done = ws.runner(ws.args(*deploy_args), cwd=ws.project, env=ws.env, timeout=timeout_s)
    else:
        done = subprocess.run(
            ws.command(*deploy_args),
            cwd=ws.project,
            env=ws.env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    elapsed = time.monotonic() - clock
    new = ws.run_ids() - known
    return Deploy(
        done.returncode, started, elapsed, done.stdout, done.stderr, min(new) if new else None
    )


def run_failure(ws: Workspace, run_id: str) -> tuple[str | None, float | None]:
    """The RUN_FAILURE message of ``run_id`` and its timestamp (None when it has none)."""
    with ws.instance() as instance:
        entries = instance.all_logs(run_id, of_type=DagsterEventType.RUN_FAILURE)
    if not entries:
        return None, None
    entry = entries[-1]
    return entry.dagster_event.message if entry.dagster_event else None, entry.timestamp


def arm_deployments(ws: Workspace) -> list[dict[str, Any]]:
    """The local ARM's deployments of the resource group: name, run id tag, state, error code
    and how often each resource was operated on."""
    state = ws.home / "localarm" / "state.sqlite"
    if not state.exists():
        return []
    rows = []
    with ArmStore(state) as store:
        for body in store.list_deployments(SCOPE):
            properties = body.get("properties") or {}
            operations = store.list_operations(body["id"])
            targets = Counter(
                ((op.get("properties") or {}).get("targetResource") or {}).get("id", "").lower()
                for op in operations
            )
            rows.append(
                {
                    "name": body["name"],
                    "run_id": (body.get("tags") or {}).get("bicep-assets-run-id"),
                    "state": properties.get("provisioningState"),
                    "error": (properties.get("error") or {}).get("code"),
                    "repeated": sorted(t for t, n in targets.items() if n > 1 and t),
                }
            )
    return rows


def duplicates(deployments: list[dict[str, Any]]) -> list[str]:
    """A run with more than one ARM deployment, or a deployment operating on a resource twice."""
    per_run = Counter(d["run_id"] for d in deployments)
    found = [f"run {run} made {n} ARM deployments" for run, n in per_run.items() if n > 1]
    found += [
        f"{d['name']} operated more than once on {', '.join(d['repeated'])}"
        for d in deployments
        if d["repeated"]
    ]
    return found


def one_round(ws: Workspace, point: str, rng: random.Random) -> Round | None:
    """Kill a deploy at ``point``, deploy again, read the outcome; None if the process ended
    before the point was reached (nothing was killed)."""
    kill = kill_at(ws, point, rng)
    if not kill.killed:
        return None
    after = deploy(ws)
    status = failure = failed_at = None
    if kill.run_id is not None:
        with ws.instance() as instance:
            run = instance.get_run_by_id(kill.run_id)
        status = run.status.value if run else None
        failure, failed_at = run_failure(ws, kill.run_id)
    deployments = arm_deployments(ws)
    return Round(
        kill=kill,
        deploy=after,
        victim_status=status,
        victim_failure=failure,
        victim_failed_at=failed_at,
        victim_arm=[d for d in deployments if kill.run_id and d["run_id"] == kill.run_id],
        deploy_arm=[d for d in deployments if after.run_id and d["run_id"] == after.run_id],
        duplicates=duplicates(deployments),
        leftover=ws.leftover_temp_dirs(),
    )


def kill_points(kills: int, rng: random.Random, among: Sequence[str] = POINTS) -> list[str]:
    """Every point of ``among`` once (shuffled), then random ones, ``kills`` in all."""
    points = list(among)
    rng.shuffle(points)
    return (points + [rng.choice(points) for _ in range(kills)])[:kills]


def soak(
    ws: Workspace,
    kills: int,
    seed: int,
    *,
    among: Sequence[str] = POINTS,
    max_rounds: int | None = None,
) -> list[Round]:
    """``kills`` rounds that killed something, at the points ``among`` (a point reached too
    late is tried again)."""
    rng = random.Random(seed)
    rounds: list[Round] = []
    attempts = 0
    for point in kill_points(kills, rng, among):
        while True:
            attempts += 1
            if attempts > (max_rounds or 3 * kills):
                raise RuntimeError(f"{attempts - 1} attempts made only {len(rounds)} kills")
            found = one_round(ws, point, rng)
            if found is not None:
                rounds.append(found)
                break
    return rounds


def report(rounds: list[Round], seed: int, wall_s: float) -> None:
    unfinished = [r for r in rounds if r.left_unfinished]
    detect = [
        r.victim_failed_at - r.deploy.started for r in unfinished if r.victim_failed_at is not None
    ]
    recover = [r.deploy.elapsed_s for r in rounds]
    arm = {d["name"] for r in rounds for d in r.victim_arm + r.deploy_arm}
    print(f"machine: {machine_description()}")
    print(f"seed: {seed}; wall time {wall_s:.0f} s")
    points = Counter(r.kill.point for r in rounds)
    print(f"kill points: {', '.join(f'{p} x{n}' for p, n in points.items())}")
    print(f"rounds (killed deploys): {len(rounds)}")
    print(f"kills that left a run unfinished: {len(unfinished)}")
    print(f"recovered unaided: {sum(r.recovered for r in rounds)}/{len(rounds)}")
    if detect:
        print(
            "next command start -> killed run marked failed: "
            f"median {statistics.median(detect):.2f} s, max {max(detect):.2f} s"
        )
    print(
        f"next deploy, start to success: median {statistics.median(recover):.2f} s, "
        f"max {max(recover):.2f} s"
    )
    print(f"ARM deployments of these runs: {len(arm)}")
    print(f"duplicates: {sum(len(r.duplicates) for r in rounds)}")
    print(f"leftover localarm-* folders: {sum(len(r.leftover) for r in rounds)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--seed", type=int, default=random.randrange(1 << 30))
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="kill9-bench-"))
    started = time.monotonic()
    try:
        ws = Workspace(root)
        rounds = soak(ws, args.kills, args.seed)
        report(rounds, args.seed, time.monotonic() - started)
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
