"""Deterministic identifier functions: ``uniqueString()`` and ``guid()``.

Both hash their string arguments exactly as Azure does (see ``engine.hashing``), so names
derived from them locally match the names a real deployment would produce.
"""

from __future__ import annotations

from typing import Any

from ..errors import ExpressionError, type_name
from ..evaluator import EvalContext
from ..hashing import arm_guid, unique_string
from .registry import arm_function


def _strings(fn: str, args: tuple[Any, ...]) -> tuple[str, ...]:
    """Check that every argument is a string (ARM accepts no other type, not even null)."""
    for position, value in enumerate(args, start=1):
        if not isinstance(value, str):
            raise ExpressionError(
                f"The template language function '{fn}' expects its parameters to be of type "
                f"'String'. The parameter at position {position} is of type "
                f"'{type_name(value)}'."
            )
    return args


@arm_function("uniqueString", min_args=1, max_args=None)
def unique_string_fn(ctx: EvalContext, *args: Any) -> str:
    """``uniqueString(baseString, ...)``: a 13-character hash of the joined arguments."""
    return unique_string(*_strings("uniqueString", args))


@arm_function("guid", min_args=1, max_args=None)
def guid_fn(ctx: EvalContext, *args: Any) -> str:
    """``guid(baseString, ...)``: a name-based (v5) GUID of the joined arguments."""
    return arm_guid(*_strings("guid", args))
