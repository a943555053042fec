"""The store under threads and crashes: no lost writes, no half-written deployment after kill -9."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import textwrap
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from bicep_assets.armlocal.state.store import ArmStore, deployment_id

from .store_helpers import START, SUB, TEMPLATE, deployment, group_id, operation, site

REPO = Path(__file__).resolve().parents[2]
RG = group_id("rg")
MAIN = deployment_id(RG, "main")


# -- threads -----------------------------------------------------------------------------------


def run_threads(workers: list[threading.Thread]) -> None:
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert not worker.is_alive()


def test_threads_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    store = ArmStore(tmp_path / "arm.db")
    store.create_or_update_resource_group(SUB, "rg", location="westeurope")
    store.put_deployment(RG, "main", deployment(RG, "main"), TEMPLATE)
    errors: list[BaseException] = []

    def write(thread: int) -> None:
        try:
            for index in range(250):
                body = site("rg", f"t{thread}-{index}")
                with store.transaction():
                    store.put_resource(body)
                    store.put_operation(MAIN, operation(f"t{thread}-{index}", body["id"]))
                assert store.get_resource(body["id"]) == body
                store.list_deployments(RG)
        except BaseException as exc:  # collected: a thread's failure must fail the test
            errors.append(exc)

    run_threads([threading.Thread(target=write, args=(t,)) for t in range(8)])

    assert errors == []
    assert len(store.list_resources(SUB, "rg")) == 8 * 250
    assert len(store.list_operations(MAIN)) == 8 * 250
    store.close()
    with ArmStore(tmp_path / "arm.db") as reopened:
        assert len(reopened.list_resources(SUB)) == 8 * 250


def test_two_stores_on_one_file_wait_for_each_other(tmp_path: Path) -> None:
    """Like two processes sharing the file: SQLite's lock, waited on, never 'locked' errors."""
    stores = [ArmStore(tmp_path / "arm.db"), ArmStore(tmp_path / "arm.db")]
    stores[0].create_or_update_resource_group(SUB, "rg", location="westeurope")
    errors: list[BaseException] = []

    def write(store: ArmStore, thread: int) -> None:
        try:
            for index in range(150):
                with store.transaction():
                    store.put_resource(site("rg", f"s{thread}-{index}"))
                    store.put_resource(site("rg", f"s{thread}-{index}-twin"))
        except BaseException as exc:
            errors.append(exc)

    run_threads([threading.Thread(target=write, args=(stores[t % 2], t)) for t in range(6)])

    assert errors == []
    assert len(stores[1].list_resources(SUB)) == 6 * 150 * 2


# -- crashes -----------------------------------------------------------------------------------

CHILD = """
import sys, time
sys.path.insert(0, {repo!r})
from bicep_assets.armlocal.state.store import ArmStore, deployment_id
from tests.armlocal.store_helpers import SUB, TEMPLATE, deployment, group_id, operation, site

path, point = sys.argv[1], sys.argv[2]
store = ArmStore(path)
rg = group_id("rg")
main = deployment_id(rg, "main")
store.create_or_update_resource_group(SUB, "rg", location="westeurope")
store.put_deployment(rg, "main", deployment(rg, "main"), TEMPLATE)
with store.transaction():  # step 1, committed
    store.put_resource(site("rg", "app0"))
    store.put_operation(main, operation("op0", site("rg", "app0")["id"], state="Succeeded"))

if point == "inside_transaction":
    with store.transaction():  # step 2, never committed
        store.put_resource(site("rg", "app1"))
        store.put_operation(main, operation("op1", site("rg", "app1")["id"], state="Succeeded"))
        store.update_deployment(rg, "main", deployment(rg, "main", state="Succeeded"))
        print("ready", flush=True)
        time.sleep(60)
elif point == "between_steps":
    with store.transaction():  # step 2 began: committed as Creating / Running
        store.put_resource(site("rg", "app1", state="Creating"))
        store.put_operation(main, operation("op1", site("rg", "app1")["id"]))
    print("ready", flush=True)
    time.sleep(60)
elif point == "while_writing":
    batch = 0
    while True:
        with store.transaction():
            for index in range(50):
                store.put_resource(site("rg", f"b{{batch}}-{{index}}"))
            progress = deployment(rg, "main")
            progress["properties"]["batches"] = batch + 1
            store.update_deployment(rg, "main", progress)
        batch += 1
        print(f"batch {{batch}}", flush=True)
"""


