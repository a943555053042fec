"""HTTP/1.1 persistent connections, as ARM keeps them: requests follow one another on one
connection (a body the service never read does not spill into the next request), a chunked
body is served and its connection closed, and stopping the service closes the connections
it kept open. Driven with the standard library's ``http.client``, byte for byte."""

from __future__ import annotations

import http.client
import json
import ssl
from pathlib import Path

import pytest

from bicep_assets.armlocal import LocalArm, LocalArmConfig
from bicep_assets.armlocal.http import server

SUB = "00000000-0000-0000-0000-000000000000"
GROUPS = f"/subscriptions/{SUB}/resourcegroups"
VERSION = "api-version=2024-11-01"


def connect(arm: LocalArm) -> http.client.HTTPSConnection:
    context = ssl.create_default_context(cafile=str(arm.ca_file))
    return http.client.HTTPSConnection(arm.host, arm.port, context=context, timeout=10)


def send(
    conn: http.client.HTTPSConnection,
    method: str,
    path: str,
    body: bytes | None = None,
    token: str | None = None,
    **headers: str,
) -> tuple[http.client.HTTPResponse, bytes]:
    sent = {"Authorization": f"Bearer {token}", **headers} if token else dict(headers)
    conn.request(
        method, path, body=body, headers=sent, encode_chunked="chunked" in headers.values()
    )
    response = conn.getresponse()
    return response, response.read()


def served_after(conn: http.client.HTTPSConnection) -> bool:
    """Whether a request written on ``conn``'s socket as it is now gets any answer."""
    if conn.sock is None:
        return False
    try:
        conn.sock.sendall(b"GET / HTTP/1.1\r\nHost: localarm\r\n\r\n")
        return conn.sock.recv(64) != b""
    except OSError:  # ssl.SSLError is one
        return False


def test_requests_follow_one_another_on_one_connection(arm: LocalArm) -> None:
    token = arm.config.token
    conn = connect(arm)
    try:
        body = json.dumps({"location": "westeurope"}).encode()
        put, _ = send(conn, "PUT", f"{GROUPS}/rg-conn?{VERSION}", body, token)
        first = conn.sock
        head, head_body = send(conn, "HEAD", f"{GROUPS}/rg-conn?{VERSION}", token=token)
        get, got = send(conn, "GET", f"{GROUPS}/rg-conn?{VERSION}", token=token)
        assert conn.sock is first and first is not None  # never reopened
        assert put.status in (200, 201) and put.getheader("Connection") is None
        # ARM answers an existing group's HEAD with 204: no body, no length
        assert (head.status, head_body, head.getheader("Content-Length")) == (204, b"", None)
        assert get.status == 200 and json.loads(got)["name"] == "rg-conn"
        assert get.getheader("Content-Length") == str(len(got))
    finally:
        conn.close()


def test_a_body_the_service_did_not_read_does_not_spill_into_the_next_request(
    arm: LocalArm,
) -> None:
    """A request refused before its body is read (a wrong token): the body is drained, and
    the next request on the connection is read from its own first byte."""
    conn = connect(arm)
    try:
        body = json.dumps({"location": "westeurope", "pad": "x" * 100_000}).encode()
        refused, answer = send(conn, "PUT", f"{GROUPS}/rg-refused?{VERSION}", body, "wrong")
        assert refused.status == 401 and b"InvalidAuthenticationToken" in answer
        first = conn.sock
        listed, groups = send(conn, "GET", f"{GROUPS}?{VERSION}", token=arm.config.token)
        assert conn.sock is first
        assert listed.status == 200 and "rg-refused" not in groups.decode()
    finally:
        conn.close()


def test_a_body_left_unread_beyond_the_drain_limit_closes_its_connection(
    arm: LocalArm, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the app left of a body is read past up to a limit (64 MiB); beyond it the
    connection is not read to the end of the body but closed after the answer, so a client
    sending gigabytes does not hold the service. (The client may see the answer or, the
    unread bytes making the close a reset, only the reset — or TLS's EOF, while still
    sending.)"""
    monkeypatch.setattr(server, "DRAIN_LIMIT", 1000)
    conn = connect(arm)
    try:
        body = b"{" + b" " * 20_000 + b"}"
        try:
            refused, _ = send(conn, "PUT", f"{GROUPS}/rg-large?{VERSION}", body, "wrong")
            assert refused.status == 401 and refused.getheader("Connection") == "close"
        except (ConnectionError, ssl.SSLEOFError):
            pass
        assert not served_after(conn)
    finally:
        conn.close()


def test_a_chunked_body_is_served_and_its_connection_closed(arm: LocalArm) -> None:
    conn = connect(arm)
    try:
        chunks = iter([b'{"location": ', b'"westeurope"}'])
        put, answer = send(
            conn,
            "PUT",
            f"{GROUPS}/rg-chunked?{VERSION}",
            chunks,  # type: ignore[arg-type]
            arm.config.token,
            **{"Transfer-Encoding": "chunked", "Content-Type": "application/json"},
        )
        assert put.status in (200, 201), answer
        assert json.loads(answer)["location"] == "westeurope"
        assert put.getheader("Connection") == "close"
    finally:
        conn.close()


def test_stopping_the_service_closes_the_connections_it_kept_open(tmp_path: Path) -> None:
    arm = LocalArm(state=tmp_path / "arm.sqlite", config=LocalArmConfig()).start()
    conn = connect(arm)
    try:
        listed, _ = send(conn, "GET", f"{GROUPS}?{VERSION}", token=arm.config.token)
        assert listed.status == 200
    finally:
        arm.stop()
    try:  # the next request on the kept connection is not answered by a stopped service
        assert conn.sock is not None and not served_after(conn)
    finally:
        conn.close()


def test_an_app_that_raises_is_a_500_and_its_connection_closed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the app does not answer itself (a bug past its own error handling) is a 500 with
    nothing of the exception in it, and the connection closes after it, as werkzeug does."""
    arm = LocalArm(state=tmp_path / "arm.sqlite", config=LocalArmConfig()).start()

    def broken(environ: dict[str, object], start_response: object) -> list[bytes]:
        raise RuntimeError("a bug planted by the test")

    monkeypatch.setattr(arm.server, "app", broken)
    conn = connect(arm)
    try:
        answer, body = send(conn, "GET", f"{GROUPS}?{VERSION}", token=arm.config.token)
        assert (answer.status, body) == (500, b"")
        assert answer.getheader("Connection") == "close"
        assert not served_after(conn)
    finally:
        conn.close()
        arm.stop()
