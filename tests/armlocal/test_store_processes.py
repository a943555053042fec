"""Several processes on one state file: waiting for the write lock, WAL readers, no lost
writes, and a deployment name started by exactly one of two racing processes.

Every process here is real (a child Python), every file a real SQLite file; nothing is
timed — children are released together by a line on their stdin and report on stdout.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bicep_assets.armlocal.state.store import ArmStore, deployment_id

from .store_helpers import SUB, TEMPLATE, deployment, group_id, operation, site

REPO = Path(__file__).resolve().parents[2]
RG = group_id("rg")
MAIN = deployment_id(RG, "main")
COUNTER = site("rg", "counter", count=0)


class Child:
    """A child Python running ``script``; talks by lines on stdin/stdout."""

    def __init__(self, script: str, *args: str) -> None:
        code = f"import sys; sys.path.insert(0, {str(REPO)!r})\n" + textwrap.dedent(script)
        self.process = subprocess.Popen(
            [sys.executable, "-c", code, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def expect(self, wanted: str) -> str:
        """The next stdout line, which must start with ``wanted``."""
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith(wanted):
            self.process.kill()
            _, err = self.process.communicate(timeout=30)
            pytest.fail(f"child said {line!r}, expected {wanted!r}; stderr:\n{err}")
        return line[len(wanted) :].strip()

    def say(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def finish(self) -> str:
        """Close stdin, wait; the child must exit 0. Its stderr."""
        _, err = self.process.communicate(timeout=120)
        assert self.process.returncode == 0, err
        return err

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.communicate(timeout=30)


@pytest.fixture
def spawn() -> Iterator[list[Child]]:
    started: list[Child] = []
    yield started
    for child in started:
        child.kill()


# -- the write lock -----------------------------------------------------------------------------

HOLDER = """
import sqlite3
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
conn.execute("UPDATE resources SET body = body")  # an uncommitted write, holding the lock
conn.execute("INSERT INTO resource_groups SELECT 'x' || key, subscription_key, 'uncommitted', "
             "location, managed_by, provisioning_state, created, changed, body "
             "FROM resource_groups")
print("locked", flush=True)
sys.stdin.readline()
conn.execute("COMMIT")
print("released", flush=True)
"""


@pytest.fixture
def path(tmp_path: Path) -> Path:
    with ArmStore(tmp_path / "arm.db") as store:
        store.create_or_update_resource_group(SUB, "rg", location="westeurope")
    return tmp_path / "arm.db"


@pytest.mark.parametrize(
    ("busy_timeout_s", "pragma"), [(None, 30000), (0.25, 250)], ids=["default-30s", "custom"]
)
def test_the_busy_timeout_is_set(path: Path, busy_timeout_s: float | None, pragma: int) -> None:
    options = {} if busy_timeout_s is None else {"busy_timeout_s": busy_timeout_s}
    with ArmStore(path, **options) as store:
        assert store._conn.execute("PRAGMA busy_timeout").fetchone()[0] == pragma


def test_without_waiting_a_writer_fails_on_another_processs_lock(
    path: Path, spawn: list[Child]
) -> None:
    """What the busy timeout prevents: SQLite's 'database is locked' after 50 ms."""
    holder = Child(HOLDER, str(path))
    spawn.append(holder)
    holder.expect("locked")
    impatient = ArmStore(path, busy_timeout_s=0.05)  # opening needs no write lock
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        impatient.put_resource(site("rg", "app"))
    impatient.close()
    holder.say("go")
    holder.expect("released")


def test_a_writer_waits_for_another_processs_lock_then_writes(
    path: Path, spawn: list[Child]
) -> None:
    holder = Child(HOLDER, str(path))
    spawn.append(holder)
    holder.expect("locked")
    errors: list[BaseException] = []
    with ArmStore(path) as store:

        def write() -> None:
            try:
                store.put_resource(site("rg", "app"))
            except BaseException as exc:
                errors.append(exc)

        writer = threading.Thread(target=write)
        writer.start()
        writer.join(0.5)
        assert writer.is_alive()  # it cannot write while the other process holds the lock
        holder.say("go")
        holder.expect("released")
        writer.join(30)
        assert not writer.is_alive()
        assert errors == []
        assert store.get_resource(site("rg", "app")["id"]) == site("rg", "app")
    holder.finish()


def test_readers_go_on_while_another_process_writes(path: Path, spawn: list[Child]) -> None:
    """WAL: a reader neither waits for a writer in another process nor sees its writes early."""
    holder = Child(HOLDER, str(path))
    spawn.append(holder)
    holder.expect("locked")
    with ArmStore(path, busy_timeout_s=0.05) as reader:  # a blocked read would fail at once
        assert [g["name"] for g in reader.list_resource_groups(SUB)] == ["rg"]
        holder.say("go")
        holder.expect("released")
        assert len(reader.list_resource_groups(SUB)) == 2
    holder.finish()


# -- writers in two processes -------------------------------------------------------------------

