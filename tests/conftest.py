"""Fixtures shared across test folders."""

from __future__ import annotations

import gc
import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory
from dagster._core.storage import sql as dagster_sql
from dagster._core.storage.event_log.sqlite import consolidated_sqlite_event_log, sqlite_event_log
from dagster._core.storage.runs.sqlite import sqlite_run_storage
from dagster._core.storage.schedules.sqlite import sqlite_schedule_storage
from sqlalchemy.engine import Engine

from bicep_assets.armlocal import FaultPlanSpec, LocalArm, LocalArmConfig
from bicep_assets.cli import main as cli_main
from bicep_assets.resources.arm import stop_embedded_local_arms

from .postgres_cluster import PostgresCluster

REPO = Path(__file__).resolve().parents[1]
POSTGRES = "postgres_cluster"  # the session's PostgreSQL server: every test on it uses it

# Compiled modules are cached in __pycache__ (ignored by git) even where the environment sets
# PYTHONDONTWRITEBYTECODE: on a fresh checkout every xdist worker and every process a test
# starts (a CLI, dagster dev and its children, the run processes) would otherwise compile the
# project's modules, and pytest would rewrite the test modules' asserts, again and again.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
sys.dont_write_bytecode = False


def _memory_temp_root(path: str = "/dev/shm", need_bytes: int = 4 << 30) -> str | None:
    """``path`` when it is a writable folder with ``need_bytes`` free (Linux's tmpfs in RAM),
    else None."""
    try:
        stat = os.statvfs(path)
    except OSError:
        return None
    if not os.access(path, os.W_OK) or stat.f_bavail * stat.f_frsize < need_bytes:
        return None
    return path


# The tests' temporary folders (tmp_path: DAGSTER_HOMEs, DuckDB files, git repositories, the
# PostgreSQL cluster) in memory where the machine has room there: Dagster's SQLite storage
# commits, with an fsync each, some 200 times a run (0.74 ms a commit on this machine's disk,
# 0.03 ms in /dev/shm), and the audit's DuckDB writes fsync too — measured on tests/audit/
# test_refresh.py + tests/reliability/test_secrets.py: 113 → 91 s, 102 → 90 s of CPU. pytest
# keeps its usual numbered folders (pytest-of-<user>/pytest-N, the last three) under this root;
# PYTEST_DEBUG_TEMPROOT set outside chooses another.
if "PYTEST_DEBUG_TEMPROOT" not in os.environ and (memory := _memory_temp_root()):
    os.environ["PYTEST_DEBUG_TEMPROOT"] = memory


def _cache_alembic_scripts() -> None:
    """Dagster builds alembic's map of its migration scripts anew each time it opens a SQLite
    database (three when an instance opens) and each time it creates one (one a run, for its
    event log): alembic executes every one of the ~90 scripts to read its revision each time.
    In the tests' processes the map is built once per script folder: half the CPU of a new
    instance and two small runs (0.58 → 0.30 s), ~4 % of the suite's Python time by a
    whole-suite profile. The product leaves Dagster and alembic as they are; the scripts do
    not change while the tests run."""
    built: dict[tuple[object, ...], ScriptDirectory] = {}
    from_config = ScriptDirectory.from_config.__func__  # type: ignore[attr-defined]

    def cached(cls: type[ScriptDirectory], config: AlembicConfig) -> ScriptDirectory:
        key = (cls, *(config.get_main_option(k) for k in ("script_location", "version_locations")))
        if key not in built:
            built[key] = from_config(cls, config)
        return built[key]

    ScriptDirectory.from_config = classmethod(cached)  # type: ignore[method-assign,assignment]


_cache_alembic_scripts()


def _reuse_sqlite_engines(keep: int = 128) -> None:
    """Dagster's SQLite storages create a SQLAlchemy engine for every connection they open
    (each event stored, each query) and dispose of it after: each engine initialises its
    dialect again and compiles every statement again, its cache of compiled statements
    thrown away with it. In the tests' processes an engine is reused for the same database
    and arguments (the ``keep`` last used): every connection is still a new SQLite connection
    (``NullPool``), so what is stored and read is the same; measured on tests/audit/
    test_refresh.py, tests/pipeline/test_jobs.py and test_rollback.py, tests/reliability/
    test_secrets.py: 86 → 76 s of CPU. The product leaves Dagster as it is."""
    engines: OrderedDict[tuple[str, str], Engine] = OrderedDict()
    lock = threading.Lock()
    create = dagster_sql.create_engine

    def reused(url: object, **kwargs: object) -> Engine:
        key = (str(url), repr(sorted(kwargs.items())))
        with lock:
            engine = engines.get(key)
            if engine is None:
                engine = engines[key] = create(url, **kwargs)
                if len(engines) > keep:
                    engines.popitem(last=False)
            else:
                engines.move_to_end(key)
            return engine

    for module in (
        sqlite_event_log,
        consolidated_sqlite_event_log,
        sqlite_run_storage,
        sqlite_schedule_storage,
    ):
        assert module.create_engine is create, module  # Dagster's own, not already replaced
        module.create_engine = reused  # type: ignore[attr-defined]


