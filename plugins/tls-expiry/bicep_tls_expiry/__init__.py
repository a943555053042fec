"""tls_expiry: the TLS certificate a host presents is trusted and valid for ``min_days`` more.

The chain and the host name are verified with the system's CA bundle plus the one verify
trusts (``CheckContext.ca_bundle``: the local ARM's CA on the local target), so an untrusted
or mismatched certificate fails the check too.
"""

from __future__ import annotations

import re
import socket
import ssl
import time
from datetime import datetime, timezone

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bicep_assets.check_plugins import CheckContext, CheckOutcome, CustomCheck

_ENDPOINT = re.compile(r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+)(?::(?P<port>\d{1,5}))?(/.*)?")


class TlsExpiryConfig(BaseModel):
    """The keys of a ``check: tls_expiry`` entry."""

    model_config = ConfigDict(extra="forbid")

    host: str = Field(min_length=1)  # "name", "name:port", or "name[:port]/path" (path ignored)
    port: int = Field(443, ge=1, le=65535)  # used when host names no port
    min_days: int = Field(14, ge=0)

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        if "{" in value:  # an {outputs.NAME} placeholder, rendered before the check runs
            return value
        if _ENDPOINT.fullmatch(value.strip()) is None:
            raise ValueError(f"'{value}' is not a host name or address (no scheme, no spaces)")
        return value

    def endpoint(self) -> tuple[str, int]:
        match = _ENDPOINT.fullmatch(self.host.strip())
        if match is None:
            raise ValueError(f"'{self.host}' is not a host name or address")
        return match["host"].strip("[]"), int(match["port"]) if match["port"] else self.port


class TlsExpiryCheck(CustomCheck):
    """Connect, verify the certificate, and compare its expiry with ``min_days``."""

    Config = TlsExpiryConfig

    def __call__(self, context: CheckContext) -> CheckOutcome:
        config: TlsExpiryConfig = self.config  # type: ignore[assignment]
        host, port = config.endpoint()
        target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        tls = ssl.create_default_context()
        if context.ca_bundle:
            tls.load_verify_locations(cafile=context.ca_bundle)
        started = time.perf_counter()
        try:
            with (
                socket.create_connection((host, port), timeout=context.timeout_s) as raw,
                tls.wrap_socket(raw, server_hostname=host) as conn,
            ):
                cert = conn.getpeercert()
        except ssl.SSLCertVerificationError as exc:
            detail = f"certificate not trusted ({exc.verify_message})"
            return CheckOutcome(False, detail, None, target)
        except (OSError, ssl.SSLError) as exc:
            return CheckOutcome(False, f"no TLS connection: {_reason(exc)}", None, target)
        latency = round((time.perf_counter() - started) * 1000, 1)
        expires = ssl.cert_time_to_seconds(cert["notAfter"])
        days_left = (expires - time.time()) / 86400
        until = datetime.fromtimestamp(expires, tz=timezone.utc).strftime("%Y-%m-%d")
        ok = days_left >= config.min_days
        verdict = "at least" if ok else "fewer than"
        return CheckOutcome(
            ok,
            f"certificate valid until {until}: {int(days_left)} day(s) left, {verdict} "
            f"{config.min_days} required",
            latency,
            target,
        )


def _reason(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return "host name not resolved"
    return f"{type(exc).__name__}: {exc}"