HAMMER = """
import json
from bicep_assets.armlocal.state.store import ArmStore, deployment_id
from tests.armlocal.store_helpers import group_id, operation, site

path, tag, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
main = deployment_id(group_id("rg"), "main")
store = ArmStore(path)
print("ready", flush=True)
sys.stdin.readline()
for index in range(count):
    body = site("rg", f"{tag}-{index}")
    with store.transaction():  # a deployment step: resource and operation together
        store.put_resource(body)
        store.put_operation(main, operation(f"{tag}-{index}", body["id"], state="Succeeded"))
    with store.transaction():  # read-modify-write of a record both processes change
        counter = store.get_resource(site("rg", "counter")["id"])
        counter["count"] += 1
        store.put_resource(counter)
    if index % 50 == 0:
        store.list_resources(sys.argv[4])
store.close()
print("done", flush=True)
"""


@pytest.mark.timeout(180)
def test_two_processes_writing_at_once_lose_nothing(path: Path, spawn: list[Child]) -> None:
    count = 300
    with ArmStore(path) as store:
        store.put_deployment(RG, "main", deployment(RG, "main", state="Succeeded"), TEMPLATE)
        store.put_resource(COUNTER)
    workers = [Child(HAMMER, str(path), tag, str(count), SUB) for tag in ("a", "b")]
    spawn.extend(workers)
    for worker in workers:
        worker.expect("ready")
    for worker in workers:
        worker.say("go")
    for worker in workers:
        worker.expect("done")
        assert "locked" not in worker.finish()

    with ArmStore(path) as store:
        names = {r["name"] for r in store.list_resources(SUB)}
        assert names == {f"{t}-{i}" for t in "ab" for i in range(count)} | {"counter"}
        assert len(store.list_operations(MAIN)) == 2 * count
        counter = store.get_resource(COUNTER["id"])
        assert counter is not None and counter["count"] == 2 * count  # no lost update
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


# -- racing to start a deployment ----------------------------------------------------------------

RACER = """
import json
from bicep_assets.armlocal.state.store import ArmStore, ArmStoreError
from tests.armlocal.store_helpers import TEMPLATE, deployment, group_id

path, tag, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
rg = group_id("rg")
store = ArmStore(path)
print("ready", flush=True)
sys.stdin.readline()
outcome = {"started": [], "active": []}
for index in range(count):
    name = f"d{index}"
    body = deployment(rg, name, state="Accepted", correlation=tag)
    try:
        store.start_deployment(rg, name, body, TEMPLATE)
        outcome["started"].append(name)
    except ArmStoreError as exc:
        outcome[exc.code == "DeploymentActive" and "active" or exc.code].append(name)
print("outcome " + json.dumps(outcome), flush=True)
sys.stdin.readline()  # stay alive, owning what it started, until both have raced
"""


@pytest.mark.timeout(180)
def test_two_processes_racing_to_start_the_same_names_start_each_once(
    path: Path, spawn: list[Child]
) -> None:
    count = 200
    racers = [Child(RACER, str(path), tag, str(count)) for tag in ("a", "b")]
    spawn.extend(racers)
    for racer in racers:
        racer.expect("ready")
    for racer in racers:
        racer.say("go")
    outcomes = {tag: json.loads(r.expect("outcome")) for tag, r in zip("ab", racers, strict=True)}
    for racer in racers:
        racer.say("exit")
        racer.finish()

    names = {f"d{i}" for i in range(count)}
    a, b = outcomes["a"], outcomes["b"]
    assert set(a) == set(b) == {"started", "active"}  # no other error
    assert set(a["started"]) | set(b["started"]) == names
    assert set(a["started"]) & set(b["started"]) == set()
    assert set(a["active"]) == set(b["started"]) and set(b["active"]) == set(a["started"])
    with ArmStore(path) as store:
        for tag in "ab":
            for name in outcomes[tag]["started"]:
                stored = store.get_deployment(RG, name)
                assert stored is not None
                assert stored["properties"]["correlationId"] == tag  # the winner's run
        assert store.count_deployments(RG) == count


def test_a_racers_operations_survive_the_other_racer(path: Path) -> None:
    """The loser of a race writes nothing: the winner's operations stay."""
    with ArmStore(path) as winner, ArmStore(path) as loser:
        winner.start_deployment(RG, "main", deployment(RG, "main", correlation="w"), TEMPLATE)
        winner.put_operation(MAIN, operation("op1", "/x/app"))
        with pytest.raises(Exception, match="DeploymentActive"):
            loser.start_deployment(RG, "main", deployment(RG, "main", correlation="l"), TEMPLATE)
        assert [o["operationId"] for o in loser.list_operations(MAIN)] == ["op1"]


OPENER = """
from bicep_assets.armlocal.state.store import ArmStore
from tests.armlocal.store_helpers import SUB

print("ready", flush=True)
sys.stdin.readline()
store = ArmStore(sys.argv[1])  # all at once, on a file that does not exist yet
store.create_or_update_resource_group(SUB, f"rg-{sys.argv[2]}", location="westeurope")
store.close()
print("done", flush=True)
"""


@pytest.mark.timeout(180)
def test_processes_creating_a_new_file_at_once_agree_on_it(
    tmp_path: Path, spawn: list[Child]
) -> None:
    path = tmp_path / "new" / "arm.db"
    openers = [Child(OPENER, str(path), str(index)) for index in range(4)]
    spawn.extend(openers)
    for opener in openers:
        opener.expect("ready")
    for opener in openers:
        opener.say("go")
    for opener in openers:
        opener.expect("done")
        opener.finish()
    with ArmStore(path) as store:
        assert [g["name"] for g in store.list_resource_groups(SUB)] == [f"rg-{i}" for i in range(4)]
        assert store._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
