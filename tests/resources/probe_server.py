"""A real HTTP server on 127.0.0.1 with the endpoints the probe tests need.

Endpoints (every body carries :data:`CANARY`, which must never reach a probe's detail):
``/ok``; ``/status/{code}``; ``/slow/{seconds}`` (answers 200 after that long, or at once
when the server stops); ``/flaky/{key}/{failures}`` (503 for the first ``failures``
requests of ``key``, then 200); ``/together/{key}/{n}`` (200 only if ``n`` requests of
``key`` are in flight at the same moment — a barrier — else 504 after 10 s);
``/redirect`` (302 to ``/ok``); ``/set-cookie`` and ``/expect-no-cookie`` (400 if the
request carries a cookie). The server counts requests per path and, per path, the largest
number of requests it held at once.
"""

from __future__ import annotations

import socket
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CANARY = "CANARY-7f3a-body-must-not-leak"


class ProbeServer(ThreadingHTTPServer):
    """The server and what it observed."""

    request_queue_size = 256
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.hits: Counter[str] = Counter()
        self.in_flight: Counter[str] = Counter()
        self.max_in_flight: Counter[str] = Counter()  # per path
        self.barriers: dict[str, threading.Barrier] = {}

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}"

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def reset(self) -> None:
        with self.lock:
            self.hits.clear()
            self.max_in_flight.clear()
            self.barriers.clear()

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that timed out and hung up is what some tests do on purpose

    def barrier(self, key: str, parties: int) -> threading.Barrier:
        with self.lock:
            return self.barriers.setdefault(key, threading.Barrier(parties, timeout=10))


class _Handler(BaseHTTPRequestHandler):
    server: ProbeServer

    def do_GET(self) -> None:
        server = self.server
        with server.lock:
            server.hits[self.path] += 1
            hits = server.hits[self.path]
            server.in_flight[self.path] += 1
            peak = max(server.max_in_flight[self.path], server.in_flight[self.path])
            server.max_in_flight[self.path] = peak
        try:
            status, headers = self._decide(hits)
        finally:
            # counted out before answering: the client can only send its next request after
            # this answer, so max_in_flight never exceeds the client's real concurrency
            with server.lock:
                server.in_flight[self.path] -= 1
        body = f"{CANARY} {status}".encode()
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _decide(self, hits: int) -> tuple[int, dict[str, str]]:
        parts = self.path.strip("/").split("/")
        match parts:
            case ["ok"]:
                return 200, {}
            case ["status", code]:
                return int(code), {}
            case ["slow", seconds]:
                self.server.stopping.wait(float(seconds))
                return 200, {}
            case ["flaky", _key, failures]:
                return (503 if hits <= int(failures) else 200), {}
            case ["together", key, parties]:
                try:
                    self.server.barrier(key, int(parties)).wait()
                except threading.BrokenBarrierError:
                    return 504, {}
                return 200, {}
            case ["redirect"]:
                return 302, {"Location": "/ok"}
            case ["set-cookie"]:
                return 200, {"Set-Cookie": f"session={CANARY}; Path=/"}
            case ["expect-no-cookie"]:
                return (400 if self.headers.get("Cookie") else 200), {}
        return 404, {}

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def probe_server() -> Iterator[ProbeServer]:
    """A running :class:`ProbeServer` (stopped, slow requests released, on exit)."""
    server = ProbeServer()
    thread = threading.Thread(
        target=server.serve_forever, args=(0.02,), name="probe-server", daemon=True
    )
    thread.start()
    try:
        yield server
    finally:
        server.stopping.set()
        for barrier in list(server.barriers.values()):
            barrier.abort()
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def unanswered_port() -> Iterator[int]:
    """A port whose listen backlog is full: connection attempts hang until they time out.

    Linux drops the SYN of a connection to a listener whose accept queue is full, so the
    client's connect waits; the listener never accepts.
    """
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers: list[socket.socket] = []
    try:
        for _ in range(4):  # fill the accept queue (its size is backlog + 1 on Linux)
            filler = socket.socket()
            filler.settimeout(0.2)
            try:
                filler.connect(("127.0.0.1", port))
            except OSError:
                filler.close()
                break
            fillers.append(filler)
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()
