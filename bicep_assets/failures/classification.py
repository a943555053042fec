"""Whether a failed step is worth retrying: one classifier, logic or environmental.

A **logic** failure is about what we asked for (an invalid template, a missing parameter, a
policy denial, a missing permission): retrying cannot fix it. An **environmental** failure is
about the moment (throttling, 5xx, timeouts, dropped connections, quota or capacity, another
operation holding the resource): the op's ``RetryPolicy`` retries it. :mod:`.hierarchy`
turns the verdict into the failure an op raises (``LogicFailure``/``EnvironmentalFailure``);
the tables of ARM codes and messages are in :mod:`.codes`.

How :func:`classify_failure` decides, first rule that applies:

1. ARM error codes, walking every level of ``details`` (a failed deployment raises
   ``DeploymentFailed`` whose details carry the real cause). A node with deciding details is
   judged by them, not by its own (wrapper) code; among causes a logic one wins. A code that
   no table knows (``BadRequest``, ``DeploymentFailed``) is judged by its message
   (``BadRequest: Rate limit exceeded`` is throttling). ``Conflict`` and
   ``OperationNotAllowed`` are judged by their message too: environmental only when it names
   another operation in progress (or a quota), logic otherwise.
2. Transport: a cut-off body, connection errors, timeouts → environmental; an untrusted TLS
   certificate, an invalid URL or a host name that does not exist → logic.
3. A long-running operation that ended Failed/Canceled with no ARM error (an operator
   cancelled the deployment) → logic.
4. A ``Retry-After`` header on an error response → environmental.
5. HTTP status: 408/429/500/502/503/504 → environmental, any other error status → logic.
6. An exception of another kind: its explicit cause (``raise ... from error``) decides, else it
   is a logic failure — a bug is not fixed by retrying.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import socket
import ssl
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import Enum
from http import HTTPStatus
from typing import Any

import requests
import urllib3.exceptions
from azure.core.exceptions import (
    HttpResponseError,
    IncompleteReadError,
    ODataV4Format,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.core.polling.base_polling import OperationFailed

from .codes import (
    CONFLICT_WAITS,
    ENVIRONMENTAL_CODE_PATTERNS,
    ENVIRONMENTAL_CODES,
    ENVIRONMENTAL_MESSAGES,
    LOGIC_CODES,
    LOGIC_MESSAGES,
    first_match,
)


class FailureKind(str, Enum):
    """Whether retrying can help: ``logic`` (no) or ``environmental`` (yes)."""

    LOGIC = "logic"
    ENVIRONMENTAL = "environmental"


@dataclass(frozen=True)
class Classification:
    """The verdict on one failure, with the ARM error that decided it and why."""

    kind: FailureKind
    arm_code: str | None
    arm_message: str | None
    http_status: int | None
    reason: str
    arm_target: str | None = None  # the resource or property the deciding ARM error names

    @property
    def retryable(self) -> bool:
        """Whether the op's RetryPolicy should run the step again."""
        return self.kind is FailureKind.ENVIRONMENTAL

    def describe(self) -> str:
        """A paragraph for a person: what failed, why it is (not) retried, what to do."""
        if self.retryable:
            head = "Environmental failure (retried by the op's RetryPolicy)"
            todo = (
                "If the retries run out: check Azure service health, quota and capacity for "
                "the region, or wait for the other operation, then run the job again."
            )
        elif self.arm_code or self.http_status is not None:
            head = "Logic failure (not retried)"
            todo = (
                "Fix the template, the parameters, the permissions or the policy named above, "
                "then run the job again."
            )
        else:
            head = "Logic failure (not retried)"
            todo = (
                "Fix the cause shown in the step's error and stack trace, then run the job again."
            )
        what = ": ".join(p for p in (self.arm_code, self.arm_message) if p)
        parts = [f"{head}: {what}" if what else head]
        if self.arm_target:
            parts.append(f"Target: {self.arm_target}.")
        if self.http_status is not None:
            parts.append(f"HTTP status {self.http_status}.")
        parts.append(f"Why: {self.reason}.")
        parts.append(todo)
        return " ".join(parts)


FailureInput = BaseException | Mapping[str, Any] | ODataV4Format
"""An exception, an ARM error mapping (``{"code", ...}``, ``{"error": {...}}``, or an SDK error
model such as ``deployment.properties.error``, which is a mapping) or an ``ODataV4Format``."""


