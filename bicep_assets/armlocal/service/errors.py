"""The errors the local ARM's operations answer with, shaped as ARM's error responses.

Operations raise :class:`ArmHttpError` for anything a client did wrong; the HTTP layer renders it
as ARM does: ``{"error": {"code", "message", "target"?, "details"?}}`` with the status.
"""

from __future__ import annotations

from typing import Any

from ..engine.resource_ids import parse_resource_id


class ArmHttpError(Exception):
    """An ARM-shaped error response."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        target: str | None = None,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.target = target
        self.details = details or []
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.target:
            error["target"] = self.target
        if self.details:
            error["details"] = self.details
        return {"error": error}


class TemplateRejected(ArmHttpError):
    """A request ARM refuses for its template — the engine's ``InvalidTemplate``, the
    preflight's ``InvalidTemplateDeployment`` — rather than for the request itself (its body,
    its scope). Validate and the PUT answer it as a 400; what-if reports it in its result
    (``WhatIfOperationResult.error``, status ``Failed``), as ARM's what-if does."""

    @classmethod
    def from_error(cls, error: ArmHttpError) -> TemplateRejected:
        return cls(
            error.status,
            error.code,
            error.message,
            target=error.target,
            details=error.details,
            headers=error.headers,
        )


def group_not_found(name: str) -> ArmHttpError:
    return ArmHttpError(
        404, "ResourceGroupNotFound", f"Resource group '{name}' could not be found."
    )


def resource_not_found(resource_id: str) -> ArmHttpError:
    try:
        parts = parse_resource_id(resource_id)
        where = f" under resource group '{parts.resource_group}'" if parts.resource_group else ""
        what = f"{parts.resource_type}/{parts.name}"
    except Exception:
        where, what = "", resource_id
    return ArmHttpError(
        404,
        "ResourceNotFound",
        f"The Resource '{what}'{where} was not found. For more details please go to "
        "https://aka.ms/ARMResourceNotFoundFix",
    )
