"""The local ARM as an HTTPS service: the WSGI app, and running it embedded or standalone.

``LocalArm`` starts the service (embedded: a thread on 127.0.0.1 and an ephemeral port) and
hands out a :class:`~bicep_assets.armlocal.http.client.LocalArmConnection` — base URL, token and
the CA file of the certificate it made at start — from which the official SDK clients are
built unchanged. Every request needs that bearer token (401 otherwise, ARM-shaped); ARM
routes need an ``api-version``. Web apps deployed here answer health probes under
``/sites/{subscription}/{group}/{name}/`` (no token: they stand for the app, not for ARM).
Faults from the :class:`~bicep_assets.armlocal.service.faults.FaultPlan` apply before dispatch.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import os
import re
import socket
import ssl
import struct
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

import trustme
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from ..service.backend import ArmBackend, LocalArmConfig
from ..service.caller import calling_as
from ..service.errors import ArmHttpError
from ..service.faults import FaultPlan, FaultPlanError, FaultPlanSpec, read_fault_plan
from ..state.store import ArmStore, ArmStoreError
from .api_versions import check_api_version
from .client import LocalArmConnection
from .identity import (
    METADATA_PATH,
    TOKEN_PATH,
    TokenAuthority,
    add_account_routes,
    metadata_endpoints,
)
from .rest import (
    PRINCIPAL_KEY,
    ArmRequest,
    empty_response,
    error_response,
    json_response,
    read_json,
)
from .routes import build_router
from .routes_surface import arm_headers
from .tempdirs import owned_temp_dir, remove_orphaned_temp_dirs

log = logging.getLogger("bicep_assets.armlocal")

SITE = re.compile(r"^/sites/(?P<sub>[^/]+)/(?P<rg>[^/]+)/(?P<name>[^/]+)(/.*)?$", re.IGNORECASE)


class ArmApp:
    """The WSGI application: auth, api-version, faults, routing, ARM-shaped errors."""

    def __init__(self, backend: ArmBackend) -> None:
        self.backend = backend
        self.router = build_router()
        add_account_routes(self.router)
        self.authority = TokenAuthority(backend)
        self.requests: deque[tuple[str, str, int]] = deque(maxlen=10000)
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = ArmRequest(environ)
        response = self.handle(request, environ)
        arm_headers(request, response)
        with self._lock:
            self.requests.append((request.method, request.path, response.status_code))
        return response(environ, start_response)

    def handle(self, request: Request, environ: dict[str, Any]) -> Response:
        try:
            path = request.path
            site = SITE.match(path)
            if site is not None:
                return self._site(site)
            # the routes Azure leaves open: cloud metadata, and the identity endpoint (which
            # checks its own X-IDENTITY-HEADER secret)
            open_path = path.rstrip("/").lower()
            if open_path == METADATA_PATH and request.method == "GET":
                return metadata_endpoints(request)
            if open_path == TOKEN_PATH:
                return self.authority.token_endpoint(request)
            caller = self.authority.authenticate(request)
            # the caller's principal: for deny assignments (deployment stacks) and deployer()
            request.environ[PRINCIPAL_KEY] = caller
            with calling_as(caller):
                return self._serve(request, environ, path)
        except ArmHttpError as error:
            return error_response(error)
        except ArmStoreError as error:
            return error_response(ArmHttpError(error.status, error.code, error.message))
        except Exception:
            log.exception("local ARM failed on %s %s", request.method, request.path)
            return error_response(
                ArmHttpError(
                    500, "InternalServerError", "The local ARM hit an internal error; see its log."
                )
            )

    def _serve(self, request: Request, environ: dict[str, Any], path: str) -> Response:
        """An authenticated request (as its caller)."""
        if path.startswith("/_localarm/"):
            return self._admin(request)
        # ARM reads '//' as '/': clients build ids with an empty parent path
        # ('…/providers/Microsoft.Web//serverfarms/x' from az resource show -g -n -t)
        path = re.sub(r"/{2,}", "/", path)
        self._check_path(path)
        matched = self.router.match(request.method, path)
        if matched is None:
            raise ArmHttpError(
                404,
                "InvalidResourceType" if "/providers/" in path else "NotFound",
                f"No route for '{request.method} {path}' in the local ARM.",
            )
        route, groups = matched
        check_api_version(path, request.args.get("api-version"))
        for fault in self.backend.faults.request_faults(route.operation, request.method, path):
            if fault.kind == "latency":
                time.sleep(fault.delay_s)
            elif fault.kind == "reset":
                _reset_connection(environ)
                raise ArmHttpError(500, "ConnectionReset", "The connection was reset.")
            else:
                code, message = fault.error_code_and_message()
                headers = {}
                if fault.retry_after is not None:
                    headers["Retry-After"] = str(fault.retry_after)
                raise ArmHttpError(fault.status, code, message, headers=headers)
        return route.handler(self.backend, request, **groups)

    @staticmethod
    def _check_path(path: str) -> None:
        segments = path.split("/")[1:]
        if any(s in ("", ".", "..") for s in segments[:-1]) or any(
            s in (".", "..") for s in segments
        ):
            raise ArmHttpError(
                400,
                "InvalidRequestUri",
                f"The request URI path '{path}' is not valid: it has an empty, '.' or '..' "
                "segment.",
            )

    def _site(self, match: re.Match[str]) -> Response:
        status, message = self.backend.site_status(match["sub"], match["rg"], match["name"])
        return json_response({"status": status, "message": message}, status)

    def _admin(self, request: Request) -> Response:
        path = request.path.rstrip("/").lower()
        if path == "/_localarm/faults":
            if request.method == "GET":
                return json_response(self.backend.faults.to_json())
            if request.method == "PUT":
                data = read_json(request)
                try:
                    spec = read_fault_plan(data)
                except FaultPlanError as exc:
                    raise ArmHttpError(400, "InvalidFaultPlan", str(exc)) from None
                self.backend.faults.replace(spec)
                return json_response(self.backend.faults.to_json())
            if request.method == "DELETE":
                self.backend.faults.replace(FaultPlanSpec())
                return empty_response(204)
        if path == "/_localarm/reset" and request.method == "POST":
            self.backend.runner.wait_idle()
            self.backend.store.reset()
            return empty_response(204)
        if path == "/_localarm/requests" and request.method == "GET":
            with self._lock:
                rows = [{"method": m, "path": p, "status": s} for m, p, s in self.requests]
            return json_response({"value": rows})
        raise ArmHttpError(404, "NotFound", f"No admin route '{request.method} {request.path}'.")


def is_loopback_host(host: str) -> bool:
    """Whether listening on ``host`` keeps the service on this machine: ``localhost``, a
    loopback address, or a name that resolves to loopback addresses only. A name that does
    not resolve counts as loopback here (binding to it fails anyway)."""
    text = host.strip().strip("[]")
    if text.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(text).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(text, None)
    except (OSError, UnicodeError):
        return True
    addresses = {info[4][0] for info in infos}
    return all(ipaddress.ip_address(a.split("%", 1)[0]).is_loopback for a in addresses)


def _reset_connection(environ: dict[str, Any]) -> None:
    """Close the client's connection with a TCP RST (SO_LINGER 0), as a dropped link does:
    its descriptor closed at once (``close()`` would wait for the handler's reader of the
    connection), so nothing more is written to it and the handler's next read fails."""
    sock = environ.get("werkzeug.socket")
    if sock is None:
        return
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        os.close(sock.detach())
    except OSError:
        pass