_reuse_sqlite_engines()


def pytest_collection_finish(session: pytest.Session) -> None:
    """What the collection imported and built (Dagster, the project, every test module) out
    of the garbage collector's reach: a worker's full collections then walk what its tests
    made, not the half a million objects it holds for the whole session."""
    gc.collect()
    gc.freeze()


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: two workers per core. Many tests spend their time waiting on another
    process (a CLI run, ``dagster dev``, az, a server's poll), so one worker per core leaves
    cores idle (measured on 2 cores: 4 workers finish the suite in 4 min 34 s, 3 in 4 min 38 s,
    2 in 4 min 53 s an issue earlier)."""
    return 2 * (os.cpu_count() or 1)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The long tests first on every worker. xdist's worksteal gives each of N workers one
    contiguous Nth of the list and lets a worker that runs out take over the end of another's.
    So the long tests — those that start ``dagster dev``, then the other slow ones — are dealt
    in turn to the heads of the N parts (the tests sharing one ``dagster dev``
    together, and those reading the audit history that each worker builds once), and the
    quick ones fill the parts up (each group in pytest-randomly's order): every worker starts
    on its share of the long tests, and no long test is left to start last while the others
    sit idle."""

    def rank(item: pytest.Item) -> int:
        if {"start_dagster_daemon", "shared_dagster_dev"} & set(item.fixturenames):
            return 0
        if item.get_closest_marker("slow") or {"history", POSTGRES} & set(item.fixturenames):
            return 1
        return 2

    items.sort(key=rank)
    workers = getattr(config, "workerinput", {}).get("workercount", 1)
    if workers < 2 or not items:
        return
    # the tests sharing a module's dagster dev go to one worker together (one start), and so
    # do the tests reading the audit history (tests/audit: built once per worker, ~6 s), those
    # on the PostgreSQL cluster, and the az interop tests (an emulator, a login, a fork server)
    units: dict[object, list[pytest.Item]] = {}
    for item in (item for item in items if rank(item) < 2):
        if "shared_dagster_dev" in item.fixturenames:
            key: object = "shared_dagster_dev"
        elif POSTGRES in item.fixturenames:  # one PostgreSQL cluster: on one worker
            key = POSTGRES
        elif "az" in item.fixturenames:  # one emulator, az login and az fork server: one worker
            key = "az"
        else:
            key = "history" if "history" in item.fixturenames else item
        units.setdefault(key, []).append(item)
    dealt = list(units.values())
    quick = iter([item for item in items if rank(item) == 2])
    parts: list[list[pytest.Item]] = [
        [item for unit in dealt[w::workers] for item in unit] for w in range(workers)
    ]
    remaining = len(items)
    for w, part in enumerate(parts):  # worksteal's split: worker w gets remaining // (N - w)
        share = remaining // (workers - w)
        remaining -= share
        part.extend(itertools.islice(quick, max(0, share - len(part))))  # fewer when few
    parts[-1].extend(quick)  # when one part's long tests outnumber its share
    items[:] = [item for part in parts for item in part]


@pytest.fixture(scope="session")
def postgres_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresCluster]:
    """One real PostgreSQL server for the session (tests/postgres_cluster.py); the collection
    hook deals the tests using it to one worker, so one cluster starts."""
    cluster = PostgresCluster.start(tmp_path_factory.mktemp("postgres"))
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def postgres_url(postgres_cluster: PostgresCluster) -> str:
    """The URL of a new, empty database on the session's PostgreSQL server."""
    return postgres_cluster.create_database()


@pytest.fixture(scope="session")
def session_arm() -> Iterator[LocalArm]:
    """One in-memory local ARM for the worker's whole session (see :func:`fresh_arm`)."""
    arm = LocalArm(config=LocalArmConfig(retry_after=0)).start()
    yield arm
    arm.stop()


def fresh_arm(arm: LocalArm) -> LocalArm:
    """``arm`` as if just started: no deployment running, empty state, no faults, no resource
    delay, no request recorded."""
    arm.backend.runner.wait_idle()
    arm.store.reset()
    arm.backend.faults.replace(FaultPlanSpec())
    arm.config.resource_delay_s = 0.0
    arm.app.requests.clear()
    return arm


