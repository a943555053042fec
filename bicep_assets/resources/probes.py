"""Post-deployment probes: HTTP and TCP checks with timeouts and retries, run concurrently.

verify turns every check — provisioning state and Resource Health through the ARM client,
HTTP and TCP probes here — into a :class:`Check` and runs them all with :func:`run_checks`:
in parallel, results in input order, a check that raises reported as a failed check. A probe
retries only on failure; every attempt is bounded by its timeout, so a probe takes at most
about ``timeout * (retries + 1) + retry_delay * retries``. Details carry status, reason and
timing, never a response body.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from typing import Any, get_args
from urllib.parse import urlsplit, urlunsplit

import dagster as dg
import requests
from pydantic import Field, PrivateAttr
from urllib3.util import Timeout

from bicep_assets.models import CheckResult

from ..failures import classify_failure
from .http_session import CaBundleNotFound, probe_session

log = logging.getLogger("bicep_assets.probes")

CHECK_KINDS: tuple[str, ...] = get_args(CheckResult.model_fields["kind"].annotation)
_NOT_RETRIED = (
    requests.exceptions.InvalidURL,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidSchema,
    requests.exceptions.InvalidHeader,
    CaBundleNotFound,
)
_SESSION_LOCK = threading.Lock()


@dataclass(frozen=True)
class Check:
    """One check for :func:`run_checks`: what it verifies (kind, target) and the call doing it."""

    kind: str
    target: str
    run: Callable[[], CheckResult]

    def __post_init__(self) -> None:
        if self.kind not in CHECK_KINDS:
            raise ValueError(f"Check kind '{self.kind}' is not one of {', '.join(CHECK_KINDS)}.")

    def __call__(self) -> CheckResult:
        return self.run()


@dataclass(frozen=True)
class _Attempt:
    ok: bool
    outcome: str  # "200 OK", "expected 200, got 503 Service Unavailable", "connection refused"
    retryable: bool = True


def http_probe(
    url: str,
    *,
    expected_status: int = 200,
    timeout_s: float = 10,
    retries: int = 3,
    retry_delay_s: float = 1.0,
    verify: bool | str = True,
    session: requests.Session | None = None,
    follow_redirects: bool = False,
) -> CheckResult:
    """GET ``url`` until it answers ``expected_status`` (at most ``retries`` + 1 attempts).

    ``verify`` is requests' (True: the default CA bundle, a path: that CA file or directory,
    False: no verification). Redirects are not followed unless ``follow_redirects``: the
    status checked is the one ``url`` itself answers. The body is never read.
    """
    _check_limits(timeout_s, retries, retry_delay_s)
    if not 100 <= expected_status <= 599:
        raise ValueError(
            f"HTTP probe of '{redact_url(url)}': expected status {expected_status} is not an "
            "HTTP status (100-599)."
        )
    own_session = session is None
    http = probe_session(pool_maxsize=1) if session is None else session
    try:
        return _with_retries(
            "http",
            redact_url(url),
            lambda: _http_attempt(http, url, expected_status, timeout_s, verify, follow_redirects),
            retries=retries,
            retry_delay_s=retry_delay_s,
        )
    finally:
        if own_session:
            http.close()


def tcp_probe(
    host: str,
    port: int,
    *,
    timeout_s: float = 5,
    retries: int = 3,
    retry_delay_s: float = 1.0,
) -> CheckResult:
    """Open a TCP connection to ``host:port`` (at most ``retries`` + 1 attempts), then close it."""
    _check_limits(timeout_s, retries, retry_delay_s)
    if not 0 < port < 65536:
        raise ValueError(f"TCP probe of '{host}': port {port} is not between 1 and 65535.")
    return _with_retries(
        "tcp",
        tcp_target(host, port),
        lambda: _tcp_attempt(host, port, timeout_s),
        retries=retries,
        retry_delay_s=retry_delay_s,
    )


def run_checks(checks: Sequence[Check], *, max_workers: int = 32) -> list[CheckResult]:
    """Run ``checks`` concurrently; results in input order, a raising check reported failed."""
    if max_workers < 1:
        raise ValueError(f"max_workers must be at least 1, got {max_workers}.")
    for index, check in enumerate(checks):
        if not isinstance(check, Check):
            raise TypeError(
                f"checks[{index}] is a {type(check).__name__}, not a Check: wrap the callable "
                "as Check(kind=..., target=..., run=...) so a failure can be reported by name."
            )
    if not checks:
        return []
    workers = min(max_workers, len(checks))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="check") as pool:
        futures = [pool.submit(_run_isolated, check) for check in checks]
        return [future.result() for future in futures]


class Probes(dg.ConfigurableResource):
    """HTTP/TCP probes for verify and the concurrent runner all verification checks use."""

    http_timeout_s: float = Field(10.0, gt=0, description="Timeout of one HTTP attempt.")
    tcp_timeout_s: float = Field(5.0, gt=0, description="Timeout of one TCP connect attempt.")
    retries: int = Field(3, ge=0, description="Attempts after the first one fails.")
    retry_delay_s: float = Field(1.0, ge=0, description="Pause between attempts.")
    max_workers: int = Field(32, ge=1, description="Checks running at the same time.")
    ca_bundle: str | None = Field(
        None,
        description="Extra CA file (PEM) trusted for HTTPS besides the default bundle, "
        "e.g. the local ARM's localarm-ca.pem.",
    )

    _session: requests.Session | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._session = probe_session(pool_maxsize=self.max_workers, extra_ca=self.ca_bundle)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self.close()

    def session(self) -> requests.Session:
        """The shared session of this run (made on first use outside a Dagster run)."""
        with _SESSION_LOCK:
            if self._session is None:
                self._session = probe_session(
                    pool_maxsize=self.max_workers, extra_ca=self.ca_bundle
                )
            return self._session

    def close(self) -> None:
        """Close the shared session's connections (Dagster does it after the run)."""
        with _SESSION_LOCK:
            if self._session is not None:
                self._session.close()
                self._session = None

    def http_check(
        self, url: str, *, expected_status: int = 200, timeout_s: float | None = None
    ) -> Check:
        """A :class:`Check` probing ``url`` with this resource's defaults."""
        session = self.session()
        timeout = self.http_timeout_s if timeout_s is None else timeout_s
        return Check(
            "http",
            redact_url(url),
            lambda: http_probe(
                url,
                expected_status=expected_status,
                timeout_s=timeout,
                retries=self.retries,
                retry_delay_s=self.retry_delay_s,
                session=session,
            ),
        )

    def tcp_check(self, host: str, port: int, *, timeout_s: float | None = None) -> Check:
        """A :class:`Check` connecting to ``host:port`` with this resource's defaults."""
        timeout = self.tcp_timeout_s if timeout_s is None else timeout_s
        return Check(
            "tcp",
            tcp_target(host, port),
            lambda: tcp_probe(
                host,
                port,
                timeout_s=timeout,
                retries=self.retries,
                retry_delay_s=self.retry_delay_s,
            ),
        )

    def http(
        self, url: str, *, expected_status: int = 200, timeout_s: float | None = None
    ) -> CheckResult:
        """Probe ``url`` now."""
        return self.http_check(url, expected_status=expected_status, timeout_s=timeout_s).run()

    def tcp(self, host: str, port: int, *, timeout_s: float | None = None) -> CheckResult:
        """Connect to ``host:port`` now."""
        return self.tcp_check(host, port, timeout_s=timeout_s).run()

    def run(self, checks: Sequence[Check]) -> list[CheckResult]:
        """Run ``checks`` with at most ``max_workers`` at a time (see :func:`run_checks`)."""
        return run_checks(checks, max_workers=self.max_workers)


