"""ARM's REST conventions: routes, request bodies, error and long-running responses.

Handlers raise :class:`~bicep_assets.armlocal.service.errors.ArmHttpError` for anything a
client did wrong; :func:`error_response` renders it as ARM does.
Routes are regular expressions matched case-insensitively (the SDK sends ``resourcegroups``
in lower case; ARM paths are case-insensitive) with names kept as the client spelled them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Request, Response

from ..engine.json_input import ArmJsonError, ArmJsonTooDeep, read_arm_json
from ..service.errors import ArmHttpError

MAX_BODY_BYTES = 4 * 1024 * 1024  # ARM's limit for a request (template + parameters)


class ArmRequest(Request):
    """A request whose body is read only up to one byte past ARM's limit, chunked bodies
    too (werkzeug refuses a larger Content-Length, and stops reading a chunked stream there),
    so a body is never held whole just to be refused."""

    max_content_length = MAX_BODY_BYTES + 1


# where the server puts the caller's principal (its token's oid) for the handlers
PRINCIPAL_KEY = "localarm.principal"


def principal_of(request: Request) -> str:
    return str(request.environ.get(PRINCIPAL_KEY, ""))


API_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview|-beta|-alpha|-privatepreview)?$")


def _status_line(status: int) -> str | int:
    """``404 Not Found``, as Azure's front door writes reason phrases (Werkzeug's own are in
    capitals, which clients such as ``az rest`` print: ``NOT FOUND(...)``)."""
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return status


def json_response(
    body: Any, status: int = 200, *, headers: dict[str, str] | None = None
) -> Response:
    data = b"" if body is None else json.dumps(body).encode("utf-8")
    response = Response(data, status=_status_line(status), headers=headers or {})
    if body is not None:
        response.content_type = "application/json; charset=utf-8"
    return response


def error_response(error: ArmHttpError) -> Response:
    return json_response(error.body(), error.status, headers=error.headers)


def empty_response(status: int, *, headers: dict[str, str] | None = None) -> Response:
    return Response(b"", status=_status_line(status), headers=headers or {})


def read_json(request: Request, *, required: bool = True) -> Any:
    """The request's JSON body, or an ARM error saying what is wrong with it."""
    try:
        data = request.get_data(cache=True)
        too_large = len(data) > MAX_BODY_BYTES
    except RequestEntityTooLarge:
        too_large = True
    if too_large:
        length = request.content_length
        raise ArmHttpError(
            413,
            "RequestContentTooLarge",
            f"The request content size exceeds the maximum allowed size of {MAX_BODY_BYTES} "
            "bytes" + (f" (it is {length} bytes)." if length is not None else "."),
        )
    if not data:
        if required:
            raise ArmHttpError(400, "InvalidRequestContent", "The request content is missing.")
        return None
    mimetype = (request.mimetype or "").lower()
    if mimetype and mimetype != "application/json" and not mimetype.endswith("+json"):
        raise ArmHttpError(
            415,
            "UnsupportedMediaType",
            f"The content media type '{request.mimetype}' is not supported. Only "
            "'application/json' is supported.",
        )
    try:
        return read_arm_json(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        reason = f"the content is not UTF-8 (byte {exc.start})"
    except ArmJsonTooDeep as exc:
        reason = str(exc)
    except ArmJsonError as exc:  # what ARM's own reader refuses, with line and column
        reason = str(exc)
    raise ArmHttpError(
        400,
        "InvalidRequestContent",
        f"The request content was invalid and could not be deserialized: {reason}.",
    )


def require_object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ArmHttpError(
            400,
            "InvalidRequestContent",
            f"The request content was invalid: {what} must be a JSON object.",
        )
    return value


Handler = Callable[..., Response]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    operation: str  # an ARM-like operation name, e.g. "Deployments_CreateOrUpdate"


class Router:
    """Method + path regex → handler, case-insensitive, first match wins."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, method: str, pattern: str, handler: Handler, operation: str) -> None:
        compiled = re.compile(f"^{pattern}/?$", re.IGNORECASE)
        self.routes.append(Route(method.upper(), compiled, handler, operation))

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        known_path = False
        for route in self.routes:
            found = route.pattern.match(path)
            if found is None:
                continue
            known_path = True
            if route.method == method or (method == "HEAD" and route.method == "HEAD"):
                return route, found.groupdict()
        if known_path:
            raise ArmHttpError(
                405,
                "MethodNotAllowed",
                f"The HTTP method '{method}' is not supported for the path '{path}'.",
            )
        return None


SEGMENT = r"[^/]+"
SUB = rf"/subscriptions/(?P<sub>{SEGMENT})"
RG = rf"{SUB}/resourcegroups/(?P<rg>{SEGMENT})"