# An idle kept-alive connection is closed after this long (the client opens a new connection
# for its next request). What the app left unread of a body is read past, so that the client
# sees the answer (a 413 for a body over ARM's 4 MB) rather than a reset, up to DRAIN_LIMIT;
# beyond it, the connection closes after the answer instead of being read to its end.
IDLE_CONNECTION_S = 60.0
DRAIN_LIMIT = 64 << 20


class _BodyReader:
    """A request's body as the app reads it: at most Content-Length bytes of the connection,
    the rest drained after the response so the next request on the connection starts where
    it should."""

    def __init__(self, stream: Any, length: int) -> None:
        self._stream, self.left = stream, length

    def read(self, size: int = -1) -> bytes:
        return self._take(self._stream.read, size)

    def readline(self, size: int = -1) -> bytes:
        return self._take(self._stream.readline, size)

    def _take(self, reader: Any, size: int | None) -> bytes:
        size = self.left if size is None or size < 0 else min(size, self.left)
        data = reader(size) if size else b""
        self.left -= len(data)
        return data

    def drain(self) -> bool:
        """Read what the app left, when it is at most DRAIN_LIMIT; whether it was read."""
        if self.left > DRAIN_LIMIT:
            return False
        while self.left and self.read(1 << 16):
            pass
        return not self.left


