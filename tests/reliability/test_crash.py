"""Crash recovery without a human: a run whose process is gone is marked failed, with an event
saying what died, when and how it was found out, and no longer holds its environment; the
local ARM's temporary folders of gone processes are removed — never a live process's.

Processes here are real: children started, killed, or given a recycled pid's start time; the
slow test kills real ``bicep-assets deploy dev`` processes with SIGKILL at random points
(benchmarks/kill9.py drives the rounds and prints the same figures).
"""

from __future__ import annotations

import importlib
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType

import dagster as dg
import pytest
from dagster._core.events import DagsterEvent, DagsterEventType, RunFailureReason
from dagster._core.execution.plan.objects import StepSuccessData

from bicep_assets.armlocal import ProcessIdentity, process_liveness, remove_orphaned_temp_dirs
from bicep_assets.armlocal.state.owners import process_start
from bicep_assets.audit.export import export_run
from bicep_assets.triggers.crashed import (
    PROCESS_TAG,
    build_crashed_runs_sensor,
    fail_crashed_runs,
    process_tags,
)
from bicep_assets.triggers.exclusive import EnvironmentBusy, exclusive_environment
from tests.cli_helpers import run_bicep_assets, start_bicep_assets

REPO = Path(__file__).resolve().parents[2]
HOST = socket.gethostname()
TIME = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC"
DETECTOR = "the test (pid 1)"