def tcp_target(host: str, port: int) -> str:
    """How a TCP check names what it connects to: ``host:port``, ``[::1]:port`` for IPv6."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def redact_url(url: str) -> str:
    """``url`` with any password in it replaced by ``***`` (for targets and logs)."""
    try:
        parts = urlsplit(url)
    except ValueError:  # unparseable: the probe reports it as an invalid URL
        return url
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


def describe_error(exc: BaseException, timeout_s: float) -> str:
    """A short, safe description of why an attempt failed ("connection refused", ...)."""
    for cause in _causes(exc):
        if isinstance(cause, (requests.exceptions.Timeout, TimeoutError)):
            return f"timed out ({timeout_s:g} s)"
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, ConnectionResetError):
            return "connection reset"
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"TLS certificate not trusted ({cause.verify_message})"
        if isinstance(cause, ssl.SSLError):
            return f"TLS error ({cause.reason or cause})"
        if isinstance(cause, socket.gaierror):
            return "host name not resolved"
        if isinstance(cause, _NOT_RETRIED):
            return _short(str(cause))
    leaf = _causes(exc)[-1]  # the innermost cause names the problem best
    if isinstance(leaf, OSError) and leaf.strerror:
        return _short(leaf.strerror.lower())
    return _short(f"{type(leaf).__name__}: {leaf}")


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and what it wraps (causes, urllib3 ``reason``s, exception args), outside in."""
    seen: list[BaseException] = []
    pending = [exc]
    while pending and len(seen) < 20:
        current = pending.pop(0)
        if any(current is s for s in seen):
            continue
        seen.append(current)
        reason = getattr(current, "reason", None)
        inner: list[Any] = [reason, current.__cause__, *current.args, current.__context__]
        pending += [e for e in inner if isinstance(e, BaseException)]
    return seen


