"""Owners of unfinished work: who they are, when they count as gone, and what recovery fails.

Several local ARMs (one per process) may share one state file; recovery must fail only the
work of owners that are gone. Processes here are real: children started and killed.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bicep_assets.armlocal.state import owners
from bicep_assets.armlocal.state.owners import ProcessOwner, liveness, process_start
from bicep_assets.armlocal.state.store import ArmStore, ArmStoreError, deployment_id

from .store_helpers import START, SUB, TEMPLATE, deployment, group_id, operation, site

RG = group_id("rg")
MAIN = deployment_id(RG, "main")


@pytest.fixture
def children() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Child processes a test starts; killed and reaped afterwards."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for child in started:
        child.kill()
        child.wait(30)


def start_child(children: list[subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
    """A child that lives until its stdin closes."""
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    children.append(child)
    return child


def wait_for_zombie(pid: int) -> None:
    """Until the killed, unreaped child ``pid`` is a zombie (``ps`` or ``/proc`` says so)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        state = subprocess.run(
            ["ps", "-o", "stat=", "-p", str(pid)], capture_output=True, text=True
        ).stdout.strip()
        if state.startswith("Z"):
            return
        time.sleep(0.01)
    pytest.fail(f"process {pid} did not become a zombie")


def owner_of(pid: int, *, started: str | None = None, **changes: Any) -> ProcessOwner:
    here = owners.current_owner("test-instance")
    return replace(here, pid=pid, started=started or process_start(pid), **changes)


def running_child(children: list[subprocess.Popen[bytes]]) -> ProcessOwner:
    return owner_of(start_child(children).pid)


def exited_child(children: list[subprocess.Popen[bytes]]) -> ProcessOwner:
    child = start_child(children)
    owner = owner_of(child.pid)
    child.kill()
    child.wait(30)
    return owner


def zombie_child(children: list[subprocess.Popen[bytes]]) -> ProcessOwner:
    child = start_child(children)
    owner = owner_of(child.pid)
    os.kill(child.pid, signal.SIGKILL)  # not reaped: a zombie until the fixture waits
    wait_for_zombie(child.pid)
    return owner


def recycled_pid(children: list[subprocess.Popen[bytes]]) -> ProcessOwner:
    """A live pid whose process started at another time than the owner did."""
    child = start_child(children)
    return owner_of(child.pid, started=f"{process_start(child.pid)}-earlier")


def other_host(children: list[subprocess.Popen[bytes]]) -> ProcessOwner:
    return owner_of(os.getpid(), host=f"not-{socket.gethostname()}")


def other_pid_namespace(children: list[subprocess.Popen[bytes]]) -> ProcessOwner:
    return owner_of(os.getpid(), pid_namespace="pid:[1]")


CASES: list[tuple[Callable[[list[subprocess.Popen[bytes]]], ProcessOwner], str]] = [
    (running_child, "alive"),
    (exited_child, "dead"),
    (zombie_child, "dead"),
    (recycled_pid, "dead"),
    (other_host, "unknown"),
    (other_pid_namespace, "unknown"),
]