def crash_child(tmp_path: Path, point: str, *, wait_for: str = "ready") -> Path:
    """Run the child until it prints ``wait_for``, then SIGKILL it; the database's path."""
    script = tmp_path / "child.py"
    script.write_text(textwrap.dedent(CHILD.format(repo=str(REPO))))
    path = tmp_path / "arm.db"
    child = subprocess.Popen(
        [sys.executable, str(script), str(path), point], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    try:
        for line in child.stdout:
            if line.strip() == wait_for:
                break
        else:
            pytest.fail(f"the child ended before printing {wait_for!r}")
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait(30)
    assert child.returncode == -signal.SIGKILL
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    return path


@pytest.mark.timeout(120)
def test_killed_inside_a_transaction_the_step_is_absent(tmp_path: Path) -> None:
    path = crash_child(tmp_path, "inside_transaction")
    with ArmStore(path) as store:
        assert store.get_resource(site("rg", "app0")["id"]) == site("rg", "app0")
        assert store.get_resource(site("rg", "app1")["id"]) is None
        assert [o["operationId"] for o in store.list_operations(MAIN)] == ["op0"]
        assert store.get_deployment(RG, "main") == deployment(RG, "main", state="Running")

        recovered = store.recover_interrupted()

        assert recovered.deployment_ids == [MAIN]
        assert recovered.operation_ids == []  # op0 had finished
        failed = store.get_deployment(RG, "main")
        assert failed is not None
        assert failed["properties"]["provisioningState"] == "Failed"
        assert failed["properties"]["error"]["code"] == "DeploymentInterrupted"
        assert store.has_running_deployments() is False


@pytest.mark.timeout(120)
def test_killed_between_steps_the_running_work_is_failed_on_recovery(tmp_path: Path) -> None:
    path = crash_child(tmp_path, "between_steps")
    with ArmStore(path) as store:
        recovered = store.recover_interrupted()

        assert recovered.deployment_ids == [MAIN]
        assert recovered.operation_ids == [operation("op1", "x")["id"]]
        assert recovered.resource_ids == [site("rg", "app1")["id"]]
        app1 = store.get_resource(site("rg", "app1")["id"])
        assert app1 is not None and app1["properties"]["provisioningState"] == "Failed"
        ops = {o["operationId"]: o["properties"] for o in store.list_operations(MAIN)}
        assert ops["op0"]["provisioningState"] == "Succeeded"
        assert ops["op1"]["provisioningState"] == "Failed"
        assert ops["op1"]["statusMessage"]["error"]["code"] == "DeploymentInterrupted"
        assert (
            f"the operation on '{site('rg', 'app1')['id']}'"
            in (ops["op1"]["statusMessage"]["error"]["message"])
        )


@pytest.mark.timeout(120)
def test_killed_while_writing_every_transaction_is_all_or_nothing(tmp_path: Path) -> None:
    path = crash_child(tmp_path, "while_writing", wait_for="batch 5")
    with ArmStore(path) as store:
        progress = store.get_deployment(RG, "main")
        assert progress is not None
        batches = progress["properties"]["batches"]
        assert batches >= 5
        written = [r for r in store.list_resources(SUB) if r["name"].startswith("b")]
        assert len(written) == 50 * batches  # each batch landed whole with its progress


# -- recovery ----------------------------------------------------------------------------------


def test_recovery_fails_unfinished_work_the_arm_way_and_only_once(tmp_path: Path) -> None:
    writer = ArmStore(tmp_path / "arm.db", clock=lambda: START)
    writer.create_or_update_resource_group(SUB, "rg", location="westeurope")
    for name, state in [("main", "Running"), ("queued", "Accepted"), ("done", "Succeeded")]:
        writer.put_deployment(RG, name, deployment(RG, name, state=state), TEMPLATE)
    writer.put_operation(MAIN, operation("op-running", "/x/app"))
    writer.put_operation(MAIN, operation("op-done", "/x/db", state="Succeeded"))
    writer.put_resource(site("rg", "app", state="Updating"))
    writer.put_resource(site("rg", "db", state="Succeeded"))
    writer.close()  # the local ARM that owned the work is gone
    store = ArmStore(tmp_path / "arm.db", clock=lambda: START)
    later = START + timedelta(minutes=2, seconds=3.5)

    work = store.recover_interrupted(later)

    assert sorted(work.deployment_ids) == sorted([MAIN, deployment_id(RG, "queued")])
    assert work.operation_ids == [operation("op-running", "x")["id"]]
    assert work.resource_ids == [site("rg", "app")["id"]]
    assert (work.owners, work.left_running) == ([writer.owner], [])
    main = store.get_deployment(RG, "main")
    assert main is not None
    assert main["properties"]["provisioningState"] == "Failed"
    assert main["properties"]["timestamp"] == "2026-01-02T03:06:08.5000000Z"
    assert main["properties"]["duration"] == "PT2M3.5S"
    assert main["properties"]["error"] == {
        "code": "DeploymentInterrupted",
        "message": "The local ARM running deployment 'main' (pid "
        f"{os.getpid()} on {socket.gethostname()}) stopped before it finished (last progress "
        "recorded at 2026-01-02T03:04:05.0000000Z); it was marked Failed at "
        "2026-01-02T03:06:08.5000000Z. Deploy again to finish it.",
        "details": [],
    }
    op = store.get_operation(MAIN, "op-running")
    assert op is not None
    assert op["properties"]["statusCode"] == "InternalServerError"
    assert op["properties"]["statusMessage"]["status"] == "Failed"
    assert store.get_operation(MAIN, "op-done") == operation("op-done", "/x/db", state="Succeeded")
    assert store.get_deployment(RG, "done") == deployment(RG, "done", state="Succeeded")
    assert store.get_resource(site("rg", "db")["id"]) == site("rg", "db")

    again = store.recover_interrupted(later)
    assert (again.deployment_ids, again.operation_ids, again.resource_ids) == ([], [], [])
