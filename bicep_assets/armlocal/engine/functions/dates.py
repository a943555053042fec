"""Date functions: utcNow, newGuid, dateTimeAdd, dateTimeFromEpoch, dateTimeToEpoch.

``utcNow()`` and ``newGuid()`` are allowed only in a parameter's ``defaultValue`` (they
return a different value on every call); the clock and the GUIDs come from the context, so
one deployment sees one fixed "now". Format strings are .NET's, with the invariant culture
(see ``dotnet_datetime``).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from ..errors import ExpressionError
from ..evaluator import EvalContext
from .dotnet_datetime import ISO_FORMAT, format_datetime, parse_datetime, parse_duration
from .registry import arm_function, expect_int, expect_str

DEFAULT_UTCNOW_FORMAT = "yyyyMMddTHHmmssZ"
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_SECONDS_MIN = -62135596800  # 0001-01-01T00:00:00Z
_SECONDS_MAX = 253402300799  # 9999-12-31T23:59:59Z


def _only_in_parameter_default(ctx: EvalContext, fn: str) -> None:
    if not getattr(ctx, "in_parameter_default", False):
        raise ExpressionError(
            f"The template function '{fn}' is not expected at this location. The function can "
            "only be used with parameter default values. Please see "
            "https://aka.ms/arm-template-expressions for usage details."
        )


def _format(fn: str, value: datetime, fmt: str) -> str:
    try:
        return format_datetime(value, fmt)
    except ValueError as exc:
        raise ExpressionError(
            f"The template language function '{fn}' could not format the date/time with the "
            f"format string '{fmt}': {exc}. Use a .NET standard format (such as 'u', 'd', "
            "'o') or a custom format (such as 'yyyy-MM-dd')."
        ) from None


def _parse(fn: str, text: str, position: int) -> datetime:
    try:
        return parse_datetime(text)
    except ValueError:
        raise ExpressionError(
            f"The template language function '{fn}' expects its parameter {position + 1} to be "
            f"a date/time in ISO 8601 format (such as '2020-04-07T14:53:14Z'). The provided "
            f"value '{text}' is not valid."
        ) from None


@arm_function("utcNow", min_args=0, max_args=1)
def utc_now(ctx: EvalContext, fmt: Any = DEFAULT_UTCNOW_FORMAT) -> str:
    """The deployment's current UTC time, formatted (default ``yyyyMMddTHHmmssZ``)."""
    _only_in_parameter_default(ctx, "utcNow")
    fmt = expect_str("utcNow", fmt, 0)
    return _format("utcNow", ctx.utc_now().astimezone(timezone.utc), fmt)


@arm_function("newGuid")
def new_guid(ctx: EvalContext) -> str:
    """A new GUID (``ctx.new_guid()``), allowed only in a parameter's default value."""
    _only_in_parameter_default(ctx, "newGuid")
    return ctx.new_guid()


@arm_function("dateTimeAdd", min_args=2, max_args=3)
def date_time_add(ctx: EvalContext, base: Any, duration: Any, fmt: Any = None) -> str:
    """``base`` plus an ISO 8601 ``duration`` (P1Y = 365 days, P1M = 30 days), formatted.

    Without ``fmt`` the result is ISO 8601 in UTC, e.g. ``2024-01-01T00:00:00Z``.
    """
    base = expect_str("dateTimeAdd", base, 0)
    duration = expect_str("dateTimeAdd", duration, 1)
    if fmt is not None:
        fmt = expect_str("dateTimeAdd", fmt, 2)
    start = _parse("dateTimeAdd", base, 0)
    try:
        delta = parse_duration(duration)
    except ValueError:
        raise ExpressionError(
            "The template language function 'dateTimeAdd' expects its parameter 2 to be a "
            "duration in ISO 8601 format (such as 'P3Y', '-P9D' or 'PT1H'). The provided "
            f"value '{duration}' is not valid."
        ) from None
    try:
        result = start + delta
    except OverflowError:
        raise ExpressionError(
            f"The template language function 'dateTimeAdd' cannot add '{duration}' to "
            f"'{base}': the result is outside the supported range of years 1 to 9999."
        ) from None
    return _format("dateTimeAdd", result, ISO_FORMAT if fmt is None else fmt)


@arm_function("dateTimeFromEpoch", min_args=1)
def date_time_from_epoch(ctx: EvalContext, epoch_time: Any) -> str:
    """The ISO 8601 UTC date/time ``epoch_time`` seconds after 1970-01-01T00:00:00Z."""
    seconds = expect_int("dateTimeFromEpoch", epoch_time, 0)
    if not _SECONDS_MIN <= seconds <= _SECONDS_MAX:
        raise ExpressionError(
            f"The template language function 'dateTimeFromEpoch' cannot convert '{seconds}': "
            f"the epoch time must be between {_SECONDS_MIN} and {_SECONDS_MAX} seconds "
            "(years 1 to 9999)."
        )
    return _format("dateTimeFromEpoch", EPOCH + timedelta(seconds=seconds), ISO_FORMAT)


@arm_function("dateTimeToEpoch", min_args=1)
def date_time_to_epoch(ctx: EvalContext, date_time: Any) -> int:
    """Whole seconds from 1970-01-01T00:00:00Z to an ISO 8601 date/time (rounded down)."""
    text = expect_str("dateTimeToEpoch", date_time, 0)
    value = _parse("dateTimeToEpoch", text, 0)
    delta = value - EPOCH  # normalised: whole days (may be negative) + non-negative seconds
    return delta.days * 86400 + delta.seconds