@pytest.fixture(params=["proc", "ps"], ids=["linux-proc", "posix-ps-fallback"])
def platform(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "proc" and not Path("/proc/self/stat").exists():
        pytest.skip("no /proc on this platform")
    if request.param == "ps":
        monkeypatch.setattr(owners, "PROC", Path("/no/proc/here"))
    return str(request.param)


@pytest.mark.parametrize(("make", "expected"), CASES, ids=[make.__name__ for make, _ in CASES])
def test_liveness_of_an_owner(
    platform: str,
    children: list[subprocess.Popen[bytes]],
    make: Callable[[list[subprocess.Popen[bytes]]], ProcessOwner],
    expected: str,
) -> None:
    owner = make(children)
    assert owner.started is not None
    assert liveness(owner) == expected


def test_the_start_time_token_is_the_boot_and_field_22(platform: str) -> None:
    token = process_start(os.getpid())
    assert token is not None
    if platform == "proc":
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        stat = Path("/proc/self/stat").read_text()
        assert token == f"{boot}+{stat[stat.rfind(')') + 2 :].split()[19]}"
    else:
        assert token.startswith("ps:") and len(token) > len("ps:")
    assert process_start(2**22 + 12345) is None  # above Linux's pid_max: no such process


def test_a_store_is_a_live_owner_until_closed(tmp_path: Path) -> None:
    store = ArmStore(tmp_path / "arm.db")
    owner = store.owner
    assert (owner.host, owner.pid) == (socket.gethostname(), os.getpid())
    assert owner.started == process_start(os.getpid())
    assert ProcessOwner.from_json(owner.to_json()) == owner
    assert liveness(owner) == "alive"
    other = ArmStore(tmp_path / "arm.db")
    assert other.owner.instance != owner.instance
    store.close()
    assert liveness(owner) == "dead"
    assert liveness(other.owner) == "alive"
    other.close()


def owners_in(path: Path) -> dict[str, list[tuple[str, str | None]]]:
    with sqlite3.connect(path) as raw:
        return {
            "deployments": raw.execute("SELECT name, owner FROM deployments").fetchall(),
            "operations": raw.execute(
                "SELECT operation_key, owner FROM deployment_operations"
            ).fetchall(),
            "resources": raw.execute("SELECT key, owner FROM resources").fetchall(),
        }


def test_only_unfinished_records_carry_their_owner(tmp_path: Path) -> None:
    path = tmp_path / "arm.db"
    with ArmStore(path) as store:
        me = store.owner.to_json()
        store.create_or_update_resource_group(SUB, "rg", location="westeurope")
        store.put_deployment(RG, "main", deployment(RG, "main"), TEMPLATE)
        store.put_operation(MAIN, operation("op1", "/x/app"))
        store.put_resource(site("rg", "app", state="Creating"))
        assert owners_in(path) == {
            "deployments": [("main", me)],
            "operations": [("op1", me)],
            "resources": [(site("rg", "app")["id"].lower(), me)],
        }
        store.update_deployment(RG, "main", deployment(RG, "main", state="Succeeded"))
        store.put_operation(MAIN, operation("op1", "/x/app", state="Succeeded"))
        store.put_resource(site("rg", "app", state="Succeeded"))
        assert owners_in(path) == {
            "deployments": [("main", None)],
            "operations": [("op1", None)],
            "resources": [(site("rg", "app")["id"].lower(), None)],
        }


def write_unfinished_work(store: ArmStore) -> None:
    store.create_or_update_resource_group(SUB, "rg", location="westeurope")
    store.put_deployment(RG, "main", deployment(RG, "main"), TEMPLATE)
    store.put_operation(MAIN, operation("op1", "/x/app"))
    store.put_resource(site("rg", "app", state="Creating"))


def test_recovery_leaves_a_live_owners_work_and_fails_it_once_the_owner_is_gone(
    tmp_path: Path,
) -> None:
    running = ArmStore(tmp_path / "arm.db")
    write_unfinished_work(running)
    starting = ArmStore(tmp_path / "arm.db")

    untouched = starting.recover_interrupted()

    assert (untouched.deployment_ids, untouched.operation_ids, untouched.resource_ids) == (
        [],
        [],
        [],
    )
    assert (untouched.owners, untouched.left_running) == ([], [MAIN])
    assert starting.get_deployment(RG, "main") == deployment(RG, "main")
    running.close()

    recovered = starting.recover_interrupted()

    assert recovered.deployment_ids == [MAIN]
    assert recovered.operation_ids == [operation("op1", "x")["id"]]
    assert recovered.resource_ids == [site("rg", "app")["id"]]
    assert (recovered.owners, recovered.left_running) == ([running.owner], [])
    failed = starting.get_deployment(RG, "main")
    assert failed is not None
    assert failed["properties"]["error"]["code"] == "DeploymentInterrupted"
    assert (
        f"(pid {os.getpid()} on {socket.gethostname()}) stopped before it finished"
        in (failed["properties"]["error"]["message"])
    )
    starting.close()


def hand_to(path: Path, owner: ProcessOwner) -> None:
    """Make ``owner`` the owner of every unfinished record (as if it had written them)."""
    with sqlite3.connect(path) as raw:
        for table in ("deployments", "deployment_operations", "resources"):
            raw.execute(f"UPDATE {table} SET owner = ? WHERE owner IS NOT NULL", (owner.to_json(),))


@pytest.mark.parametrize(
    ("waited", "stale_after", "recovered"),
    [
        (timedelta(hours=23, minutes=59), None, False),
        (timedelta(hours=24, seconds=1), None, True),
        (timedelta(minutes=11), timedelta(minutes=10), True),
    ],
    ids=["fresh-left-alone", "older-than-24h-failed", "custom-bound"],
)
def test_work_owned_on_another_host_waits_for_the_staleness_bound(
    tmp_path: Path, waited: timedelta, stale_after: timedelta | None, recovered: bool
) -> None:
    path = tmp_path / "arm.db"
    with ArmStore(path, clock=lambda: START) as store:
        write_unfinished_work(store)
        elsewhere = replace(store.owner, host="build-agent-7", pid=4242)
        hand_to(path, elsewhere)
        bound = {} if stale_after is None else {"stale_after": stale_after}

        work = store.recover_interrupted(START + waited, **bound)

        assert bool(work.deployment_ids) is recovered
        assert bool(work.operation_ids) is recovered
        assert bool(work.resource_ids) is recovered
        assert work.owners == ([elsewhere] if recovered else [])
        assert work.left_running == ([] if recovered else [MAIN])
        state = store.get_deployment(RG, "main")
        assert state is not None
        if recovered:
            hours = (stale_after or timedelta(hours=24)).total_seconds() / 3600
            assert state["properties"]["error"]["message"].startswith(
                "The local ARM running deployment 'main' (pid 4242 on build-agent-7) recorded "
                f"no progress for more than {hours:g} hours (last progress recorded at "
                "2026-01-02T03:04:05.0000000Z)"
            )
        else:
            assert state == deployment(RG, "main")


def test_a_recycled_pid_does_not_keep_work_alive(tmp_path: Path) -> None:
    path = tmp_path / "arm.db"
    with ArmStore(path) as store:
        write_unfinished_work(store)
        started = store.owner.started
        hand_to(path, replace(store.owner, instance="gone", started=f"{started}-before-reboot"))
        assert store.recover_interrupted().deployment_ids == [MAIN]


# -- starting a deployment ----------------------------------------------------------------------


def run_of(name: str, correlation: str, state: str = "Accepted") -> dict[str, Any]:
    return deployment(RG, name, state=state, correlation=correlation)


def test_a_running_name_cannot_be_started_by_another_store(tmp_path: Path) -> None:
    running = ArmStore(tmp_path / "arm.db")
    running.create_or_update_resource_group(SUB, "rg", location="westeurope")
    assert running.start_deployment(RG, "main", run_of("main", "run-a"), TEMPLATE) is True
    other = ArmStore(tmp_path / "arm.db")

    with pytest.raises(ArmStoreError) as info:
        other.start_deployment(RG, "MAIN", run_of("MAIN", "run-b"), TEMPLATE)

    assert (info.value.status, info.value.code) == (409, "DeploymentActive")
    assert info.value.message == (
        "Unable to edit or replace deployment 'MAIN': previous deployment from "
        "'2026-01-02T03:04:05.0000000Z' is still active (expiration time is in 14 days). "
        "Please see https://aka.ms/arm-deploy for usage details."
    )
    assert other.get_deployment(RG, "main") == run_of("main", "run-a")
    assert other.active_deployment(RG, "main") == run_of("main", "run-a")
    running.close()
    other.close()


def test_a_name_whose_owner_is_gone_is_recovered_then_started(tmp_path: Path) -> None:
    gone = ArmStore(tmp_path / "arm.db")
    gone.create_or_update_resource_group(SUB, "rg", location="westeurope")
    gone.start_deployment(RG, "main", run_of("main", "run-a", "Running"), TEMPLATE)
    gone.put_operation(MAIN, operation("op1", "/x/app"))
    gone.close()
    with ArmStore(tmp_path / "arm.db") as store:
        assert store.active_deployment(RG, "main") is None
        interrupted = store.get_deployment(RG, "main")
        assert interrupted is not None
        assert interrupted["properties"]["error"]["code"] == "DeploymentInterrupted"

        assert store.start_deployment(RG, "main", run_of("main", "run-b"), TEMPLATE) is False

        assert store.get_deployment(RG, "main") == run_of("main", "run-b")
        assert store.list_operations(MAIN) == []  # the new run starts with none


def test_a_finished_name_can_be_started_again(tmp_path: Path) -> None:
    with ArmStore(tmp_path / "arm.db") as store:
        store.create_or_update_resource_group(SUB, "rg", location="westeurope")
        assert store.start_deployment(RG, "main", run_of("main", "run-a"), TEMPLATE) is True
        store.update_deployment(RG, "main", run_of("main", "run-a", "Succeeded"))
        assert store.active_deployment(RG, "main") is None
        assert store.start_deployment(RG, "main", run_of("main", "run-b"), TEMPLATE) is False
        assert store.has_running_deployments(owned_here=True) is True


def test_has_running_deployments_can_count_only_this_stores_own(tmp_path: Path) -> None:
    mine, theirs = ArmStore(tmp_path / "arm.db"), ArmStore(tmp_path / "arm.db")
    mine.create_or_update_resource_group(SUB, "rg", location="westeurope")
    theirs.start_deployment(RG, "theirs", run_of("theirs", "run-t"), TEMPLATE)
    assert mine.has_running_deployments() is True
    assert mine.has_running_deployments(owned_here=True) is False
    assert theirs.has_running_deployments(owned_here=True) is True
    mine.close()
    theirs.close()