CliRun = Callable[..., "subprocess.CompletedProcess[str]"]


@pytest.fixture
def cli_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> Iterator[CliRun]:
    """``cli_here(cwd, *args, home=None, env=None)``: ``bicep-assets ARGS`` through its entry
    point in this process, as a process started in ``cwd`` would run it — DAGSTER_HOME set to
    ``home`` (unset when None: the project's default), the variables of ``env`` set (None
    unsets one), stdout and stderr captured at their file descriptors. What a subprocess would
    do at a quarter of the CPU (Dagster is imported already): the tests of a process's own
    behaviour (signals, exit status, several processes at once) start real ones instead. The
    embedded local ARMs the commands started are stopped when the test ends."""

    def run(
        cwd: Path, *args: str, home: Path | None = None, env: dict[str, str | None] | None = None
    ) -> subprocess.CompletedProcess[str]:
        monkeypatch.chdir(cwd)
        if home is None:
            monkeypatch.delenv("DAGSTER_HOME", raising=False)
        else:
            monkeypatch.setenv("DAGSTER_HOME", str(home))
        for name, value in (env or {}).items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        capfd.readouterr()
        try:
            code = cli_main(list(args))
        except SystemExit as exit_:  # argparse's usage errors and --help, as a process ends
            code = exit_.code if isinstance(exit_.code, int) else 1
        out, err = capfd.readouterr()
        return subprocess.CompletedProcess(["bicep-assets", *args], code, out, err)

    try:
        yield run
    finally:
        stop_embedded_local_arms(tmp_path)


HOLDER = """
import sys
import dagster as dg
from bicep_assets.instance import environment_held
with dg.DagsterInstance.from_config(sys.argv[1]) as instance:
    with environment_held(instance, sys.argv[2], timeout_s=0):
        print("held", flush=True)
        sys.stdin.read()
"""


def hold_environment_elsewhere(
    home: Path, environment: str, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    """Another process holding ``environment`` of the instance in ``home`` as a deployment
    run does (``instance.environment_held``), until its stdin is closed."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(home), environment],
        env={**os.environ, **(env or {})},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline() == "held\n"
    return process


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def copy_for_dagster_dev(root: Path) -> Path:
    """A copy of the project at ``root/project`` and its DAGSTER_HOME ``root/home``
    (returned), both with the repository's dagster.yaml."""
    project = root / "project"
    for item in ("infra", "parameters"):
        shutil.copytree(REPO / item, project / item)
    shutil.copyfile(REPO / "workspace.yaml", project / "workspace.yaml")
    home = root / "home"
    home.mkdir()
    for folder in (project, home):  # the CLI copies the project's file into DAGSTER_HOME
        shutil.copyfile(REPO / "dagster.yaml", folder / "dagster.yaml")
    return home


class DagsterDev:
    """Real ``dagster dev`` processes on a copy made by :func:`copy_for_dagster_dev`, with the
    variables of ``env`` set too."""

    def __init__(self, root: Path, env: dict[str, str] | None = None) -> None:
        self.root = root
        (root / "tmp").mkdir(exist_ok=True)
        self.env = {
            **os.environ,
            "DAGSTER_HOME": str(root / "home"),
            # dagster dev's temporary workspace file, which a SIGKILL leaves behind: in the
            # test's folder, not the machine's /tmp
            "TMPDIR": str(root / "tmp"),
            "DEV_APP_SECRET": "dagster-dev-secret",
            "PROD_APP_SECRET": "dagster-dev-prod-secret",
            **(env or {}),
        }
        self.processes: list[subprocess.Popen[bytes]] = []
        self.log_path = root / "dagster-dev.log"
        self.log = self.log_path.open("wb")

    def _spawn(self, program: str, *args: str) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name(program)), *args],
            cwd=self.root / "project",
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append(process)
        return process

    def start_daemon(self) -> None:
        """Start ``dagster-daemon run`` alone: what ``dagster dev`` runs for the sensors,
        schedules and run queue, without its webserver (the tests that only wait for the
        daemon's work save the webserver's start)."""
        self._spawn("dagster-daemon", "run", "-w", "workspace.yaml")

    def start(self) -> int:
        """Start ``dagster dev``; its port once the webserver answers."""
        port = free_port()
        self._serving(
            self._spawn(
                "dagster", "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)
            ),
            port,
        )
        return port

    def start_ui(self) -> int:
        """Start ``bicep-assets ui`` (DAGSTER_HOME prepared, then ``dagster dev``); its port
        once the webserver answers."""
        port = free_port()
        self._serving(self._spawn("bicep-assets", "ui", "--port", str(port)), port)
        return port

    def _serving(self, process: subprocess.Popen[bytes], port: int) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{port}/server_info", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            if process.poll() is not None:
                break
            time.sleep(0.5)
        else:
            pytest.fail("dagster dev did not start in 120 s")
        assert process.poll() is None, self.log_path.read_text()[-3000:]

    def stop(self) -> None:
        for process in self.processes:  # no test looks at its shutdown, which takes ~6 s
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
        self.log.close()


