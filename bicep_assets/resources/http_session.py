"""The HTTP session probes share: a pool sized for the concurrency and TLS trust built once.

requests builds a fresh ``SSLContext`` and loads the whole CA bundle for every new TLS
connection (tens of milliseconds of CPU each), which dominates a batch of HTTPS probes.
:func:`probe_session` mounts an adapter that builds one context per trust setting and
shares it between connections, trusting the default bundle plus an optional extra CA
file (the local ARM's CA, a corporate CA). Cookies are never stored, so one probe's
``Set-Cookie`` cannot travel with another probe.
"""

from __future__ import annotations

import os
import ssl
import threading
from http.cookiejar import DefaultCookiePolicy
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from requests.utils import DEFAULT_CA_BUNDLE_PATH

USER_AGENT = "bicep-assets-probe/1"


class CaBundleNotFound(OSError):
    """A CA bundle or extra CA file that trust was configured with does not exist."""


class SharedTlsAdapter(HTTPAdapter):
    """An adapter whose HTTPS connections share one prebuilt ``SSLContext`` per trust setting."""

    def __init__(self, *, pool_maxsize: int, extra_ca: str | None = None) -> None:
        super().__init__(pool_connections=pool_maxsize, pool_maxsize=pool_maxsize)
        self.extra_ca = extra_ca
        self._contexts: dict[str, ssl.SSLContext] = {}
        self._lock = threading.Lock()

    def ssl_context(self, verify: bool | str) -> ssl.SSLContext:
        """The context trusting ``verify`` (True: the default bundle; a path) and the extra CA."""
        base = DEFAULT_CA_BUNDLE_PATH if verify is True else str(verify)
        with self._lock:
            context = self._contexts.get(base)
            if context is None:
                context = build_ssl_context(base, self.extra_ca)
                self._contexts[base] = context
            return context

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: Any, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        if host_params["scheme"] == "https" and verify:
            pool_kwargs.pop("ca_certs", None)
            pool_kwargs.pop("ca_cert_dir", None)
            pool_kwargs["ssl_context"] = self.ssl_context(verify)
        return host_params, pool_kwargs

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        super().cert_verify(conn, url, verify, cert)
        if url.lower().startswith("https") and verify:
            # the pool's shared context already trusts the right CAs; loading the bundle
            # again on every connection is the cost this adapter exists to avoid
            conn.ca_certs = None
            conn.ca_cert_dir = None


def build_ssl_context(base: str, extra_ca: str | None = None) -> ssl.SSLContext:
    """A verifying client context trusting ``base`` (CA file or directory) and ``extra_ca``."""
    if not os.path.exists(base):
        raise CaBundleNotFound(
            f"CA bundle '{base}' does not exist: point verify (or REQUESTS_CA_BUNDLE) at a CA file."
        )
    if os.path.isdir(base):
        context = ssl.create_default_context(capath=base)
    else:
        context = ssl.create_default_context(cafile=base)
    if extra_ca:
        if not os.path.isfile(extra_ca):
            raise CaBundleNotFound(
                f"CA file '{extra_ca}' does not exist: set the probes' ca_bundle to a PEM file."
            )
        context.load_verify_locations(cafile=extra_ca)
    return context


def probe_session(*, pool_maxsize: int = 32, extra_ca: str | None = None) -> requests.Session:
    """A session for concurrent probes: ``pool_maxsize`` connections per host, shared TLS."""
    session = requests.Session()
    adapter = SharedTlsAdapter(pool_maxsize=pool_maxsize, extra_ca=extra_ca)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    session.headers["User-Agent"] = USER_AGENT
    return session
