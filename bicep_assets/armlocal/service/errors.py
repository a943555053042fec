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


def top_level_parent(resource_id: str) -> tuple[str, str] | None:
    """``(id, name)`` of the top-level resource a child resource lives under (``sa`` of
    ``sa/default/c1``) in a resource group; ``None`` for a top-level resource, an id that is
    not a resource's, and resources outside a resource group (a management group's children
    live in the management group hierarchy, not among the resources). An extension resource's
    scope is not looked at: ARM reports that scope missing in its own way."""
    try:
        parts = parse_resource_id(resource_id)
    except Exception:
        return None
    if len(parts.types) < 2 or parts.resource_group is None or "/providers/" in parts.scope.lower():
        return None
    parent_id = f"{parts.scope}/providers/{parts.namespace}/{parts.types[0]}/{parts.names[0]}"
    return parent_id, parts.names[0]


def parent_not_found(parent_name: str) -> dict[str, Any]:
    """ARM's answer (404) to a PUT of a child resource whose top-level parent does not exist:
    it checks the parent before the resource provider sees the request."""
    return {
        "code": "ParentResourceNotFound",
        "message": "Can not perform requested operation on nested resource. Parent resource "
        f"'{parent_name}' not found.",
    }
