"""A real PostgreSQL server for the tests: one cluster per test session (``initdb`` and
``pg_ctl`` from Debian's ``postgresql`` package, in a temporary folder, on a free loopback
port, password authentication), and a fresh database per test — a database costs a few
milliseconds, a cluster a second.

PostgreSQL refuses to run as root; under root (CI containers) the cluster runs as the
``postgres`` system user the package creates.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

USER = "bicep"
PASSWORD = "pg-test-password-9f3c2a"  # a test cluster's: never a real secret


def postgres_bin() -> Path | None:
    """The folder of ``initdb``/``pg_ctl`` (PATH, then Debian's /usr/lib/postgresql/<v>/bin)."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    return versions[0].parent if versions else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PostgresCluster:
    """A running cluster: ``url(db)`` is the SQLAlchemy URL of database ``db``."""

    root: Path
    port: int
    bin_dir: Path

    @classmethod
    def start(cls, root: Path) -> PostgresCluster:
        bin_dir = postgres_bin()
        if bin_dir is None:
            raise RuntimeError("PostgreSQL is not installed: apt-get install postgresql")
        root.mkdir(parents=True, exist_ok=True)
        as_user: list[str] = []
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            for folder in (root, *root.parents):  # the server must reach its folder
                if not folder.stat().st_mode & 0o001:
                    os.chmod(folder, folder.stat().st_mode | 0o001)
            os.chown(root, owner.pw_uid, owner.pw_gid)
            as_user = ["runuser", "-u", "postgres", "--"]
        pwfile = root / "pwfile"
        pwfile.write_text(PASSWORD + "\n")
        if as_user:
            os.chmod(pwfile, 0o644)
        data = root / "data"
        subprocess.run(
            [*as_user, str(bin_dir / "initdb"), "-D", str(data), "-U", USER,
             f"--pwfile={pwfile}", "--auth=scram-sha-256", "--no-sync", "-E", "UTF8",
             "--locale=C.UTF-8"],
            check=True, capture_output=True,
        )  # fmt: skip
        port = _free_port()
        options = (
            f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        subprocess.run(
            [*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options,
             "-l", str(root / "server.log"), "-w", "-t", "60", "start"],
            check=True, capture_output=True,
        )  # fmt: skip
        return cls(root=root, port=port, bin_dir=bin_dir)

    def stop(self) -> None:
        as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run(
            [*as_user, str(self.bin_dir / "pg_ctl"), "-D", str(self.root / "data"),
             "-m", "immediate", "-w", "stop"],
            capture_output=True,
        )  # fmt: skip

    def url(self, database: str = "postgres", *, password: str = PASSWORD) -> str:
        return f"postgresql://{USER}:{password}@127.0.0.1:{self.port}/{database}"

    def create_database(self, prefix: str = "t") -> str:
        """A new empty database; its URL."""
        import sqlalchemy as sa

        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        url = self.url().replace("postgresql://", "postgresql+psycopg2://", 1)
        engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        finally:
            engine.dispose()
        return self.url(name)


class CuttableProxy:
    """A TCP forwarder in front of the cluster that can be cut: after :meth:`cut` new
    connections are refused and open ones are closed, as when the server goes away (the
    session's cluster stays up for the other tests)."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:  # cut
                return
            server = socket.create_connection(("127.0.0.1", self.target_port))
            with self.lock:
                self.sockets += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def url(self, url: str) -> str:
        """``url`` (of the cluster) through this proxy."""
        return url.replace(f":{self.target_port}/", f":{self.port}/", 1)

    def cut(self) -> None:
        # shut down first: closing alone leaves the accept in progress waiting, and the next
        # connection would still be taken and forwarded
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        with self.lock:
            for end in self.sockets:
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
                end.close()
