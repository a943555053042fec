"""Timestamps and durations the way ARM writes them."""

from __future__ import annotations

from datetime import datetime, timezone


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def iso(moment: datetime) -> str:
    """``2026-11-28T01:02:03.4560000Z`` (ARM's 7-digit fraction, UTC)."""
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}0Z"


def iso_duration(seconds: float) -> str:
    """``PT1.2345678S`` — ARM reports deployment and operation durations this way."""
    seconds = max(0.0, seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = "PT"
    if hours:
        text += f"{int(hours)}H"
    if minutes:
        text += f"{int(minutes)}M"
    return text + f"{secs:.7f}".rstrip("0").rstrip(".") + "S"


def parse_iso(text: str) -> datetime:
    text = text.rstrip("Z")
    if "." in text:
        head, fraction = text.split(".", 1)
        text = f"{head}.{fraction[:6]}"
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)