@pytest.fixture
def dagster_dev_home(tmp_path: Path) -> Path:
    """A copy of the project at ``tmp_path/project`` and its DAGSTER_HOME (returned), both with
    the repository's dagster.yaml; ``dagster dev`` is not started yet."""
    return copy_for_dagster_dev(tmp_path)


@pytest.fixture
def start_dagster_daemon(tmp_path: Path, dagster_dev_home: Path) -> Iterator[Callable[[], None]]:
    """Starts a real ``dagster-daemon run`` on ``dagster_dev_home`` when called (so a test can
    first put runs in its instance), and stops it when the test ends."""
    dev = DagsterDev(tmp_path)
    try:
        yield dev.start_daemon
    finally:
        dev.stop()


SENSORS_QUERY = """{ workspaceOrError { ... on Workspace { locationEntries {
  locationOrLoadError { ... on RepositoryLocation { repositories { sensors { id name } } } }
} } } }"""
STOP_SENSOR = """mutation($id: String) {
  stopSensor(id: $id) { __typename ... on PythonError { message } }
}"""


def stop_sensor(webserver: str, name: str) -> None:
    """Stop sensor ``name`` through the webserver at ``webserver`` (http://host:port), as its
    toggle in the UI does — for tests whose runs the sensor would follow with runs of its own
    (the audit refresh: a process and ~3 s of CPU each) that they do not look at."""
    deadline = time.monotonic() + 120
    while True:  # the code location loads in the background
        data = requests.post(f"{webserver}/graphql", json={"query": SENSORS_QUERY}, timeout=30)
        ids = [
            sensor["id"]
            for entry in data.json()["data"]["workspaceOrError"].get("locationEntries", [])
            for repository in (entry["locationOrLoadError"] or {}).get("repositories", [])
            for sensor in repository["sensors"]
            if sensor["name"] == name
        ]
        if ids:
            break
        assert time.monotonic() < deadline, f"no sensor {name} after 120 s"
        time.sleep(0.5)
    while True:  # the daemon's first tick may be storing the sensor's state at this moment
        done = requests.post(
            f"{webserver}/graphql",
            json={"query": STOP_SENSOR, "variables": {"id": ids[0]}},
            timeout=30,
        ).json()
        if done["data"]["stopSensor"]["__typename"] == "StopSensorMutationResult":
            return
        assert time.monotonic() < deadline, done
        time.sleep(0.5)


class SharedDagsterDev:
    """One real ``dagster dev`` on a copy of the project for the tests that launch runs over
    its webserver and look only at their own runs: started by the first of them, stopped
    after the last (the collection hook deals them to one worker one after another), so it
    does not idle through the rest of the session — its daemon ticks the sensors and starts
    a new code server every minute."""

    def __init__(self) -> None:
        self.dev: DagsterDev | None = None
        self.port, self.home = 0, Path()

    def get(self, tmp_path_factory: pytest.TempPathFactory) -> tuple[int, Path]:
        if self.dev is None:
            root = tmp_path_factory.mktemp("dagster-dev")
            self.home = copy_for_dagster_dev(root)
            self.dev = DagsterDev(root)
            self.port = self.dev.start()
            stop_sensor(f"http://127.0.0.1:{self.port}", "audit_refresh")  # not looked at here
        return self.port, self.home

    def stop(self) -> None:
        if self.dev is not None:
            self.dev.stop()
            self.dev = None


SHARED_DAGSTER_DEV = SharedDagsterDev()


@pytest.fixture
def shared_dagster_dev(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, Path]:
    """The shared ``dagster dev`` (:class:`SharedDagsterDev`): (port, DAGSTER_HOME)."""
    return SHARED_DAGSTER_DEV.get(tmp_path_factory)


def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """The shared ``dagster dev`` stops after the last test using it on this worker."""
    if "shared_dagster_dev" in item.fixturenames and (
        nextitem is None or "shared_dagster_dev" not in nextitem.fixturenames
    ):
        SHARED_DAGSTER_DEV.stop()


def pytest_sessionfinish() -> None:
    SHARED_DAGSTER_DEV.stop()
