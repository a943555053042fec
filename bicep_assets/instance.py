"""Where Dagster keeps runs and events: SQLite under DAGSTER_HOME (the quickstart), or
PostgreSQL when ``BICEP_ASSETS_POSTGRES_URL`` is set (docs/operations.md#running-it-for-a-team).

The instance's ``dagster.yaml`` is the project's, plus — with the setting — a ``storage:``
block that names the variable rather than its value (``postgres_url: {env: …}``): the
password is never written to a file, and the UI's configuration page shows the variable's
name. Before anything opens the instance, :func:`check_postgres` connects once and turns
every way that can go wrong into one line naming the setting, the password masked.

Storage ids on PostgreSQL come from a sequence, so they are handed out in the order events
are *inserted*, not committed: :func:`settled_storage_id` gives the id up to which every
event is committed (or never will be), which the audit's incremental refresh reads up to.

:func:`environment_held` is the lock every deployment run of an environment holds while it
runs, in whatever process runs it (a CLI, a daemon's run worker, another host).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml

from .dagster_private import maximum_storage_id, postgres_url_of

POSTGRES_URL_VAR = "BICEP_ASSETS_POSTGRES_URL"
# the keys of dagster.yaml that choose storage: with any of them the file decides
STORAGE_KEYS = ("storage", "run_storage", "event_log_storage", "schedule_storage")
CONNECT_TIMEOUT_S = 5


class StorageSettingError(Exception):
    """The storage setting cannot be used: ``exit_code`` 2 for a wrong setting (fix it), 1
    for a server that cannot be reached now (try again)."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def _passwords(url: str) -> list[str]:
    """Every password ``url`` carries: its user information's (all after the user name's
    ``:`` up to the last ``@``, even with an ``@`` left unencoded) and a ``password`` query
    parameter's, as written and decoded."""
    found: list[str] = []
    scheme_end = url.find("://")
    rest = url[scheme_end + 3 :] if scheme_end >= 0 else url
    authority = re.split(r"[/?#]", rest.rsplit("@", 1)[0], maxsplit=1)[0] if "@" in rest else ""
    if ":" in authority:
        found.append(authority.split(":", 1)[1])
    query = url.split("?", 1)[1].split("#", 1)[0] if "?" in url else ""
    for name, value in re.findall(r"(?:^|&)([^=&]*)=([^&]*)", query):
        if unquote(name).lower() == "password" and value:
            found.append(value)
    return [form for p in found for form in {p, unquote(p)} if form]


def redact_url(url: str) -> str:
    """``url`` with its password replaced by ``***`` (what errors and logs may show)."""
    return scrub_password(url, url)


def scrub_password(text: str, url: str) -> str:
    """``text`` without the URL's password, whatever quoted it: the password, and each part of
    it between ``@``, ``:`` and ``/`` of 3 characters or more (a server that reads an
    unencoded ``@`` as the end of the user information quotes the rest as a host name)."""
    pieces = set()
    for password in _passwords(url):
        pieces.add(password)
        pieces.update(p for p in re.split(r"[@:/]", password) if len(p) >= 3)
    for piece in sorted(pieces, key=len, reverse=True):
        text = text.replace(piece, "***")
    return text


def with_driver(url: str) -> str:
    """``url`` naming the psycopg2 driver that dagster-postgres installs: SQLAlchemy 2.1 reads
    a bare ``postgresql://`` as psycopg 3, which dagster-postgres does not install."""
    for bare in ("postgresql://", "postgres://"):
        if url.startswith(bare):
            return "postgresql+psycopg2://" + url[len(bare) :]
    return url


def check_postgres_url(url: str) -> None:
    """:class:`StorageSettingError` (exit 2) unless ``url`` is a PostgreSQL URL with a host
    and a database."""
    where = f"{POSTGRES_URL_VAR}={redact_url(url)}"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise StorageSettingError(f"{where}: not a URL ({scrub_password(str(exc), url)})") from None
    if parts.scheme not in ("postgresql", "postgres", "postgresql+psycopg2"):
        raise StorageSettingError(
            f"{where}: not a PostgreSQL URL: expected postgresql://USER:PASSWORD@HOST:PORT/DATABASE"
        )
    if parts.netloc.count("@") > 1:
        raise StorageSettingError(
            f"{where}: the user name or password holds an '@': percent-encode it (%40; and ':'"
            " as %3A, '/' as %2F) so that the host is what follows the last '@'"
        )
    if not parts.hostname or not parts.path.strip("/"):
        raise StorageSettingError(
            f"{where}: names no {'host' if not parts.hostname else 'database'}: expected "
            "postgresql://USER:PASSWORD@HOST:PORT/DATABASE"
        )
    del port


