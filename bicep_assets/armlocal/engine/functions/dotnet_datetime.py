"""Date/time text as ARM's date functions read and write it (.NET, invariant culture).

ARM runs on .NET: ``utcNow(format)`` and ``dateTimeAdd(base, duration, format)`` take .NET
*standard* (one letter: ``'d'``, ``'u'``, ``'o'``…) or *custom* (``'yyyy-MM-dd'``) date/time
format strings and format with the invariant culture; durations are ISO 8601 with a year
counted as 365 days and a month as 30 days. This module is that text layer, free of any
template concern; invalid input raises ``ValueError`` with a short reason.

Values are ``datetime`` objects in UTC. Python keeps microseconds where .NET keeps ticks of
100 ns, so a seventh fractional digit is read but not kept (``'fffffff'`` prints it as 0).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import isodate

# The invariant culture's patterns behind the standard (one-letter) format strings.
STANDARD_FORMATS: dict[str, str] = {
    "d": "MM/dd/yyyy",
    "D": "dddd, dd MMMM yyyy",
    "f": "dddd, dd MMMM yyyy HH:mm",
    "F": "dddd, dd MMMM yyyy HH:mm:ss",
    "g": "MM/dd/yyyy HH:mm",
    "G": "MM/dd/yyyy HH:mm:ss",
    "m": "MMMM dd",
    "M": "MMMM dd",
    "o": "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK",
    "O": "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK",
    "r": "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'",
    "R": "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'",
    "s": "yyyy'-'MM'-'dd'T'HH':'mm':'ss",
    "t": "HH:mm",
    "T": "HH:mm:ss",
    "u": "yyyy'-'MM'-'dd HH':'mm':'ss'Z'",
    "U": "dddd, dd MMMM yyyy HH:mm:ss",
    "y": "yyyy MMMM",
    "Y": "yyyy MMMM",
}

# How ARM writes a date/time it computed when no format is given (ISO 8601, UTC).
ISO_FORMAT = "yyyy'-'MM'-'dd'T'HH':'mm':'ss.FFFFFFFK"

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_SPECIFIERS = frozenset("dfFghHKmMstyz")

_ZONE = r"(?P<zone>[zZ]|[+-]\d{2}(?::?\d{2})?)?"
_FRACTION = r"(?:[.,](?P<fraction>\d+))?"
_ISO_EXTENDED = re.compile(
    r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})"
    r"(?:[Tt ](?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})" + _FRACTION + r")?)?"
    r"\s*" + _ZONE
)
_ISO_BASIC = re.compile(
    r"(?P<year>\d{4})(?P<month>\d{2})(?P<day>\d{2})"
    r"[Tt](?P<hour>\d{2})(?P<minute>\d{2})(?:(?P<second>\d{2})" + _FRACTION + r")?" + _ZONE
)
_INVARIANT = re.compile(
    r"(?P<month>\d{1,2})/(?P<day>\d{1,2})/(?P<year>\d{4})"
    r"(?:\s+(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?)?"
)


def parse_datetime(text: str) -> datetime:
    """Read an ISO 8601 date/time (or the invariant ``MM/dd/yyyy [HH:mm[:ss]]``) as UTC.

    Accepts ``2020-04-07``, ``2020-04-07T14:53:14Z``, ``2020-04-07 14:53:14Z`` (the ``'u'``
    format), ``20200407T145314Z`` (``utcNow()``'s default), fractions and ``±hh:mm``
    offsets (converted to UTC); a value without a zone is taken as UTC.
    """
    candidate = text.strip()
    for pattern in (_ISO_EXTENDED, _ISO_BASIC, _INVARIANT):
        match = pattern.fullmatch(candidate)
        if match:
            try:
                return _from_match(match)
            except OverflowError as exc:  # an offset pushing the value out of years 1-9999
                raise ValueError("the date/time is out of range") from exc
    raise ValueError("not an ISO 8601 date/time")


def _from_match(match: re.Match[str]) -> datetime:
    parts = match.groupdict()
    fraction = (parts.get("fraction") or "")[:6].ljust(6, "0")
    value = datetime(
        int(parts["year"]),
        int(parts["month"]),
        int(parts["day"]),
        int(parts["hour"] or 0),
        int(parts["minute"] or 0),
        int(parts["second"] or 0),
        int(fraction),
        tzinfo=timezone.utc,
    )
    zone = parts.get("zone")
    if zone and zone not in "zZ":
        digits = zone[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
        value = value - offset if zone[0] == "+" else value + offset
    return value


def parse_duration(text: str) -> timedelta:
    """Read an ISO 8601 duration (``P3Y``, ``-P9D``, ``PT1H30M``) with ARM's fixed units.

    A year is 365 days and a month 30 days (ARM does not follow the calendar here).
    """
    if not re.search(r"\d", text):
        raise ValueError("not an ISO 8601 duration")
    try:
        parsed = isodate.parse_duration(text)
    except (isodate.ISO8601Error, ValueError, ArithmeticError) as exc:
        raise ValueError("not an ISO 8601 duration") from exc
    if isinstance(parsed, timedelta):
        return parsed
    days = Decimal(parsed.years) * 365 + Decimal(parsed.months) * 30
    return parsed.tdelta + timedelta(days=float(days))


def format_datetime(value: datetime, fmt: str) -> str:
    """Format a UTC date/time with a .NET standard or custom format string.

    Raises ``ValueError`` where .NET raises ``FormatException``: an unknown one-letter
    format, an unterminated quote, a trailing ``\\`` or ``%``, more than 7 ``f``/``F``.
    """
    if fmt == "":
        fmt = "G"
    if len(fmt) == 1:
        if fmt not in STANDARD_FORMATS:
            raise ValueError(f"'{fmt}' is not a standard date and time format")
        fmt = STANDARD_FORMATS[fmt]
    return _format_custom(value.astimezone(timezone.utc), fmt)


def _format_custom(value: datetime, fmt: str) -> str:
    out: list[str] = []
    i, n = 0, len(fmt)
    while i < n:
        ch = fmt[i]
        if ch in _SPECIFIERS:
            count = 1
            while i + count < n and fmt[i + count] == ch:
                count += 1
            _format_token(value, ch, count, out)
            i += count
        elif ch in "'\"":
            end = i + 1
            literal: list[str] = []
            while end < n and fmt[end] != ch:
                if fmt[end] == "\\":
                    end += 1
                    if end >= n:
                        break
                literal.append(fmt[end])
                end += 1
            if end >= n:
                raise ValueError("the format has an unterminated quoted string")
            out.append("".join(literal))
            i = end + 1
        elif ch == "%":
            if i + 1 >= n or fmt[i + 1] == "%":
                raise ValueError("'%' must be followed by a format specifier")
            if fmt[i + 1] in _SPECIFIERS:
                _format_token(value, fmt[i + 1], 1, out)
            else:
                out.append(_format_custom(value, fmt[i + 1]))
            i += 2
        elif ch == "\\":
            if i + 1 >= n:
                raise ValueError("the format ends with an escape character")
            out.append(fmt[i + 1])
            i += 2
        else:
            out.append(ch)  # ':' and '/' are the invariant separators ':' and '/'
            i += 1
    return "".join(out)


def _format_token(value: datetime, ch: str, count: int, out: list[str]) -> None:
    if ch == "d":
        if count <= 2:
            out.append(f"{value.day:0{count}d}")
        else:
            name = _DAYS[value.weekday()]
            out.append(name[:3] if count == 3 else name)
    elif ch == "M":
        if count <= 2:
            out.append(f"{value.month:0{count}d}")
        else:
            name = _MONTHS[value.month - 1]
            out.append(name[:3] if count == 3 else name)
    elif ch == "y":
        year = value.year % 100 if count <= 2 else value.year
        out.append(f"{year:0{count}d}")
    elif ch in "fF":
        if count > 7:
            raise ValueError(f"'{ch * count}' has more than 7 fraction digits")
        digits = f"{value.microsecond:06d}0"[:count]
        if ch == "F":
            digits = digits.rstrip("0")
            if not digits:
                _drop_trailing_dot(out)
                return
        out.append(digits)
    elif ch == "h":
        out.append(f"{(value.hour % 12) or 12:0{min(count, 2)}d}")
    elif ch == "H":
        out.append(f"{value.hour:0{min(count, 2)}d}")
    elif ch == "m":
        out.append(f"{value.minute:0{min(count, 2)}d}")
    elif ch == "s":
        out.append(f"{value.second:0{min(count, 2)}d}")
    elif ch == "t":
        designator = "AM" if value.hour < 12 else "PM"
        out.append(designator[0] if count == 1 else designator)
    elif ch == "g":
        out.append("A.D.")
    elif ch == "z":
        out.append({1: "+0", 2: "+00"}.get(count, "+00:00"))
    elif ch == "K":
        out.append("Z" * count)


def _drop_trailing_dot(out: list[str]) -> None:
    """.NET drops a '.' written just before an ``F`` fraction that prints nothing."""
    for index in range(len(out) - 1, -1, -1):
        if out[index]:
            if out[index].endswith("."):
                out[index] = out[index][:-1]
            return
