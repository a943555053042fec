"""Runtime values of the template language that are not plain JSON."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class LambdaValue:
    """A ``lambda('x', 'y', body)`` value: parameter names and the unevaluated body node.

    Call it through ``ctx.invoke(lambda_value, [arg1, arg2])``.
    """

    params: tuple[str, ...]
    body: Any  # an expression AST node (engine.expressions.Node)

    def __repr__(self) -> str:
        return f"lambda({', '.join(self.params)})"