def _http_attempt(
    session: requests.Session,
    url: str,
    expected_status: int,
    timeout_s: float,
    verify: bool | str,
    follow_redirects: bool,
) -> _Attempt:
    try:
        response = session.get(
            url,
            timeout=Timeout(connect=timeout_s, read=timeout_s, total=timeout_s),
            verify=verify,
            stream=True,  # headers only: the body is never read
            allow_redirects=follow_redirects,
        )
    except _NOT_RETRIED as exc:
        return _Attempt(False, describe_error(exc, timeout_s), retryable=False)
    except (requests.RequestException, OSError) as exc:
        return _Attempt(False, describe_error(exc, timeout_s))
    with closing(response):
        status = f"{response.status_code} {_short(response.reason or '', 60)}".strip()
    if response.status_code == expected_status:
        return _Attempt(True, status)
    return _Attempt(False, f"expected {expected_status}, got {status}")


def _tcp_attempt(host: str, port: int, timeout_s: float) -> _Attempt:
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return _Attempt(True, "connected")
    except OSError as exc:
        return _Attempt(False, describe_error(exc, timeout_s))


def _with_retries(
    kind: str,
    target: str,
    attempt: Callable[[], _Attempt],
    *,
    retries: int,
    retry_delay_s: float,
) -> CheckResult:
    attempts = retries + 1
    number = 0
    while True:
        number += 1
        started = time.perf_counter()
        result = attempt()
        latency_ms = round((time.perf_counter() - started) * 1000, 1)
        if result.ok:
            detail = f"{result.outcome} in {latency_ms:.0f} ms"
            if number > 1:
                detail += f" (attempt {number} of {attempts})"
            return CheckResult(
                kind=kind, target=target, ok=True, detail=detail, latency_ms=latency_ms
            )
        log.debug("%s probe %s attempt %d/%d: %s", kind, target, number, attempts, result.outcome)
        if number >= attempts or not result.retryable:
            detail = result.outcome  # a malformed URL or CA path: retrying cannot help
            if result.retryable:
                detail += f" after {number} attempt{'s' if number != 1 else ''}"
            return CheckResult(
                kind=kind, target=target, ok=False, detail=detail, latency_ms=latency_ms
            )
        time.sleep(retry_delay_s)


def _run_isolated(check: Check) -> CheckResult:
    started = time.perf_counter()
    try:
        result = check.run()
        if isinstance(result, CheckResult):
            return result
        problem = f"check returned {type(result).__name__}, not a CheckResult"
        inconclusive = False
    except Exception as exc:
        log.warning("%s check of %s raised", check.kind, check.target, exc_info=True)
        problem = f"check raised {type(exc).__name__}: {exc}"
        inconclusive = classify_failure(exc).retryable
    latency_ms = round((time.perf_counter() - started) * 1000, 1)
    return CheckResult(
        kind=check.kind,
        target=check.target,
        ok=False,
        detail=_short(problem, 300),
        latency_ms=latency_ms,
        inconclusive=inconclusive,
    )


def _check_limits(timeout_s: float, retries: int, retry_delay_s: float) -> None:
    if timeout_s <= 0:
        raise ValueError(f"A probe's timeout must be positive, got {timeout_s}.")
    if retries < 0:
        raise ValueError(f"A probe's retries must be 0 or more, got {retries}.")
    if retry_delay_s < 0:
        raise ValueError(f"A probe's retry delay must be 0 or more, got {retry_delay_s}.")


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