def check_postgres(url: str, *, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """Connect to ``url`` once: :class:`StorageSettingError` naming the setting when the
    URL is wrong (exit 2: authentication, no such database, not a URL) or the server cannot
    be reached (exit 1: about the moment). The password never appears in the message."""
    import psycopg2

    check_postgres_url(url)
    where = f"{POSTGRES_URL_VAR}={redact_url(url)}"
    dsn = url.replace("postgresql+psycopg2://", "postgresql://", 1)
    try:
        connection = psycopg2.connect(dsn, connect_timeout=max(1, int(timeout_s)))
    except psycopg2.OperationalError as exc:
        text = scrub_password(" ".join(str(exc).split()), url)
        lowered = text.lower()
        if "password authentication failed" in lowered or "no password supplied" in lowered:
            raise StorageSettingError(
                f"{where}: PostgreSQL refused the user name or password "
                f"(authentication failed): check the URL's credentials"
            ) from None
        if "does not exist" in lowered:
            raise StorageSettingError(f"{where}: {text}: create it, or name another") from None
        raise StorageSettingError(
            f"{where}: PostgreSQL cannot be reached ({text}); is the server running "
            "and the host and port right?",
            exit_code=1,
        ) from None
    except psycopg2.Error as exc:
        raise StorageSettingError(f"{where}: {scrub_password(str(exc).strip(), url)}") from None
    connection.close()


class _RetryNotice(logging.Filter):
    """dagster-postgres logs each retry of each storage call on the root logger, four lines
    apiece (``Retrying failed database connection: …``): a run that lost its server printed
    ~100 lines before the command's one-line error. The first retry is said once, in one line
    with the password masked; the others are dropped."""

    PREFIX = "Retrying failed database"

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url, self.said = url, False

    def filter(self, record: logging.LogRecord) -> bool:
        if not str(record.msg).startswith(self.PREFIX):
            return True
        if not self.said:
            self.said = True
            reason = " ".join(str(arg) for arg in record.args or ()).strip().splitlines()
            detail = scrub_password(reason[0], self.url) if reason else "no detail"
            detail = re.sub(r"^\([\w.]+\)\s*", "", detail)  # "(psycopg2.OperationalError) "
            print(
                f"warning: PostgreSQL is not answering ({detail}); Dagster retries each call "
                "a few times before the command gives up (further retries not shown)",
                file=sys.stderr,
                flush=True,
            )
        return False


def quiet_connection_retries(url: str) -> None:
    """Install :class:`_RetryNotice` on the root logger (once per process)."""
    root = logging.getLogger()
    if not any(isinstance(f, _RetryNotice) for f in root.filters):
        root.addFilter(_RetryNotice(url))


def instance_config(project_config: Mapping[str, Any] | None, postgres_url: str | None) -> dict:
    """The instance's dagster.yaml as a mapping: the project's, plus the PostgreSQL storage
    block when ``postgres_url`` is given (naming the variable, never the URL)."""
    config = dict(project_config or {})
    if postgres_url:
        chosen = [key for key in STORAGE_KEYS if key in config]
        if chosen:
            raise StorageSettingError(
                f"{POSTGRES_URL_VAR} is set and the project's dagster.yaml chooses storage "
                f"itself ({', '.join(chosen)}): keep one of them"
            )
        config["storage"] = {"postgres": {"postgres_url": {"env": POSTGRES_URL_VAR}}}
    return config


ADDED_MARK = f"# Added by bicep-assets because {POSTGRES_URL_VAR} is set"


def uses_postgres(instance_file: Path) -> bool:
    """Whether a DAGSTER_HOME's dagster.yaml is one :func:`instance_yaml` wrote for PostgreSQL
    (opening it without the variable would silently start a SQLite history beside it)."""
    try:
        return ADDED_MARK in instance_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False


def instance_yaml(project_yaml: str, postgres_url: str | None) -> str:
    """The text of DAGSTER_HOME/dagster.yaml: the project's file as it is, with the storage
    block appended when ``postgres_url`` is given."""
    if not postgres_url:
        return project_yaml
    try:
        parsed = yaml.safe_load(project_yaml) if project_yaml.strip() else {}
    except yaml.YAMLError:
        parsed = None  # the file's own mistake: Dagster reports it with its line
    if isinstance(parsed, dict):
        instance_config(parsed, postgres_url)  # refuses a file that chooses storage too
    block = {"storage": instance_config(None, postgres_url)["storage"]}
    return (
        project_yaml.rstrip("\n")
        + f"\n\n{ADDED_MARK} (the URL stays in that variable).\n"
        + yaml.safe_dump(block, sort_keys=False)
    )


# --- commit order on PostgreSQL -------------------------------------------------------------


@dataclass(frozen=True)
class SettledId:
    """The storage id up to which every event is committed or never will be (None: the event
    log is empty), and the transactions still open when the wait ended (empty when settled)."""

    storage_id: int | None
    still_open: tuple[str, ...] = ()


def settled_storage_id(instance: Any, *, timeout_s: float = 30.0) -> SettledId | None:
    """On PostgreSQL: the highest storage id below which no event can still appear. None on
    other storages, whose ids follow commit order (SQLite writes one transaction at a time).

    The event log's largest committed id M is read first; any id below M that is not
    visible yet belongs to a transaction already open at that moment (ids are handed out
    in increasing order, and M's was handed out after it). So the transactions open then
    are listed from ``pg_stat_activity`` and waited for; once they ended, every id up to M is
    committed or rolled back. A transaction still open after ``timeout_s`` is returned in
    ``still_open`` (pid and start), and M then is not settled."""
    url = postgres_url_of(instance)
    if url is None:
        return None
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    highest = maximum_storage_id(instance)
    engine = sa.create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            open_then = connection.execute(
                sa.text(
                    "SELECT pid, xact_start FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                    "AND xact_start IS NOT NULL AND backend_type = 'client backend'"
                )
            ).all()
            deadline = time.monotonic() + timeout_s
            waiting = [(pid, start) for pid, start in open_then]
            while waiting:
                rows = connection.execute(
                    sa.text(
                        "SELECT pid, xact_start FROM pg_stat_activity "
                        "WHERE pid = ANY(:pids) AND xact_start IS NOT NULL"
                    ),
                    {"pids": [pid for pid, _ in waiting]},
                ).all()
                current = set(map(tuple, rows))
                waiting = [(pid, start) for pid, start in waiting if (pid, start) in current]
                if not waiting or time.monotonic() > deadline:
                    break
                time.sleep(0.02)
    finally:
        engine.dispose()
    return SettledId(
        storage_id=highest,
        still_open=tuple(f"pid {pid} (in a transaction since {start})" for pid, start in waiting),
    )


class EnvironmentHeld(RuntimeError):
    """Another run held the environment for longer than the caller would wait."""


def _advisory_key(environment: str) -> int:
    """The PostgreSQL advisory lock key of ``environment``: a signed 64-bit hash."""
    digest = hashlib.sha256(f"bicep_assets/environment:{environment}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextlib.contextmanager
def environment_held(
    instance: Any,
    environment: str,
    *,
    timeout_s: float,
    poll_s: float = 0.5,
    on_wait: Callable[[], None] = lambda: None,
) -> Iterator[None]:
    """Hold ``environment`` among every process that shares ``instance``'s storage, for one
    deployment run: on PostgreSQL a session advisory lock keyed by the environment's name in
    the event log's database (every CI runner, run worker and host that shares it), otherwise
    an exclusive lock on ``DAGSTER_HOME/locks/<environment>.run.lock`` (SQLite storage is one
    host's). Either ends with the process that holds it, so a killed run never keeps its
    environment. ``on_wait`` is called once when the lock is taken by another run;
    :class:`EnvironmentHeld` after ``timeout_s``. No instance, or an ephemeral one (no folder,
    no shared storage), holds nothing."""
    deadline = time.monotonic() + max(0.0, timeout_s)
    url = postgres_url_of(instance) if instance is not None else None
    if url is not None:
        import psycopg2

        dsn = url.replace("postgresql+psycopg2://", "postgresql://", 1)
        try:
            connection = psycopg2.connect(dsn, connect_timeout=CONNECT_TIMEOUT_S)
        except psycopg2.Error as exc:
            text = scrub_password(" ".join(str(exc).split()), url)
            raise EnvironmentHeld(
                f"{environment}: cannot take the environment's lock on PostgreSQL ({text})"
            ) from None
        connection.autocommit = True
        key = _advisory_key(environment)
        try:
            with connection.cursor() as cursor:
                _wait_until(
                    lambda: _try_advisory(cursor, key), environment, deadline, poll_s, on_wait
                )
            yield
        finally:
            connection.close()  # ends the session, and with it the lock
        return
    root = getattr(instance, "root_directory", None)
    if not root:
        yield
        return
    import fcntl

    path = Path(root) / "locks" / f"{environment}.run.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as lock:

        def take() -> bool:
            try:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            return True

        _wait_until(take, environment, deadline, poll_s, on_wait)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def _try_advisory(cursor: Any, key: int) -> bool:
    cursor.execute("SELECT pg_try_advisory_lock(%s)", (key,))
    return bool(cursor.fetchone()[0])


def _wait_until(
    take: Callable[[], bool],
    environment: str,
    deadline: float,
    poll_s: float,
    on_wait: Callable[[], None],
) -> None:
    waited = False
    while not take():
        if time.monotonic() >= deadline:
            raise EnvironmentHeld(
                f"{environment} is held by another deployment run; gave up waiting for it"
            )
        if not waited:
            on_wait()
            waited = True
        time.sleep(poll_s)
