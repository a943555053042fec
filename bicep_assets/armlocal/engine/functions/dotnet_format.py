""".NET composite formatting, as ARM's ``format()`` applies it (``String.Format``).

A format string holds literal text and format items ``{index[,alignment][:formatString]}``;
``{{`` and ``}}`` stand for literal braces. Numbers honour the standard numeric format
specifiers of .NET's invariant culture — ``D``, ``N``, ``F``, ``E``, ``X``, ``P``, ``C``,
``G``/``R``, each with an optional precision (``{0:N2}``, ``{0:D5}``, ``{0:x8}``) — and the
common custom patterns built from ``0``, ``#``, ``,``, ``.`` and ``%`` (``{0:000}``,
``{0:#,##0.00}``). Other values ignore the format string, as .NET's do: strings appear as
they are, booleans as ``True``/``False``, null as nothing, arrays and objects as compact
JSON. Midpoints round away from zero and negative values that round to zero keep their
sign, as in .NET Core 3.0 and later.

Errors raise :class:`FormatStringError` (a ``ValueError``) describing the problem.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from .. import limits
from .conversion import format_float, is_number, to_arm_string


class FormatStringError(ValueError):
    """The composite format string or a format specifier is not valid."""


_ITEM = re.compile(r"\s*(\d+)\s*(?:,\s*(-?\d+)\s*)?(?::([^{}]*))?")
_STANDARD = re.compile(r"([A-Za-z])(\d{0,9})")
_MAX_ALIGNMENT = 1_000_000


def composite_format(pattern: str, args: list[Any]) -> str:
    """``String.Format(CultureInfo.InvariantCulture, pattern, args)``."""
    out: list[str] = []
    length = 0  # of what is in out: checked as it grows, so no format can exhaust memory
    pos, end = 0, len(pattern)
    while pos < end:
        ch = pattern[pos]
        if ch == "{":
            if pattern.startswith("{{", pos):
                out.append("{")
                pos += 2
                continue
            close = pattern.find("}", pos + 1)
            if close < 0:
                raise FormatStringError(f"the format item at position {pos} is not closed")
            out.append(_format_item(pattern[pos + 1 : close], pos, args))
            length += len(out[-1])
            limits.check_length(length, "The template language function 'format'")
            pos = close + 1
        elif ch == "}":
            if not pattern.startswith("}}", pos):
                raise FormatStringError(
                    f"the '}}' at position {pos} has no matching '{{' (write '}}}}' for a "
                    "literal brace)"
                )
            out.append("}")
            pos += 2
        else:
            brace = min(
                (i for i in (pattern.find("{", pos), pattern.find("}", pos)) if i >= 0), default=end
            )
            out.append(pattern[pos:brace])
            pos = brace
    return "".join(out)


def _format_item(item: str, pos: int, args: list[Any]) -> str:
    match = _ITEM.fullmatch(item)
    if not match:
        raise FormatStringError(f"the format item '{{{item}}}' at position {pos} is not valid")
    index = int(match.group(1))
    if index >= len(args):
        raise FormatStringError(
            f"the format item '{{{item}}}' refers to argument {index}, but only {len(args)} "
            f"argument{'s were' if len(args) != 1 else ' was'} provided (the index is zero "
            "based)"
        )
    text = format_value(args[index], match.group(3) or "")
    alignment = int(match.group(2) or 0)
    if abs(alignment) > _MAX_ALIGNMENT:
        raise FormatStringError(f"the alignment {alignment} is too large")
    return text.rjust(alignment) if alignment >= 0 else text.ljust(-alignment)


def format_value(value: Any, spec: str) -> str:
    """One argument formatted with ``spec`` (numbers only; other values ignore it)."""
    if is_number(value) and spec:
        return format_number(value, spec)
    return to_arm_string(value)


def format_number(value: int | float, spec: str) -> str:
    """A number formatted with a standard or custom .NET numeric format string."""
    standard = _STANDARD.fullmatch(spec)
    if standard:
        letter, digits = standard.group(1), standard.group(2)
        precision = int(digits) if digits else None
        return _standard(value, letter, precision, spec)
    return _custom(value, spec)


def _standard(value: int | float, letter: str, precision: int | None, spec: str) -> str:
    kind = letter.upper()
    is_integer = isinstance(value, int)
    if kind == "D":
        if not is_integer:
            raise FormatStringError(f"the format '{spec}' is only valid for integers")
        digits = str(abs(value)).zfill(precision or 0)
        return f"-{digits}" if value < 0 else digits
    if kind == "X":
        if not is_integer:
            raise FormatStringError(f"the format '{spec}' is only valid for integers")
        text = format(value & 0xFFFFFFFFFFFFFFFF if value < 0 else value, "x").zfill(precision or 0)
        return text.upper() if letter == "X" else text
    if kind in ("N", "F", "P", "C"):
        places = 2 if precision is None else precision
        number = Decimal(value) * (100 if kind == "P" else 1)
        text = _fixed(abs(number), places, group=kind != "F")
        negative = number < 0  # .NET Core 3.0+ keeps the sign of a value rounded to zero
        if kind == "P":
            return f"-{text} %" if negative else f"{text} %"
        if kind == "C":
            return f"(\u00a4{text})" if negative else f"\u00a4{text}"
        return f"-{text}" if negative else text
    if kind == "E":
        return _exponential(value, 6 if precision is None else precision, letter)
    if kind in ("G", "R"):
        if precision is None or kind == "R":
            return str(value) if is_integer else format_float(float(value))
        return _general(value, precision, letter)
    raise FormatStringError(f"the format specifier '{spec}' is not valid")


def _fixed(number: Decimal, places: int, *, group: bool) -> str:
    """A non-negative decimal rounded half away from zero, with optional ',' groups."""
    rounded = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    whole, _, fraction = f"{rounded:f}".partition(".")
    if group:
        whole = f"{int(whole):,}"
    return f"{whole}.{fraction}" if places else whole


def _exponential(value: int | float, places: int, letter: str) -> str:
    number = Decimal(value)
    if number == 0:
        mantissa, exponent = Decimal(0), 0
    else:
        exponent = number.copy_abs().adjusted()
        mantissa = number.scaleb(-exponent)
    mantissa_text = _fixed(abs(mantissa), places, group=False)
    if mantissa_text.startswith("10"):  # rounding carried into a new digit
        exponent += 1
        mantissa_text = _fixed(abs(mantissa) / 10, places, group=False)
    sign = "-" if number < 0 else ""
    exp_sign = "-" if exponent < 0 else "+"
    return f"{sign}{mantissa_text}{letter}{exp_sign}{abs(exponent):03d}"


def _general(value: int | float, precision: int, letter: str) -> str:
    number = Decimal(value)
    exponent = number.copy_abs().adjusted() if number else 0
    if precision == 0:
        precision = 19 if isinstance(value, int) else 15
    if -5 <= exponent < precision:
        text = _fixed(number.copy_abs(), max(precision - 1 - exponent, 0), group=False)
        text = text.rstrip("0").rstrip(".") if "." in text else text
        return f"-{text}" if number < 0 else text
    exp_letter = "E" if letter == "G" else "e"
    text = _exponential(value, precision - 1, exp_letter)
    mantissa, _, exp = text.partition(exp_letter)
    mantissa = mantissa.rstrip("0").rstrip(".") if "." in mantissa else mantissa
    return f"{mantissa}{exp_letter}{exp[0]}{exp[1:].lstrip('0').zfill(2)}"


def _custom(value: int | float, spec: str) -> str:
    """Custom numeric formats: ``0``/``#`` placeholders, ``,`` groups, ``.``, ``%``, literals."""
    sections = _split_sections(spec)
    number = Decimal(value)
    section = sections[0]
    if number < 0 and len(sections) > 1 and sections[1]:
        section, number = sections[1], -number
    elif number == 0 and len(sections) > 2 and sections[2]:
        section = sections[2]
    tokens = _tokens(section)
    placeholders = [
        i for i, (kind, text) in enumerate(tokens) if kind == "digit" and text in ("0", "#")
    ]
    if not placeholders:
        return "".join(text for _, text in tokens)
    if any(kind == "literal" and text == "%" for kind, text in tokens):
        number *= 100
    first, last = placeholders[0], placeholders[-1]
    body = "".join(text for kind, text in tokens[first : last + 1] if kind == "digit")
    whole_pattern, _, fraction_pattern = body.partition(".")
    whole_digits = whole_pattern.replace(",", "")
    min_whole = len(whole_digits) - whole_digits.find("0") if "0" in whole_digits else 0
    min_fraction = len(fraction_pattern.rstrip("#"))
    max_fraction = len(fraction_pattern.replace(",", ""))
    text = _fixed(abs(number), max_fraction, group=False)
    whole, _, fraction = text.partition(".")
    fraction = fraction.rstrip("0").ljust(min_fraction, "0")
    whole = whole.lstrip("0").zfill(min_whole)
    if "," in whole_pattern and whole:
        whole = f"{int(whole):,}"
    formatted = whole + (f".{fraction}" if fraction else "")
    sign = "-" if number < 0 and section is sections[0] else ""
    prefix = "".join(text for _, text in tokens[:first])
    suffix = "".join(text for _, text in tokens[last + 1 :])
    return f"{sign}{prefix}{formatted}{suffix}"


def _split_sections(spec: str) -> list[str]:
    sections, current, quote = [], [], ""
    i = 0
    while i < len(spec):
        ch = spec[i]
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "\\":
            current.append(spec[i : i + 2])
            i += 2
            continue
        elif ch == ";":
            sections.append("".join(current))
            current = []
            i += 1
            continue
        current.append(ch)
        i += 1
    sections.append("".join(current))
    return sections


def _tokens(section: str) -> list[tuple[str, str]]:
    """``("digit", c)`` for ``0 # , .`` inside the number, ``("literal", text)`` otherwise."""
    tokens: list[tuple[str, str]] = []
    i = 0
    while i < len(section):
        ch = section[i]
        if ch in "'\"":
            close = section.find(ch, i + 1)
            close = len(section) if close < 0 else close
            tokens.append(("literal", section[i + 1 : close]))
            i = close + 1
        elif ch == "\\":
            tokens.append(("literal", section[i + 1 : i + 2]))
            i += 2
        elif ch in "0#.,":
            tokens.append(("digit", ch))
            i += 1
        else:
            tokens.append(("literal", ch))
            i += 1
    return tokens