# -- ARM error trees ------------------------------------------------------------------------
@dataclass(frozen=True)
class _ArmError:
    code: str | None
    message: str | None
    target: str | None
    details: tuple[_ArmError, ...]


def _arm_error_from_mapping(data: Mapping[str, Any]) -> _ArmError | None:
    inner = data.get("error")
    if isinstance(inner, Mapping):
        data = inner
    details = tuple(
        node
        for item in data.get("details") or ()
        if isinstance(item, Mapping) and (node := _arm_error_from_mapping(item)) is not None
    )
    code, message, target = (data.get(key) for key in ("code", "message", "target"))
    if code is None and message is None and not details:
        return None
    return _ArmError(
        None if code is None else str(code),
        None if message is None else str(message),
        None if target is None else str(target),
        details,
    )


def _arm_error_from_odata(error: ODataV4Format) -> _ArmError:
    return _ArmError(
        error.code,
        error.message,
        error.target,
        tuple(_arm_error_from_odata(d) for d in error.details or ()),
    )


def _arm_error_from_response(error: HttpResponseError) -> _ArmError | None:
    """The ARM error of an HTTP error: parsed by azure-core, else read from the body."""
    if isinstance(error.error, ODataV4Format):
        return _arm_error_from_odata(error.error)
    if error.response is None:
        return None
    try:
        body = json.loads(error.response.text())
    except Exception:  # an unreadable body (stream consumed, not JSON) is no ARM error
        return None
    return _arm_error_from_mapping(body) if isinstance(body, Mapping) else None


def _status_from_mapping(data: Mapping[str, Any]) -> int | None:
    """An HTTP status stored beside an ARM error (a deployment operation's ``statusCode``
    is a .NET ``HttpStatusCode`` name such as ``TooManyRequests``)."""
    for key in ("statusCode", "status_code", "status"):
        value = data.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            if value.isdigit():
                return int(value)
            wanted = value.replace("_", "").lower()
            for status in HTTPStatus:
                if status.name.replace("_", "").lower() == wanted:
                    return int(status)
    return None


@dataclass(frozen=True)
class _Verdict:
    kind: FailureKind
    node: _ArmError
    reason: str


def _judge(node: _ArmError, parents: tuple[str, ...] = ()) -> _Verdict | None:
    """A node is judged by its details when any of them decides (a logic cause wins), else
    by its own code, else by its message."""
    below = (*parents, node.code or "(no code)")
    verdicts = [v for child in node.details if (v := _judge(child, below)) is not None]
    if verdicts:
        return next((v for v in verdicts if v.kind is FailureKind.LOGIC), verdicts[0])
    where = f" in the details of {' → '.join(parents)}" if parents else ""
    message = node.message or ""
    if node.code:
        key = node.code.lower()
        if key == "operationnotallowed":  # ARM's code for both quota and SKU/state refusals
            if first_match(message, ENVIRONMENTAL_MESSAGES) == "a quota exceeded":
                return _Verdict(
                    FailureKind.ENVIRONMENTAL,
                    node,
                    f"ARM code {node.code}{where} is environmental: the request exceeds a quota",
                )
            why = "the operation is not allowed for this SKU, resource state or scope"
            return _Verdict(FailureKind.LOGIC, node, f"ARM code {node.code}{where} is logic: {why}")
        if key == "conflict":  # waiting helps only when another operation holds the resource
            if (label := first_match(message, CONFLICT_WAITS)) is not None:
                return _Verdict(
                    FailureKind.ENVIRONMENTAL,
                    node,
                    f"ARM code {node.code}{where} reports {label}, which is environmental",
                )
            why = (
                "the request does not fit the resource's current state (a name taken, a change "
                "not allowed now) and names no operation in progress to wait for"
            )
            return _Verdict(FailureKind.LOGIC, node, f"ARM code {node.code}{where} is logic: {why}")
        for kind, table in (
            (FailureKind.LOGIC, LOGIC_CODES),
            (FailureKind.ENVIRONMENTAL, ENVIRONMENTAL_CODES),
        ):
            if key in table:
                why = table[key]
                return _Verdict(kind, node, f"ARM code {node.code}{where} is {kind.value}: {why}")
        if (label := first_match(key, ENVIRONMENTAL_CODE_PATTERNS)) is not None:
            return _Verdict(
                FailureKind.ENVIRONMENTAL,
                node,
                f"ARM code {node.code}{where} names {label}, which is environmental",
            )
    for kind, patterns in (
        (FailureKind.LOGIC, LOGIC_MESSAGES),
        (FailureKind.ENVIRONMENTAL, ENVIRONMENTAL_MESSAGES),
    ):
        if (label := first_match(message, patterns)) is not None:
            return _Verdict(
                kind,
                node,
                f"the message of ARM error {node.code or '(no code)'}{where} reports {label}, "
                f"which is {kind.value}",
            )
    return None