def load_benchmark(name: str) -> ModuleType:
    """A script of benchmarks/ as a module (it imports its neighbours as a script does)."""
    if str(REPO / "benchmarks") not in sys.path:
        sys.path.insert(0, str(REPO / "benchmarks"))
    return importlib.import_module(name)


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[dg.DagsterInstance]:
    home = tmp_path / "home"
    home.mkdir()
    shutil.copyfile(REPO / "dagster.yaml", home / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        yield instance


@pytest.fixture
def children() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Child processes a test starts; killed and reaped afterwards."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for child in started:
        child.kill()
        child.wait(30)


def live_child(children: list[subprocess.Popen[bytes]]) -> ProcessIdentity:
    """A process that lives until the test ends."""
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    children.append(child)
    return replace(ProcessIdentity.current(), pid=child.pid, started=process_start(child.pid))


def exited_child(children: list[subprocess.Popen[bytes]]) -> ProcessIdentity:
    """A process that was killed with SIGKILL (and reaped)."""
    process = live_child(children)
    os.kill(process.pid, signal.SIGKILL)
    children[-1].wait(30)
    return process


def started_run(
    instance: dg.DagsterInstance,
    process: ProcessIdentity | None,
    *,
    status: dg.DagsterRunStatus = dg.DagsterRunStatus.STARTED,
    steps: tuple[tuple[str, DagsterEventType], ...] = (),
    environment: str = "dev",
    tag: str | None = None,
) -> dg.DagsterRun:
    """A CLI run of ``deploy_<environment>`` left unfinished by ``process``, with step events."""
    tags = {"bicep_assets/environment": environment, "bicep_assets/trigger": "cli"}
    if process is not None:
        tags[PROCESS_TAG] = process.to_json()
    if tag is not None:
        tags[PROCESS_TAG] = tag
    run = instance.add_run(
        dg.DagsterRun(
            job_name=f"deploy_{environment}", run_id=str(uuid.uuid4()), status=status, tags=tags
        )
    )
    instance.report_engine_event("the run's process started", run)
    for step, kind in steps:
        data = StepSuccessData(duration_ms=1.0) if kind == DagsterEventType.STEP_SUCCESS else None
        event = DagsterEvent(kind.value, run.job_name, step_key=step, event_specific_data=data)
        instance.report_dagster_event(event, run_id=run.run_id)
    return run


def status_of(instance: dg.DagsterInstance, run: dg.DagsterRun) -> dg.DagsterRunStatus:
    found = instance.get_run_by_id(run.run_id)
    assert found is not None
    return found.status


def events_of(
    instance: dg.DagsterInstance, run: dg.DagsterRun, kind: DagsterEventType
) -> list[DagsterEvent]:
    return [e.dagster_event for e in instance.all_logs(run.run_id, of_type=kind) if e.dagster_event]


def gone_message(process: ProcessIdentity, where: str, outcome: str = "failed") -> str:
    """The RUN_FAILURE message of a run whose process on this host is gone (as a regex)."""
    return (
        rf"The process running this run \(pid {process.pid} on {re.escape(HOST)}\) is gone "
        r"\(killed or crashed\): no process with that pid and the start time recorded in the "
        rf"run tag bicep_assets/process runs on {re.escape(HOST)} any more\. It stopped "
        rf"{re.escape(where)}, after its last event at {TIME}\. Detected at {TIME} by "
        rf"{re.escape(DETECTOR)}; the run is marked {outcome}, so the environment is free for "
        r"the next deployment\."
    )


def test_a_run_whose_process_was_killed_is_marked_failed_saying_what_when_and_how(
    instance: dg.DagsterInstance, children: list[subprocess.Popen[bytes]]
) -> None:
    process = exited_child(children)
    run = started_run(
        instance,
        process,
        steps=(
            ("lint", DagsterEventType.STEP_START),
            ("lint", DagsterEventType.STEP_SUCCESS),
            ("plan", DagsterEventType.STEP_START),
            ("plan", DagsterEventType.STEP_SUCCESS),
            ("gate", DagsterEventType.STEP_START),
            ("gate", DagsterEventType.STEP_SUCCESS),
            ("deploy", DagsterEventType.STEP_START),
        ),
    )
    (crashed,) = fail_crashed_runs(instance, detected_by=DETECTOR)
    assert (crashed.run_id, crashed.status) == (run.run_id, dg.DagsterRunStatus.FAILURE)
    assert crashed.describe() == (
        f"run {run.run_id} (deploy_dev) marked FAILURE: its process (pid {process.pid} on "
        f"{HOST}) is gone"
    )
    assert status_of(instance, run) == dg.DagsterRunStatus.FAILURE
    (failure,) = events_of(instance, run, DagsterEventType.RUN_FAILURE)
    assert re.fullmatch(gone_message(process, "while step 'deploy' was running"), failure.message)
    assert failure.message == crashed.message
    assert failure.event_specific_data.failure_reason == RunFailureReason.UNEXPECTED_TERMINATION
    engine = events_of(instance, run, DagsterEventType.ENGINE_EVENT)[-1]
    assert engine.message == f"Run process gone: pid {process.pid} on {HOST}"
    facts = {k: v.value for k, v in engine.event_specific_data.metadata.items()}
    assert {k: facts[k] for k in ("host", "pid", "verdict", "running_steps", "detected_by")} == {
        "host": HOST,
        "pid": process.pid,
        "verdict": "dead",
        "running_steps": "deploy",
        "detected_by": DETECTOR,
    }
    # the audit shows it as failed, environmental (the moment, not the request), with the cause
    audit = export_run(instance, run.run_id)
    assert audit is not None
    assert {k: audit["run"][k] for k in ("status", "failed_step", "failure_kind")} == {
        "status": "failure",
        "failed_step": None,
        "failure_kind": "environmental",
    }
    assert audit["run"]["arm_message"] == failure.message
    # reported once: a second detector finds nothing left to do
    assert fail_crashed_runs(instance, detected_by=DETECTOR) == []
    assert len(events_of(instance, run, DagsterEventType.RUN_FAILURE)) == 1
    # and the environment is free: a CLI deploy would not wait
    with exclusive_environment(instance, "dev", timeout_s=0, report=lambda line: None):
        pass


def test_a_run_of_a_live_process_is_never_marked_failed(
    instance: dg.DagsterInstance, children: list[subprocess.Popen[bytes]]
) -> None:
    child = started_run(instance, live_child(children))
    this = started_run(instance, ProcessIdentity.current(), environment="prod")
    years_later = datetime.now(timezone.utc) + timedelta(days=3650)
    assert fail_crashed_runs(instance, detected_by=DETECTOR, now=years_later) == []
    assert status_of(instance, child) == dg.DagsterRunStatus.STARTED
    assert status_of(instance, this) == dg.DagsterRunStatus.STARTED
    assert events_of(instance, child, DagsterEventType.RUN_FAILURE) == []
    with (
        pytest.raises(EnvironmentBusy, match=rf"dev is busy: run {child.run_id} "),
        exclusive_environment(instance, "dev", timeout_s=0, report=lambda line: None),
    ):
        pass


def test_a_recycled_pid_counts_as_dead(
    instance: dg.DagsterInstance, children: list[subprocess.Popen[bytes]]
) -> None:
    alive = live_child(children)
    recycled = replace(alive, started=f"{alive.started}-an-earlier-process")
    assert (process_liveness(alive), process_liveness(recycled)) == ("alive", "dead")
    run = started_run(instance, recycled)
    (crashed,) = fail_crashed_runs(instance, detected_by=DETECTOR)
    assert crashed.run_id == run.run_id
    assert re.fullmatch(gone_message(recycled, "before its first step started"), crashed.message)
    assert status_of(instance, run) == dg.DagsterRunStatus.FAILURE


def test_a_run_on_another_host_is_failed_only_after_24_hours_without_an_event(
    instance: dg.DagsterInstance,
) -> None:
    elsewhere = replace(ProcessIdentity.current(), host=f"not-{HOST}")
    assert process_liveness(elsewhere) == "unknown"
    run = started_run(
        instance,
        elsewhere,
        steps=(("lint", DagsterEventType.STEP_START), ("lint", DagsterEventType.STEP_SUCCESS)),
    )
    now = datetime.now(timezone.utc)
    assert fail_crashed_runs(instance, detected_by=DETECTOR, now=now + timedelta(hours=23)) == []
    assert status_of(instance, run) == dg.DagsterRunStatus.STARTED
    (crashed,) = fail_crashed_runs(instance, detected_by=DETECTOR, now=now + timedelta(hours=25))
    assert re.fullmatch(
        rf"The process running this run \(pid {elsewhere.pid} on not-{re.escape(HOST)}\) is "
        r"presumed gone: it ran on another host or container, which cannot be checked from "
        r"here, and the run has recorded no event for more than 24 hours\. It stopped after "
        rf"step 'lint' ended, after its last event at {TIME}\. Detected at {TIME} by "
        rf"{re.escape(DETECTOR)}; the run is marked failed, so the environment is free for the "
        r"next deployment\.",
        crashed.message,
    )
    assert status_of(instance, run) == dg.DagsterRunStatus.FAILURE


def test_a_canceling_run_of_a_gone_process_is_marked_canceled(
    instance: dg.DagsterInstance, children: list[subprocess.Popen[bytes]]
) -> None:
    process = exited_child(children)
    run = started_run(instance, process, status=dg.DagsterRunStatus.CANCELING)
    (crashed,) = fail_crashed_runs(instance, detected_by=DETECTOR)
    assert crashed.status == dg.DagsterRunStatus.CANCELED
    assert re.fullmatch(
        gone_message(process, "before its first step started", "canceled"), crashed.message
    )
    assert status_of(instance, run) == dg.DagsterRunStatus.CANCELED


def test_runs_without_the_process_tag_are_left_to_dagster(
    instance: dg.DagsterInstance, children: list[subprocess.Popen[bytes]]
) -> None:
    launched = started_run(instance, None)  # as the daemon's run launcher starts them
    foreign = started_run(instance, None, environment="prod", tag="pid 12 on somewhere")
    dead = exited_child(children)
    finished = started_run(instance, dead, status=dg.DagsterRunStatus.SUCCESS, environment="qa")
    years_later = datetime.now(timezone.utc) + timedelta(days=3650)
    assert fail_crashed_runs(instance, detected_by=DETECTOR, now=years_later) == []
    assert [status_of(instance, r) for r in (launched, foreign, finished)] == [
        dg.DagsterRunStatus.STARTED,
        dg.DagsterRunStatus.STARTED,
        dg.DagsterRunStatus.SUCCESS,
    ]


def test_only_the_environment_asked_for_is_recovered_when_one_is_named(
    instance: dg.DagsterInstance, children: list[subprocess.Popen[bytes]]
) -> None:
    dev = started_run(instance, exited_child(children))
    prod = started_run(instance, exited_child(children), environment="prod")
    found = fail_crashed_runs(instance, detected_by=DETECTOR, environment="prod")
    assert [c.run_id for c in found] == [prod.run_id]
    assert status_of(instance, dev) == dg.DagsterRunStatus.STARTED


def test_the_daemon_marks_them_through_the_crashed_runs_sensor(
    instance: dg.DagsterInstance, children: list[subprocess.Popen[bytes]]
) -> None:
    sensor = build_crashed_runs_sensor()
    assert sensor.name == "crashed_runs"
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    live = started_run(instance, live_child(children), environment="prod")
    quiet = sensor.evaluate_tick(dg.build_sensor_context(instance=instance))
    assert quiet.skip_message == "no run of a gone process"
    process = exited_child(children)
    run = started_run(instance, process)
    tick = sensor.evaluate_tick(dg.build_sensor_context(instance=instance))
    assert tick.skip_message == (
        f"run {run.run_id} (deploy_dev) marked FAILURE: its process (pid {process.pid} on "
        f"{HOST}) is gone"
    )
    (failure,) = events_of(instance, run, DagsterEventType.RUN_FAILURE)
    assert re.search(
        rf"Detected at {TIME} by the sensor crashed_runs \(pid \d+\);", failure.message
    )
    assert status_of(instance, live) == dg.DagsterRunStatus.STARTED


def test_a_cli_run_records_its_own_process() -> None:
    (text,) = process_tags().values()
    assert ProcessIdentity.from_json(text) == ProcessIdentity.current()
    assert process_liveness(ProcessIdentity.from_json(text)) == "alive"
    for bad in ("", "pid 12", "[]", '{"host": "h"}', '{"host": "h", "pid": "x"}'):
        with pytest.raises(ValueError, match="not a process identity"):
            ProcessIdentity.from_json(bad)


def test_audit_export_is_a_next_command_that_recovers(
    instance: dg.DagsterInstance, children: list[subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    process = exited_child(children)
    run = started_run(instance, process)
    project = tmp_path / "deployments"
    for item in ("infra", "parameters"):
        shutil.copytree(REPO / item, project / item)
    shutil.copyfile(REPO / "dagster.yaml", project / "dagster.yaml")
    temp = tmp_path / "tmp"  # its own: another test's gone process may leave a folder in /tmp
    temp.mkdir()
    done = run_bicep_assets(
        ["audit", "export", "--run", run.run_id],
        cwd=project,
        env={**os.environ, "DAGSTER_HOME": str(instance.root_directory), "TMPDIR": str(temp)},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stderr == (
        f"recovered: run {run.run_id} (deploy_dev) marked FAILURE: its process (pid "
        f"{process.pid} on {HOST}) is gone\n"
    )
    record = json.loads(done.stdout)["run"]
    assert (record["status"], record["failure_kind"]) == ("failure", "environmental")
    assert re.search(r"by bicep-assets audit export \(pid \d+\);", record["arm_message"])


def make_temp_dir(root: Path, children: list[subprocess.Popen[bytes]]) -> tuple[Path, int]:
    """A local ARM temp folder made by a real child process, which stays alive."""
    code = (
        "import sys\n"
        "from bicep_assets.armlocal.http.tempdirs import owned_temp_dir\n"
        "folder = owned_temp_dir()\n"
        "print(folder.name, flush=True)\n"
        "sys.stdin.read()\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={**os.environ, "TMPDIR": str(root)},
    )
    children.append(child)
    assert child.stdout is not None
    return Path(child.stdout.readline().decode().strip()), child.pid


def test_temp_folders_of_gone_processes_are_removed_never_those_of_live_ones(
    tmp_path: Path, children: list[subprocess.Popen[bytes]]
) -> None:
    root = tmp_path / "tmp"
    root.mkdir()
    live, _ = make_temp_dir(root, children)
    killed, killed_pid = make_temp_dir(root, children)
    os.kill(killed_pid, signal.SIGKILL)
    children[-1].wait(30)
    recycled, _ = make_temp_dir(root, children)  # its pid lives on, started at another time
    owner = json.loads((recycled / "owner.json").read_text())
    (recycled / "owner.json").write_text(json.dumps({**owner, "started": "an-earlier-process"}))
    elsewhere, _ = make_temp_dir(root, children)
    owner = json.loads((elsewhere / "owner.json").read_text())
    (elsewhere / "owner.json").write_text(json.dumps({**owner, "host": f"not-{HOST}"}))
    unmarked = root / "localarm-unmarked"  # being created, or left by an older version
    unmarked.mkdir()
    unrelated = root / "other-exited"
    unrelated.mkdir()
    (unrelated / "owner.json").write_text((killed / "owner.json").read_text())
    for folder in (live, killed, recycled, elsewhere):
        assert folder.parent == root and folder.name.startswith("localarm-")
    assert sorted(remove_orphaned_temp_dirs(root)) == sorted([killed, recycled])
    assert sorted(p.name for p in root.iterdir()) == sorted(
        p.name for p in (live, elsewhere, unmarked, unrelated)
    )
    assert remove_orphaned_temp_dirs(root) == []


def test_a_starting_local_arm_removes_the_temp_folders_of_gone_processes(
    tmp_path: Path, children: list[subprocess.Popen[bytes]]
) -> None:
    root = tmp_path / "tmp"
    root.mkdir()
    live, _ = make_temp_dir(root, children)
    _, killed_pid = make_temp_dir(root, children)
    os.kill(killed_pid, signal.SIGKILL)
    children[-1].wait(30)
    code = (
        "import os\n"
        "from bicep_assets.armlocal import LocalArm\n"
        "with LocalArm() as arm:\n"
        "    print(arm.cert_dir, sorted(os.listdir(arm.cert_dir)), flush=True)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "TMPDIR": str(root)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    own, files = done.stdout.split(" ", 1)
    assert Path(own).parent == root
    assert files.strip() == "['localarm-ca.pem', 'owner.json']"
    assert sorted(root.iterdir()) == [live]  # the killed one's is gone, its own removed on stop


@pytest.mark.slow
@pytest.mark.timeout(1200)
@pytest.mark.parametrize(
    "among",
    [("process", "run", "plan"), ("deploy", "arm-deployment", "verify")],
    ids=["before-any-arm-write", "around-the-arm-deployment"],
)
def test_kill_9_at_random_points_then_the_next_deploy_succeeds_unaided(
    tmp_path: Path, among: tuple[str, ...]
) -> None:
    """``bicep-assets deploy dev`` processes killed with SIGKILL at a random moment of each
    point of ``among``; after each, ``deploy dev --wait-timeout 0`` (which refuses if the
    environment is still held) succeeds, the killed run is FAILURE with its explanation, no
    run made two ARM deployments and no local ARM temp folder is left behind. The six points
    are the distinct situations — before the run exists, the run started with no step, a step
    before ARM is written to (plan: what-if), the deploy step around its PUT, inside the ARM
    deployment, after it (verify) — in two tests that two workers run at once; lint and gate
    are like plan, and ``benchmarks/kill9.py`` kills at every point."""
    kill9 = load_benchmark("kill9")
    seed = int(os.environ.get("KILL9_SEED") or random.randrange(1 << 30))
    ws = kill9.Workspace(tmp_path, runner=run_bicep_assets, starter=start_bicep_assets)  # forked
    rounds = kill9.soak(ws, len(among), seed, among=among)
    context = f"(seed {seed}: KILL9_SEED={seed} repeats these kill points)"
    assert sorted(r.kill.point for r in rounds) == sorted(among), context
    for r in rounds:
        where = f"round killed at {r.kill.point} +{r.kill.delay_s:.2f} s {context}"
        assert r.deploy.returncode == 0, f"{where}: {r.deploy.stderr[-3000:]}"
        assert "waiting:" not in r.deploy.stderr, where
        assert "deploy_dev succeeded" in r.deploy.stdout, where
        if r.left_unfinished:
            assert r.victim_status == "FAILURE", where
            recovered = (
                f"recovered: run {r.kill.run_id} (deploy_dev) marked FAILURE: its process "
                f"(pid {r.kill.pid} on {HOST}) is gone"
            )
            assert recovered in r.deploy.stderr.splitlines(), where  # progress: on stderr
            assert r.victim_failure is not None, where
            assert re.fullmatch(
                rf"The process running this run \(pid {r.kill.pid} on {re.escape(HOST)}\) is "
                r"gone \(killed or crashed\): .* It stopped (while step '\w+' was running|after "
                rf"step '\w+' ended|before its first step started), after its last event at "
                rf"{TIME}\. Detected at {TIME} by bicep-assets deploy dev \(pid \d+\); the run is "
                r"marked failed, so the environment is free for the next deployment\.",
                r.victim_failure,
            ), where
        # the killed run made at most one ARM deployment, which is finished: Succeeded, or
        # Failed as interrupted by the next local ARM; the next run made exactly one
        assert len(r.victim_arm) <= 1, where
        for deployment in r.victim_arm:
            assert (deployment["state"], deployment["error"]) in (
                ("Succeeded", None),
                ("Failed", "DeploymentInterrupted"),
            ), where
        assert [d["state"] for d in r.deploy_arm] == ["Succeeded"], where
        assert r.duplicates == [], where
        assert r.leftover == [], where
        assert r.recovered, where
    # the kill points lie inside a run, except "process" (it may come before the run exists)
    # and "verify" (the run may have ended): the recovery above was not vacuous
    assert sum(r.left_unfinished for r in rounds) >= len(among) - 1, context
    if "arm-deployment" in among:  # a victim killed inside its ARM deployment left one
        assert any(r.victim_arm for r in rounds), context


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_running_daemon_marks_the_run_failed_without_any_command(
    dagster_dev_home: Path,
    start_dagster_daemon: Callable[[], None],
    children: list[subprocess.Popen[bytes]],
) -> None:
    """The daemon (``dagster-daemon run``, as ``dagster dev`` starts it) on this repository's
    dagster.yaml: the sensor ``crashed_runs`` is on by default and fails the run of a killed
    process by itself. (The run is there before the daemon starts, so the sensor's first tick
    finds it rather than one 30 s later.)"""
    home = dagster_dev_home
    process = exited_child(children)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        run = started_run(instance, process)
        start_dagster_daemon()
        deadline = time.monotonic() + 180
        while status_of(instance, run) != dg.DagsterRunStatus.FAILURE:
            assert time.monotonic() < deadline, "the daemon did not mark the run failed in 180 s"
            time.sleep(1)
        (failure,) = events_of(instance, run, DagsterEventType.RUN_FAILURE)
    assert re.search(
        rf"Detected at {TIME} by the sensor crashed_runs \(pid \d+\); the run is marked failed",
        failure.message,
    )