class _OpenConnections:
    """The connections a server holds open, so that stopping it closes them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()

    def add(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)

    def discard(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(sock)

    def close_all(self) -> None:
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class _KeepAliveHandler(WSGIRequestHandler):
    """Werkzeug's request handler with HTTP/1.1 persistent connections, as ARM serves them:
    werkzeug's own closes every connection (and waits 10 ms for stray bytes after each
    response), so each SDK or az request paid a new TCP connection, TLS handshake and thread
    (a group GET: 6.8 ms of CPU and 17 ms → 2.1 ms and 2.2 ms). A request whose body comes
    chunked, or whose length is unreadable, gets werkzeug's way: its connection closed after
    the response. The server's ``open_connections`` lets a stop close the idle ones."""

    disable_nagle_algorithm = True  # a response's head and body leave without waiting
    timeout = IDLE_CONNECTION_S

    def setup(self) -> None:
        super().setup()
        self.server.open_connections.add(self.connection)  # type: ignore[attr-defined]

    def finish(self) -> None:
        self.server.open_connections.discard(self.connection)  # type: ignore[attr-defined]
        super().finish()

    def run_wsgi(self) -> None:
        try:
            length = max(0, int(self.headers.get("Content-Length") or 0))
        except ValueError:
            length = -1
        if length < 0 or "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            super().run_wsgi()
            return
        environ = self.make_environ()
        body = _BodyReader(self.rfile, length)
        environ["wsgi.input"] = body
        status, headers, data = self._answer(environ)
        code, _, reason = status.partition(" ")
        try:
            if not body.drain():  # the connection cannot be read from the next request on
                self.close_connection = True
            self.send_response(int(code), reason)
            given = None
            for key, value in headers:
                name = key.lower()
                if name == "content-length":
                    given = value
                elif name not in ("connection", "transfer-encoding"):
                    self.send_header(key, value)
            if int(code) >= 200 and int(code) not in (204, 304):
                # a HEAD answer states the length its GET would have
                length_sent = given if self.command == "HEAD" and given else str(len(data))
                self.send_header("Content-Length", length_sent)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if data and self.command != "HEAD":
                self.wfile.write(data)
        except (OSError, ValueError):  # the connection went away (or a fault reset it)
            self.close_connection = True

    def _answer(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
        """The app's status, headers and body; a 500 (and the connection closed after it)
        when the app raises, as werkzeug answers."""
        started: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None):
            started[:] = [status, headers]
            return lambda data: None  # the app returns its body; it never writes

        try:
            chunks = self.server.app(environ, start_response)
            try:
                data = b"".join(chunks)
            finally:
                if hasattr(chunks, "close"):
                    chunks.close()
        except Exception:
            log.exception("local ARM failed on %s %s", self.command, self.path)
            self.close_connection = True
            return "500 Internal Server Error", [], b""
        return started[0], started[1], data

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log.debug("%s %s", self.requestline, code)

    def log_error(self, format: str, *args: Any) -> None:
        log.debug(format, *args)


# How often the serving loop looks for a stop request: a stop waits for the next look. The
# socketserver default (0.5 s) added half a second to every command that started an embedded
# local ARM and to every test that stops one; a look costs a few microseconds.
SHUTDOWN_POLL_S = 0.02


class LocalArm:
    """A running local ARM (``with LocalArm() as arm: arm.connection.resource_client()``)."""

    def __init__(
        self,
        *,
        state: str | Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        config: LocalArmConfig | None = None,
        faults: FaultPlan | None = None,
        cert_dir: str | Path | None = None,
    ) -> None:
        self.config = config or LocalArmConfig()
        self.store = ArmStore(state)
        # other processes may share the state file: only work of gone owners is failed
        recovered = self.store.recover_interrupted()
        if recovered.deployment_ids:
            log.warning(
                "local ARM: marked %d deployment(s) of stopped processes (%s) interrupted: %s",
                len(recovered.deployment_ids),
                ", ".join(o.describe() for o in recovered.owners),
                ", ".join(recovered.deployment_ids),
            )
        self.backend = ArmBackend(self.store, self.config, faults)
        self.app = ArmApp(self.backend)
        self.host = host
        if cert_dir is None:  # a temp folder: first remove those that killed processes left
            remove_orphaned_temp_dirs()
        self._tmp = owned_temp_dir() if cert_dir is None else None
        self.cert_dir = Path(cert_dir) if cert_dir is not None else Path(self._tmp.name)
        self.cert_dir.mkdir(parents=True, exist_ok=True)
        ca = trustme.CA(organization_name="bicep_assets local ARM")
        self.ca_file = self.cert_dir / "localarm-ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_file))

        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert(host, "localhost", "127.0.0.1").configure_cert(context)
        self.server: BaseWSGIServer = make_server(
            host,
            port,
            self.app,
            threaded=True,
            ssl_context=context,
            request_handler=_KeepAliveHandler,
        )
        self.server.open_connections = _OpenConnections()  # type: ignore[attr-defined]
        self.port = self.server.server_port
        self.config.sites_base = f"{host}:{self.port}/sites"
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"https://{self.host}:{self.port}"

    @property
    def connection(self) -> LocalArmConnection:
        return LocalArmConnection(
            base_url=self.base_url,
            token=self.config.token,
            ca_file=str(self.ca_file),
            subscription_id=self.config.subscription_id,
        )

    def start(self) -> LocalArm:
        self._thread = threading.Thread(
            target=self.serve_forever, name="localarm-http", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.server.serve_forever(poll_interval=SHUTDOWN_POLL_S)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        # kept-alive connections end with the service: a client's next request on one is
        # refused as after any stop, never served by a stopped service
        self.server.open_connections.close_all()  # type: ignore[attr-defined]
        self.backend.runner.pool.shutdown(wait=True, cancel_futures=True)
        self.store.close()
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> LocalArm:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def describe(self) -> dict[str, Any]:
        """What a client needs, as JSON (printed by ``bicep-assets emulator serve``)."""
        return {
            "base_url": self.base_url,
            "token": self.config.token,
            "ca_file": str(self.ca_file),
            "subscription_id": self.config.subscription_id,
        }


def describe_json(arm: LocalArm) -> str:
    return json.dumps(arm.describe())