# -- transport ------------------------------------------------------------------------------
_TRANSIENT_ERRNOS = {
    errno.ECONNRESET,
    errno.ECONNREFUSED,
    errno.ECONNABORTED,
    errno.ETIMEDOUT,
    errno.EHOSTUNREACH,
    errno.ENETUNREACH,
    errno.ENETDOWN,
    errno.ENETRESET,
    errno.EPIPE,
}


def _links(error: BaseException) -> Iterator[BaseException]:
    """``error`` and the exceptions it wraps — azure-core's inner exception, urllib3's reason,
    exception arguments — depth first, each once. Causes (``raise ... from``) are followed by
    :func:`_classify_exception`, which says so in the reason; implicit contexts never are (an
    error raised while handling an earlier, retried one is not caused by it)."""
    seen: set[int] = set()
    stack = [error]
    while stack and len(seen) < 32:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        nested = [
            getattr(current, "inner_exception", None),
            getattr(current, "reason", None),
            *current.args,
        ]
        stack.extend(n for n in reversed(nested) if isinstance(n, BaseException))


def _configuration_problem(error: BaseException) -> str | None:
    """Why a transport error is really a configuration error (retrying cannot fix it)."""
    for link in _links(error):
        if isinstance(link, ssl.SSLCertVerificationError):
            return (
                f"the server's TLS certificate is not trusted ({link.verify_message}): give the "
                "client the right CA bundle (connection_verify) or fix the certificate"
            )
        if isinstance(
            link,
            requests.exceptions.InvalidURL
            | requests.exceptions.MissingSchema
            | requests.exceptions.InvalidSchema
            | urllib3.exceptions.LocationParseError,
        ):
            return f"the endpoint URL is not valid ({link}): check the configured endpoint"
        if isinstance(link, socket.gaierror) and link.errno != socket.EAI_AGAIN:
            return f"the host name does not resolve ({link}): check the configured endpoint"
    return None


def _transport_problem(error: BaseException) -> str | None:
    """What went wrong on the wire, when ``error`` is a transient network failure."""
    for link in _links(error):
        if isinstance(link, IncompleteReadError):
            return "the response body was cut off mid-transfer"
        if isinstance(link, ServiceRequestError | ServiceResponseError):
            side = "sending the request" if isinstance(link, ServiceRequestError) else "reading"
            return f"the connection failed while {side} ({type(link).__name__}: {link})"
        if isinstance(
            link,
            requests.exceptions.ConnectionError
            | requests.exceptions.Timeout
            | requests.exceptions.ChunkedEncodingError
            | urllib3.exceptions.TimeoutError
            | urllib3.exceptions.ProtocolError
            | urllib3.exceptions.ProxyError
            | TimeoutError
            | ConnectionError,
        ):
            return f"a network error ({type(link).__name__}: {link})"
        if isinstance(link, socket.gaierror) and link.errno == socket.EAI_AGAIN:
            return f"a temporary name resolution failure ({link})"
        if isinstance(link, OSError) and link.errno in _TRANSIENT_ERRNOS:
            return f"a network error ({errno.errorcode.get(link.errno, link.errno)}: {link})"
    return None


# -- classification -------------------------------------------------------------------------
_TRANSIENT_STATUSES = {408, 429, 500, 502, 503, 504}


def _from_arm_error(node: _ArmError | None, status: int | None) -> Classification | None:
    """The verdict of an ARM error tree's codes and messages."""
    if node is None or (verdict := _judge(node)) is None:
        return None
    n = verdict.node
    return Classification(verdict.kind, n.code, n.message, status, verdict.reason, n.target)


def _root_cause(node: _ArmError) -> tuple[_ArmError, str]:
    """The innermost ARM error along the first details, and the chain of codes to it."""
    chain = [node.code or "(no code)"]
    while node.details:
        node = node.details[0]
        chain.append(node.code or "(no code)")
    return node, " → ".join(chain)


