"""Who is calling: the principal (object id) of the bearer token of the request being served.

ARM knows the caller of every request from its token's ``oid`` claim; templates read it with
``deployer()`` (Microsoft's "Deployment functions for ARM templates": ``objectId``,
``tenantId``, ``userPrincipalName`` of the principal running the deployment). The HTTP layer
sets it for the time of one request (the server's own static token is the local ARM's system
identity, the principal of a token issued without a client id); ``None`` outside a request.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_CALLER: ContextVar[str | None] = ContextVar("localarm_caller", default=None)


def caller_object_id() -> str | None:
    """The object id of the request's principal (``None``: not serving a request)."""
    return _CALLER.get()


@contextmanager
def calling_as(object_id: str | None) -> Iterator[None]:
    """Serve what runs inside as the principal ``object_id``."""
    token = _CALLER.set(object_id)
    try:
        yield
    finally:
        _CALLER.reset(token)
