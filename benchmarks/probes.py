"""How long verify's probes take: 100 HTTP(S) probes of endpoints that answer after 200 ms.

Starts a local server on 127.0.0.1 whose every answer takes ``delay`` seconds, runs the
probes through the :class:`~bicep_assets.resources.probes.Probes` resource (one shared
session, concurrent checks), checks that every probe passed and prints the wall time with
the machine it ran on. Target: 100 probes with 200 ms latency each, verified in <= 1 s.

    .venv/bin/python benchmarks/probes.py [--count 100] [--delay 0.2]
"""

from __future__ import annotations

import argparse
import ssl
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import certifi
import requests
import trustme
from machine import machine_description

from bicep_assets.models import CheckResult
from bicep_assets.resources.probes import Probes


class _DelayedServer(ThreadingHTTPServer):
    request_queue_size = 256  # a burst of connections must not overflow the listen backlog
    daemon_threads = True
    delay_s = 0.2


class _DelayedHandler(BaseHTTPRequestHandler):
    server: _DelayedServer

    def do_GET(self) -> None:
        time.sleep(self.server.delay_s)
        body = b"ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def delayed_server(delay_s: float, *, https: bool = False) -> Iterator[tuple[str, str | None]]:
    """A server answering every GET with 200 after ``delay_s``: (base URL, CA file or None)."""
    server = _DelayedServer(("127.0.0.1", 0), _DelayedHandler)
    server.delay_s = delay_s
    with tempfile.TemporaryDirectory(prefix="probe-bench-") as tmp:
        ca_file: str | None = None
        if https:
            ca = trustme.CA()
            ca_file = str(Path(tmp) / "ca.pem")
            ca.cert_pem.write_to_path(ca_file)
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ca.issue_cert("127.0.0.1").configure_cert(context)
            # handshakes happen on the handler threads, not one by one in the accept loop
            server.socket = context.wrap_socket(
                server.socket, server_side=True, do_handshake_on_connect=False
            )
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        scheme = "https" if https else "http"
        try:
            yield f"{scheme}://127.0.0.1:{server.server_port}", ca_file
        finally:
            server.shutdown()
            server.server_close()


def measure(
    count: int, delay_s: float, *, max_workers: int, https: bool = False
) -> tuple[float, list[CheckResult]]:
    """Probe ``count`` URLs of a ``delay_s`` server; (wall seconds, results), all verified."""
    with delayed_server(delay_s, https=https) as (base, ca_file):
        probes = Probes(max_workers=max_workers, retries=0, http_timeout_s=10, ca_bundle=ca_file)
        checks = [probes.http_check(f"{base}/app/{i}") for i in range(count)]
        started = time.perf_counter()
        results = probes.run(checks)
        wall = time.perf_counter() - started
        probes.close()
    failed = [r for r in results if not r.ok]
    if len(results) != count or failed:
        raise AssertionError(f"{len(failed)} of {count} probes failed: {failed[:3]}")
    return wall, results


def measure_plain_requests(count: int, delay_s: float) -> float:
    """The same HTTPS probes with a plain requests session trusting default bundle + CA file.

    requests loads the CA bundle into a new SSL context for every connection; this is the
    cost the probes' shared context avoids.
    """
    with (
        delayed_server(delay_s, https=True) as (base, ca_file),
        tempfile.TemporaryDirectory(prefix="probe-bench-") as tmp,
    ):
        assert ca_file is not None
        bundle = Path(tmp) / "bundle.pem"
        bundle.write_text(Path(certifi.where()).read_text() + Path(ca_file).read_text())
        session = requests.Session()
        session.mount("https://", requests.adapters.HTTPAdapter(pool_maxsize=count))

        def get(i: int) -> int:
            return session.get(f"{base}/app/{i}", verify=str(bundle), timeout=10).status_code

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=count) as pool:
            statuses = list(pool.map(get, range(count)))
        wall = time.perf_counter() - started
        session.close()
    if statuses != [200] * count:
        raise AssertionError(f"plain requests: statuses {sorted(set(statuses))}")
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--delay", type=float, default=0.2)
    parser.add_argument("--runs", type=int, default=3, help="best of this many runs")
    args = parser.parse_args()
    print(f"machine: {machine_description()}")
    print(
        f"{args.count} probes, each answered after {args.delay * 1000:.0f} ms (best of {args.runs})"
    )
    for https in (False, True):
        for workers in (32, args.count):
            wall = min(
                measure(args.count, args.delay, max_workers=workers, https=https)[0]
                for _ in range(args.runs)
            )
            scheme = "HTTPS" if https else "HTTP "
            print(f"  {scheme} max_workers={workers:>3}: {wall:.3f} s")
    plain = min(measure_plain_requests(args.count, args.delay) for _ in range(args.runs))
    print(f"  HTTPS plain requests session, {args.count} threads (reference): {plain:.3f} s")


if __name__ == "__main__":
    main()