def _from_status(
    node: _ArmError | None,
    status: int | None,
    *,
    retry_after: bool = False,
    message: str | None = None,
) -> Classification:
    """The verdict of an HTTP error status (and a ``Retry-After`` header) when no ARM code or
    message decides; with no error status either, a logic failure."""
    cause, chain = _root_cause(node) if node else (_ArmError(None, None, None, ()), "")
    undecided = f"no rule knows ARM code {chain}" if chain else "no ARM error"
    if status is not None and status >= 400:
        if retry_after:
            kind = FailureKind.ENVIRONMENTAL
            reason = f"{undecided}; the {status} response carries Retry-After: ARM asks to retry"
        elif status in _TRANSIENT_STATUSES:
            kind = FailureKind.ENVIRONMENTAL
            reason = f"{undecided}; HTTP status {status} is a transient server condition"
        else:
            kind = FailureKind.LOGIC
            reason = f"{undecided}; HTTP status {status} rejects the request itself"
    else:
        status = None
        kind = FailureKind.LOGIC
        reason = f"{undecided} and there is no HTTP error status: treated as a logic failure"
    text = cause.message if node else message
    return Classification(kind, cause.code, text, status, reason, cause.target)


def _decide(error: BaseException) -> Classification | None:
    """The verdict on one exception, or None when no rule knows it."""
    members = getattr(error, "exceptions", None)  # an ExceptionGroup (3.11+ or backport)
    if isinstance(members, tuple | list) and all(isinstance(m, BaseException) for m in members):
        verdicts = [c for e in members if (c := _decide(e)) is not None]
        return next((v for v in verdicts if not v.retryable), verdicts[0] if verdicts else None)
    if isinstance(error, HttpResponseError):
        status = error.status_code if error.status_code and error.status_code >= 400 else None
        node = _arm_error_from_response(error)
        if (found := _from_arm_error(node, status)) is not None:
            return found
        if (problem := _transport_problem(error)) is not None:
            return Classification(FailureKind.ENVIRONMENTAL, None, None, status, problem)
        if node is None and error.message:
            found = _from_arm_error(_ArmError(None, error.message, None, ()), status)
            if found is not None:
                return found
        if node is None and isinstance(error.inner_exception, OperationFailed):
            reason = (
                "the long-running operation ended Failed or Canceled without an ARM error: "
                "a cancelled deployment is not retried"
            )
            return Classification(FailureKind.LOGIC, None, str(error.inner_exception), None, reason)
        headers = error.response.headers if error.response is not None else None
        retry_after = any(k.lower() == "retry-after" for k in headers or ())
        return _from_status(node, status, retry_after=retry_after, message=error.message)
    if isinstance(error, requests.exceptions.HTTPError) and error.response is not None:
        return _from_status(None, error.response.status_code)
    if (problem := _configuration_problem(error)) is not None:
        return Classification(FailureKind.LOGIC, None, None, None, problem)
    if (problem := _transport_problem(error)) is not None:
        return Classification(FailureKind.ENVIRONMENTAL, None, None, None, problem)
    return None


def classify_failure(error: FailureInput) -> Classification:
    """Decide whether ``error`` is a logic failure (not retried) or an environmental one."""
    if isinstance(error, BaseException):
        return _classify_exception(error)
    if isinstance(error, ODataV4Format):
        node, status = _arm_error_from_odata(error), None
    elif isinstance(error, Mapping):
        node, status = _arm_error_from_mapping(error), _status_from_mapping(error)
    else:
        raise TypeError(
            "classify_failure takes an exception, an ARM error mapping or an ODataV4Format, "
            f"not {type(error).__name__}"
        )
    return _from_arm_error(node, status) or _from_status(node, status)


def _classify_exception(error: BaseException) -> Classification:
    """An exception's verdict; an unknown exception is judged by its explicit causes."""
    cause: BaseException | None = error
    seen: set[int] = set()
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if (verdict := _decide(cause)) is not None:
            if cause is error:
                return verdict
            reason = f"{verdict.reason} (the cause of {type(error).__name__})"
            return dataclasses.replace(verdict, reason=reason)
        cause = getattr(cause, "inner_exception", None) or cause.__cause__
    reason = (
        f"{type(error).__name__} is not an ARM, HTTP or network error: treated as a logic "
        "failure (a bug is not fixed by retrying)"
    )
    return Classification(FailureKind.LOGIC, None, str(error) or None, None, reason)
