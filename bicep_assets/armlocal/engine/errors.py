"""ARM-shaped errors raised by the template engine.

Every failure the engine reports is a :class:`TemplateError` carrying ARM's error code,
a message that says where (a path such as ``resources['sa'].properties.sku``) and what,
and optional nested ``details`` — the shape of ARM's ``{"error": {...}}`` body.
"""

from __future__ import annotations

from typing import Any


class TemplateError(Exception):
    """An error in a template, its parameters or an expression, shaped like ARM's errors."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "InvalidTemplate",
        target: str | None = None,
        details: list[TemplateError] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.target = target
        self.details = list(details or [])

    def to_arm(self) -> dict[str, Any]:
        """The ARM error object: ``{"code", "message", "target"?, "details"?}``."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.target:
            body["target"] = self.target
        if self.details:
            body["details"] = [d.to_arm() for d in self.details]
        return body

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class ExpressionError(TemplateError):
    """An error while evaluating one expression; the engine prefixes where it happened.

    Functions raise this with a message saying *what* is wrong (e.g. "The template function
    'substring' expects 2 or 3 arguments, got 1."); the evaluator wraps it with the
    location (e.g. "resources['sa'].properties.sku: ...") before it reaches the caller.
    """

    def __init__(self, message: str, *, code: str = "InvalidTemplate") -> None:
        super().__init__(message, code=code)
        self.located = False

    def at(self, location: str) -> ExpressionError:
        """Return this error with ``location`` prefixed, once (innermost location wins)."""
        if self.located or not location:
            return self
        located = ExpressionError(f"{location}: {self.message}", code=self.code)
        located.located = True
        return located


class DeploymentFailedError(TemplateError):
    """A template function ``fail()`` was called, or a deployment-time evaluation failed."""


def type_name(value: Any) -> str:
    """ARM's name for the JSON type of ``value`` (used in error messages)."""
    if value is None:
        return "Null"
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int):
        return "Integer"
    if isinstance(value, float):
        return "Float"
    if isinstance(value, str):
        return "String"
    if isinstance(value, list):
        return "Array"
    if isinstance(value, dict):
        return "Object"
    return type(value).__name__
